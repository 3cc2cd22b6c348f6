// async_connection.cpp - libpq in non-blocking mode on the io_context; see
// async_connection.hpp.
//
// SECURITY: parameters are sent separately from the statement text; connection errors
// are folded onto one line and carry no password (libpq never prints it).
// STANDARDS: PostgreSQL 15 manual 34.4, 34.5.
#include "polder/db/async_connection.hpp"

#include "polder/db/pool.hpp"
#include "polder/db/prepared.hpp"
#include "polder/log/log.hpp"
#include "util.hpp"

#include <libpq-fe.h>
#include <pqxx/except>

#include <stdexcept>

namespace polder::db {

bool async_field::is_null() const noexcept { return PQgetisnull(r_, row_, col_) != 0; }
const char* async_field::c_str() const noexcept { return PQgetvalue(r_, row_, col_); }
std::size_t async_field::size() const noexcept { return static_cast<std::size_t>(PQgetlength(r_, row_, col_)); }
std::size_t async_row::size() const noexcept { return static_cast<std::size_t>(PQnfields(r_)); }
std::size_t async_result::size() const noexcept { return r_ ? static_cast<std::size_t>(PQntuples(r_.get())) : 0; }

namespace {

struct result_deleter {
    void operator()(const pg_result* r) const noexcept { PQclear(const_cast<pg_result*>(r)); }
};

// open_blocking - on a database thread: a connection in non-blocking mode, or
// connect_error (the message names the target, never the password).
PGconn* open_blocking(const connection_options& options) {
    std::string conninfo;
    try {
        conninfo = connection_string(options);
    } catch (const std::invalid_argument& e) {
        throw connect_failure(options, e.what());
    }
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (c == nullptr) throw connect_failure(options, "out of memory");
    if (PQstatus(c) != CONNECTION_OK || PQsetnonblocking(c, 1) != 0) {
        connect_error failed = connect_failure(options, PQerrorMessage(c));
        PQfinish(c);
        throw failed;
    }
    // Notices (e.g. from functions) are not errors; they go to the log, not stderr.
    PQsetNoticeProcessor(
        c, [](void*, const char* message) { log::info("db.notice", {{"message", detail::one_line(message)}}); },
        nullptr);
    return c;
}

}  // namespace

async_connection::async_connection(asio::any_io_executor ex, pool& opener) : ex_(std::move(ex)), opener_(opener) {}

async_connection::~async_connection() { close(); }

void async_connection::close() noexcept {
    if (socket_) {
        boost::system::error_code ignored;
        socket_->cancel(ignored);
        (void)socket_->release();   // libpq owns the descriptor and closes it in PQfinish
        socket_.reset();
    }
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
}

void async_connection::broken(std::string_view what) {
    std::string why = conn_ != nullptr ? detail::one_line(PQerrorMessage(conn_)) : std::string();
    close();
    throw pqxx::broken_connection(std::string(what) + (why.empty() ? "" : ": " + why));
}

awaitable<void> async_connection::open() {
    const auto now = std::chrono::steady_clock::now();
    if (failed_at_ && now - *failed_at_ < connect_retry_interval) throw connect_error(last_failure_);
    const connection_options options = opener_.options();
    PGconn* c = nullptr;
    try {
        c = co_await opener_.run([&options](pqxx::connection&) { return open_blocking(options); });
    } catch (const std::exception& e) {
        failed_at_ = std::chrono::steady_clock::now();
        last_failure_ = e.what();
        if (dynamic_cast<const connect_error*>(&e) != nullptr) throw;
        throw connect_error(last_failure_);
    }
    failed_at_.reset();
    conn_ = c;
    try {
        socket_ = std::make_unique<asio::posix::stream_descriptor>(ex_, PQsocket(conn_));
    } catch (...) {
        PQfinish(conn_);
        conn_ = nullptr;
        throw;
    }
}

awaitable<void> async_connection::wait(bool for_write) {
    auto [ec] = co_await socket_->async_wait(
        for_write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read, use_tuple);
    if (ec) broken("waiting for the database: " + ec.message());
}

// result_of - the answer to what was sent: the last result, after reading every one
// (libpq hands out one per statement and a final null).
awaitable<std::shared_ptr<const pg_result>> async_connection::result_of(const std::string& sql) {
    for (;;) {
        const int f = PQflush(conn_);
        if (f == 0) break;
        if (f < 0) broken("sending to the database");
        co_await wait(true);
        if (!PQconsumeInput(conn_)) broken("reading from the database");
    }
    std::shared_ptr<const pg_result> last;
    for (;;) {
        while (PQisBusy(conn_)) {
            co_await wait(false);
            if (!PQconsumeInput(conn_)) broken("reading from the database");
        }
        PGresult* r = PQgetResult(conn_);
        if (r == nullptr) break;
        last = std::shared_ptr<const pg_result>(r, result_deleter{});
    }
    if (!last) broken("no answer from the database");
    const auto status = PQresultStatus(last.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) co_return last;
    if (PQstatus(conn_) == CONNECTION_BAD) broken("the database connection was lost");
    const char* state = PQresultErrorField(last.get(), PG_DIAG_SQLSTATE);
    throw pqxx::sql_error(detail::one_line(PQresultErrorMessage(last.get())), sql, state);
}

awaitable<async_result> async_connection::exec(const statement& s) {
    if (busy_) throw std::logic_error("db::async_connection: exec while another statement runs");
    busy_ = true;
    struct idle {
        bool& busy;
        ~idle() { busy = false; }
    } done{busy_};

    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_BAD) close();
    if (conn_ == nullptr) co_await open();

    if (!s.binary.empty() && s.binary.size() != s.params.size())
        throw std::invalid_argument("db::async_connection: binary must name every parameter or none");
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    values.reserve(s.params.size());
    for (std::size_t i = 0; i < s.params.size(); ++i) {
        const auto& p = s.params[i];
        values.push_back(p ? p->data() : nullptr);
        if (s.binary.empty()) continue;
        lengths.push_back(p ? static_cast<int>(p->size()) : 0);
        formats.push_back(s.binary[i] ? 1 : 0);
    }
    const int n = static_cast<int>(values.size());
    const int* lens = lengths.empty() ? nullptr : lengths.data();
    const int* fmts = formats.empty() ? nullptr : formats.data();

    const auto name = detail::statement_name(s.sql);
    if (!name) {
        if (!PQsendQueryParams(conn_, s.sql.c_str(), n, nullptr, values.data(), lens, fmts, 0))
            broken("sending to the database");
        co_return async_result(co_await result_of(s.sql));
    }
    if (!prepared_.contains(s.sql)) {
        if (!PQsendPrepare(conn_, name->c_str(), s.sql.c_str(), n, nullptr)) broken("sending to the database");
        (void)co_await result_of(s.sql);
        prepared_.insert(s.sql);
    }
    if (!PQsendQueryPrepared(conn_, name->c_str(), n, values.data(), lens, fmts, 0))
        broken("sending to the database");
    co_return async_result(co_await result_of(s.sql));
}

}  // namespace polder::db
