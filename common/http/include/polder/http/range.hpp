// polder/http/range.hpp - the Range and If-Range request fields for byte ranges.
//
// WebDAV's GET answers 206 / 416 on top of this: parse_range() turns the
// client's Range field and the representation size into what to send: the whole
// representation (the field is absent, not for bytes, or invalid), a list of
// byte ranges, or "unsatisfiable" (416 with Content-Range: bytes */size).
//
// SECURITY: numbers of any length are handled without overflow (a first-pos
// beyond 2^64 is simply past the end; a last-pos beyond it is clamped); the
// number of ranges is capped (more → the whole representation, as RFC 9110 14.2
// allows); overlapping ranges are merged so a client cannot make us send the
// same bytes many times over (the "many small overlapping ranges" attack of
// RFC 9110 17.15).
// STANDARDS: RFC 9110 14.1 (range units), 14.1.2 (byte ranges), 14.2 (Range),
// 14.4 (Content-Range), 13.1.5 (If-Range), 15.3.7 (206), 15.5.17 (416).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::http {

struct byte_range {
    std::uint64_t first = 0;
    std::uint64_t last = 0;   // inclusive, as on the wire
    std::uint64_t length() const { return last - first + 1; }
    friend bool operator==(const byte_range&, const byte_range&) = default;
};

enum class range_outcome {
    full,           // ignore Range: send 200 with the whole representation
    partial,        // send 206 with `ranges` (one range: single part; more: multipart/byteranges)
    unsatisfiable,  // send 416 with Content-Range: bytes */size
};

struct range_options {
    std::size_t max_ranges = 32;     // more ranges than this → full (RFC 9110 14.2 permits ignoring)
    bool merge_overlapping = true;   // overlapping ranges → sorted and merged
};

struct range_request {
    range_outcome outcome = range_outcome::full;
    std::vector<byte_range> ranges;   // only for partial: satisfiable ranges, clamped to the size
};

// parse_range - evaluate a Range field value against a representation of `size` bytes.
// A syntactically invalid field is ignored (outcome full), as RFC 9110 14.2 says.
// A zero-length representation has no byte to address: int-ranges are
// unsatisfiable, and a suffix-range selects nothing, so the result is full.
range_request parse_range(std::string_view field_value, std::uint64_t size, const range_options& options = {});

// content_range - "bytes first-last/size" for a 206 part.
std::string content_range(const byte_range& r, std::uint64_t size);
// unsatisfied_content_range - "bytes */size" for a 416.
std::string unsatisfied_content_range(std::uint64_t size);

// if_range_allows_partial - RFC 9110 13.1.5: true when the If-Range validator
// still matches the current representation, so the Range field applies.
// `current_etag` is the wire form ("\"abc\"" or W/...; empty when none);
// `last_modified` is in Unix seconds. An entity-tag must match strongly (a weak
// tag never does); a date must equal Last-Modified exactly. Anything else,
// including an invalid value, yields false: send the whole representation.
bool if_range_allows_partial(std::string_view if_range_value, std::string_view current_etag,
                             std::optional<std::int64_t> last_modified);

}  // namespace polder::http
