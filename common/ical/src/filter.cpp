// filter.cpp - calendar-query filter evaluation (RFC 4791 9.7).
//
// SECURITY: the filter is checked first (collations, names, depth); evaluation recursion
// is bounded by that depth; time ranges use the bounded expansion, and a truncated
// expansion counts as a match so no event is lost (clients filter again).
// STANDARDS: RFC 4791 9.7.1-9.7.5, 9.9; RFC 6352 10.5.4 (match-type).
#include "polder/ical/filter.hpp"

#include "libical.hpp"

#include <set>

namespace polder::ical {

using namespace detail;

namespace {

result<void> check_match(const std::optional<text_match>& m) {
    if (!m) return {};
    auto c = parse_collation(m->collation);
    if (!c) return c.error();
    return {};
}

bool is_true(const result<bool>& r) { return r.has_value() && *r; }

bool valid_range(const std::optional<time_range>& r) { return !r || r->start || r->end; }

result<void> check_comp(const comp_filter& f, std::size_t depth) {
    if (depth > max_filter_depth || f.name.empty() || !valid_range(f.range))
        return make_error_code(ical_errc::invalid_filter);
    // is-not-defined stands alone (RFC 4791 9.7.1-9.7.3 content models).
    if (f.is_not_defined && (f.range || !f.props.empty() || !f.comps.empty()))
        return make_error_code(ical_errc::invalid_filter);
    for (const auto& p : f.props) {
        if (p.name.empty() || !valid_range(p.range) || (p.range && p.match))
            return make_error_code(ical_errc::invalid_filter);
        if (p.is_not_defined && (p.range || p.match || !p.params.empty()))
            return make_error_code(ical_errc::invalid_filter);
        if (auto r = check_match(p.match); !r) return r;
        for (const auto& q : p.params) {
            if (q.name.empty() || (q.is_not_defined && q.match)) return make_error_code(ical_errc::invalid_filter);
            if (auto r = check_match(q.match); !r) return r;
        }
    }
    for (const auto& c : f.comps)
        if (auto r = check_comp(c, depth + 1); !r) return r;
    return {};
}

std::string component_name(icalcomponent* c) {
    const auto k = icalcomponent_isa(c);
    // libical 3.0 keeps no accessor for an x-comp's name: such components cannot be
    // selected by name (no client filters on them).
    if (k == ICAL_X_COMPONENT) return "X-";
    const char* s = icalcomponent_kind_to_string(k);
    return s ? s : "";
}

std::string property_name(icalproperty* p) {
    const char* s = icalproperty_get_property_name(p);
    return s ? s : "";
}

std::string parameter_name(icalparameter* q) {
    const auto k = icalparameter_isa(q);
    if (k == ICAL_X_PARAMETER) {
        const char* x = icalparameter_get_xname(q);
        return x ? x : "";
    }
    if (k == ICAL_IANA_PARAMETER) {
        const char* x = icalparameter_get_iana_name(q);
        return x ? x : "";
    }
    const char* s = icalparameter_kind_to_string(k);
    return s ? s : "";
}

// value_text - the value as a client sees it: TEXT unescaped, others in their iCalendar form.
std::string value_text(icalproperty* p) {
    icalvalue* v = icalproperty_get_value(p);
    if (!v) return {};
    if (icalvalue_isa(v) == ICAL_TEXT_VALUE) {
        const char* s = icalvalue_get_text(v);
        return s ? s : "";
    }
    const char* s = icalproperty_get_value_as_string(p);
    return s ? s : "";
}

struct context {
    const calendar_object& obj;
    icalcomponent* vcal;
    icaltimezone* fz;
    const time_zone* floating_tz;
    const limits& lim;
};

bool param_matches(icalproperty* p, const param_filter& f) {
    bool found = false;
    for (icalparameter* q = icalproperty_get_first_parameter(p, ICAL_ANY_PARAMETER); q;
         q = icalproperty_get_next_parameter(p, ICAL_ANY_PARAMETER)) {
        if (!iequals(parameter_name(q), f.name)) continue;
        found = true;
        if (f.is_not_defined) return false;
        if (!f.match) return true;
        if (is_true(text_matches(*f.match, parameter_text(q)))) return true;
    }
    return f.is_not_defined ? !found : false;
}

bool prop_matches(const context& cx, icalcomponent* c, const prop_filter& f) {
    bool found = false;
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        if (!iequals(property_name(p), f.name)) continue;
        found = true;
        if (f.is_not_defined) return false;
        if (f.range) {
            auto t = get_time(p, cx.vcal);
            if (!t) continue;
            const utc_time v = to_utc(*t, cx.fz);
            if (!(f.range->lo() <= v && f.range->hi() > v)) continue;
        }
        if (f.match && !is_true(text_matches(*f.match, value_text(p)))) continue;
        bool all = true;
        for (const auto& q : f.params)
            if (!param_matches(p, q)) {
                all = false;
                break;
            }
        if (all) return true;
    }
    return f.is_not_defined ? !found : false;
}

bool comp_matches_in(const context& cx, icalcomponent* parent, const comp_filter& f);

// comp_body_matches - the props and nested comp-filters of f hold for component c.
bool comp_body_matches(const context& cx, icalcomponent* c, const comp_filter& f) {
    for (const auto& p : f.props)
        if (!prop_matches(cx, c, p)) return false;
    for (const auto& k : f.comps)
        if (!comp_matches_in(cx, c, k)) return false;
    return true;
}

// comp_matches_in - RFC 4791 9.7.1 for the children of `parent` named f.name.
bool comp_matches_in(const context& cx, icalcomponent* parent, const comp_filter& f) {
    std::vector<icalcomponent*> children;
    for (icalcomponent* k = icalcomponent_get_first_component(parent, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(parent, ICAL_ANY_COMPONENT))
        if (iequals(component_name(k), f.name)) children.push_back(k);
    if (f.is_not_defined) return children.empty();
    if (children.empty()) return false;

    if (f.range) {
        const auto kind = kind_from_name(f.name);
        if (parent == cx.vcal && kind != component_kind::none && kind == cx.obj.kind()) {
            // Recurring components: a component qualifies when one of its instances
            // (master occurrences or its own override) overlaps the range.
            const auto e = expand(cx.obj, *f.range, cx.floating_tz, cx.lim);
            if (!e.truncated) {
                std::set<icalcomponent*> hit;
                for (const auto& in : e.instances) hit.insert(cx.obj.get().comps[in.component]);
                std::erase_if(children, [&](icalcomponent* k) { return !hit.contains(k); });
            }
        } else if (iequals(f.name, "VALARM")) {
            if (!alarm_overlaps(cx.obj, *f.range, cx.floating_tz, cx.lim)) children.clear();
        }
        // A time-range on other components (VTIMEZONE, STANDARD ...) has no RFC 4791
        // meaning and does not restrict.
    }
    for (icalcomponent* k : children)
        if (comp_body_matches(cx, k, f)) return true;
    return false;
}

}  // namespace

result<void> check_filter(const comp_filter& f) {
    if (!iequals(f.name, "VCALENDAR")) return make_error_code(ical_errc::invalid_filter);
    return check_comp(f, 0);
}

result<bool> matches(const calendar_object& obj, const comp_filter& f, const time_zone* floating_tz, const limits& lim) {
    if (auto r = check_filter(f); !r) return result<bool>(boost::system::in_place_error, r.error());
    icalcomponent* vcal = obj.get().root.get();
    const context cx{obj, vcal, floating_tz ? floating_tz->get().tz : nullptr, floating_tz, lim};
    if (f.is_not_defined) return false;
    return comp_body_matches(cx, vcal, f);
}

}  // namespace polder::ical
