// prepared.cpp - the process-wide registry of cached statement texts.
// SECURITY: bounded (max_cached_statements); see prepared.hpp.
// STANDARDS: none.
#include "polder/db/prepared.hpp"

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <unordered_map>

namespace polder::db::detail {

std::optional<std::string> statement_name(const std::string& sql) {
    static std::mutex mutex;
    static std::unordered_map<std::string, std::string> names;
    std::lock_guard lock(mutex);
    if (auto it = names.find(sql); it != names.end()) return it->second;
    if (names.size() >= max_cached_statements) return std::nullopt;
    // FNV-1a, 64 bits: stable across runs, so logs name a statement the same way.
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : sql) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "polder_%016llx", static_cast<unsigned long long>(h));
    return names.emplace(sql, buf).first->second;
}

}  // namespace polder::db::detail
