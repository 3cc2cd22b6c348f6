// section.cpp - IMAP section specifiers to byte ranges of the stored message.
//
// SECURITY: part numbers are parsed strictly (digits and dots, each number >= 1, at most
// 100 levels); lookups walk the stored tree only, so a FETCH can never read outside the
// message's own bytes.
// STANDARDS: RFC 3501 §6.4.5 and RFC 9051 §6.4.5 (BODY[section]: part numbers, HEADER,
// TEXT, MIME; a non-multipart message has only part 1; parts of an encapsulated message
// are numbered below its part).
#include "polder/mime/message.hpp"

#include <charconv>

namespace polder::mime {
namespace {

const body_part* child_numbered(const body_part& p, std::size_t n) {
    // Inside a multipart: its n-th child. Inside a message/rfc822: the encapsulated body,
    // which is itself part 1 when not multipart, else its n-th child.
    if (p.is_multipart()) return n >= 1 && n <= p.children.size() ? &p.children[n - 1] : nullptr;
    if (p.is_message() && !p.children.empty()) {
        const body_part& inner = p.children.front();
        if (inner.is_multipart()) return n >= 1 && n <= inner.children.size() ? &inner.children[n - 1] : nullptr;
        return n == 1 ? &inner : nullptr;
    }
    return nullptr;
}

}  // namespace

const body_part* find_part(const message_info& m, std::string_view spec) {
    if (spec.empty()) return nullptr;
    const body_part* cur = nullptr;
    std::size_t levels = 0;
    while (!spec.empty()) {
        if (++levels > 100) return nullptr;
        const std::size_t dot = spec.find('.');
        const std::string_view num = spec.substr(0, dot);
        std::size_t n = 0;
        if (num.empty() || num.size() > 9 || num[0] == '0') return nullptr;
        const auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
        if (ec != std::errc() || ptr != num.data() + num.size()) return nullptr;
        if (!cur) {
            // The first number addresses the message body: part 1 of a non-multipart message.
            if (m.body.is_multipart()) cur = n <= m.body.children.size() ? &m.body.children[n - 1] : nullptr;
            else cur = n == 1 ? &m.body : nullptr;
        } else {
            cur = child_numbered(*cur, n);
        }
        if (!cur) return nullptr;
        if (dot == std::string_view::npos) break;
        spec = spec.substr(dot + 1);
        if (spec.empty()) return nullptr;   // trailing dot
    }
    return cur;
}

std::optional<byte_range> section_range(const message_info& m, std::string_view spec, section_text what) {
    if (spec.empty()) {
        switch (what) {
        case section_text::body: return byte_range{0, m.size};
        case section_text::header: return byte_range{m.body.header_start, m.body.body_start};
        case section_text::text: return byte_range{m.body.body_start, m.body.body_end};
        case section_text::mime: return std::nullopt;
        }
        return std::nullopt;
    }
    const body_part* p = find_part(m, spec);
    if (!p) return std::nullopt;
    switch (what) {
    case section_text::body: return byte_range{p->body_start, p->body_end};
    case section_text::mime: return byte_range{p->header_start, p->body_start};
    case section_text::header:
    case section_text::text: {
        if (!p->is_message() || p->children.empty()) return std::nullopt;
        const body_part& inner = p->children.front();
        if (what == section_text::header) return byte_range{inner.header_start, inner.body_start};
        return byte_range{inner.body_start, inner.body_end};
    }
    }
    return std::nullopt;
}

}  // namespace polder::mime
