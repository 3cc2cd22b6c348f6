// polder/db/pool.hpp - database work for coroutines, run off the I/O threads.
//
//   db::pool pool(options, 8);
//   auto count = co_await pool.run([](pqxx::connection& c) {
//       pqxx::read_transaction tx(c);
//       return tx.exec1("SELECT count(*) FROM directory.accounts")[0].as<long>();
//   });
//   auto id = co_await pool.transact([&](pqxx::work& tx) { ... }, db::isolation::serializable);
//
// The pool owns `size` connections, each used by exactly one dedicated thread
// of its own. run()/transact() queue the work, suspend the calling coroutine,
// and resume it on ITS OWN executor with the result - so an I/O thread never
// blocks on PostgreSQL. Exceptions thrown by the work (libpqxx errors, or the
// function's own) are rethrown in the awaiting coroutine. Results may be
// move-only and need not be default-constructible (e.g. polder::result<T>).
//
// Connections are opened lazily (on the first job a thread gets) and replaced
// after they break. While the database cannot be reached, a thread retries
// the connection at most once a second and fails the jobs in between at once
// with the last connect_error. A job whose connection broke fails with the libpqxx
// exception (translate() -> errc::unavailable); run() never silently runs the
// same work twice. transact() re-runs its function only (a) after a
// serialization failure or deadlock (see transact.hpp) or (b) when the
// connection broke BEFORE the COMMIT was sent: the server then rolled the
// transaction back, so running it again on a fresh connection cannot apply it
// twice. A connection lost during COMMIT is reported (in_doubt_error), never
// retried.
//
// The work function runs on a database thread while the awaiting coroutine is
// suspended, so it may capture the coroutine's locals by reference. It must
// not leave session state behind on the connection (SET without LOCAL,
// LISTEN, advisory locks, open cursors), because the next job reuses it; use
// transact() or an explicit transaction.
//
// A running query is not cancelled when its coroutine is: bound queries with
// connection_options::statement_timeout_ms instead.
//
// stop() stops accepting work (later run()/transact() throw
// boost::system::system_error with errc::unavailable), lets every queued job
// finish, closes the connections and joins the threads. Call it (or destroy
// the pool) BEFORE the io_context the callers run on is destroyed.
//
// Metrics: polder_db_queries_total{outcome="ok"|"error"},
// polder_db_query_duration_seconds (histogram, per job, queueing excluded),
// polder_db_pool_waiting (jobs queued and not yet started),
// polder_db_reconnects_total.
//
// SECURITY: bounded - `size` <= max_pool_size threads and connections; the
// queue holds at most one job per suspended coroutine.
// STANDARDS: none beyond transact.hpp (PostgreSQL transaction semantics).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/db/connection.hpp"
#include "polder/db/transact.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace polder::db {

inline constexpr unsigned max_pool_size = 256;

namespace detail {

// pool_slot - the connection of one database thread.
class pool_slot {
public:
    explicit pool_slot(const connection_options* options) : options_(options) {}
    // connection - the open connection, connecting first if there is none
    // (throws connect_error). Within connect_retry_interval of a failed
    // attempt it rethrows that failure at once instead of trying again, so
    // a queue of jobs does not wait out one connect timeout each while the
    // database is down.
    pqxx::connection& connection();
    // reconnect - drops the current connection and connects again.
    void reconnect();
    // discard - drops the connection; the next job connects again.
    void discard() noexcept;
    bool connected() const noexcept;

    static constexpr std::chrono::milliseconds connect_retry_interval{1000};

private:
    pqxx::connection& open();
    const connection_options* options_;
    std::unique_ptr<pqxx::connection> conn_;
    std::exception_ptr last_failure_;
    std::chrono::steady_clock::time_point last_failure_at_{};
};

// pool_job - one queued unit of work; run() executes it on a db thread and
// posts the completion to the awaiting coroutine's executor. Returns the
// exception the work threw (null on success), so the thread can notice a
// broken connection.
class pool_job {
public:
    virtual ~pool_job() = default;
    virtual std::exception_ptr run(pool_slot& slot) noexcept = 0;
    // fail - completes the job with an error without running it.
    virtual void fail(std::exception_ptr e) noexcept = 0;
};

template <class R>
struct completion_signature {
    using type = void(std::exception_ptr, std::optional<R>);
};
template <>
struct completion_signature<void> {
    using type = void(std::exception_ptr);
};

// completion - the awaiting coroutine's handler (completion_signature<R>) and its
// executor, kept busy until the result is posted there: the coroutine resumes on its own
// executor, never on a db thread. Completes exactly once (the handler is moved out).
template <class R, class Handler>
class completion {
public:
    explicit completion(Handler handler)
        : handler_(std::move(handler)),
          executor_(asio::prefer(asio::get_associated_executor(handler_),
                                 asio::execution::outstanding_work.tracked)) {}

    // complete - the exception (null on success), and for a non-void R the value.
    // Posting is done once per job; a failure to allocate here would lose the
    // coroutine, which std::terminate reports (noexcept).
    template <class... Args>
    void complete(Args&&... args) noexcept {
        asio::post(executor_, [handler = std::move(handler_),
                               ... a = std::forward<Args>(args)]() mutable { std::move(handler)(std::move(a)...); });
    }

    // fail - completes with e and no value.
    void fail(std::exception_ptr e) noexcept {
        if constexpr (std::is_void_v<R>)
            complete(e);
        else
            complete(e, std::optional<R>{});
    }

    // run - completes with what body() returns or throws; returns the exception.
    template <class Body>
    std::exception_ptr run(Body&& body) noexcept {
        std::exception_ptr error;
        if constexpr (std::is_void_v<R>) {
            try {
                body();
            } catch (...) {
                error = std::current_exception();
            }
            complete(error);
        } else {
            std::optional<R> value;
            try {
                value.emplace(body());
            } catch (...) {
                error = std::current_exception();
            }
            complete(error, std::move(value));
        }
        return error;
    }

private:
    Handler handler_;
    std::decay_t<decltype(asio::prefer(std::declval<asio::associated_executor_t<Handler>>(),
                                       asio::execution::outstanding_work.tracked))>
        executor_;
};

template <class R, class Handler, class Work>
class pool_job_impl final : public pool_job {
public:
    pool_job_impl(Handler handler, Work work) : done_(std::move(handler)), work_(std::move(work)) {}

    std::exception_ptr run(pool_slot& slot) noexcept override {
        return done_.run([&]() -> decltype(auto) { return work_(slot); });
    }

    void fail(std::exception_ptr e) noexcept override { done_.fail(e); }

private:
    completion<R, Handler> done_;
    Work work_;
};

}  // namespace detail

class pool {
public:
    // pool - `size` connections and threads (1..max_pool_size, else
    // std::invalid_argument). Nothing connects until work arrives.
    pool(connection_options options, unsigned size);
    ~pool();  // stop()
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // run - f(pqxx::connection&) on a database thread; see the top of this file.
    template <class F>
    auto run(F f) -> awaitable<std::invoke_result_t<F&, pqxx::connection&>> {
        using R = std::invoke_result_t<F&, pqxx::connection&>;
        static_assert(!std::is_reference_v<R>, "pool::run: return a value, not a reference");
        return submit_work<R>([f = std::move(f)](detail::pool_slot& slot) mutable -> R {
            return f(slot.connection());
        });
    }

    // transact - db::transact on a database thread, with reconnection before
    // COMMIT as described above. f(pqxx::work&) may run more than once.
    template <class F>
    auto transact(F f, isolation level = isolation::read_committed, int max_attempts = 5)
        -> awaitable<std::invoke_result_t<F&, pqxx::work&>> {
        using R = std::invoke_result_t<F&, pqxx::work&>;
        static_assert(!std::is_reference_v<R>, "pool::transact: return a value, not a reference");
        detail::check_attempts(max_attempts);
        return submit_work<R>([f = std::move(f), level, max_attempts](detail::pool_slot& slot) mutable -> R {
            const std::function<void()> reconnect = [&slot] { slot.reconnect(); };
            return detail::run_transaction([&slot]() -> pqxx::connection& { return slot.connection(); },
                                           &reconnect, f, level, max_attempts);
        });
    }

    // stop - see the top of this file. Blocks until queued work is done.
    // Idempotent. Must not be called from inside a job (std::logic_error).
    void stop();

    unsigned size() const noexcept;
    std::size_t waiting() const noexcept;  // queued, not yet started
    const connection_options& options() const noexcept;

private:
    template <class R, class Work>
    awaitable<R> submit_work(Work work) {
        using signature = typename detail::completion_signature<R>::type;
        auto initiation = [this](auto handler, Work w) {
            using job_type = detail::pool_job_impl<R, decltype(handler), Work>;
            submit(std::make_unique<job_type>(std::move(handler), std::move(w)));
        };
        if constexpr (std::is_void_v<R>) {
            co_await asio::async_initiate<decltype(use_awaitable), signature>(initiation, use_awaitable,
                                                                              std::move(work));
        } else {
            std::optional<R> value = co_await asio::async_initiate<decltype(use_awaitable), signature>(
                initiation, use_awaitable, std::move(work));
            co_return std::move(*value);
        }
    }

    // submit - queues the job, or fails it at once (errc::unavailable) when
    // the pool is stopped.
    void submit(std::unique_ptr<detail::pool_job> job);

    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace polder::db
