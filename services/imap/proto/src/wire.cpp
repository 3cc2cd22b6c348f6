// wire.cpp - string forms on the wire (atom, quoted, literal, literal8, mailbox names).
//
// SECURITY: see wire.hpp: framing-safe output for any input octets.
// STANDARDS: RFC 9051 sections 4.3 and 9, RFC 6855 section 3, RFC 3501 section 5.1.3.
#include "polder/imap/proto/wire.hpp"

#include "polder/imap/proto/mutf7.hpp"

#include "chars.hpp"

namespace polder::imap::proto {

bool can_quote(std::string_view s, bool utf8) noexcept {
    if (s.size() > max_quoted_length) return false;
    bool eight_bit = false;
    for (unsigned char c : s) {
        if (c == 0 || c == '\r' || c == '\n') return false;
        if (c >= 0x80) eight_bit = true;
    }
    if (eight_bit) return utf8 && detail::is_valid_utf8(s);
    return true;
}

bool is_atom(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!detail::is_atom_char(c)) return false;
    return true;
}

void append_quoted(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

void append_literal_header(std::string& out, std::size_t size, bool binary) {
    if (binary) out += '~';
    out += '{';
    out += std::to_string(size);
    out += "}\r\n";
}

void append_literal(std::string& out, std::string_view data) {
    append_literal_header(out, data.size(), false);
    std::size_t start = out.size();
    out += data;
    for (std::size_t i = start; i < out.size(); ++i)
        if (out[i] == '\0') out[i] = static_cast<char>(0x80);
}

void append_literal8(std::string& out, std::string_view data) {
    append_literal_header(out, data.size(), true);
    out += data;
}

void append_string(std::string& out, std::string_view s, bool utf8) {
    if (can_quote(s, utf8)) append_quoted(out, s);
    else append_literal(out, s);
}

void append_nstring(std::string& out, const std::optional<std::string>& s, bool utf8) {
    if (!s) out += "NIL";
    else append_string(out, *s, utf8);
}

void append_astring(std::string& out, std::string_view s, bool utf8) {
    bool atom = !s.empty() && !detail::iequal(s, "NIL");
    for (unsigned char c : s)
        if (!detail::is_astring_char(c)) {
            atom = false;
            break;
        }
    if (atom) out += s;
    else append_string(out, s, utf8);
}

void append_mailbox(std::string& out, std::string_view name, bool utf8) {
    if (utf8) {
        append_astring(out, name, true);
        return;
    }
    auto encoded = mutf7_encode(name);
    if (!encoded) {
        append_literal(out, name);
        return;
    }
    append_astring(out, *encoded, false);
}

void append_flag_list(std::string& out, std::span<const std::string> flags) {
    out += '(';
    bool first = true;
    for (const auto& f : flags) {
        if (!first) out += ' ';
        first = false;
        out += f;
    }
    out += ')';
}

std::string sanitize_text(std::string_view text, bool utf8) {
    std::string out;
    out.reserve(text.size() + 1);
    for (std::size_t i = 0; i < text.size();) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            out += ' ';
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else {
            std::size_t n = detail::utf8_sequence_length(text, i);
            if (utf8 && n > 0) {
                out.append(text.substr(i, n));
                i += n;
            } else {
                out += '?';
                i += n > 0 ? n : 1;
            }
        }
    }
    if (out.empty()) return "completed";
    if (out.front() == '[') out.insert(out.begin(), ' ');
    return out;
}

}  // namespace polder::imap::proto
