// polder/http/basic_auth.hpp - the HTTP Basic authentication scheme.
//
// CalDAV and WebDAV clients log in with Basic over TLS (app passwords or the
// account password). parse_basic_authorization() turns an Authorization field
// value into a user-id and password; checking them is polder::auth's job.
//
// SECURITY: untrusted input, bounded (max_authorization_length) before any
// decoding; strict base64; the decoded text must be valid UTF-8 without control
// characters (RFC 7617 forbids them, and it keeps them out of logs and SQL
// parameters); the password is everything after the FIRST colon, so it may
// itself contain colons. Callers must never log the password or the raw field.
// STANDARDS: RFC 7617 (Basic, charset="UTF-8"), RFC 9110 11.4 (credentials,
// token68), RFC 4648 4 (base64), RFC 3629 (UTF-8).
#pragma once

#include "polder/core/error.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace polder::http {

struct basic_credentials {
    std::string user_id;    // may be empty (the RFC allows it; the directory will not find it)
    std::string password;
};

// Longer than any sane address + password pair (a 254-byte address and a
// 1 KiB password encode to ~1.7 KiB).
inline constexpr std::size_t max_authorization_length = 4096;

// parse_basic_authorization - decode `Authorization: Basic <token68>`.
// Errors: errc::not_found        - the scheme is not Basic (another scheme; answer 401),
//         errc::limit_exceeded   - the value is longer than max_authorization_length,
//         errc::invalid_argument - malformed: bad base64, no colon, invalid UTF-8,
//                                  control characters.
result<basic_credentials> parse_basic_authorization(std::string_view field_value);

// basic_challenge - a WWW-Authenticate value: Basic realm="<realm>", charset="UTF-8".
// Quotes and backslashes in the realm are escaped; control characters dropped.
std::string basic_challenge(std::string_view realm);

// base64_decode - strict RFC 4648 base64 (standard alphabet); padding optional
// but, when present, correct. Errors: errc::invalid_argument.
result<std::string> base64_decode(std::string_view text);
// base64_encode - standard alphabet with padding (for tests and clients).
std::string base64_encode(std::string_view bytes);

// valid_utf8 - well-formed UTF-8: no overlong forms, no surrogates, <= U+10FFFF.
bool valid_utf8(std::string_view text);

}  // namespace polder::http
