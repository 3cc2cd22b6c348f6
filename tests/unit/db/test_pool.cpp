// test_pool.cpp - db::pool: work runs on database threads, never on the I/O
// thread; results (move-only, non-default-constructible, void) and exceptions
// reach the awaiting coroutine on its own executor; broken connections are
// replaced; stop() drains.
// SECURITY: checks that non-idempotent work is not silently re-run after a
// broken connection, and that transact() only re-runs when that is safe.
// STANDARDS: none.
#include "polder/core/error.hpp"
#include "polder/db/db.hpp"
#include "polder/metrics/metrics.hpp"
#include "test_db_support.hpp"

#include <boost/system/system_error.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

using namespace polder;
using namespace std::chrono_literals;

namespace {

// run_io - runs the coroutine to completion on io (with `threads` threads),
// rethrowing what it threw.
// run_io - runs the coroutine to completion on io (with `threads` threads),
// rethrowing what it threw; io_threads receives the ids of those threads.
template <class Awaitable>
void run_io(asio::io_context& io, Awaitable a, unsigned threads = 1, std::set<std::thread::id>* io_threads = nullptr) {
    std::exception_ptr error;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e) { error = e; });
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < threads; ++i) extra.emplace_back([&] { io.run(); });
    if (io_threads) {
        io_threads->insert(std::this_thread::get_id());
        for (auto& t : extra) io_threads->insert(t.get_id());
    }
    io.run();
    for (auto& t : extra) t.join();
    if (error) std::rethrow_exception(error);
}

int backend_pid(pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
}

void terminate_backend(const db::connection_options& o, int pid) {
    auto admin = db::connect(o);
    pqxx::nontransaction tx(*admin);
    tx.exec_params("SELECT pg_terminate_backend($1)", pid);
    // Wait until the backend is really gone, so the next use sees it.
    for (int i = 0; i < 200; ++i) {
        if (tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid)[0].as<int>() == 0) return;
        std::this_thread::sleep_for(10ms);
    }
}

struct no_default {
    explicit no_default(int v) : value(v) {}
    no_default(no_default&&) = default;
    no_default(const no_default&) = delete;
    int value;
};

}  // namespace

TEST_CASE("pool runs many concurrent coroutines' queries on database threads and resumes them on their I/O threads") {
    db::test::temp_database tdb("pool_threads");
    db::pool pool(tdb.options(), 3);
    asio::io_context io;
    std::mutex m;
    std::set<std::thread::id> io_threads, started_on, db_threads, resumed_on;
    std::atomic<int> done{0};
    constexpr int coroutines = 40;

    auto one = [&](int i) -> awaitable<void> {
        {
            std::lock_guard lock(m);
            started_on.insert(std::this_thread::get_id());
        }
        int v = co_await pool.run([&, i](pqxx::connection& c) {
            {
                std::lock_guard lock(m);
                db_threads.insert(std::this_thread::get_id());
            }
            pqxx::nontransaction tx(c);
            return tx.exec_params1("SELECT $1::int + 1 FROM pg_sleep(0.01)", i)[0].as<int>();
        });
        CHECK(v == i + 1);
        {
            std::lock_guard lock(m);
            resumed_on.insert(std::this_thread::get_id());
        }
        ++done;
    };
    auto all = [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < coroutines; ++i) asio::co_spawn(ex, one(i), asio::detached);
        co_return;
    };
    run_io(io, all(), 2, &io_threads);

    CHECK(done == coroutines);
    CHECK(db_threads.size() >= 1);
    CHECK(db_threads.size() <= 3);
    for (auto id : db_threads) {
        CHECK(io_threads.count(id) == 0);  // no query ran on an I/O thread
        CHECK(resumed_on.count(id) == 0);  // no coroutine resumed on a database thread
    }
    CHECK(io_threads.size() == 2);
    for (auto id : started_on) CHECK(io_threads.count(id) == 1);
    for (auto id : resumed_on) CHECK(io_threads.count(id) == 1);
}

TEST_CASE("pool keeps the I/O thread free while a query sleeps") {
    db::test::temp_database tdb("pool_free");
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    std::atomic<int> ticks{0};
    std::atomic<bool> finished{false};
    auto ticker = [&]() -> awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (!finished) {
            t.expires_after(10ms);
            co_await t.async_wait(use_awaitable);
            ++ticks;
        }
    };
    auto slow = [&]() -> awaitable<void> {
        asio::co_spawn(co_await asio::this_coro::executor, ticker(), asio::detached);
        co_await pool.run([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec("SELECT pg_sleep(0.5)");
        });
        finished = true;
    };
    run_io(io, slow(), 1);  // one I/O thread only
    CHECK(ticks >= 10);     // it kept running timers during the 500 ms query
}

TEST_CASE("pool rethrows the work's exceptions in the awaiting coroutine") {
    db::test::temp_database tdb("pool_throw");
    db::pool pool(tdb.options(), 2);
    asio::io_context io;
    auto test = [&]() -> awaitable<void> {
        bool caught = false;
        try {
            co_await pool.run([](pqxx::connection&) -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "boom";
        }
        CHECK(caught);
        caught = false;
        try {
            co_await pool.transact([](pqxx::work& tx) { tx.exec("SELECT 1/0"); });
        } catch (const pqxx::sql_error& e) {
            caught = polder::is(db::translate(e), errc::invalid_argument);
        }
        CHECK(caught);
        // The connection is still fine afterwards.
        int one = co_await pool.run([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec1("SELECT 1")[0].as<int>();
        });
        CHECK(one == 1);
    };
    run_io(io, test());
}

TEST_CASE("pool returns move-only, non-default-constructible and void results") {
    db::test::temp_database tdb("pool_types");
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    auto test = [&]() -> awaitable<void> {
        no_default nd = co_await pool.run([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return no_default(tx.exec1("SELECT 7")[0].as<int>());
        });
        CHECK(nd.value == 7);
        std::unique_ptr<int> p = co_await pool.run([](pqxx::connection&) { return std::make_unique<int>(3); });
        REQUIRE(p);
        CHECK(*p == 3);
        polder::result<no_default> r = co_await pool.transact([](pqxx::work& tx) -> polder::result<no_default> {
            if (tx.exec1("SELECT count(*) FROM pg_class WHERE relname = 'nothing_here'")[0].as<int>() == 0)
                return polder::errc::not_found;
            return no_default(1);
        });
        CHECK(r.has_error());
        CHECK(polder::is(r.error(), errc::not_found));
        co_await pool.transact([](pqxx::work& tx) { tx.exec("CREATE TABLE t (x int)"); });
        long rows = co_await pool.transact([](pqxx::work& tx) { return tx.exec("SELECT * FROM t").size(); });
        CHECK(rows == 0);
    };
    run_io(io, test());
}

TEST_CASE("pool reports a connection the server terminated once, then reconnects") {
    db::test::temp_database tdb("pool_broken");
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    auto test = [&]() -> awaitable<void> {
        auto pid_of = [](pqxx::connection& c) { return backend_pid(c); };
        int first = co_await pool.run(pid_of);
        terminate_backend(tdb.options(), first);  // blocking, but this is a test
        std::atomic<int> calls{0};
        bool failed = false;
        try {
            co_await pool.run([&](pqxx::connection& c) {
                ++calls;
                pqxx::work tx(c);
                tx.exec("SELECT 1");
                tx.commit();
            });
        } catch (const std::exception& e) {
            failed = polder::is(db::translate(e), errc::unavailable);
        }
        CHECK(failed);
        CHECK(calls == 1);  // not silently re-run
        int second = co_await pool.run(pid_of);
        CHECK(second != first);
    };
    run_io(io, test());
}

TEST_CASE("pool transact re-runs on a fresh connection when the connection broke before commit") {
    db::test::temp_database tdb("pool_retry_conn");
    {
        auto c = db::connect(tdb.options());
        pqxx::work tx(*c);
        tx.exec("CREATE TABLE log (n int)");
        tx.commit();
    }
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    auto test = [&]() -> awaitable<void> {
        int calls = 0;
        co_await pool.transact([&](pqxx::work& tx) {
            ++calls;
            tx.exec("INSERT INTO log VALUES (1)");
            if (calls == 1) {
                terminate_backend(tdb.options(), tx.exec1("SELECT pg_backend_pid()")[0].as<int>());
                tx.exec("INSERT INTO log VALUES (2)");  // the connection is gone: throws
            }
        });
        CHECK(calls == 2);
        long rows = co_await pool.run([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec1("SELECT count(*) FROM log")[0].as<long>();
        });
        CHECK(rows == 1);  // exactly one committed run
    };
    run_io(io, test());
}

TEST_CASE("pool reports an unreachable database as unavailable naming host and port") {
    db::connection_options o;
    o.host = "127.0.0.1";
    o.port = db::test::closed_port();
    o.dbname = "x";
    o.user = "y";
    db::pool pool(o, 1);
    asio::io_context io;
    auto test = [&]() -> awaitable<void> {
        bool failed = false;
        try {
            co_await pool.run([](pqxx::connection&) { return 1; });
        } catch (const db::connect_error& e) {
            failed = std::string(e.what()).find("127.0.0.1:" + std::to_string(o.port)) != std::string::npos &&
                     polder::is(db::translate(e), errc::unavailable);
        }
        CHECK(failed);
    };
    run_io(io, test());
}

TEST_CASE("pool fails queued work at once while the database does not answer, instead of one timeout each") {
    db::test::silent_listener silent;
    db::connection_options o;
    o.host = "127.0.0.1";
    o.port = silent.port();
    o.dbname = "x";
    o.user = "y";
    o.connect_timeout_seconds = 2;
    db::pool pool(o, 1);
    asio::io_context io;
    int failures = 0;
    const auto started = std::chrono::steady_clock::now();
    run_io(io, [&]() -> awaitable<void> {
        for (int i = 0; i < 5; ++i) {
            try {
                co_await pool.run([](pqxx::connection&) { return 1; });
            } catch (const db::connect_error& e) {
                if (std::string(e.what()).find("timeout expired") != std::string::npos) ++failures;
            }
        }
    }());
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(failures == 5);
    CHECK(elapsed < std::chrono::milliseconds(2 * 2000 + 1500));  // not 5 x 2 s
}

TEST_CASE("pool stop drains queued work and refuses new work") {
    db::test::temp_database tdb("pool_stop");
    auto pool = std::make_unique<db::pool>(tdb.options(), 1);
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::atomic<int> ran{0}, completed{0};
    for (int i = 0; i < 5; ++i)
        asio::co_spawn(io,
                       [&]() -> awaitable<void> {
                           co_await pool->run([&](pqxx::connection& c) {
                               pqxx::nontransaction tx(c);
                               tx.exec("SELECT pg_sleep(0.05)");
                               ++ran;
                           });
                           ++completed;
                       },
                       asio::detached);
    io.poll();  // every coroutine has queued its work and is suspended
    CHECK(pool->waiting() >= 3);
    std::thread io_thread([&] { io.run(); });
    pool->stop();
    CHECK(ran == 5);
    for (int i = 0; i < 500 && completed < 5; ++i) std::this_thread::sleep_for(5ms);
    CHECK(completed == 5);

    std::atomic<bool> refused{false};
    asio::co_spawn(io,
                   [&]() -> awaitable<void> {
                       try {
                           co_await pool->run([](pqxx::connection&) { return 0; });
                       } catch (const boost::system::system_error& e) {
                           refused = polder::is(e.code(), errc::unavailable);
                       }
                   },
                   asio::detached);
    for (int i = 0; i < 500 && !refused; ++i) std::this_thread::sleep_for(5ms);
    CHECK(refused);
    guard.reset();
    io_thread.join();
    pool.reset();
}

TEST_CASE("pool refuses a size of 0 and counts its work in the metrics") {
    CHECK_THROWS_AS(db::pool(db::connection_options{}, 0), std::invalid_argument);
    CHECK_THROWS_AS(db::pool(db::connection_options{}, db::max_pool_size + 1), std::invalid_argument);

    auto& ok = metrics::registry::global().counter_("polder_db_queries_total",
                                                    "Database jobs run by the pool, by outcome", {{"outcome", "ok"}});
    db::test::temp_database tdb("pool_metrics");
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    const auto before = ok.value();
    run_io(io, [&]() -> awaitable<void> {
        co_await pool.run([](pqxx::connection&) {});
        co_await pool.run([](pqxx::connection&) {});
    }());
    CHECK(ok.value() == before + 2);
    auto text = metrics::registry::global().render();
    CHECK(text.find("polder_db_query_duration_seconds_bucket") != std::string::npos);
    CHECK(text.find("polder_db_pool_waiting") != std::string::npos);
}
