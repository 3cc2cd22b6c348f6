// test_message_cache.cpp - mailstore::message_cache: hits and misses by row, the byte
// bound with least-recently-used eviction, and entries too large to keep.
// SECURITY: the bound holds whatever is put. STANDARDS: none.
#include "polder/mailstore/message_cache.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using polder::mailstore::message_cache;

namespace {
std::shared_ptr<const std::string> octets(std::size_t n, char c) { return std::make_shared<const std::string>(n, c); }
}  // namespace

TEST_CASE("message_cache returns what was put by row and nothing else") {
    message_cache cache(1000);
    CHECK(cache.get(1) == nullptr);
    cache.put(1, octets(100, 'a'));
    cache.put(2, octets(100, 'b'));
    REQUIRE(cache.get(1) != nullptr);
    CHECK(*cache.get(1) == std::string(100, 'a'));
    CHECK(*cache.get(2) == std::string(100, 'b'));
    CHECK(cache.get(3) == nullptr);
    // A row's octets never change: a second put keeps the first.
    cache.put(1, octets(100, 'z'));
    CHECK(*cache.get(1) == std::string(100, 'a'));
    CHECK(cache.bytes() == 200);
    CHECK(cache.entries() == 2);
    cache.put(4, nullptr);
    CHECK(cache.entries() == 2);
}

TEST_CASE("message_cache stays within its bytes, dropping the least recently used first") {
    message_cache cache(1000);
    for (int row = 1; row <= 4; ++row) cache.put(row, octets(250, static_cast<char>('a' + row)));
    CHECK(cache.bytes() == 1000);
    CHECK(cache.get(1) != nullptr);   // now the most recently used
    cache.put(5, octets(250, 'f'));    // evicts row 2, the least recently used
    CHECK(cache.bytes() == 1000);
    CHECK(cache.get(2) == nullptr);
    CHECK(cache.get(1) != nullptr);
    CHECK(cache.get(3) != nullptr);
    cache.put(6, octets(240, 'g'));    // evicts row 4 (1, 3 and 5 were used since)
    CHECK(cache.get(4) == nullptr);
    CHECK(cache.bytes() <= 1000);
    CHECK(cache.entries() == 4);
    // An entry over a quarter of the capacity is not kept (it would flush the others).
    cache.put(7, octets(251, 'h'));
    CHECK(cache.get(7) == nullptr);
    CHECK(cache.entries() == 4);
    // What a caller holds stays valid after eviction.
    auto held = cache.get(1);
    for (int row = 10; row < 20; ++row) cache.put(row, octets(200, 'x'));
    CHECK(cache.get(1) == nullptr);
    CHECK(*held == std::string(250, 'b'));
}

TEST_CASE("message_cache is safe to share between threads") {
    message_cache cache(4 * 1024);
    std::atomic<int> wrong{0};   // Catch2's assertions are not thread-safe: counted here
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&cache, &wrong, t] {
            for (int i = 0; i < 2000; ++i) {
                const std::int64_t row = (i * 7 + t) % 300;
                if (auto hit = cache.get(row)) {
                    if (hit->size() != static_cast<std::size_t>(row % 50 + 1)) ++wrong;
                } else {
                    cache.put(row, octets(static_cast<std::size_t>(row % 50 + 1), 'm'));
                }
            }
        });
    for (auto& th : threads) th.join();
    CHECK(wrong == 0);
    CHECK(cache.bytes() <= 4 * 1024);
}
