// polder/http/etag.hpp - entity tags and the conditional-request comparisons.
//
// WebDAV and CalDAV implement If-Match / If-None-Match / If-Range on top of
// these: parse the client's list once, compare strongly or weakly as the field
// demands. An ETag is carried as its wire form (with quotes, and the W/ prefix
// when weak), e.g. "\"3f9a\"" or "W/\"3f9a\"".
//
// SECURITY: pure functions of untrusted bytes; lists are bounded by
// max_etag_list_items so a header cannot make us do quadratic work.
// STANDARDS: RFC 9110 8.8.3 (entity-tag syntax and comparison), 13.1.1 If-Match,
// 13.1.2 If-None-Match, 13.1.5 If-Range.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace polder::http {

struct entity_tag {
    std::string opaque;   // the characters between the quotes
    bool weak = false;

    std::string str() const;   // wire form: "opaque" or W/"opaque"
};

inline constexpr std::size_t max_etag_list_items = 128;

// parse_entity_tag - exactly one entity-tag (surrounding whitespace allowed).
std::optional<entity_tag> parse_entity_tag(std::string_view text);

// strong_match - both strong and the same opaque string (RFC 9110 8.8.3.2).
bool strong_match(const entity_tag& a, const entity_tag& b);
// weak_match - same opaque string, either may be weak.
bool weak_match(const entity_tag& a, const entity_tag& b);

enum class etag_list_match {
    any,          // the field value is "*"
    matched,      // some listed tag matches the current one
    not_matched,  // a valid list, none matches (also when there is no current tag)
    invalid,      // not a valid field value: callers ignore the condition or answer 400
};

// match_etag_list - evaluate an If-Match (weak_comparison=false) or
// If-None-Match (weak_comparison=true) field value against the current
// representation's tag; `current` is nullopt when the resource does not exist.
etag_list_match match_etag_list(std::string_view field_value, const std::optional<entity_tag>& current,
                                bool weak_comparison);

}  // namespace polder::http
