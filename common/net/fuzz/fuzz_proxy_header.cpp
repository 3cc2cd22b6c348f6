// fuzz_proxy_header.cpp - libFuzzer target for the PROXY protocol header a load balancer
// sends before the client's bytes (parse_proxy_header), and for the address lists of
// <service>.proxy_protocol_from (parse_networks).
//
// Input layout: byte 0 picks what to parse (even: a header, odd: a list); the rest is the
// input. A header is also parsed at every shorter length, as the server does while its
// bytes arrive.
//
// SECURITY: asserts the parser's invariants so silent misbehaviour is caught, not just
// crashes: a complete header's length lies within what arrived and within
// max_proxy_header; every prefix of a complete header is incomplete; a header that is
// not proxied carries no client address; an invalid one says why.
// STANDARDS: haproxy.org doc/proxy-protocol.txt sections 2.1 and 2.2; RFC 4632.
#include "polder/net/proxy_protocol.hpp"

#include <cstdint>
#include <cstdlib>
#include <span>

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using polder::net::proxy_parse;
    if (size == 0) return 0;
    const std::span<const std::uint8_t> in(data + 1, size - 1);
    if (data[0] % 2 == 1) {
        auto nets = polder::net::parse_networks(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
        if (nets) {
            for (const auto& n : *nets) {
                check(n.prefix <= (n.address.is_v4() ? 32u : 128u));
                check(n.contains(n.address));
            }
        }
        return 0;
    }
    const auto p = polder::net::parse_proxy_header(in);
    switch (p.st) {
        case proxy_parse::state::complete:
            check(p.length > 0 && p.length <= in.size() && p.length <= polder::net::max_proxy_header);
            if (!p.header.proxied) check(p.header.source.is_unspecified() && p.header.source_port == 0);
            for (std::size_t n = 0; n < p.length; n += 1 + n / 8)
                check(polder::net::parse_proxy_header(in.first(n)).st == proxy_parse::state::incomplete);
            break;
        case proxy_parse::state::invalid:
            check(!p.error.empty());
            break;
        case proxy_parse::state::incomplete:
            check(in.size() < polder::net::max_proxy_header);
            break;
    }
    return 0;
}
