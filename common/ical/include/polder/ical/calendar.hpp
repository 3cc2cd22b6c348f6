// polder/ical/calendar.hpp - one CalDAV calendar object resource: validation for PUT, the
// values the store indexes, and the parsed object every other ical function works on.
//
// SECURITY: the text is untrusted. Its size, control characters (only HTAB and CRLF) and
// UTF-8 validity are checked before libical sees it; libical's own parse errors
// (X-LIC-ERROR) are reported as valid-calendar-data, never ignored (an empty property value
// is the one tolerated, with a warning); every DATE/DATE-TIME value is checked to be a real
// date; every count (components, properties, attendees, recurrence instances, VTIMEZONEs
// and their observance rules, whose expansion libical does year by year) is bounded; RRULEs
// on which one libical iterator step could spin for long are refused.
// A failure names the RFC 4791 precondition the DAV layer puts in its DAV:error body,
// with a human-readable reason (for logs and the response body; it never echoes more
// than a short, sanitised excerpt of the input).
// STANDARDS: RFC 5545 (iCalendar), RFC 4791 4.1 (calendar object resources: one
// VCALENDAR, no METHOD, one component type, one UID, VTIMEZONE per TZID) and 5.3.2.1
// (PUT preconditions), RFC 7986 (new properties pass through untouched).
//
// A calendar_object owns a libical tree. Its const functions may fill libical's internal
// time zone caches, so one object must not be used by two threads at the same time;
// distinct objects are independent.
#pragma once

#include "polder/core/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace polder::ical {

// Seconds since 1970-01-01T00:00:00Z. The wire form used in tests and logs is RFC 5545
// UTC DATE-TIME ("20260105T090000Z"), see to_utc_text / from_utc_text in time_range.hpp.
using utc_time = std::int64_t;

enum class component_kind { none, vevent, vtodo, vjournal, vfreebusy };

// name - "VEVENT", "VTODO", ... ("" for none).
std::string_view name(component_kind k) noexcept;
// kind_from_name - case-insensitive; none for anything else.
component_kind kind_from_name(std::string_view n) noexcept;

// The RFC 4791 / RFC 6638 precondition a rejected PUT failed; the DAV layer writes it as
// <C:valid-calendar-data/> etc. with status 403 (413 is not used: RFC 4791 asks for 403 +
// max-resource-size).
enum class precondition {
    none,                            // valid
    supported_calendar_data,         // not text/calendar 2.0 at all (e.g. a vCard)
    valid_calendar_data,             // not valid iCalendar (syntax, RFC 5545 rules)
    valid_calendar_object_resource,  // valid iCalendar but not a CalDAV object (METHOD, two UIDs ...)
    supported_calendar_component,    // component type not allowed in this collection
    max_resource_size,               // larger than the collection's limit
    min_date_time,                   // an instance starts before the server's minimum
    max_date_time,                   // an instance ends after the server's maximum
    max_instances,                   // more instances than the server's limit
    max_attendees_per_instance,      // more attendees than the server's limit
};

// precondition_name - the DAV:error child element name ("valid-calendar-data"); "" for none.
std::string_view precondition_name(precondition p) noexcept;

struct limits {
    std::size_t max_size = 1024 * 1024;          // octets; RFC 4791 max-resource-size
    std::size_t max_components = 2000;           // every component incl. VALARM and VTIMEZONE
    std::size_t max_properties = 20000;          // in the whole object
    std::size_t max_attendees = 1000;            // per component (max-attendees-per-instance)
    std::size_t max_instances = 5000;            // recurrence instances computed for indexing/expansion
    std::size_t max_recurrence_steps = 100000;   // iterator steps before giving up (rules that rarely match)
    std::optional<utc_time> min_date_time;       // optional server bounds (RFC 4791 5.2.6/5.2.7)
    std::optional<utc_time> max_date_time;
};

struct attendee {
    std::string address;    // calendar user address as sent (usually mailto:)
    std::string cn;
    std::string partstat;   // upper case; "NEEDS-ACTION" when absent (RFC 5545 default)
    std::string role;       // upper case; "REQ-PARTICIPANT" when absent
    std::string cutype;     // upper case; "INDIVIDUAL" when absent
    bool rsvp = false;
    std::string schedule_agent;  // RFC 6638 SCHEDULE-AGENT, upper case, "" when absent
    friend bool operator==(const attendee&, const attendee&) = default;
};

// What the store indexes for one object (from the master component, or from the first
// override when there is no master).
struct calendar_index {
    std::string uid;
    component_kind kind = component_kind::none;
    std::string summary;
    // DTSTART / end of the master (DTEND, DUE, DTSTART+DURATION or the RFC 4791 9.9
    // default). Floating and DATE values are converted as if they were UTC; `floating` is
    // then true and a query must widen its range by the largest UTC offsets (-12h/+14h)
    // before comparing, and re-check with overlaps() and the collection's time zone.
    std::optional<utc_time> dtstart;
    std::optional<utc_time> dtend;
    bool all_day = false;    // DTSTART is a DATE
    bool floating = false;   // DTSTART is a DATE or a DATE-TIME without TZID/Z
    bool recurring = false;  // RRULE or RDATE or overrides
    // Bounds of the whole recurrence set: start of the first instance and end of the last.
    // unbounded = true when an RRULE has neither COUNT nor UNTIL (or more instances than
    // limits::max_instances): then last_end is absent or not meaningful. Absent when the object has
    // no time at all (a VTODO without DTSTART/DUE, a VJOURNAL without DTSTART).
    std::optional<utc_time> first_start;
    std::optional<utc_time> last_end;
    bool unbounded = false;
    std::string organizer;   // calendar user address, "" if none
    std::vector<attendee> attendees;
    int sequence = 0;
    std::string transparency;  // "OPAQUE" (default) or "TRANSPARENT"
    std::string status;        // upper case, "" when absent
    std::size_t override_count = 0;  // components with RECURRENCE-ID
};

class calendar_object {
public:
    struct impl;
    calendar_object(calendar_object&&) noexcept;
    calendar_object& operator=(calendar_object&&) noexcept;
    ~calendar_object();

    // parse - read a stored or received object without the CalDAV rules (used for
    // objects already validated, and for iTIP messages that carry METHOD).
    // Errors: invalid_argument (not iCalendar / libical parse errors), limit_exceeded.
    [[nodiscard]] static result<calendar_object> parse(std::string_view text, const limits& lim = {});

    // to_string - the object serialised by libical (CRLF line ends, folded at 75 octets).
    std::string to_string() const;
    component_kind kind() const;
    const std::string& uid() const;
    calendar_object clone() const;

    impl& get() const { return *impl_; }
    explicit calendar_object(std::unique_ptr<impl> p);

private:
    std::unique_ptr<impl> impl_;
};

// The outcome of validate(): either `object` and `index` are set, or `failed` names the
// precondition and `reason` says why.
struct validation {
    precondition failed = precondition::none;
    std::string reason;
    std::string uid;                             // when it could be determined
    component_kind kind = component_kind::none;  // when it could be determined
    std::optional<calendar_object> object;
    calendar_index index;
    std::vector<std::string> warnings;           // accepted deviations (e.g. missing PRODID)
    bool ok() const noexcept { return failed == precondition::none; }
};

struct validate_options {
    limits lim;
    // The collection's supported-calendar-component-set (RFC 4791 5.2.3).
    std::set<component_kind> supported = {component_kind::vevent, component_kind::vtodo,
                                          component_kind::vjournal, component_kind::vfreebusy};
};

// validate - check a PUT body against RFC 4791 4.1 / 5.3.2.1 and extract the index.
// Never throws for bad input.
validation validate(std::string_view text, const validate_options& opt = {});

// index - the values the store indexes (as validate() fills them).
calendar_index index(const calendar_object& obj, const limits& lim = {});

}  // namespace polder::ical
