// test_webdav_paths.cpp - polder-webdavd's URL -> home path mapping.
//
// SECURITY: every spelling of ".." and encoded separators is refused; names
// are normalised to NFC; Windows-unstorable names are refused.
// STANDARDS: RFC 3986, UAX #15.
#include "paths.hpp"

#include <catch2/catch.hpp>

using namespace polder::webdav;

namespace {
std::optional<dav_path> parse(std::string_view raw, unsigned* status = nullptr) {
    path_error e;
    auto p = parse_dav_path(raw, e);
    if (status) *status = p ? 200 : e.status;
    return p;
}
}  // namespace

TEST_CASE("dav paths split the account from the path and decode each segment") {
    auto p = parse("/dav/files/Alice%40x.test/a%20b/c/");
    REQUIRE(p.has_value());
    CHECK(p->address == "alice@x.test");
    CHECK(p->path == "a b/c");
    CHECK(p->trailing_slash);
    auto root = parse("/dav/files/alice@x.test/");
    REQUIRE(root.has_value());
    CHECK(root->path.empty());
}

TEST_CASE("dav paths refuse dot segments and encoded separators in every form") {
    for (const char* raw : {"/dav/files/a@x.test/../b@x.test/f", "/dav/files/a@x.test/%2e%2e/b@x.test/f",
                            "/dav/files/a@x.test/%2E%2E", "/dav/files/a@x.test/x/./y", "/dav/files/a@x.test/a%2Fb",
                            "/dav/files/a@x.test/a%5Cb", "/dav/files/a@x.test/a%00b", "/dav/files/a@x.test/a//b",
                            "/dav/files/a@x.test/%ff%fe"}) {
        INFO(raw);
        unsigned status = 0;
        CHECK_FALSE(parse(raw, &status).has_value());
        CHECK(status == 400);
    }
    unsigned status = 0;
    CHECK_FALSE(parse("/elsewhere/x", &status).has_value());
    CHECK(status == 404);
}

TEST_CASE("dav paths normalise names to NFC") {
    auto nfd = parse("/dav/files/a@x.test/cafe%CC%81");   // e + combining acute
    auto nfc = parse("/dav/files/a@x.test/caf%C3%A9");
    REQUIRE(nfd.has_value());
    REQUIRE(nfc.has_value());
    CHECK(nfd->path == nfc->path);
    CHECK(nfc->path == "caf\xc3\xa9");
}

TEST_CASE("names windows cannot store are refused with a reason") {
    std::string reason;
    CHECK_FALSE(valid_name("a:b", reason));
    CHECK(reason.find("not allowed") != std::string::npos);
    CHECK_FALSE(valid_name(std::string(256, 'x'), reason));
    CHECK(valid_name("r\xc3\xa9sum\xc3\xa9 2026.odt", reason));
}

TEST_CASE("hrefs percent-encode names and mark collections") {
    CHECK(href("a@x.test", "a b/\xe2\x82\xac", true) == "/dav/files/a@x.test/a%20b/%E2%82%AC/");
    CHECK(href("a@x.test", "", true) == "/dav/files/a@x.test/");
    CHECK(parent_of("a/b/c") == "a/b");
    CHECK(parent_of("a").empty());
    CHECK(inside("a/b", "a"));
    CHECK_FALSE(inside("ab", "a"));
    CHECK(inside("x", ""));
    CHECK(ancestors("a/b/c") == std::vector<std::string>{"", "a", "a/b"});
}

TEST_CASE("Destination headers name a path of this server, checked like a request path") {
    path_error e;
    auto ok = parse_destination_path("https://files.example.test/dav/files/alice%40x.test/a%20b/c", "files.example.test", e);
    REQUIRE(ok.has_value());
    CHECK(ok->address == "alice@x.test");
    CHECK(ok->path == "a b/c");
    auto relative = parse_destination_path("/dav/files/alice@x.test/d", "files.example.test", e);
    REQUIRE(relative.has_value());
    CHECK(relative->path == "d");

    struct bad {
        const char* header;
        unsigned status;
    };
    for (const auto& b : {bad{"https://elsewhere.example/dav/files/alice@x.test/a", 502},
                          bad{"https://files.example.test/etc/passwd", 502},
                          bad{"https://files.example.test/dav/files/alice@x.test/%2e%2e/bob@x.test/a", 400},
                          bad{"https://files.example.test/dav/files/alice@x.test/a%2Fb", 400},
                          bad{"", 400}}) {
        INFO(b.header);
        path_error err;
        CHECK_FALSE(parse_destination_path(b.header, "files.example.test", err).has_value());
        CHECK(err.status == b.status);
    }
}

TEST_CASE("administrators' tree paths drop empty segments, normalise to NFC and refuse bad names") {
    std::string message;
    auto p = tree_path("/Projects//2026/", message);
    REQUIRE(p.has_value());
    CHECK(*p == "Projects/2026");
    CHECK(tree_path("Cafe\xcc\x81", message) == "Caf\xc3\xa9");
    CHECK_FALSE(tree_path("a/../b", message).has_value());
    CHECK(message.rfind("bad path 'a/../b': ", 0) == 0);
    CHECK_FALSE(tree_path(std::string(4097, 'a'), message).has_value());
    CHECK(message.find("bad path") == 0);   // a 4097-byte name is refused by valid_name first
    std::string long_path;
    for (int i = 0; i < 20; ++i) long_path += std::string(250, 'x') + "/";
    CHECK_FALSE(tree_path(long_path, message).has_value());
    CHECK(message == "path longer than 4096 bytes");
}
