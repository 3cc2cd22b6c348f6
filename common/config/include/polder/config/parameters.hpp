// polder/config/parameters.hpp - the table of every configuration parameter.
//
// What it does: each parameter is declared once, as (key, kind, bounds, doc, accessor);
// its default is whatever a default-constructed polder::config::settings holds, read
// through the accessor, so the structs in config.hpp stay the one place defaults live.
// Parsing, environment overrides, validation, redacted() and the test that
// config/polder.example.toml documents every key all walk this table (the habit of
// Postfix's mail_params.h: name, default, target, bounds).
//
// SECURITY: parameters marked secret are never printed by redacted() or default_text().
//
// STANDARDS: TOML v1.0.0 value kinds; size strings are binary multiples (IEC 80000-13).
#pragma once

#include "polder/config/config.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace polder::config {

enum class kind {
    string,    // free text, length-limited (max = maximum length, min = minimum length)
    path,      // string; relative values resolve against the config file's folder
    address,   // IPv4 or IPv6 literal to bind to
    choice,    // one of `choices`
    boolean,
    integer,   // non-negative integer within [min, max]
    size,      // bytes: integer or string like "50M" / "10G", within [min, max]
};

using string_ref = std::string& (*)(settings&);
using bool_ref = bool& (*)(settings&);
using u16_ref = std::uint16_t& (*)(settings&);
using uint_ref = unsigned& (*)(settings&);
using u64_ref = std::uint64_t& (*)(settings&);
using accessor = std::variant<string_ref, bool_ref, u16_ref, uint_ref, u64_ref>;

struct parameter {
    std::string key;                      // dotted TOML path, e.g. "smtp.mx.port"
    kind type;
    std::uint64_t min = 0;                // integer/size: lower bound; string: minimum length
    std::uint64_t max = 0;                // integer/size: upper bound; string/path: maximum length
    std::span<const std::string_view> choices;
    std::string doc;                      // one line: what it does and why the default
    accessor ref;
    bool secret = false;

    std::string env_name() const;         // "smtp.mx.port" -> "POLDER_SMTP_MX_PORT"
};

// parameters - the whole table, in file order (section by section).
std::span<const parameter> parameters();

// find_parameter - the entry for a dotted key, or nullptr.
const parameter* find_parameter(std::string_view key);

// value_text - the current value of p in s, as TOML would write it ("5432", "\"info\"",
// "true", sizes as bytes). Secrets come out as "<redacted>" unless reveal_secrets.
std::string value_text(const parameter& p, const settings& s, bool reveal_secrets = false);

// default_text - value_text() of a default-constructed settings.
std::string default_text(const parameter& p);

// present_keys - the declared keys that a TOML document sets (in table order), whatever
// their values; a syntax error comes back as a load_error. Lets a test prove that
// config/polder.example.toml documents every key, and tools show what a file overrides.
std::variant<std::vector<std::string>, load_error> present_keys(std::string_view toml);

}  // namespace polder::config
