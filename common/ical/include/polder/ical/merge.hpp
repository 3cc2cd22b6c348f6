// polder/ical/merge.hpp - one iCalendar file out of many calendar object resources, for
// exports (polderctl export): every object's calendar components under one VCALENDAR,
// with the VTIMEZONEs they use, each TZID defined once.
//
// How: each stored object is parsed with libical; its VTIMEZONEs are collected by TZID
// and its other components (VEVENT/VTODO/VJOURNAL/VFREEBUSY with their VALARMs) are
// serialised by libical and handed back to the caller at once, so a calendar of any size
// is written in a streaming way: the caller writes the components as they come, and only
// the (few, small) VTIMEZONEs are held until the end. header() then gives the VCALENDAR
// opening with the collection's name/colour/description and every VTIMEZONE; the caller
// puts it in front (polderctl writes the components to a side file and joins them).
//
// Two objects may define the same TZID differently (one client's VTIMEZONE for
// Europe/Amsterdam starts in 1970, another's in 1996): definitions equal once their
// non-semantic properties (X-*, LAST-MODIFIED, TZURL) are set aside share the TZID; a
// different one is renamed "<TZID>-2" (-3 ...) in that object's VTIMEZONE and in every
// TZID parameter of its components, so each event keeps exactly the rules it was
// written with and the file still has one VTIMEZONE per TZID (RFC 5545 3.6.5).
//
// SECURITY: stored objects were validated at PUT; they are still treated as untrusted
// (size-bounded, parsed with the same checks and limits as calendar_object::parse).
// Header values are escaped as RFC 5545 TEXT and folded, so a collection name cannot add
// lines or properties.
// STANDARDS: RFC 5545 3.1 (content lines, folding at 75 octets), 3.3.11 (TEXT escaping),
// 3.4 (VCALENDAR), 3.6.5 (one VTIMEZONE per TZID), 3.2.19 (TZID); RFC 7986 5.1 NAME and
// 5.2 DESCRIPTION; the de-facto X-WR-CALNAME, X-WR-CALDESC and X-APPLE-CALENDAR-COLOR.
#pragma once

#include "polder/core/error.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace polder::ical {

struct calendar_header {
    std::string displayname;   // -> NAME and X-WR-CALNAME (omitted when empty)
    std::string description;   // -> DESCRIPTION and X-WR-CALDESC
    std::string color;         // -> X-APPLE-CALENDAR-COLOR ("#RRGGBB[AA]" as clients store it)
    std::string prodid = "-//Polder//polderctl export//EN";
};

class calendar_merger {
public:
    explicit calendar_merger(calendar_header header) : header_(std::move(header)) {}

    // add - one stored object resource (a VCALENDAR). Returns its calendar components
    // serialised (CRLF line ends, folded), to be written between header() and footer().
    // Errors: invalid_argument (not parseable as iCalendar), limit_exceeded (larger than
    // max_object_size or beyond the parser's component limits).
    [[nodiscard]] result<std::string> add(std::string_view object_text);

    // header - BEGIN:VCALENDAR, VERSION, PRODID, CALSCALE, the name/description/colour
    // properties and every VTIMEZONE collected so far.
    std::string header() const;
    static std::string footer() { return "END:VCALENDAR\r\n"; }

    std::size_t objects() const noexcept { return objects_; }
    std::size_t components() const noexcept { return components_; }
    std::size_t timezones() const noexcept { return zone_order_.size(); }

    static constexpr std::size_t max_object_size = 16 * 1024 * 1024;   // the store's limit (0200_cal.sql)

private:
    calendar_header header_;
    // TZID -> list of (comparison key, serialised VTIMEZONE) of every distinct definition,
    // index 0 under the TZID itself, index n under "<TZID>-<n+1>".
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> zones_;
    std::vector<std::string> zone_order_;   // serialised VTIMEZONEs in first-seen order
    std::size_t objects_ = 0, components_ = 0;
};

// text_content_line - "NAME:value" with value escaped as RFC 5545 TEXT (backslash, ';',
// ',' and newlines) and the line folded at 75 octets without splitting a UTF-8 sequence;
// ends with CRLF. Control characters other than newline are dropped.
std::string text_content_line(std::string_view name, std::string_view value);

}  // namespace polder::ical
