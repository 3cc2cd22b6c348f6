// test_basic_auth.cpp - table tests for the HTTP Basic credentials parser.
#include <catch2/catch.hpp>

#include "polder/http/basic_auth.hpp"

#include <string>

using namespace polder;
using polder::http::base64_encode;
using polder::http::parse_basic_authorization;

namespace {
std::string basic(std::string_view userpass) { return "Basic " + base64_encode(userpass); }
}  // namespace

TEST_CASE("basic auth parser accepts valid credentials") {
    struct row {
        std::string field;
        std::string user;
        std::string password;
    };
    const row rows[] = {
        {basic("alice@example.test:s3cret"), "alice@example.test", "s3cret"},
        // RFC 7617 2: the user-id ends at the first colon; the password may hold more.
        {basic("alice:open:sesame:"), "alice", "open:sesame:"},
        {basic("alice:"), "alice", ""},
        {basic(":only-password"), "", "only-password"},
        // RFC 7617 2.1 charset=UTF-8: non-ASCII user-id and password.
        {basic("jos\xc3\xa9@example.test:w\xc3\xa4" "chter\xe2\x82\xac"), "jos\xc3\xa9@example.test",
         "w\xc3\xa4" "chter\xe2\x82\xac"},
        {"basic " + base64_encode("bob:pw"), "bob", "pw"},        // scheme is case-insensitive
        {"BASIC    " + base64_encode("bob:pw"), "bob", "pw"},     // 1*SP
        {"  Basic " + base64_encode("bob:pw") + "  ", "bob", "pw"},
        {"Basic Ym9iOnB3", "bob", "pw"},                          // no padding needed here
        {"Basic Ym9iOnB3eA", "bob", "pwx"},                       // padding omitted
        {"Basic Ym9iOnB3eA==", "bob", "pwx"},                     // padding present
        {"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin", "open sesame"},   // RFC 7617 example
    };
    for (const auto& r : rows) {
        INFO(r.field);
        auto c = parse_basic_authorization(r.field);
        REQUIRE(c.has_value());
        CHECK(c->user_id == r.user);
        CHECK(c->password == r.password);
    }
}

TEST_CASE("basic auth parser reports another scheme as not_found") {
    for (std::string f : {"Bearer abc.def.ghi", "Digest username=\"x\"", "Basics Ym9iOnB3", "", "Negotiate"}) {
        INFO(f);
        auto c = parse_basic_authorization(f);
        REQUIRE(c.has_error());
        CHECK(polder::is(c.error(), errc::not_found));
    }
}

TEST_CASE("basic auth parser rejects malformed credentials") {
    const std::string rows[] = {
        "Basic",                                   // no token
        "Basic ",                                  // empty token
        "Basic " + base64_encode("no-colon"),      // RFC 7617: user-pass needs a colon
        "Basic Ym9i*OnB3",                         // not base64
        "Basic Ym9iOnB3=",                         // wrong padding for this length
        "Basic Ym9iOnB3eA=",                       // padding that does not complete a quantum
        "Basic Ym9iO",                             // a length no encoding produces
        "Basic Ym9i OnB3",                         // a space inside the token
        "Basic Ym9iOnB3====",                      // too much padding
        "Basic Ym9iOnB3-_",                        // base64url alphabet is not base64
        basic("bob:pass\r\nX-Injected: 1"),        // control characters (RFC 7617 forbids CTLs)
        basic(std::string("bob:pa\0ss", 9)),       // NUL
        basic("bob\x7f:pw"),                       // DEL
        basic("bob:\xc3\x28"),                     // invalid UTF-8
        basic("bob:\xe0\x80\xaf"),                 // overlong UTF-8
        basic("bob:\xed\xa0\x80"),                 // UTF-16 surrogate in UTF-8
        basic("bob:\xf4\x90\x80\x80"),             // beyond U+10FFFF
        basic("bob:\xe2\x82"),                     // truncated sequence
    };
    for (const auto& f : rows) {
        INFO(f);
        auto c = parse_basic_authorization(f);
        REQUIRE(c.has_error());
        CHECK(polder::is(c.error(), errc::invalid_argument));
    }
}

TEST_CASE("basic auth parser refuses a field longer than the limit before decoding") {
    const std::string f = basic("bob:" + std::string(http::max_authorization_length, 'x'));
    auto c = parse_basic_authorization(f);
    REQUIRE(c.has_error());
    CHECK(polder::is(c.error(), errc::limit_exceeded));
}

TEST_CASE("base64 round-trips every length and byte value") {
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        auto back = http::base64_decode(base64_encode(bytes));
        REQUIRE(back.has_value());
        CHECK(*back == bytes);
        bytes.push_back(static_cast<char>(i * 37));
    }
}

TEST_CASE("basic challenge quotes the realm and announces UTF-8") {
    CHECK(http::basic_challenge("Polder") == "Basic realm=\"Polder\", charset=\"UTF-8\"");
    CHECK(http::basic_challenge("a\"b\\c\r\n") == "Basic realm=\"a\\\"b\\\\c\", charset=\"UTF-8\"");
}
