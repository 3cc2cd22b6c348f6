// transact.cpp - the non-template parts of transactions with retry.
//
// SECURITY: retries are bounded in number and in delay; the SET TRANSACTION
// text comes from a fixed table, never from input.
// STANDARDS: PostgreSQL 15 manual 13.2 (isolation levels), SET TRANSACTION;
// backoff with "full jitter" (AWS Architecture Blog, "Exponential Backoff
// And Jitter", 2015) so retrying transactions do not collide again in step.
#include "polder/db/transact.hpp"

#include "polder/log/log.hpp"
#include "util.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace polder::db::detail {

void check_attempts(int max_attempts) {
    if (max_attempts < 1 || max_attempts > max_transaction_attempts)
        throw std::invalid_argument("db::transact: max_attempts must be between 1 and " +
                                    std::to_string(max_transaction_attempts) + ", got " +
                                    std::to_string(max_attempts));
}

std::chrono::milliseconds retry_delay(int attempt) {
    thread_local std::mt19937 rng{std::random_device{}()};
    const int exponent = std::clamp(attempt - 1, 0, 10);
    const long cap = std::min(200L, 5L << exponent);
    std::uniform_int_distribution<long> pick(1, cap);
    return std::chrono::milliseconds(pick(rng));
}

void log_retry(int attempt, int max_attempts, std::string_view reason, const std::exception& e,
               std::chrono::milliseconds delay) {
    log::info("db.retry", {{"attempt", attempt},
                           {"max_attempts", max_attempts},
                           {"reason", reason},
                           {"sqlstate", sqlstate(e)},
                           {"delay_ms", static_cast<long>(delay.count())},
                           {"error", one_line(e.what())}});
}

void begin(pqxx::work& tx, isolation level) {
    if (level == isolation::read_committed) return;
    tx.exec("SET TRANSACTION ISOLATION LEVEL " + std::string(isolation_sql(level)));
}

void sleep_for(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

}  // namespace polder::db::detail
