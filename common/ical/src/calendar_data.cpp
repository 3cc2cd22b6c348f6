// calendar_data.cpp - calendar-data output: expand, limit-recurrence-set,
// limit-freebusy-set and partial retrieval (RFC 4791 9.6).
//
// SECURITY: works on a private clone of the object; the number of components produced is
// bounded by limits::max_instances.
// STANDARDS: RFC 4791 9.6.1-9.6.7, RFC 5545 3.1 (content lines are written by libical,
// folded at 75 octets with CRLF).
#include "polder/ical/calendar_data.hpp"

#include "libical.hpp"

#include <set>

namespace polder::ical {

using namespace detail;

namespace {

void remove_all(icalcomponent* c, icalproperty_kind k) {
    while (icalproperty* p = icalcomponent_get_first_property(c, k)) {
        icalcomponent_remove_property(c, p);
        icalproperty_free(p);
    }
}

void remove_components(icalcomponent* parent, icalcomponent_kind k) {
    while (icalcomponent* c = icalcomponent_get_first_component(parent, k)) {
        icalcomponent_remove_component(parent, c);
        icalcomponent_free(c);
    }
}

// output_time - an instant written back in the form of the original value: UTC for zoned
// values, the calendar-time-zone wall clock for floating and DATE values.
icaltimetype output_time(utc_time v, bool is_date, bool floating, icaltimezone* fz) {
    icaltimezone* utc = icaltimezone_get_utc_timezone();
    if (is_date || floating) {
        icaltimetype t = icaltime_from_timet_with_zone(static_cast<time_t>(v), is_date ? 1 : 0, fz ? fz : utc);
        t.zone = nullptr;
        return t;
    }
    return icaltime_from_timet_with_zone(static_cast<time_t>(v), 0, utc);
}

void replace_time(icalcomponent* c, icalproperty_kind k, icaltimetype t) {
    remove_all(c, k);
    icalproperty* p = icalproperty_new(k);
    icalproperty_set_value(p, t.is_date ? icalvalue_new_date(t) : icalvalue_new_datetime(t));
    icalcomponent_add_property(c, p);
}

// to_utc_everywhere - rewrite every DATE-TIME with a TZID as UTC (RFC 4791 9.6.5).
void to_utc_everywhere(icalcomponent* c, icalcomponent* vcal) {
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        if (!icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER)) continue;
        icalvalue* v = icalproperty_get_value(p);
        if (!v || icalvalue_isa(v) != ICAL_DATETIME_VALUE) continue;
        auto t = get_time(p, vcal);
        if (!t || t->floating()) continue;
        const icaltimetype u = output_time(to_utc(*t, nullptr), false, false, nullptr);
        icalproperty_remove_parameter_by_kind(p, ICAL_TZID_PARAMETER);
        icalproperty_set_value(p, icalvalue_new_datetime(u));
    }
    for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        to_utc_everywhere(k, vcal);
}

component_ptr expanded(const calendar_object& obj, const time_range& range, icaltimezone* fz, const time_zone* tz,
                       const limits& lim) {
    auto& im = obj.get();
    icalcomponent* vcal = im.root.get();
    component_ptr out(icalcomponent_new_clone(vcal));
    remove_components(out.get(), ICAL_VTIMEZONE_COMPONENT);
    remove_components(out.get(), ical_kind(im.kind));
    const auto e = expand(obj, range, tz, lim);
    for (const auto& in : e.instances) {
        icalcomponent* src = im.comps[in.component];
        icalcomponent* c = icalcomponent_new_clone(src);
        for (auto k : {ICAL_RRULE_PROPERTY, ICAL_RDATE_PROPERTY, ICAL_EXDATE_PROPERTY, ICAL_EXRULE_PROPERTY})
            remove_all(c, k);
        const auto ds = first_time(src, ICAL_DTSTART_PROPERTY, vcal);
        const bool is_date = ds ? ds->is_date() : in.all_day;
        const bool floating = ds ? ds->floating() : false;
        if (in.start && ds) replace_time(c, ICAL_DTSTART_PROPERTY, output_time(*in.start, is_date, floating, fz));
        if (in.end && icalcomponent_get_first_property(src, ICAL_DTEND_PROPERTY))
            replace_time(c, ICAL_DTEND_PROPERTY, output_time(*in.end, is_date, floating, fz));
        if (in.end && icalcomponent_get_first_property(src, ICAL_DUE_PROPERTY)) {
            const auto due = first_time(src, ICAL_DUE_PROPERTY, vcal);
            replace_time(c, ICAL_DUE_PROPERTY, output_time(*in.end, due && due->is_date(), due && due->floating(), fz));
        }
        if (in.recurrence_id)
            replace_time(c, ICAL_RECURRENCEID_PROPERTY, output_time(*in.recurrence_id, is_date, floating, fz));
        to_utc_everywhere(c, vcal);
        icalcomponent_add_component(out.get(), c);
    }
    return out;
}

component_ptr limited(const calendar_object& obj, const calendar_data_request& req, const time_zone* tz,
                      const limits& lim) {
    auto& im = obj.get();
    component_ptr out(icalcomponent_new_clone(im.root.get()));
    if (req.limit_recurrence_set) {
        // Keep the master and the overrides that govern an instance in the range.
        const auto e = expand(obj, *req.limit_recurrence_set, tz, lim);
        std::set<std::size_t> keep;
        for (const auto& in : e.instances) keep.insert(in.component);
        const auto comps = main_components(out.get(), im.kind);
        for (std::size_t i = 0; i < comps.size(); ++i) {
            const bool is_override = icalcomponent_get_first_property(comps[i], ICAL_RECURRENCEID_PROPERTY) != nullptr;
            if (is_override && !e.truncated && !keep.contains(i)) {
                icalcomponent_remove_component(out.get(), comps[i]);
                icalcomponent_free(comps[i]);
            }
        }
    }
    if (req.limit_freebusy_set && im.kind == component_kind::vfreebusy) {
        const auto& r = *req.limit_freebusy_set;
        icaltimezone* fz = tz ? tz->get().tz : nullptr;
        for (icalcomponent* c : main_components(out.get(), im.kind)) {
            std::vector<icalproperty*> drop;
            for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_FREEBUSY_PROPERTY); p;
                 p = icalcomponent_get_next_property(c, ICAL_FREEBUSY_PROPERTY)) {
                const auto per = icalproperty_get_freebusy(p);
                const utc_time s = to_utc(per.start, fz);
                const utc_time e = icaltime_is_null_time(per.end) ? s + icaldurationtype_as_int(per.duration)
                                                                  : to_utc(per.end, fz);
                if (!(r.lo() < e && r.hi() > s)) drop.push_back(p);
            }
            for (icalproperty* p : drop) {
                icalcomponent_remove_property(c, p);
                icalproperty_free(p);
            }
        }
    }
    return out;
}

std::string without_value(std::string line) {
    // Unfold, then cut after the first ':' outside a quoted parameter value.
    std::string flat;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\r' && i + 2 < line.size() && line[i + 1] == '\n' && (line[i + 2] == ' ' || line[i + 2] == '\t')) {
            i += 2;
            continue;
        }
        flat += line[i];
    }
    bool quoted = false;
    for (std::size_t i = 0; i < flat.size(); ++i) {
        if (flat[i] == '"') quoted = !quoted;
        if (flat[i] == ':' && !quoted) return flat.substr(0, i + 1) + "\r\n";
    }
    return flat;
}

void write_selected(icalcomponent* c, const comp_selection& sel, std::string& out) {
    const char* kname = icalcomponent_kind_to_string(icalcomponent_isa(c));
    const std::string name = kname ? kname : "X-UNKNOWN";
    out += "BEGIN:" + name + "\r\n";
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        const char* pn = icalproperty_get_property_name(p);
        const std::string pname = pn ? pn : "";
        if (sel.all_props) {
            out += serialize(p);
            continue;
        }
        for (const auto& ps : sel.props)
            if (iequals(ps.name, pname)) {
                std::string line = serialize(p);
                out += ps.novalue ? without_value(std::move(line)) : line;
                break;
            }
    }
    for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        if (sel.all_comps) {
            out += serialize(k);
            continue;
        }
        const char* cn = icalcomponent_kind_to_string(icalcomponent_isa(k));
        for (const auto& cs : sel.comps)
            if (cn && iequals(cs.name, cn)) {
                write_selected(k, cs, out);
                break;
            }
    }
    out += "END:" + name + "\r\n";
}

}  // namespace

result<std::string> calendar_data(const calendar_object& obj, const calendar_data_request& req,
                                  const time_zone* floating_tz, const limits& lim) {
    if (req.select && !iequals(req.select->name, "VCALENDAR")) return make_error_code(errc::invalid_argument);
    icaltimezone* fz = floating_tz ? floating_tz->get().tz : nullptr;
    component_ptr tree;
    if (req.expand)
        tree = expanded(obj, *req.expand, fz, floating_tz, lim);
    else if (req.limit_recurrence_set || req.limit_freebusy_set)
        tree = limited(obj, req, floating_tz, lim);
    icalcomponent* root = tree ? tree.get() : obj.get().root.get();
    if (!req.select) return serialize(root);
    std::string out;
    write_selected(root, *req.select, out);
    return out;
}

}  // namespace polder::ical
