// test_sasl.cpp - strict base64, RFC 4616 PLAIN decoding and the AUTH PLAIN/LOGIN exchanges.
#include <catch2/catch.hpp>

#include "polder/smtp/proto/sasl.hpp"

using namespace polder::smtp;
using namespace polder::smtp::sasl;
using st = exchange::status;

TEST_CASE("base64 decoding is strict") {
    CHECK(base64_decode("") == std::string());
    CHECK(base64_decode("Zg==") == std::string("f"));
    CHECK(base64_decode("Zm8=") == std::string("fo"));
    CHECK(base64_decode("Zm9v") == std::string("foo"));
    CHECK(base64_decode("Zm9vYmFy") == std::string("foobar"));
    for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "Zm9v ", " Zm9v", "Zm\r\n9v", "Zm9v=", "Zh==", "Zm9=",
                            "Zg==Zg==", "Zm9*", "=Zm9", "Zm=v"})
        CHECK_FALSE(base64_decode(bad));
    CHECK(base64_encode("any carnal pleasure.") == "YW55IGNhcm5hbCBwbGVhc3VyZS4=");
    CHECK(base64_encode("") == "");
}

TEST_CASE("PLAIN messages decode into authzid, authcid and password") {
    using namespace std::string_literals;
    auto c = decode_plain("\0alice@example.org\0secret"s);
    REQUIRE(c);
    CHECK(c->authzid.empty());
    CHECK(c->authcid == "alice@example.org");
    CHECK(c->password == "secret");
    c = decode_plain("admin\0alice\0pw"s);
    REQUIRE(c);
    CHECK(c->authzid == "admin");
    for (const auto& bad : {"alice\0secret"s, "\0\0secret"s, "\0alice\0"s, "\0alice\0pw\0x"s, "no nul at all"s,
                            "\0alice\0\xC3"s, "\0"s + std::string(256, 'a') + "\0pw"s})
        CHECK_FALSE(decode_plain(bad));
}

TEST_CASE("AUTH PLAIN with an initial response finishes in one step") {
    exchange ex("PLAIN", base64_encode(std::string("\0bob\0hunter2", 12)));
    auto s = ex.start();
    REQUIRE(s.state == st::done);
    CHECK(s.creds.authcid == "bob");
    CHECK(s.creds.password == "hunter2");
}

TEST_CASE("AUTH PLAIN without an initial response sends an empty 334 challenge") {
    exchange ex("PLAIN", std::nullopt);
    auto s = ex.start();
    REQUIRE(s.state == st::challenge);
    CHECK(s.response.to_wire() == "334 \r\n");
    s = ex.respond(base64_encode(std::string("\0bob\0pw", 7)));
    REQUIRE(s.state == st::done);
    CHECK(s.creds.authcid == "bob");
    // The exchange is over; more input is an error, not a second login.
    CHECK(ex.respond("AGJvYgBwdw==").state == st::failed);
}

TEST_CASE("AUTH LOGIN asks for username then password") {
    exchange ex("LOGIN", std::nullopt);
    auto s = ex.start();
    REQUIRE(s.state == st::challenge);
    CHECK(s.response.to_wire() == "334 VXNlcm5hbWU6\r\n");
    s = ex.respond(base64_encode("carol@example.org"));
    REQUIRE(s.state == st::challenge);
    CHECK(s.response.to_wire() == "334 UGFzc3dvcmQ6\r\n");
    s = ex.respond(base64_encode("p4ss"));
    REQUIRE(s.state == st::done);
    CHECK(s.creds.authcid == "carol@example.org");
    CHECK(s.creds.password == "p4ss");
}

TEST_CASE("AUTH LOGIN accepts the username as initial response") {
    exchange ex("LOGIN", base64_encode("dave"));
    auto s = ex.start();
    REQUIRE(s.state == st::challenge);
    CHECK(s.response.lines[0] == "UGFzc3dvcmQ6");
    s = ex.respond(base64_encode("pw"));
    REQUIRE(s.state == st::done);
    CHECK(s.creds.authcid == "dave");
}

TEST_CASE("SASL exchange failures give the RFC 4954 replies") {
    SECTION("cancel") {
        exchange ex("LOGIN", std::nullopt);
        ex.start();
        auto s = ex.respond("*");
        CHECK(s.state == st::failed);
        CHECK(s.response.code == 501);
        CHECK(s.response.enhanced == "5.7.0");
    }
    SECTION("bad base64") {
        exchange ex("PLAIN", std::nullopt);
        ex.start();
        auto s = ex.respond("not base64!");
        CHECK(s.state == st::failed);
        CHECK(s.response.code == 501);
        CHECK(s.response.enhanced == "5.5.2");
    }
    SECTION("malformed PLAIN message") {
        exchange ex("PLAIN", base64_encode("bob"));
        auto s = ex.start();
        CHECK(s.state == st::failed);
        CHECK(s.response.code == 501);
    }
    SECTION("an empty initial response carries no credentials") {
        exchange ex("PLAIN", std::string("="));
        CHECK(ex.start().state == st::failed);
    }
    SECTION("line too long") {
        exchange ex("PLAIN", std::nullopt);
        ex.start();
        auto s = ex.respond(std::string(20000, 'A'));
        CHECK(s.state == st::failed);
        CHECK(s.response.code == 500);
        CHECK(s.response.enhanced == "5.5.6");
    }
    SECTION("unknown mechanism") {
        exchange ex("GSSAPI", std::nullopt);
        auto s = ex.start();
        CHECK(s.state == st::failed);
        CHECK(s.response.code == 504);
    }
    SECTION("empty LOGIN password") {
        exchange ex("LOGIN", base64_encode("dave"));
        ex.start();
        CHECK(ex.respond("").state == st::failed);
    }
}

TEST_CASE("SASL end replies carry the RFC 4954 codes") {
    CHECK(success().to_wire() == "235 2.7.0 Authentication successful\r\n");
    CHECK(invalid_credentials().to_wire() == "535 5.7.8 Authentication credentials invalid\r\n");
    CHECK(temporary_failure().code == 454);
}
