// test_proxy_protocol.cpp - the PROXY protocol header parser (v1 text, v2 binary) and
// address prefix lists: every valid form, every prefix of a valid header (incomplete,
// never invalid), and the malformed ones a balancer must never be believed for.
// SECURITY: bounded lengths, exact grammar, host bits, IPv4-mapped addresses.
// STANDARDS: haproxy.org doc/proxy-protocol.txt sections 2.1 and 2.2; RFC 4632.
#include "polder/net/proxy_protocol.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

using namespace polder;
using net::parse_proxy_header;
using st = net::proxy_parse::state;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

net::proxy_parse parse(const std::vector<std::uint8_t>& v) { return parse_proxy_header(v); }

std::vector<std::uint8_t> v2(std::uint8_t ver_cmd, std::uint8_t fam, const std::vector<std::uint8_t>& block) {
    std::vector<std::uint8_t> v = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    v.push_back(ver_cmd);
    v.push_back(fam);
    v.push_back(static_cast<std::uint8_t>(block.size() >> 8));
    v.push_back(static_cast<std::uint8_t>(block.size() & 0xFF));
    v.insert(v.end(), block.begin(), block.end());
    return v;
}

// names_the_client - the header both examples send: 203.0.113.7:56324 -> 192.0.2.1:993.
void names_the_client(const net::proxy_parse& p) {
    CHECK(p.header.proxied);
    CHECK(p.header.source.to_string() == "203.0.113.7");
    CHECK(p.header.source_port == 56324);
    CHECK(p.header.destination.to_string() == "192.0.2.1");
    CHECK(p.header.destination_port == 993);
}

// every_prefix_incomplete - a complete header cut anywhere before its end is incomplete.
void every_prefix_incomplete(const std::vector<std::uint8_t>& whole, std::size_t length) {
    for (std::size_t n = 0; n < length; ++n) {
        auto p = parse_proxy_header(std::span<const std::uint8_t>(whole.data(), n));
        INFO("prefix of " << n << " octets");
        CHECK(p.st == st::incomplete);
    }
}

}  // namespace

TEST_CASE("a v1 header names the client over TCP4 and TCP6, and the client's bytes follow untouched") {
    auto v = bytes("PROXY TCP4 203.0.113.7 192.0.2.1 56324 993\r\na001 LOGIN");
    auto p = parse(v);
    REQUIRE(p.st == st::complete);
    CHECK(p.length == 44);
    CHECK(std::string(v.begin() + static_cast<long>(p.length), v.end()) == "a001 LOGIN");
    names_the_client(p);
    every_prefix_incomplete(v, p.length);

    auto six = parse(bytes("PROXY TCP6 2001:db8::7 2001:db8::1 65535 0\r\n"));
    REQUIRE(six.st == st::complete);
    CHECK(six.header.source.to_string() == "2001:db8::7");
    CHECK(six.header.source_port == 65535);
    CHECK(six.header.destination_port == 0);
    auto mapped = parse(bytes("PROXY TCP6 ::ffff:198.51.100.9 ::1 1 2\r\n"));
    REQUIRE(mapped.st == st::complete);
    CHECK(mapped.header.source.is_v4());
    CHECK(mapped.header.source.to_string() == "198.51.100.9");

    // UNKNOWN: the balancer's own connection; whatever follows on the line is ignored.
    for (auto text : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
        auto u = parse(bytes(text));
        REQUIRE(u.st == st::complete);
        CHECK_FALSE(u.header.proxied);
        CHECK(u.length == std::string_view(text).size());
    }
    // The longest line allowed: 107 octets with CRLF.
    std::string longest = "PROXY UNKNOWN " + std::string(107 - 16, 'x') + "\r\n";
    REQUIRE(longest.size() == 107);
    CHECK(parse(bytes(longest)).st == st::complete);
}

TEST_CASE("a malformed v1 header is invalid, whatever follows") {
    for (const char* text : {
             "PROXY TCP4 203.0.113.7 192.0.2.1 56324 993\n",        // bare LF
             "PROXY TCP4 203.0.113.7 192.0.2.1 56324 993\rX",       // CR without LF
             "PROXY TCP4  203.0.113.7 192.0.2.1 56324 993\r\n",     // two spaces
             "PROXY TCP4 203.0.113.7 192.0.2.1 56324\r\n",          // a field missing
             "PROXY TCP4 203.0.113.7 192.0.2.1 56324 993 1\r\n",    // one too many
             "PROXY TCP4 2001:db8::7 192.0.2.1 56324 993\r\n",      // family mismatch
             "PROXY TCP6 203.0.113.7 2001:db8::1 56324 993\r\n",
             "PROXY TCP4 203.0.113.256 192.0.2.1 1 2\r\n",          // not an address
             "PROXY TCP6 fe80::1%eth0 2001:db8::1 1 2\r\n",         // scope ids are not addresses
             "PROXY TCP4 203.0.113.7 192.0.2.1 65536 993\r\n",      // port range
             "PROXY TCP4 203.0.113.7 192.0.2.1 0443 993\r\n",       // leading zero
             "PROXY TCP4 203.0.113.7 192.0.2.1 -1 993\r\n",
             "PROXY TCP4 203.0.113.7 192.0.2.1 +1 993\r\n",
             "PROXY UDP4 203.0.113.7 192.0.2.1 1 2\r\n",            // not a protocol
             "PROXY tcp4 203.0.113.7 192.0.2.1 1 2\r\n",            // case matters
             "PROXY \r\n",
             "PROXYTCP4\r\n",
             "proxy TCP4 203.0.113.7 192.0.2.1 1 2\r\n",
             "a001 LOGIN anna secret\r\n",                          // no header at all
             "GET / HTTP/1.1\r\n",
         }) {
        INFO(text);
        auto p = parse(bytes(text));
        CHECK(p.st == st::invalid);
        CHECK_FALSE(p.error.empty());
    }
    std::vector<std::uint8_t> nul = bytes("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    nul[12] = 0;
    CHECK(parse(nul).st == st::invalid);
    // No CRLF within 107 octets: invalid as soon as 107 have arrived, incomplete before.
    std::string endless = "PROXY UNKNOWN " + std::string(200, 'x');
    CHECK(parse_proxy_header(std::span<const std::uint8_t>(bytes(endless).data(), 106)).st == st::incomplete);
    CHECK(parse(bytes(endless)).st == st::invalid);
    std::string too_long = "PROXY UNKNOWN " + std::string(107 - 15, 'x') + "\r\n";   // 108 octets
    CHECK(parse(bytes(too_long)).st == st::invalid);
}

TEST_CASE("a v2 header names the client over IPv4 and IPv6, skips its TLVs, and LOCAL speaks for the balancer") {
    // PROXY, TCP over IPv4: 203.0.113.7:56324 -> 192.0.2.1:993, then a TLV (ALPN "h2").
    std::vector<std::uint8_t> block = {203, 0, 113, 7, 192, 0, 2, 1, 0xDC, 0x04, 0x03, 0xE1, 0x01, 0x00, 0x02, 'h', '2'};
    auto v = v2(0x21, 0x11, block);
    const std::size_t total = v.size();
    v.push_back('X');
    auto p = parse(v);
    REQUIRE(p.st == st::complete);
    CHECK(p.length == total);
    names_the_client(p);
    every_prefix_incomplete(v, p.length);

    std::vector<std::uint8_t> six(36, 0);
    six[0] = 0x20, six[1] = 0x01, six[2] = 0x0d, six[3] = 0xb8, six[15] = 7;   // 2001:db8::7
    six[16 + 15] = 1;                                                          // ::1
    six[32] = 0x01, six[33] = 0xBB, six[34] = 0x00, six[35] = 0x19;            // 443 -> 25
    auto q = parse(v2(0x21, 0x21, six));
    REQUIRE(q.st == st::complete);
    CHECK(q.header.source.to_string() == "2001:db8::7");
    CHECK(q.header.source_port == 443);
    CHECK(q.header.destination.to_string() == "::1");
    CHECK(q.header.destination_port == 25);
    std::vector<std::uint8_t> mapped(36, 0);
    mapped[10] = mapped[11] = 0xFF, mapped[12] = 198, mapped[13] = 51, mapped[14] = 100, mapped[15] = 9;
    auto m = parse(v2(0x21, 0x21, mapped));
    REQUIRE(m.st == st::complete);
    CHECK(m.header.source.to_string() == "198.51.100.9");

    // LOCAL (a health check), UNSPEC and UNIX: complete, not a client address.
    for (auto [cmd, fam, len] : {std::tuple{0x20, 0x00, 0}, std::tuple{0x20, 0x11, 12}, std::tuple{0x20, 0x55, 3},
                                 std::tuple{0x21, 0x00, 0}, std::tuple{0x21, 0x31, 216}}) {
        auto l = parse(v2(static_cast<std::uint8_t>(cmd), static_cast<std::uint8_t>(fam),
                          std::vector<std::uint8_t>(static_cast<std::size_t>(len), 0)));
        INFO("command " << cmd << " family " << fam);
        REQUIRE(l.st == st::complete);
        CHECK_FALSE(l.header.proxied);
        CHECK(l.length == 16 + static_cast<std::size_t>(len));
    }
}

TEST_CASE("a malformed v2 header is invalid") {
    CHECK(parse(v2(0x11, 0x11, std::vector<std::uint8_t>(12, 0))).st == st::invalid);   // version 1
    CHECK(parse(v2(0x31, 0x11, std::vector<std::uint8_t>(12, 0))).st == st::invalid);   // version 3
    CHECK(parse(v2(0x22, 0x11, std::vector<std::uint8_t>(12, 0))).st == st::invalid);   // command 2
    CHECK(parse(v2(0x21, 0x12, std::vector<std::uint8_t>(12, 0))).st == st::invalid);   // UDP
    CHECK(parse(v2(0x21, 0x41, std::vector<std::uint8_t>(12, 0))).st == st::invalid);   // no such family
    CHECK(parse(v2(0x21, 0x11, std::vector<std::uint8_t>(11, 0))).st == st::invalid);   // block too short
    CHECK(parse(v2(0x21, 0x21, std::vector<std::uint8_t>(35, 0))).st == st::invalid);
    // A length beyond max_proxy_header is refused from the 16 octets that declare it.
    auto huge = v2(0x21, 0x11, std::vector<std::uint8_t>(12, 0));
    huge[14] = 0xFF, huge[15] = 0xFF;
    CHECK(parse_proxy_header(std::span<const std::uint8_t>(huge.data(), 16)).st == st::invalid);
    // A broken signature.
    auto bad = v2(0x21, 0x11, std::vector<std::uint8_t>(12, 0));
    bad[7] = 'q';
    CHECK(parse(bad).st == st::invalid);
    CHECK(parse_proxy_header(std::span<const std::uint8_t>(bad.data(), 7)).st == st::incomplete);
    CHECK(parse_proxy_header(std::span<const std::uint8_t>(bad.data(), 8)).st == st::invalid);
}

TEST_CASE("address prefix lists parse addresses and CIDR prefixes and match IPv4, IPv6 and mapped peers") {
    auto nets = net::parse_networks("10.0.0.0/8, 192.0.2.17 2001:db8::/32,::1");
    REQUIRE(nets.has_value());
    REQUIRE(nets->size() == 4);
    auto has = [&](const char* a) {
        auto addr = asio::ip::make_address(a);
        return std::any_of(nets->begin(), nets->end(), [&](const net::ip_network& n) { return n.contains(addr); });
    };
    CHECK(has("10.1.2.3"));
    CHECK(has("::ffff:10.200.0.1"));
    CHECK(has("192.0.2.17"));
    CHECK_FALSE(has("192.0.2.18"));
    CHECK_FALSE(has("11.0.0.1"));
    CHECK(has("2001:db8:ffff::1"));
    CHECK_FALSE(has("2001:db9::1"));
    CHECK(has("::1"));
    CHECK_FALSE(has("127.0.0.1"));
    auto all = net::parse_networks("0.0.0.0/0,::/0");
    REQUIRE(all.has_value());
    CHECK((*all)[0].contains(asio::ip::make_address("203.0.113.9")));
    CHECK((*all)[1].contains(asio::ip::make_address("2001:db8::1")));
    CHECK(net::parse_networks("")->empty());
    CHECK(net::parse_networks(" , ")->empty());
    for (auto bad : {"10.0.0.5/8", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x", "host.example",
                     "10.0.0.0/8/8", "fe80::1%eth0", "10.0.0.0/-1"}) {
        INFO(bad);
        CHECK_FALSE(net::parse_networks(bad).has_value());
    }
}
