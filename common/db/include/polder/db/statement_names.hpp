// polder/db/statement_names.hpp - names for prepared statements, one per distinct SQL
// text, for at most `limit` texts.
//
//   static db::statement_names names("polder_search_", 64);
//   if (auto name = names.name(sql)) { tx.conn().prepare(*name, sql); tx.exec_prepared(*name, ...); }
//   else tx.exec_params(sql, ...);   // past the limit: unprepared
//
// A name is the prefix and a 64-bit FNV-1a hash of the text in hex: stable across runs,
// so logs name a statement the same way. db::exec_cached (prepared.hpp) keeps one
// registry for polder's fixed statements; SQL whose shape comes from clients (IMAP
// SEARCH) keeps one of its own, so it cannot use up the other's budget.
//
// SECURITY: bounded: at most `limit` texts are remembered (and prepared by callers);
// thread-safe. A hash collision makes libpqxx throw "inconsistent redefinition" (the
// operation fails); it never runs the wrong statement.
// STANDARDS: none.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace polder::db {

class statement_names {
public:
    statement_names(std::string_view prefix, std::size_t limit) : prefix_(prefix), limit_(limit) {}
    statement_names(const statement_names&) = delete;
    statement_names& operator=(const statement_names&) = delete;

    // name - the name of sql, registering the text; nullopt once `limit` distinct texts
    // are registered (known texts keep their names).
    std::optional<std::string> name(const std::string& sql);

private:
    const std::string prefix_;
    const std::size_t limit_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::string> names_;
};

}  // namespace polder::db
