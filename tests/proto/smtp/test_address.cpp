// test_address.cpp - RFC 5321 address pieces: IPv4/IPv6 literals, domains, UTF-8, xtext.
#include <catch2/catch.hpp>

#include "polder/smtp/proto/address.hpp"

using namespace polder::smtp;

TEST_CASE("address literal validation follows RFC 5321 section 4.1.3") {
    for (const char* ok : {"[192.0.2.1]", "[0.0.0.0]", "[255.255.255.255]", "[IPv6:::1]", "[IPv6:2001:db8::]",
                           "[ipv6:2001:DB8:0:0:8:800:200C:417A]", "[IPv6:::ffff:192.0.2.1]", "[IPv6:1:2:3:4:5:6:7:8]",
                           "[IPv6:1:2:3:4:5:6:1.2.3.4]", "[IPv6:::]", "[IPv6:1::]"})
        CHECK(is_valid_address_literal(ok));
    for (const char* bad : {"[]", "[256.0.0.1]", "[1.2.3]", "[1.2.3.4.5]", "[1.2.3.4", "1.2.3.4", "[a.b.c.d]",
                            "[IPv6:1:2:3:4:5:6:7:8:9]", "[IPv6:1::2::3]", "[IPv6:12345::]", "[IPv6:1:2:3:4:5:6:7]",
                            "[IPv6::1]", "[IPv6:1:]", "[IPv6:1:2:3:4:5:6:7:1.2.3.4]", "[IPv6:]", "[tag:content]",
                            "[IPv6:g::1]"})
        CHECK_FALSE(is_valid_address_literal(bad));
}

TEST_CASE("domain validation checks labels, hyphens and UTF-8") {
    CHECK(is_valid_domain("example.org", false));
    CHECK(is_valid_domain("a-b.c1", false));
    CHECK(is_valid_domain("localhost", false));
    CHECK_FALSE(is_valid_domain("", false));
    CHECK_FALSE(is_valid_domain("a_b.org", false));
    CHECK_FALSE(is_valid_domain("example.org.", false));
    CHECK_FALSE(is_valid_domain(".example.org", false));
    CHECK_FALSE(is_valid_domain("b\xC3\xBC" "cher.example", false));
    CHECK(is_valid_domain("b\xC3\xBC" "cher.example", true));
    CHECK_FALSE(is_valid_domain(std::string(256, 'a'), false));
}

TEST_CASE("utf-8 validation is strict") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain"));
    CHECK(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));   // é € 😀
    CHECK_FALSE(is_valid_utf8("\xC0\x80"));          // overlong NUL
    CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xFF"));
    CHECK_FALSE(is_valid_utf8("\xC3"));              // truncated
    CHECK_FALSE(is_valid_utf8("\x80"));              // lone continuation
}

TEST_CASE("xtext decodes hexchars and refuses malformed or control values") {
    CHECK(xtext_decode("") == std::string());
    CHECK(xtext_decode("abc") == std::string("abc"));
    CHECK(xtext_decode("a+2Bb+3Dc") == std::string("a+b=c"));
    CHECK(xtext_decode("a+2bb") == std::string("a+b"));   // lower-case hex accepted
    CHECK(xtext_decode("+20") == std::string(" "));
    CHECK_FALSE(xtext_decode("a+"));
    CHECK_FALSE(xtext_decode("a+2"));
    CHECK_FALSE(xtext_decode("a+G0"));
    CHECK_FALSE(xtext_decode("a=b"));
    CHECK_FALSE(xtext_decode("a b"));
    CHECK_FALSE(xtext_decode("+0A"));
    CHECK_FALSE(xtext_decode("+00"));
    CHECK_FALSE(xtext_decode("+7F"));
    CHECK_FALSE(xtext_decode("\xC3\xA9"));
}

TEST_CASE("xtext encoding round-trips through decoding") {
    const std::string value = "user+tag=x@example.org ~!";
    const std::string enc = xtext_encode(value);
    CHECK(enc == "user+2Btag+3Dx@example.org+20~!");
    CHECK(xtext_decode(enc) == value);
}

TEST_CASE("mailbox parsing keeps wire form and unquoted value apart") {
    auto r = parse_mailbox("\"a.b\"@example.org", false);
    REQUIRE(r);
    CHECK(r.value->local_part == "\"a.b\"");
    CHECK(r.value->local_value == "a.b");
    CHECK(r.value->str() == "\"a.b\"@example.org");

    CHECK_FALSE(parse_mailbox("\"unterminated@example.org", false));
    CHECK_FALSE(parse_mailbox("\"a\\\x01\"@example.org", false));   // quoted-pair of a control character
    CHECK_FALSE(parse_mailbox("a@example.org extra", false));
    CHECK_FALSE(parse_mailbox("a", false));
    auto u = parse_mailbox("\"\xC3\xA9\"@example.org", false);
    REQUIRE_FALSE(u);
    CHECK(u.error == address_error::non_ascii);
}
