// periodic.cpp - the loop of a periodic_task (see periodic.hpp).
//
// SECURITY: none (no input). STANDARDS: none.
#include "polder/service/periodic.hpp"

#include "polder/log/log.hpp"

#include <algorithm>
#include <random>
#include <utility>

namespace polder::service {

namespace {

// jittered - d scaled by a random factor in [low, high), at least 100 ms.
std::chrono::steady_clock::duration jittered(std::chrono::seconds d, double low, double high) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> factor(low, high);
    const auto ms = static_cast<std::int64_t>(static_cast<double>(d.count()) * 1000.0 * factor(rng));
    return std::chrono::milliseconds(std::max<std::int64_t>(ms, 100));
}

}  // namespace

periodic_task::periodic_task(std::string name, std::chrono::seconds interval, round_fn round)
    : name_(std::move(name)), interval_(interval), round_(std::move(round)) {}

void periodic_task::start(asio::any_io_executor ex) {
    asio::co_spawn(asio::make_strand(ex), loop(), [name = name_](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error(name + "_died", {{"error", std::string(ex.what())}});
        }
    });
}

awaitable<void> periodic_task::sleep(std::chrono::steady_clock::duration d) {
    // One-second slices: a stop is noticed within a second without a timer that another
    // thread would have to cancel.
    const auto until = std::chrono::steady_clock::now() + d;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
        timer.expires_after(std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(1),
                                                                          until - std::chrono::steady_clock::now()));
        co_await timer.async_wait(use_tuple);
    }
}

awaitable<void> periodic_task::loop() {
    co_await sleep(jittered(interval_, 0.1, 1.0));
    while (!stopping_) {
        try {
            co_await round_(stopping_);
        } catch (const std::exception& e) {
            // The next round tries again; a broken database is the pool's to report.
            log::warn(name_ + "_failed", {{"error", std::string(e.what())}});
        }
        co_await sleep(jittered(interval_, 0.9, 1.1));
    }
}

}  // namespace polder::service
