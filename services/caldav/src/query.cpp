// query.cpp - parsing of CalDAV / CardDAV REPORT bodies (see query.hpp).
//
// SECURITY: recursion is bounded by ical::max_filter_depth and by the XML depth limit;
// every list is bounded; attribute values are copied, never interpreted as markup.
// STANDARDS: RFC 4791 7.8-7.10, 9.6-9.9; RFC 6352 8.6, 8.7, 10.4, 10.5.
#include "query.hpp"

namespace polder::caldav {

namespace {

const std::string* attribute(const dav::xml_element& e, std::string_view name) {
    for (const auto& a : e.attributes)
        if (a.name.ns.empty() && a.name.local == name) return &a.value;
    return nullptr;
}

std::string attribute_or(const dav::xml_element& e, std::string_view name, std::string_view fallback) {
    const auto* v = attribute(e, name);
    return v ? *v : std::string(fallback);
}

result<ical::text_match> parse_text_match(const dav::xml_element& e, std::string_view default_collation,
                                          bool card_side, std::string& reason) {
    ical::text_match m;
    m.text = e.text_content();
    m.collation = attribute_or(e, "collation", default_collation);
    const auto negate = attribute_or(e, "negate-condition", "no");
    if (negate != "yes" && negate != "no") {
        reason = "negate-condition must be yes or no";
        return errc::invalid_argument;
    }
    m.negate = negate == "yes";
    if (card_side) {
        auto t = ical::parse_match_type(attribute_or(e, "match-type", "contains"));
        if (!t) {
            reason = "unknown match-type";
            return errc::invalid_argument;
        }
        m.type = *t;
    }
    return m;
}

result<ical::param_filter> parse_param_filter(const dav::xml_element& e, std::string& reason) {
    ical::param_filter f;
    f.name = attribute_or(e, "name", "");
    if (f.name.empty()) {
        reason = "param-filter without a name";
        return errc::invalid_argument;
    }
    for (const auto* c : e.elements()) {
        if (c->is(caldav_ns, "is-not-defined")) f.is_not_defined = true;
        else if (c->is(caldav_ns, "text-match")) {
            auto m = parse_text_match(*c, "i;ascii-casemap", false, reason);
            if (!m) return m.error();
            f.match = std::move(*m);
        }
    }
    return f;
}

result<ical::prop_filter> parse_prop_filter(const dav::xml_element& e, std::string& reason) {
    ical::prop_filter f;
    f.name = attribute_or(e, "name", "");
    if (f.name.empty()) {
        reason = "prop-filter without a name";
        return errc::invalid_argument;
    }
    for (const auto* c : e.elements()) {
        if (c->is(caldav_ns, "is-not-defined")) f.is_not_defined = true;
        else if (c->is(caldav_ns, "time-range")) {
            auto r = parse_time_range(*c, reason);
            if (!r) return r.error();
            f.range = *r;
        } else if (c->is(caldav_ns, "text-match")) {
            auto m = parse_text_match(*c, "i;ascii-casemap", false, reason);
            if (!m) return m.error();
            f.match = std::move(*m);
        } else if (c->is(caldav_ns, "param-filter")) {
            auto p = parse_param_filter(*c, reason);
            if (!p) return p.error();
            f.params.push_back(std::move(*p));
        }
    }
    return f;
}

result<ical::comp_filter> parse_comp_filter(const dav::xml_element& e, std::size_t depth, std::string& reason) {
    if (depth > ical::max_filter_depth) {
        reason = "filter nested too deeply";
        return errc::invalid_argument;
    }
    ical::comp_filter f;
    f.name = attribute_or(e, "name", "");
    if (f.name.empty()) {
        reason = "comp-filter without a name";
        return errc::invalid_argument;
    }
    for (const auto* c : e.elements()) {
        if (c->is(caldav_ns, "is-not-defined")) f.is_not_defined = true;
        else if (c->is(caldav_ns, "time-range")) {
            auto r = parse_time_range(*c, reason);
            if (!r) return r.error();
            f.range = *r;
        } else if (c->is(caldav_ns, "prop-filter")) {
            auto p = parse_prop_filter(*c, reason);
            if (!p) return p.error();
            f.props.push_back(std::move(*p));
        } else if (c->is(caldav_ns, "comp-filter")) {
            auto sub = parse_comp_filter(*c, depth + 1, reason);
            if (!sub) return sub.error();
            f.comps.push_back(std::move(*sub));
        }
    }
    return f;
}

result<ical::comp_selection> parse_comp_selection(const dav::xml_element& e, std::size_t depth, std::string& reason) {
    if (depth > ical::max_filter_depth) {
        reason = "calendar-data comp nested too deeply";
        return errc::invalid_argument;
    }
    ical::comp_selection s;
    s.name = attribute_or(e, "name", "");
    if (s.name.empty()) {
        reason = "comp without a name";
        return errc::invalid_argument;
    }
    for (const auto* c : e.elements()) {
        if (c->is(caldav_ns, "allprop")) s.all_props = true;
        else if (c->is(caldav_ns, "allcomp")) s.all_comps = true;
        else if (c->is(caldav_ns, "prop")) {
            ical::prop_selection p;
            p.name = attribute_or(*c, "name", "");
            if (p.name.empty()) {
                reason = "prop without a name";
                return errc::invalid_argument;
            }
            p.novalue = attribute_or(*c, "novalue", "no") == "yes";
            s.props.push_back(std::move(p));
        } else if (c->is(caldav_ns, "comp")) {
            auto sub = parse_comp_selection(*c, depth + 1, reason);
            if (!sub) return sub.error();
            s.comps.push_back(std::move(*sub));
        }
    }
    return s;
}

result<ical::calendar_data_request> parse_calendar_data(const dav::xml_element& e, std::string& reason) {
    ical::calendar_data_request r;
    const auto type = attribute_or(e, "content-type", "text/calendar");
    const auto version = attribute_or(e, "version", "2.0");
    if (type != "text/calendar" || version != "2.0") {
        reason = "calendar-data must be text/calendar 2.0";
        return errc::permission_denied;
    }
    for (const auto* c : e.elements()) {
        if (c->is(caldav_ns, "comp")) {
            auto s = parse_comp_selection(*c, 0, reason);
            if (!s) return s.error();
            r.select = std::move(*s);
        } else if (c->is(caldav_ns, "expand") || c->is(caldav_ns, "limit-recurrence-set") ||
                   c->is(caldav_ns, "limit-freebusy-set")) {
            auto t = parse_time_range(*c, reason);
            if (!t) return t.error();
            // RFC 4791 9.6.5-9.6.7: both start and end are required on these elements.
            if (!t->start || !t->end) {
                reason = c->name.local + " needs start and end";
                return errc::invalid_argument;
            }
            if (c->name.local == "expand") r.expand = *t;
            else if (c->name.local == "limit-recurrence-set") r.limit_recurrence_set = *t;
            else r.limit_freebusy_set = *t;
        }
    }
    return r;
}

result<std::vector<ical::card_prop_selection>> parse_address_data(const dav::xml_element& e, std::string& reason) {
    const auto type = attribute_or(e, "content-type", "text/vcard");
    const auto version = attribute_or(e, "version", "3.0");
    if (type != "text/vcard" || (version != "3.0" && version != "4.0")) {
        reason = "address-data must be text/vcard 3.0 or 4.0";
        return errc::permission_denied;
    }
    std::vector<ical::card_prop_selection> out;
    for (const auto* c : e.elements()) {
        if (c->is(carddav_ns, "prop")) {
            ical::card_prop_selection p;
            p.name = attribute_or(*c, "name", "");
            if (p.name.empty()) {
                reason = "prop without a name";
                return errc::invalid_argument;
            }
            p.novalue = attribute_or(*c, "novalue", "no") == "yes";
            if (out.size() >= dav::max_props) {
                reason = "too many properties";
                return errc::limit_exceeded;
            }
            out.push_back(std::move(p));
        }
    }
    return out;
}

std::vector<std::string> collect_hrefs(const dav::xml_element& root) {
    std::vector<std::string> out;
    for (const auto* c : root.elements())
        if (c->is(dav::dav_ns, "href")) out.push_back(c->text_content());
    return out;
}

}  // namespace

result<ical::time_range> parse_time_range(const dav::xml_element& e, std::string& reason) {
    ical::time_range r;
    if (const auto* s = attribute(e, "start")) {
        auto t = ical::from_utc_text(*s);
        if (!t) {
            reason = "time-range start is not a UTC date-time";
            return errc::invalid_argument;
        }
        r.start = *t;
    }
    if (const auto* s = attribute(e, "end")) {
        auto t = ical::from_utc_text(*s);
        if (!t) {
            reason = "time-range end is not a UTC date-time";
            return errc::invalid_argument;
        }
        r.end = *t;
    }
    if (!r.start && !r.end) {
        reason = "time-range needs start or end";
        return errc::invalid_argument;
    }
    if (r.start && r.end && *r.end <= *r.start) {
        reason = "time-range end must be after start";
        return errc::invalid_argument;
    }
    return r;
}

result<report_props> parse_report_props(const dav::xml_element& root, std::string& reason) {
    report_props out;
    const auto* prop = root.child(dav::dav_ns, "prop");
    if (root.child(dav::dav_ns, "propname")) {
        out.props.kind = dav::propfind_kind::propname;
        return out;
    }
    if (!prop) {
        out.props.kind = dav::propfind_kind::allprop;
        return out;
    }
    out.props.kind = dav::propfind_kind::prop;
    for (const auto* c : prop->elements()) {
        if (out.props.props.size() >= dav::max_props) {
            reason = "too many properties";
            return errc::limit_exceeded;
        }
        out.props.props.push_back(c->name);
        if (c->is(caldav_ns, "calendar-data")) {
            auto d = parse_calendar_data(*c, reason);
            if (!d) return d.error();
            out.calendar_data = std::move(*d);
        } else if (c->is(carddav_ns, "address-data")) {
            auto d = parse_address_data(*c, reason);
            if (!d) return d.error();
            out.address_data = std::move(*d);
        }
    }
    return out;
}

result<calendar_query> parse_calendar_query(const dav::xml_element& root, std::string& reason) {
    if (!root.is(caldav_ns, "calendar-query")) {
        reason = "not a calendar-query";
        return errc::invalid_argument;
    }
    calendar_query q;
    auto props = parse_report_props(root, reason);
    if (!props) return props.error();
    q.props = std::move(*props);
    const auto* filter = root.child(caldav_ns, "filter");
    if (!filter) {
        reason = "calendar-query needs a filter";
        return errc::invalid_argument;
    }
    const auto tops = filter->elements();
    if (tops.size() != 1 || !tops[0]->is(caldav_ns, "comp-filter")) {
        reason = "filter must hold exactly one comp-filter";
        return errc::invalid_argument;
    }
    auto f = parse_comp_filter(*tops[0], 0, reason);
    if (!f) return f.error();
    q.filter = std::move(*f);
    if (const auto* tz = root.child(caldav_ns, "timezone")) q.timezone = tz->text_content();
    return q;
}

result<multiget> parse_multiget(const dav::xml_element& root, std::string& reason) {
    if (!root.is(caldav_ns, "calendar-multiget") && !root.is(carddav_ns, "addressbook-multiget")) {
        reason = "not a multiget";
        return errc::invalid_argument;
    }
    multiget m;
    auto props = parse_report_props(root, reason);
    if (!props) return props.error();
    m.props = std::move(*props);
    m.hrefs = collect_hrefs(root);
    if (m.hrefs.empty()) {
        reason = "multiget needs at least one href";
        return errc::invalid_argument;
    }
    if (m.hrefs.size() > max_hrefs) {
        reason = "too many hrefs";
        return errc::limit_exceeded;
    }
    return m;
}

result<freebusy_query> parse_freebusy_query(const dav::xml_element& root, std::string& reason) {
    if (!root.is(caldav_ns, "free-busy-query")) {
        reason = "not a free-busy-query";
        return errc::invalid_argument;
    }
    const auto* tr = root.child(caldav_ns, "time-range");
    if (!tr) {
        reason = "free-busy-query needs a time-range";
        return errc::invalid_argument;
    }
    auto r = parse_time_range(*tr, reason);
    if (!r) return r.error();
    if (!r->start || !r->end) {
        reason = "free-busy-query time-range needs start and end";
        return errc::invalid_argument;
    }
    return freebusy_query{*r};
}

result<addressbook_query> parse_addressbook_query(const dav::xml_element& root, std::string& reason) {
    if (!root.is(carddav_ns, "addressbook-query")) {
        reason = "not an addressbook-query";
        return errc::invalid_argument;
    }
    addressbook_query q;
    auto props = parse_report_props(root, reason);
    if (!props) return props.error();
    q.props = std::move(*props);
    const auto* filter = root.child(carddav_ns, "filter");
    if (!filter) {
        reason = "addressbook-query needs a filter";
        return errc::invalid_argument;
    }
    const auto test = attribute_or(*filter, "test", "anyof");
    if (test != "anyof" && test != "allof") {
        reason = "filter test must be anyof or allof";
        return errc::invalid_argument;
    }
    q.filter.test = test == "allof" ? ical::filter_test::allof : ical::filter_test::anyof;
    for (const auto* pf : filter->elements()) {
        if (!pf->is(carddav_ns, "prop-filter")) continue;
        if (q.filter.props.size() >= dav::max_props) {
            reason = "too many prop-filters";
            return errc::limit_exceeded;
        }
        ical::card_prop_filter f;
        f.name = attribute_or(*pf, "name", "");
        if (f.name.empty()) {
            reason = "prop-filter without a name";
            return errc::invalid_argument;
        }
        const auto t = attribute_or(*pf, "test", "anyof");
        if (t != "anyof" && t != "allof") {
            reason = "prop-filter test must be anyof or allof";
            return errc::invalid_argument;
        }
        f.test = t == "allof" ? ical::filter_test::allof : ical::filter_test::anyof;
        for (const auto* c : pf->elements()) {
            if (c->is(carddav_ns, "is-not-defined")) f.is_not_defined = true;
            else if (c->is(carddav_ns, "text-match")) {
                // RFC 6352 10.5.4: the default collation is i;unicode-casemap.
                auto m = parse_text_match(*c, "i;unicode-casemap", true, reason);
                if (!m) return m.error();
                f.matches.push_back(std::move(*m));
            } else if (c->is(carddav_ns, "param-filter")) {
                ical::card_param_filter p;
                p.name = attribute_or(*c, "name", "");
                if (p.name.empty()) {
                    reason = "param-filter without a name";
                    return errc::invalid_argument;
                }
                for (const auto* pc : c->elements()) {
                    if (pc->is(carddav_ns, "is-not-defined")) p.is_not_defined = true;
                    else if (pc->is(carddav_ns, "text-match")) {
                        auto m = parse_text_match(*pc, "i;unicode-casemap", true, reason);
                        if (!m) return m.error();
                        p.match = std::move(*m);
                    }
                }
                f.params.push_back(std::move(p));
            }
        }
        q.filter.props.push_back(std::move(f));
    }
    if (const auto* limit = root.child(carddav_ns, "limit")) {
        const auto* n = limit->child(carddav_ns, "nresults");
        if (!n) {
            reason = "limit needs nresults";
            return errc::invalid_argument;
        }
        const auto text = n->text_content();
        std::size_t v = 0;
        if (text.empty() || text.size() > 9) {
            reason = "bad nresults";
            return errc::invalid_argument;
        }
        for (char ch : text) {
            if (ch < '0' || ch > '9') {
                reason = "bad nresults";
                return errc::invalid_argument;
            }
            v = v * 10 + static_cast<std::size_t>(ch - '0');
        }
        q.limit = v;
    }
    return q;
}

}  // namespace polder::caldav
