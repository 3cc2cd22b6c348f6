// polder/db/async_connection.hpp - one statement at a time on a libpq connection driven
// from the I/O threads.
//
//   db::async_connection c(executor, pool);
//   db::statement s{"SELECT id FROM t WHERE k = $1", {"x"}};
//   db::async_result rows = co_await c.exec(s);
//   for (auto row : rows) use(row[0].as<std::int64_t>());
//
// Why: db::pool runs work on threads of its own with blocking libpq, so every statement
// costs two thread hand-overs (the I/O thread wakes a database thread, which wakes the
// I/O thread with the answer). For the hottest one-statement writes (a batch of flag
// STOREs, a batch of new files) those wake-ups cost more CPU than the statement's own
// client side. Here the statement is sent from the awaiting coroutine itself (libpq in
// non-blocking mode), the socket is watched by the same io_context (epoll), and the
// coroutine resumes when the answer is there: no other thread is involved.
//
// The connection is opened (and reopened after it broke) on one of `pool`'s database
// threads, since a libpq connect blocks; at most once a second after a failed attempt
// (else connect_error at once, as pool_slot does). Each statement is prepared on the
// connection the first time it is sent (up to max_cached_statements texts; beyond that
// they are sent unprepared), then executed with text parameters.
//
// One statement at a time: exec() must not be called again before the previous call
// completed (std::logic_error). The object may be used from any thread of the io_context,
// one coroutine at a time.
//
// Errors: connect_error when no connection could be opened (nothing was sent);
// pqxx::sql_error (with the SQLSTATE) when the server refused the statement - a statement
// outside a transaction block then left nothing behind; pqxx::broken_connection when the
// connection broke (if it broke after the statement was sent, its outcome is unknown).
// The connection is dropped after a broken_connection and opened again by the next exec().
//
// SECURITY: parameters only (no statement text is built from values); the password is
// never in an error message; results are bounded by the statements callers send.
// STANDARDS: PostgreSQL 15 manual 34.4 (asynchronous command processing: PQsendPrepare,
// PQsendQueryPrepared, PQconsumeInput, PQisBusy, PQgetResult), 34.5 (non-blocking mode,
// PQflush).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/db/connection.hpp"
#include "polder/db/prepared.hpp"

#include <pqxx/strconv>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

struct pg_conn;
struct pg_result;

namespace polder::db {

class pool;

// async_field / async_row / async_result - read access to a result, with the few calls
// of pqxx::field / pqxx::row / pqxx::result that row parsers use, so a parser can be a
// template over either.
class async_field {
public:
    async_field(const pg_result* r, int row, int col) noexcept : r_(r), row_(row), col_(col) {}
    bool is_null() const noexcept;
    const char* c_str() const noexcept;   // "" for NULL
    std::size_t size() const noexcept;
    template <class T>
    T as() const {
        if (is_null()) throw std::domain_error("async_field: NULL where a value was expected");
        T value;
        pqxx::from_string(c_str(), value);
        return value;
    }

private:
    const pg_result* r_;
    int row_;
    int col_;
};

class async_row {
public:
    async_row(const pg_result* r, int row) noexcept : r_(r), row_(row) {}
    async_field operator[](int col) const noexcept { return {r_, row_, col}; }
    std::size_t size() const noexcept;

private:
    const pg_result* r_;
    int row_;
};

class async_result {
public:
    async_result() = default;
    explicit async_result(std::shared_ptr<const pg_result> r) noexcept : r_(std::move(r)) {}
    std::size_t size() const noexcept;
    bool empty() const noexcept { return size() == 0; }
    async_row operator[](std::size_t row) const noexcept { return {r_.get(), static_cast<int>(row)}; }

    class iterator {
    public:
        iterator(const pg_result* r, int row) noexcept : r_(r), row_(row) {}
        async_row operator*() const noexcept { return {r_, row_}; }
        iterator& operator++() noexcept {
            ++row_;
            return *this;
        }
        bool operator==(const iterator& o) const noexcept { return row_ == o.row_; }

    private:
        const pg_result* r_;
        int row_;
    };
    iterator begin() const noexcept { return {r_.get(), 0}; }
    iterator end() const noexcept { return {r_.get(), static_cast<int>(size())}; }

private:
    std::shared_ptr<const pg_result> r_;
};

class async_connection {
public:
    // async_connection - nothing connects until the first exec(). `opener` opens the
    // connection on one of its threads; it must outlive this object.
    async_connection(asio::any_io_executor ex, pool& opener);
    ~async_connection();
    async_connection(const async_connection&) = delete;
    async_connection& operator=(const async_connection&) = delete;

    // exec - see the top of this file.
    awaitable<async_result> exec(const statement& s);

    // close - drops the connection (a later exec() opens a new one).
    void close() noexcept;
    bool connected() const noexcept { return conn_ != nullptr; }

    static constexpr std::chrono::milliseconds connect_retry_interval{1000};

private:
    awaitable<void> open();
    awaitable<void> wait(bool for_write);
    awaitable<std::shared_ptr<const pg_result>> result_of(const std::string& sql);
    [[noreturn]] void broken(std::string_view what);

    asio::any_io_executor ex_;
    pool& opener_;
    pg_conn* conn_ = nullptr;
    std::unique_ptr<asio::posix::stream_descriptor> socket_;
    std::unordered_set<std::string> prepared_;   // SQL texts prepared on this connection
    std::optional<std::chrono::steady_clock::time_point> failed_at_;
    std::string last_failure_;
    bool busy_ = false;
};

}  // namespace polder::db
