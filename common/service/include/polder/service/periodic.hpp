// polder/service/periodic.hpp - background work a service repeats for as long as it runs
// (expiry of the audit trail, of WebDAV trash and versions).
//
//   periodic_task audit("audit.expiry", std::chrono::seconds(3600),
//                       [&](const std::atomic<bool>& stopping) -> awaitable<void> { ... });
//   audit.start(executor);
//   ctx.on_stop([&] { audit.stop(); });
//
// Timing: the first round comes after a random 10-100% of the interval, later ones 90-110%
// of it after the previous round ended, so replicas started together drift apart (each
// round must still be safe to run in two processes at once: an advisory lock or SKIP
// LOCKED). A round that throws is logged ("<name>_failed", warn) and the next round tries
// again. stop() ends the loop within a second; a round in progress sees `stopping` and
// should end early when it is long.
//
// SECURITY: none (no input). STANDARDS: none.
#pragma once

#include "polder/asio/asio.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace polder::service {

class periodic_task {
public:
    using round_fn = std::function<awaitable<void>(const std::atomic<bool>& stopping)>;

    periodic_task(std::string name, std::chrono::seconds interval, round_fn round);
    periodic_task(const periodic_task&) = delete;
    periodic_task& operator=(const periodic_task&) = delete;

    // start - spawn the loop on ex (once). The task must outlive the loop: keep it until
    // the executor's io_context has stopped running.
    void start(asio::any_io_executor ex);
    // stop - the loop ends within a second (a round in progress finishes first).
    void stop() noexcept { stopping_ = true; }

private:
    awaitable<void> loop();
    awaitable<void> sleep(std::chrono::steady_clock::duration d);

    std::string name_;
    std::chrono::seconds interval_;
    round_fn round_;
    std::atomic<bool> stopping_{false};
};

}  // namespace polder::service
