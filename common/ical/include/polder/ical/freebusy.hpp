// polder/ical/freebusy.hpp - free/busy time from a set of calendar objects.
//
// SECURITY: the range must be bounded on both sides; each object's expansion is bounded by
// limits::max_instances, the number of periods by max_periods.
// STANDARDS: RFC 4791 7.10 (free-busy-query: TRANSPARENT and CANCELLED events are free,
// TENTATIVE ones BUSY-TENTATIVE, VFREEBUSY periods keep their FBTYPE, FREE is dropped),
// RFC 5545 3.6.4 (VFREEBUSY), 3.8.2.6 (FREEBUSY, UTC periods), 3.2.9 (FBTYPE),
// RFC 6638 3.2.3 / RFC 5546 3.3 (free/busy replies: METHOD:REPLY with ORGANIZER,
// ATTENDEE, UID); an owner who DECLINED an invitation is free (RFC 6638 3.2.3 leaves
// PARTSTAT handling to the server; Cyrus and Apple do the same).
#pragma once

#include "polder/ical/calendar.hpp"
#include "polder/ical/time_range.hpp"

#include <string>
#include <vector>

namespace polder::ical {

enum class busy_type { busy, busy_tentative, busy_unavailable };
std::string_view name(busy_type t) noexcept;  // "BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"

struct busy_period {
    utc_time start = 0;
    utc_time end = 0;
    busy_type type = busy_type::busy;
    friend bool operator==(const busy_period&, const busy_period&) = default;
};

struct freebusy_options {
    // Calendar user addresses of the calendar's owner ("mailto:ann@x"): an event where the
    // owner's ATTENDEE has PARTSTAT=DECLINED is free, TENTATIVE or NEEDS-ACTION is
    // BUSY-TENTATIVE.
    std::vector<std::string> owner_addresses;
    std::size_t max_periods = 10000;
};

// busy_periods - merged busy time per type, clipped to the range, sorted by type then start.
// Errors: invalid_argument (range not bounded on both sides).
[[nodiscard]] result<std::vector<busy_period>> busy_periods(const std::vector<const calendar_object*>& objects,
                                                            const time_range& range, const time_zone* floating_tz = nullptr,
                                                            const freebusy_options& opt = {}, const limits& lim = {});

struct vfreebusy_header {
    bool reply = false;          // METHOD:REPLY (scheduling) instead of a plain VCALENDAR
    std::string uid;             // copied from the request in scheduling replies
    std::string organizer;       // calendar user addresses
    std::string attendee;
    utc_time dtstamp = 0;
};

// freebusy_calendar - a VCALENDAR holding one VFREEBUSY for the range with the periods.
// Errors: invalid_argument (range not bounded).
[[nodiscard]] result<std::string> freebusy_calendar(const std::vector<busy_period>& periods, const time_range& range,
                                                    const vfreebusy_header& header);

}  // namespace polder::ical
