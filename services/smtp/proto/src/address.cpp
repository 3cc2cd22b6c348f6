// address.cpp - RFC 5321 Mailbox / Domain / address-literal grammar, UTF-8 and xtext.
//
// SECURITY: hand-written recursive-free scanners over string_view: no allocation beyond
// the result, bounded by the input length, every limit checked before the value is used.
// STANDARDS: RFC 5321 §4.1.2, §4.1.3, §4.5.3.1; RFC 6531 §3.3; RFC 3461 §4; RFC 3629.
#include "polder/smtp/proto/address.hpp"

#include <cctype>
#include <cstdint>

namespace polder::smtp {
namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// atext per RFC 5322 §3.2.3 (RFC 5321 refers to it).
bool is_atext(unsigned char c) {
    if (is_alpha(c) || is_digit(c)) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
        return true;
    default:
        return false;
    }
}

// utf8_sequence_length - length of the well-formed UTF-8 sequence at s[i], or 0.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; }          // no UTF-16 surrogates
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }          // no overlongs
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }          // nothing above U+10FFFF
    else return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return n;
}

// Scans a run of atext (plus UTF-8 when allowed); returns the end index.
std::size_t scan_atoms(std::string_view s, std::size_t i, bool utf8, bool& saw_utf8, bool& bad) {
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (is_atext(c)) { ++i; continue; }
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s, i);
            if (n == 0) { bad = true; return i; }
            saw_utf8 = true;
            if (!utf8) return i;
            i += n;
            continue;
        }
        break;
    }
    return i;
}

bool valid_label(std::string_view label, bool utf8_allowed, bool& saw_utf8) {
    if (label.empty()) return false;
    bool non_ascii = false;
    for (std::size_t i = 0; i < label.size();) {
        const auto c = static_cast<unsigned char>(label[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(label, i);
            if (n == 0) return false;
            non_ascii = true;
            i += n;
            continue;
        }
        if (!(is_alpha(c) || is_digit(c) || c == '-')) return false;
        ++i;
    }
    if (non_ascii) {
        saw_utf8 = true;
        // U-labels are checked for well-formed UTF-8 only; IDNA2008 mapping and the
        // A-label length are the resolver's business (RFC 6531 §3.3 leaves it to IDNA).
        if (!utf8_allowed) return true;   // reported as non_ascii by the caller
    } else if (label.size() > max_label) {
        return false;
    }
    // Let-dig [Ldh-str]: no hyphen first or last.
    return label.front() != '-' && label.back() != '-';
}

bool domain_ok(std::string_view text, bool utf8_allowed, bool& saw_utf8) {
    if (text.empty() || text.size() > max_domain) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = text.find('.', start);
        const std::string_view label = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!valid_label(label, utf8_allowed, saw_utf8)) return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

std::optional<std::uint32_t> parse_ipv4_value(std::string_view t) {
    std::uint32_t value = 0;
    int parts = 0;
    std::size_t i = 0;
    while (parts < 4) {
        std::size_t digits = 0;
        unsigned n = 0;
        while (i < t.size() && is_digit(static_cast<unsigned char>(t[i])) && digits < 3) {
            n = n * 10 + static_cast<unsigned>(t[i] - '0');
            ++i;
            ++digits;
        }
        if (digits == 0 || n > 255) return std::nullopt;
        value = (value << 8) | n;
        ++parts;
        if (parts < 4) {
            if (i >= t.size() || t[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i != t.size()) return std::nullopt;
    return value;
}

}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

bool is_ascii(std::string_view text) noexcept {
    for (unsigned char c : text)
        if (c >= 0x80) return false;
    return true;
}

bool is_valid_ipv4(std::string_view text) { return parse_ipv4_value(text).has_value(); }

bool is_valid_ipv6(std::string_view t) {
    // Groups of 1-4 hex digits separated by ':', one optional "::", optionally ending in an
    // IPv4 dotted quad worth two groups; exactly 8 groups unless "::" stands in (>= 1 group).
    if (t.size() < 2 || t.size() > 45) return false;
    int groups = 0;
    bool compressed = false;
    std::size_t i = 0;
    if (t[0] == ':') {
        if (t.size() < 2 || t[1] != ':') return false;
        compressed = true;
        i = 2;
        if (i == t.size()) return true;   // "::"
    }
    while (i < t.size()) {
        // Look ahead: an IPv4 tail?
        std::size_t j = i;
        while (j < t.size() && is_hex(static_cast<unsigned char>(t[j]))) ++j;
        if (j < t.size() && t[j] == '.') {
            if (!is_valid_ipv4(t.substr(i))) return false;
            groups += 2;
            i = t.size();
            break;
        }
        const std::size_t len = j - i;
        if (len == 0 || len > 4) return false;
        ++groups;
        i = j;
        if (i == t.size()) break;
        if (t[i] != ':') return false;
        ++i;
        if (i < t.size() && t[i] == ':') {
            if (compressed) return false;
            compressed = true;
            ++i;
            if (i == t.size()) break;
        } else if (i == t.size()) {
            return false;   // trailing single ':'
        }
        if (groups > 8) return false;
    }
    return compressed ? groups <= 7 : groups == 8;
}

bool is_valid_address_literal(std::string_view text) {
    if (text.size() < 3 || text.front() != '[' || text.back() != ']') return false;
    const std::string_view inner = text.substr(1, text.size() - 2);
    if (inner.size() > 5) {
        std::string tag(inner.substr(0, 5));
        for (auto& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (tag == "ipv6:") return is_valid_ipv6(inner.substr(5));
    }
    return is_valid_ipv4(inner);
}

bool is_valid_domain(std::string_view text, bool utf8_allowed) {
    bool saw_utf8 = false;
    return domain_ok(text, utf8_allowed, saw_utf8) && (utf8_allowed || !saw_utf8);
}

mailbox_result parse_mailbox(std::string_view s, bool utf8_allowed) {
    mailbox_result r;
    mailbox m;
    bool saw_utf8 = false;
    bool bad = false;
    std::size_t i = 0;
    if (!s.empty() && s[0] == '"') {
        // Quoted-string: qtextSMTP / quoted-pairSMTP (RFC 5321 §4.1.2), UTF-8 with SMTPUTF8.
        std::string value;
        i = 1;
        bool closed = false;
        while (i < s.size()) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c == '"') { closed = true; ++i; break; }
            if (c == '\\') {
                if (i + 1 >= s.size()) return r;
                const auto q = static_cast<unsigned char>(s[i + 1]);
                if (q < 32 || q > 126) return r;
                value.push_back(static_cast<char>(q));
                i += 2;
                continue;
            }
            if (c >= 0x80) {
                const std::size_t n = utf8_sequence_length(s, i);
                if (n == 0) return r;
                saw_utf8 = true;
                value.append(s.substr(i, n));
                i += n;
                continue;
            }
            if (c < 32 || c > 126) return r;
            value.push_back(static_cast<char>(c));
            ++i;
        }
        if (!closed) return r;
        m.local_part = std::string(s.substr(0, i));
        m.local_value = std::move(value);
    } else {
        // Dot-string = Atom *("." Atom)
        while (true) {
            const std::size_t end = scan_atoms(s, i, true, saw_utf8, bad);
            if (bad || end == i) return r;
            i = end;
            if (i < s.size() && s[i] == '.') { ++i; continue; }
            break;
        }
        m.local_part = std::string(s.substr(0, i));
        m.local_value = m.local_part;
    }
    if (i >= s.size() || s[i] != '@') return r;
    const std::string_view domain = s.substr(i + 1);
    if (!domain.empty() && domain.front() == '[') {
        if (!is_valid_address_literal(domain)) return r;
        m.address_literal = true;
    } else {
        if (domain.size() > max_domain) { r.error = address_error::too_long; return r; }
        if (!domain_ok(domain, true, saw_utf8)) return r;
    }
    if (m.local_part.size() > max_local_part) { r.error = address_error::too_long; return r; }
    m.domain = std::string(domain);
    m.utf8 = saw_utf8;
    if (saw_utf8 && !utf8_allowed) { r.error = address_error::non_ascii; return r; }
    r.value = std::move(m);
    return r;
}

std::optional<std::string> xtext_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '+') {
            if (i + 2 >= text.size()) return std::nullopt;
            const auto h = static_cast<unsigned char>(text[i + 1]);
            const auto l = static_cast<unsigned char>(text[i + 2]);
            if (!is_hex(h) || !is_hex(l)) return std::nullopt;
            const auto val = [](unsigned char x) {
                return static_cast<unsigned>(is_digit(x) ? x - '0' : (x | 0x20) - 'a' + 10);
            };
            const unsigned v = val(h) * 16 + val(l);
            if (v < 0x20 || v == 0x7f) return std::nullopt;
            out.push_back(static_cast<char>(v));
            i += 2;
            continue;
        }
        if (c < '!' || c > '~' || c == '=') return std::nullopt;
        out.push_back(static_cast<char>(c));
    }
    return out;
}

std::string xtext_encode(std::string_view value) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : value) {
        if (c >= '!' && c <= '~' && c != '+' && c != '=') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('+');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

}  // namespace polder::smtp
