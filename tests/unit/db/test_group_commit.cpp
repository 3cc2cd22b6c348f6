// test_group_commit.cpp - db::group_commit: concurrent callers share transactions, each
// gets its own value only after the commit, one caller's failure neither fails nor undoes
// the others, a deadlock-prone hot row still ends consistent, and a stopped pool fails
// callers cleanly. db::batch_commit: one function call per batch, the same fallback, and
// a batch that is one statement run without BEGIN/COMMIT.
// SECURITY: checks that batching never hands one caller another's value and that a failed
// function leaves nothing behind.
// STANDARDS: none.
#include "polder/db/db.hpp"
#include "test_db_support.hpp"

#include <boost/system/system_error.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

using namespace polder;

namespace {

void setup(const db::connection_options& o) {
    auto c = db::connect(o);
    pqxx::work tx(*c);
    tx.exec("CREATE TABLE items (id int PRIMARY KEY, txid bigint NOT NULL)");
    tx.exec("CREATE TABLE counter (n bigint NOT NULL)");
    tx.exec("INSERT INTO counter VALUES (0)");
    tx.commit();
}

struct outcome {
    std::mutex m;
    std::map<int, long> txid_of;        // caller -> the transaction that ran it
    std::map<int, std::string> failed;  // caller -> what it was told
    std::atomic<int> done{0};
};

// one_caller - inserts its own row and bumps the shared counter (a hot row every caller
// locks until its commit, like a mailbox's next UID); caller 13 fails after its insert.
awaitable<void> one_caller(db::group_commit& gc, outcome& out, int i) {
    try {
        auto r = co_await gc.transact([i](pqxx::work& tx) {
            auto txid = tx.exec1("SELECT txid_current()")[0].as<long>();
            tx.exec_params("INSERT INTO items (id, txid) VALUES ($1, $2)", i, txid);
            tx.exec("UPDATE counter SET n = n + 1");
            if (i == 13) throw std::runtime_error("caller 13 gives up");
            return std::pair<int, long>(i, txid);
        });
        std::lock_guard lock(out.m);
        CHECK(r.first == i);   // its own value, never a neighbour's
        out.txid_of[i] = r.second;
    } catch (const std::exception& e) {
        std::lock_guard lock(out.m);
        out.failed[i] = e.what();
    }
    ++out.done;
}

awaitable<void> start_callers(db::group_commit& gc, outcome& out, int n) {
    auto ex = co_await asio::this_coro::executor;
    for (int i = 0; i < n; ++i) asio::co_spawn(ex, one_caller(gc, out, i), asio::detached);
}

}  // namespace

TEST_CASE("group_commit commits concurrent callers together and gives each its own value") {
    db::test::temp_database tdb("group_commit");
    setup(tdb.options());
    db::pool pool(tdb.options(), 4);
    asio::io_context io;
    db::group_commit gc(pool, io.get_executor(), {.max_batch = 16, .max_in_flight = 2, .max_attempts = 5});
    outcome out;
    constexpr int callers = 60;
    asio::co_spawn(io, start_callers(gc, out, callers), asio::detached);
    io.run();

    REQUIRE(out.done == callers);
    // Caller 13 alone failed, with its own exception; its insert and its counter bump are gone.
    REQUIRE(out.failed.size() == 1);
    CHECK(out.failed.begin()->first == 13);
    CHECK(out.failed.begin()->second == "caller 13 gives up");
    auto c = db::connect(tdb.options());
    pqxx::work tx(*c);
    CHECK(tx.exec1("SELECT count(*) FROM items")[0].as<int>() == callers - 1);
    CHECK(tx.exec1("SELECT count(*) FROM items WHERE id = 13")[0].as<int>() == 0);
    CHECK(tx.exec1("SELECT n FROM counter")[0].as<int>() == callers - 1);
    // Every caller that was told "committed" is in the table, in the transaction it named.
    for (const auto& [i, txid] : out.txid_of)
        CHECK(tx.exec_params1("SELECT txid FROM items WHERE id = $1", i)[0].as<long>() == txid);
    // Callers shared transactions: fewer transactions than callers, none over max_batch.
    std::map<long, int> per_tx;
    for (const auto& [i, txid] : out.txid_of) ++per_tx[txid];
    CHECK(per_tx.size() < out.txid_of.size());
    for (const auto& [txid, n] : per_tx) CHECK(n <= 16);
}

TEST_CASE("group_commit runs a lone caller at once, in a transaction of its own") {
    db::test::temp_database tdb("group_commit_one");
    setup(tdb.options());
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    db::group_commit gc(pool, io.get_executor());
    outcome out;
    asio::co_spawn(io, one_caller(gc, out, 1), asio::detached);
    io.run();
    REQUIRE(out.txid_of.size() == 1);
    CHECK(out.failed.empty());
}

TEST_CASE("group_commit fails callers cleanly once the pool has stopped") {
    db::test::temp_database tdb("group_commit_stop");
    setup(tdb.options());
    db::pool pool(tdb.options(), 1);
    pool.stop();
    asio::io_context io;
    db::group_commit gc(pool, io.get_executor());
    outcome out;
    asio::co_spawn(io, start_callers(gc, out, 3), asio::detached);
    io.run();
    CHECK(out.done == 3);
    CHECK(out.failed.size() == 3);
    CHECK(out.txid_of.empty());
}

TEST_CASE("group_commit refuses empty batches and lanes") {
    db::test::temp_database tdb("group_commit_opts");
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    CHECK_THROWS_AS(db::group_commit(pool, io.get_executor(), {.max_batch = 0}), std::invalid_argument);
    CHECK_THROWS_AS(db::group_commit(pool, io.get_executor(), {.max_in_flight = 0}), std::invalid_argument);
}

namespace {

// item - one caller of the batch_commit below: its id in, the transaction and
// the batch's size out.
struct item {
    int id = 0;
    long txid = 0;
    int batch = 0;
};

// insert_all - a batch function: every item's row in ONE statement (the point
// of batch_commit), then each item gets its transaction and batch size. Item 13
// has an id the table's CHECK refuses, so a batch holding it fails as a whole.
void insert_all(pqxx::work& tx, std::span<item* const> items, std::atomic<int>& calls) {
    ++calls;
    std::string ids = "{";
    for (auto* it : items) ids += (ids.size() > 1 ? "," : "") + std::to_string(it->id);
    ids += "}";
    const auto txid = tx.exec1("SELECT txid_current()")[0].as<long>();
    tx.exec_params("INSERT INTO batched (id, txid) SELECT i, $2 FROM unnest($1::int[]) i", ids, txid);
    tx.exec_params("UPDATE counter SET n = n + $1", static_cast<int>(items.size()));
    for (auto* it : items) {
        it->txid = txid;
        it->batch = static_cast<int>(items.size());
    }
}

awaitable<void> one_item(db::batch_commit<item>& bc, item& it, std::map<int, std::string>& failed,
                         std::atomic<int>& done) {
    try {
        co_await bc.transact(it);
    } catch (const std::exception& e) {
        failed[it.id] = e.what();
    }
    ++done;
}

awaitable<void> start_items(db::batch_commit<item>& bc, std::vector<item>& items, std::map<int, std::string>& failed,
                            std::atomic<int>& done) {
    auto ex = co_await asio::this_coro::executor;
    for (auto& it : items) asio::co_spawn(ex, one_item(bc, it, failed, done), asio::detached);
}

// create_batched - the table the items go into; its CHECK refuses the ids in `refused`.
void create_batched(const db::test::temp_database& tdb, const std::string& refused) {
    setup(tdb.options());
    auto c = db::connect(tdb.options());
    pqxx::work tx(*c);
    tx.exec("CREATE TABLE batched (id int PRIMARY KEY CHECK (id NOT IN (" + refused + ")), txid bigint NOT NULL)");
    tx.commit();
}

constexpr int callers = 60;

// run_callers - `callers` items (ids 0..59) through bc at once; returns them, `failed`
// gets each failed id's error. Every caller must have finished.
std::vector<item> run_callers(asio::io_context& io, db::batch_commit<item>& bc, std::map<int, std::string>& failed) {
    std::vector<item> items(callers);
    for (int i = 0; i < callers; ++i) items[i].id = i;
    std::atomic<int> done{0};
    asio::co_spawn(io, start_items(bc, items, failed, done), asio::detached);
    io.run();
    REQUIRE(done == callers);
    return items;
}

}  // namespace

TEST_CASE("batch_commit hands a whole batch to one function, and re-runs it item by item after a failure") {
    db::test::temp_database tdb("batch_commit");
    create_batched(tdb, "13");
    db::pool pool(tdb.options(), 4);
    asio::io_context io;
    std::atomic<int> calls{0};
    db::batch_commit<item> bc(pool, io.get_executor(), {.max_batch = 16, .max_in_flight = 1, .max_attempts = 5},
                              [&calls](pqxx::work& tx, std::span<item* const> items) { insert_all(tx, items, calls); });
    std::map<int, std::string> failed;
    const auto items = run_callers(io, bc, failed);

    // Item 13 alone failed, with the database's error; the others of its batch were
    // stored when they ran again alone.
    REQUIRE(failed.size() == 1);
    CHECK(failed.begin()->first == 13);
    CHECK(failed.begin()->second.find("batched_id_check") != std::string::npos);
    auto c = db::connect(tdb.options());
    pqxx::work tx(*c);
    CHECK(tx.exec1("SELECT count(*) FROM batched")[0].as<int>() == callers - 1);
    CHECK(tx.exec1("SELECT n FROM counter")[0].as<int>() == callers - 1);
    // Each item's outcome is the one of the transaction that stored it.
    std::map<long, int> per_tx;
    int batched = 0;
    for (const auto& it : items) {
        if (it.id == 13) continue;
        CHECK(tx.exec_params1("SELECT txid FROM batched WHERE id = $1", it.id)[0].as<long>() == it.txid);
        ++per_tx[it.txid];
        if (it.batch > 1) ++batched;
        CHECK(it.batch <= 16);
    }
    // Batches held several items (one call for many), and fewer calls ran than items,
    // re-runs after the failed batch included.
    CHECK(batched > 0);
    CHECK(per_tx.size() < static_cast<std::size_t>(callers - 1));
    CHECK(calls < callers + 16);
}

namespace {

// single_insert - batch_commit's one-statement functions: a batch of ids that are all
// multiples of 20 is refused untouched (nullopt); any other is ONE autocommit INSERT of
// its items whose id is not a multiple of 5 (each learns its transaction from the rows),
// leaving those that are to insert_all's transaction.
std::optional<db::statement> single_insert(std::span<item* const> items, std::vector<std::size_t>& left,
                                           std::atomic<int>& singles) {
    if (std::all_of(items.begin(), items.end(), [](const item* it) { return it->id % 20 == 0; })) return std::nullopt;
    std::string ids = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i]->id % 5 == 0) {
            left.push_back(i);
            continue;
        }
        ids += (ids.size() > 1 ? "," : "") + std::to_string(items[i]->id);
    }
    ids += "}";
    std::reverse(left.begin(), left.end());   // any order: batch_commit sorts them
    ++singles;
    return db::statement{"WITH t AS (SELECT txid_current() AS x) INSERT INTO batched (id, txid) "
                         "SELECT i, t.x FROM unnest($1::int[]) i, t RETURNING id, txid",
                         {ids}};
}

void single_inserted(const db::async_result& rows, std::span<item* const> items) {
    std::map<int, long> txid;
    for (auto r : rows) txid[r[0].as<int>()] = r[1].as<long>();
    for (auto* it : items) {
        if (it->id % 5 == 0) continue;
        it->txid = txid.at(it->id);
        it->batch = -static_cast<int>(items.size());   // negative: stored by the single statement
    }
}

}  // namespace

TEST_CASE("batch_commit runs a batch that is one statement without a transaction block, and falls back alone") {
    db::test::temp_database tdb("batch_single");
    // 37 is refused inside a single statement, 45 inside the transaction of the items a
    // statement left.
    create_batched(tdb, "37, 45");
    db::pool pool(tdb.options(), 4);
    asio::io_context io;
    std::atomic<int> calls{0}, singles{0};
    db::batch_commit<item> bc(
        pool, io.get_executor(), {.max_batch = 16, .max_in_flight = 1, .max_attempts = 5},
        [&calls](pqxx::work& tx, std::span<item* const> items) { insert_all(tx, items, calls); },
        {[&singles](std::span<item* const> items, std::vector<std::size_t>& left) {
             return single_insert(items, left, singles);
         },
         [](const db::async_result& rows, std::span<item* const> items, std::vector<std::size_t>&) {
             single_inserted(rows, items);
         }});
    std::map<int, std::string> failed;
    const auto items = run_callers(io, bc, failed);

    // 37 and 45 alone failed: the single statement of 37's batch failed whole, and so
    // did the transaction of the items left beside 45; then each of those ran alone.
    REQUIRE(failed.size() == 2);
    CHECK(failed.count(37) == 1);
    CHECK(failed.count(45) == 1);
    for (const auto& [id, error] : failed) CHECK(error.find("batched_id_check") != std::string::npos);
    auto c = db::connect(tdb.options());
    pqxx::work tx(*c);
    CHECK(tx.exec1("SELECT count(*) FROM batched")[0].as<int>() == callers - 2);
    int by_single = 0, left_by_transaction = 0;
    for (const auto& it : items) {
        if (it.id == 37 || it.id == 45) continue;
        CHECK(tx.exec_params1("SELECT txid FROM batched WHERE id = $1", it.id)[0].as<long>() == it.txid);
        if (it.batch < 0) {
            ++by_single;
            CHECK(it.id % 5 != 0);   // never one the single function left
        } else if (it.id % 5 == 0) {
            ++left_by_transaction;
        }
    }
    // Some batches were one statement, and what they left was stored by a transaction.
    CHECK(singles > 0);
    CHECK(by_single > 0);
    CHECK(left_by_transaction == callers / 5 - 1);
    CHECK(calls > 0);
}
