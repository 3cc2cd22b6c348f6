// polder/http/uri.hpp - request-target splitting and percent-decoding.
//
// Routers match on the raw (still encoded) path so that "%2F" can never create a
// path separator the router did not see; handlers then decode each segment (or
// the whole path) with percent_decode(), which refuses what would be dangerous
// downstream: an encoded NUL always, an encoded '/' unless asked for.
//
// SECURITY: pure functions of untrusted bytes; malformed escapes are errors, not
// passed through; decoding never produces NUL; output length <= input length.
// STANDARDS: RFC 3986 2.1 (percent-encoding), 2.3 (unreserved), 3.3 (path);
// RFC 9112 3.2 (request-target forms: origin, absolute, asterisk).
#pragma once

#include "polder/core/error.hpp"

#include <string>
#include <string_view>

namespace polder::http {

struct decode_options {
    bool allow_encoded_slash = false;   // "%2F" → '/' (WebDAV segment names must not; queries may)
    bool plus_as_space = false;         // application/x-www-form-urlencoded queries only
};

// percent_decode - decode %XX escapes.
// Errors: errc::invalid_argument - a '%' not followed by two hex digits, an
//         encoded or raw NUL, or (unless allowed) an encoded '/'.
result<std::string> percent_decode(std::string_view text, const decode_options& options = {});

// percent_encode_path - encode a decoded path for use in an href / Location:
// unreserved characters, sub-delims, ':', '@' and '/' stay; every other byte
// (including '%', '?', '#', space and all non-ASCII) becomes %XX.
std::string percent_encode_path(std::string_view path);

struct target_parts {
    std::string_view path;    // raw, still percent-encoded; "*" for the asterisk form
    std::string_view query;   // without the '?', empty when absent
};

// split_target - origin-form ("/a/b?q"), absolute-form ("http://host/a?q",
// reduced to its path and query; RFC 9112 3.2.2 says servers must accept it)
// or asterisk-form ("*").
// Errors: errc::invalid_argument - any other form, a fragment, or characters
//         outside the request-target grammar.
result<target_parts> split_target(std::string_view target);

}  // namespace polder::http
