// output.hpp - how polderctl prints: aligned text tables for people, JSON with
// stable field names for scripts (--json), and reading a secret from stdin.
//
// SECURITY: table cells are printed as stored; everything stored was validated
// to contain no control characters, and cells are folded to one line anyway, so
// a value cannot forge extra rows. Secrets are read from stdin only, never from
// the command line (which other local users can see in /proc).
// STANDARDS: RFC 8259 (JSON).
#pragma once

#include "polder/auth/directory.hpp"

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace polder::admin {

struct table {
    std::vector<std::string> headers;
    std::vector<std::vector<std::string>> rows;
    void print(std::ostream& out) const;
};

void print_json(const nlohmann::json& j);

// read_secret_line - one line from stdin without its line end; failure(usage)
// when stdin is empty or the line is longer than max_password_bytes.
std::string read_secret_line();

std::string quota_text(const std::optional<std::int64_t>& quota_bytes);

// JSON shapes shared by several commands (field names are a stable interface).
nlohmann::json to_json(const auth::org_info& o);
nlohmann::json to_json(const auth::domain_info& d);
nlohmann::json to_json(const auth::account_info& a);
nlohmann::json to_json(const auth::alias_info& a);
nlohmann::json to_json(const auth::group_info& g);
nlohmann::json to_json(const auth::app_password_info& p);

}  // namespace polder::admin
