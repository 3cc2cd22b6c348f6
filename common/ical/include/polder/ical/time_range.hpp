// polder/ical/time_range.hpp - time zones, CalDAV time ranges and recurrence expansion.
//
// SECURITY: expansion is always bounded: by the range, by limits::max_instances and by
// limits::max_recurrence_steps (a rule such as FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 never
// yields and must not spin). A truncated expansion says so (expansion::truncated), and
// overlaps() then answers conservatively (true), so a query never silently loses an event.
// STANDARDS: RFC 4791 9.9 (the time-range table for VEVENT, VTODO, VJOURNAL, VFREEBUSY,
// VALARM), RFC 4791 9.6.5 (expand), 5.2.2 (calendar-timezone: floating and DATE values
// are interpreted in the collection's time zone), RFC 5545 3.8.5 (RRULE/RDATE/EXDATE,
// RECURRENCE-ID with RANGE=THISANDFUTURE; DTEND/DUE give an exact duration to every
// instance, DURATION a nominal one), RFC 5545 3.3.5 (floating time).
#pragma once

#include "polder/ical/calendar.hpp"

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::ical {

// to_utc_text - "20260105T090000Z".
std::string to_utc_text(utc_time t);
// from_utc_text - parse "YYYYMMDDTHHMMSSZ" (CalDAV time-range attributes).
// Errors: invalid_argument.
[[nodiscard]] result<utc_time> from_utc_text(std::string_view s);

// A time zone to resolve floating times and DATE values (CALDAV:calendar-timezone or the
// server default). Built-in zones come from the system tz database via libical.
class time_zone {
public:
    struct impl;
    time_zone(time_zone&&) noexcept;
    time_zone& operator=(time_zone&&) noexcept;
    ~time_zone();

    static time_zone utc();
    // from_name - an IANA name ("Europe/Amsterdam"). Errors: not_found.
    [[nodiscard]] static result<time_zone> from_name(std::string_view iana);
    // from_ical - a VCALENDAR holding exactly one VTIMEZONE (the calendar-timezone
    // property value, RFC 4791 5.2.2). Errors: invalid_argument, limit_exceeded.
    [[nodiscard]] static result<time_zone> from_ical(std::string_view text);

    std::string tzid() const;
    // offset - UTC offset in seconds at the given UTC instant.
    int offset(utc_time t) const;

    impl& get() const { return *impl_; }

private:
    explicit time_zone(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

// A CalDAV time range: absent start = -infinity, absent end = +infinity (RFC 4791 9.9).
struct time_range {
    std::optional<utc_time> start;
    std::optional<utc_time> end;
    utc_time lo() const { return start.value_or(std::numeric_limits<utc_time>::min()); }
    utc_time hi() const { return end.value_or(std::numeric_limits<utc_time>::max()); }
};

// One instance of a recurrence set (or the only one of a non-recurring component).
struct instance {
    // Effective start and end in UTC (floating/DATE resolved in the given zone). For a
    // VTODO without DTSTART, start = end = DUE; for a component without any time both
    // are absent.
    std::optional<utc_time> start;
    std::optional<utc_time> end;
    // RECURRENCE-ID of this instance in UTC (its original start); absent for a
    // non-recurring component.
    std::optional<utc_time> recurrence_id;
    bool all_day = false;
    bool overridden = false;   // taken from a component with this RECURRENCE-ID
    std::size_t component = 0; // index of the source component (master or override) in the object
    friend bool operator==(const instance&, const instance&) = default;
};

struct expansion {
    std::vector<instance> instances;  // in start order
    bool truncated = false;           // a limit stopped the expansion before the range end
};

// expand - the instances of the object's components (master + overrides) that overlap
// the range, following RFC 4791 9.9 for the component type, at most `max_instances`.
// floating_tz = nullptr means UTC.
expansion expand(const calendar_object& obj, const time_range& range, const time_zone* floating_tz = nullptr,
                 const limits& lim = {});

// overlaps - RFC 4791 9.9: does any instance of the object's component overlap the range?
bool overlaps(const calendar_object& obj, const time_range& range, const time_zone* floating_tz = nullptr,
              const limits& lim = {});

// alarm_overlaps - RFC 4791 9.9 for VALARM: does any alarm trigger (incl. REPEAT) of any
// instance fall in [start, end)?
bool alarm_overlaps(const calendar_object& obj, const time_range& range, const time_zone* floating_tz = nullptr,
                    const limits& lim = {});

}  // namespace polder::ical
