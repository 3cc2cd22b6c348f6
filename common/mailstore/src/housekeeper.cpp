// housekeeper.cpp - the mail store's background work: deleting messages no mailbox holds
// any more, full-text indexing of delivered and appended messages, and pruning old expunge
// records; see housekeeper in mailstore.hpp and schema/0105_mail_fts_deferred.sql,
// 0112_mail_collect_messages.sql, 0114_mail_expunged_retention.sql.
//
// SECURITY: deletes only messages no mailbox entry refers to (the schema's function
// decides, under row locks), touches only messages.fts otherwise, computed from the
// stored text, and deletes only expunge records past their retention; bounded batches;
// the loop's pause keeps it from taking more than half of one database connection, and
// with a foreground activity it waits for the sessions' quiet moments (at most max_defer).
// STANDARDS: RFC 3501 / RFC 9051 (EXPUNGE removes), RFC 6203 (what the vectors serve),
// RFC 7162 section 3.2.6 (a server may forget expunges), PostgreSQL 15 manual 12.
#include "polder/log/log.hpp"
#include "polder/mailstore/mailstore.hpp"

#include <atomic>
#include <optional>

namespace polder::mailstore {

struct housekeeper::state {
    state(db::pool& p, asio::any_io_executor e, options o) : pool(p), ex(std::move(e)), opt(o) {}
    db::pool& pool;
    asio::any_io_executor ex;
    options opt;
    std::atomic<bool> stopping{false};
};

namespace {

struct round_result {
    std::size_t collected = 0;
    std::size_t indexed = 0;
    std::size_t pruned = 0;
    std::size_t recoverable_pruned = 0;
};

// work_loop - a coroutine function with a parameter (GCC 12 and co_spawn, see STYLE.md).
awaitable<void> work_loop(std::shared_ptr<housekeeper::state> s) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    round_result total;
    // Old expunge records are looked for once a prune_interval, at once again while a
    // round finds a full batch.
    std::optional<std::chrono::steady_clock::time_point> last_prune;
    while (!s->stopping) {
        // Yield to the sessions: wait until no command began for `quiet`, at most max_defer.
        if (s->opt.foreground) {
            const auto deferred = std::chrono::steady_clock::now();
            for (;;) {
                const auto now = std::chrono::steady_clock::now();
                const auto since = now - s->opt.foreground->last();
                if (s->stopping || since >= s->opt.quiet || now - deferred >= s->opt.max_defer) break;
                timer.expires_after(s->opt.quiet - since);
                co_await timer.async_wait(use_tuple);
            }
            if (s->stopping) break;
        }
        const auto started = std::chrono::steady_clock::now();
        round_result done;
        bool failed = false;
        // Each part in a transaction of its own: a failing one does not undo the other.
        try {
            const std::size_t limit = s->opt.collect_batch;
            done.collected =
                co_await s->pool.transact([limit](pqxx::work& tx) { return ops::collect_messages(tx, limit); });
        } catch (const std::exception& e) {
            failed = true;
            log::warn("mail.collect_error", {{"error", std::string(e.what())}});
        }
        try {
            const std::size_t batch = s->opt.batch;
            done.indexed = co_await s->pool.transact([batch](pqxx::work& tx) { return ops::index_fts(tx, batch); });
        } catch (const std::exception& e) {
            failed = true;
            log::warn("mail.fts_index_error", {{"error", std::string(e.what())}});
        }
        const bool prune = (s->opt.expunged_retention.count() > 0 || s->opt.recoverable_retention) &&
                           (!last_prune || started - *last_prune >= s->opt.prune_interval);
        if (prune) {
            last_prune = started;
            const std::size_t limit = s->opt.prune_batch;
            // Expunge records (schema 0114) and recoverable mail (0115): the same step with
            // its own retention, each in a transaction of its own.
            using prune_fn = std::size_t (*)(pqxx::transaction_base&, std::chrono::seconds, std::size_t);
            struct prune_part {
                std::optional<std::chrono::seconds> retention;   // none: not pruned
                prune_fn run;
                const char* error_event;
                std::size_t& pruned;
            };
            const prune_part parts[] = {
                {s->opt.expunged_retention.count() > 0 ? std::optional(s->opt.expunged_retention) : std::nullopt,
                 &ops::prune_expunged, "mail.expunged_prune_error", done.pruned},
                {s->opt.recoverable_retention, &ops::prune_recoverable, "mail.recoverable_prune_error",
                 done.recoverable_pruned},
            };
            for (const auto& part : parts) {
                if (!part.retention) continue;
                try {
                    part.pruned = co_await s->pool.transact(
                        [run = part.run, retention = *part.retention, limit](pqxx::work& tx) {
                            return run(tx, retention, limit);
                        });
                } catch (const std::exception& e) {
                    failed = true;
                    log::warn(part.error_event, {{"error", std::string(e.what())}});
                }
            }
            // A full batch: look again next round.
            if (!failed && (done.pruned == limit || done.recoverable_pruned == limit)) last_prune.reset();
        }
        total.collected += done.collected;
        total.indexed += done.indexed;
        total.pruned += done.pruned;
        total.recoverable_pruned += done.recoverable_pruned;
        if (s->stopping) break;
        std::chrono::steady_clock::duration pause = s->opt.idle;
        if (!failed && (done.collected == s->opt.collect_batch || done.indexed == s->opt.batch ||
                        (prune && (done.pruned == s->opt.prune_batch ||
                                   done.recoverable_pruned == s->opt.prune_batch)))) {
            pause = std::chrono::steady_clock::now() - started;   // more to do: half the time
        } else {
            if (total.collected > 0)
                log::info("mail.messages_collected", {{"messages", static_cast<std::int64_t>(total.collected)}});
            if (total.indexed > 0)
                log::info("mail.fts_indexed", {{"messages", static_cast<std::int64_t>(total.indexed)}});
            if (total.pruned > 0)
                log::info("mail.expunged_pruned", {{"records", static_cast<std::int64_t>(total.pruned)}});
            if (total.recoverable_pruned > 0)
                log::info("mail.recoverable_pruned",
                          {{"messages", static_cast<std::int64_t>(total.recoverable_pruned)}});
            total = {};
        }
        timer.expires_after(pause);
        co_await timer.async_wait(use_tuple);
    }
}

}  // namespace

housekeeper::housekeeper(db::pool& pool, asio::any_io_executor ex, options o)
    : state_(std::make_shared<state>(pool, std::move(ex), o)) {}

housekeeper::~housekeeper() { stop(); }

void housekeeper::start() {
    asio::co_spawn(asio::make_strand(state_->ex), work_loop(state_), [](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("mail.housekeeper_died", {{"error", std::string(ex.what())}});
        }
    });
}

void housekeeper::stop() { state_->stopping = true; }

}  // namespace polder::mailstore
