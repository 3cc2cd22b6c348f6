// blob_id.cpp - strict hex conversion of blob names.
//
// SECURITY: from_hex() accepts exactly 64 characters of [0-9a-f]; anything else (upper
// case, separators, "..", NUL, a shorter or longer string) is refused before any use.
//
// STANDARDS: RFC 4648 section 8 (base16), lower-case canonical form.
#include "polder/blob/blob_id.hpp"

namespace polder::blob {
namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;   // upper case too: one spelling per blob keeps names and rows comparable
}

}  // namespace

std::optional<blob_id> blob_id::from_hex(std::string_view hex) noexcept {
    if (hex.size() != 2 * size) return std::nullopt;
    bytes_type b{};
    for (std::size_t i = 0; i < size; ++i) {
        const int hi = hex_value(hex[2 * i]);
        const int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        b[i] = static_cast<std::byte>(hi << 4 | lo);
    }
    return blob_id(b);
}

std::string blob_id::hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(2 * size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        const auto v = std::to_integer<unsigned>(bytes_[i]);
        out[2 * i] = digits[v >> 4];
        out[2 * i + 1] = digits[v & 0xf];
    }
    return out;
}

}  // namespace polder::blob
