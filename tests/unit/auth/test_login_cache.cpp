// test_login_cache.cpp - auth::login_cache: only the exact address and secret of a cached
// success find it, entries expire, the table stays bounded.
// SECURITY: a wrong secret must never hit; nothing is found before an insert.
// STANDARDS: RFC 2104 (HMAC-SHA256 keys).
#include "polder/auth/login_cache.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace polder;

namespace {
auth::principal who(std::int64_t id) {
    auth::principal p;
    p.account_id = id;
    p.address = "user" + std::to_string(id) + "@example.org";
    return p;
}
}  // namespace

TEST_CASE("login cache finds only the exact address and secret of a cached success") {
    auth::login_cache cache;
    CHECK_FALSE(cache.find("anna@example.org", "secret").has_value());
    cache.insert("anna@example.org", "secret", who(7));
    auto hit = cache.find("anna@example.org", "secret");
    REQUIRE(hit.has_value());
    CHECK(hit->account_id == 7);
    CHECK_FALSE(cache.find("anna@example.org", "Secret").has_value());
    CHECK_FALSE(cache.find("anna@example.org", "secret ").has_value());
    CHECK_FALSE(cache.find("bert@example.org", "secret").has_value());
    // ("a", "b\0c") and ("a\0b", "c") are different keys (no separator ambiguity).
    cache.insert("a", std::string("b\0c", 3), who(1));
    CHECK_FALSE(cache.find(std::string("a\0b", 3), "c").has_value());
}

TEST_CASE("login cache entries expire and the table stays bounded") {
    auth::login_cache::options o;
    o.lifetime = std::chrono::seconds(1);
    o.max_entries = 3;
    auth::login_cache cache(o);
    for (int i = 0; i < 10; ++i) cache.insert("u" + std::to_string(i), "pw", who(i));
    CHECK(cache.size() <= 3);
    CHECK(cache.find("u9", "pw").has_value());   // the newest is always kept
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CHECK_FALSE(cache.find("u9", "pw").has_value());
    auth::login_cache::options off;
    off.lifetime = std::chrono::seconds(0);
    auth::login_cache disabled(off);
    disabled.insert("anna@example.org", "secret", who(7));
    CHECK_FALSE(disabled.find("anna@example.org", "secret").has_value());
}
