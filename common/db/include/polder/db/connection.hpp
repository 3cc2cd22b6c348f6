// polder/db/connection.hpp - connecting to PostgreSQL and naming what went wrong.
//
// connection_options says where the database is; connection_string() renders
// it as a libpq key=value string; connect() opens a libpqxx connection or
// throws connect_error with one line naming host, port, database, user and
// libpq's own reason (polderctl prints it as-is for "unreachable database").
// translate() maps a database exception to the one error vocabulary
// (polder::errc) so callers decide on values, not on libpqxx types.
//
// SECURITY: every value in the connection string is quoted and escaped, so a
// password or a database name containing spaces, quotes, backslashes or
// "key=value" text cannot inject another connection parameter (for example a
// different host or sslmode). The password never appears in an error message
// or a log line. Bounded: connect() refuses absurd option values up front.
//
// STANDARDS: libpq connection strings (PostgreSQL 15 manual, 34.1.1 "Keyword/
// Value Connection Strings"); SQLSTATE codes (PostgreSQL manual, Appendix A).
#pragma once

#include "polder/core/error.hpp"

#include <boost/system/error_code.hpp>
#include <pqxx/connection>

#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>


namespace polder::db {

// Where and as whom to connect. Empty host/dbname/user/password are left out
// of the connection string, so libpq's own defaults (PGHOST, Unix socket,
// ~/.pgpass ...) apply to them.
struct connection_options {
    std::string host;       // host name, IP address or Unix-socket directory
    std::string dbname;
    std::string user;
    std::string password;   // secret: never logged, never in error messages
    std::uint16_t port = 5432;
    unsigned connect_timeout_seconds = 5;  // 0 = wait forever (libpq); libpq treats 1 as 2
    std::string application_name = "polder";  // shown in pg_stat_activity
    // Extra (not in the original contract): server-side statement_timeout in
    // milliseconds for every statement on connections made with these
    // options; 0 leaves the server default. A query cannot be cancelled
    // from a coroutine, so this is how a runaway query is bounded.
    unsigned statement_timeout_ms = 0;
};

// Longest value accepted for any text option (host, dbname, user, password,
// application_name); far above any real value, small enough to bound memory.
inline constexpr std::size_t max_option_length = 1024;

// quote_conninfo_value - 'value' with ' and \ escaped by a backslash, the
// quoting libpq's conninfo parser understands for any byte sequence.
std::string quote_conninfo_value(std::string_view value);

// connection_string - the libpq keyword/value string for these options. Every
// value is single-quoted (libpq escaping), so any content is safe.
// Throws std::invalid_argument when a value is longer than max_option_length
// or contains a NUL byte (libpq strings cannot carry one).
std::string connection_string(const connection_options&);

// describe_target - "127.0.0.1:5432 (database polder, user polder)" - the
// part of connect_error's message that names the target; never the password.
std::string describe_target(const connection_options&);

// connect_error - what(): "cannot connect to PostgreSQL at 127.0.0.1:5432
// (database polder, user polder): <libpq reason>", on one line.
struct connect_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// connect_failure - the connect_error for a failed attempt on this target, with libpq's
// (or our) reason folded onto one line ("unknown error" when there is none).
connect_error connect_failure(const connection_options&, std::string_view reason);

// connect - opens a connection now (blocking, at most connect_timeout_seconds
// per address libpq tries). Throws connect_error on any failure, including
// invalid options. Never call this on an I/O thread: use db::pool there.
std::unique_ptr<pqxx::connection> connect(const connection_options&);

// Transaction isolation levels (PostgreSQL 15 manual, 13.2).
enum class isolation { read_committed, repeatable_read, serializable };
std::string_view isolation_sql(isolation);  // "READ COMMITTED" ...

// sqlstate - the five-character SQLSTATE of a libpqxx sql_error (or of a
// libpqxx 6 transaction_rollback, which keeps none: 40001, 40P01, 40003,
// 40000 by type), else "".
std::string sqlstate(const std::exception&) noexcept;

// is_retryable - true for a serialization failure or a deadlock (SQLSTATE
// 40001 / 40P01, libpqxx serialization_failure / deadlock_detected): the
// transaction was rolled back by the server and may simply be run again.
bool is_retryable(const std::exception&) noexcept;

// is_connection_failure - true when the exception says the connection is
// gone (libpqxx broken_connection, or SQLSTATE class 08 / 57P01..57P03).
bool is_connection_failure(const std::exception&) noexcept;

// translate - the polder::errc for a database exception:
//   unique_violation (23505)                    -> already_exists
//   foreign_key_violation (23503) on insert/update -> not_found,
//                          on update/delete of a referenced row -> conflict
//   exclusion_violation (23P01)                 -> conflict
//   check (23514), not-null (23502), restrict (23001), data exceptions (22xxx),
//   libpqxx argument_error                      -> invalid_argument
//   serialization failure / deadlock (40xxx, libpqxx transaction_rollback)
//                                               -> conflict (statement_completion_unknown -> unavailable)
//   insufficient_privilege (42501)              -> permission_denied
//   query_canceled (57014, statement_timeout)   -> timeout
//   broken_connection, connect_error, in_doubt_error, admin shutdown (57P0x),
//   too many connections (53300), class 08, insufficient resources (53xxx)
//                                               -> unavailable
//   boost::system::system_error                 -> its own code
//   anything else (syntax errors, conversion errors, bugs) -> internal
boost::system::error_code translate(const std::exception&) noexcept;
// translate - the same for a caught exception_ptr (null -> errc::ok,
// a non-std exception -> internal).
boost::system::error_code translate(std::exception_ptr) noexcept;

}  // namespace polder::db
