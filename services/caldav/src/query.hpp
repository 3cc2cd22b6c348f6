// query.hpp - the CalDAV and CardDAV REPORT bodies as typed requests: calendar-query,
// calendar-multiget, free-busy-query, addressbook-query and addressbook-multiget, parsed
// from the polder::dav XML tree into polder::ical filters and selections.
//
// Pure: no sockets, no database (fuzzed by fuzz/fuzz_caldav_query.cpp).
//
// SECURITY: untrusted input already bounded by the XML parser (size, depth, element
// count); here the number of hrefs (max_hrefs), filter nesting (ical::max_filter_depth) and
// property names (dav::max_props) are bounded too. Malformed structure is an error with a
// reason for the 400 body; semantic filter errors (unknown collation, bad filter) are left
// to ical::check_filter / check_card_filter so the service can answer with the RFC's
// precondition element.
// STANDARDS: RFC 4791 7.8 (calendar-query), 7.9 (calendar-multiget), 7.10
// (free-busy-query), 9.6 (calendar-data with comp/allprop/prop/expand/
// limit-recurrence-set/limit-freebusy-set), 9.7 (filter), 9.8 (timezone), 9.9
// (time-range); RFC 6352 8.6 (addressbook-query, limit/nresults), 8.7
// (addressbook-multiget), 10.4 (address-data), 10.5 (filter, test anyof/allof).
#pragma once

#include "polder/core/error.hpp"
#include "polder/dav/requests.hpp"
#include "polder/dav/xml.hpp"
#include "polder/ical/calendar_data.hpp"
#include "polder/ical/filter.hpp"
#include "polder/ical/vcard.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::caldav {

inline constexpr std::string_view caldav_ns = "urn:ietf:params:xml:ns:caldav";
inline constexpr std::string_view carddav_ns = "urn:ietf:params:xml:ns:carddav";
inline constexpr std::string_view apple_ical_ns = "http://apple.com/ns/ical/";
inline constexpr std::string_view calendarserver_ns = "http://calendarserver.org/ns/";
inline constexpr std::size_t max_hrefs = 10000;

inline dav::qname cal(std::string_view local) { return {std::string(caldav_ns), std::string(local)}; }
inline dav::qname card(std::string_view local) { return {std::string(carddav_ns), std::string(local)}; }

// The properties a REPORT asks for: DAV:prop names, plus the parsed calendar-data /
// address-data element when one is among them.
struct report_props {
    dav::propfind_request props;   // kind prop, allprop or propname
    std::optional<ical::calendar_data_request> calendar_data;
    std::optional<std::vector<ical::card_prop_selection>> address_data;   // empty vector: whole card
};

struct calendar_query {
    report_props props;
    ical::comp_filter filter;
    std::optional<std::string> timezone;   // CALDAV:timezone text (a VCALENDAR)
};

struct multiget {
    report_props props;
    std::vector<std::string> hrefs;   // raw, as sent
};

struct freebusy_query {
    ical::time_range range;
};

struct addressbook_query {
    report_props props;
    ical::card_filter filter;
    std::optional<std::size_t> limit;
};

// Errors of every parse_*: errc::invalid_argument (malformed), errc::limit_exceeded (too
// many hrefs / names), errc::permission_denied (calendar-data / address-data media type
// not supported: CALDAV:supported-calendar-data); `reason` is set.
result<calendar_query> parse_calendar_query(const dav::xml_element& root, std::string& reason);
result<multiget> parse_multiget(const dav::xml_element& root, std::string& reason);
result<freebusy_query> parse_freebusy_query(const dav::xml_element& root, std::string& reason);
result<addressbook_query> parse_addressbook_query(const dav::xml_element& root, std::string& reason);

// parse_report_props - DAV:prop / allprop / propname of a REPORT body (absent: allprop).
result<report_props> parse_report_props(const dav::xml_element& root, std::string& reason);

// parse_time_range - a CALDAV:time-range element's start/end attributes (at least one).
result<ical::time_range> parse_time_range(const dav::xml_element& e, std::string& reason);

}  // namespace polder::caldav
