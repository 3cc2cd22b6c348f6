// recurrence.cpp - recurrence expansion and the RFC 4791 9.9 time-range tests.
//
// SECURITY: every loop is bounded: RRULE iterator steps (limits::max_recurrence_steps),
// instances kept (limits::max_instances), RDATE/EXDATE counts (bounded by the object's
// property limit), alarm repetitions (max_alarm_repeat). Arithmetic on the open ends of a
// range saturates instead of overflowing.
// STANDARDS: RFC 4791 9.9 (tables reproduced in evaluate() below), RFC 5545 3.8.5.1-3
// (EXDATE, RDATE incl. PERIOD, RRULE; DTSTART is always the first instance), 3.8.4.4
// (RECURRENCE-ID, RANGE=THISANDFUTURE), 3.8.2.5/3.8.2.2 (DTEND/DURATION: exact duration
// from DTEND/DUE, nominal from DURATION), 3.8.6.1-3.8.6.3 (TRIGGER, REPEAT, DURATION).
#include "libical.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace polder::ical {

using namespace detail;

namespace {

constexpr int max_alarm_repeat = 1000;

utc_time sat_add(utc_time a, utc_time b) {
    utc_time r;
    if (__builtin_add_overflow(a, b, &r)) return b > 0 ? std::numeric_limits<utc_time>::max() : std::numeric_limits<utc_time>::min();
    return r;
}

// Which row of the RFC 4791 9.9 tables applies to an instance.
enum class shape {
    interval,        // start < END AND end > START (VEVENT with DTEND/positive DURATION, DATE + P1D)
    point,           // start <= START AND end > START
    todo_duration,   // start <= START+DURATION AND (end > START OR end >= START+DURATION)
    todo_due,        // (start < DUE OR start <= START) AND (end > START OR end >= DUE)
    todo_due_only,   // start < DUE AND end >= DUE
    todo_created_completed,  // (start <= CREATED OR start <= COMPLETED) AND (end >= CREATED OR end >= COMPLETED)
    todo_completed,  // start <= COMPLETED AND end >= COMPLETED
    todo_created,    // end > CREATED
    always,
    never,
    freebusy_span,   // start <= DTEND AND end > DTSTART
    freebusy_periods,
};

struct occurrence {
    instance in;
    shape sh = shape::never;
    utc_time created = 0, completed = 0;
    std::vector<std::pair<utc_time, utc_time>> periods;
};

bool evaluate(const occurrence& o, utc_time lo, utc_time hi) {
    const utc_time s = o.in.start.value_or(0), e = o.in.end.value_or(0);
    switch (o.sh) {
    case shape::interval: return lo < e && hi > s;
    case shape::point: return lo <= s && hi > s;
    case shape::todo_duration: return lo <= e && (hi > s || hi >= e);
    case shape::todo_due: return (lo < e || lo <= s) && (hi > s || hi >= e);
    case shape::todo_due_only: return lo < e && hi >= e;
    case shape::todo_created_completed:
        return (lo <= o.created || lo <= o.completed) && (hi >= o.created || hi >= o.completed);
    case shape::todo_completed: return lo <= o.completed && hi >= o.completed;
    case shape::todo_created: return hi > o.created;
    case shape::always: return true;
    case shape::never: return false;
    case shape::freebusy_span: return lo <= e && hi > s;
    case shape::freebusy_periods:
        for (const auto& [ps, pe] : o.periods)
            if (lo < pe && hi > ps) return true;
        return false;
    }
    return false;
}

// The time properties of one component, resolved once per expansion.
struct comp_times {
    std::optional<ptime> dtstart, dtend, due;
    std::optional<icaldurationtype> duration;
    std::optional<utc_time> created, completed;
};

comp_times read_times(icalcomponent* c, icalcomponent* vcal) {
    comp_times t;
    t.dtstart = first_time(c, ICAL_DTSTART_PROPERTY, vcal);
    t.dtend = first_time(c, ICAL_DTEND_PROPERTY, vcal);
    t.due = first_time(c, ICAL_DUE_PROPERTY, vcal);
    if (icalproperty* d = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY)) t.duration = icalproperty_get_duration(d);
    if (auto cr = first_time(c, ICAL_CREATED_PROPERTY, vcal)) t.created = to_utc(*cr, nullptr);
    if (auto co = first_time(c, ICAL_COMPLETED_PROPERTY, vcal)) t.completed = to_utc(*co, nullptr);
    return t;
}

// wall_seconds - difference of two wall-clock readings (zones ignored).
long long wall_seconds(const icaltimetype& a, const icaltimetype& b) {
    return static_cast<long long>(to_utc(icaltimetype{a.year, a.month, a.day, a.is_date ? 0 : a.hour, a.is_date ? 0 : a.minute,
                                                      a.is_date ? 0 : a.second, 0, 0, nullptr},
                                         nullptr)) -
           static_cast<long long>(to_utc(icaltimetype{b.year, b.month, b.day, b.is_date ? 0 : b.hour, b.is_date ? 0 : b.minute,
                                                      b.is_date ? 0 : b.second, 0, 0, nullptr},
                                         nullptr));
}

// end_like - where an end property (DTEND or DUE) falls for an instance starting at st:
// the same exact duration as between the component's DTSTART and that property (RFC 5545
// 3.8.5.3); for floating/DATE values the duration is counted on the wall clock so an
// all-day event keeps its length across DST changes.
utc_time end_like(const ptime& st, const ptime& dtstart, const ptime& end_prop, icaltimezone* fz) {
    if (st.floating() && end_prop.floating()) {
        icaltimetype w = st.t;
        if (w.is_date) {
            w.is_date = 0;
            w.hour = w.minute = w.second = 0;
        }
        w.zone = nullptr;
        return to_utc(add_wall_seconds(w, wall_seconds(end_prop.t, dtstart.t)), fz);
    }
    return to_utc(st, fz) + (to_utc(end_prop, fz) - to_utc(dtstart, fz));
}

// make_occurrence - the instance of component c (times ct) starting at st (nullopt: the
// component has no DTSTART), by the RFC 4791 9.9 rows.
occurrence make_occurrence(component_kind kind, const comp_times& ct, const std::optional<ptime>& st, icaltimezone* fz) {
    occurrence o;
    if (st) {
        o.in.start = to_utc(*st, fz);
        o.in.all_day = st->is_date();
    }
    switch (kind) {
    case component_kind::vevent:
        if (!st) {
            o.sh = shape::never;
        } else if (ct.dtend && ct.dtstart) {
            o.sh = shape::interval;
            o.in.end = end_like(*st, *ct.dtstart, *ct.dtend, fz);
        } else if (ct.duration) {
            const auto secs = icaldurationtype_as_int(*ct.duration);
            o.in.end = add_duration(*st, *ct.duration, fz);
            o.sh = secs > 0 ? shape::interval : shape::point;
        } else if (st->is_date()) {
            o.in.end = add_duration(*st, icaldurationtype_from_int(86400), fz);
            o.sh = shape::interval;
        } else {
            o.in.end = o.in.start;
            o.sh = shape::point;
        }
        break;
    case component_kind::vtodo:
        if (st && ct.duration) {
            o.in.end = add_duration(*st, *ct.duration, fz);
            o.sh = shape::todo_duration;
        } else if (st && ct.due && ct.dtstart) {
            o.in.end = end_like(*st, *ct.dtstart, *ct.due, fz);
            o.sh = shape::todo_due;
        } else if (st) {
            o.in.end = o.in.start;
            o.sh = shape::point;
        } else if (ct.due) {
            o.in.start = o.in.end = to_utc(*ct.due, fz);
            o.in.all_day = ct.due->is_date();
            o.sh = shape::todo_due_only;
        } else if (ct.completed && ct.created) {
            o.created = *ct.created;
            o.completed = *ct.completed;
            o.sh = shape::todo_created_completed;
        } else if (ct.completed) {
            o.completed = *ct.completed;
            o.sh = shape::todo_completed;
        } else if (ct.created) {
            o.created = *ct.created;
            o.sh = shape::todo_created;
        } else {
            o.sh = shape::always;
        }
        break;
    case component_kind::vjournal:
        if (!st) {
            o.sh = shape::never;
        } else if (st->is_date()) {
            o.in.end = add_duration(*st, icaldurationtype_from_int(86400), fz);
            o.sh = shape::interval;
        } else {
            o.in.end = o.in.start;
            o.sh = shape::point;
        }
        break;
    case component_kind::vfreebusy:
        if (st && ct.dtend) {
            o.in.end = to_utc(*ct.dtend, fz);
            o.sh = shape::freebusy_span;
        } else {
            o.sh = shape::freebusy_periods;
        }
        break;
    case component_kind::none: o.sh = shape::never; break;
    }
    return o;
}

void add_freebusy_periods(occurrence& o, icalcomponent* c, icaltimezone* fz) {
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_FREEBUSY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_FREEBUSY_PROPERTY)) {
        const auto per = icalproperty_get_freebusy(p);
        if (icaltime_is_null_time(per.start)) continue;
        const utc_time s = to_utc(per.start, fz);
        utc_time e;
        if (!icaltime_is_null_time(per.end))
            e = to_utc(per.end, fz);
        else
            e = s + icaldurationtype_as_int(per.duration);
        o.periods.emplace_back(s, e);
        if (!o.in.start || s < *o.in.start) o.in.start = s;
        if (!o.in.end || e > *o.in.end) o.in.end = e;
    }
}

struct override_info {
    std::size_t index;
    utc_time rid;
    bool this_and_future;
    utc_time shift = 0;  // THISANDFUTURE: new start minus original start
};

// expand_occurrences - every instance overlapping [lo, hi), unsorted; sets truncated.
std::vector<occurrence> expand_occurrences(const calendar_object& obj, utc_time lo, utc_time hi, icaltimezone* fz,
                                           const limits& lim, bool& truncated) {
    std::vector<occurrence> out;
    auto& im = obj.get();
    icalcomponent* vcal = im.root.get();
    const auto kind = im.kind;
    const std::size_t max_out = std::max<std::size_t>(lim.max_instances, 1);

    std::optional<std::size_t> master;
    std::vector<override_info> overrides;
    std::set<utc_time> overridden;
    for (std::size_t i = 0; i < im.comps.size(); ++i) {
        icalproperty* rp = icalcomponent_get_first_property(im.comps[i], ICAL_RECURRENCEID_PROPERTY);
        if (!rp) {
            if (!master) master = i;
            continue;
        }
        auto rid = get_time(rp, vcal);
        if (!rid) continue;
        override_info ov{i, to_utc(*rid, fz), false};
        if (icalparameter* rg = icalproperty_get_first_parameter(rp, ICAL_RANGE_PARAMETER))
            ov.this_and_future = icalparameter_get_range(rg) == ICAL_RANGE_THISANDFUTURE;
        if (ov.this_and_future) {
            if (auto s = first_time(im.comps[i], ICAL_DTSTART_PROPERTY, vcal)) ov.shift = to_utc(*s, fz) - ov.rid;
        }
        overridden.insert(ov.rid);
        overrides.push_back(ov);
    }
    std::sort(overrides.begin(), overrides.end(), [](auto& a, auto& b) { return a.rid < b.rid; });

    auto keep = [&](occurrence&& o) {
        if (evaluate(o, lo, hi)) {
            if (out.size() >= max_out) {
                truncated = true;
                return false;
            }
            out.push_back(std::move(o));
        }
        return true;
    };

    // Overrides are instances of their own, wherever their RECURRENCE-ID points.
    for (const auto& ov : overrides) {
        icalcomponent* c = im.comps[ov.index];
        const auto ct = read_times(c, vcal);
        auto o = make_occurrence(kind, ct, ct.dtstart, fz);
        if (kind == component_kind::vfreebusy && o.sh == shape::freebusy_periods) add_freebusy_periods(o, c, fz);
        o.in.recurrence_id = ov.rid;
        o.in.overridden = true;
        o.in.component = ov.index;
        if (!keep(std::move(o))) return out;
    }
    if (!master) return out;

    icalcomponent* mc = im.comps[*master];
    const auto mt = read_times(mc, vcal);
    const bool has_rrule = icalcomponent_get_first_property(mc, ICAL_RRULE_PROPERTY) != nullptr;
    const bool has_rdate = icalcomponent_get_first_property(mc, ICAL_RDATE_PROPERTY) != nullptr;
    const bool recurring = (has_rrule || has_rdate) && mt.dtstart;

    if (!recurring) {
        auto o = make_occurrence(kind, mt, mt.dtstart, fz);
        if (kind == component_kind::vfreebusy && o.sh == shape::freebusy_periods) add_freebusy_periods(o, mc, fz);
        o.in.component = *master;
        if (mt.dtstart && !overrides.empty()) {
            o.in.recurrence_id = o.in.start;
            if (overridden.contains(*o.in.start)) return out;
        }
        keep(std::move(o));
        return out;
    }

    // EXDATEs: exact instants, plus whole dates when a DATE excludes a DATE-TIME series.
    std::set<utc_time> exdates;
    std::set<int> exdays;  // yyyymmdd
    for (icalproperty* p = icalcomponent_get_first_property(mc, ICAL_EXDATE_PROPERTY); p;
         p = icalcomponent_get_next_property(mc, ICAL_EXDATE_PROPERTY)) {
        auto x = get_time(p, vcal);
        if (!x) continue;
        if (x->is_date() && !mt.dtstart->is_date())
            exdays.insert(x->t.year * 10000 + x->t.month * 100 + x->t.day);
        else
            exdates.insert(to_utc(*x, fz));
    }

    // How far instances can move (THISANDFUTURE) widens the window the rule is walked in.
    utc_time max_shift = 0;
    for (const auto& ov : overrides) max_shift = std::max(max_shift, ov.shift < 0 ? -ov.shift : ov.shift);
    const utc_time window_hi = sat_add(hi, max_shift);

    std::set<utc_time> seen;
    bool stop = false;
    // consider - one candidate start of the master's recurrence set.
    auto consider = [&](const ptime& st, std::optional<utc_time> explicit_end) {
        const utc_time rid = to_utc(st, fz);
        if (!seen.insert(rid).second) return;
        if (exdates.contains(rid)) return;
        if (!exdays.empty() && exdays.contains(st.t.year * 10000 + st.t.month * 100 + st.t.day)) return;
        if (overridden.contains(rid)) return;
        // The latest THISANDFUTURE override before this instance governs it.
        const override_info* gov = nullptr;
        for (const auto& ov : overrides)
            if (ov.this_and_future && ov.rid < rid) gov = &ov;
        occurrence o;
        if (gov) {
            ptime moved = st;
            icaltimetype w = moved.t;
            if (!(w.is_date && gov->shift % 86400 == 0)) {
                w.is_date = 0;
            }
            moved.t = add_wall_seconds(w, gov->shift);
            const auto ct = read_times(im.comps[gov->index], vcal);
            o = make_occurrence(kind, ct, moved, fz);
            o.in.component = gov->index;
            o.in.overridden = true;
        } else {
            o = make_occurrence(kind, mt, st, fz);
            if (explicit_end && kind == component_kind::vevent) {
                o.in.end = *explicit_end;
                o.sh = *explicit_end > rid ? shape::interval : shape::point;
            }
            o.in.component = *master;
        }
        o.in.recurrence_id = rid;
        if (!keep(std::move(o))) stop = true;
    };

    consider(*mt.dtstart, std::nullopt);
    for (icalproperty* p = icalcomponent_get_first_property(mc, ICAL_RDATE_PROPERTY); p && !stop;
         p = icalcomponent_get_next_property(mc, ICAL_RDATE_PROPERTY)) {
        const auto dp = icalproperty_get_rdate(p);
        if (!icaltime_is_null_time(dp.time)) {
            if (auto st = resolve_time(dp.time, p, vcal)) consider(*st, std::nullopt);
            continue;
        }
        auto st = resolve_time(dp.period.start, p, vcal);
        if (!st) continue;
        std::optional<utc_time> end;
        if (!icaltime_is_null_time(dp.period.end)) {
            if (auto e = resolve_time(dp.period.end, p, vcal)) end = to_utc(*e, fz);
        } else {
            end = add_duration(*st, dp.period.duration, fz);
        }
        consider(*st, end);
    }

    std::size_t steps = 0;
    for (icalproperty* p = icalcomponent_get_first_property(mc, ICAL_RRULE_PROPERTY); p && !stop;
         p = icalcomponent_get_next_property(mc, ICAL_RRULE_PROPERTY)) {
        const auto rule = icalproperty_get_rrule(p);
        if (rule.freq == ICAL_NO_RECURRENCE || !rule_is_tractable(rule)) continue;
        icalrecur_iterator* it = icalrecur_iterator_new(rule, mt.dtstart->t);
        if (!it) continue;
        // Jump close to the range when the rule allows it (no COUNT: libical cannot count
        // from the middle), leaving room for the longest instance before the range start.
        if (rule.count == 0 && lo != std::numeric_limits<utc_time>::min()) {
            const utc_time span = [&] {
                auto o = make_occurrence(kind, mt, mt.dtstart, fz);
                return o.in.end && o.in.start ? *o.in.end - *o.in.start : 0;
            }();
            const utc_time from = lo - span - max_shift - 2 * 86400;
            if (from > to_utc(*mt.dtstart, fz) + 2 * 86400) {
                icaltimezone* z = mt.dtstart->t.zone ? const_cast<icaltimezone*>(mt.dtstart->t.zone)
                                                     : (fz ? fz : icaltimezone_get_utc_timezone());
                icaltimetype j = icaltime_from_timet_with_zone(static_cast<time_t>(from), mt.dtstart->is_date(), z);
                j.zone = mt.dtstart->t.zone;
                icalrecur_iterator_set_start(it, j);
            }
        }
        for (;;) {
            if (++steps > lim.max_recurrence_steps) {
                truncated = true;
                stop = true;
                break;
            }
            icaltimetype t = icalrecur_iterator_next(it);
            if (icaltime_is_null_time(t)) break;
            t.zone = mt.dtstart->t.zone;
            t.is_date = mt.dtstart->t.is_date;
            ptime st;
            st.t = t;
            if (to_utc(st, fz) > window_hi) break;
            consider(st, std::nullopt);
            if (stop) break;
        }
        icalrecur_iterator_free(it);
    }
    return out;
}

icaltimezone* floating_zone(const time_zone* tz) { return tz ? tz->get().tz : nullptr; }

}  // namespace

expansion expand(const calendar_object& obj, const time_range& range, const time_zone* floating_tz, const limits& lim) {
    expansion r;
    auto occ = expand_occurrences(obj, range.lo(), range.hi(), floating_zone(floating_tz), lim, r.truncated);
    r.instances.reserve(occ.size());
    for (auto& o : occ) r.instances.push_back(o.in);
    std::stable_sort(r.instances.begin(), r.instances.end(), [](const instance& a, const instance& b) {
        const auto ka = a.start ? *a.start : std::numeric_limits<utc_time>::min();
        const auto kb = b.start ? *b.start : std::numeric_limits<utc_time>::min();
        if (ka != kb) return ka < kb;
        return a.recurrence_id.value_or(0) < b.recurrence_id.value_or(0);
    });
    return r;
}

bool overlaps(const calendar_object& obj, const time_range& range, const time_zone* floating_tz, const limits& lim) {
    limits one = lim;
    one.max_instances = 1;
    bool truncated = false;
    auto occ = expand_occurrences(obj, range.lo(), range.hi(), floating_zone(floating_tz), one, truncated);
    // A walk cut short by the step limit cannot prove absence: answer "overlaps" so a
    // query never loses an event (the client filters again).
    return !occ.empty() || truncated;
}

bool alarm_overlaps(const calendar_object& obj, const time_range& range, const time_zone* floating_tz, const limits& lim) {
    auto& im = obj.get();
    icalcomponent* vcal = im.root.get();
    icaltimezone* fz = floating_zone(floating_tz);
    // How far before/after its instance an alarm can fire: widen the expansion by that.
    utc_time reach = 0;
    bool any = false;
    for (icalcomponent* c : im.comps)
        for (icalcomponent* a = icalcomponent_get_first_component(c, ICAL_VALARM_COMPONENT); a;
             a = icalcomponent_get_next_component(c, ICAL_VALARM_COMPONENT)) {
            icalproperty* tp = icalcomponent_get_first_property(a, ICAL_TRIGGER_PROPERTY);
            if (!tp) continue;
            any = true;
            const auto trig = icalproperty_get_trigger(tp);
            utc_time off = icaldurationtype_as_int(trig.duration);
            off = off < 0 ? -off : off;
            if (icalproperty* rp = icalcomponent_get_first_property(a, ICAL_REPEAT_PROPERTY))
                if (icalproperty* dp = icalcomponent_get_first_property(a, ICAL_DURATION_PROPERTY))
                    off += static_cast<utc_time>(std::clamp(icalproperty_get_repeat(rp), 0, max_alarm_repeat)) *
                           std::abs(icaldurationtype_as_int(icalproperty_get_duration(dp)));
            reach = std::max(reach, off);
        }
    if (!any) return false;
    const utc_time lo = range.lo(), hi = range.hi();
    bool truncated = false;
    auto occ = expand_occurrences(obj, sat_add(lo, -reach - 86400), sat_add(hi, reach + 86400), fz, lim, truncated);
    for (const auto& o : occ) {
        icalcomponent* c = im.comps[o.in.component];
        for (icalcomponent* a = icalcomponent_get_first_component(c, ICAL_VALARM_COMPONENT); a;
             a = icalcomponent_get_next_component(c, ICAL_VALARM_COMPONENT)) {
            icalproperty* tp = icalcomponent_get_first_property(a, ICAL_TRIGGER_PROPERTY);
            if (!tp) continue;
            const auto trig = icalproperty_get_trigger(tp);
            utc_time t;
            if (!icaltime_is_null_time(trig.time)) {
                auto abs = resolve_time(trig.time, tp, vcal);
                if (!abs) continue;
                t = to_utc(*abs, fz);
            } else {
                bool related_end = false;
                if (icalparameter* rel = icalproperty_get_first_parameter(tp, ICAL_RELATED_PARAMETER))
                    related_end = icalparameter_get_related(rel) == ICAL_RELATED_END;
                const auto base = related_end ? o.in.end : o.in.start;
                if (!base) continue;
                t = *base + icaldurationtype_as_int(trig.duration);
            }
            int repeat = 0;
            utc_time step = 0;
            if (icalproperty* rp = icalcomponent_get_first_property(a, ICAL_REPEAT_PROPERTY))
                if (icalproperty* dp = icalcomponent_get_first_property(a, ICAL_DURATION_PROPERTY)) {
                    repeat = std::clamp(icalproperty_get_repeat(rp), 0, max_alarm_repeat);
                    step = icaldurationtype_as_int(icalproperty_get_duration(dp));
                }
            for (int k = 0; k <= repeat; ++k) {
                const utc_time tk = t + k * step;
                if (lo <= tk && hi > tk) return true;
            }
        }
    }
    return truncated;
}

}  // namespace polder::ical
