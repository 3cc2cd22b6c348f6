// proxy_protocol.cpp - the PROXY protocol header, versions 1 (text) and 2 (binary), and
// address prefix lists; see proxy_protocol.hpp.
//
// SECURITY: every read is bounded by what arrived and by max_proxy_header; addresses are
// parsed by Asio (inet_pton) from a copy bounded to the field, and only an exact header
// is complete.
// STANDARDS: The PROXY protocol, versions 1 and 2 (haproxy.org doc/proxy-protocol.txt):
// section 2.1 (v1: "PROXY" SP ("TCP4" | "TCP6" | "UNKNOWN") ... CRLF, 107 octets at
// most), 2.2 (v2: 12-octet signature, version/command, family/protocol, length,
// addresses, TLVs); RFC 4632, RFC 4291 section 2.3.
#include "polder/net/proxy_protocol.hpp"

#include "polder/core/prefixes.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace polder::net {

namespace {

constexpr std::array<std::uint8_t, 12> v2_signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                        0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::size_t v1_max = 107;   // section 2.1: the longest possible line, CRLF included

proxy_parse invalid(std::string why) {
    proxy_parse p;
    p.st = proxy_parse::state::invalid;
    p.error = std::move(why);
    return p;
}

proxy_parse incomplete() { return {}; }

// is_prefix_of - whether all of `data` matches the start of `what` (data may be shorter).
template <class Range>
bool is_prefix_of(std::span<const std::uint8_t> data, const Range& what) {
    const std::size_t n = std::min(data.size(), std::size(what));
    for (std::size_t i = 0; i < n; ++i)
        if (data[i] != static_cast<std::uint8_t>(what[i])) return false;
    return true;
}

// parse_port - "0".."65535", decimal, no sign, no leading zero.
bool parse_port(std::string_view s, std::uint16_t& out) {
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

bool parse_address(std::string_view s, bool v6, asio::ip::address& out) {
    if (s.empty() || s.size() > 45) return false;
    boost::system::error_code ec;
    if (v6) {
        auto a = asio::ip::make_address_v6(std::string(s), ec);
        if (ec || a.scope_id() != 0) return false;
        out = a;
    } else {
        auto a = asio::ip::make_address_v4(std::string(s), ec);
        if (ec) return false;
        out = a;
    }
    return true;
}

proxy_parse parse_v1(std::span<const std::uint8_t> data) {
    // The line ends at the first CR; it must be followed by LF.
    const std::size_t scan = std::min(data.size(), v1_max);
    std::size_t cr = scan;
    for (std::size_t i = 0; i < scan; ++i) {
        if (data[i] == '\r') {
            cr = i;
            break;
        }
        if (data[i] == '\n' || data[i] == 0) return invalid("v1 header with a bare LF or a NUL");
    }
    if (cr == scan || cr + 2 > v1_max)
        return data.size() >= v1_max ? invalid("v1 header longer than 107 octets") : incomplete();
    if (cr + 1 >= data.size()) return incomplete();
    if (data[cr + 1] != '\n') return invalid("v1 header: CR without LF");
    const std::string_view line(reinterpret_cast<const char*>(data.data()), cr);

    std::vector<std::string_view> fields;
    for (std::size_t at = 0;;) {
        const auto sp = line.find(' ', at);
        fields.push_back(line.substr(at, sp == std::string_view::npos ? std::string_view::npos : sp - at));
        if (sp == std::string_view::npos) break;
        at = sp + 1;
    }
    proxy_parse p;
    p.st = proxy_parse::state::complete;
    p.length = cr + 2;
    if (fields.size() >= 2 && fields[1] == "UNKNOWN") return p;   // the rest of the line is ignored
    if (fields.size() < 2 || (fields[1] != "TCP4" && fields[1] != "TCP6"))
        return invalid("v1 header: the protocol is not TCP4, TCP6 or UNKNOWN");
    if (fields.size() != 6) return invalid("v1 header: not four address fields separated by single spaces");
    const bool v6 = fields[1] == "TCP6";
    if (!parse_address(fields[2], v6, p.header.source) || !parse_address(fields[3], v6, p.header.destination))
        return invalid(std::string("v1 header: not an ") + (v6 ? "IPv6" : "IPv4") + " address");
    if (!parse_port(fields[4], p.header.source_port) || !parse_port(fields[5], p.header.destination_port))
        return invalid("v1 header: a port is not a number from 0 to 65535");
    p.header.source = unmapped(p.header.source);
    p.header.destination = unmapped(p.header.destination);
    p.header.proxied = true;
    return p;
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

proxy_parse parse_v2(std::span<const std::uint8_t> data) {
    if (data.size() < 16) return incomplete();
    const std::uint8_t ver_cmd = data[12];
    const std::uint8_t fam = data[13];
    const std::size_t len = be16(&data[14]);
    if ((ver_cmd >> 4) != 2) return invalid("v2 header: version is not 2");
    const std::uint8_t command = ver_cmd & 0x0F;
    if (command > 1) return invalid("v2 header: command is neither LOCAL nor PROXY");
    if (16 + len > max_proxy_header) return invalid("v2 header longer than " + std::to_string(max_proxy_header) + " octets");
    std::size_t needed = 0;   // the address block's length for the family
    switch (fam) {
        case 0x00: needed = 0; break;     // UNSPEC
        case 0x11: needed = 12; break;    // TCP over IPv4
        case 0x21: needed = 36; break;    // TCP over IPv6
        case 0x31: needed = 216; break;   // UNIX stream
        default:
            if (command == 1) return invalid("v2 header: address family and protocol not TCP or UNIX stream");
    }
    if (len < needed) return invalid("v2 header: address block shorter than its family needs");
    if (data.size() < 16 + len) return incomplete();
    proxy_parse p;
    p.st = proxy_parse::state::complete;
    p.length = 16 + len;
    if (command == 0 || (fam != 0x11 && fam != 0x21)) return p;   // LOCAL, UNSPEC or UNIX: not a client address
    const std::uint8_t* a = &data[16];
    if (fam == 0x11) {
        asio::ip::address_v4::bytes_type s, d;
        std::memcpy(s.data(), a, 4);
        std::memcpy(d.data(), a + 4, 4);
        p.header.source = asio::ip::address_v4(s);
        p.header.destination = asio::ip::address_v4(d);
        p.header.source_port = be16(a + 8);
        p.header.destination_port = be16(a + 10);
    } else {
        asio::ip::address_v6::bytes_type s, d;
        std::memcpy(s.data(), a, 16);
        std::memcpy(d.data(), a + 16, 16);
        p.header.source = unmapped(asio::ip::address_v6(s));
        p.header.destination = unmapped(asio::ip::address_v6(d));
        p.header.source_port = be16(a + 32);
        p.header.destination_port = be16(a + 34);
    }
    p.header.proxied = true;
    return p;
}

}  // namespace

asio::ip::address unmapped(const asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a;
}

proxy_parse parse_proxy_header(std::span<const std::uint8_t> data) {
    if (data.empty()) return incomplete();
    if (data[0] == v2_signature[0]) {
        if (!is_prefix_of(data, v2_signature)) return invalid("not a PROXY protocol header");
        return data.size() < v2_signature.size() ? incomplete() : parse_v2(data);
    }
    if (!is_prefix_of(data, v1_prefix)) return invalid("not a PROXY protocol header");
    return data.size() < v1_prefix.size() ? incomplete() : parse_v1(data);
}

bool ip_network::contains(const asio::ip::address& raw) const noexcept {
    const auto a = unmapped(raw);
    if (a.is_v4() != address.is_v4()) return false;
    if (a.is_v4()) {
        const auto mask = prefix == 0 ? 0u : ~0u << (32 - prefix);
        return (a.to_v4().to_uint() & mask) == address.to_v4().to_uint();
    }
    const auto x = a.to_v6().to_bytes(), n = address.to_v6().to_bytes();
    unsigned bits = prefix;
    for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
        const unsigned take = std::min(bits, 8u);
        const auto mask = static_cast<std::uint8_t>(0xFF << (8 - take));
        if ((x[i] & mask) != n[i]) return false;
        bits -= take;
    }
    return true;
}

result<std::vector<ip_network>> parse_networks(std::string_view list) {
    std::vector<address_prefix> prefixes;
    if (!parse_prefixes(list, prefixes)) return errc::invalid_argument;
    std::vector<ip_network> out;
    for (const auto& p : prefixes) {
        if (p.v4) {
            asio::ip::address_v4::bytes_type b;
            std::copy_n(p.bytes.begin(), 4, b.begin());
            out.push_back({asio::ip::address_v4(b), p.length});
        } else {
            out.push_back({asio::ip::address_v6(p.bytes), p.length});
        }
    }
    return out;
}

}  // namespace polder::net
