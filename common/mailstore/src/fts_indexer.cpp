// fts_indexer.cpp - background full-text indexing of delivered and appended messages; see
// fts_indexer in mailstore.hpp and schema/0105_mail_fts_deferred.sql.
//
// SECURITY: touches only messages.fts, computed from the stored text; bounded batches;
// the loop's pause keeps it from taking more than half of one database connection.
// STANDARDS: RFC 6203 (what the vectors serve), PostgreSQL 15 manual 12.
#include "polder/log/log.hpp"
#include "polder/mailstore/mailstore.hpp"

#include <atomic>

namespace polder::mailstore {

struct fts_indexer::state {
    state(db::pool& p, asio::any_io_executor e, options o) : pool(p), ex(std::move(e)), opt(o) {}
    db::pool& pool;
    asio::any_io_executor ex;
    options opt;
    std::atomic<bool> stopping{false};
};

namespace {

// index_loop - a coroutine function with a parameter (GCC 12 and co_spawn, see STYLE.md).
awaitable<void> index_loop(std::shared_ptr<fts_indexer::state> s) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::size_t total = 0;
    while (!s->stopping) {
        const auto started = std::chrono::steady_clock::now();
        std::size_t done = 0;
        bool failed = false;
        try {
            const std::size_t batch = s->opt.batch;
            done = co_await s->pool.transact([batch](pqxx::work& tx) { return ops::index_fts(tx, batch); });
        } catch (const std::exception& e) {
            failed = true;
            log::warn("mail.fts_index_error", {{"error", std::string(e.what())}});
        }
        total += done;
        if (s->stopping) break;
        std::chrono::steady_clock::duration pause = s->opt.idle;
        if (!failed && done == s->opt.batch) {
            pause = std::chrono::steady_clock::now() - started;   // more to do: half the time
        } else if (total > 0) {
            log::info("mail.fts_indexed", {{"messages", static_cast<std::int64_t>(total)}});
            total = 0;
        }
        timer.expires_after(pause);
        co_await timer.async_wait(use_tuple);
    }
}

}  // namespace

fts_indexer::fts_indexer(db::pool& pool, asio::any_io_executor ex, options o)
    : state_(std::make_shared<state>(pool, std::move(ex), o)) {}

fts_indexer::~fts_indexer() { stop(); }

void fts_indexer::start() {
    asio::co_spawn(asio::make_strand(state_->ex), index_loop(state_), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("mail.fts_indexer_died", {{"error", std::string(ex.what())}});
        }
    });
}

void fts_indexer::stop() { state_->stopping = true; }

}  // namespace polder::mailstore
