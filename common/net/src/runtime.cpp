// runtime.cpp - io_context threads, signals, graceful stop with a deadline.
//
// The io_context is kept alive by a work guard until stop(); after that,
// run() returns as soon as the last piece of work (sessions, timers) is
// gone. A watchdog thread enforces the stop deadline, so shutdown is bounded
// even if some component ignores the stop.
//
// SECURITY: exceptions escaping a handler are logged and the thread goes on
// running the io_context; one bad handler cannot stop the process. SIGPIPE is
// ignored: a write to a socket whose peer has gone would otherwise end the
// whole process (asio's sends pass MSG_NOSIGNAL, sendfile(2) cannot); such a
// write fails with EPIPE and only that connection ends.
//
// STANDARDS: POSIX signals (SIGINT, SIGTERM, SIGHUP, SIGPIPE).
#include "polder/net/runtime.hpp"

#include "polder/log/log.hpp"

#include <csignal>

namespace polder::net {

runtime::runtime(unsigned threads, bool handle_signals)
    : threads_(threads == 0 ? 1 : threads), io_(static_cast<int>(threads == 0 ? 1 : threads)) {
    guard_.emplace(io_.get_executor());
    std::signal(SIGPIPE, SIG_IGN);
    if (handle_signals) {
        signals_.emplace(io_, SIGINT, SIGTERM, SIGHUP);
        wait_signal();
    }
}

runtime::~runtime() {
    {
        std::lock_guard lock(mutex_);
        run_finished_ = true;
    }
    watchdog_cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
}

void runtime::wait_signal() {
    signals_->async_wait([this](const boost::system::error_code& ec, int sig) {
        if (ec) return;  // cancelled by stop()
        if (sig == SIGHUP) {
            log::info("runtime.signal", {{"signal", "SIGHUP"}, {"action", "reload"}});
            reload();
            wait_signal();
            return;
        }
        log::info("runtime.signal", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}, {"action", "stop"}});
        stop();
    });
}

void runtime::on_reload(std::function<void()> cb) {
    std::lock_guard lock(mutex_);
    reload_cbs_.push_back(std::move(cb));
}

void runtime::on_stop(std::function<void()> cb) {
    std::lock_guard lock(mutex_);
    stop_cbs_.push_back(std::move(cb));
}

void runtime::set_stop_deadline(std::chrono::steady_clock::duration d) {
    std::lock_guard lock(mutex_);
    stop_deadline_ = d;
}

void runtime::extend_stop_deadline(std::chrono::steady_clock::duration d) {
    std::lock_guard lock(mutex_);
    if (d > stop_deadline_) stop_deadline_ = d;
}

void runtime::reload() {
    std::vector<std::function<void()>> cbs;
    {
        std::lock_guard lock(mutex_);
        cbs = reload_cbs_;
    }
    for (auto& cb : cbs) {
        try {
            cb();
        } catch (const std::exception& e) {
            log::error("runtime.reload_failed", {{"error", e.what()}});
        }
    }
}

void runtime::stop() {
    if (stopping_.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(io_, [this] { do_stop(); });
}

void runtime::do_stop() {
    log::info("runtime.stopping");
    if (signals_) {
        // Back to the default actions: a second Ctrl-C ends the process at once.
        boost::system::error_code ignored;
        signals_->cancel(ignored);
        signals_->clear(ignored);
    }
    std::vector<std::function<void()>> cbs;
    {
        std::lock_guard lock(mutex_);
        cbs.swap(stop_cbs_);
        stop_requested_at_ = std::chrono::steady_clock::now();
    }
    watchdog_cv_.notify_all();
    for (auto& cb : cbs) {
        try {
            cb();
        } catch (const std::exception& e) {
            log::error("runtime.stop_callback_failed", {{"error", e.what()}});
        }
    }
    guard_.reset();
}

void runtime::run_loop() {
    for (;;) {
        try {
            io_.run();
            return;
        } catch (const std::exception& e) {
            log::error("runtime.uncaught_exception", {{"error", e.what()}});
        } catch (...) {
            log::error("runtime.uncaught_exception", {{"error", "unknown exception"}});
        }
    }
}

void runtime::watchdog() {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (run_finished_) return;
        if (stop_requested_at_) {
            auto deadline = *stop_requested_at_ + stop_deadline_;
            if (std::chrono::steady_clock::now() >= deadline) {
                lock.unlock();
                log::warn("runtime.stop_deadline_passed", {{"action", "stopping the io_context"}});
                io_.stop();
                return;
            }
            watchdog_cv_.wait_until(lock, deadline);
        } else {
            watchdog_cv_.wait(lock);
        }
    }
}

void runtime::run() {
    {
        std::lock_guard lock(mutex_);
        run_finished_ = false;
    }
    watchdog_ = std::thread([this] { watchdog(); });
    std::vector<std::thread> pool;
    pool.reserve(threads_ - 1);
    for (unsigned i = 1; i < threads_; ++i) pool.emplace_back([this] { run_loop(); });
    run_loop();
    for (auto& t : pool) t.join();
    {
        std::lock_guard lock(mutex_);
        run_finished_ = true;
    }
    watchdog_cv_.notify_all();
    watchdog_.join();
    log::info("runtime.stopped");
}

}  // namespace polder::net
