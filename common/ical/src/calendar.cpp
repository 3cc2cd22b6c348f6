// calendar.cpp - parsing, CalDAV validation (RFC 4791 4.1, 5.3.2.1) and indexing.
//
// SECURITY: size is checked before parsing, NUL bytes are refused (libical reads C
// strings), libical's X-LIC-ERROR markers make the object invalid, and component,
// property and attendee counts are bounded. Reasons quote at most a short sanitised
// excerpt of the input.
// STANDARDS: RFC 5545 3.4 (VERSION), 3.6.1-3.6.5 (component rules: DTSTART, DTEND vs
// DURATION, DUE vs DURATION, value types), 3.8.4.4 (RECURRENCE-ID), 3.2.19 (TZID needs a
// VTIMEZONE), 3.6.6 (VALARM needs ACTION and TRIGGER); RFC 4791 4.1, 5.2.3, 5.2.5-5.2.9,
// 5.3.2.1.
#include "libical.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace polder::ical {

using namespace detail;

std::string_view name(component_kind k) noexcept {
    switch (k) {
    case component_kind::vevent: return "VEVENT";
    case component_kind::vtodo: return "VTODO";
    case component_kind::vjournal: return "VJOURNAL";
    case component_kind::vfreebusy: return "VFREEBUSY";
    case component_kind::none: break;
    }
    return "";
}

component_kind kind_from_name(std::string_view n) noexcept {
    for (auto k : {component_kind::vevent, component_kind::vtodo, component_kind::vjournal, component_kind::vfreebusy})
        if (iequals(n, name(k))) return k;
    return component_kind::none;
}

std::string_view precondition_name(precondition p) noexcept {
    switch (p) {
    case precondition::none: return "";
    case precondition::supported_calendar_data: return "supported-calendar-data";
    case precondition::valid_calendar_data: return "valid-calendar-data";
    case precondition::valid_calendar_object_resource: return "valid-calendar-object-resource";
    case precondition::supported_calendar_component: return "supported-calendar-component";
    case precondition::max_resource_size: return "max-resource-size";
    case precondition::min_date_time: return "min-date-time";
    case precondition::max_date_time: return "max-date-time";
    case precondition::max_instances: return "max-instances";
    case precondition::max_attendees_per_instance: return "max-attendees-per-instance";
    }
    return "";
}

// --- calendar_object ---

namespace {
constexpr std::size_t max_vtimezones = 20;  // per object: real ones carry 1 to 3
}  // namespace

calendar_object::calendar_object(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
calendar_object::calendar_object(calendar_object&&) noexcept = default;
calendar_object& calendar_object::operator=(calendar_object&&) noexcept = default;
calendar_object::~calendar_object() = default;

std::string calendar_object::to_string() const { return serialize(impl_->root.get()); }
component_kind calendar_object::kind() const { return impl_->kind; }
const std::string& calendar_object::uid() const { return impl_->uid; }

void detail::refresh(calendar_object::impl& im) {
    auto* p = &im;
    icalcomponent* vcal = im.root.get();
    p->kind = component_kind::none;
    for (icalcomponent* c = icalcomponent_get_first_component(vcal, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(vcal, ICAL_ANY_COMPONENT)) {
        const auto k = kind_of(icalcomponent_isa(c));
        if (k != component_kind::none) {
            p->kind = k;
            break;
        }
    }
    p->comps = main_components(vcal, p->kind);
    if (!p->comps.empty()) {
        const char* uid = icalcomponent_get_uid(p->comps.front());
        p->uid = uid ? uid : "";
    }
}

namespace {

std::unique_ptr<calendar_object::impl> make_impl(component_ptr root) {
    auto p = std::make_unique<calendar_object::impl>();
    p->root = std::move(root);
    refresh(*p);
    return p;
}

struct counts {
    std::size_t components = 0, properties = 0;
};

void count(icalcomponent* c, counts& n) {
    ++n.components;
    n.properties += static_cast<std::size_t>(icalcomponent_count_properties(c, ICAL_ANY_PROPERTY));
    for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        count(k, n);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool begins_with_ci(std::string_view text, std::string_view prefix) {
    std::size_t i = 0;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 BOM, sent by some Windows tools
    while (i < text.size() && (text[i] == '\r' || text[i] == '\n' || text[i] == ' ' || text[i] == '\t')) ++i;
    return iequals(text.substr(i, prefix.size()), prefix);
}

}  // namespace

result<calendar_object> calendar_object::parse(std::string_view text, const limits& lim) {
    if (text.size() > lim.max_size) return make_error_code(errc::limit_exceeded);
    if (text_problem(text)) return make_error_code(errc::invalid_argument);
    if (!begins_with_ci(text, "BEGIN:VCALENDAR")) return make_error_code(errc::invalid_argument);
    auto root = parse_tree(text);
    if (!root || icalcomponent_isa(root.get()) != ICAL_VCALENDAR_COMPONENT || first_error(root.get()))
        return make_error_code(errc::invalid_argument);
    counts n;
    count(root.get(), n);
    if (n.components > lim.max_components || n.properties > lim.max_properties)
        return make_error_code(errc::limit_exceeded);
    // iTIP messages from outside arrive here unvalidated: the same VTIMEZONE bounds apply.
    std::size_t zones = 0;
    for (icalcomponent* z = icalcomponent_get_first_component(root.get(), ICAL_VTIMEZONE_COMPONENT); z;
         z = icalcomponent_get_next_component(root.get(), ICAL_VTIMEZONE_COMPONENT))
        if (++zones > max_vtimezones || !vtimezone_tractable(z)) return make_error_code(errc::limit_exceeded);
    return calendar_object(make_impl(std::move(root)));
}

calendar_object calendar_object::clone() const {
    return calendar_object(make_impl(component_ptr(icalcomponent_new_clone(impl_->root.get()))));
}

// --- validation ---

namespace {

struct failure {
    precondition p;
    std::string reason;
};


// check_times - RFC 5545 3.6.1/3.6.2/3.6.3 rules for one main component.
std::optional<failure> check_times(icalcomponent* c, component_kind kind, icalcomponent* vcal) {
    auto bad = [](std::string r) { return failure{precondition::valid_calendar_data, std::move(r)}; };
    const auto dtstart = first_time(c, ICAL_DTSTART_PROPERTY, vcal);
    icalproperty* dtend_p = icalcomponent_get_first_property(c, ICAL_DTEND_PROPERTY);
    icalproperty* due_p = icalcomponent_get_first_property(c, ICAL_DUE_PROPERTY);
    icalproperty* dur_p = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY);
    if (icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY) && !dtstart)
        return bad(std::string(name(kind)) + " has an unreadable DTSTART");
    for (auto k : {ICAL_DTSTART_PROPERTY, ICAL_DTEND_PROPERTY, ICAL_DUE_PROPERTY, ICAL_DURATION_PROPERTY,
                   ICAL_RECURRENCEID_PROPERTY, ICAL_UID_PROPERTY, ICAL_SEQUENCE_PROPERTY})
        if (icalcomponent_count_properties(c, k) > 1)
            return bad(std::string(name(kind)) + " has more than one " + icalproperty_kind_to_string(k));
    switch (kind) {
    case component_kind::vevent: {
        // RFC 5545 3.6.1: DTSTART is REQUIRED when the VCALENDAR has no METHOD (always
        // true for a CalDAV resource).
        if (!dtstart) return bad("VEVENT without DTSTART");
        if (dtend_p && dur_p) return bad("VEVENT has both DTEND and DURATION");
        if (dtend_p) {
            auto e = get_time(dtend_p, vcal);
            if (!e) return bad("VEVENT has an unreadable DTEND");
            if (e->is_date() != dtstart->is_date()) return bad("DTEND and DTSTART differ in value type");
            if (e->floating() == dtstart->floating() && to_utc(*e, nullptr) < to_utc(*dtstart, nullptr))
                return bad("DTEND is before DTSTART");
        }
        if (dur_p) {
            const auto d = icalproperty_get_duration(dur_p);
            if (d.is_neg) return bad("VEVENT has a negative DURATION");
            if (dtstart->is_date() && (d.hours || d.minutes || d.seconds))
                return bad("an all-day VEVENT's DURATION must be in days or weeks");
        }
        break;
    }
    case component_kind::vtodo: {
        if (due_p && dur_p) return bad("VTODO has both DUE and DURATION");
        if (dur_p && !dtstart) return bad("VTODO has DURATION without DTSTART");
        if (due_p) {
            auto e = get_time(due_p, vcal);
            if (!e) return bad("VTODO has an unreadable DUE");
            if (dtstart) {
                if (e->is_date() != dtstart->is_date()) return bad("DUE and DTSTART differ in value type");
                if (e->floating() == dtstart->floating() && to_utc(*e, nullptr) < to_utc(*dtstart, nullptr))
                    return bad("DUE is before DTSTART");
            }
        }
        if (dur_p && icalproperty_get_duration(dur_p).is_neg) return bad("VTODO has a negative DURATION");
        if (icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY) && !dtstart)
            return bad("VTODO has RRULE without DTSTART");
        break;
    }
    case component_kind::vjournal:
        if (dtend_p || dur_p || due_p) return bad("VJOURNAL cannot have DTEND, DUE or DURATION");
        if (icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY) && !dtstart)
            return bad("VJOURNAL has RRULE without DTSTART");
        break;
    case component_kind::vfreebusy:
        if (dur_p || icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY))
            return bad("VFREEBUSY cannot have DURATION or RRULE");
        break;
    case component_kind::none: break;
    }
    // RRULE with an iterator libical cannot build (e.g. BYxxx values out of range).
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_RRULE_PROPERTY)) {
        const auto rule = icalproperty_get_rrule(p);
        if (rule.freq == ICAL_NO_RECURRENCE) return bad("RRULE without a valid FREQ");
        if (!dtstart) return bad("RRULE without DTSTART");
        if (!rule_is_tractable(rule)) return bad("RRULE is not supported (its BY parts never or only rarely match at this frequency)");
        icalrecur_iterator* it = icalrecur_iterator_new(rule, dtstart->t);
        if (!it) return bad("RRULE cannot be evaluated");
        icalrecur_iterator_free(it);
        if (!icaltime_is_null_time(rule.until) && rule.until.is_date != dtstart->is_date() && dtstart->is_date())
            return bad("RRULE UNTIL must be a DATE when DTSTART is a DATE");
    }
    // VALARM: ACTION and TRIGGER are REQUIRED (RFC 5545 3.6.6).
    for (icalcomponent* a = icalcomponent_get_first_component(c, ICAL_VALARM_COMPONENT); a;
         a = icalcomponent_get_next_component(c, ICAL_VALARM_COMPONENT)) {
        if (!icalcomponent_get_first_property(a, ICAL_ACTION_PROPERTY) ||
            !icalcomponent_get_first_property(a, ICAL_TRIGGER_PROPERTY))
            return bad("VALARM without ACTION or TRIGGER");
    }
    return std::nullopt;
}

// check_tzids - every TZID parameter names a VTIMEZONE of the object (RFC 5545 3.2.19) or,
// tolerated with a warning, a zone of the system database (clients such as some CalDAV
// sync tools omit VTIMEZONE for IANA names).
std::optional<failure> check_tzids(icalcomponent* c, const std::set<std::string>& vtimezones,
                                   std::vector<std::string>& warnings) {
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        icalparameter* tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        if (!tp) continue;
        const char* tzid = icalparameter_get_tzid(tp);
        if (!tzid || !*tzid) return failure{precondition::valid_calendar_data, "empty TZID"};
        if (vtimezones.contains(tzid)) continue;
        if (zone_for_tzid(nullptr, tzid)) {
            std::string w = std::string("TZID ") + sanitize(tzid, 60) + " has no VTIMEZONE; the system zone is used";
            if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(std::move(w));
            continue;
        }
        return failure{precondition::valid_calendar_data, std::string("TZID ") + sanitize(tzid, 60) + " has no VTIMEZONE"};
    }
    for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        if (auto f = check_tzids(k, vtimezones, warnings)) return f;
    return std::nullopt;
}

bool sane_time(const icaltimetype& t) {
    if (icaltime_is_null_time(t)) return false;
    if (t.year < 1 || t.year > 3000 || t.month < 1 || t.month > 12 || t.day < 1 ||
        t.day > icaltime_days_in_month(t.month, t.year))
        return false;
    return t.is_date || (t.hour >= 0 && t.hour < 24 && t.minute >= 0 && t.minute < 60 && t.second >= 0 && t.second <= 60);
}

// check_values - every DATE, DATE-TIME and PERIOD value is a real calendar time, and a DATE
// only appears where VALUE=DATE says so (libical reads "DTSTAMP:2080000Z" as a DATE with
// month 0 and would later refuse its own output).
std::optional<failure> check_values(icalcomponent* c) {
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        icalvalue* v = icalproperty_get_value(p);
        if (!v) continue;
        const char* pname = icalproperty_get_property_name(p);
        const std::string where = pname ? pname : "a property";
        bool ok = true;
        switch (icalvalue_isa(v)) {
        case ICAL_DATE_VALUE: {
            icalparameter* vp = icalproperty_get_first_parameter(p, ICAL_VALUE_PARAMETER);
            const bool declared = vp && icalparameter_get_value(vp) == ICAL_VALUE_DATE;
            ok = sane_time(icalvalue_get_date(v)) &&
                 (declared || icalproperty_kind_to_value_kind(icalproperty_isa(p)) == ICAL_DATE_VALUE);
            break;
        }
        case ICAL_DATETIME_VALUE: ok = sane_time(icalvalue_get_datetime(v)); break;
        case ICAL_TEXT_VALUE: {
            // libical also unescapes \b, \f, \r ... into control characters, which RFC 5545
            // 3.3.11 does not define: CRs (from "\r\n" writers) are dropped, others refused.
            const char* t = icalvalue_get_text(v);
            const std::string_view text = t ? t : "";
            if (text.find('\r') != std::string_view::npos) {
                std::string clean;
                for (char ch : text)
                    if (ch != '\r') clean += ch;
                icalvalue_set_text(v, clean.c_str());
            }
            const char* u = icalvalue_get_text(v);
            for (const char* q = u; q && *q; ++q) {
                const auto ch = static_cast<unsigned char>(*q);
                if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
                    return failure{precondition::valid_calendar_data, where + " has a control character"};
            }
            break;
        }
        case ICAL_PERIOD_VALUE: {
            const auto per = icalvalue_get_period(v);
            ok = sane_time(per.start) && (icaltime_is_null_time(per.end) || sane_time(per.end));
            break;
        }
        case ICAL_DATETIMEPERIOD_VALUE: {
            const auto dp = icalvalue_get_datetimeperiod(v);
            ok = icaltime_is_null_time(dp.time) ? sane_time(dp.period.start) : sane_time(dp.time);
            break;
        }
        default: break;
        }
        if (!ok) return failure{precondition::valid_calendar_data, where + " has an invalid date or time"};
    }
    for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        if (auto f = check_values(k)) return f;
    return std::nullopt;
}

}  // namespace

validation validate(std::string_view text, const validate_options& opt) {
    validation v;
    auto fail = [&](precondition p, std::string reason) {
        v.failed = p;
        v.reason = std::move(reason);
        v.object.reset();
        return std::move(v);
    };
    const limits& lim = opt.lim;
    if (text.size() > lim.max_size)
        return fail(precondition::max_resource_size,
                    "object of " + std::to_string(text.size()) + " octets exceeds " + std::to_string(lim.max_size));
    if (auto problem = text_problem(text)) return fail(precondition::valid_calendar_data, *problem);
    if (begins_with_ci(text, "BEGIN:VCARD")) return fail(precondition::supported_calendar_data, "vCard data is not iCalendar");
    if (!begins_with_ci(text, "BEGIN:VCALENDAR"))
        return fail(precondition::valid_calendar_data, "calendar data does not start with BEGIN:VCALENDAR");

    auto root = parse_tree(text);
    if (!root) return fail(precondition::valid_calendar_data, "not iCalendar data");
    const auto root_kind = icalcomponent_isa(root.get());
    if (root_kind == ICAL_XROOT_COMPONENT) {
        std::size_t n = 0;
        for (icalcomponent* c = icalcomponent_get_first_component(root.get(), ICAL_ANY_COMPONENT); c;
             c = icalcomponent_get_next_component(root.get(), ICAL_ANY_COMPONENT))
            ++n;
        if (n > 1) return fail(precondition::valid_calendar_object_resource, "more than one VCALENDAR");
        return fail(precondition::valid_calendar_data, "not a VCALENDAR");
    }
    if (root_kind != ICAL_VCALENDAR_COMPONENT) return fail(precondition::valid_calendar_data, "not a VCALENDAR");
    if (auto e = first_error(root.get(), &v.warnings)) return fail(precondition::valid_calendar_data, "iCalendar error: " + sanitize(*e));
    counts n;
    count(root.get(), n);
    if (n.components > lim.max_components)
        return fail(precondition::max_resource_size, "more than " + std::to_string(lim.max_components) + " components");
    if (n.properties > lim.max_properties)
        return fail(precondition::max_resource_size, "more than " + std::to_string(lim.max_properties) + " properties");

    icalcomponent* vcal = root.get();
    if (auto f = check_values(vcal)) return fail(f->p, std::move(f->reason));
    const std::string version = property_text(vcal, ICAL_VERSION_PROPERTY);
    if (version != "2.0") return fail(precondition::valid_calendar_data, "VERSION must be 2.0");
    if (!icalcomponent_get_first_property(vcal, ICAL_PRODID_PROPERTY)) v.warnings.push_back("PRODID is missing");
    if (icalcomponent_get_first_property(vcal, ICAL_METHOD_PROPERTY))
        return fail(precondition::valid_calendar_object_resource, "METHOD is not allowed in a calendar object resource");

    // Component types: one calendar component type, plus VTIMEZONEs (RFC 4791 4.1).
    component_kind kind = component_kind::none;
    std::set<std::string> tzids;
    for (icalcomponent* c = icalcomponent_get_first_component(vcal, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(vcal, ICAL_ANY_COMPONENT)) {
        const auto ik = icalcomponent_isa(c);
        if (ik == ICAL_VTIMEZONE_COMPONENT) {
            const std::string tzid = property_text(c, ICAL_TZID_PROPERTY);
            if (tzid.empty()) return fail(precondition::valid_calendar_data, "VTIMEZONE without TZID");
            if (!tzids.insert(tzid).second)
                return fail(precondition::valid_calendar_data, "two VTIMEZONEs with TZID " + sanitize(tzid, 60));
            if (!icalcomponent_get_first_component(c, ICAL_XSTANDARD_COMPONENT) &&
                !icalcomponent_get_first_component(c, ICAL_XDAYLIGHT_COMPONENT))
                return fail(precondition::valid_calendar_data, "VTIMEZONE without STANDARD or DAYLIGHT");
            // libical expands every observance rule year by year from its DTSTART on first
            // use: bound the work a VTIMEZONE can ask for (real ones have 2 rules, and
            // historical ones a few hundred dated observances).
            if (tzids.size() > max_vtimezones)
                return fail(precondition::valid_calendar_data, "more than " + std::to_string(max_vtimezones) + " VTIMEZONEs");
            if (!vtimezone_tractable(c))
                return fail(precondition::valid_calendar_data, "VTIMEZONE " + sanitize(tzid, 60) + " is too complex");
            continue;
        }
        if (ik == ICAL_X_COMPONENT) continue;  // x-comp: kept, ignored (RFC 5545 3.6)
        const auto k = kind_of(ik);
        if (k == component_kind::none) {
            const char* nm = icalcomponent_kind_to_string(ik);
            return fail(precondition::supported_calendar_component,
                        std::string("component ") + (nm ? nm : "?") + " is not supported");
        }
        if (kind != component_kind::none && k != kind)
            return fail(precondition::valid_calendar_object_resource,
                        "more than one component type (" + std::string(name(kind)) + ", " + std::string(name(k)) + ")");
        kind = k;
    }
    v.kind = kind;
    if (kind == component_kind::none)
        return fail(precondition::valid_calendar_object_resource, "no VEVENT, VTODO, VJOURNAL or VFREEBUSY");
    if (!opt.supported.contains(kind))
        return fail(precondition::supported_calendar_component,
                    std::string(name(kind)) + " is not supported in this collection");

    const auto comps = main_components(vcal, kind);
    std::optional<std::string> uid;
    icalcomponent* master = nullptr;
    std::set<utc_time> rids;
    for (icalcomponent* c : comps) {
        const char* u = icalcomponent_get_uid(c);
        if (!u || !*u) return fail(precondition::valid_calendar_data, std::string(name(kind)) + " without UID");
        // libical trims white space at the end of a value when it parses, so a UID ending
        // in white space (for instance from an unknown escape such as "\e", which it reads
        // as a space) would not be the same UID once the object is stored and read back:
        // the no-uid-conflict check and scheduling match UIDs exactly.
        if (const std::string_view us(u); is_space(us.front()) || is_space(us.back()))
            return fail(precondition::valid_calendar_data, "UID begins or ends with white space");
        if (!uid) {
            uid = u;
            v.uid = u;
        } else if (*uid != u) {
            return fail(precondition::valid_calendar_object_resource, "components with different UIDs");
        }
        if (auto f = check_times(c, kind, vcal)) return fail(f->p, std::move(f->reason));
        if (static_cast<std::size_t>(icalcomponent_count_properties(c, ICAL_ATTENDEE_PROPERTY)) > lim.max_attendees)
            return fail(precondition::max_attendees_per_instance,
                        "more than " + std::to_string(lim.max_attendees) + " attendees");
        icalproperty* rid_p = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY);
        if (!rid_p) {
            if (master) return fail(precondition::valid_calendar_object_resource, "two components without RECURRENCE-ID");
            master = c;
            continue;
        }
        auto rid = get_time(rid_p, vcal);
        if (!rid) return fail(precondition::valid_calendar_data, "unreadable RECURRENCE-ID");
        if (!rids.insert(to_utc(*rid, nullptr)).second)
            return fail(precondition::valid_calendar_object_resource, "two components with the same RECURRENCE-ID");
    }
    if (master) {
        const auto ms = first_time(master, ICAL_DTSTART_PROPERTY, vcal);
        for (icalcomponent* c : comps) {
            if (c == master) continue;
            auto rid = first_time(c, ICAL_RECURRENCEID_PROPERTY, vcal);
            if (ms && rid && ms->is_date() != rid->is_date())
                return fail(precondition::valid_calendar_data, "RECURRENCE-ID and the master's DTSTART differ in value type");
        }
    }
    if (auto f = check_tzids(vcal, tzids, v.warnings)) return fail(f->p, std::move(f->reason));

    calendar_object obj(make_impl(std::move(root)));
    v.index = index(obj, lim);
    if (v.index.first_start && lim.min_date_time && *v.index.first_start < *lim.min_date_time)
        return fail(precondition::min_date_time, "an instance starts before the server's minimum date-time");
    if (lim.max_date_time && !v.index.unbounded && v.index.last_end && *v.index.last_end > *lim.max_date_time)
        return fail(precondition::max_date_time, "an instance ends after the server's maximum date-time");
    if (v.index.recurring && v.index.unbounded) {
        // An unbounded rule is fine; a bounded one with more instances than the limit is not.
        bool any_unbounded_rule = false;
        for (icalcomponent* c : obj.get().comps)
            for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY); p;
                 p = icalcomponent_get_next_property(c, ICAL_RRULE_PROPERTY)) {
                const auto r = icalproperty_get_rrule(p);
                if (r.count == 0 && icaltime_is_null_time(r.until)) any_unbounded_rule = true;
            }
        if (!any_unbounded_rule)
            return fail(precondition::max_instances, "more than " + std::to_string(lim.max_instances) + " instances");
    }
    v.object.emplace(std::move(obj));
    return v;
}

// --- index ---

calendar_index index(const calendar_object& obj, const limits& lim) {
    calendar_index ix;
    auto& im = obj.get();
    ix.uid = im.uid;
    ix.kind = im.kind;
    icalcomponent* vcal = im.root.get();
    icalcomponent* master = nullptr;
    for (icalcomponent* c : im.comps) {
        if (icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY))
            ++ix.override_count;
        else if (!master)
            master = c;
    }
    icalcomponent* c = master ? master : (im.comps.empty() ? nullptr : im.comps.front());
    if (!c) return ix;
    ix.summary = property_text(c, ICAL_SUMMARY_PROPERTY);
    const auto ds = first_time(c, ICAL_DTSTART_PROPERTY, vcal);
    if (ds) {
        ix.dtstart = to_utc(*ds, nullptr);
        ix.all_day = ds->is_date();
        ix.floating = ds->floating();
    }
    // The master's own end, by the RFC 4791 9.9 rules (an instance = the master alone).
    {
        limits first = lim;
        first.max_instances = 1 + ix.override_count;
        first.max_recurrence_steps = 2;
        auto single = expand(obj, time_range{}, nullptr, first);
        for (const auto& in : single.instances)
            if (in.component < im.comps.size() && im.comps[in.component] == c) {
                ix.dtend = in.end;
                if (!ix.dtstart) ix.dtstart = in.start;
                break;
            }
    }
    ix.recurring = ix.override_count > 0;
    for (icalcomponent* k : im.comps)
        if (icalcomponent_get_first_property(k, ICAL_RRULE_PROPERTY) ||
            icalcomponent_get_first_property(k, ICAL_RDATE_PROPERTY))
            ix.recurring = true;

    bool unbounded_rule = false;
    std::size_t rdates = 0;
    for (icalcomponent* k : im.comps) {
        rdates += static_cast<std::size_t>(icalcomponent_count_properties(k, ICAL_RDATE_PROPERTY));
        for (icalproperty* p = icalcomponent_get_first_property(k, ICAL_RRULE_PROPERTY); p;
             p = icalcomponent_get_next_property(k, ICAL_RRULE_PROPERTY)) {
            const auto r = icalproperty_get_rrule(p);
            if (r.count == 0 && icaltime_is_null_time(r.until)) unbounded_rule = true;
        }
    }
    // An unbounded series has no last instance: only its first start is needed, and that is
    // among the overrides, the RDATEs and the first two kept master instances (DTSTART
    // precedes every RRULE instance), so the walk stops there.
    limits walk = lim;
    if (unbounded_rule) walk.max_instances = std::min(lim.max_instances, ix.override_count + rdates + 2);
    const auto all = expand(obj, time_range{}, nullptr, walk);
    for (const auto& in : all.instances) {
        if (in.start) ix.first_start = ix.first_start ? std::min(*ix.first_start, *in.start) : *in.start;
        if (in.end) ix.last_end = ix.last_end ? std::max(*ix.last_end, *in.end) : *in.end;
    }
    ix.unbounded = unbounded_rule || all.truncated;
    if (unbounded_rule) ix.last_end.reset();

    if (icalproperty* o = icalcomponent_get_first_property(c, ICAL_ORGANIZER_PROPERTY)) {
        const char* s = icalproperty_get_organizer(o);
        ix.organizer = s ? s : "";
    }
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ATTENDEE_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ATTENDEE_PROPERTY)) {
        if (ix.attendees.size() >= lim.max_attendees) break;
        attendee a;
        const char* s = icalproperty_get_attendee(p);
        a.address = s ? s : "";
        auto param = [&](icalparameter_kind k) -> std::string {
            icalparameter* q = icalproperty_get_first_parameter(p, k);
            if (!q) return {};
            return parameter_text(q);
        };
        a.cn = param(ICAL_CN_PARAMETER);
        a.partstat = upper(param(ICAL_PARTSTAT_PARAMETER));
        if (a.partstat.empty()) a.partstat = "NEEDS-ACTION";
        a.role = upper(param(ICAL_ROLE_PARAMETER));
        if (a.role.empty()) a.role = "REQ-PARTICIPANT";
        a.cutype = upper(param(ICAL_CUTYPE_PARAMETER));
        if (a.cutype.empty()) a.cutype = "INDIVIDUAL";
        a.rsvp = upper(param(ICAL_RSVP_PARAMETER)) == "TRUE";
        a.schedule_agent = upper(param(ICAL_SCHEDULEAGENT_PARAMETER));
        ix.attendees.push_back(std::move(a));
    }
    if (icalcomponent_get_first_property(c, ICAL_SEQUENCE_PROPERTY)) ix.sequence = icalcomponent_get_sequence(c);
    ix.transparency = upper(property_text(c, ICAL_TRANSP_PROPERTY));
    if (ix.transparency.empty()) ix.transparency = "OPAQUE";
    ix.status = upper(property_text(c, ICAL_STATUS_PROPERTY));
    return ix;
}

}  // namespace polder::ical
