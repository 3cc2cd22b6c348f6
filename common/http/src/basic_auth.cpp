// basic_auth.cpp - HTTP Basic credentials (RFC 7617), base64 and UTF-8 checks.
//
// SECURITY: the field length is checked first; decoding is a single linear pass
// with no allocation beyond the decoded size (<= 3/4 of the input).
// STANDARDS: RFC 7617 2 and 2.1, RFC 9110 11.4, RFC 4648 4, RFC 3629 3.
#include "polder/http/basic_auth.hpp"

#include <array>
#include <cstdint>

namespace polder::http {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_decode_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto decode_table = make_decode_table();

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

bool has_control(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return true;
    return false;
}

}  // namespace

result<std::string> base64_decode(std::string_view in) {
    std::size_t pad = 0;
    while (pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
    if (pad > 2) return errc::invalid_argument;
    if (pad > 0 && in.size() % 4 != 0) return errc::invalid_argument;
    const std::string_view data = in.substr(0, in.size() - pad);
    if (data.size() % 4 == 1) return errc::invalid_argument;   // 6 bits cannot end a byte

    std::string out;
    out.reserve(data.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char ch : data) {
        const int v = decode_table[static_cast<unsigned char>(ch)];
        if (v < 0) return errc::invalid_argument;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = (static_cast<unsigned char>(in[i]) << 16) |
                                (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = in.size() - i;
    if (rest == 1) {
        const std::uint32_t v = static_cast<unsigned char>(in[i]) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v =
            (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n;
        std::uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;   // continuation byte, overlong lead (c0, c1) or > U+10FFFF lead
        }
        if (i + n >= s.size()) return false;   // truncated sequence
        for (std::size_t k = 1; k <= n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;   // overlong
        if (cp >= 0xd800 && cp <= 0xdfff) return false;                         // surrogate
        if (cp > 0x10ffff) return false;
        i += n + 1;
    }
    return true;
}

result<basic_credentials> parse_basic_authorization(std::string_view v) {
    if (v.size() > max_authorization_length) return errc::limit_exceeded;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);

    const auto sp = v.find(' ');
    const auto scheme = v.substr(0, sp);
    if (!iequals(scheme, "Basic")) return errc::not_found;
    if (sp == std::string_view::npos) return errc::invalid_argument;
    auto token = v.substr(sp);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    if (token.empty()) return errc::invalid_argument;

    auto decoded = base64_decode(token);
    if (!decoded) return errc::invalid_argument;
    const std::string& text = *decoded;
    const auto colon = text.find(':');
    if (colon == std::string::npos) return errc::invalid_argument;
    if (!valid_utf8(text) || has_control(text)) return errc::invalid_argument;
    return basic_credentials{text.substr(0, colon), text.substr(colon + 1)};
}

std::string basic_challenge(std::string_view realm) {
    std::string out = "Basic realm=\"";
    for (char c : realm) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) continue;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += "\", charset=\"UTF-8\"";
    return out;
}

}  // namespace polder::http
