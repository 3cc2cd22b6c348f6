// polder/auth/names.hpp - validation of the other names an administrator types:
// organisation names, display names, group names, app-password labels; and the
// small UTF-8 helpers they need.
//
// SECURITY: refuses control characters (log and terminal injection), invalid
// UTF-8 and over-long input; every limit matches a CHECK constraint in
// schema/0001_directory.sql, so the database would refuse the same input.
// STANDARDS: RFC 3629 (UTF-8: no overlongs, no surrogates, at most U+10FFFF).
#pragma once

#include "polder/auth/validated.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace polder::auth {

inline constexpr std::size_t max_org_name_chars = 63;
inline constexpr std::size_t max_display_name_chars = 256;
inline constexpr std::size_t max_group_name_chars = 100;
inline constexpr std::size_t max_label_chars = 100;

// valid_utf8 - true when s is well-formed UTF-8 (RFC 3629).
[[nodiscard]] bool valid_utf8(std::string_view s) noexcept;

// utf8_length - number of code points in well-formed UTF-8 (bytes otherwise).
[[nodiscard]] std::size_t utf8_length(std::string_view s) noexcept;

// to_lower_ascii - ASCII letters lower-cased, every other byte unchanged.
[[nodiscard]] std::string to_lower_ascii(std::string_view s);

// trim - without leading and trailing ASCII spaces and tabs.
[[nodiscard]] std::string_view trim(std::string_view s) noexcept;

// normalize_org_name - an organisation's name: a slug of 1..63 characters
// [a-z0-9._-] starting with a letter or digit; upper case is lower-cased.
[[nodiscard]] validated<std::string> normalize_org_name(std::string_view input);

// check_display_name - trimmed, at most 256 characters of UTF-8 without control
// characters; may be empty.
[[nodiscard]] validated<std::string> check_display_name(std::string_view input);

// check_group_name - trimmed, 1..100 characters of UTF-8, no control characters
// and no '@' (so a group name is never mistaken for an address).
[[nodiscard]] validated<std::string> check_group_name(std::string_view input);

// check_label - an app-password label: trimmed, 1..100 characters of UTF-8
// without control characters.
[[nodiscard]] validated<std::string> check_label(std::string_view input);

}  // namespace polder::auth
