// polder/ical/filter.hpp - CalDAV calendar-query filters (RFC 4791 9.7) as plain structs,
// evaluated against one calendar object. The DAV layer parses the XML into these.
//
// SECURITY: nesting depth is bounded (max_filter_depth), unknown collations are refused
// before any evaluation, and time ranges reuse the bounded expansion of time_range.hpp.
// STANDARDS: RFC 4791 9.7.1 (comp-filter), 9.7.2 (prop-filter), 9.7.3 (param-filter),
// 9.7.4 (is-not-defined), 9.7.5 (text-match), 9.9 (time-range, incl. time ranges on
// DATE-TIME properties: start <= value AND end > value), RFC 6352 10.5.4 match-type.
#pragma once

#include "polder/ical/calendar.hpp"
#include "polder/ical/text_match.hpp"
#include "polder/ical/time_range.hpp"

#include <optional>
#include <string>
#include <vector>

namespace polder::ical {

constexpr std::size_t max_filter_depth = 16;

struct param_filter {
    std::string name;            // e.g. "PARTSTAT"
    bool is_not_defined = false;
    std::optional<text_match> match;
};

struct prop_filter {
    std::string name;            // e.g. "SUMMARY", "ATTENDEE", "X-FOO"
    bool is_not_defined = false;
    std::optional<time_range> range;
    std::optional<text_match> match;
    std::vector<param_filter> params;
};

struct comp_filter {
    std::string name;            // the top one is "VCALENDAR"
    bool is_not_defined = false;
    std::optional<time_range> range;
    std::vector<prop_filter> props;
    std::vector<comp_filter> comps;
};

// check_filter - refuse a filter before running it. Errors: ical_errc::unsupported_collation,
// ical_errc::invalid_filter (top name is not VCALENDAR, empty names, too deep, time-range
// without start and end).
[[nodiscard]] result<void> check_filter(const comp_filter& f);

// matches - RFC 4791 9.7 for one object. floating_tz: the collection's calendar-timezone
// (nullptr = UTC). Errors: as check_filter.
[[nodiscard]] result<bool> matches(const calendar_object& obj, const comp_filter& f,
                                   const time_zone* floating_tz = nullptr, const limits& lim = {});

}  // namespace polder::ical
