// expiry_task.cpp - the periodic trash / version expiry and blob collection
// of polder-webdavd.
//
// SECURITY: see expiry_task.hpp and maintenance.hpp.
// STANDARDS: none.
#include "expiry_task.hpp"

#include "maintenance.hpp"

#include "polder/log/log.hpp"

#include <algorithm>
#include <random>

namespace polder::webdav {

namespace {

// jittered - d scaled by a random factor in [low, high).
std::chrono::steady_clock::duration jittered(std::chrono::seconds d, double low, double high) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> factor(low, high);
    const auto ms = static_cast<std::int64_t>(static_cast<double>(d.count()) * 1000.0 * factor(rng));
    return std::chrono::milliseconds(std::max<std::int64_t>(ms, 100));
}

}  // namespace

expiry_task::expiry_task(db::pool& pool, blob::fs_store& blobs, expiry_settings settings)
    : pool_(pool), blobs_(blobs), settings_(settings) {}

void expiry_task::start(asio::any_io_executor ex) {
    asio::co_spawn(asio::make_strand(ex), loop(), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("webdav.expiry_task_died", {{"error", std::string(ex.what())}});
        }
    });
}

awaitable<void> expiry_task::sleep(std::chrono::steady_clock::duration d) {
    // One-second slices: a stop is noticed within a second without a timer
    // that another thread would have to cancel.
    const auto until = std::chrono::steady_clock::now() + d;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!stopping_ && std::chrono::steady_clock::now() < until) {
        timer.expires_after(std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(1),
                                                                          until - std::chrono::steady_clock::now()));
        co_await timer.async_wait(use_tuple);
    }
}

awaitable<void> expiry_task::loop() {
    co_await sleep(jittered(settings_.interval, 0.1, 1.0));
    while (!stopping_) {
        const auto started = std::chrono::steady_clock::now();
        try {
            auto r = co_await pool_.run([this](pqxx::connection& conn) {
                return maintenance::run_once(conn, blobs_, settings_.keep, settings_.grace, &stopping_);
            });
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                  started)
                                .count();
            if (r.ran)
                log::info("webdav.expiry", {{"trash_expired", r.expired.trash},
                                            {"versions_expired", r.expired.versions},
                                            {"blobs_seen", r.gc.seen},
                                            {"blobs_removed", r.gc.removed},
                                            {"bytes_freed", r.gc.bytes},
                                            {"temp_swept", r.gc.temp_swept},
                                            {"inline_removed", r.gc.inline_removed},
                                            {"inline_bytes_freed", r.gc.inline_bytes},
                                            {"ms", static_cast<std::int64_t>(ms)}});
            else
                log::debug("webdav.expiry_skipped", {{"reason", "another process holds the expiry lock"}});
        } catch (const std::exception& e) {
            // The next round tries again; a broken database is the pool's to report.
            log::warn("webdav.expiry_failed", {{"error", std::string(e.what())}});
        }
        co_await sleep(jittered(settings_.interval, 0.9, 1.1));
    }
}

}  // namespace polder::webdav
