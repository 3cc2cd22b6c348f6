// size.cpp - parsing and formatting of storage sizes (binary units).
//
// SECURITY: integer arithmetic only, with explicit overflow checks; the result
// never exceeds INT64_MAX so it fits PostgreSQL's bigint.
// STANDARDS: IEC 80000-13 binary prefixes.
#include "polder/auth/size.hpp"

#include "polder/auth/names.hpp"

#include <array>
#include <limits>

namespace polder::auth {
namespace {

constexpr std::uint64_t max_bytes = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::optional<unsigned> unit_shift(std::string_view unit) {
    std::string u = to_lower_ascii(unit);
    if (u.empty() || u == "b") return 0;
    static constexpr std::array<std::string_view, 5> prefixes{"k", "m", "g", "t", "p"};
    for (unsigned i = 0; i < prefixes.size(); ++i) {
        std::string p(prefixes[i]);
        if (u == p || u == p + "b" || u == p + "ib") return 10 * (i + 1);
    }
    return std::nullopt;
}

}  // namespace

validated<std::uint64_t> parse_size(std::string_view input) {
    std::string_view s = trim(input);
    if (s.empty()) return validated<std::uint64_t>::refused("size is empty");
    if (s.size() > 32) return validated<std::uint64_t>::refused("size is too long");
    std::size_t i = 0;
    std::uint64_t whole = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        const unsigned d = static_cast<unsigned>(s[i] - '0');
        if (whole > (max_bytes - d) / 10) return validated<std::uint64_t>::refused("size is too large");
        whole = whole * 10 + d;
        ++i;
        ++digits;
    }
    std::uint64_t frac = 0, frac_scale = 1;
    if (i < s.size() && s[i] == '.') {
        ++i;
        std::size_t frac_digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (frac_digits < 6) {   // more precision than a byte needs at these scales
                frac = frac * 10 + static_cast<unsigned>(s[i] - '0');
                frac_scale *= 10;
            }
            ++i;
            ++frac_digits;
        }
        if (frac_digits == 0) return validated<std::uint64_t>::refused("size has a '.' without digits after it");
    }
    if (digits == 0)
        return validated<std::uint64_t>::refused("size must start with a number (like 10G or 500M)");
    std::string_view unit = trim(s.substr(i));
    auto shift = unit_shift(unit);
    if (!shift)
        return validated<std::uint64_t>::refused("unknown size unit '" + std::string(unit) +
                                                 "' (use B, K, M, G, T or P)");
    if (*shift == 0 && frac != 0) return validated<std::uint64_t>::refused("a number of bytes cannot have a fraction");
    const std::uint64_t mult = std::uint64_t{1} << *shift;
    if (whole > max_bytes / mult) return validated<std::uint64_t>::refused("size is too large");
    std::uint64_t bytes = whole * mult;
    // frac < 10^6 and mult <= 2^50: frac * mult < 2^70 would overflow, so divide first.
    std::uint64_t frac_bytes = (mult / frac_scale) * frac + ((mult % frac_scale) * frac) / frac_scale;
    if (bytes > max_bytes - frac_bytes) return validated<std::uint64_t>::refused("size is too large");
    return bytes + frac_bytes;
}

validated<std::optional<std::uint64_t>> parse_quota(std::string_view input) {
    std::string s = to_lower_ascii(trim(input));
    if (s == "unlimited" || s == "none") return std::optional<std::uint64_t>{};
    auto size = parse_size(input);
    if (!size)
        return validated<std::optional<std::uint64_t>>::refused(size.reason() + " (or say 'unlimited')");
    return std::optional<std::uint64_t>{*size};
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::array<std::string_view, 6> units{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    unsigned u = 0;
    while (u + 1 < units.size() && bytes >= (std::uint64_t{1} << (10 * (u + 1)))) ++u;
    if (u == 0) return std::to_string(bytes) + " B";
    std::uint64_t unit = std::uint64_t{1} << (10 * u);
    std::uint64_t whole = bytes / unit;
    std::uint64_t tenth = ((bytes % unit) * 10) / unit;   // (bytes % unit) < 2^50: no overflow
    std::string out = std::to_string(whole);
    if (tenth != 0) out += "." + std::to_string(tenth);
    return out + " " + std::string(units[u]);
}

}  // namespace polder::auth
