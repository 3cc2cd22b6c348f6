// fuzz_caldav_query.cpp - libFuzzer target: an XML REPORT body through polder::dav's
// parser and every CalDAV/CardDAV REPORT parser, then the filter checks and the URL
// mapping of each href. Must never crash, leak or hang.
//
// SECURITY: exercises untrusted-input parsing only.
// STANDARDS: RFC 4791 7.8-7.10, RFC 6352 8.6-8.7.
#include "paths.hpp"
#include "query.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace polder;
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::string reason;
    auto root = dav::parse_xml(text, reason, {.max_bytes = 1 << 20, .max_depth = 64, .max_elements = 10000});
    if (!root) return 0;
    if (auto q = caldav::parse_calendar_query(*root, reason)) (void)ical::check_filter(q->filter);
    if (auto q = caldav::parse_addressbook_query(*root, reason)) (void)ical::check_card_filter(q->filter);
    if (auto q = caldav::parse_multiget(*root, reason))
        for (const auto& h : q->hrefs) (void)caldav::parse_path(h);
    (void)caldav::parse_freebusy_query(*root, reason);
    (void)caldav::parse_report_props(*root, reason);
    return 0;
}
