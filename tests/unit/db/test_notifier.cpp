// test_notifier.cpp - the LISTEN/NOTIFY bridge: delivery to coroutines on
// their executor, odd channel names, unsubscribe, recovery after the
// listener's backend is terminated, prompt stop(), notify() validation.
// SECURITY: channel names with quotes and spaces must work as data, not SQL.
// STANDARDS: PostgreSQL 15 manual: LISTEN, NOTIFY, pg_notify().
#include "polder/core/error.hpp"
#include "polder/db/db.hpp"
#include "test_db_support.hpp"

#include <boost/system/system_error.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

using namespace polder;
using namespace std::chrono_literals;
using db::test::run_io;

namespace {

// wait_until - lets the io_context run (timers, posted callbacks) until
// pred() holds or the time is up; returns pred().
template <class Pred>
awaitable<bool> wait_until(Pred pred, std::chrono::milliseconds limit = 10s) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < until) {
        t.expires_after(5ms);
        co_await t.async_wait(use_awaitable);
    }
    co_return pred();
}

awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(use_awaitable);
}

// listen_one - one subscription, kept in `keep`; counts the listens that became ready.
awaitable<void> listen_one(db::notifier& n, std::string channel, std::vector<db::subscription>& keep, int& done) {
    try {
        auto sub = co_await n.listen(channel, [](std::string) {});
        keep.push_back(std::move(sub));
        ++done;
    } catch (const std::exception&) {
        // stop() fails a listen that never became ready; the CHECK below reports it.
    }
}

}  // namespace

TEST_CASE("notifier makes every one of many simultaneous listens ready, also those arriving during a LISTEN") {
    // Regression: a listen that arrived while the thread's LISTEN round trip was in flight
    // had its wake-up drained by that round trip and waited for an unrelated one (a
    // polder-imapd LOGIN hung when several sessions logged in at once).
    db::test::temp_database tdb("ntf_many");
    asio::io_context io;
    db::notifier n(io.get_executor(), tdb.options());
    n.start();
    int done = 0;
    std::vector<db::subscription> keep;
    run_io(io, [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        for (int round = 0; round < 20; ++round) {
            for (int i = 0; i < 10; ++i) {
                std::string channel = "many_" + std::to_string(round) + "_" + std::to_string(i);
                asio::co_spawn(ex, listen_one(n, std::move(channel), keep, done), asio::detached);
            }
            co_await pause(1ms);
        }
        CHECK(co_await wait_until([&] { return done == 200; }));
        keep.clear();
        n.stop();
    }());
    CHECK(done == 200);
}

TEST_CASE("notifier delivers a NOTIFY to a coroutine on its executor") {
    db::test::temp_database tdb("ntf_deliver");
    asio::io_context io;
    db::notifier n(io.get_executor(), tdb.options());
    n.start();
    db::pool pool(tdb.options(), 1);
    const auto io_thread = std::this_thread::get_id();
    std::vector<std::string> got;
    bool on_io_thread = true;
    run_io(io, [&]() -> awaitable<void> {
        auto sub = co_await n.listen("mailbox_42", [&](std::string payload) {
            on_io_thread = on_io_thread && std::this_thread::get_id() == io_thread;
            got.push_back(std::move(payload));
        });
        CHECK(sub.listening());
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "mailbox_42", "hello"); });
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "other_channel", "not for us"); });
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "mailbox_42", ""); });
        CHECK(co_await wait_until([&] { return got.size() >= 2; }));
        co_await pause(100ms);
        n.stop();
        pool.stop();
    }());
    REQUIRE(got.size() == 2);
    CHECK(got[0] == "hello");
    CHECK(got[1] == "");
    CHECK(on_io_thread);
}

TEST_CASE("notifier does not deliver a NOTIFY from a rolled-back transaction") {
    db::test::temp_database tdb("ntf_rollback");
    asio::io_context io;
    db::notifier n(io.get_executor(), tdb.options());
    n.start();
    db::pool pool(tdb.options(), 1);
    std::vector<std::string> got;
    run_io(io, [&]() -> awaitable<void> {
        auto sub = co_await n.listen("c", [&](std::string p) { got.push_back(p); });
        try {
            co_await pool.transact([](pqxx::work& tx) {
                db::notify(tx, "c", "rolled back");
                throw std::runtime_error("abort");
            });
        } catch (const std::runtime_error&) {
        }
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "c", "committed"); });
        CHECK(co_await wait_until([&] { return !got.empty(); }));
        co_await pause(100ms);
        n.stop();
        pool.stop();
    }());
    CHECK(got == std::vector<std::string>{"committed"});
}

TEST_CASE("notifier handles channel names with quotes, spaces and capitals as plain names") {
    db::test::temp_database tdb("ntf_names");
    asio::io_context io;
    db::notifier n(io.get_executor(), tdb.options());
    n.start();
    db::pool pool(tdb.options(), 1);
    const std::string odd = R"(Box "1"; DROP TABLE x; --)";
    std::vector<std::string> got_odd, got_lower;
    run_io(io, [&]() -> awaitable<void> {
        auto a = co_await n.listen(odd, [&](std::string p) { got_odd.push_back(p); });
        auto b = co_await n.listen("box \"1\"; drop table x; --", [&](std::string p) { got_lower.push_back(p); });
        co_await pool.transact([&](pqxx::work& tx) { db::notify(tx, odd, "to the odd one"); });
        CHECK(co_await wait_until([&] { return !got_odd.empty(); }));
        co_await pause(100ms);
        n.stop();
        pool.stop();
    }());
    CHECK(got_odd == std::vector<std::string>{"to the odd one"});
    CHECK(got_lower.empty());  // quoted identifiers keep their case
}

TEST_CASE("notifier stops delivering to a dropped subscription but keeps the others on the channel") {
    db::test::temp_database tdb("ntf_unsub");
    asio::io_context io;
    db::notifier n(io.get_executor(), tdb.options());
    n.start();
    db::pool pool(tdb.options(), 1);
    std::vector<std::string> first, second, third;
    run_io(io, [&]() -> awaitable<void> {
        auto a = co_await n.listen("shared", [&](std::string p) { first.push_back(p); });
        auto b = co_await n.listen("shared", [&](std::string p) { second.push_back(p); });
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "shared", "1"); });
        CHECK(co_await wait_until([&] { return first.size() == 1 && second.size() == 1; }));
        a.reset();
        CHECK_FALSE(a);
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "shared", "2"); });
        CHECK(co_await wait_until([&] { return second.size() == 2; }));
        b = db::subscription{};  // the last one: the channel is UNLISTENed
        co_await pause(100ms);
        // Re-subscribing LISTENs again.
        auto c = co_await n.listen("shared", [&](std::string p) { third.push_back(p); });
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "shared", "3"); });
        CHECK(co_await wait_until([&] { return third.size() == 1; }));
        co_await pause(100ms);
        n.stop();
        pool.stop();
    }());
    CHECK(first == std::vector<std::string>{"1"});
    CHECK(second == std::vector<std::string>{"1", "2"});
    CHECK(third == std::vector<std::string>{"3"});
}

TEST_CASE("notifier reconnects and listens again after its backend is terminated, calling on_resync") {
    db::test::temp_database tdb("ntf_recover");
    auto options = tdb.options();
    options.application_name = db::test::unique_name("listener");
    asio::io_context io;
    db::notifier n(io.get_executor(), options);
    n.start();
    db::pool pool(tdb.options(), 1);
    std::vector<std::string> got;
    int resyncs = 0;
    run_io(io, [&]() -> awaitable<void> {
        auto sub = co_await n.listen(
            "events", [&](std::string p) { got.push_back(p); }, [&] { ++resyncs; });
        CHECK(n.connections_made() == 1);
        int terminated = co_await pool.run([&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx
                .exec_params1("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                              options.application_name)[0]
                .as<int>();
        });
        CHECK(terminated == 1);
        CHECK(co_await wait_until([&] { return n.connections_made() == 2 && resyncs == 1 && sub.listening(); }));
        CHECK(n.connected());
        co_await pool.transact([](pqxx::work& tx) { db::notify(tx, "events", "after the break"); });
        CHECK(co_await wait_until([&] { return !got.empty(); }));
        n.stop();
        pool.stop();
    }());
    CHECK(got == std::vector<std::string>{"after the break"});
    CHECK(resyncs == 1);
}

TEST_CASE("notifier stop is prompt while the server never answers the connection") {
    db::test::silent_listener silent;
    db::connection_options o;
    o.host = "127.0.0.1";
    o.port = silent.port();
    o.dbname = "x";
    o.user = "y";
    o.connect_timeout_seconds = 60;
    asio::io_context io;
    db::notifier n(io.get_executor(), o);
    n.start();
    std::this_thread::sleep_for(200ms);
    CHECK_FALSE(n.connected());
    const auto started = std::chrono::steady_clock::now();
    n.stop();
    CHECK(std::chrono::steady_clock::now() - started < 1s);
}

TEST_CASE("notifier stop is prompt while backing off from an unreachable database, and fails pending listens") {
    db::connection_options o;
    o.host = "127.0.0.1";
    o.port = db::test::closed_port();
    asio::io_context io;
    db::notifier n(io.get_executor(), o);
    n.start();
    bool failed_unavailable = false;
    asio::co_spawn(io, [&]() -> awaitable<void> {
        try {
            auto sub = co_await n.listen("never", [](std::string) {});
        } catch (const boost::system::system_error& e) {
            failed_unavailable = polder::is(e.code(), errc::unavailable);
        }
    }, asio::detached);
    io.poll();
    std::this_thread::sleep_for(500ms);  // several failed attempts: now in a backoff
    const auto started = std::chrono::steady_clock::now();
    n.stop();
    CHECK(std::chrono::steady_clock::now() - started < 1s);
    io.run();
    CHECK(failed_unavailable);
}

TEST_CASE("notifier refuses invalid channels and callbacks; notify refuses oversized payloads") {
    asio::io_context io;
    db::notifier n(io.get_executor(), db::connection_options{});
    auto cb = [](std::string) {};
    CHECK_THROWS_AS((void)n.subscribe("", io.get_executor(), cb), std::invalid_argument);
    CHECK_THROWS_AS((void)n.subscribe(std::string(64, 'c'), io.get_executor(), cb), std::invalid_argument);
    CHECK_THROWS_AS((void)n.subscribe(std::string("a\0b", 3), io.get_executor(), cb), std::invalid_argument);
    CHECK_THROWS_AS((void)n.subscribe("ok", io.get_executor(), nullptr), std::invalid_argument);
    CHECK_NOTHROW((void)n.subscribe(std::string(63, 'c'), io.get_executor(), cb));
    CHECK(db::quote_identifier(R"(a"b)") == R"("a""b")");
    CHECK(db::valid_channel("x"));
    CHECK_FALSE(db::valid_channel(std::string(64, 'x')));

    db::test::temp_database tdb("ntf_limits");
    auto c = db::connect(tdb.options());
    pqxx::work tx(*c);
    CHECK_THROWS_AS(db::notify(tx, std::string(64, 'c'), "x"), std::invalid_argument);
    CHECK_THROWS_AS(db::notify(tx, "c", std::string(8000, 'x')), std::invalid_argument);
    CHECK_THROWS_AS(db::notify(tx, "c", std::string("a\0b", 3)), std::invalid_argument);
    CHECK_NOTHROW(db::notify(tx, "c", std::string(7999, 'x')));
}

TEST_CASE("notifier listen after stop fails as unavailable") {
    asio::io_context io;
    db::notifier n(io.get_executor(), db::connection_options{});
    n.stop();
    bool unavailable = false;
    run_io(io, [&]() -> awaitable<void> {
        try {
            auto s = co_await n.listen("c", [](std::string) {});
        } catch (const boost::system::system_error& e) {
            unavailable = polder::is(e.code(), errc::unavailable);
        }
    }());
    CHECK(unavailable);
}
