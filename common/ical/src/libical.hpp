// libical.hpp - internal: the libical side of polder::ical (owned trees, time zone
// resolution, time conversion). Never included by a public header.
//
// SECURITY: libical is configured once (errors never fatal, i.e. never abort()) before
// the first parse; every tree is owned by exactly one RAII holder.
// STANDARDS: RFC 5545 3.2.19 (TZID), 3.3.5 (DATE-TIME forms), 3.3.6 (exact vs nominal
// durations).
#pragma once

#include "polder/ical/calendar.hpp"
#include "polder/ical/time_range.hpp"

#include <libical/ical.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::ical {

namespace detail {

// init_libical - idempotent, thread-safe process-wide libical configuration.
void init_libical();

// tree_freed - called whenever a whole tree is freed: invalidates the per-thread time zone
// memo of zone_for_tzid (a new tree may reuse the address).
void tree_freed() noexcept;

struct component_deleter {
    void operator()(icalcomponent* c) const noexcept {
        if (c) {
            tree_freed();
            icalcomponent_free(c);
        }
    }
};
using component_ptr = std::unique_ptr<icalcomponent, component_deleter>;

// owned_string - takes a malloc'ed string from libical's *_r functions.
std::string owned_string(char* s);

// serialize - libical's text for a component or property, repaired: libical 3.0 folds a
// line whose last segment (with its CRLF) is 75 octets long between the CR and the LF
// ("...\r\r\n \n"), which leaves a bare CR; the misplaced fold is removed again.
std::string serialize(icalcomponent* c);
std::string serialize(icalproperty* p);

// parse_tree - libical parse of bounded text; nullptr when libical returned nothing.
component_ptr parse_tree(std::string_view text);

// first_error - text of the first X-LIC-ERROR in the tree (libical's parse problems);
// tolerated ones (empty property values) are removed and reported in *warnings.
std::optional<std::string> first_error(icalcomponent* c, std::vector<std::string>* warnings = nullptr);

// text_problem - why raw iCalendar/vCard text is not acceptable before any parsing: a NUL
// or other control octet (only HTAB and CRLF line ends are allowed, RFC 5545 3.1 /
// RFC 6350 3.3), a bare CR, or invalid UTF-8 (RFC 5545 3.1.4, RFC 6350 3.1); nullopt if fine.
std::optional<std::string> text_problem(std::string_view s);

// upper - ASCII upper case.
std::string upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

// sanitize - a short printable excerpt for reasons and logs.
std::string sanitize(std::string_view s, std::size_t max = 120);

// A time value as written in the object, with its zone resolved.
struct ptime {
    icaltimetype t{};          // t.zone: UTC zone, the TZID's zone, or nullptr (floating/DATE)
    bool floating() const { return t.zone == nullptr; }  // includes DATE values
    bool is_date() const { return t.is_date != 0; }
};

// zone_for_tzid - the object's VTIMEZONE with that TZID, else a system zone of that name.
// Zones from VTIMEZONEs are shared process-wide by their exact text (see shared_zone in
// libical.cpp): expanding a VTIMEZONE's rules costs about a millisecond, and every event
// from the same client carries the same VTIMEZONE.
icaltimezone* zone_for_tzid(icalcomponent* vcalendar, const char* tzid);

// get_time - DTSTART/DTEND/DUE/RECURRENCE-ID/EXDATE/... value of a property (the first
// value for multi-valued ones), with TZID resolved against the VCALENDAR.
std::optional<ptime> get_time(icalproperty* p, icalcomponent* vcalendar);
// resolve_time - a value read from property p (its TZID resolved).
std::optional<ptime> resolve_time(icaltimetype t, icalproperty* p, icalcomponent* vcalendar);
std::optional<ptime> first_time(icalcomponent* comp, icalproperty_kind k, icalcomponent* vcalendar);

// to_utc - floating and DATE values are read in `floating` (nullptr = UTC).
utc_time to_utc(const ptime& p, icaltimezone* floating);
utc_time to_utc(icaltimetype t, icaltimezone* floating);

// add_duration - RFC 5545 3.3.6: weeks/days are nominal (wall clock), the rest exact.
utc_time add_duration(const ptime& start, icaldurationtype d, icaltimezone* floating);

// parameter_text - a parameter's value as text (enumerated ones by name), unquoted.
std::string parameter_text(icalparameter* q);

// add_wall_seconds - move a wall-clock reading by s seconds (DATE values by whole days),
// clamped to +-10000 years so libical's month-by-month normalisation stays bounded.
icaltimetype add_wall_seconds(icaltimetype t, long long s);

// property_text - the text value of the first property of that kind, "" when absent.
std::string property_text(icalcomponent* c, icalproperty_kind k);

// rule_is_tractable - false for RRULEs on which one libical iterator step could spin for
// a very long time: SECONDLY/MINUTELY rules filtered by day-or-larger parts (gaps of up to
// a year of seconds/minutes, or forever when the parts never match), HOURLY rules with
// BYYEARDAY/BYWEEKNO, and HOURLY/DAILY rules whose BYMONTH and BYMONTHDAY never meet
// (libical would walk to the year 2582 looking for them). Real clients do not write these.
bool rule_is_tractable(const icalrecurrencetype& r);

// vtimezone_tractable - false for a VTIMEZONE whose expansion libical could spend
// seconds on: more than 500 observances or RDATEs, more than 12 observances with an RRULE,
// or an observance with two RRULEs (real ones have 2 rules or a few hundred dated ones).
bool vtimezone_tractable(icalcomponent* vtz);

component_kind kind_of(icalcomponent_kind k);
icalcomponent_kind ical_kind(component_kind k);

// The VCALENDAR's calendar components of the object's kind, in document order.
std::vector<icalcomponent*> main_components(icalcomponent* vcalendar, component_kind kind);

}  // namespace detail

struct calendar_object::impl {
    detail::component_ptr root;            // VCALENDAR
    component_kind kind = component_kind::none;
    std::string uid;
    std::vector<icalcomponent*> comps;     // main components (master and overrides)
};

namespace detail {
// refresh - recompute kind, uid and comps after the tree was changed in place.
void refresh(calendar_object::impl& im);
}  // namespace detail

struct time_zone::impl {
    icaltimezone* tz = nullptr;
    bool owned = false;
    ~impl() {
        if (owned && tz) icaltimezone_free(tz, 1);
    }
};

}  // namespace polder::ical
