// polder/http/date.hpp - HTTP-date parsing and formatting.
//
// Used for the Date and Last-Modified response fields and for the date form of
// If-Range / If-Modified-Since / If-Unmodified-Since. Times are whole seconds
// since the Unix epoch (UTC): HTTP dates have one-second resolution, so callers
// compare like with like.
//
// SECURITY: pure function of untrusted bytes; no locale, no libc time functions
// (thread-safe, no static state); inputs longer than any valid date are refused
// before parsing; every field is range-checked.
// STANDARDS: RFC 9110 5.6.7 (IMF-fixdate, obsolete RFC 850 and asctime formats), RFC 3339 5.6.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::http {

// format_http_date - IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
// Seconds outside years 0001..9999 are clamped to that range.
std::string format_http_date(std::int64_t unix_seconds);

// format_rfc3339 - UTC date-time of RFC 3339 5.6, e.g. "1994-11-06T08:49:37Z" (WebDAV's
// creationdate, RFC 4918 15.1). Clamped like format_http_date.
std::string format_rfc3339(std::int64_t unix_seconds);

// parse_http_date - any of the three formats RFC 9110 requires recipients to
// accept. nullopt when the text is not a valid date (callers then treat the
// condition as absent or false, as the RFC says for each field).
std::optional<std::int64_t> parse_http_date(std::string_view text);

}  // namespace polder::http
