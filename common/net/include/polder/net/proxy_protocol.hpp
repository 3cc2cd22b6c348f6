// proxy_protocol.hpp - the PROXY protocol header (HAProxy's "PROXY protocol" versions 1
// and 2) that a layer-4 load balancer sends before a client's bytes, so the service sees
// the client's address instead of the balancer's; and the address lists that say which
// peers must send one (service setting <service>.proxy_protocol_from).
//
// SECURITY: the header is untrusted network input: parse_proxy_header reads at most
// max_proxy_header bytes, checks every length against what arrived, and accepts only a
// well-formed header (v1: the exact text grammar, at most 107 octets; v2: the signature,
// version 2, a known command, an address block as long as its family needs). It is
// believed only from the configured balancers (server.cpp). Fuzzed by fuzz_proxy_header.
// STANDARDS: The PROXY protocol, versions 1 and 2 (haproxy.org, doc/proxy-protocol.txt,
// 2020/03/05); RFC 4632 (CIDR prefixes), RFC 4291 section 2.3 (IPv6 prefixes).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace polder::net {

// The longest header accepted: a v1 line is at most 107 octets; a v2 header is 16 octets
// plus its address block and TLVs (HAProxy's own TLVs - ALPN, authority, TLS details -
// take a few hundred).
inline constexpr std::size_t max_proxy_header = 16 + 1024;

struct proxy_header {
    // false: the balancer speaks for itself (v2 LOCAL, v1 UNKNOWN, or an address family
    // other than TCP over IPv4/IPv6) - a health check; the connection's own addresses
    // stand. true: source is the client.
    bool proxied = false;
    asio::ip::address source;
    std::uint16_t source_port = 0;
    asio::ip::address destination;
    std::uint16_t destination_port = 0;
};

struct proxy_parse {
    enum class state { complete, incomplete, invalid };
    state st = state::incomplete;
    std::size_t length = 0;   // complete: octets the header takes (the client's bytes follow)
    proxy_header header;      // complete
    std::string error;        // invalid: why, for the log
};

// parse_proxy_header - the header at the start of `data` (all that has arrived so far).
// incomplete: a prefix of a valid header, more may come; invalid: never a valid header.
proxy_parse parse_proxy_header(std::span<const std::uint8_t> data);

// unmapped - an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it is;
// any other address as it is. Peers, PROXY headers and prefixes are compared this way.
asio::ip::address unmapped(const asio::ip::address& a);

// ip_network - an address prefix ("10.0.0.0/8", "2001:db8::/32", or one address).
struct ip_network {
    asio::ip::address address;   // with the host bits cleared
    unsigned prefix = 0;         // 0..32 (IPv4) or 0..128 (IPv6)
    bool contains(const asio::ip::address& a) const noexcept;   // IPv4-mapped IPv6 counts as IPv4
};

// parse_networks - a list of prefixes separated by commas and/or spaces. Errors:
// errc::invalid_argument (not an address, a prefix too long, host bits set).
result<std::vector<ip_network>> parse_networks(std::string_view list);

}  // namespace polder::net
