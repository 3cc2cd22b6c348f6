// prepared.cpp - the registries of prepared statement names (statement_names.hpp) and
// the process-wide one of cached statement texts (prepared.hpp).
// SECURITY: bounded (max_cached_statements, and each registry's limit).
// STANDARDS: none.
#include "polder/db/prepared.hpp"
#include "polder/db/statement_names.hpp"

#include <cstdint>
#include <cstdio>

namespace polder::db {

std::optional<std::string> statement_names::name(const std::string& sql) {
    std::lock_guard lock(mutex_);
    if (auto it = names_.find(sql); it != names_.end()) return it->second;
    if (names_.size() >= limit_) return std::nullopt;
    std::uint64_t h = 14695981039346656037ull;   // FNV-1a, 64 bits
    for (unsigned char c : sql) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return names_.emplace(sql, prefix_ + hex).first->second;
}

namespace detail {

std::optional<std::string> statement_name(const std::string& sql) {
    static statement_names names("polder_", max_cached_statements);
    return names.name(sql);
}

}  // namespace detail

}  // namespace polder::db
