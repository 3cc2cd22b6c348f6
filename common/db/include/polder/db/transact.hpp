// polder/db/transact.hpp - run a function in a transaction, retrying when
// PostgreSQL says "try again".
//
//   auto id = db::transact(conn, [&](pqxx::work& tx) {
//       return tx.exec_params1("INSERT ... RETURNING id", name)[0].as<std::int64_t>();
//   }, db::isolation::serializable);
//
// f(pqxx::work&) runs in a fresh transaction at the requested isolation level
// and the transaction is committed when f returns. When the server rolls the
// transaction back because of a serialization failure or a deadlock (SQLSTATE
// 40001 / 40P01) the whole transaction is run again - f included - after a
// jittered exponential backoff, up to max_attempts runs in total; each retry
// is logged as `db.retry`. Any other exception rolls back and propagates
// unchanged (translate() turns it into a polder::errc).
//
// Because f may run more than once, f must only touch the database through
// its argument and must not have other side effects (no messages sent, no
// files written) that would be repeated; compute such things after transact
// returns. A NOTIFY issued in f is only delivered when the final attempt
// commits.
//
// SECURITY: retries are bounded (max_attempts <= max_transaction_attempts) so a
// contended row cannot make a request loop forever.
// STANDARDS: PostgreSQL 15 manual 13.2 (transaction isolation) and 13.4
// ("applications using this level must be prepared to retry transactions due
// to serialization failures"), SQLSTATE class 40 (Appendix A).
#pragma once

#include "polder/db/connection.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

namespace polder::db {

// Upper bound for max_attempts (a bug, not a policy, if exceeded).
inline constexpr int max_transaction_attempts = 100;

namespace detail {

// check_attempts - throws std::invalid_argument unless 1 <= n <= max_transaction_attempts.
void check_attempts(int max_attempts);
// retry_delay - "full jitter" backoff: uniform in [1 ms, min(200 ms, 5 ms * 2^(attempt-1))].
std::chrono::milliseconds retry_delay(int attempt);
// log_retry - one `db.retry` line: attempt, max_attempts, reason, sqlstate, delay_ms.
void log_retry(int attempt, int max_attempts, std::string_view reason, const std::exception& e,
               std::chrono::milliseconds delay);
// begin - sets the isolation level as the transaction's first statement
// (read committed is PostgreSQL's default and needs no statement).
void begin(pqxx::work& tx, isolation level);
void sleep_for(std::chrono::milliseconds);

// run_transaction - the retry loop shared by db::transact and pool::transact.
// get_connection() returns the connection to use for the next attempt.
// reconnect, when not null, replaces a broken connection: then an attempt that
// lost its connection BEFORE the commit was sent is retried too (the server
// rolls back a transaction whose connection drops, so nothing of it
// persisted). A connection lost while COMMIT was in flight is never retried
// (the outcome is unknown: libpqxx reports in_doubt_error) and propagates.
template <class F, class GetConnection>
auto run_transaction(GetConnection&& get_connection, const std::function<void()>* reconnect, F& f,
                     isolation level, int max_attempts) -> std::invoke_result_t<F&, pqxx::work&> {
    using R = std::invoke_result_t<F&, pqxx::work&>;
    static_assert(!std::is_reference_v<R>, "a transaction function must return a value, not a reference");
    check_attempts(max_attempts);
    for (int attempt = 1;; ++attempt) {
        bool commit_sent = false;
        try {
            pqxx::work tx(get_connection());
            begin(tx, level);
            if constexpr (std::is_void_v<R>) {
                f(tx);
                commit_sent = true;
                tx.commit();
                return;
            } else {
                R value = f(tx);
                commit_sent = true;
                tx.commit();
                return value;
            }
        } catch (const std::exception& e) {
            if (attempt >= max_attempts) throw;
            if (is_retryable(e)) {
                auto delay = retry_delay(attempt);
                log_retry(attempt, max_attempts, "serialization_failure_or_deadlock", e, delay);
                sleep_for(delay);
                continue;
            }
            // A connection that could not even be opened (connect_error) is
            // not retried: the database is away, and the caller should hear
            // so after one connect timeout, not several.
            if (reconnect && *reconnect && !commit_sent && is_connection_failure(e) &&
                !dynamic_cast<const connect_error*>(&e)) {
                auto delay = retry_delay(attempt);
                log_retry(attempt, max_attempts, "connection_lost_before_commit", e, delay);
                sleep_for(delay);
                (*reconnect)();  // throws connect_error when the database stays away
                continue;
            }
            throw;
        }
    }
}

}  // namespace detail

// transact - see the top of this file. Returns what f returns (void allowed).
// Throws std::invalid_argument for max_attempts outside 1..max_transaction_attempts,
// else whatever the last attempt threw (a libpqxx exception, or f's own).
// A broken connection is not retried here: the caller owns the connection.
template <class F>
auto transact(pqxx::connection& conn, F&& f, isolation level = isolation::read_committed, int max_attempts = 5)
    -> std::invoke_result_t<F&, pqxx::work&> {
    return detail::run_transaction([&conn]() -> pqxx::connection& { return conn; }, nullptr, f, level,
                                   max_attempts);
}

}  // namespace polder::db
