// test_prepared.cpp - db::exec_cached: statements of fixed text are prepared
// once per connection, give the same results as exec_params, survive a new
// connection, and the registry of texts is bounded.
// SECURITY: the bound keeps client-shaped SQL from growing the prepared set.
// STANDARDS: none.
#include "polder/db/db.hpp"
#include "polder/db/statement_names.hpp"
#include "test_db_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace polder;

namespace {

long prepared_count(pqxx::transaction_base& tx) {
    return tx.exec1("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'polder\\_%'")[0].as<long>();
}

}  // namespace

TEST_CASE("exec_cached prepares a statement once per connection and answers like exec_params") {
    db::test::temp_database tdb("prepared_once");
    auto c = db::connect(tdb.options());
    pqxx::work tx(*c);
    const std::string sql = "SELECT $1::int * 2, $2::text";
    for (int i = 0; i < 5; ++i) {
        auto r = db::exec_cached(tx, sql, i, std::string("x") + std::to_string(i));
        auto p = tx.exec_params(sql, i, std::string("x") + std::to_string(i));
        REQUIRE(r.size() == 1);
        CHECK(r[0][0].as<int>() == p[0][0].as<int>());
        CHECK(r[0][1].as<std::string>() == p[0][1].as<std::string>());
    }
    CHECK(db::exec_cached1(tx, "SELECT $1::bigint + 1", 41)[0].as<long>() == 42);
    CHECK(prepared_count(tx) == 2);   // two texts, however often they ran
    std::vector<std::string> dynamic{"7", "{1,2,3}"};
    auto r = db::exec_cached(tx, "SELECT $1::int + cardinality($2::int[])", pqxx::prepare::make_dynamic_params(dynamic));
    CHECK(r[0][0].as<int>() == 10);
    tx.commit();
}

TEST_CASE("exec_cached prepares again on a new connection, and a failed statement leaves the name usable") {
    db::test::temp_database tdb("prepared_reconnect");
    const std::string sql = "SELECT 1 / $1::int";
    {
        auto c = db::connect(tdb.options());
        pqxx::work tx(*c);
        CHECK(db::exec_cached1(tx, sql, 1)[0].as<int>() == 1);
    }
    auto c = db::connect(tdb.options());
    {
        pqxx::work tx(*c);
        CHECK(db::exec_cached1(tx, sql, 1)[0].as<int>() == 1);
        CHECK_THROWS(db::exec_cached(tx, sql, 0));   // division by zero aborts the transaction
    }
    pqxx::work tx(*c);
    CHECK(db::exec_cached1(tx, sql, 1)[0].as<int>() == 1);
}

TEST_CASE("the registry of cached statement texts is bounded and names are stable") {
    auto a = db::detail::statement_name("SELECT 'stable-name-check'");
    auto b = db::detail::statement_name("SELECT 'stable-name-check'");
    REQUIRE(a);
    CHECK(*a == *b);
    CHECK(a->rfind("polder_", 0) == 0);
    CHECK(a->size() == 7 + 16);
    std::size_t unnamed = 0;
    for (std::size_t i = 0; i < db::max_cached_statements + 10; ++i)
        if (!db::detail::statement_name("SELECT " + std::to_string(i) + " AS bound_check")) ++unnamed;
    CHECK(unnamed >= 10);
    CHECK(db::detail::statement_name("SELECT 'stable-name-check'") == a);   // known texts keep their name
}

TEST_CASE("a registry of statement names of its own has its own prefix and budget") {
    // As polder-imapd's SEARCH shapes (mailstore ops.cpp): spending this budget leaves
    // exec_cached's untouched.
    db::statement_names names("t_search_", 2);
    auto a = names.name("SELECT 'a'");
    auto b = names.name("SELECT 'b'");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a != *b);
    CHECK(a->rfind("t_search_", 0) == 0);
    CHECK(a->size() == 9 + 16);
    CHECK_FALSE(names.name("SELECT 'c'"));
    CHECK(names.name("SELECT 'a'") == a);   // known texts keep their name
    // The same text in another registry: the same hash, that registry's prefix.
    db::statement_names other("x_", 1);
    auto same = other.name("SELECT 'a'");
    REQUIRE(same);
    CHECK(*same == "x_" + a->substr(9));
}
