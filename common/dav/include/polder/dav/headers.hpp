// polder/dav/headers.hpp - the WebDAV request header fields: Depth, Overwrite,
// Timeout, Destination and If.
//
// SECURITY: pure functions of untrusted bytes, each bounded: If is refused
// above max_if_length bytes, max_if_lists lists and max_if_conditions
// conditions per list; Timeout values saturate instead of overflowing;
// Destination is only split here - the caller decodes the path with
// http::percent_decode (which refuses encoded '/' and NUL) and checks it stays
// inside the caller's tree.
// STANDARDS: RFC 4918 10.2 (Depth), 10.3 (Destination), 10.4 (If: tagged and
// untagged lists, Not, state tokens as Coded-URLs, [entity-tag]), 10.6
// (Overwrite), 10.7 (Timeout); RFC 3986 (absolute-URI, path-absolute);
// RFC 9110 8.8.3 (entity-tag).
#pragma once

#include "polder/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::dav {

enum class depth { zero, one, infinity };

// parse_depth - "0", "1" or "infinity" (case-insensitive, surrounding blanks
// allowed); nullopt for anything else. An absent field is the caller's default.
std::optional<depth> parse_depth(std::string_view value);

// parse_overwrite - "T" or "F"; nullopt otherwise.
std::optional<bool> parse_overwrite(std::string_view value);

struct timeout_value {
    bool infinite = false;
    std::uint64_t seconds = 0;
};

// parse_timeout - the first understood entry of "Second-n, Infinite" lists;
// nullopt when none is understood (the server then picks its default).
std::optional<timeout_value> parse_timeout(std::string_view value);

struct destination {
    std::string scheme;      // "http" / "https" in lower case; empty for an absolute path
    std::string authority;   // host[:port] as sent; empty for an absolute path
    std::string path;        // raw (percent-encoded), starts with '/'
};

// parse_destination - an absolute http(s) URI or an absolute path.
// Errors: errc::invalid_argument (other schemes, relative references, a query
// or fragment, user info, control characters or spaces, longer than 8 KiB).
result<destination> parse_destination(std::string_view value);

// --- If (RFC 4918 10.4) -----------------------------------------------------

inline constexpr std::size_t max_if_length = 16 * 1024;
inline constexpr std::size_t max_if_lists = 64;
inline constexpr std::size_t max_if_conditions = 64;

struct if_condition {
    bool negated = false;
    bool is_etag = false;
    std::string value;   // a state token (the URI inside <>) or an entity-tag in wire form
};

struct if_list {
    std::vector<if_condition> conditions;
};

struct if_group {
    std::optional<std::string> resource;   // tagged list: the resource tag (raw URI); untagged: nullopt
    std::vector<if_list> lists;
};

struct if_header {
    bool tagged = false;
    std::vector<if_group> groups;   // untagged: exactly one group
    // state_tokens - every state token named anywhere, negated or not.
    std::vector<std::string> state_tokens() const;
};

// parse_if - the If field value. Errors: errc::invalid_argument (syntax: a
// list without conditions, tagged and untagged lists mixed, unbalanced
// brackets, a bad entity-tag), errc::limit_exceeded (the bounds above).
result<if_header> parse_if(std::string_view value);

}  // namespace polder::dav
