// group_commit.cpp - many small transactions committed as one; see group_commit.hpp.
//
// SECURITY: each caller receives only its own function's value or exception; a failing
// function makes the others re-run alone rather than fail. Bounded batches.
// STANDARDS: PostgreSQL 15 manual 13.2, 30.4.
#include "polder/db/group_commit.hpp"

#include "polder/log/log.hpp"
#include "polder/metrics/metrics.hpp"

#include <pqxx/except>
#include <pqxx/transaction>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace polder::db {

struct group_commit::state {
    state(pool& p, asio::any_io_executor e, options o) : pool_(p), ex(std::move(e)), opt(o) {}
    pool& pool_;
    asio::any_io_executor ex;
    options opt;
    std::mutex m;
    std::deque<std::unique_ptr<detail::group_entry>> pending;
    unsigned in_flight = 0;
    // One-statement batches' connections (at most max_in_flight), each used by one drain
    // at a time.
    std::vector<std::unique_ptr<async_connection>> idle_connections;
};

namespace {

using batch_type = std::vector<std::unique_ptr<detail::group_entry>>;

struct group_metrics {
    metrics::histogram& batch_size;
    metrics::counter& fallbacks;
    metrics::counter& single_statements;
};

group_metrics& global_metrics() {
    static constexpr std::array<double, 8> bounds{1, 2, 4, 8, 16, 32, 64, 128};
    auto& r = metrics::registry::global();
    static group_metrics m{
        r.histogram_("polder_db_group_commit_batch_size", "Functions committed together by one group commit", {},
                     bounds),
        r.counter_("polder_db_group_commit_fallbacks_total",
                   "Group-commit batches rolled back and re-run one function at a time"),
        r.counter_("polder_db_group_commit_single_statements_total",
                   "Batch-commit batches run as one statement without a transaction block (wholly or in part)"),
    };
    return m;
}

// fail_each - every entry fails with `error` (its outcome is unknown).
void fail_each(batch_type& batch, const std::exception_ptr& error) {
    for (auto& e : batch) e->fail(error);
}

// fail_all - called from the handler of `ex`: every entry fails with it (their outcome is
// unknown); a lost connection is thrown again, so the pool replaces it.
void fail_all(batch_type& batch, const std::exception& ex) {
    fail_each(batch, std::current_exception());
    if (is_connection_failure(ex)) throw;
}

// rerun_alone - the batch failed with `ex` and nothing of it persisted: each entry runs
// again in a transaction of its own (with transact's retries), so one failing function
// never fails the others.
void rerun_alone(pqxx::connection& c, batch_type& batch, int max_attempts, const std::exception& ex) {
    global_metrics().fallbacks.inc();
    log::info("db.group_commit_fallback",
              {{"batch", static_cast<std::int64_t>(batch.size())}, {"error", std::string(ex.what())}});
    for (auto& e : batch) {
        e->forget();
        e->run_alone(c, max_attempts);
    }
}

// run_batch - on a database thread: the batch in one transaction (or alone, when it is
// one entry), or each alone after a failure. Completes every entry; rethrows a
// connection failure afterwards so the pool replaces the connection.
void run_batch(pqxx::connection& c, batch_type& batch, int max_attempts, bool& completed) {
    if (batch.size() == 1) {
        completed = true;
        batch.front()->run_alone(c, max_attempts);
        return;
    }
    bool commit_sent = false;
    try {
        pqxx::work tx(c);
        if (auto* all = batch.front()->runner())
            all->run_all(tx, batch);
        else
            for (auto& e : batch) e->run(tx);
        commit_sent = true;
        tx.commit();
    } catch (const std::exception& ex) {
        completed = true;
        // The outcome is unknown, or the connection is gone: nobody may be told
        // "committed", and re-running could apply a function twice.
        if (dynamic_cast<const pqxx::in_doubt_error*>(&ex) != nullptr || is_connection_failure(ex) ||
            (commit_sent && !is_retryable(ex)))
            fail_all(batch, ex);
        else
            rerun_alone(c, batch, max_attempts, ex);
        return;
    }
    completed = true;
    for (auto& e : batch) e->complete_kept();
}

// take_connection / give_back - a drain's async_connection for one-statement batches.
std::unique_ptr<async_connection> take_connection(group_commit::state& s) {
    {
        std::lock_guard lock(s.m);
        if (!s.idle_connections.empty()) {
            auto c = std::move(s.idle_connections.back());
            s.idle_connections.pop_back();
            return c;
        }
    }
    return std::make_unique<async_connection>(s.ex, s.pool_);
}

void give_back(group_commit::state& s, std::unique_ptr<async_connection> c) {
    std::lock_guard lock(s.m);
    s.idle_connections.push_back(std::move(c));
}

// run_single - on the drain's executor: the batch as one statement when its runner can
// write one (batch_commit). Completes the entries the statement decided and leaves the
// rest in `batch`, for a transaction; `alone` says they failed with the statement and
// must each run alone (nothing of it persisted).
awaitable<void> run_single(group_commit::state& s, batch_type& batch, std::exception_ptr& alone) {
    auto* all = batch.front()->runner();
    if (all == nullptr) co_return;
    std::vector<std::size_t> left;
    std::optional<statement> st;
    try {
        st = all->build_single(batch, left);
    } catch (...) {
        fail_each(batch, std::current_exception());
        batch.clear();
        co_return;
    }
    if (!st) co_return;
    auto conn = take_connection(s);
    std::exception_ptr failed;
    bool not_sent = false;
    try {
        const async_result rows = co_await conn->exec(*st);
        all->apply_single(rows, batch, left);
    } catch (const connect_error&) {
        not_sent = true;   // nothing was sent: the batch goes through a transaction
    } catch (const std::exception& ex) {
        // Only the statement's own failure means nothing persisted; anything else (the
        // connection, or apply failing after the statement ran) leaves the outcome unknown,
        // so nobody may be told either way or run again.
        if (dynamic_cast<const pqxx::sql_error*>(&ex) != nullptr && !is_connection_failure(ex))
            alone = std::current_exception();
        else
            failed = std::current_exception();
    }
    give_back(s, std::move(conn));
    if (not_sent || alone) co_return;
    if (failed) {
        fail_each(batch, failed);
        batch.clear();
        co_return;
    }
    global_metrics().single_statements.inc();
    // Committed: the entries it took are told now; those it left go on, as a batch of
    // their own, in arrival order.
    std::sort(left.begin(), left.end());
    batch_type rest;
    for (std::size_t i = 0, k = 0; i < batch.size(); ++i) {
        while (k < left.size() && left[k] < i) ++k;
        if (k < left.size() && left[k] == i)
            rest.push_back(std::move(batch[i]));
        else
            batch[i]->complete_kept();
    }
    batch = std::move(rest);
}

// drain - takes batches from the queue until it is empty (one of at most max_in_flight).
// A coroutine function with a parameter, not a capturing lambda (GCC 12 and co_spawn).
awaitable<void> drain(std::shared_ptr<group_commit::state> s) {
    for (;;) {
        batch_type batch;
        {
            std::lock_guard lock(s->m);
            if (s->pending.empty()) {
                --s->in_flight;
                co_return;
            }
            const std::size_t n = std::min(s->opt.max_batch, s->pending.size());
            batch.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(s->pending.front()));
                s->pending.pop_front();
            }
        }
        global_metrics().batch_size.observe(static_cast<double>(batch.size()));
        std::exception_ptr alone;
        co_await run_single(*s, batch, alone);
        if (batch.empty()) continue;
        bool completed = false;
        const int attempts = s->opt.max_attempts;
        try {
            co_await s->pool_.run([&batch, &completed, &alone, attempts](pqxx::connection& c) {
                if (!alone) {
                    run_batch(c, batch, attempts, completed);
                    return;
                }
                completed = true;
                try {
                    std::rethrow_exception(alone);
                } catch (const std::exception& ex) {
                    rerun_alone(c, batch, attempts, ex);
                }
            });
        } catch (...) {
            // The pool is stopping (the batch never ran) or its connection broke.
            if (!completed) fail_each(batch, std::current_exception());
        }
    }
}

}  // namespace

group_commit::group_commit(pool& p, asio::any_io_executor ex, options o)
    : state_(std::make_shared<state>(p, std::move(ex), o)) {
    if (o.max_batch == 0 || o.max_in_flight == 0)
        throw std::invalid_argument("group_commit: max_batch and max_in_flight must be at least 1");
    detail::check_attempts(o.max_attempts);
    (void)global_metrics();
}

group_commit::~group_commit() = default;

void group_commit::submit(std::unique_ptr<detail::group_entry> e) {
    bool start = false;
    {
        std::lock_guard lock(state_->m);
        state_->pending.push_back(std::move(e));
        if (state_->in_flight < state_->opt.max_in_flight) {
            ++state_->in_flight;
            start = true;
        }
    }
    if (start) asio::co_spawn(state_->ex, drain(state_), asio::detached);
}

}  // namespace polder::db
