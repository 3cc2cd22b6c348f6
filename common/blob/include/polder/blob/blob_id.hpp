// polder/blob/blob_id.hpp - the name of a blob: the SHA-256 of its bytes.
//
// What it does: a 32-byte value type with strict conversion to and from 64 lower-case
// hex digits (the form used in file names and in the database).
//
// SECURITY: from_hex() is the only way text becomes a blob_id, and it accepts exactly
// 64 characters of [0-9a-f]. Every store derives file names from the bytes, never from
// caller text, so no id can name a path outside the store (no "..", no "/", no NUL).
//
// STANDARDS: FIPS 180-4 (SHA-256), RFC 4648 section 8 (base16, lower-case form).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace polder::blob {

class blob_id {
 public:
    static constexpr std::size_t size = 32;
    using bytes_type = std::array<std::byte, size>;

    blob_id() = default;   // all zero bytes; a placeholder, not the hash of anything stored
    explicit blob_id(const bytes_type& b) noexcept : bytes_(b) {}

    // from_hex - exactly 64 lower-case hex digits, else nullopt.
    static std::optional<blob_id> from_hex(std::string_view hex) noexcept;

    std::string hex() const;                         // 64 lower-case hex digits
    const bytes_type& bytes() const noexcept { return bytes_; }

    friend bool operator==(const blob_id&, const blob_id&) = default;
    friend auto operator<=>(const blob_id& a, const blob_id& b) noexcept {
        return std::memcmp(a.bytes_.data(), b.bytes_.data(), size) <=> 0;
    }

 private:
    bytes_type bytes_{};
};

}  // namespace polder::blob

template <>
struct std::hash<polder::blob::blob_id> {
    std::size_t operator()(const polder::blob::blob_id& id) const noexcept {
        // The id is already a uniform hash: its first bytes are as good as any mix.
        std::size_t h;
        std::memcpy(&h, id.bytes().data(), sizeof h);
        return h;
    }
};
