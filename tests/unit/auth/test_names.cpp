// test_names.cpp - organisation names, display names, group names, labels, UTF-8.
#include <catch2/catch.hpp>

#include "polder/auth/names.hpp"

#include <string>

using namespace polder::auth;

TEST_CASE("organisation names are lower-cased slugs") {
    CHECK(*normalize_org_name("Gemeente-Utrecht") == "gemeente-utrecht");
    CHECK(*normalize_org_name("example.test") == "example.test");
    CHECK(normalize_org_name(std::string(63, 'a')).ok());
    CHECK_THAT(normalize_org_name(std::string(64, 'a')).reason(), Catch::Contains("63"));
    CHECK_THAT(normalize_org_name("").reason(), Catch::Contains("empty"));
    CHECK_THAT(normalize_org_name("a b").reason(), Catch::Contains("only letters"));
    CHECK_THAT(normalize_org_name("-abc").reason(), Catch::Contains("start with"));
    CHECK_FALSE(normalize_org_name("caf\xC3\xA9").ok());
}

TEST_CASE("display names are trimmed and refuse control characters and bad UTF-8") {
    CHECK(*check_display_name("  Jan de Vries ") == "Jan de Vries");
    CHECK(*check_display_name("") == "");
    CHECK(*check_display_name("Ren\xC3\xA9" "e") == "Ren\xC3\xA9" "e");
    CHECK_THAT(check_display_name("a\nb").reason(), Catch::Contains("control"));
    CHECK_THAT(check_display_name("a\xC2\x85" "b").reason(), Catch::Contains("control"));   // U+0085 NEL
    CHECK_THAT(check_display_name("\xC3\x28").reason(), Catch::Contains("UTF-8"));
    CHECK(check_display_name(std::string(256, 'x')).ok());
    CHECK_THAT(check_display_name(std::string(257, 'x')).reason(), Catch::Contains("256"));
    // 256 two-byte characters are 512 bytes and still allowed
    std::string two_byte;
    for (int i = 0; i < 256; ++i) two_byte += "\xC3\xA9";
    CHECK(check_display_name(two_byte).ok());
}

TEST_CASE("group names must not be empty or contain an at sign") {
    CHECK(*check_group_name(" Team Finance ") == "Team Finance");
    CHECK_THAT(check_group_name("  ").reason(), Catch::Contains("empty"));
    CHECK_THAT(check_group_name("a@b").reason(), Catch::Contains("'@'"));
    CHECK_FALSE(check_group_name(std::string(101, 'g')).ok());
}

TEST_CASE("labels are 1 to 100 characters") {
    CHECK(*check_label("Thunderbird laptop") == "Thunderbird laptop");
    CHECK_FALSE(check_label("").ok());
    CHECK_FALSE(check_label("tab\there").ok());
    CHECK(check_label(std::string(100, 'l')).ok());
    CHECK_FALSE(check_label(std::string(101, 'l')).ok());
}

TEST_CASE("valid utf8 refuses overlongs, surrogates and truncated sequences") {
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("\xF0\x9F\x98\x80"));            // U+1F600
    CHECK_FALSE(valid_utf8("\xC0\xAF"));             // overlong '/'
    CHECK_FALSE(valid_utf8("\xED\xA0\x80"));         // surrogate U+D800
    CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));     // above U+10FFFF
    CHECK_FALSE(valid_utf8("\xE2\x82"));             // truncated
    CHECK_FALSE(valid_utf8("\x80"));                 // lone continuation
    CHECK(utf8_length("a\xC3\xA9\xF0\x9F\x98\x80") == 3);
}
