// polder/db/migrate.hpp - the schema migration runner.
//
// migrate() brings a database up to the migrations this binary carries:
//   * it holds a session-level pg_advisory_lock for the whole run, so two
//     runners at once (two replicas starting, an operator and a deploy script)
//     are safe: the second waits, then finds nothing left to do;
//   * it creates public.polder_schema_migrations(version int primary key,
//     name text, applied_at timestamptz) if missing;
//   * it applies every known version not yet recorded, in ascending order,
//     each in its OWN transaction together with its bookkeeping row, so a
//     failing migration leaves the earlier ones applied and itself not at all;
//   * running it again is a no-op;
//   * it refuses (migration_error) when the database records a version this
//     binary does not know - typically a newer one written by a newer
//     release - or records a known version under another name.
// A migration file must not contain its own BEGIN/COMMIT.
//
// SECURITY: the SQL comes only from the binary (embedded at build time) or
// from the caller; nothing here builds SQL from input.
// STANDARDS: PostgreSQL 15 manual 9.27.10 (advisory lock functions).
#pragma once

#include "polder/db/migration.hpp"

#include <pqxx/connection>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace polder::db {

// migration_error - a bad migration list, a database newer than the binary,
// or a migration that failed (what() names the migration and the reason).
struct migration_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Advisory lock key taken by migrate() (ASCII "polder" + 0x0001).
inline constexpr std::int64_t migration_lock_key = 0x706f6c6465720001;
inline constexpr int max_migration_version = 9999;
inline constexpr std::size_t max_migration_name_length = 64;

// valid_migration_name - [a-z0-9_]{1,64}.
bool valid_migration_name(std::string_view name) noexcept;

// validate_migrations - throws migration_error unless every version is within
// 1..9999 and unique, the list is in ascending order, every name is valid and
// no SQL is empty. The message names the offending version(s).
void validate_migrations(std::span<const migration> migrations);

struct migrate_report {
    std::vector<int> applied;  // versions applied by this run, ascending
    int current_version = 0;   // highest recorded version afterwards (0 = none)
};

// migrate - see the top of this file. Blocking: call it from polderctl or a
// database thread, never from an I/O thread.
migrate_report migrate(pqxx::connection& conn, std::span<const migration> migrations = embedded_migrations());

// schema_status - what migrate() would do, without doing it or locking
// (for health checks and `polderctl migrate --status`-like commands).
struct schema_status {
    std::vector<int> applied;  // recorded in the database, ascending
    std::vector<int> pending;  // known here, not recorded
    std::vector<int> unknown;  // recorded, not known here (migrate() would refuse)
    int current_version = 0;
};
schema_status migration_status(pqxx::connection& conn, std::span<const migration> migrations = embedded_migrations());

}  // namespace polder::db
