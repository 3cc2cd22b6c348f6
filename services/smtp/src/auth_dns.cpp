// auth_dns.cpp - deadline-bounded DNS lookups for the inbound checks. See auth_dns.hpp.
// SECURITY: counts and sizes of answers are capped; a query past its deadline is
// cancelled, so no callback can outlive its waiter.
// STANDARDS: RFC 1035, RFC 8601 section 2.7.
#include "auth_dns.hpp"

#include "dns.hpp"

#include "polder/log/log.hpp"

#include <poll.h>
#include <unbound.h>

#include <algorithm>
#include <thread>

namespace polder::smtpd {

namespace {

constexpr int class_in = 1;
constexpr int rcode_nxdomain = 3;
constexpr std::size_t max_records = 64;
constexpr std::size_t max_packet = 64 * 1024;
constexpr auto slice = std::chrono::milliseconds(20);

// pending - one async query; written by the callback (inside ub_process, under
// process_mutex_), read by its waiter under the same mutex.
struct pending {
    bool done = false;
    int err = 0;
    ub_result* res = nullptr;
};

void on_answer(void* mydata, int err, ub_result* res) {
    auto* p = static_cast<pending*>(mydata);
    p->err = err;
    p->res = res;
    p->done = true;
}

}  // namespace

std::string txt_strings(std::string_view rdata) {
    std::string out;
    std::size_t i = 0;
    while (i < rdata.size()) {
        const std::size_t len = static_cast<unsigned char>(rdata[i++]);
        const std::size_t n = std::min(len, rdata.size() - i);
        out.append(rdata.substr(i, n));
        i += n;
    }
    return out;
}

auth_dns::auth_dns(ub_ctx* ctx) : ctx_(ctx) {}

auth_dns::~auth_dns() { ub_ctx_delete(ctx_); }

result<std::unique_ptr<auth_dns>> auth_dns::create(std::string_view server) {
    auto ctx = new_unbound_context(server);   // the same resolver setup as MX delivery
    if (!ctx) return ctx.error();
    return std::unique_ptr<auth_dns>(new auth_dns(*ctx));
}

dns_reply auth_dns::lookup(const std::string& name, int type, clock::time_point deadline) {
    dns_reply reply;
    if (name.empty() || name.size() > 253) {
        reply.status = dns_status::nxdomain;   // no such name can exist (RFC 1035 2.3.4)
        reply.detail = "invalid name";
        return reply;
    }
    pending p;
    int id = 0;
    std::unique_lock lock(process_mutex_);
    if (int e = ub_resolve_async(ctx_, name.c_str(), type, class_in, &p, on_answer, &id)) {
        reply.detail = std::string("query not started: ") + ub_strerror(e);
        return reply;
    }
    const int fd = ub_fd(ctx_);
    while (!p.done) {
        const auto now = clock::now();
        if (now >= deadline) {
            // Still under the mutex and not done: the answer has not been processed, so
            // ub_cancel succeeds and the callback will never touch p.
            ub_cancel(ctx_, id);
            reply.detail = "timeout";
            return reply;
        }
        const auto wait = std::min<clock::duration>(deadline - now, slice);
        pollfd pfd{fd, POLLIN, 0};
        const int ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
        if (::poll(&pfd, 1, ms) > 0) ub_process(ctx_);
        if (p.done) break;
        // Let the other waiters look at their answers (delivered by our ub_process).
        lock.unlock();
        std::this_thread::yield();
        lock.lock();
    }
    lock.unlock();

    struct freer {
        ub_result* r;
        ~freer() {
            if (r) ub_resolve_free(r);
        }
    } guard{p.res};
    if (p.err != 0 || !p.res) {
        reply.detail = p.err ? ub_strerror(p.err) : "no result";
        return reply;
    }
    const ub_result& r = *p.res;
    if (r.bogus) {
        reply.detail = std::string("DNSSEC validation failed") + (r.why_bogus ? std::string(": ") + r.why_bogus : "");
        return reply;
    }
    if (r.answer_packet && r.answer_len > 0 && static_cast<std::size_t>(r.answer_len) <= max_packet)
        reply.packet.assign(static_cast<const char*>(r.answer_packet), static_cast<std::size_t>(r.answer_len));
    if (r.nxdomain || r.rcode == rcode_nxdomain) {
        reply.status = dns_status::nxdomain;
        return reply;
    }
    if (r.rcode != 0) {
        reply.detail = "rcode " + std::to_string(r.rcode);
        return reply;
    }
    if (r.havedata) {
        for (int i = 0; r.data[i] && reply.rdata.size() < max_records; ++i)
            reply.rdata.emplace_back(r.data[i], static_cast<std::size_t>(r.len[i]));
    }
    reply.status = reply.rdata.empty() ? dns_status::nodata : dns_status::ok;
    return reply;
}

}  // namespace polder::smtpd
