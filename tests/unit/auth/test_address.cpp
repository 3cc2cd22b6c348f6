// test_address.cpp - address and domain validation: what is accepted, how it is
// normalised, and that each refusal names the problem.
#include <catch2/catch.hpp>

#include "polder/auth/address.hpp"

#include <string>

using polder::auth::normalize_domain;
using polder::auth::parse_address;

TEST_CASE("parse address lower-cases both halves") {
    auto a = parse_address("Alice.Smith@Example.TEST");
    REQUIRE(a.ok());
    CHECK(a->local_part == "alice.smith");
    CHECK(a->domain == "example.test");
    CHECK(a->str() == "alice.smith@example.test");
}

TEST_CASE("parse address accepts every RFC 5322 atext character in the local part") {
    auto a = parse_address("a!#$%&'*+-/=?^_`{|}~z@example.org");
    REQUIRE(a.ok());
    CHECK(a->local_part == "a!#$%&'*+-/=?^_`{|}~z");
}

TEST_CASE("parse address refuses malformed local parts with a reason") {
    struct bad { const char* input; const char* reason_part; };
    const bad cases[] = {
        {"@example.org", "empty"},
        {"a..b@example.org", "consecutive dots"},
        {".a@example.org", "starts or ends with a dot"},
        {"a.@example.org", "starts or ends with a dot"},
        {"a b@example.org", "a space"},
        {"a,b@example.org", "','"},
        {"\"quoted\"@example.org", "quoted"},
        {"jos\xC3\xA9@example.org", "non-ASCII"},
        {"a\x01@example.org", "control character"},
        {"no-at-sign.example.org", "no '@'"},
        {"", "empty"},
    };
    for (const auto& c : cases) {
        INFO(c.input);
        auto a = parse_address(c.input);
        REQUIRE_FALSE(a.ok());
        CHECK_THAT(a.reason(), Catch::Contains(c.reason_part));
    }
}

TEST_CASE("parse address enforces the RFC 5321 length limits") {
    std::string local64(64, 'a');
    CHECK(parse_address(local64 + "@example.org").ok());
    auto too_long_local = parse_address(local64 + "b@example.org");
    REQUIRE_FALSE(too_long_local.ok());
    CHECK_THAT(too_long_local.reason(), Catch::Contains("64"));

    // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253-octet domain, the longest allowed
    std::string domain = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                         std::string(61, 'd');
    REQUIRE(domain.size() == 253);
    CHECK(normalize_domain(domain).ok());
    CHECK_FALSE(normalize_domain(domain + "d").ok());
    // a valid local part and a valid domain can still make an over-long address
    auto too_long = parse_address(local64 + "@" + domain);
    REQUIRE_FALSE(too_long.ok());
    CHECK_THAT(too_long.reason(), Catch::Contains("254"));
}

TEST_CASE("normalize domain refuses malformed domains with a reason") {
    struct bad { const char* input; const char* reason_part; };
    const bad cases[] = {
        {"", "empty"},
        {"localhost", "two labels"},
        {"example..org", "empty label"},
        {".example.org", "empty label"},
        {"example.org.", "ends with a dot"},
        {"-example.org", "hyphen"},
        {"example-.org", "hyphen"},
        {"exa_mple.org", "'_'"},
        {"exa mple.org", "space"},
        {"10.0.0.1", "all digits"},
        {"[192.0.2.1]", "address literals"},
        {"xn--zz.example", "internationalised"},
        {"\xFF\xFE.example", "UTF-8"},
    };
    for (const auto& c : cases) {
        INFO(c.input);
        auto d = normalize_domain(c.input);
        REQUIRE_FALSE(d.ok());
        CHECK_THAT(d.reason(), Catch::Contains(c.reason_part));
    }
    std::string long_label(64, 'a');
    auto d = normalize_domain(long_label + ".org");
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(d.reason(), Catch::Contains("63"));
}

TEST_CASE("normalize domain stores internationalised domains as A-labels") {
    auto u = normalize_domain("B\xC3\xBC" "cher.Example");   // Bücher.Example
    REQUIRE(u.ok());
    CHECK(*u == "xn--bcher-kva.example");
    auto a = normalize_domain("XN--BCHER-KVA.example");
    REQUIRE(a.ok());
    CHECK(*a == "xn--bcher-kva.example");
    CHECK(polder::auth::domain_to_unicode("xn--bcher-kva.example") == "b\xC3\xBC" "cher.example");
    CHECK(polder::auth::domain_to_unicode("example.org") == "example.org");

    auto addr = parse_address("Info@B\xC3\xBC" "cher.example");
    REQUIRE(addr.ok());
    CHECK(addr->str() == "info@xn--bcher-kva.example");
}

TEST_CASE("parse address splits at the last at sign so an at sign in the local part is refused") {
    auto a = parse_address("a@b@example.org");
    REQUIRE_FALSE(a.ok());
    CHECK_THAT(a.reason(), Catch::Contains("'@'"));
}
