// polder/db/prepared.hpp - statements of fixed text run as named prepared
// statements of their connection, prepared on first use:
//
//   auto rows = db::exec_cached(tx, "SELECT ... WHERE id = $1", id);
//   auto row  = db::exec_cached1(tx, "UPDATE ... RETURNING x", id);
//
// Why: PostgreSQL parses and plans an unnamed statement on every execution. For
// the short statements of an IMAP command (check a mailbox, bump a modseq,
// update flags) parse and plan took ~90% of the server time (measured with
// log_min_duration_statement: 1.7 ms parse+bind against 0.04 ms execute for
// the mailbox check). A prepared statement is planned once per connection.
//
// libpqxx 6.4 keeps the definitions per connection and registers a statement
// with the server on its first execution there, so a reconnected pool slot
// prepares again by itself; re-defining a name with the same text is a no-op.
// The name is a 64-bit hash of the text: a collision makes libpqxx throw
// "inconsistent redefinition" (the operation fails), it never runs the wrong
// statement.
//
// SECURITY: only for SQL built from fixed fragments of our code (parameters go
// in $n placeholders as everywhere). The number of distinct texts is bounded
// by max_cached_statements per process: past it, statements run unprepared,
// so SQL whose shape depends on client input (IMAP SEARCH) cannot grow the
// server's memory - and should not spend this budget: it uses a registry of its
// own (statement_names.hpp) or exec_params.
// STANDARDS: none (PostgreSQL extended query protocol: Parse/Bind/Execute).
#pragma once

#include <pqxx/transaction_base>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace polder::db {

inline constexpr std::size_t max_cached_statements = 1024;

namespace detail {
// statement_name - "polder_<hex>" for sql, registering the text process-wide;
// nullopt once max_cached_statements distinct texts have been seen.
std::optional<std::string> statement_name(const std::string& sql);
}  // namespace detail

// statement - an SQL text and its parameters (nullopt is NULL): a statement built once
// and sent either way, by exec_statement below or by an async_connection. A parameter
// whose position is true in `binary` is sent as its bytes (for a bytea), the others as
// text.
struct statement {
    std::string sql;
    std::vector<std::optional<std::string>> params;
    std::vector<bool> binary = {};   // empty: every parameter is text
};

// exec_statement - exec_cached of a statement of text parameters (std::invalid_argument
// for one with a binary parameter: send that one with an async_connection).
pqxx::result exec_statement(pqxx::transaction_base& tx, const statement& s);

template <typename... Args>
pqxx::result exec_cached(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
    auto name = detail::statement_name(sql);
    if (!name) return tx.exec_params(sql, std::forward<Args>(args)...);
    tx.conn().prepare(*name, sql);
    return tx.exec_prepared(*name, std::forward<Args>(args)...);
}

// exec_cached1 - exactly one row, like exec_params1 (pqxx::unexpected_rows otherwise).
template <typename... Args>
pqxx::row exec_cached1(pqxx::transaction_base& tx, const std::string& sql, Args&&... args) {
    auto name = detail::statement_name(sql);
    if (!name) return tx.exec_params1(sql, std::forward<Args>(args)...);
    tx.conn().prepare(*name, sql);
    return tx.exec_prepared1(*name, std::forward<Args>(args)...);
}

}  // namespace polder::db
