// prefixes.cpp - lists of IP address prefixes; see prefixes.hpp.
// STANDARDS: RFC 4632, RFC 4291 sections 2.3 and 2.5.5.2 (IPv4-mapped), inet_pton (POSIX).
#include "polder/core/prefixes.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace polder {

bool parse_prefixes(std::string_view list, std::vector<address_prefix>& out, std::string* bad) {
    out.clear();
    std::size_t at = 0;
    while ((at = list.find_first_not_of(", \t", at)) != std::string_view::npos) {
        auto end = list.find_first_of(", \t", at);
        if (end == std::string_view::npos) end = list.size();
        const auto item = list.substr(at, end - at);
        at = end;
        auto fail = [&] {
            if (bad) *bad = std::string(item);
            return false;
        };
        const auto slash = item.find('/');
        const std::string addr(item.substr(0, slash));
        address_prefix p;
        if (inet_pton(AF_INET, addr.c_str(), p.bytes.data()) != 1) {
            if (inet_pton(AF_INET6, addr.c_str(), p.bytes.data()) != 1) return fail();
            p.v4 = false;
            static constexpr std::array<std::uint8_t, 12> mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
            if (slash == std::string_view::npos && std::equal(mapped.begin(), mapped.end(), p.bytes.begin())) {
                std::copy(p.bytes.begin() + 12, p.bytes.end(), p.bytes.begin());
                std::fill(p.bytes.begin() + 4, p.bytes.end(), 0);
                p.v4 = true;
            }
        }
        const unsigned max = p.v4 ? 32 : 128;
        p.length = max;
        if (slash != std::string_view::npos) {
            const auto digits = item.substr(slash + 1);
            auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p.length);
            if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || p.length > max)
                return fail();
        }
        for (unsigned bit = p.length; bit < max; ++bit)   // host bits must be zero
            if (p.bytes[bit / 8] & (0x80 >> (bit % 8))) return fail();
        out.push_back(p);
    }
    return true;
}

}  // namespace polder
