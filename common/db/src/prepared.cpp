// prepared.cpp - the registries of prepared statement names (statement_names.hpp) and
// the process-wide one of cached statement texts (prepared.hpp).
// SECURITY: bounded (max_cached_statements, and each registry's limit).
// STANDARDS: none.
#include "polder/db/prepared.hpp"
#include "polder/db/statement_names.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
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

pqxx::result exec_statement(pqxx::transaction_base& tx, const statement& s) {
    if (std::find(s.binary.begin(), s.binary.end(), true) != s.binary.end())
        throw std::invalid_argument("db::exec_statement: binary parameters are not supported here");
    std::vector<const char*> values;   // libpqxx sends a null pointer as NULL
    values.reserve(s.params.size());
    for (const auto& p : s.params) values.push_back(p ? p->c_str() : nullptr);
    return exec_cached(tx, s.sql, pqxx::prepare::make_dynamic_params(values));
}

namespace detail {

std::optional<std::string> statement_name(const std::string& sql) {
    static statement_names names("polder_", max_cached_statements);
    return names.name(sql);
}

}  // namespace detail

}  // namespace polder::db
