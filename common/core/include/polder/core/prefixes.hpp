// prefixes.hpp - lists of IP address prefixes in settings ("10.0.0.0/8, 192.0.2.1
// 2001:db8::/32"): items separated by commas and/or blanks, each an IPv4 or IPv6 address
// with an optional "/length". One parser for the configuration's check and for the code
// that uses the list (polder::net::parse_networks), so the two never disagree.
// SECURITY: an item with host bits set ("10.0.0.5/8") is refused, not guessed at.
// STANDARDS: RFC 4632 (CIDR), RFC 4291 section 2.3 (IPv6 prefixes), inet_pton (POSIX).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace polder {

struct address_prefix {
    bool v4 = true;
    std::array<std::uint8_t, 16> bytes{};   // v4: the first 4
    unsigned length = 0;                    // 0..32 or 0..128
};

// parse_prefixes - the prefixes of `list`; false, with the first bad item in *bad, when an
// item is not an address, its length is out of range, or its host bits are set. A single
// IPv4-mapped IPv6 address (no length) is read as the IPv4 address.
bool parse_prefixes(std::string_view list, std::vector<address_prefix>& out, std::string* bad = nullptr);

}  // namespace polder
