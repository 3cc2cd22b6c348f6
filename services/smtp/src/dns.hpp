// dns.hpp - MX lookup for the outbound queue (RFC 5321 section 5.1) with libunbound.
//
// lookup_mx(domain) answers where mail for a domain goes: the MX hosts sorted by preference
// (hosts of equal preference shuffled, as section 5.1 asks), each with its AAAA and A
// addresses; the domain itself as the only host when it has no MX records ("implicit MX");
// null_mx when the domain publishes the null MX of RFC 7505 (it accepts no mail: bounce at
// once); no_domain when the domain does not exist (NXDOMAIN, or no MX and no address:
// bounce); temporary for SERVFAIL, timeouts and unreachable servers (retry later).
//
// Why libunbound: a maintained Debian library (libunbound-dev) with a full resolver - CNAME
// chasing, TCP fallback for truncated answers, a cache, 0x20-style spoofing defences and
// DNSSEC if a trust anchor is ever configured - and a thread-safe context. Its lookups
// block, so they run on a small thread pool of their own (two threads), never on the I/O
// threads nor on the database pool; a lookup is bounded by unbound's own timeouts. The
// async ub_resolve_async API would need ub_process polling on one fd shared by every
// worker; the queue makes a handful of lookups per second at most, so threads are simpler.
//
// SECURITY: answers are untrusted input: names are decoded with bounds checks (labels of
// at most 63 octets, names of at most 255), only IN-class answers of the asked type are
// used, at most 16 MX hosts and 16 addresses per host are tried. The resolver is
// smtp.dns_resolver (a loopback validating resolver in production, a test server in
// tests) or the servers of /etc/resolv.conf; queries to localhost are allowed on purpose.
// STANDARDS: RFC 5321 section 5.1, RFC 7505 (null MX), RFC 1035 (wire format of names),
// RFC 3596 (AAAA).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct ub_ctx;

namespace polder::smtpd {

struct mx_host {
    std::string name;                          // without the trailing dot
    unsigned preference = 0;
    std::vector<asio::ip::address> addresses;  // AAAA first, then A
};

enum class mx_status { ok, null_mx, no_domain, temporary };

struct mx_answer {
    mx_status status = mx_status::temporary;
    std::vector<mx_host> hosts;   // status ok: at least one host with at least one address
    std::string detail;           // for logs and DSNs: what went wrong
};

// decode_name - an uncompressed RFC 1035 wire-format name (as libunbound returns rdata)
// at data[offset...]; "" for the root. Errors: errc::protocol_error (malformed).
result<std::string> decode_name(std::span<const unsigned char> data, std::size_t offset);

// new_unbound_context - a libunbound context asking `server` ("" = /etc/resolv.conf,
// else "ip", "ip:port" or "[ipv6]:port"), threaded, allowed to ask localhost. The caller
// owns it (ub_ctx_delete). Errors: errc::invalid_argument with unbound's message logged.
result<ub_ctx*> new_unbound_context(std::string_view server);

class dns_resolver {
public:
    // create - server "" = /etc/resolv.conf, else "ip", "ip:port" or "[ipv6]:port"
    // (validated by the config loader). Errors: errc::invalid_argument with unbound's message logged.
    static result<std::unique_ptr<dns_resolver>> create(std::string_view server);
    ~dns_resolver();
    dns_resolver(const dns_resolver&) = delete;
    dns_resolver& operator=(const dns_resolver&) = delete;

    // lookup_mx - resolves on the resolver's threads, resumes on the caller's executor.
    awaitable<mx_answer> lookup_mx(std::string domain);

    // lookup_mx_blocking - the same, on the calling thread.
    mx_answer lookup_mx_blocking(const std::string& domain);

private:
    explicit dns_resolver(ub_ctx* ctx);
    ub_ctx* ctx_;
    asio::thread_pool threads_{2};
};

}  // namespace polder::smtpd
