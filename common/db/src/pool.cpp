// pool.cpp - the database thread pool behind db::pool.
//
// Each of the `size` threads owns one connection (opened on its first job,
// replaced after it breaks) and takes jobs from one shared FIFO queue; a job
// posts its completion to the awaiting coroutine's executor, so the I/O
// threads only ever queue work and resume.
//
// SECURITY: bounded thread and connection count; a broken connection is
// dropped rather than reused, so a half-finished protocol state can never leak
// into the next job; connection errors carry no password.
// STANDARDS: none (see pool.hpp).
#include "polder/db/pool.hpp"

#include "polder/core/error.hpp"
#include "polder/log/log.hpp"
#include "polder/metrics/metrics.hpp"
#include "util.hpp"

#include <boost/system/system_error.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace polder::db {

namespace {

struct pool_metrics {
    metrics::counter& ok;
    metrics::counter& failed;
    metrics::histogram& duration;
    metrics::gauge& waiting;
    metrics::counter& reconnects;
};

pool_metrics& global_metrics() {
    auto& r = metrics::registry::global();
    static pool_metrics m{
        r.counter_("polder_db_queries_total", "Database jobs run by the pool, by outcome", {{"outcome", "ok"}}),
        r.counter_("polder_db_queries_total", "Database jobs run by the pool, by outcome", {{"outcome", "error"}}),
        r.histogram_("polder_db_query_duration_seconds", "Time a database job ran on its connection"),
        r.gauge_("polder_db_pool_waiting", "Database jobs queued and not yet started"),
        r.counter_("polder_db_reconnects_total", "Pool connections replaced after they broke"),
    };
    return m;
}

}  // namespace

namespace detail {

pqxx::connection& pool_slot::open() {
    if (last_failure_ && std::chrono::steady_clock::now() - last_failure_at_ < connect_retry_interval)
        std::rethrow_exception(last_failure_);
    try {
        conn_ = connect(*options_);
        last_failure_ = nullptr;
    } catch (...) {
        last_failure_ = std::current_exception();
        last_failure_at_ = std::chrono::steady_clock::now();  // when the attempt ended
        throw;
    }
    return *conn_;
}

pqxx::connection& pool_slot::connection() {
    if (conn_ && !conn_->is_open()) discard();
    if (!conn_) return open();
    return *conn_;
}

void pool_slot::reconnect() {
    discard();
    global_metrics().reconnects.inc();
    open();
}

void pool_slot::discard() noexcept {
    try {
        conn_.reset();
    } catch (...) {
        // Closing a broken connection may fail; it is gone either way.
    }
}

bool pool_slot::connected() const noexcept { return conn_ != nullptr; }

}  // namespace detail

struct pool::impl {
    connection_options options;
    unsigned size = 0;
    std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::unique_ptr<detail::pool_job>> queue;
    bool stopping = false;
    std::mutex stop_mutex;  // serialises stop() so threads are joined once
    std::vector<std::thread> threads;
    pool_metrics& m = global_metrics();

    void worker(unsigned index);
};

void pool::impl::worker(unsigned index) {
    detail::pool_slot slot(&options);
    for (;;) {
        std::unique_ptr<detail::pool_job> job;
        {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return stopping || !queue.empty(); });
            if (queue.empty()) break;  // stopping and drained
            job = std::move(queue.front());
            queue.pop_front();
            m.waiting.dec();
        }
        const auto started = std::chrono::steady_clock::now();
        std::exception_ptr error = job->run(slot);
        m.duration.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        (error ? m.failed : m.ok).inc();
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                if (is_connection_failure(e) && slot.connected()) {
                    log::warn("db.connection_lost", {{"thread", index}, {"error", detail::one_line(e.what())}});
                    slot.discard();
                    m.reconnects.inc();
                }
            } catch (...) {
            }
        }
        // The job (and whatever its function captured) is destroyed here, on
        // this thread, after the coroutine was resumed elsewhere.
        job.reset();
    }
    slot.discard();
}

pool::pool(connection_options options, unsigned size) : impl_(std::make_unique<impl>()) {
    if (size < 1 || size > max_pool_size)
        throw std::invalid_argument("db::pool: size must be between 1 and " + std::to_string(max_pool_size) +
                                    ", got " + std::to_string(size));
    (void)connection_string(options);  // reject invalid options now, not on the first job
    impl_->options = std::move(options);
    impl_->size = size;
    impl_->threads.reserve(size);
    try {
        for (unsigned i = 0; i < size; ++i) impl_->threads.emplace_back([this, i] { impl_->worker(i); });
    } catch (...) {
        stop();
        throw;
    }
}

pool::~pool() {
    try {
        stop();
    } catch (const std::exception& e) {
        log::error("db.pool_stop_failed", {{"error", e.what()}});
    }
}

void pool::submit(std::unique_ptr<detail::pool_job> job) {
    {
        std::lock_guard lock(impl_->mutex);
        if (!impl_->stopping) {
            impl_->queue.push_back(std::move(job));
            impl_->m.waiting.inc();
        }
    }
    if (job) {
        job->fail(std::make_exception_ptr(
            boost::system::system_error(make_error_code(errc::unavailable), "database pool is stopped")));
        return;
    }
    impl_->cv.notify_one();
}

void pool::stop() {
    std::lock_guard stop_lock(impl_->stop_mutex);
    for (auto& t : impl_->threads)
        if (t.get_id() == std::this_thread::get_id())
            throw std::logic_error("db::pool::stop called from a database job");
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->cv.notify_all();
    for (auto& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
}

unsigned pool::size() const noexcept { return impl_->size; }

std::size_t pool::waiting() const noexcept {
    std::lock_guard lock(impl_->mutex);
    return impl_->queue.size();
}

const connection_options& pool::options() const noexcept { return impl_->options; }

}  // namespace polder::db
