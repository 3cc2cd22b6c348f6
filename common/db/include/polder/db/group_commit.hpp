// polder/db/group_commit.hpp - many small transactions committed as one.
//
//   db::group_commit deliveries(pool, executor);
//   auto result = co_await deliveries.transact([&](pqxx::work& tx) { return deliver(tx, ...); });
//
// What it does: a commit costs a WAL flush (an fsync, milliseconds on real disks), and a
// transaction that locks a hot row (an account's quota, a mailbox's next UID) holds that
// lock until its commit is durable. Twenty SMTP sessions delivering to one mailbox then
// run one after the other, each paying a whole flush: the mailbox, not the disk or the
// CPU, sets the rate. group_commit queues the functions of concurrent callers and runs up
// to `max_batch` of them in ONE transaction with one COMMIT, so the lock is taken once
// and the flush paid once per batch. At most `max_in_flight` batches run at once; while
// they run, new callers queue, so the batch size follows the load (one caller alone gets
// a batch of one, with no added wait).
//
// Semantics for each caller are those of pool::transact at read committed: f(pqxx::work&)
// runs, and transact() returns its value only after the transaction that ran it
// committed; an exception means nothing of f persisted (or, for in_doubt_error, that the
// outcome is unknown). When anything in a batch throws (one f, or the COMMIT: a deadlock,
// a serialization failure), the batch is rolled back and EVERY f in it runs again alone,
// in its own transaction with pool::transact's retry rules, so one failing caller never
// fails the others. f may therefore run more than once: the rules of transact.hpp apply
// (touch the database only through tx; no other side effects). A lost connection fails
// the whole batch with that error (the pool replaces the connection).
//
// Lock order: the functions of a batch run in arrival order inside one transaction. Two
// processes' batches that lock the same rows in crossing orders can deadlock; PostgreSQL
// then aborts one after deadlock_timeout and its functions re-run alone, so the cost is
// latency, never a wrong result. Callers that lock several rows lock them in one global
// order (as mailstore::ops::deliver does), which keeps this rare.
//
// Metrics: polder_db_group_commit_batch_size (histogram), polder_db_group_commit_fallbacks_total,
// polder_db_group_commit_single_statements_total (batch_commit's one-statement batches).
//
// SECURITY: bounded: a batch holds at most max_batch functions; the queue holds at most one
// entry per suspended caller. Batching never mixes what callers see: each f gets only its
// own value back.
// STANDARDS: PostgreSQL 15 manual 13.2 (read committed), 30.4 (WAL and commit flushes).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/db/async_connection.hpp"
#include "polder/db/pool.hpp"
#include "polder/db/transact.hpp"

#include <pqxx/connection>
#include <pqxx/transaction>

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace polder::db {

namespace detail {

class group_entry;

// batch_runner - runs all the entries of one batch together (batch_commit below).
class batch_runner {
public:
    virtual ~batch_runner() = default;
    virtual void run_all(pqxx::work& tx, std::span<const std::unique_ptr<group_entry>> batch) = 0;
    // build_single - the batch as ONE statement, leaving out the entries at the positions
    // it puts into `left`; nullopt, having changed nothing, when the batch is not one.
    virtual std::optional<statement> build_single(std::span<const std::unique_ptr<group_entry>> batch,
                                                  std::vector<std::size_t>& left) = 0;
    // apply_single - that statement's result into the entries; more positions it did not
    // decide go into `left`.
    virtual void apply_single(const async_result& rows, std::span<const std::unique_ptr<group_entry>> batch,
                              std::vector<std::size_t>& left) = 0;
};

// group_entry - one caller's function, kept until its batch is done.
class group_entry {
public:
    virtual ~group_entry() = default;
    // runner - null: the batch runs each entry's run(); else this runs them all at once
    // (every entry of one group_commit has the same kind).
    virtual batch_runner* runner() noexcept { return nullptr; }
    // run - f inside the batch's transaction; keeps the value. May throw.
    virtual void run(pqxx::work& tx) = 0;
    // forget - drops a kept value (its batch rolled back).
    virtual void forget() noexcept = 0;
    // complete_kept - completes the caller with the kept value (after the COMMIT).
    virtual void complete_kept() noexcept = 0;
    // run_alone - f in a transaction of its own (with retries), then completes the caller.
    virtual void run_alone(pqxx::connection& c, int max_attempts) noexcept = 0;
    // fail - completes the caller with an error.
    virtual void fail(std::exception_ptr e) noexcept = 0;
};

template <class R, class Handler, class F>
class group_entry_impl final : public group_entry {
public:
    group_entry_impl(Handler handler, F f) : done_(std::move(handler)), f_(std::move(f)) {}

    void run(pqxx::work& tx) override {
        if constexpr (std::is_void_v<R>) {
            f_(tx);
            kept_ = true;
        } else {
            kept_.emplace(f_(tx));
        }
    }
    void forget() noexcept override { kept_.reset(); }
    void complete_kept() noexcept override {
        if constexpr (std::is_void_v<R>)
            done_.complete(std::exception_ptr{});
        else
            done_.complete(std::exception_ptr{}, std::move(kept_));
    }
    void run_alone(pqxx::connection& c, int max_attempts) noexcept override {
        done_.run([&]() -> decltype(auto) {
            return run_transaction([&c]() -> pqxx::connection& { return c; }, nullptr, f_, isolation::read_committed,
                                   max_attempts);
        });
    }
    void fail(std::exception_ptr e) noexcept override { done_.fail(e); }

private:
    using kept_type = std::conditional_t<std::is_void_v<R>, std::optional<bool>, std::optional<R>>;
    completion<R, Handler> done_;
    F f_;
    kept_type kept_;
};

}  // namespace detail

class group_commit {
public:
    struct options {
        std::size_t max_batch = 64;     // functions per transaction
        unsigned max_in_flight = 2;     // batches running at once (each on one pool connection)
        int max_attempts = 5;           // for a function re-run alone (see transact.hpp)
    };

    // group_commit - batches run on `p`, started from `ex` (any executor that lives as long
    // as the callers). p must outlive every transact() call.
    group_commit(pool& p, asio::any_io_executor ex, options o);
    group_commit(pool& p, asio::any_io_executor ex) : group_commit(p, std::move(ex), options{}) {}
    group_commit(const group_commit&) = delete;
    group_commit& operator=(const group_commit&) = delete;
    ~group_commit();

    // transact - see the top of this file. Throws what f or the transaction threw.
    template <class F>
    auto transact(F f) -> awaitable<std::invoke_result_t<F&, pqxx::work&>> {
        using R = std::invoke_result_t<F&, pqxx::work&>;
        static_assert(!std::is_reference_v<R>, "group_commit::transact: return a value, not a reference");
        using signature = typename detail::completion_signature<R>::type;
        auto initiation = [this](auto handler, F fn) {
            submit(std::make_unique<detail::group_entry_impl<R, decltype(handler), F>>(std::move(handler),
                                                                                     std::move(fn)));
        };
        if constexpr (std::is_void_v<R>) {
            co_await asio::async_initiate<decltype(use_awaitable), signature>(initiation, use_awaitable, std::move(f));
        } else {
            std::optional<R> value =
                co_await asio::async_initiate<decltype(use_awaitable), signature>(initiation, use_awaitable, std::move(f));
            co_return std::move(*value);
        }
    }

    struct state;   // shared with the running batches (public for the .cpp's helpers)

private:
    template <class Item>
    friend class batch_commit;
    void submit(std::unique_ptr<detail::group_entry> e);
    std::shared_ptr<state> state_;
};

// batch_commit - a group commit whose batch is handled by ONE function that sees every
// caller's item at once, so it can read and write for all of them with a few set-based
// statements instead of a few statements each:
//
//   db::batch_commit<put_item> puts(pool, executor, options, [](pqxx::work& tx, std::span<put_item* const> items) {
//       ... one query for all items, fill each item's outcome ...
//   });
//   co_await puts.transact(item);   // item: the caller's own, read and written by the function
//
// The function gets the items in arrival order and writes each item's outcome into the
// item. transact() returns after the COMMIT of the transaction that ran it (or throws what
// the function or the transaction threw).
//
// One statement: with the optional one_statement functions, a batch that `build` can write
// as exactly one statement (it returns nullopt, having changed nothing, when it cannot) is
// sent outside a transaction block - no BEGIN and no COMMIT round trip, the statement
// commits by itself before its answer arrives (the same durability) - and from the
// group commit's own executor on an async_connection (async_connection.hpp): no database
// thread is woken for it. The statement may take only some of the items: `build` and
// `apply` list the positions of those they left (in `left`, in any order), the others'
// callers are told at once, and the left ones go on as a batch of their own through the
// function above, in a transaction. When that statement fails (pqxx::sql_error), nothing
// of it persisted and the items run alone as above; when no connection could be opened
// for it, the batch runs in a transaction instead; anything else thrown - the connection
// breaking with it sent, or `apply` failing after it ran - fails every item (the outcome
// is unknown, as for a lost COMMIT). Rules as for group_commit: when the batch fails,
// it is rolled back and the function runs again for each item ALONE (a span of one, in a
// transaction of its own, with retries), so it must write every outcome field on every
// run and touch nothing but the database through tx. An item must stay alive and
// unchanged by its caller until transact() returns (it lives in the awaiting coroutine).
template <class Item>
class batch_commit {
public:
    using function = std::function<void(pqxx::work&, std::span<Item* const>)>;
    // one_statement - build: the items as one statement (see above); apply: its rows
    // into the items.
    struct one_statement {
        std::function<std::optional<statement>(std::span<Item* const>, std::vector<std::size_t>& left)> build;
        std::function<void(const async_result&, std::span<Item* const>, std::vector<std::size_t>& left)> apply;
    };

    batch_commit(pool& p, asio::any_io_executor ex, group_commit::options o, function f, one_statement single = {})
        : runner_(std::make_shared<together>(std::move(f), std::move(single))), commits_(p, std::move(ex), o) {}

    awaitable<void> transact(Item& item) {
        auto initiation = [this](auto handler, Item* it) {
            commits_.submit(std::make_unique<entry<decltype(handler)>>(std::move(handler), it, runner_));
        };
        co_await asio::async_initiate<decltype(use_awaitable), void(std::exception_ptr)>(initiation, use_awaitable,
                                                                                         &item);
    }

private:
    struct entry_base;
    struct together final : detail::batch_runner {
        together(function fn, one_statement s) : f(std::move(fn)), single(std::move(s)) {}
        static std::vector<Item*> items_of(std::span<const std::unique_ptr<detail::group_entry>> batch) {
            std::vector<Item*> items;
            items.reserve(batch.size());
            for (const auto& e : batch) items.push_back(static_cast<entry_base&>(*e).item);
            return items;
        }
        void run_all(pqxx::work& tx, std::span<const std::unique_ptr<detail::group_entry>> batch) override {
            f(tx, items_of(batch));
        }
        std::optional<statement> build_single(std::span<const std::unique_ptr<detail::group_entry>> batch,
                                              std::vector<std::size_t>& left) override {
            if (!single.build) return std::nullopt;
            return single.build(items_of(batch), left);
        }
        void apply_single(const async_result& rows, std::span<const std::unique_ptr<detail::group_entry>> batch,
                          std::vector<std::size_t>& left) override {
            single.apply(rows, items_of(batch), left);
        }
        function f;
        one_statement single;
    };
    struct entry_base : detail::group_entry {
        entry_base(Item* i, std::shared_ptr<together> r) : item(i), run_by(std::move(r)) {}
        detail::batch_runner* runner() noexcept override { return run_by.get(); }
        void run(pqxx::work& tx) override { run_by->f(tx, std::span<Item* const>(&item, 1)); }
        void forget() noexcept override {}
        Item* item;
        std::shared_ptr<together> run_by;
    };
    template <class Handler>
    struct entry final : entry_base {
        entry(Handler h, Item* i, std::shared_ptr<together> r) : entry_base(i, std::move(r)), done(std::move(h)) {}
        void complete_kept() noexcept override { done.complete(std::exception_ptr{}); }
        void run_alone(pqxx::connection& c, int max_attempts) noexcept override {
            done.run([&] {
                auto one = [this](pqxx::work& tx) { this->run(tx); };
                detail::run_transaction([&c]() -> pqxx::connection& { return c; }, nullptr, one,
                                        isolation::read_committed, max_attempts);
            });
        }
        void fail(std::exception_ptr e) noexcept override { done.fail(e); }
        detail::completion<void, Handler> done;
    };

    std::shared_ptr<together> runner_;
    group_commit commits_;
};

}  // namespace polder::db
