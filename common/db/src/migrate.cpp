// migrate.cpp - the schema migration runner (see migrate.hpp).
//
// SECURITY: runs only SQL embedded in the binary (or handed in by the caller,
// i.e. tests); the bookkeeping statements are fixed text with parameters. A
// database newer than the binary is refused rather than "downgraded" or
// half-understood.
// STANDARDS: PostgreSQL 15 manual 9.27.10 (pg_advisory_lock/unlock, session
// level), CREATE TABLE IF NOT EXISTS.
#include "polder/db/migrate.hpp"

#include "polder/log/log.hpp"
#include "util.hpp"

#include <pqxx/pqxx>
#include <pqxx/transaction>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

namespace polder::db {

namespace {

std::string label(int version, std::string_view name) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%04d", version);
    return std::string(digits) + "_" + std::string(name);
}

// advisory_lock - holds the session-level migration lock for its lifetime.
// A session-level lock outlives transactions, so every migration can commit
// on its own while the lock keeps other runners out.
class advisory_lock {
public:
    explicit advisory_lock(pqxx::connection& conn) : conn_(conn) {
        pqxx::nontransaction tx(conn_);
        tx.exec_params("SELECT pg_advisory_lock($1)", migration_lock_key);
    }
    ~advisory_lock() {
        try {
            pqxx::nontransaction tx(conn_);
            tx.exec_params("SELECT pg_advisory_unlock($1)", migration_lock_key);
        } catch (const std::exception& e) {
            // The connection is probably gone, and with it the lock.
            log::warn("db.migrate.unlock_failed", {{"error", detail::one_line(e.what())}});
        }
    }
    advisory_lock(const advisory_lock&) = delete;
    advisory_lock& operator=(const advisory_lock&) = delete;

private:
    pqxx::connection& conn_;
};

std::map<int, std::string> read_applied(pqxx::connection& conn, bool table_known_to_exist) {
    std::map<int, std::string> applied;
    pqxx::read_transaction tx(conn);
    if (!table_known_to_exist) {
        auto exists = tx.exec1("SELECT to_regclass('public.polder_schema_migrations') IS NOT NULL");
        if (!exists[0].as<bool>()) return applied;
    }
    for (const auto& row : tx.exec("SELECT version, name FROM public.polder_schema_migrations ORDER BY version"))
        applied.emplace(row[0].as<int>(), row[1].is_null() ? std::string() : row[1].as<std::string>());
    tx.commit();
    return applied;
}

}  // namespace

bool valid_migration_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_migration_name_length) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

void validate_migrations(std::span<const migration> migrations) {
    std::map<int, std::string_view> seen;
    for (const auto& m : migrations) {
        if (m.version < 1 || m.version > max_migration_version)
            throw migration_error("migration version " + std::to_string(m.version) + " (" +
                                  detail::one_line(m.name) + ") is outside 1.." +
                                  std::to_string(max_migration_version));
        if (!valid_migration_name(m.name))
            throw migration_error("migration " + std::to_string(m.version) + " has an invalid name '" +
                                  detail::one_line(m.name.substr(0, 80)) +
                                  "' (expected 1 to 64 of a-z, 0-9 and _)");
        if (auto [it, inserted] = seen.emplace(m.version, m.name); !inserted)
            throw migration_error("duplicate migration version " + std::to_string(m.version) + ": " +
                                  label(m.version, it->second) + " and " + label(m.version, m.name));
        if (m.sql.empty()) throw migration_error("migration " + label(m.version, m.name) + " is empty");
    }
    for (std::size_t i = 1; i < migrations.size(); ++i)
        if (migrations[i].version <= migrations[i - 1].version)
            throw migration_error("migrations out of order: " +
                                  label(migrations[i - 1].version, migrations[i - 1].name) + " comes before " +
                                  label(migrations[i].version, migrations[i].name));
}

migrate_report migrate(pqxx::connection& conn, std::span<const migration> migrations) {
    validate_migrations(migrations);
    const int latest_known = migrations.empty() ? 0 : migrations.back().version;

    advisory_lock lock(conn);
    {
        pqxx::work tx(conn);
        tx.exec(
            "CREATE TABLE IF NOT EXISTS public.polder_schema_migrations ("
            " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
        tx.commit();
    }
    auto applied = read_applied(conn, true);

    std::map<int, std::string_view> known;
    for (const auto& m : migrations) known.emplace(m.version, m.name);
    for (const auto& [version, name] : applied) {
        auto it = known.find(version);
        if (it == known.end()) {
            if (version > latest_known)
                throw migration_error("the database schema is at version " + label(version, name) +
                                      ", newer than this binary knows (latest " +
                                      (latest_known ? std::to_string(latest_known) : std::string("none")) +
                                      "); upgrade Polder before using this database");
            throw migration_error("the database records migration " + label(version, name) +
                                  ", which this binary does not know; refusing to continue");
        }
        if (it->second != name)
            throw migration_error("migration " + std::to_string(version) + " is recorded as '" +
                                  detail::one_line(name) + "' in the database but is '" + std::string(it->second) +
                                  "' in this binary; refusing to continue");
    }

    migrate_report report;
    for (const auto& m : migrations) {
        if (applied.contains(m.version)) continue;
        const auto started = std::chrono::steady_clock::now();
        try {
            pqxx::work tx(conn);
            tx.exec(std::string(m.sql));
            tx.exec_params("INSERT INTO public.polder_schema_migrations (version, name) VALUES ($1, $2)", m.version,
                           std::string(m.name));
            tx.commit();
        } catch (const std::exception& e) {
            log::error("db.migrate.failed", {{"version", m.version}, {"name", m.name}, {"error", detail::one_line(e.what())}});
            throw migration_error("migration " + label(m.version, m.name) + " failed: " + detail::one_line(e.what()));
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        log::info("db.migrate.applied", {{"version", m.version}, {"name", m.name}, {"ms", static_cast<long>(ms.count())}});
        report.applied.push_back(m.version);
        applied.emplace(m.version, std::string(m.name));
    }
    report.current_version = applied.empty() ? 0 : applied.rbegin()->first;
    return report;
}

schema_status migration_status(pqxx::connection& conn, std::span<const migration> migrations) {
    validate_migrations(migrations);
    auto applied = read_applied(conn, false);
    schema_status s;
    for (const auto& [version, name] : applied) s.applied.push_back(version);
    for (const auto& m : migrations)
        if (!applied.contains(m.version)) s.pending.push_back(m.version);
    for (const auto& [version, name] : applied)
        if (std::none_of(migrations.begin(), migrations.end(), [v = version](const migration& m) { return m.version == v; }))
            s.unknown.push_back(version);
    s.current_version = applied.empty() ? 0 : applied.rbegin()->first;
    return s;
}

}  // namespace polder::db
