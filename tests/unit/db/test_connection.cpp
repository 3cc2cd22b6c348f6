// test_connection.cpp - connection strings, connect() failures and error
// translation of polder::db.
// SECURITY: checks that no option value can inject another libpq keyword and
// that the password never appears in an error message.
// STANDARDS: libpq keyword/value connection strings (checked against libpq's
// own parser, PQconninfoParse), SQLSTATE (PostgreSQL 15 Appendix A).
#include "polder/core/error.hpp"
#include "polder/db/config.hpp"
#include "polder/db/db.hpp"
#include "test_db_support.hpp"

#include <boost/system/system_error.hpp>
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <map>

using namespace polder;
using polder::db::connection_options;

namespace {

// parse - what libpq itself makes of a connection string.
std::map<std::string, std::string> parse(const std::string& conninfo) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (!opts) {
        std::string msg = err ? err : "unknown";
        PQfreemem(err);
        throw std::runtime_error("libpq rejected the connection string: " + msg);
    }
    std::map<std::string, std::string> out;
    for (auto* o = opts; o->keyword; ++o)
        if (o->val) out[o->keyword] = o->val;
    PQconninfoFree(opts);
    return out;
}

}  // namespace

TEST_CASE("connection string quotes single quotes and backslashes so libpq reads every value back unchanged") {
    connection_options o;
    o.host = "db.example.test";
    o.port = 6543;
    o.dbname = "my db";
    o.user = "o'brien";
    o.password = R"(pa'ss\word host=evil.example sslmode=disable)";
    o.application_name = "polder-\\test";
    o.connect_timeout_seconds = 7;

    auto s = db::connection_string(o);
    CHECK(s.find(R"(user='o\'brien')") != std::string::npos);
    CHECK(s.find(R"(password='pa\'ss\\word host=evil.example sslmode=disable')") != std::string::npos);

    auto parsed = parse(s);
    CHECK(parsed["host"] == "db.example.test");
    CHECK(parsed["port"] == "6543");
    CHECK(parsed["dbname"] == "my db");
    CHECK(parsed["user"] == "o'brien");
    CHECK(parsed["password"] == o.password);
    CHECK(parsed["application_name"] == "polder-\\test");
    CHECK(parsed["connect_timeout"] == "7");
    CHECK(parsed.count("sslmode") == 0);  // the password did not inject a keyword
}

TEST_CASE("connection string leaves out empty values and passes statement_timeout as a server option") {
    connection_options o;
    o.port = 5432;
    o.statement_timeout_ms = 2500;
    o.connect_timeout_seconds = 0;
    auto parsed = parse(db::connection_string(o));
    CHECK(parsed.count("host") == 0);
    CHECK(parsed.count("password") == 0);
    CHECK(parsed.count("connect_timeout") == 0);
    CHECK(parsed["options"] == "-c statement_timeout=2500");
    CHECK(db::quote_conninfo_value("") == "''");
}

TEST_CASE("connection string rejects a NUL byte and an overlong value") {
    connection_options o;
    o.password = std::string("a\0b", 3);
    CHECK_THROWS_AS(db::connection_string(o), std::invalid_argument);
    o.password = std::string(db::max_option_length + 1, 'x');
    CHECK_THROWS_AS(db::connection_string(o), std::invalid_argument);
    o.password = std::string(db::max_option_length, 'x');
    CHECK_NOTHROW(db::connection_string(o));
}

TEST_CASE("from_config copies the database settings") {
    config::database_settings s;
    s.host = "10.1.2.3";
    s.port = 6000;
    s.name = "polder_prod";
    s.user = "svc";
    s.password = "secret";
    s.connect_timeout_seconds = 9;
    auto o = db::from_config(s);
    CHECK(o.host == "10.1.2.3");
    CHECK(o.port == 6000);
    CHECK(o.dbname == "polder_prod");
    CHECK(o.user == "svc");
    CHECK(o.password == "secret");
    CHECK(o.connect_timeout_seconds == 9);
    CHECK(o.application_name == "polder");
}

TEST_CASE("connect to a closed port names host, port, database and user and libpq's reason, never the password") {
    connection_options o;
    o.host = "127.0.0.1";
    o.port = db::test::closed_port();
    o.dbname = "polder";
    o.user = "polder";
    o.password = "very-secret-password";
    try {
        (void)db::connect(o);
        FAIL("connect succeeded on a closed port");
    } catch (const db::connect_error& e) {
        std::string what = e.what();
        INFO(what);
        CHECK(what.starts_with("cannot connect to PostgreSQL at 127.0.0.1:" + std::to_string(o.port) +
                               " (database polder, user polder): "));
        CHECK(what.find("refused") != std::string::npos);
        CHECK(what.find("very-secret-password") == std::string::npos);
        CHECK(what.find('\n') == std::string::npos);
        CHECK(polder::is(db::translate(e), errc::unavailable));
    }
}

TEST_CASE("connect gives up after connect_timeout_seconds when the server never answers") {
    db::test::silent_listener silent;
    connection_options o;
    o.host = "127.0.0.1";
    o.port = silent.port();
    o.dbname = "polder";
    o.user = "polder";
    o.connect_timeout_seconds = 2;
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(db::connect(o), db::connect_error);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(elapsed >= std::chrono::milliseconds(1500));
    CHECK(elapsed < std::chrono::seconds(10));
}

TEST_CASE("connect with options the connection string refuses throws connect_error") {
    connection_options o;
    o.host = "127.0.0.1";
    o.user = std::string("a\0b", 3);
    CHECK_THROWS_AS(db::connect(o), db::connect_error);
}

TEST_CASE("translate maps constraint violations and other database errors to polder errors") {
    db::test::temp_database tdb("translate");
    auto conn = db::connect(tdb.options());
    {
        pqxx::work tx(*conn);
        tx.exec(
            "CREATE TABLE parent (id int PRIMARY KEY);"
            "CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id),"
            " qty int CHECK (qty >= 0));"
            "INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1, 0);");
        tx.commit();
    }
    auto error_of = [&](const std::string& sql) -> boost::system::error_code {
        try {
            pqxx::work tx(*conn);
            tx.exec(sql);
            tx.commit();
        } catch (const std::exception& e) {
            return db::translate(e);
        }
        return {};
    };
    CHECK(polder::is(error_of("INSERT INTO parent VALUES (1)"), errc::already_exists));
    CHECK(polder::is(error_of("INSERT INTO child VALUES (2, 99, 0)"), errc::not_found));
    CHECK(polder::is(error_of("DELETE FROM parent WHERE id = 1"), errc::conflict));
    CHECK(polder::is(error_of("INSERT INTO child VALUES (3, 1, -1)"), errc::invalid_argument));
    CHECK(polder::is(error_of("INSERT INTO child (id, qty) VALUES (4, 0)"), errc::invalid_argument));
    CHECK(polder::is(error_of("SELECT 'x'::int"), errc::invalid_argument));
    CHECK(polder::is(error_of("SELECT 1/0"), errc::invalid_argument));
    CHECK(polder::is(error_of("SET LOCAL statement_timeout = 50; SELECT pg_sleep(2)"), errc::timeout));
    CHECK(polder::is(error_of("SELEKT 1"), errc::internal));
    CHECK(polder::is(error_of("SELECT * FROM no_such_table"), errc::internal));

    CHECK(polder::is(db::translate(std::runtime_error("x")), errc::internal));
    CHECK(polder::is(db::translate(boost::system::system_error(make_error_code(errc::throttled))), errc::throttled));
    CHECK(polder::is(db::translate(pqxx::broken_connection("gone")), errc::unavailable));
    CHECK(polder::is(db::translate(pqxx::in_doubt_error("unknown")), errc::unavailable));
    CHECK(polder::is(db::translate(pqxx::serialization_failure("could not serialize")), errc::conflict));
    CHECK(polder::is(db::translate(std::exception_ptr{}), errc::ok));
    CHECK(polder::is(db::translate(std::make_exception_ptr(42)), errc::internal));
}

TEST_CASE("retryable errors are exactly serialization failures and deadlocks") {
    CHECK(db::is_retryable(pqxx::serialization_failure("x")));
    CHECK(db::is_retryable(pqxx::deadlock_detected("x")));
    CHECK(db::is_retryable(pqxx::sql_error("could not serialize", "", "40001")));
    CHECK_FALSE(db::is_retryable(pqxx::unique_violation("x", "", "23505")));
    CHECK_FALSE(db::is_retryable(pqxx::broken_connection("x")));
    CHECK_FALSE(db::is_retryable(std::runtime_error("40001")));
    CHECK(db::is_connection_failure(pqxx::sql_error("terminating connection", "", "57P01")));
    CHECK(db::is_connection_failure(pqxx::broken_connection("x")));
    CHECK_FALSE(db::is_connection_failure(pqxx::sql_error("x", "", "23505")));
    CHECK(db::sqlstate(pqxx::serialization_failure("x")) == "40001");
    CHECK(db::sqlstate(pqxx::deadlock_detected("x")) == "40P01");
    CHECK(db::sqlstate(pqxx::unique_violation("x", "", "23505")) == "23505");
    CHECK(db::sqlstate(std::runtime_error("x")).empty());
    CHECK(db::isolation_sql(db::isolation::serializable) == "SERIALIZABLE");
}
