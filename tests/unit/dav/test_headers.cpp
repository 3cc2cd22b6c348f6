// test_headers.cpp - Depth, Overwrite, Timeout, Destination and If.
//
// SECURITY: malformed and oversized If values are refused; Destination
// refuses other schemes, user info, queries and fragments.
// STANDARDS: RFC 4918 10.2-10.7.
#include "polder/dav/headers.hpp"

#include <catch2/catch.hpp>

using namespace polder::dav;

TEST_CASE("depth and overwrite parse their three and two values") {
    CHECK(parse_depth("0") == depth::zero);
    CHECK(parse_depth(" 1 ") == depth::one);
    CHECK(parse_depth("Infinity") == depth::infinity);
    CHECK_FALSE(parse_depth("2").has_value());
    CHECK(parse_overwrite("T") == true);
    CHECK(parse_overwrite("F") == false);
    CHECK_FALSE(parse_overwrite("yes").has_value());
}

TEST_CASE("timeout takes the first understood entry and saturates") {
    auto t = parse_timeout("Extension-1, Second-600, Infinite");
    REQUIRE(t.has_value());
    CHECK_FALSE(t->infinite);
    CHECK(t->seconds == 600);
    CHECK(parse_timeout("Infinite, Second-4100000000")->infinite);
    CHECK(parse_timeout("Second-99999999999999999999999")->seconds == 0xffffffffull);
    CHECK_FALSE(parse_timeout("Second-").has_value());
}

TEST_CASE("destination splits absolute URIs and paths and refuses the rest") {
    auto d = parse_destination("http://127.0.0.1:8080/dav/files/a%40b/x");
    REQUIRE(d.has_value());
    CHECK(d->scheme == "http");
    CHECK(d->authority == "127.0.0.1:8080");
    CHECK(d->path == "/dav/files/a%40b/x");
    CHECK(parse_destination("/dav/x")->authority.empty());
    CHECK_FALSE(parse_destination("ftp://h/x").has_value());
    CHECK_FALSE(parse_destination("http://user@h/x").has_value());
    CHECK_FALSE(parse_destination("//h/x").has_value());
    CHECK_FALSE(parse_destination("relative/x").has_value());
    CHECK_FALSE(parse_destination("/x?y").has_value());
    CHECK_FALSE(parse_destination("/x y").has_value());
}

TEST_CASE("if parser reads untagged lists with Not, state tokens and etags") {
    auto h = parse_if("(<urn:uuid:1> [\"e1\"]) (Not <DAV:no-lock> W/\"x\")");
    CHECK_FALSE(h.has_value());   // an entity-tag must be bracketed
    h = parse_if("(<urn:uuid:1> [\"e1\"]) (Not <DAV:no-lock> [W/\"x\"])");
    REQUIRE(h.has_value());
    CHECK_FALSE(h->tagged);
    REQUIRE(h->groups.size() == 1);
    REQUIRE(h->groups[0].lists.size() == 2);
    const auto& l0 = h->groups[0].lists[0].conditions;
    REQUIRE(l0.size() == 2);
    CHECK(l0[0].value == "urn:uuid:1");
    CHECK(l0[1].is_etag);
    CHECK(l0[1].value == "\"e1\"");
    const auto& l1 = h->groups[0].lists[1].conditions;
    CHECK(l1[0].negated);
    CHECK(l1[0].value == "DAV:no-lock");
    CHECK(l1[1].value == "W/\"x\"");
    CHECK(h->state_tokens() == std::vector<std::string>{"urn:uuid:1", "DAV:no-lock"});
}

TEST_CASE("if parser reads tagged lists") {
    auto h = parse_if("<http://h/a> (<opaquelocktoken:x>) <http://h/b> ([\"t\"]) (Not [\"u\"])");
    REQUIRE(h.has_value());
    CHECK(h->tagged);
    REQUIRE(h->groups.size() == 2);
    CHECK(h->groups[0].resource == "http://h/a");
    CHECK(h->groups[1].lists.size() == 2);
}

TEST_CASE("if parser refuses malformed values") {
    for (const char* bad : {"", "()", "(<a>", "<http://h/a>", "(<a>) <http://h/b> (<c>)", "(Nott <a>)", "([bad])",
                            "x (<a>)", "(<>)"}) {
        INFO(bad);
        CHECK_FALSE(parse_if(bad).has_value());
    }
    std::string many;
    for (int i = 0; i < 65; ++i) many += "(<a>)";
    auto r = parse_if(many);
    REQUIRE_FALSE(r.has_value());
    CHECK(polder::is(r.error(), polder::errc::limit_exceeded));
}
