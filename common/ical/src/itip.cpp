// itip.cpp - iTIP REQUEST/CANCEL/REPLY construction and REPLY processing.
//
// SECURITY: see polder/ical/itip.hpp: a REPLY changes one attendee's PARTSTAT and nothing
// else, only when it is not outdated; PARTSTAT values outside RFC 5545 3.2.12 are refused.
// STANDARDS: RFC 5546 2.1.4-2.1.5, 3.2.2, 3.2.3, 3.2.5; RFC 6638 3.2, 7.1-7.3.
#include "polder/ical/itip.hpp"

#include "libical.hpp"
#include "polder/ical/time_range.hpp"

#include <algorithm>

namespace polder::ical {

using namespace detail;

namespace {

std::string_view strip_mailto(std::string_view a) {
    while (!a.empty() && (a.front() == ' ')) a.remove_prefix(1);
    if (a.size() >= 7 && iequals(a.substr(0, 7), "mailto:")) a.remove_prefix(7);
    return a;
}

std::string organizer_of(icalcomponent* c) {
    icalproperty* o = icalcomponent_get_first_property(c, ICAL_ORGANIZER_PROPERTY);
    const char* s = o ? icalproperty_get_organizer(o) : nullptr;
    return s ? s : "";
}

icalproperty* find_attendee(icalcomponent* c, std::string_view address) {
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY)) {
        const char* a = icalproperty_get_attendee(p);
        if (a && same_address(a, address)) return p;
    }
    return nullptr;
}

void strip_scheduling_params(icalproperty* p) {
    icalproperty_remove_parameter_by_kind(p, ICAL_SCHEDULEAGENT_PARAMETER);
    icalproperty_remove_parameter_by_kind(p, ICAL_SCHEDULESTATUS_PARAMETER);
    icalproperty_remove_parameter_by_kind(p, ICAL_SCHEDULEFORCESEND_PARAMETER);
}

void strip_scheduling_params_all(icalcomponent* c) {
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY))
        if (icalproperty_isa(p) == ICAL_ATTENDEE_PROPERTY || icalproperty_isa(p) == ICAL_ORGANIZER_PROPERTY)
            strip_scheduling_params(p);
}

void remove_all(icalcomponent* c, icalproperty_kind k) {
    while (icalproperty* p = icalcomponent_get_first_property(c, k)) {
        icalcomponent_remove_property(c, p);
        icalproperty_free(p);
    }
}

void remove_alarms(icalcomponent* c) {
    while (icalcomponent* a = icalcomponent_get_first_component(c, ICAL_VALARM_COMPONENT)) {
        icalcomponent_remove_component(c, a);
        icalcomponent_free(a);
    }
}

icaltimetype utc_of(utc_time v) {
    return icaltime_from_timet_with_zone(static_cast<time_t>(v), 0, icaltimezone_get_utc_timezone());
}

void set_dtstamp(icalcomponent* c, utc_time v) {
    remove_all(c, ICAL_DTSTAMP_PROPERTY);
    icalcomponent_add_property(c, icalproperty_new_dtstamp(utc_of(v)));
}

// message - an empty iTIP VCALENDAR with the source's VTIMEZONEs.
component_ptr message(icalcomponent* src_vcal, icalproperty_method m, bool with_timezones = true) {
    component_ptr cal(icalcomponent_new(ICAL_VCALENDAR_COMPONENT));
    icalcomponent_add_property(cal.get(), icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal.get(), icalproperty_new_prodid("-//Polder//CalDAV Scheduling//EN"));
    icalcomponent_add_property(cal.get(), icalproperty_new_method(m));
    if (with_timezones)
        for (icalcomponent* z = icalcomponent_get_first_component(src_vcal, ICAL_VTIMEZONE_COMPONENT); z;
             z = icalcomponent_get_next_component(src_vcal, ICAL_VTIMEZONE_COMPONENT))
            icalcomponent_add_component(cal.get(), icalcomponent_new_clone(z));
    return cal;
}

void copy_props(icalcomponent* from, icalcomponent* to, std::initializer_list<icalproperty_kind> kinds) {
    for (auto k : kinds)
        for (icalproperty* p = icalcomponent_get_first_property(from, k); p; p = icalcomponent_get_next_property(from, k))
            icalcomponent_add_property(to, icalproperty_new_clone(p));
}

bool valid_partstat(const std::string& v, component_kind kind) {
    static const char* const common[] = {"NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED"};
    if (std::any_of(std::begin(common), std::end(common), [&](const char* s) { return v == s; })) return true;
    if (kind == component_kind::vtodo && (v == "COMPLETED" || v == "IN-PROCESS")) return true;
    return v.starts_with("X-");
}

}  // namespace

bool same_address(std::string_view a, std::string_view b) noexcept {
    a = strip_mailto(a);
    b = strip_mailto(b);
    return !a.empty() && iequals(a, b);
}

std::vector<std::string> scheduled_attendees(const calendar_object& organizer_copy) {
    std::vector<std::string> out;
    auto& im = organizer_copy.get();
    for (icalcomponent* c : im.comps) {
        const std::string org = organizer_of(c);
        for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY); p;
             p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY)) {
            const char* a = icalproperty_get_attendee(p);
            if (!a || !*a || (!org.empty() && same_address(a, org))) continue;
            const auto agent = upper(parameter_text(icalproperty_get_first_parameter(p, ICAL_SCHEDULEAGENT_PARAMETER)));
            if (!agent.empty() && agent != "SERVER") continue;
            if (std::none_of(out.begin(), out.end(), [&](const std::string& o) { return same_address(o, a); }))
                out.emplace_back(a);
        }
    }
    return out;
}

std::vector<itip_message> requests(const calendar_object& organizer_copy, utc_time dtstamp) {
    std::vector<itip_message> out;
    auto& im = organizer_copy.get();
    for (const auto& who : scheduled_attendees(organizer_copy)) {
        auto cal = message(im.root.get(), ICAL_METHOD_REQUEST);
        for (icalcomponent* c : im.comps) {
            if (!find_attendee(c, who)) continue;
            icalcomponent* k = icalcomponent_new_clone(c);
            remove_alarms(k);
            strip_scheduling_params_all(k);
            set_dtstamp(k, dtstamp);
            icalcomponent_add_component(cal.get(), k);
        }
        out.push_back({who, "REQUEST", serialize(cal.get())});
    }
    return out;
}

std::vector<itip_message> cancels(const calendar_object& organizer_copy, utc_time dtstamp,
                                  const std::vector<std::string>& attendees, int sequence_bump,
                                  std::optional<utc_time> recurrence_id) {
    std::vector<itip_message> out;
    auto& im = organizer_copy.get();
    if (im.comps.empty()) return out;
    icalcomponent* master = im.comps.front();
    for (icalcomponent* c : im.comps)
        if (!icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY)) {
            master = c;
            break;
        }
    const auto who_list = attendees.empty() ? scheduled_attendees(organizer_copy) : attendees;
    for (const auto& who : who_list) {
        auto cal = message(im.root.get(), ICAL_METHOD_CANCEL, !recurrence_id);
        icalcomponent* k = icalcomponent_new(icalcomponent_isa(master));
        copy_props(master, k, {ICAL_UID_PROPERTY, ICAL_SUMMARY_PROPERTY, ICAL_ORGANIZER_PROPERTY});
        if (!recurrence_id) copy_props(master, k, {ICAL_DTSTART_PROPERTY, ICAL_RRULE_PROPERTY});
        if (icalproperty* a = find_attendee(master, who))
            icalcomponent_add_property(k, icalproperty_new_clone(a));
        else
            icalcomponent_add_property(k, icalproperty_new_attendee(who.c_str()));
        strip_scheduling_params_all(k);
        set_dtstamp(k, dtstamp);
        const int seq = icalcomponent_get_first_property(master, ICAL_SEQUENCE_PROPERTY) ? icalcomponent_get_sequence(master) : 0;
        icalcomponent_add_property(k, icalproperty_new_sequence(seq + sequence_bump));
        icalcomponent_add_property(k, icalproperty_new_status(ICAL_STATUS_CANCELLED));
        if (recurrence_id) {
            // RECURRENCE-ID has the master's value type (RFC 5545 3.8.4.4): DATE for all-day series.
            const auto ds = first_time(master, ICAL_DTSTART_PROPERTY, im.root.get());
            icalproperty* rp = icalproperty_new(ICAL_RECURRENCEID_PROPERTY);
            if (ds && ds->is_date()) {
                icaltimetype d = icaltime_from_timet_with_zone(static_cast<time_t>(*recurrence_id), 1,
                                                               icaltimezone_get_utc_timezone());
                d.zone = nullptr;
                icalproperty_set_value(rp, icalvalue_new_date(d));
            } else {
                icalproperty_set_value(rp, icalvalue_new_datetime(utc_of(*recurrence_id)));
            }
            icalcomponent_add_property(k, rp);
        }
        icalcomponent_add_component(cal.get(), k);
        out.push_back({who, "CANCEL", serialize(cal.get())});
    }
    return out;
}

result<itip_message> reply(const calendar_object& attendee_copy, std::string_view attendee_address, utc_time dtstamp) {
    auto& im = attendee_copy.get();
    auto cal = message(im.root.get(), ICAL_METHOD_REPLY);
    std::string organizer;
    std::size_t n = 0;
    for (icalcomponent* c : im.comps) {
        icalproperty* a = find_attendee(c, attendee_address);
        if (!a) continue;
        if (organizer.empty()) organizer = organizer_of(c);
        icalcomponent* k = icalcomponent_new(icalcomponent_isa(c));
        copy_props(c, k, {ICAL_UID_PROPERTY, ICAL_RECURRENCEID_PROPERTY, ICAL_DTSTART_PROPERTY, ICAL_DTEND_PROPERTY,
                          ICAL_DURATION_PROPERTY, ICAL_DUE_PROPERTY, ICAL_SUMMARY_PROPERTY, ICAL_SEQUENCE_PROPERTY,
                          ICAL_ORGANIZER_PROPERTY});
        icalcomponent_add_property(k, icalproperty_new_clone(a));
        strip_scheduling_params_all(k);
        set_dtstamp(k, dtstamp);
        icalcomponent_add_component(cal.get(), k);
        ++n;
    }
    if (n == 0) return make_error_code(errc::not_found);
    if (organizer.empty()) return make_error_code(errc::invalid_argument);
    return itip_message{organizer, "REPLY", serialize(cal.get())};
}

result<reply_outcome> apply_reply(calendar_object& organizer_copy, std::string_view reply_text,
                                  std::optional<utc_time> last_dtstamp, const limits& lim) {
    auto parsed = calendar_object::parse(reply_text, lim);
    if (!parsed) return parsed.error();
    auto& rp = parsed->get();
    auto& org = organizer_copy.get();
    icalcomponent* rvcal = rp.root.get();
    icalcomponent* ovcal = org.root.get();
    icalproperty* mp = icalcomponent_get_first_property(rvcal, ICAL_METHOD_PROPERTY);
    if (!mp || icalproperty_get_method(mp) != ICAL_METHOD_REPLY) return make_error_code(errc::invalid_argument);
    if (rp.comps.empty() || rp.kind != org.kind || rp.uid != org.uid) return make_error_code(errc::invalid_argument);

    reply_outcome out;
    // Validate the whole reply first, so a bad component changes nothing.
    struct item {
        icalcomponent* rc;
        icalproperty* ra;
        std::optional<utc_time> rid;
    };
    std::vector<item> items;
    for (icalcomponent* rc : rp.comps) {
        const char* uid = icalcomponent_get_uid(rc);
        if (!uid || org.uid != uid) return make_error_code(errc::invalid_argument);
        if (icalcomponent_count_properties(rc, ICAL_ATTENDEE_PROPERTY) != 1) return make_error_code(errc::invalid_argument);
        icalproperty* ra = icalcomponent_get_first_property(rc, ICAL_ATTENDEE_PROPERTY);
        const char* addr = icalproperty_get_attendee(ra);
        if (!addr || !*addr) return make_error_code(errc::invalid_argument);
        if (out.attendee.empty())
            out.attendee = addr;
        else if (!same_address(out.attendee, addr))
            return make_error_code(errc::invalid_argument);
        const auto ps = upper(parameter_text(icalproperty_get_first_parameter(ra, ICAL_PARTSTAT_PARAMETER)));
        if (!valid_partstat(ps.empty() ? "NEEDS-ACTION" : ps, org.kind)) return make_error_code(errc::invalid_argument);
        std::optional<utc_time> rid;
        if (auto r = first_time(rc, ICAL_RECURRENCEID_PROPERTY, rvcal)) rid = to_utc(*r, nullptr);
        items.push_back({rc, ra, rid});
    }

    auto find_org = [&](std::optional<utc_time> rid) -> icalcomponent* {
        for (icalcomponent* c : org.comps) {
            auto r = first_time(c, ICAL_RECURRENCEID_PROPERTY, ovcal);
            if (!rid && !r) return c;
            if (rid && r && to_utc(*r, nullptr) == *rid) return c;
        }
        return nullptr;
    };
    icalcomponent* master = find_org(std::nullopt);

    for (const auto& it : items) {
        icalcomponent* target = find_org(it.rid);
        const bool needs_override = !target && it.rid && master;
        icalcomponent* seq_source = target ? target : master;
        if (!seq_source) return make_error_code(errc::not_found);
        if (!find_attendee(seq_source, out.attendee)) return make_error_code(errc::not_found);
        const int oseq = icalcomponent_get_first_property(seq_source, ICAL_SEQUENCE_PROPERTY) ? icalcomponent_get_sequence(seq_source) : 0;
        const int rseq = icalcomponent_get_first_property(it.rc, ICAL_SEQUENCE_PROPERTY) ? icalcomponent_get_sequence(it.rc) : 0;
        std::optional<utc_time> rstamp;
        if (auto d = first_time(it.rc, ICAL_DTSTAMP_PROPERTY, rvcal)) rstamp = to_utc(*d, nullptr);
        if (rseq < oseq) return make_error_code(errc::conflict);
        if (last_dtstamp && rseq == oseq && rstamp && *rstamp < *last_dtstamp) return make_error_code(errc::conflict);
        if (needs_override) {
            // The instance must exist in the organizer's recurrence set.
            const auto e = expand(organizer_copy, time_range{*it.rid - 86400 * 7, *it.rid + 86400 * 7}, nullptr, lim);
            if (std::none_of(e.instances.begin(), e.instances.end(),
                             [&](const instance& in) { return in.recurrence_id == it.rid && !in.overridden; }))
                return make_error_code(errc::invalid_argument);
        }
        out.sequence = rseq;
        if (rstamp) out.dtstamp = std::max(out.dtstamp, *rstamp);
    }

    for (const auto& it : items) {
        icalcomponent* target = find_org(it.rid);
        if (!target) {
            // A reply to one instance of a series: the organizer's copy gets an override
            // for it (RFC 5546 3.2.3), a copy of the master at that instance.
            const auto e = expand(organizer_copy, time_range{*it.rid - 86400 * 7, *it.rid + 86400 * 7}, nullptr, lim);
            const instance* in = nullptr;
            for (const auto& x : e.instances)
                if (x.recurrence_id == it.rid) in = &x;
            const auto ds = first_time(master, ICAL_DTSTART_PROPERTY, ovcal);
            target = icalcomponent_new_clone(master);
            for (auto k : {ICAL_RRULE_PROPERTY, ICAL_RDATE_PROPERTY, ICAL_EXDATE_PROPERTY, ICAL_EXRULE_PROPERTY,
                           ICAL_DTSTART_PROPERTY, ICAL_DTEND_PROPERTY, ICAL_DUE_PROPERTY})
                remove_all(target, k);
            auto form = [&](utc_time v) {
                if (ds && (ds->is_date() || ds->floating())) {
                    icaltimetype t = icaltime_from_timet_with_zone(static_cast<time_t>(v), ds->is_date(),
                                                                   icaltimezone_get_utc_timezone());
                    t.zone = nullptr;
                    return t;
                }
                return utc_of(v);
            };
            auto add_time = [&](icalproperty_kind k, utc_time v) {
                icalproperty* p = icalproperty_new(k);
                const icaltimetype t = form(v);
                icalproperty_set_value(p, t.is_date ? icalvalue_new_date(t) : icalvalue_new_datetime(t));
                icalcomponent_add_property(target, p);
            };
            add_time(ICAL_RECURRENCEID_PROPERTY, *it.rid);
            if (in && in->start) add_time(ICAL_DTSTART_PROPERTY, *in->start);
            if (in && in->end && icalcomponent_get_first_property(master, ICAL_DTEND_PROPERTY)) add_time(ICAL_DTEND_PROPERTY, *in->end);
            if (in && in->end && icalcomponent_get_first_property(master, ICAL_DUE_PROPERTY)) add_time(ICAL_DUE_PROPERTY, *in->end);
            icalcomponent_add_component(ovcal, target);
        }
        icalproperty* oa = find_attendee(target, out.attendee);
        std::string ps = upper(parameter_text(icalproperty_get_first_parameter(it.ra, ICAL_PARTSTAT_PARAMETER)));
        if (ps.empty()) ps = "NEEDS-ACTION";
        std::string old = upper(parameter_text(icalproperty_get_first_parameter(oa, ICAL_PARTSTAT_PARAMETER)));
        if (old.empty()) old = "NEEDS-ACTION";
        if (old != ps) out.changed = true;
        icalproperty_remove_parameter_by_kind(oa, ICAL_PARTSTAT_PARAMETER);
        icalproperty_add_parameter(oa, icalparameter_new_from_string(("PARTSTAT=" + ps).c_str()));
        // A SCHEDULE-STATUS from an earlier delivery no longer describes this attendee.
        icalproperty_remove_parameter_by_kind(oa, ICAL_SCHEDULESTATUS_PARAMETER);
        ++out.components_updated;
        if (!it.rid || out.partstat.empty()) out.partstat = ps;
    }
    refresh(org);
    return out;
}

result<std::size_t> apply_cancel(calendar_object& attendee_copy, std::string_view cancel_text, const limits& lim) {
    auto parsed = calendar_object::parse(cancel_text, lim);
    if (!parsed) return parsed.error();
    auto& cp = parsed->get();
    auto& org = attendee_copy.get();
    icalcomponent* cvcal = cp.root.get();
    icalcomponent* ovcal = org.root.get();
    icalproperty* mp = icalcomponent_get_first_property(cvcal, ICAL_METHOD_PROPERTY);
    if (!mp || icalproperty_get_method(mp) != ICAL_METHOD_CANCEL) return make_error_code(errc::invalid_argument);
    if (cp.comps.empty() || cp.kind != org.kind || cp.uid != org.uid || org.comps.empty())
        return make_error_code(errc::invalid_argument);
    auto sequence = [](icalcomponent* c) {
        return icalcomponent_get_first_property(c, ICAL_SEQUENCE_PROPERTY) ? icalcomponent_get_sequence(c) : 0;
    };
    auto rid_of = [](icalcomponent* c, icalcomponent* vcal) -> std::optional<utc_time> {
        if (auto r = first_time(c, ICAL_RECURRENCEID_PROPERTY, vcal)) return to_utc(*r, nullptr);
        return std::nullopt;
    };
    icalcomponent* master = nullptr;
    for (icalcomponent* c : org.comps)
        if (!rid_of(c, ovcal)) master = c;
    // Validate everything first: an outdated or foreign component changes nothing.
    for (icalcomponent* rc : cp.comps) {
        const char* uid = icalcomponent_get_uid(rc);
        if (!uid || org.uid != uid) return make_error_code(errc::invalid_argument);
        icalcomponent* ref = master ? master : org.comps.front();
        if (sequence(rc) < sequence(ref)) return make_error_code(errc::conflict);
    }
    auto mark = [&](icalcomponent* c, int seq) {
        remove_all(c, ICAL_STATUS_PROPERTY);
        icalcomponent_add_property(c, icalproperty_new_status(ICAL_STATUS_CANCELLED));
        if (seq > sequence(c)) icalcomponent_set_sequence(c, seq);
    };
    std::size_t changed = 0;
    for (icalcomponent* rc : cp.comps) {
        const auto rid = rid_of(rc, cvcal);
        if (!rid) {   // the whole object
            for (icalcomponent* c : org.comps) mark(c, sequence(rc));
            changed += org.comps.size();
            continue;
        }
        icalcomponent* target = nullptr;
        for (icalcomponent* c : org.comps)
            if (rid_of(c, ovcal) == rid) target = c;
        if (target) {
            mark(target, sequence(rc));
            ++changed;
        } else if (master) {
            // No override for that instance: it leaves the recurrence set (RFC 5545 EXDATE),
            // written as the master's DTSTART is (DATE, floating or UTC).
            const auto ds = first_time(master, ICAL_DTSTART_PROPERTY, ovcal);
            icaltimetype t = utc_of(*rid);
            if (ds && (ds->is_date() || ds->floating())) {
                t = icaltime_from_timet_with_zone(static_cast<time_t>(*rid), ds->is_date(), icaltimezone_get_utc_timezone());
                t.zone = nullptr;
            }
            icalcomponent_add_property(master, icalproperty_new_exdate(t));
            ++changed;
        }
    }
    refresh(org);
    return changed;
}

std::optional<std::string> partstat_of(const calendar_object& obj, std::string_view address) {
    auto& im = obj.get();
    icalcomponent* master = nullptr;
    for (icalcomponent* c : im.comps)
        if (!icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY)) {
            master = c;
            break;
        }
    if (!master && !im.comps.empty()) master = im.comps.front();
    if (!master) return std::nullopt;
    icalproperty* a = find_attendee(master, address);
    if (!a) return std::nullopt;
    std::string ps = upper(parameter_text(icalproperty_get_first_parameter(a, ICAL_PARTSTAT_PARAMETER)));
    return ps.empty() ? std::string("NEEDS-ACTION") : ps;
}

std::size_t set_partstat(calendar_object& obj, std::string_view address, std::string_view partstat) {
    std::size_t n = 0;
    const std::string value = "PARTSTAT=" + upper(partstat);
    for (icalcomponent* c : obj.get().comps)
        if (icalproperty* a = find_attendee(c, address)) {
            icalproperty_remove_parameter_by_kind(a, ICAL_PARTSTAT_PARAMETER);
            if (icalparameter* q = icalparameter_new_from_string(value.c_str())) icalproperty_add_parameter(a, q);
            ++n;
        }
    return n;
}

void set_schedule_status(calendar_object& obj, std::string_view address, std::string_view status) {
    const std::string value = "SCHEDULE-STATUS=" + std::string(status);
    for (icalcomponent* c : obj.get().comps)
        if (icalproperty* a = find_attendee(c, address)) {
            icalproperty_remove_parameter_by_kind(a, ICAL_SCHEDULESTATUS_PARAMETER);
            if (icalparameter* q = icalparameter_new_from_string(value.c_str())) icalproperty_add_parameter(a, q);
        }
}

std::string method_of(const calendar_object& obj) {
    icalproperty* mp = icalcomponent_get_first_property(obj.get().root.get(), ICAL_METHOD_PROPERTY);
    if (!mp) return {};
    switch (icalproperty_get_method(mp)) {
    case ICAL_METHOD_PUBLISH: return "PUBLISH";
    case ICAL_METHOD_REQUEST: return "REQUEST";
    case ICAL_METHOD_REPLY: return "REPLY";
    case ICAL_METHOD_ADD: return "ADD";
    case ICAL_METHOD_CANCEL: return "CANCEL";
    case ICAL_METHOD_REFRESH: return "REFRESH";
    case ICAL_METHOD_COUNTER: return "COUNTER";
    case ICAL_METHOD_DECLINECOUNTER: return "DECLINECOUNTER";
    default: return "X";   // an extension method: never one the scheduling code acts on
    }
}

std::string as_resource(const calendar_object& obj) {
    component_ptr copy(icalcomponent_new_clone(obj.get().root.get()));
    remove_all(copy.get(), ICAL_METHOD_PROPERTY);
    return serialize(copy.get());
}

result<freebusy_request> parse_freebusy_request(std::string_view text, const limits& lim) {
    auto parsed = calendar_object::parse(text, lim);
    if (!parsed) return parsed.error();
    auto& im = parsed->get();
    icalcomponent* vcal = im.root.get();
    icalproperty* mp = icalcomponent_get_first_property(vcal, ICAL_METHOD_PROPERTY);
    if (!mp || icalproperty_get_method(mp) != ICAL_METHOD_REQUEST) return make_error_code(errc::invalid_argument);
    if (icalcomponent_count_components(vcal, ICAL_VFREEBUSY_COMPONENT) != 1) return make_error_code(errc::invalid_argument);
    icalcomponent* fb = icalcomponent_get_first_component(vcal, ICAL_VFREEBUSY_COMPONENT);
    freebusy_request out;
    if (const char* uid = icalcomponent_get_uid(fb)) out.uid = uid;
    out.organizer = organizer_of(fb);
    const auto start = first_time(fb, ICAL_DTSTART_PROPERTY, vcal);
    const auto end = first_time(fb, ICAL_DTEND_PROPERTY, vcal);
    if (out.organizer.empty() || !start || !end) return make_error_code(errc::invalid_argument);
    out.range.start = to_utc(*start, nullptr);
    out.range.end = to_utc(*end, nullptr);
    if (*out.range.end <= *out.range.start) return make_error_code(errc::invalid_argument);
    for (icalproperty* p = icalcomponent_get_first_property(fb, ICAL_ATTENDEE_PROPERTY); p;
         p = icalcomponent_get_next_property(fb, ICAL_ATTENDEE_PROPERTY)) {
        const char* a = icalproperty_get_attendee(p);
        if (!a || !*a) continue;
        if (out.attendees.size() >= lim.max_attendees) return make_error_code(errc::limit_exceeded);
        out.attendees.emplace_back(a);
    }
    if (out.attendees.empty()) return make_error_code(errc::invalid_argument);
    return out;
}

}  // namespace polder::ical
