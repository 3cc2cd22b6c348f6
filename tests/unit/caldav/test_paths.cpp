// test_paths.cpp - polder-caldavd's URL -> resource mapping.
//
// SECURITY: encoded separators, dot segments, control characters and doubled slashes are
// refused, so a name is always exactly one stored segment.
// STANDARDS: RFC 3986, RFC 4918 8.3.
#include "paths.hpp"

#include <catch2/catch.hpp>

using namespace polder::caldav;

TEST_CASE("caldav paths map every level of the URL space") {
    CHECK(parse_path("/dav")->where == area::root);
    CHECK(parse_path("/dav/")->where == area::root);
    CHECK(parse_path("/dav/principals/")->where == area::principals);
    auto p = parse_path("/dav/principals/Ann%40X.test/");
    REQUIRE(p);
    CHECK(p->where == area::principal);
    CHECK(p->owner == "ann@x.test");
    p = parse_path("/dav/calendars/ann@x.test/agenda/a%20b.ics");
    REQUIRE(p);
    CHECK(p->where == area::cal_object);
    CHECK(p->collection == "agenda");
    CHECK(p->object == "a b.ics");
    CHECK(href(*p) == "/dav/calendars/ann@x.test/agenda/a%20b.ics");
    p = parse_path("/dav/addressbooks/ann@x.test/contacts/");
    REQUIRE(p);
    CHECK(p->where == area::addressbook);
    CHECK(p->kind() == "addressbook");
    CHECK(href(*p) == "/dav/addressbooks/ann@x.test/contacts/");
}

TEST_CASE("caldav paths refuse traversal, encoded slashes and unknown areas") {
    CHECK_FALSE(parse_path("/dav/calendars/ann@x.test/../bob@x.test/"));
    CHECK_FALSE(parse_path("/dav/calendars/ann@x.test/%2e%2e/x"));
    CHECK_FALSE(parse_path("/dav/calendars/ann@x.test/a%2Fb/"));
    CHECK_FALSE(parse_path("/dav/calendars/ann@x.test/a%00b/"));
    CHECK_FALSE(parse_path("/dav/calendars/ann@x.test/a%0Ab/"));
    CHECK_FALSE(parse_path("/dav/calendars//agenda/"));
    CHECK_FALSE(parse_path("/dav/calendars/ann@x.test/agenda/x/y"));
    CHECK_FALSE(parse_path("/dav/files/ann@x.test/"));
    CHECK_FALSE(parse_path("/davx/"));
    CHECK_FALSE(parse_path("/dav/calendars/"));
    CHECK_FALSE(parse_path("/dav/principals/a/b/"));
}

TEST_CASE("caldav bound collection names map to collection ids and only canonical ones") {
    CHECK(shared_name(42) == "shared-42");
    CHECK(shared_id("shared-42") == std::optional<std::int64_t>(42));
    CHECK_FALSE(shared_id("shared-"));
    CHECK_FALSE(shared_id("shared-042"));
    CHECK_FALSE(shared_id("shared-4x"));
    CHECK_FALSE(shared_id("shared-1234567890123456789"));
    CHECK_FALSE(shared_id("agenda"));
    CHECK(reserved_name("shared-1"));
    CHECK(reserved_name("Shared-anything"));
    CHECK(reserved_name("inbox"));
    CHECK(reserved_name("OUTBOX"));
    CHECK_FALSE(reserved_name("agenda"));
    CHECK_FALSE(reserved_name("inboxes"));
}
