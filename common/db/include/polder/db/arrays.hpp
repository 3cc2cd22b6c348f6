// polder/db/arrays.hpp - PostgreSQL array literals, for sending a list as ONE bound
// parameter (libpqxx 6.4 has no array parameters) and reading text[] columns back.
//
//   db::exec_cached(tx, "... WHERE id = ANY($1::bigint[])", db::bigint_array(ids));
//   auto flags = db::parse_text_array(row[0].c_str());
//
// SECURITY: every text element is double-quoted with \ and " escaped, so any value
// round-trips and none becomes SQL (the literal is a parameter, never spliced).
// STANDARDS: PostgreSQL 15 manual 8.15.2 (array value input), 8.15.6 (array output).
#pragma once

#include "polder/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace polder::db {

// text_array - "{\"a\",\"b\"}" (an empty list is "{}").
std::string text_array(const std::vector<std::string>& values);
// bigint_array - "{1,2,3}".
std::string bigint_array(const std::vector<std::int64_t>& values);
// parse_text_array - the text form PostgreSQL returns for text[] (quoted or bare
// elements). Errors: errc::invalid_argument for malformed input.
[[nodiscard]] result<std::vector<std::string>> parse_text_array(std::string_view literal);

}  // namespace polder::db
