// test_size.cpp - storage sizes and quotas as administrators type them.
#include <catch2/catch.hpp>

#include "polder/auth/size.hpp"

#include <cstdint>

using namespace polder::auth;

TEST_CASE("parse size reads binary units in any spelling") {
    CHECK(*parse_size("123") == 123);
    CHECK(*parse_size("1K") == 1024);
    CHECK(*parse_size("10G") == 10ull << 30);
    CHECK(*parse_size("10g") == 10ull << 30);
    CHECK(*parse_size("10GiB") == 10ull << 30);
    CHECK(*parse_size("10 GB") == 10ull << 30);
    CHECK(*parse_size("512M") == 512ull << 20);
    CHECK(*parse_size("1.5G") == (3ull << 30) / 2);
    CHECK(*parse_size("2T") == 2ull << 40);
    CHECK(*parse_size("0") == 0);
}

TEST_CASE("parse size refuses garbage, negatives, fractions of bytes and overflow") {
    CHECK_THAT(parse_size("").reason(), Catch::Contains("empty"));
    CHECK_THAT(parse_size("-5G").reason(), Catch::Contains("number"));
    CHECK_THAT(parse_size("10X").reason(), Catch::Contains("unknown size unit"));
    CHECK_THAT(parse_size("1.5").reason(), Catch::Contains("fraction"));
    CHECK_THAT(parse_size("5.G").reason(), Catch::Contains("without digits"));
    CHECK_THAT(parse_size("99999999999P").reason(), Catch::Contains("too large"));
    CHECK_THAT(parse_size("9223372036854775808").reason(), Catch::Contains("too large"));
    CHECK(*parse_size("9223372036854775807") == 9223372036854775807ull);
    CHECK_FALSE(parse_size(std::string(40, '1')).ok());
}

TEST_CASE("parse quota understands unlimited") {
    CHECK_FALSE(parse_quota("unlimited")->has_value());
    CHECK_FALSE(parse_quota("NONE")->has_value());
    CHECK(parse_quota("10G")->value() == 10ull << 30);
    CHECK_THAT(parse_quota("lots").reason(), Catch::Contains("unlimited"));
}

TEST_CASE("format size shows one decimal in the largest fitting unit") {
    CHECK(format_size(0) == "0 B");
    CHECK(format_size(1023) == "1023 B");
    CHECK(format_size(1024) == "1 KiB");
    CHECK(format_size(10ull << 30) == "10 GiB");
    CHECK(format_size((3ull << 30) / 2) == "1.5 GiB");
}
