// test_app_password.cpp - the app-password format: generation, parsing, canonical form.
#include <catch2/catch.hpp>

#include "polder/auth/app_password.hpp"
#include "polder/auth/password.hpp"

#include <set>

using namespace polder::auth;

TEST_CASE("a generated app password parses back to its own public id and canonical form") {
    for (int i = 0; i < 50; ++i) {
        auto p = generate_app_password();
        REQUIRE(p.display.size() == 3 + 8 + 4 * 7);
        CHECK(p.display.rfind("ap-", 0) == 0);
        auto t = parse_app_password(p.display);
        REQUIRE(t);
        CHECK(t->public_id == p.token.public_id);
        CHECK(t->canonical == p.token.canonical);
        CHECK(t->canonical.size() == 2 + 8 + 24);
    }
}

TEST_CASE("app password parsing ignores case, dashes and spaces") {
    const std::string typed = "ap-k3mz9qa7-vbnt2c-xw8hfe-4dyr6p-mu5sgj";
    auto a = parse_app_password(typed);
    REQUIRE(a);
    CHECK(a->public_id == "k3mz9qa7");
    CHECK(a->canonical == "apk3mz9qa7vbnt2cxw8hfe4dyr6pmu5sgj");
    auto b = parse_app_password("AP K3MZ9QA7 VBNT2C XW8HFE 4DYR6P MU5SGJ");
    REQUIRE(b);
    CHECK(b->canonical == a->canonical);
    auto c = parse_app_password("apk3mz9qa7vbnt2cxw8hfe4dyr6pmu5sgj");
    REQUIRE(c);
    CHECK(c->canonical == a->canonical);
}

TEST_CASE("app password parsing refuses other shapes") {
    CHECK_FALSE(parse_app_password(""));
    CHECK_FALSE(parse_app_password("correct horse battery staple"));
    CHECK_FALSE(parse_app_password("ap-k3mz9qa7-vbnt2c-xw8hfe-4dyr6p-mu5sg"));     // one symbol short
    CHECK_FALSE(parse_app_password("ap-k3mz9qa7-vbnt2c-xw8hfe-4dyr6p-mu5sgjj"));   // one too many
    CHECK_FALSE(parse_app_password("xp-k3mz9qa7-vbnt2c-xw8hfe-4dyr6p-mu5sgj"));    // wrong marker
    CHECK_FALSE(parse_app_password("ap-k3mz9qa0-vbnt2c-xw8hfe-4dyr6p-mu5sgj"));    // '0' not in the alphabet
    CHECK_FALSE(parse_app_password("ap-k3mz9qa1-vbnt2c-xw8hfe-4dyr6p-mu5sgl"));    // '1' and 'l' neither
    CHECK_FALSE(parse_app_password(std::string(200, 'a')));
    // generated account passwords never look like app passwords
    for (int i = 0; i < 50; ++i) CHECK_FALSE(parse_app_password(generate_password()));
}

TEST_CASE("app password public ids and secrets are unique") {
    std::set<std::string> ids, canon;
    for (int i = 0; i < 500; ++i) {
        auto p = generate_app_password();
        ids.insert(p.token.public_id);
        canon.insert(p.token.canonical);
    }
    CHECK(ids.size() == 500);
    CHECK(canon.size() == 500);
}
