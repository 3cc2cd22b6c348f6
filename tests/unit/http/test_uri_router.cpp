// test_uri_router.cpp - percent-decoding, request-target forms and the router.
#include <catch2/catch.hpp>

#include "polder/http/router.hpp"
#include "polder/http/uri.hpp"

#include <vector>

using namespace polder;
using namespace polder::http;

TEST_CASE("percent decoding decodes escapes and keeps other bytes") {
    CHECK(percent_decode("/a%20b/%C3%A9t%c3%a9").value() == "/a b/\xc3\xa9t\xc3\xa9");
    CHECK(percent_decode("plain").value() == "plain");
    CHECK(percent_decode("").value() == "");
    CHECK(percent_decode("a+b").value() == "a+b");
    CHECK(percent_decode("a+b", {.plus_as_space = true}).value() == "a b");
    CHECK(percent_decode("%2e%2E").value() == "..");   // callers must normalise after decoding
}

TEST_CASE("percent decoding rejects an encoded NUL always and an encoded slash unless allowed") {
    for (std::string_view s : std::vector<std::string_view>{"%00", "a%00b", "/x%2F..", "%2f", "%", "%4", "%G0", "%0G", "abc%", std::string_view("a\0b", 3)}) {
        INFO(std::string(s));
        auto r = percent_decode(s);
        REQUIRE(r.has_error());
        CHECK(polder::is(r.error(), errc::invalid_argument));
    }
    CHECK(percent_decode("a%2Fb", {.allow_encoded_slash = true}).value() == "a/b");
    CHECK(percent_decode("%00", {.allow_encoded_slash = true}).has_error());
}

TEST_CASE("percent encoding of a path round-trips through decoding") {
    const std::string path = "/home/jos\xc3\xa9/Q3 report (final) #2?.pdf%";
    const auto enc = percent_encode_path(path);
    CHECK(enc == "/home/jos%C3%A9/Q3%20report%20(final)%20%232%3F.pdf%25");
    CHECK(percent_decode(enc).value() == path);
}

TEST_CASE("request targets split into path and query in every allowed form") {
    auto t = split_target("/a/b?x=1&y=2");
    REQUIRE(t.has_value());
    CHECK(t->path == "/a/b");
    CHECK(t->query == "x=1&y=2");
    t = split_target("/");
    REQUIRE(t.has_value());
    CHECK(t->path == "/");
    CHECK(t->query.empty());
    t = split_target("http://example.test:8080/dav/x?q");
    REQUIRE(t.has_value());
    CHECK(t->path == "/dav/x");
    CHECK(t->query == "q");
    t = split_target("HTTPS://example.test");
    REQUIRE(t.has_value());
    CHECK(t->path == "/");
    t = split_target("http://example.test?q=1");
    REQUIRE(t.has_value());
    CHECK(t->path == "/");
    CHECK(t->query == "q=1");
    t = split_target("*");
    REQUIRE(t.has_value());
    CHECK(t->path == "*");
    for (std::string_view bad : std::vector<std::string_view>{"", "example.test:443", "a/b", "/a#frag", "/a b", "ftp://x/y", "http:///x",
                                 std::string_view("/a\0", 3), "/a\x7f"}) {
        INFO(std::string(bad));
        CHECK(split_target(bad).has_error());
    }
}

TEST_CASE("path prefixes match whole segments") {
    CHECK(prefix_matches("/", "/anything"));
    CHECK(prefix_matches("/dav", "/dav"));
    CHECK(prefix_matches("/dav", "/dav/"));
    CHECK(prefix_matches("/dav", "/dav/x/y"));
    CHECK_FALSE(prefix_matches("/dav", "/davx"));
    CHECK(prefix_matches("/dav/", "/dav/x"));
    CHECK(prefix_matches("/dav/", "/dav"));
    CHECK_FALSE(prefix_matches("/dav/", "/da"));
    CHECK_FALSE(prefix_matches("/dav", "/dav%2Fx"));   // an encoded slash is not a boundary
    CHECK_FALSE(prefix_matches("", "/"));
}

TEST_CASE("router picks the longest prefix, then the exact method, then any method") {
    auto tag = [](std::string name) {
        return [name](request&) -> awaitable<response> { co_return text_response(status::ok, name); };
    };
    router r;
    r.add("GET", "/", tag("root-get"));
    r.add("GET", "/files", tag("files-get"));
    r.add("PUT", "/files", tag("files-put"), {.max_body = 1000});
    r.add("*", "/files/special", tag("special-any"));
    r.add("GET", "/files/special", tag("special-get"));

    auto m = r.find("GET", "/files/a.txt");
    REQUIRE(m.status == 200);
    CHECK(m.options->max_body == std::nullopt);
    m = r.find("PUT", "/files/a.txt");
    REQUIRE(m.status == 200);
    CHECK(m.options->max_body == 1000u);
    m = r.find("DELETE", "/files/a.txt");
    CHECK(m.status == 405);
    CHECK(m.allow == "GET, HEAD, PUT");
    CHECK(r.find("HEAD", "/files/a.txt").status == 200);   // HEAD served by the GET route
    CHECK(r.find("get", "/files/a.txt").status == 405);    // methods are case-sensitive
    CHECK(r.find("DELETE", "/files/special/x").status == 200);
    CHECK(r.find("GET", "/elsewhere").status == 200);      // falls to "/"
    CHECK(r.find("POST", "/elsewhere").status == 405);

    router empty;
    CHECK(empty.find("GET", "/").status == 404);
    router only;
    only.add("GET", "/api", tag("api"));
    CHECK(only.find("GET", "/apix").status == 404);
    CHECK(only.find("GET", "*").status == 404);
}
