// test_range.cpp - table tests for Range / If-Range evaluation, HTTP dates and ETags.
#include <catch2/catch.hpp>

#include "polder/http/date.hpp"
#include "polder/http/etag.hpp"
#include "polder/http/range.hpp"

#include <string>
#include <vector>

using namespace polder::http;

namespace {
using ranges = std::vector<byte_range>;
}

TEST_CASE("range parser selects satisfiable byte ranges") {
    struct row {
        std::string field;
        std::uint64_t size;
        ranges expect;
    };
    const row rows[] = {
        {"bytes=0-499", 10000, {{0, 499}}},
        {"bytes=500-999", 10000, {{500, 999}}},
        {"bytes=-500", 10000, {{9500, 9999}}},                  // suffix range
        {"bytes=9500-", 10000, {{9500, 9999}}},                 // open-ended
        {"bytes=0-0,-1", 10000, {{0, 0}, {9999, 9999}}},        // first and last byte, client order kept
        {"bytes=500-600,601-999", 10000, {{500, 600}, {601, 999}}},   // adjacent but not overlapping: kept
        {"bytes=0-99999", 10000, {{0, 9999}}},                  // last-pos past the end is clamped
        {"bytes=-20000", 10000, {{0, 9999}}},                   // suffix longer than the body: all of it
        {"Bytes = 1-2", 10, {{1, 2}}},                          // unit is case-insensitive, OWS allowed
        {"bytes=1-2, ,3-4", 10, {{1, 2}, {3, 4}}},              // empty list elements are tolerated
        {"bytes=5-9,20-30", 10, {{5, 9}}},                      // the unsatisfiable one is dropped
        {"bytes=0-18446744073709551615", 10, {{0, 9}}},         // last-pos = 2^64-1
        {"bytes=0-99999999999999999999999999", 10, {{0, 9}}},   // last-pos beyond 2^64: clamped, no overflow
        {"bytes=-99999999999999999999999999", 10, {{0, 9}}},    // suffix beyond 2^64
        // Overlapping ranges are merged (sorted) so bytes are never sent twice.
        {"bytes=500-700,601-999", 10000, {{500, 999}}},
        {"bytes=0-9,0-9,0-9", 100, {{0, 9}}},
        {"bytes=50-59,0-9,5-20", 100, {{0, 20}, {50, 59}}},
        {"bytes=-10,90-95", 100, {{90, 99}}},
    };
    for (const auto& r : rows) {
        INFO(r.field << " size " << r.size);
        auto got = parse_range(r.field, r.size);
        REQUIRE(got.outcome == range_outcome::partial);
        CHECK(got.ranges == r.expect);
    }
}

TEST_CASE("range parser reports unsatisfiable ranges for 416") {
    struct row {
        std::string field;
        std::uint64_t size;
    };
    const row rows[] = {
        {"bytes=10000-", 10000},
        {"bytes=10000-20000", 10000},
        {"bytes=-0", 10000},   // a zero-length suffix selects nothing
        {"bytes=20-30,40-", 10},
        {"bytes=99999999999999999999999-", 10},    // first-pos beyond 2^64 is past any end
        {"bytes=0-", 0},                          // nothing to address in an empty body
        {"bytes=18446744073709551615-18446744073709551615", 10},
    };
    for (const auto& r : rows) {
        INFO(r.field << " size " << r.size);
        auto got = parse_range(r.field, r.size);
        CHECK(got.outcome == range_outcome::unsatisfiable);
        CHECK(got.ranges.empty());
    }
}

TEST_CASE("range parser ignores invalid or foreign Range fields") {
    const std::string rows[] = {
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes=abc",
        "bytes=5-4",        // last-pos < first-pos makes the whole field invalid
        "bytes=1-2,5-4",
        "bytes=--5",
        "bytes=1--5",
        "bytes=-",
        "bytes=0x10-20",
        "bytes=+1-2",
        "bytes=1-2;3-4",
        "items=0-10",       // another range unit
        "bytes 0-10",
    };
    for (const auto& f : rows) {
        INFO(f);
        auto got = parse_range(f, 1000);
        CHECK(got.outcome == range_outcome::full);
        CHECK(got.ranges.empty());
    }
}

TEST_CASE("range parser serves the whole body when a client asks for too many ranges") {
    std::string f = "bytes=";
    for (int i = 0; i < 40; ++i) f += std::to_string(i * 10) + "-" + std::to_string(i * 10 + 1) + ",";
    CHECK(parse_range(f, 100000).outcome == range_outcome::full);
    CHECK(parse_range(f, 100000, {.max_ranges = 64}).outcome == range_outcome::partial);
    CHECK(parse_range(f, 100000, {.max_ranges = 64}).ranges.size() == 40);
}

TEST_CASE("range parser keeps overlapping ranges when merging is off") {
    auto got = parse_range("bytes=0-9,5-14", 100, {.merge_overlapping = false});
    REQUIRE(got.outcome == range_outcome::partial);
    CHECK(got.ranges == ranges{{0, 9}, {5, 14}});
}

TEST_CASE("a suffix range on an empty representation sends the empty body whole") {
    CHECK(parse_range("bytes=-5", 0).outcome == range_outcome::full);
}

TEST_CASE("content range values follow RFC 9110 14.4") {
    CHECK(content_range({0, 499}, 1234) == "bytes 0-499/1234");
    CHECK(unsatisfied_content_range(1234) == "bytes */1234");
    CHECK(byte_range{10, 19}.length() == 10);
}

TEST_CASE("if-range allows a partial response only for a strong match or the exact date") {
    const std::int64_t lm = 784111777;   // Sun, 06 Nov 1994 08:49:37 GMT
    CHECK(if_range_allows_partial("\"abc\"", "\"abc\"", lm));
    CHECK_FALSE(if_range_allows_partial("\"abc\"", "\"abd\"", lm));
    CHECK_FALSE(if_range_allows_partial("W/\"abc\"", "\"abc\"", lm));   // weak never matches
    CHECK_FALSE(if_range_allows_partial("\"abc\"", "W/\"abc\"", lm));
    CHECK_FALSE(if_range_allows_partial("\"abc\"", "", lm));
    CHECK(if_range_allows_partial("Sun, 06 Nov 1994 08:49:37 GMT", "\"abc\"", lm));
    CHECK_FALSE(if_range_allows_partial("Sun, 06 Nov 1994 08:49:38 GMT", "\"abc\"", lm));
    CHECK_FALSE(if_range_allows_partial("Sun, 06 Nov 1994 08:49:37 GMT", "\"abc\"", std::nullopt));
    CHECK_FALSE(if_range_allows_partial("yesterday", "\"abc\"", lm));
    CHECK_FALSE(if_range_allows_partial("", "\"abc\"", lm));
    CHECK_FALSE(if_range_allows_partial("\"abc", "\"abc\"", lm));
}

TEST_CASE("http dates parse in all three formats and format as IMF-fixdate") {
    const std::int64_t t = 784111777;
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == t);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == t);
    CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == t);
    CHECK(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT ") == t);
    CHECK(format_http_date(t) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(format_http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(format_rfc3339(t) == "1994-11-06T08:49:37Z");
    CHECK(format_rfc3339(951782400 + 86399) == "2000-02-29T23:59:59Z");
    CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59Z");
    CHECK(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
    for (std::int64_t s : {std::int64_t{0}, std::int64_t{1}, std::int64_t{86399}, std::int64_t{1700000000},
                           std::int64_t{4102444800}, std::int64_t{-86400}})
        CHECK(parse_http_date(format_http_date(s)) == s);
}

TEST_CASE("http date parser rejects malformed dates") {
    for (const std::string& d : std::vector<std::string>{"", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
                          "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 0000 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "1994-11-06T08:49:37Z",
                          std::string(100, 'a')}) {
        INFO(d);
        CHECK_FALSE(parse_http_date(d).has_value());
    }
}

TEST_CASE("etag lists compare strongly for If-Match and weakly for If-None-Match") {
    const entity_tag strong{"v1", false};
    const entity_tag weak{"v1", true};
    CHECK(match_etag_list("*", strong, false) == etag_list_match::any);
    CHECK(match_etag_list("\"v1\"", strong, false) == etag_list_match::matched);
    CHECK(match_etag_list("\"v0\", \"v1\"", strong, false) == etag_list_match::matched);
    CHECK(match_etag_list("W/\"v1\"", strong, false) == etag_list_match::not_matched);
    CHECK(match_etag_list("W/\"v1\"", strong, true) == etag_list_match::matched);
    CHECK(match_etag_list("\"v1\"", weak, false) == etag_list_match::not_matched);
    CHECK(match_etag_list("\"v1\"", weak, true) == etag_list_match::matched);
    CHECK(match_etag_list("\"v1\"", std::nullopt, false) == etag_list_match::not_matched);
    CHECK(match_etag_list(" , \"v2\" ,, \"v1\" ", strong, false) == etag_list_match::matched);
    CHECK(match_etag_list("v1", strong, false) == etag_list_match::invalid);
    CHECK(match_etag_list("\"v1", strong, false) == etag_list_match::invalid);
    CHECK(match_etag_list("\"v1\" \"v2\"", strong, false) == etag_list_match::invalid);
    CHECK(match_etag_list("", strong, false) == etag_list_match::invalid);
    CHECK(match_etag_list("\"a b\"", strong, false) == etag_list_match::invalid);   // space is not etagc
    std::string many;
    for (int i = 0; i < 200; ++i) many += "\"x\",";
    CHECK(match_etag_list(many, strong, false) == etag_list_match::invalid);
    auto tag = parse_entity_tag(" W/\"abc\" ");
    REQUIRE(tag);
    CHECK(tag->weak);
    CHECK(tag->str() == "W/\"abc\"");
    CHECK_FALSE(parse_entity_tag("\"abc\" x"));
}
