// test_migrate.cpp - the migration runner: list validation (pure), applying
// synthetic migrations, idempotence, failure atomicity, concurrent runners,
// and refusal of a database newer than the binary.
// SECURITY: a migration list with duplicate or malformed entries is refused
// before anything touches the database.
// STANDARDS: PostgreSQL 15 manual 9.27.10 (advisory locks).
#include "polder/db/db.hpp"
#include "test_db_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

using namespace polder;
using db::migration;

namespace {

bool table_exists(pqxx::connection& c, const std::string& qualified) {
    pqxx::read_transaction tx(c);
    return !tx.exec_params1("SELECT to_regclass($1)", qualified)[0].is_null();
}

std::vector<int> recorded(pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<int> v;
    for (const auto& row : tx.exec("SELECT version FROM public.polder_schema_migrations ORDER BY version"))
        v.push_back(row[0].as<int>());
    return v;
}

std::string validation_error(std::vector<migration> list) {
    try {
        db::validate_migrations(list);
    } catch (const db::migration_error& e) {
        return e.what();
    }
    return {};
}

const std::vector<migration> three = {
    {1, "first", "CREATE SCHEMA m; CREATE TABLE m.a (id int PRIMARY KEY);"},
    {2, "second", "CREATE TABLE m.b (id int PRIMARY KEY, a_id int REFERENCES m.a(id));"},
    {5, "fifth", "ALTER TABLE m.a ADD COLUMN note text; -- a comment with ' and \" and )\" inside"},
};

}  // namespace

TEST_CASE("migration validation accepts an ascending list of unique, well-named versions") {
    CHECK(validation_error(three).empty());
    CHECK(validation_error({}).empty());
    CHECK(db::valid_migration_name("directory"));
    CHECK(db::valid_migration_name("mail_2"));
    CHECK_FALSE(db::valid_migration_name(""));
    CHECK_FALSE(db::valid_migration_name("Directory"));
    CHECK_FALSE(db::valid_migration_name("a-b"));
    CHECK_FALSE(db::valid_migration_name("a b"));
    CHECK_FALSE(db::valid_migration_name(std::string(65, 'a')));
    CHECK(db::valid_migration_name(std::string(64, 'a')));
}

TEST_CASE("migration validation rejects duplicate versions naming both") {
    auto msg = validation_error({{1, "a", "SELECT 1"}, {2, "b", "SELECT 1"}, {2, "c", "SELECT 1"}});
    CHECK(msg.find("duplicate migration version 2") != std::string::npos);
    CHECK(msg.find("0002_b") != std::string::npos);
    CHECK(msg.find("0002_c") != std::string::npos);
    // Not adjacent, and out of order too: the duplicate is still what is reported.
    msg = validation_error({{3, "a", "SELECT 1"}, {1, "b", "SELECT 1"}, {3, "c", "SELECT 1"}});
    CHECK(msg.find("duplicate migration version 3") != std::string::npos);
}

TEST_CASE("migration validation rejects a list out of order") {
    auto msg = validation_error({{1, "a", "SELECT 1"}, {3, "c", "SELECT 1"}, {2, "b", "SELECT 1"}});
    CHECK(msg.find("out of order") != std::string::npos);
    CHECK(msg.find("0003_c comes before 0002_b") != std::string::npos);
}

TEST_CASE("migration validation rejects bad names, versions out of range and empty SQL") {
    CHECK(validation_error({{0, "zero", "SELECT 1"}}).find("outside 1..9999") != std::string::npos);
    CHECK(validation_error({{10000, "big", "SELECT 1"}}).find("outside 1..9999") != std::string::npos);
    CHECK(validation_error({{-1, "neg", "SELECT 1"}}).find("outside") != std::string::npos);
    CHECK(validation_error({{1, "Bad Name", "SELECT 1"}}).find("invalid name") != std::string::npos);
    CHECK(validation_error({{1, "", "SELECT 1"}}).find("invalid name") != std::string::npos);
    CHECK(validation_error({{1, "empty", ""}}).find("is empty") != std::string::npos);
}

TEST_CASE("embedded migrations are a valid ascending list generated from schema/") {
    auto embedded = db::embedded_migrations();
    CHECK_NOTHROW(db::validate_migrations(embedded));
    REQUIRE_FALSE(embedded.empty());
    CHECK(std::is_sorted(embedded.begin(), embedded.end(),
                         [](const migration& a, const migration& b) { return a.version < b.version; }));
    for (const auto& m : embedded) {
        CHECK_FALSE(m.sql.empty());
        CHECK(m.sql.find('\0') == std::string_view::npos);
    }
}

TEST_CASE("embedded migrations are byte for byte the schema/*.sql files of the source tree") {
    const std::filesystem::path dir = std::filesystem::path(POLDER_SOURCE_DIR) / "schema";
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".sql") ++files;
    auto embedded = db::embedded_migrations();
    CHECK(embedded.size() == files);
    for (const auto& m : embedded) {
        char prefix[8];
        std::snprintf(prefix, sizeof prefix, "%04d_", m.version);
        auto path = dir / (prefix + std::string(m.name) + ".sql");
        INFO(path.string());
        std::ifstream in(path, std::ios::binary);
        REQUIRE(in);
        std::ostringstream content;
        content << in.rdbuf();
        CHECK(content.str() == m.sql);
    }
}

TEST_CASE("migrate applies synthetic migrations in order and a second run is a no-op") {
    db::test::temp_database tdb("mig_apply");
    auto c = db::connect(tdb.options());
    auto report = db::migrate(*c, three);
    CHECK(report.applied == std::vector<int>{1, 2, 5});
    CHECK(report.current_version == 5);
    CHECK(table_exists(*c, "m.a"));
    CHECK(table_exists(*c, "m.b"));
    CHECK(recorded(*c) == std::vector<int>{1, 2, 5});

    auto again = db::migrate(*c, three);
    CHECK(again.applied.empty());
    CHECK(again.current_version == 5);
    CHECK(recorded(*c) == std::vector<int>{1, 2, 5});

    // A later release adds migrations, including one below the current top
    // (areas reserve version ranges): only the new ones are applied.
    auto more = three;
    more.insert(more.begin() + 2, {3, "third", "CREATE TABLE m.c (id int);"});
    more.push_back({7, "seventh", "CREATE TABLE m.d (id int);"});
    auto later = db::migrate(*c, more);
    CHECK(later.applied == std::vector<int>{3, 7});
    CHECK(later.current_version == 7);
    CHECK(table_exists(*c, "m.c"));
    CHECK(table_exists(*c, "m.d"));

    auto st = db::migration_status(*c, more);
    CHECK(st.pending.empty());
    CHECK(st.unknown.empty());
    CHECK(st.current_version == 7);
}

TEST_CASE("migrate applies each migration atomically with its bookkeeping row and reports the failing one") {
    db::test::temp_database tdb("mig_fail");
    auto c = db::connect(tdb.options());
    std::vector<migration> list = {
        {1, "good", "CREATE TABLE good (id int);"},
        {2, "bad", "CREATE TABLE half (id int); SELECT no_such_column FROM good;"},
        {3, "after", "CREATE TABLE after_bad (id int);"},
    };
    try {
        db::migrate(*c, list);
        FAIL("migrate did not fail");
    } catch (const db::migration_error& e) {
        std::string what = e.what();
        INFO(what);
        CHECK(what.starts_with("migration 0002_bad failed: "));
        CHECK(what.find("no_such_column") != std::string::npos);
        CHECK(what.find('\n') == std::string::npos);
    }
    CHECK(recorded(*c) == std::vector<int>{1});
    CHECK(table_exists(*c, "public.good"));
    CHECK_FALSE(table_exists(*c, "public.half"));  // rolled back with its migration
    CHECK_FALSE(table_exists(*c, "public.after_bad"));

    auto st = db::migration_status(*c, list);
    CHECK(st.applied == std::vector<int>{1});
    CHECK(st.pending == std::vector<int>{2, 3});
}

TEST_CASE("migrate refuses a database that records a version newer than the binary knows") {
    db::test::temp_database tdb("mig_newer");
    auto c = db::connect(tdb.options());
    auto full = three;
    full.push_back({9, "ninth", "CREATE TABLE m.z (id int);"});
    db::migrate(*c, full);
    try {
        db::migrate(*c, three);  // an older binary
        FAIL("migrate accepted a newer database");
    } catch (const db::migration_error& e) {
        std::string what = e.what();
        INFO(what);
        CHECK(what.find("0009_ninth") != std::string::npos);
        CHECK(what.find("newer than this binary knows (latest 5)") != std::string::npos);
    }
    auto st = db::migration_status(*c, three);
    CHECK(st.unknown == std::vector<int>{9});
}

TEST_CASE("migrate refuses a recorded version it does not know or that has another name") {
    db::test::temp_database tdb("mig_unknown");
    auto c = db::connect(tdb.options());
    db::migrate(*c, three);
    std::vector<migration> without_two = {three[0], three[2]};
    CHECK_THROWS_WITH(db::migrate(*c, without_two), Catch::Contains("0002_second") && Catch::Contains("does not know"));
    std::vector<migration> renamed = {three[0], {2, "other", "SELECT 1"}, three[2]};
    CHECK_THROWS_WITH(db::migrate(*c, renamed), Catch::Contains("recorded as 'second'"));
}

TEST_CASE("migrate refuses an invalid list before touching the database") {
    db::test::temp_database tdb("mig_invalid");
    auto c = db::connect(tdb.options());
    std::vector<migration> dup = {{1, "a", "CREATE TABLE a (id int);"}, {1, "b", "CREATE TABLE b (id int);"}};
    CHECK_THROWS_AS(db::migrate(*c, dup), db::migration_error);
    CHECK_FALSE(table_exists(*c, "public.polder_schema_migrations"));
    CHECK_FALSE(table_exists(*c, "public.a"));
}

TEST_CASE("two concurrent migrate runs apply every migration exactly once") {
    db::test::temp_database tdb("mig_concurrent");
    // Plain CREATE TABLE fails if run twice, and pg_sleep widens the window.
    std::vector<migration> slow = {
        {1, "one", "CREATE TABLE one (id int); SELECT pg_sleep(0.3);"},
        {2, "two", "CREATE TABLE two (id int); SELECT pg_sleep(0.3);"},
    };
    db::migrate_report reports[2];
    std::string errors[2];
    auto runner = [&](int i) {
        try {
            auto c = db::connect(tdb.options());
            reports[i] = db::migrate(*c, slow);
        } catch (const std::exception& e) {
            errors[i] = e.what();
        }
    };
    std::thread a(runner, 0), b(runner, 1);
    a.join();
    b.join();
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    std::vector<int> all = reports[0].applied;
    all.insert(all.end(), reports[1].applied.begin(), reports[1].applied.end());
    std::sort(all.begin(), all.end());
    CHECK(all == std::vector<int>{1, 2});
    CHECK(reports[0].current_version == 2);
    CHECK(reports[1].current_version == 2);
}

TEST_CASE("migrate applies the embedded schema to an empty database, twice without change") {
    db::test::temp_database tdb("mig_embedded");
    auto c = db::connect(tdb.options());
    auto first = db::migrate(*c);
    CHECK(first.applied.size() == db::embedded_migrations().size());
    CHECK(first.current_version == db::embedded_migrations().back().version);
    CHECK(db::migrate(*c).applied.empty());
}
