// test_query.cpp - CalDAV / CardDAV REPORT bodies parsed into polder::ical filters.
//
// SECURITY: malformed structure is an error with a reason, never a crash; limits hold.
// STANDARDS: RFC 4791 7.8-7.10, 9.6-9.9; RFC 6352 8.6, 10.5.
#include "query.hpp"

#include <catch2/catch.hpp>

using namespace polder;
using namespace polder::caldav;

namespace {
dav::xml_element parse(const std::string& text) {
    std::string reason;
    auto root = dav::parse_xml(text, reason);
    REQUIRE(root.has_value());
    return std::move(*root);
}
constexpr const char* ns = R"(xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav")";
}  // namespace

TEST_CASE("calendar-query parses comp, prop and param filters with time ranges and text matches") {
    auto root = parse(std::string("<C:calendar-query ") + ns + R"(><D:prop><D:getetag/>
        <C:calendar-data><C:expand start="20260105T000000Z" end="20260112T000000Z"/></C:calendar-data></D:prop>
        <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
          <C:time-range start="20260105T000000Z" end="20260112T000000Z"/>
          <C:prop-filter name="ATTENDEE"><C:text-match collation="i;octet" negate-condition="yes">ann</C:text-match>
            <C:param-filter name="PARTSTAT"><C:is-not-defined/></C:param-filter></C:prop-filter>
        </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>)");
    std::string reason;
    auto q = parse_calendar_query(root, reason);
    REQUIRE(q.has_value());
    CHECK(q->filter.name == "VCALENDAR");
    REQUIRE(q->filter.comps.size() == 1);
    const auto& ev = q->filter.comps[0];
    CHECK(ev.name == "VEVENT");
    REQUIRE(ev.range);
    CHECK(*ev.range->start == 1767571200);
    REQUIRE(ev.props.size() == 1);
    CHECK(ev.props[0].match->negate);
    CHECK(ev.props[0].match->collation == "i;octet");
    CHECK(ev.props[0].params[0].is_not_defined);
    REQUIRE(q->props.calendar_data);
    CHECK(q->props.calendar_data->expand.has_value());
    CHECK(q->props.props.props.size() == 2);
    CHECK(ical::check_filter(q->filter).has_value());
}

TEST_CASE("calendar-query refuses malformed filters and time ranges") {
    std::string reason;
    auto no_filter = parse(std::string("<C:calendar-query ") + ns + "><D:prop/></C:calendar-query>");
    CHECK_FALSE(parse_calendar_query(no_filter, reason).has_value());
    auto bad_time = parse(std::string("<C:calendar-query ") + ns +
                          R"(><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
                              <C:time-range start="yesterday"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>)");
    CHECK_FALSE(parse_calendar_query(bad_time, reason).has_value());
    auto reversed = parse(std::string("<C:calendar-query ") + ns +
                          R"(><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
                              <C:time-range start="20260105T000000Z" end="20260101T000000Z"/></C:comp-filter>
                              </C:comp-filter></C:filter></C:calendar-query>)");
    CHECK_FALSE(parse_calendar_query(reversed, reason).has_value());
    auto bad_data = parse(std::string("<C:calendar-query ") + ns +
                          R"(><D:prop><C:calendar-data content-type="application/json"/></D:prop>
                              <C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>)");
    auto r = parse_calendar_query(bad_data, reason);
    REQUIRE_FALSE(r.has_value());
    CHECK(polder::is(r.error(), errc::permission_denied));
}

TEST_CASE("multiget collects hrefs and refuses an empty list") {
    std::string reason;
    auto root = parse(std::string("<C:calendar-multiget ") + ns +
                      "><D:prop><D:getetag/></D:prop><D:href>/a</D:href><D:href>/b</D:href></C:calendar-multiget>");
    auto m = parse_multiget(root, reason);
    REQUIRE(m.has_value());
    CHECK(m->hrefs == std::vector<std::string>{"/a", "/b"});
    auto empty = parse(std::string("<C:calendar-multiget ") + ns + "><D:prop/></C:calendar-multiget>");
    CHECK_FALSE(parse_multiget(empty, reason).has_value());
}

TEST_CASE("free-busy-query needs a bounded time range") {
    std::string reason;
    auto ok = parse(std::string("<C:free-busy-query ") + ns +
                    R"(><C:time-range start="20260101T000000Z" end="20260201T000000Z"/></C:free-busy-query>)");
    CHECK(parse_freebusy_query(ok, reason).has_value());
    auto open = parse(std::string("<C:free-busy-query ") + ns +
                      R"(><C:time-range start="20260101T000000Z"/></C:free-busy-query>)");
    CHECK_FALSE(parse_freebusy_query(open, reason).has_value());
}

TEST_CASE("addressbook-query parses tests, match types, parameters and limits") {
    std::string reason;
    auto root = parse(R"(<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">
        <D:prop><CR:address-data><CR:prop name="FN"/></CR:address-data></D:prop>
        <CR:filter test="allof"><CR:prop-filter name="EMAIL" test="anyof">
          <CR:text-match match-type="ends-with">@x.test</CR:text-match>
          <CR:param-filter name="TYPE"><CR:text-match match-type="equals">work</CR:text-match></CR:param-filter>
        </CR:prop-filter></CR:filter><CR:limit><CR:nresults>5</CR:nresults></CR:limit></CR:addressbook-query>)");
    auto q = parse_addressbook_query(root, reason);
    REQUIRE(q.has_value());
    CHECK(q->filter.test == ical::filter_test::allof);
    REQUIRE(q->filter.props.size() == 1);
    CHECK(q->filter.props[0].matches[0].type == ical::match_type::ends_with);
    CHECK(q->filter.props[0].matches[0].collation == "i;unicode-casemap");
    CHECK(q->filter.props[0].params[0].match->type == ical::match_type::equals);
    CHECK(q->limit == std::size_t{5});
    REQUIRE(q->props.address_data);
    CHECK(q->props.address_data->size() == 1);
    auto bad = parse(R"(<CR:addressbook-query xmlns:CR="urn:ietf:params:xml:ns:carddav"><CR:filter test="some"/>
        </CR:addressbook-query>)");
    CHECK_FALSE(parse_addressbook_query(bad, reason).has_value());
}
