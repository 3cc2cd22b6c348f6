// polder/ical/text_match.hpp - text-match with collations, shared by calendar-query
// (RFC 4791 9.7.5) and addressbook-query (RFC 6352 10.5.4), and the filter error codes.
//
// SECURITY: values and patterns are untrusted; comparison is linear in their sizes after
// case mapping (no regular expressions, no backtracking). Invalid UTF-8 never matches
// under i;unicode-casemap (RFC 5051 leaves its result undefined).
// STANDARDS: RFC 4790 (i;octet, i;ascii-casemap; substring/prefix/suffix/equality),
// RFC 5051 (i;unicode-casemap: simple titlecase mapping, then canonical decomposition),
// RFC 4791 9.7.5 (text-match, negate-condition, default collation i;ascii-casemap),
// RFC 6352 10.5.4 (match-type equals / contains / starts-with / ends-with).
#pragma once

#include "polder/core/error.hpp"

#include <string>
#include <string_view>
#include <type_traits>

namespace polder::ical {

// Errors of filter evaluation; the DAV layer maps them to preconditions.
enum class ical_errc {
    ok = 0,
    unsupported_collation = 1,  // -> CALDAV:/CARDDAV:supported-collation (403)
    invalid_filter,             // -> CALDAV:valid-filter / CARDDAV:valid-filter (403)
};

const boost::system::error_category& ical_category() noexcept;

inline boost::system::error_code make_error_code(ical_errc e) noexcept {
    return {static_cast<int>(e), ical_category()};
}

enum class collation { ascii_casemap, octet, unicode_casemap };
enum class match_type { equals, contains, starts_with, ends_with };

// parse_collation - "i;ascii-casemap", "i;octet", "i;unicode-casemap".
// Errors: ical_errc::unsupported_collation.
[[nodiscard]] result<collation> parse_collation(std::string_view name);
// parse_match_type - "equals", "contains", "starts-with", "ends-with".
// Errors: ical_errc::invalid_filter.
[[nodiscard]] result<match_type> parse_match_type(std::string_view name);

struct text_match {
    std::string text;
    std::string collation = "i;ascii-casemap";
    match_type type = match_type::contains;
    bool negate = false;  // negate-condition="yes"
};

// text_matches - does `value` match? (negation applied). Errors: unsupported_collation.
[[nodiscard]] result<bool> text_matches(const text_match& m, std::string_view value);

// fold - the comparison key of a string under a collation (exposed for tests and for the
// store, which may precompute keys). For i;unicode-casemap: titlecase + NFD; ok = false
// for invalid UTF-8.
struct folded {
    std::string key;
    bool ok = true;
};
folded fold(collation c, std::string_view s);

}  // namespace polder::ical

template <>
struct boost::system::is_error_code_enum<polder::ical::ical_errc> : std::true_type {};
