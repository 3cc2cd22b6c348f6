// test_transact.cpp - db::transact: commit, rollback, isolation, and retry of
// serialization failures and deadlocks provoked for real on two connections.
// SECURITY: checks that retries are bounded.
// STANDARDS: PostgreSQL 15 manual 13.2 (serializable isolation, SQLSTATE
// 40001) and 13.3.4 (deadlocks, 40P01).
#include "polder/db/db.hpp"
#include "test_db_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <barrier>
#include <thread>

using namespace polder;

namespace {

void setup_counters(pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec("CREATE TABLE counters (id int PRIMARY KEY, v int NOT NULL); INSERT INTO counters VALUES (1, 0), (2, 0)");
    tx.commit();
}

int value_of(pqxx::connection& c, int id) {
    pqxx::read_transaction tx(c);
    return tx.exec_params1("SELECT v FROM counters WHERE id = $1", id)[0].as<int>();
}

// bump_elsewhere - a committed update of row `id` on another connection,
// made while the caller's serializable transaction already has its snapshot.
void bump_elsewhere(pqxx::connection& other, int id) {
    pqxx::work tx(other);
    tx.exec_params("UPDATE counters SET v = v + 100 WHERE id = $1", id);
    tx.commit();
}

}  // namespace

TEST_CASE("transact commits and returns the function's value") {
    db::test::temp_database tdb("tx_commit");
    auto c = db::connect(tdb.options());
    setup_counters(*c);
    int calls = 0;
    int v = db::transact(*c, [&](pqxx::work& tx) {
        ++calls;
        return tx.exec("UPDATE counters SET v = v + 1 WHERE id = 1 RETURNING v")[0][0].as<int>();
    });
    CHECK(v == 1);
    CHECK(calls == 1);
    CHECK(value_of(*c, 1) == 1);
    db::transact(*c, [&](pqxx::work& tx) { tx.exec("UPDATE counters SET v = 5 WHERE id = 2"); });
    CHECK(value_of(*c, 2) == 5);
}

TEST_CASE("transact rolls back and propagates an exception that is not a serialization failure") {
    db::test::temp_database tdb("tx_rollback");
    auto c = db::connect(tdb.options());
    setup_counters(*c);
    int calls = 0;
    CHECK_THROWS_WITH(db::transact(*c,
                                   [&](pqxx::work& tx) {
                                       ++calls;
                                       tx.exec("UPDATE counters SET v = 42 WHERE id = 1");
                                       throw std::runtime_error("refused by the caller");
                                   }),
                      "refused by the caller");
    CHECK(calls == 1);
    CHECK(value_of(*c, 1) == 0);
    calls = 0;
    CHECK_THROWS_AS(db::transact(*c,
                                 [&](pqxx::work& tx) {
                                     ++calls;
                                     tx.exec("INSERT INTO counters VALUES (1, 0)");
                                 }),
                    pqxx::unique_violation);
    CHECK(calls == 1);
}

TEST_CASE("transact runs at the requested isolation level") {
    db::test::temp_database tdb("tx_iso");
    auto c = db::connect(tdb.options());
    auto level = [&](db::isolation i) {
        return db::transact(
            *c, [](pqxx::work& tx) { return tx.exec1("SHOW transaction_isolation")[0].as<std::string>(); }, i);
    };
    CHECK(level(db::isolation::read_committed) == "read committed");
    CHECK(level(db::isolation::repeatable_read) == "repeatable read");
    CHECK(level(db::isolation::serializable) == "serializable");
}

TEST_CASE("transact retries a serialization failure provoked by a concurrent update and then commits") {
    db::test::temp_database tdb("tx_retry");
    auto c = db::connect(tdb.options());
    auto other = db::connect(tdb.options());
    setup_counters(*c);
    int calls = 0;
    int result = db::transact(
        *c,
        [&](pqxx::work& tx) {
            ++calls;
            int before = tx.exec1("SELECT v FROM counters WHERE id = 1")[0].as<int>();  // takes the snapshot
            if (calls == 1) bump_elsewhere(*other, 1);  // a conflicting commit in between, once
            tx.exec_params("UPDATE counters SET v = $1 WHERE id = 1", before + 1);  // 40001 on the first run
            return before + 1;
        },
        db::isolation::serializable);
    CHECK(calls == 2);
    CHECK(result == 101);  // the second run saw the other transaction's update
    CHECK(value_of(*c, 1) == 101);
}

TEST_CASE("transact gives up after max_attempts and rethrows the serialization failure") {
    db::test::temp_database tdb("tx_giveup");
    auto c = db::connect(tdb.options());
    auto other = db::connect(tdb.options());
    setup_counters(*c);
    int calls = 0;
    try {
        db::transact(
            *c,
            [&](pqxx::work& tx) {
                ++calls;
                tx.exec("SELECT v FROM counters WHERE id = 1");
                bump_elsewhere(*other, 1);
                tx.exec("UPDATE counters SET v = v + 1 WHERE id = 1");
            },
            db::isolation::repeatable_read, 3);
        FAIL("transact did not give up");
    } catch (const std::exception& e) {
        CHECK(db::is_retryable(e));
        CHECK(polder::is(db::translate(e), errc::conflict));
    }
    CHECK(calls == 3);
    CHECK(value_of(*c, 1) == 300);  // only the other connection's updates committed
}

TEST_CASE("transact retries the loser of a deadlock between two threads") {
    db::test::temp_database tdb("tx_deadlock");
    auto setup = db::connect(tdb.options());
    setup_counters(*setup);
    std::barrier both_locked(2);
    std::atomic<int> calls{0};
    std::atomic<int> failures{0};
    auto worker = [&](int first, int second) {
        try {
            auto c = db::connect(tdb.options());
            int mine = 0;
            db::transact(*c, [&](pqxx::work& tx) {
                ++calls;
                ++mine;
                tx.exec_params("UPDATE counters SET v = v + 1 WHERE id = $1", first);
                if (mine == 1) both_locked.arrive_and_wait();  // both hold one row: lock the other
                tx.exec_params("UPDATE counters SET v = v + 1 WHERE id = $1", second);
            });
        } catch (...) {
            ++failures;
        }
    };
    std::thread a(worker, 1, 2);
    std::thread b(worker, 2, 1);
    a.join();
    b.join();
    CHECK(failures == 0);
    // At least one of the two ran again. On a loaded machine PostgreSQL can also abort
    // the other once (both waits reach deadlock_timeout together): still no failure.
    CHECK(calls >= 3);
    CHECK(calls <= 6);
    CHECK(value_of(*setup, 1) == 2);
    CHECK(value_of(*setup, 2) == 2);
}

TEST_CASE("transact refuses a max_attempts outside 1 to 100") {
    db::test::temp_database tdb("tx_attempts");
    auto c = db::connect(tdb.options());
    auto f = [](pqxx::work&) {};
    CHECK_THROWS_AS(db::transact(*c, f, db::isolation::read_committed, 0), std::invalid_argument);
    CHECK_THROWS_AS(db::transact(*c, f, db::isolation::read_committed, 101), std::invalid_argument);
}

TEST_CASE("retry delays are jittered and capped") {
    for (int attempt = 1; attempt <= 50; ++attempt) {
        auto d = db::detail::retry_delay(attempt);
        CHECK(d >= std::chrono::milliseconds(1));
        CHECK(d <= std::chrono::milliseconds(200));
    }
    CHECK(db::detail::retry_delay(1) <= std::chrono::milliseconds(5));
}
