// test_async_connection.cpp - db::async_connection: statements with parameters (and
// NULLs) from a coroutine, answered on the io_context's own thread; a refused statement
// is a pqxx::sql_error with its SQLSTATE and leaves the connection usable; a binary
// parameter keeps its bytes; a killed
// backend is a broken_connection and the next statement connects again; an unreachable
// database is a connect_error, retried at most once a second.
// SECURITY: values travel as parameters: a value with quotes and a semicolon is stored
// as it is, never run.
// STANDARDS: none.
#include "polder/db/db.hpp"
#include "test_db_support.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace polder;

namespace {

// stmt - a statement built outside any co_await expression (GCC 12 cannot keep an
// initializer list's array alive across a suspension point).
db::statement stmt(std::string sql, std::vector<std::optional<std::string>> params = {}, std::vector<bool> binary = {}) {
    return {std::move(sql), std::move(params), std::move(binary)};
}

}  // namespace

TEST_CASE("async_connection runs statements with parameters and reports refusals") {
    db::test::temp_database tdb("async_conn");
    {
        auto c = db::connect(tdb.options());
        pqxx::work tx(*c);
        tx.exec("CREATE TABLE t (id int PRIMARY KEY, note text)");
        tx.commit();
    }
    db::pool pool(tdb.options(), 1);
    asio::io_context io;
    db::async_connection conn(io.get_executor(), pool);
    const auto io_thread = std::this_thread::get_id();
    auto body = [&]() -> awaitable<void> {
        const std::string evil = "x'); DROP TABLE t; --";
        const std::string insert = "INSERT INTO t (id, note) VALUES ($1::int, $2) RETURNING id, note";
        const auto first = stmt(insert, {"1", evil});
        auto rows = co_await conn.exec(first);
        CHECK(std::this_thread::get_id() == io_thread);   // resumed on the io_context's thread
        REQUIRE(rows.size() == 1);
        CHECK(rows[0][0].as<int>() == 1);
        CHECK(std::string(rows[0][1].c_str()) == evil);
        const auto second = stmt(insert, {"2", std::nullopt});
        rows = co_await conn.exec(second);   // the same text: prepared once
        CHECK(rows[0][1].is_null());
        CHECK_THROWS_AS(rows[0][1].as<std::string>(), std::domain_error);

        // A binary parameter travels as its bytes, NUL included.
        auto bytes = stmt("SELECT length($1::bytea), encode($1::bytea, 'hex'), $2::text",
                          {std::string("a\0b", 3), "text"}, {true, false});
        rows = co_await conn.exec(bytes);
        CHECK(rows[0][0].as<int>() == 3);
        CHECK(std::string(rows[0][1].c_str()) == "610062");
        CHECK(std::string(rows[0][2].c_str()) == "text");
        bytes.binary.pop_back();   // names one parameter of two
        bool mismatched = false;
        try {
            (void)co_await conn.exec(bytes);
        } catch (const std::invalid_argument&) {
            mismatched = true;
        }
        CHECK(mismatched);

        // A refused statement: its SQLSTATE, nothing stored, the connection goes on.
        const auto again = stmt(insert, {"1", "again"});
        bool refused = false;
        try {
            (void)co_await conn.exec(again);
        } catch (const pqxx::sql_error& e) {
            refused = true;
            CHECK(e.sqlstate() == "23505");
            CHECK(db::translate(e) == make_error_code(errc::already_exists));
        }
        CHECK(refused);
        const auto ids = stmt("SELECT id FROM t ORDER BY id"), pid_of = stmt("SELECT pg_backend_pid()");
        rows = co_await conn.exec(ids);
        REQUIRE(rows.size() == 2);
        int sum = 0;
        for (auto r : rows) sum += r[0].as<int>();
        CHECK(sum == 3);

        // A killed backend: broken_connection, then the next statement connects again.
        auto pid = (co_await conn.exec(pid_of))[0][0].as<int>();
        co_await pool.run([pid](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_params("SELECT pg_terminate_backend($1)", pid);
        });
        const auto one = stmt("SELECT 1"), count = stmt("SELECT count(*) FROM t");
        bool broken = false;
        try {
            (void)co_await conn.exec(one);
        } catch (const pqxx::broken_connection&) {
            broken = true;
        }
        CHECK(broken);
        CHECK_FALSE(conn.connected());
        rows = co_await conn.exec(count);
        CHECK(rows[0][0].as<int>() == 2);
        CHECK((co_await conn.exec(pid_of))[0][0].as<int>() != pid);
    };
    db::test::run_io(io, body());
}

TEST_CASE("async_connection reports an unreachable database as connect_error and waits before trying again") {
    auto options = db::test::cluster_options();
    options.host = "127.0.0.1";
    options.port = db::test::closed_port();
    options.connect_timeout_seconds = 2;
    db::pool pool(options, 1);
    asio::io_context io;
    db::test::run_io(io, [&]() -> awaitable<void> {
        db::async_connection conn(co_await asio::this_coro::executor, pool);
        const auto one = stmt("SELECT 1");
        for (int attempt = 0; attempt < 2; ++attempt) {
            bool refused = false;
            try {
                (void)co_await conn.exec(one);
            } catch (const db::connect_error& e) {
                refused = true;
                CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);
            }
            CHECK(refused);
        }
        CHECK_FALSE(conn.connected());
    }());
}
