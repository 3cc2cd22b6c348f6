// auth_dns.hpp - the DNS lookups of the inbound checks (SPF, DKIM keys, DMARC policies),
// each bounded by a deadline, with libunbound.
//
// Why not dns_resolver (dns.hpp): that one blocks in ub_resolve until unbound gives up,
// which is fine for the outbound queue but not while an SMTP client waits for its reply
// after DATA. Here every query is started with ub_resolve_async and waited for with a
// deadline; when the deadline passes the query is cancelled (ub_cancel) and the caller gets
// "temporary" - an SPF/DKIM/DMARC temperror, never a hung session. The checks call
// lookup() synchronously from libspf2's and libopendkim's DNS hooks, on the checker's own
// threads (inbound_auth.hpp), never on an I/O thread.
// How the waiting works: unbound's worker thread answers through one pipe (ub_fd); whoever
// holds process_mutex_ polls it in short slices and runs ub_process(), which delivers the
// answers of every waiting thread (the callback marks each query done). The mutex is given
// up between slices, so each waiter checks its own answer and deadline at least every 20 ms.
//
// SECURITY: answers are untrusted: only IN-class records of the asked type are returned,
// at most 64 of them, the packet at most 64 KiB; names in rdata are left to the callers'
// bounded decoders. Server and port as in dns.hpp (smtp.dns_resolver or /etc/resolv.conf).
// STANDARDS: RFC 1035, RFC 7208 section 4.6.4 (lookup limits are libspf2's), RFC 8601
// section 2.7 (a DNS timeout is a temperror).
#pragma once

#include "polder/core/error.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct ub_ctx;

namespace polder::smtpd {

enum class dns_status { ok, nxdomain, nodata, temporary };

struct dns_reply {
    dns_status status = dns_status::temporary;
    std::vector<std::string> rdata;   // records of the asked type, wire format (status ok)
    std::string packet;               // the whole reply as received (for libopendkim)
    std::string detail;               // what went wrong, for logs
};

class auth_dns {
public:
    using clock = std::chrono::steady_clock;

    // create - server as dns_resolver::create. Errors: errc::invalid_argument (logged).
    static result<std::unique_ptr<auth_dns>> create(std::string_view server);
    ~auth_dns();
    auth_dns(const auth_dns&) = delete;
    auth_dns& operator=(const auth_dns&) = delete;

    // lookup - one query of class IN; blocks the calling thread until the answer or the
    // deadline (then status temporary, detail "timeout"). Thread-safe.
    dns_reply lookup(const std::string& name, int type, clock::time_point deadline);

private:
    explicit auth_dns(ub_ctx* ctx);
    ub_ctx* ctx_;
    std::mutex process_mutex_;   // one thread at a time polls ub_fd and calls ub_process
};

// dns_type - the RR type numbers the checks ask for.
namespace dns_type {
inline constexpr int a = 1, ptr = 12, mx = 15, txt = 16, aaaa = 28;
}

// txt_strings - the character-strings of one TXT rdata joined (RFC 7208 3.3, RFC 6376
// 3.6.2.2, RFC 7489 6.6.3 all concatenate them without separator). Malformed lengths end
// the value where the rdata ends.
std::string txt_strings(std::string_view rdata);

}  // namespace polder::smtpd
