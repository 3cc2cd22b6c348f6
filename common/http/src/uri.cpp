// uri.cpp - request-target splitting and percent-decoding (RFC 3986, RFC 9112 3.2).
//
// SECURITY: single linear passes; NUL never survives decoding; encoded '/' is
// refused by default so a decoded segment can never smuggle a separator.
// STANDARDS: RFC 3986 2.1, 2.2, 2.3, 3.3, 3.4; RFC 9112 3.2.1-3.2.4.
#include "polder/http/uri.hpp"

namespace polder::http {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool keep_in_path(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '-': case '.': case '_': case '~':                       // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')':  // sub-delims
    case '*': case '+': case ',': case ';': case '=':
    case ':': case '@': case '/':
        return true;
    default:
        return false;
    }
}

// Bytes a request-target may carry: visible ASCII except '#', plus bytes >= 0x80
// (not in the grammar, but some clients send raw UTF-8; decoding handles them
// like any other byte and the layers above validate names).
bool target_byte(unsigned char c) { return c > 0x20 && c != 0x7f && c != '#'; }

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char x = s[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (x != prefix[i]) return false;
    }
    return true;
}

}  // namespace

result<std::string> percent_decode(std::string_view in, const decode_options& options) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return errc::invalid_argument;   // truncated escape
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return errc::invalid_argument;
            c = static_cast<char>(hi * 16 + lo);
            if (c == '\0') return errc::invalid_argument;
            if (c == '/' && !options.allow_encoded_slash) return errc::invalid_argument;
            i += 2;
        } else if (c == '+' && options.plus_as_space) {
            c = ' ';
        } else if (c == '\0') {
            return errc::invalid_argument;
        }
        out.push_back(c);
    }
    return out;
}

std::string percent_encode_path(std::string_view path) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size());
    for (char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        if (keep_in_path(c)) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

result<target_parts> split_target(std::string_view target) {
    if (target.empty()) return errc::invalid_argument;
    for (char c : target)
        if (!target_byte(static_cast<unsigned char>(c))) return errc::invalid_argument;
    if (target == "*") return target_parts{target, {}};

    std::string_view rest = target;
    if (rest.front() != '/') {
        std::size_t scheme_len;
        if (iequals_prefix(rest, "http://"))
            scheme_len = 7;
        else if (iequals_prefix(rest, "https://"))
            scheme_len = 8;
        else
            return errc::invalid_argument;   // authority-form (CONNECT) or garbage
        rest.remove_prefix(scheme_len);
        const auto end = rest.find_first_of("/?");
        if (end == 0) return errc::invalid_argument;   // empty authority
        if (end == std::string_view::npos) return target_parts{"/", {}};
        rest.remove_prefix(end);
        if (rest.front() == '?') {
            // "http://host?q" - the path is empty, which means "/" (RFC 9112 3.2.2).
            return target_parts{"/", rest.substr(1)};
        }
    }
    const auto q = rest.find('?');
    if (q == std::string_view::npos) return target_parts{rest, {}};
    return target_parts{rest.substr(0, q), rest.substr(q + 1)};
}

}  // namespace polder::http
