// polder/db/migration.hpp - one numbered schema migration, as embedded in the
// binary. Kept free of libpqxx so the generated table of embedded migrations
// (schema/CMakeLists.txt -> polder::schema) compiles without it.
//
// SECURITY: the SQL is part of the build, never read at run time from a path
// an attacker could influence.
// STANDARDS: none.
#pragma once

#include <span>
#include <string_view>

namespace polder::db {

// version: the NNNN of schema/NNNN_name.sql (1..9999); name: the name part
// ([a-z0-9_], at most 64 characters); sql: the file's exact bytes.
struct migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

// embedded_migrations - every schema/NNNN_name.sql of the source tree at build
// time, sorted by version (defined in the generated source of polder::schema).
std::span<const migration> embedded_migrations();

}  // namespace polder::db
