// etag.cpp - entity-tag parsing and comparison (RFC 9110 8.8.3, 13.1).
//
// SECURITY: linear scans over bounded input; list length capped.
// STANDARDS: RFC 9110 8.8.3, 13.1.1, 13.1.2.
#include "polder/http/etag.hpp"

namespace polder::http {
namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

// etagc = %x21 / %x23-7E / obs-text
bool is_etagc(unsigned char c) { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

// take_tag - parse one entity-tag at the front of s, advancing it.
std::optional<entity_tag> take_tag(std::string_view& s) {
    entity_tag tag;
    if (s.size() >= 2 && s[0] == 'W' && s[1] == '/') {
        tag.weak = true;
        s.remove_prefix(2);
    }
    if (s.empty() || s.front() != '"') return std::nullopt;
    s.remove_prefix(1);
    std::size_t i = 0;
    while (i < s.size() && s[i] != '"') {
        if (!is_etagc(static_cast<unsigned char>(s[i]))) return std::nullopt;
        ++i;
    }
    if (i == s.size()) return std::nullopt;   // no closing quote
    tag.opaque.assign(s.substr(0, i));
    s.remove_prefix(i + 1);
    return tag;
}

void skip_ows(std::string_view& s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
}

}  // namespace

std::string entity_tag::str() const {
    std::string out;
    out.reserve(opaque.size() + 4);
    if (weak) out += "W/";
    out += '"';
    out += opaque;
    out += '"';
    return out;
}

std::optional<entity_tag> parse_entity_tag(std::string_view text) {
    skip_ows(text);
    auto tag = take_tag(text);
    skip_ows(text);
    if (!tag || !text.empty()) return std::nullopt;
    return tag;
}

bool strong_match(const entity_tag& a, const entity_tag& b) {
    return !a.weak && !b.weak && a.opaque == b.opaque;
}

bool weak_match(const entity_tag& a, const entity_tag& b) { return a.opaque == b.opaque; }

etag_list_match match_etag_list(std::string_view v, const std::optional<entity_tag>& current,
                                bool weak_comparison) {
    skip_ows(v);
    while (!v.empty() && is_ows(v.back())) v.remove_suffix(1);
    if (v == "*") return etag_list_match::any;
    // #entity-tag: elements separated by commas with optional whitespace; empty
    // elements are tolerated (RFC 9110 5.6.1.2), at least one tag is required.
    bool matched = false;
    std::size_t items = 0;
    while (true) {
        skip_ows(v);
        if (v.empty()) break;
        if (v.front() == ',') {
            v.remove_prefix(1);
            continue;
        }
        auto tag = take_tag(v);
        if (!tag) return etag_list_match::invalid;
        if (++items > max_etag_list_items) return etag_list_match::invalid;
        if (current && (weak_comparison ? weak_match(*tag, *current) : strong_match(*tag, *current)))
            matched = true;
        skip_ows(v);
        if (!v.empty() && v.front() != ',') return etag_list_match::invalid;
    }
    if (items == 0) return etag_list_match::invalid;
    return matched ? etag_list_match::matched : etag_list_match::not_matched;
}

}  // namespace polder::http
