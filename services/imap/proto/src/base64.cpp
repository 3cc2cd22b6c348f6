// base64.cpp - strict base64 and the SASL PLAIN message parser.
//
// SECURITY: rejects non-canonical base64 (bad characters, misplaced padding, non-zero
// trailing bits) and PLAIN messages with missing fields or oversized parts.
// STANDARDS: RFC 4648 section 4, RFC 4616 section 2.
#include "polder/imap/proto/base64.hpp"

#include <cstdint>

namespace polder::imap::proto {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int index_of(unsigned char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                          static_cast<unsigned char>(bytes[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        std::uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        bool last = i + 4 == text.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            unsigned char c = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
            if (c == '=') {
                if (!last || k < 2) return std::nullopt;
                ++pad;
                v[k] = 0;
            } else {
                if (pad) return std::nullopt;  // data after padding
                v[k] = index_of(c);
                if (v[k] < 0) return std::nullopt;
            }
        }
        std::uint32_t w = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                          (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        out += static_cast<char>((w >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((w >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(w & 0xff);
        if (pad == 2 && (w & 0xffff) != 0) return std::nullopt;
        if (pad == 1 && (w & 0xff) != 0) return std::nullopt;
    }
    return out;
}

std::optional<sasl_plain> parse_sasl_plain(std::string_view decoded) {
    auto a = decoded.find('\0');
    if (a == std::string_view::npos) return std::nullopt;
    auto b = decoded.find('\0', a + 1);
    if (b == std::string_view::npos || decoded.find('\0', b + 1) != std::string_view::npos) return std::nullopt;
    sasl_plain p;
    p.authzid = std::string(decoded.substr(0, a));
    p.authcid = std::string(decoded.substr(a + 1, b - a - 1));
    p.password = std::string(decoded.substr(b + 1));
    constexpr std::size_t max_field = 1024;
    if (p.authcid.empty() || p.password.empty() || p.authzid.size() > max_field || p.authcid.size() > max_field ||
        p.password.size() > max_field)
        return std::nullopt;
    return p;
}

}  // namespace polder::imap::proto
