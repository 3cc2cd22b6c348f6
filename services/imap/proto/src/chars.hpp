// chars.hpp - character classes of the IMAP grammar (internal to polder::imap_proto).
//
// SECURITY: table-free predicates over single octets; no state.
// STANDARDS: RFC 9051 section 9 (ATOM-CHAR, ASTRING-CHAR, list-char, tag, TEXT-CHAR),
// RFC 3629 (UTF-8 validity).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace polder::imap::proto::detail {

// is_atom_char - ATOM-CHAR: any 7-bit CHAR except atom-specials
// ( "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]" ).
constexpr bool is_atom_char(unsigned char c) noexcept {
    if (c <= 0x20 || c >= 0x7f) return false;
    switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
        return false;
    default:
        return true;
    }
}

// is_astring_char - ASTRING-CHAR = ATOM-CHAR / resp-specials.
constexpr bool is_astring_char(unsigned char c) noexcept { return is_atom_char(c) || c == ']'; }

// is_list_char - list-char = ATOM-CHAR / list-wildcards / resp-specials.
constexpr bool is_list_char(unsigned char c) noexcept {
    return is_atom_char(c) || c == '%' || c == '*' || c == ']';
}

// is_tag_char - tag = 1*<any ASTRING-CHAR except "+">.
constexpr bool is_tag_char(unsigned char c) noexcept { return is_astring_char(c) && c != '+'; }

constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(unsigned char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr char to_upper(char c) noexcept { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
constexpr char to_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = to_upper(c);
    return out;
}

inline bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (to_upper(a[i]) != to_upper(b[i])) return false;
    return true;
}

inline bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequal(s.substr(0, prefix.size()), prefix);
}

// utf8_sequence_length - length of the well-formed UTF-8 sequence starting at s[i], or 0
// when it is malformed (overlong forms, surrogates and values above U+10FFFF rejected).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i, char32_t* cp = nullptr) noexcept {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) {
        if (cp) *cp = c;
        return 1;
    }
    std::size_t n;
    char32_t v;
    char32_t min;
    if ((c & 0xe0) == 0xc0) { n = 2; v = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { n = 3; v = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { n = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        unsigned char d = b(i + k);
        if ((d & 0xc0) != 0x80) return 0;
        v = (v << 6) | (d & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    if (cp) *cp = v;
    return n;
}

inline bool is_valid_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_sequence_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

inline bool is_ascii(std::string_view s) noexcept {
    for (unsigned char c : s)
        if (c >= 0x80) return false;
    return true;
}

inline void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}

}  // namespace polder::imap::proto::detail
