// freebusy.cpp - busy periods and VFREEBUSY output (RFC 4791 7.10, RFC 5545 3.6.4).
//
// SECURITY: bounded range, bounded expansion per object, bounded number of periods.
// STANDARDS: RFC 4791 7.10, RFC 5545 3.6.4 / 3.8.2.6 / 3.2.9, RFC 5546 3.3, RFC 6638 3.2.3.
#include "polder/ical/freebusy.hpp"

#include "libical.hpp"

#include <algorithm>

namespace polder::ical {

using namespace detail;

std::string_view name(busy_type t) noexcept {
    switch (t) {
    case busy_type::busy: return "BUSY";
    case busy_type::busy_tentative: return "BUSY-TENTATIVE";
    case busy_type::busy_unavailable: return "BUSY-UNAVAILABLE";
    }
    return "BUSY";
}

namespace {

// event_busy_type - nullopt when the component's time is free.
std::optional<busy_type> event_busy_type(icalcomponent* c, const freebusy_options& opt) {
    if (upper(property_text(c, ICAL_TRANSP_PROPERTY)) == "TRANSPARENT") return std::nullopt;
    const auto status = upper(property_text(c, ICAL_STATUS_PROPERTY));
    if (status == "CANCELLED") return std::nullopt;
    busy_type t = status == "TENTATIVE" ? busy_type::busy_tentative : busy_type::busy;
    if (!opt.owner_addresses.empty()) {
        for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY); p;
             p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY)) {
            const char* a = icalproperty_get_attendee(p);
            if (!a) continue;
            const bool owner = std::any_of(opt.owner_addresses.begin(), opt.owner_addresses.end(),
                                           [&](const std::string& o) { return iequals(o, a); });
            if (!owner) continue;
            const auto ps = upper(parameter_text(icalproperty_get_first_parameter(p, ICAL_PARTSTAT_PARAMETER)));
            if (ps == "DECLINED") return std::nullopt;
            if (ps == "TENTATIVE" || ps == "NEEDS-ACTION" || ps.empty()) t = busy_type::busy_tentative;
        }
    }
    return t;
}

std::optional<busy_type> fbtype_of(icalproperty* p) {
    icalparameter* q = icalproperty_get_first_parameter(p, ICAL_FBTYPE_PARAMETER);
    if (!q) return busy_type::busy;  // RFC 5545 3.2.9 default
    const auto v = upper(parameter_text(q));
    if (v == "FREE") return std::nullopt;
    if (v == "BUSY-TENTATIVE") return busy_type::busy_tentative;
    if (v == "BUSY-UNAVAILABLE") return busy_type::busy_unavailable;
    return busy_type::busy;  // BUSY and unknown values (RFC 5545: treat as BUSY)
}

}  // namespace

result<std::vector<busy_period>> busy_periods(const std::vector<const calendar_object*>& objects, const time_range& range,
                                              const time_zone* floating_tz, const freebusy_options& opt, const limits& lim) {
    if (!range.start || !range.end || *range.start >= *range.end) return make_error_code(errc::invalid_argument);
    const utc_time lo = *range.start, hi = *range.end;
    icaltimezone* fz = floating_tz ? floating_tz->get().tz : nullptr;
    std::vector<busy_period> raw;
    auto add = [&](utc_time s, utc_time e, busy_type t) {
        s = std::max(s, lo);
        e = std::min(e, hi);
        if (s < e && raw.size() < opt.max_periods * 4) raw.push_back({s, e, t});
    };
    for (const calendar_object* o : objects) {
        if (!o) continue;
        auto& im = o->get();
        if (im.kind == component_kind::vevent) {
            const auto e = expand(*o, range, floating_tz, lim);
            for (const auto& in : e.instances) {
                if (!in.start || !in.end || *in.end <= *in.start) continue;  // zero-length: no busy time
                if (auto t = event_busy_type(im.comps[in.component], opt)) add(*in.start, *in.end, *t);
            }
        } else if (im.kind == component_kind::vfreebusy) {
            for (icalcomponent* c : im.comps)
                for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_FREEBUSY_PROPERTY); p;
                     p = icalcomponent_get_next_property(c, ICAL_FREEBUSY_PROPERTY)) {
                    const auto t = fbtype_of(p);
                    if (!t) continue;
                    const auto per = icalproperty_get_freebusy(p);
                    if (icaltime_is_null_time(per.start)) continue;
                    const utc_time s = to_utc(per.start, fz);
                    const utc_time e = icaltime_is_null_time(per.end) ? s + icaldurationtype_as_int(per.duration)
                                                                      : to_utc(per.end, fz);
                    add(s, e, *t);
                }
        }
    }
    // Merge overlapping and adjacent periods of the same type.
    std::sort(raw.begin(), raw.end(), [](const busy_period& a, const busy_period& b) {
        if (a.type != b.type) return a.type < b.type;
        return a.start < b.start;
    });
    std::vector<busy_period> out;
    for (const auto& p : raw) {
        if (!out.empty() && out.back().type == p.type && p.start <= out.back().end) {
            out.back().end = std::max(out.back().end, p.end);
            continue;
        }
        if (out.size() >= opt.max_periods) break;
        out.push_back(p);
    }
    return out;
}

result<std::string> freebusy_calendar(const std::vector<busy_period>& periods, const time_range& range,
                                      const vfreebusy_header& h) {
    if (!range.start || !range.end) return make_error_code(errc::invalid_argument);
    init_libical();
    icaltimezone* utc = icaltimezone_get_utc_timezone();
    auto ut = [&](utc_time v) { return icaltime_from_timet_with_zone(static_cast<time_t>(v), 0, utc); };
    component_ptr cal(icalcomponent_new(ICAL_VCALENDAR_COMPONENT));
    icalcomponent_add_property(cal.get(), icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal.get(), icalproperty_new_prodid("-//Polder//CalDAV//EN"));
    if (h.reply) icalcomponent_add_property(cal.get(), icalproperty_new_method(ICAL_METHOD_REPLY));
    icalcomponent* fb = icalcomponent_new(ICAL_VFREEBUSY_COMPONENT);
    icalcomponent_add_property(fb, icalproperty_new_dtstamp(ut(h.dtstamp)));
    icalcomponent_add_property(fb, icalproperty_new_dtstart(ut(*range.start)));
    icalcomponent_add_property(fb, icalproperty_new_dtend(ut(*range.end)));
    if (!h.uid.empty()) icalcomponent_add_property(fb, icalproperty_new_uid(h.uid.c_str()));
    if (!h.organizer.empty()) icalcomponent_add_property(fb, icalproperty_new_organizer(h.organizer.c_str()));
    if (!h.attendee.empty()) icalcomponent_add_property(fb, icalproperty_new_attendee(h.attendee.c_str()));
    for (const auto& p : periods) {
        icalperiodtype per = icalperiodtype_null_period();
        per.start = ut(p.start);
        per.end = ut(p.end);
        icalproperty* fp = icalproperty_new_freebusy(per);
        const icalparameter_fbtype ft = p.type == busy_type::busy_tentative     ? ICAL_FBTYPE_BUSYTENTATIVE
                                        : p.type == busy_type::busy_unavailable ? ICAL_FBTYPE_BUSYUNAVAILABLE
                                                                                : ICAL_FBTYPE_BUSY;
        icalproperty_add_parameter(fp, icalparameter_new_fbtype(ft));
        icalcomponent_add_property(fb, fp);
    }
    icalcomponent_add_component(cal.get(), fb);
    return serialize(cal.get());
}

}  // namespace polder::ical
