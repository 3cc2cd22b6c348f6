// polder/ical/calendar_data.hpp - what a CALDAV:calendar-data element returns: the whole
// object, its expansion into instances, a limited recurrence or free/busy set, and partial
// retrieval of components and properties.
//
// SECURITY: output size is bounded by the object (expansion by limits::max_instances);
// selections are plain lists, matched by name only.
// STANDARDS: RFC 4791 9.6 (calendar-data), 9.6.1-9.6.4 (comp, allcomp, allprop, prop with
// novalue), 9.6.5 (expand: one component per instance with RECURRENCE-ID, no RRULE/RDATE/
// EXDATE, no VTIMEZONE, zoned times in UTC; DATE and floating values stay as they are),
// 9.6.6 (limit-recurrence-set), 9.6.7 (limit-freebusy-set); RFC 5545 3.1 (folding, CRLF).
#pragma once

#include "polder/ical/calendar.hpp"
#include "polder/ical/time_range.hpp"

#include <optional>
#include <string>
#include <vector>

namespace polder::ical {

struct prop_selection {
    std::string name;
    bool novalue = false;  // novalue="yes": the property with an empty value
};

// <C:comp name="..."> as the DAV layer parsed it: all_props for <C:allprop/>, otherwise
// only `props`; all_comps for <C:allcomp/>, otherwise only the listed `comps`.
struct comp_selection {
    std::string name;
    bool all_props = false;
    std::vector<prop_selection> props;
    bool all_comps = false;
    std::vector<comp_selection> comps;
};

struct calendar_data_request {
    std::optional<comp_selection> select;              // absent: everything
    std::optional<time_range> expand;                   // <C:expand>
    std::optional<time_range> limit_recurrence_set;     // <C:limit-recurrence-set>
    std::optional<time_range> limit_freebusy_set;       // <C:limit-freebusy-set>
};

// calendar_data - the iCalendar text to put in <C:calendar-data>. floating_tz resolves
// floating/DATE values for the time-range tests (nullptr = UTC).
// Errors: invalid_argument (a selection whose top name is not VCALENDAR).
[[nodiscard]] result<std::string> calendar_data(const calendar_object& obj, const calendar_data_request& req,
                                                const time_zone* floating_tz = nullptr, const limits& lim = {});

}  // namespace polder::ical
