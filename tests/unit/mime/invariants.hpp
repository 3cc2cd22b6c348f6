// invariants.hpp - structural properties every parse result must have, whatever the input.
#pragma once

#include "polder/mime/message.hpp"

#include <catch2/catch.hpp>

namespace polder_test {

inline bool utf8_clean(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0) return false;
        std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

inline std::size_t check_part(const polder::mime::message_info& m, const polder::mime::body_part& p, std::size_t depth) {
    REQUIRE(p.header_start <= p.body_start);
    REQUIRE(p.body_start <= p.body_end);
    REQUIRE(p.body_end <= m.size);
    if (!p.section.empty()) REQUIRE(polder::mime::find_part(m, p.section) == &p);
    const bool msg_type = p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global");
    REQUIRE(msg_type == p.is_message());
    std::size_t deepest = depth;
    if (p.is_multipart()) {
        REQUIRE_FALSE(p.children.empty());
        std::uint64_t prev_end = p.body_start;
        for (const auto& c : p.children) {
            REQUIRE(c.header_start >= prev_end);
            REQUIRE(c.body_end <= p.body_end);
            prev_end = c.body_end;
            deepest = std::max(deepest, check_part(m, c, depth + 1));
        }
    } else if (p.is_message()) {
        REQUIRE(p.children.size() == 1);
        REQUIRE(p.children[0].header_start == p.body_start);
        REQUIRE(p.children[0].body_end == p.body_end);
        deepest = std::max(deepest, check_part(m, p.children[0], depth + 1));
    } else {
        REQUIRE(p.children.empty());
    }
    return deepest;
}

// check_invariants - returns the nesting depth of the part tree.
inline std::size_t check_invariants(const std::string& raw, const polder::mime::message_info& m,
                                    const polder::mime::limits& lim = {}) {
    REQUIRE(m.size == raw.size());
    REQUIRE(m.body.header_start == 0);
    REQUIRE(m.body.body_end == raw.size());
    REQUIRE(m.text.size() <= lim.max_text);
    REQUIRE(utf8_clean(m.text));
    REQUIRE(utf8_clean(m.subject));
    REQUIRE(m.problems.size() <= 32);
    for (const auto& h : m.headers) {
        REQUIRE(h.offset + h.length <= m.body.body_start);
        REQUIRE(raw.compare(h.offset, h.name.size(), h.name) == 0);
    }
    return check_part(m, m.body, 0);
}

}  // namespace polder_test
