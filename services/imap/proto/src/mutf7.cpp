// mutf7.cpp - modified UTF-7 (RFC 3501 5.1.3) mailbox name encoder and strict decoder.
//
// SECURITY: the decoder accepts only the canonical encoding (see mutf7.hpp) and never
// produces invalid UTF-8; work is linear in the input.
// STANDARDS: RFC 3501 section 5.1.3, RFC 2152, RFC 2781 (UTF-16 surrogates), RFC 3629.
#include "polder/imap/proto/mutf7.hpp"

#include "chars.hpp"

#include <cstdint>
#include <vector>

namespace polder::imap::proto {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int alphabet_index(unsigned char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

void flush_units(std::string& out, std::vector<std::uint16_t>& units) {
    if (units.empty()) return;
    out += '&';
    std::uint32_t buf = 0;
    int nbits = 0;
    for (std::uint16_t u : units) {
        buf = (buf << 16) | u;
        nbits += 16;
        while (nbits >= 6) {
            out += alphabet[(buf >> (nbits - 6)) & 0x3f];
            nbits -= 6;
        }
        buf &= (1u << nbits) - 1;
    }
    if (nbits > 0) out += alphabet[(buf << (6 - nbits)) & 0x3f];
    out += '-';
    units.clear();
}

}  // namespace

std::optional<std::string> mutf7_encode(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size() + 8);
    std::vector<std::uint16_t> units;
    for (std::size_t i = 0; i < utf8.size();) {
        char32_t cp = 0;
        std::size_t n = detail::utf8_sequence_length(utf8, i, &cp);
        if (n == 0) return std::nullopt;
        i += n;
        if (cp >= 0x20 && cp <= 0x7e) {
            flush_units(out, units);
            if (cp == '&') out += "&-";
            else out += static_cast<char>(cp);
        } else if (cp < 0x10000) {
            units.push_back(static_cast<std::uint16_t>(cp));
        } else {
            char32_t v = cp - 0x10000;
            units.push_back(static_cast<std::uint16_t>(0xd800 + (v >> 10)));
            units.push_back(static_cast<std::uint16_t>(0xdc00 + (v & 0x3ff)));
        }
    }
    flush_units(out, units);
    return out;
}

std::optional<std::string> mutf7_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool after_shift = false;  // the previous element was a shifted run: another may not follow
    std::size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c > 0x7e) return std::nullopt;
        if (c != '&') {
            out += static_cast<char>(c);
            after_shift = false;
            ++i;
            continue;
        }
        if (i + 1 < s.size() && s[i + 1] == '-') {
            out += '&';
            after_shift = false;
            i += 2;
            continue;
        }
        if (after_shift) return std::nullopt;
        std::vector<std::uint16_t> units;
        std::uint32_t buf = 0;
        int nbits = 0;
        std::size_t j = i + 1;
        for (; j < s.size() && s[j] != '-'; ++j) {
            int v = alphabet_index(static_cast<unsigned char>(s[j]));
            if (v < 0) return std::nullopt;
            buf = (buf << 6) | static_cast<std::uint32_t>(v);
            nbits += 6;
            if (nbits >= 16) {
                units.push_back(static_cast<std::uint16_t>((buf >> (nbits - 16)) & 0xffff));
                nbits -= 16;
            }
            buf &= (1u << nbits) - 1;
        }
        if (j == s.size()) return std::nullopt;              // unterminated shifted run
        if (nbits >= 6 || buf != 0 || units.empty()) return std::nullopt;  // wasted or dirty padding
        for (std::size_t k = 0; k < units.size(); ++k) {
            char32_t cp = units[k];
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (k + 1 >= units.size() || units[k + 1] < 0xdc00 || units[k + 1] > 0xdfff) return std::nullopt;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (units[k + 1] - 0xdc00);
                ++k;
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return std::nullopt;
            }
            if (cp >= 0x20 && cp <= 0x7e) return std::nullopt;  // printable ASCII must stand for itself
            detail::append_utf8(out, cp);
        }
        after_shift = true;
        i = j + 1;
    }
    return out;
}

}  // namespace polder::imap::proto
