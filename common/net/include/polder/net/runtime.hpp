// polder/net/runtime.hpp - the I/O runtime of a service process: one
// io_context run by N threads, SIGINT/SIGTERM for a graceful stop, SIGHUP for
// reloading (TLS certificates, ...).
//
//   net::runtime rt(cfg.common.threads);
//   net::server srv(rt, lim, tls);          // registers its stop with rt
//   srv.listen({...}, session);
//   rt.run();                                // returns after SIGTERM once sessions ended
//
// run() returns when stop() was called (or a signal arrived) and all work is
// done: servers have closed their listeners and their sessions have ended
// (servers force-close sessions after their grace period). As a last resort
// run() stops the io_context after the stop deadline (see set_stop_deadline),
// so a component that never finishes cannot hang a shutdown forever.
//
// SECURITY: a second SIGINT/SIGTERM during the graceful stop kills the
// process (default action), as an operator expects. Callbacks run on an I/O
// thread; exceptions from them are logged, never propagated.
//
// STANDARDS: POSIX signals.
#pragma once

#include "polder/asio/asio.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace polder::net {

class runtime {
public:
    // threads >= 1 (0 is treated as 1). handle_signals=false leaves process
    // signals alone (tests that run several runtimes).
    explicit runtime(unsigned threads, bool handle_signals = true);
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    asio::io_context& io() { return io_; }
    unsigned threads() const { return threads_; }

    void on_reload(std::function<void()> cb);  // SIGHUP or reload()
    void on_stop(std::function<void()> cb);    // once, when stopping begins

    // run - blocks the calling thread (plus threads-1 more) until stopped and idle.
    // Call once.
    void run();
    // stop - begin the graceful stop. Thread-safe, idempotent, may be called before run().
    void stop();
    // reload - run the reload callbacks (what SIGHUP does). Thread-safe.
    void reload();
    bool stopping() const { return stopping_.load(std::memory_order_acquire); }

    // set_stop_deadline - after stop(), run() gives up waiting after this long
    // (default 30 s). extend_stop_deadline raises it to at least d (servers
    // ask for their grace period plus 5 s).
    void set_stop_deadline(std::chrono::steady_clock::duration d);
    void extend_stop_deadline(std::chrono::steady_clock::duration d);

private:
    void wait_signal();
    void do_stop();
    void watchdog();
    void run_loop();

    unsigned threads_;
    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
    std::optional<asio::signal_set> signals_;
    std::mutex mutex_;
    std::vector<std::function<void()>> reload_cbs_;
    std::vector<std::function<void()>> stop_cbs_;
    std::atomic<bool> stopping_{false};
    std::chrono::steady_clock::duration stop_deadline_{std::chrono::seconds(30)};
    // watchdog: forces io_.stop() when the stop deadline passes.
    std::thread watchdog_;
    std::condition_variable watchdog_cv_;
    bool run_finished_ = false;
    std::optional<std::chrono::steady_clock::time_point> stop_requested_at_;
};

}  // namespace polder::net
