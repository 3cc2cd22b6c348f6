// dns.cpp - MX lookup with libunbound. See dns.hpp.
// SECURITY: every rdata is bounds-checked before use; counts are capped (dns.hpp).
// STANDARDS: RFC 5321 section 5.1, RFC 7505, RFC 1035 section 3.1/3.3.9, RFC 3596.
#include "dns.hpp"

#include "polder/log/log.hpp"

#include <unbound.h>

#include <algorithm>
#include <random>

namespace polder::smtpd {

namespace {

constexpr int type_a = 1, type_mx = 15, type_aaaa = 28, class_in = 1;
constexpr int rcode_nxdomain = 3;
constexpr std::size_t max_hosts = 16, max_addresses = 16;

// query - one ub_resolve; the result is freed on scope exit.
struct query {
    ub_result* res = nullptr;
    int err = 0;
    query(ub_ctx* ctx, const std::string& name, int type) { err = ub_resolve(ctx, name.c_str(), type, class_in, &res); }
    ~query() {
        if (res) ub_resolve_free(res);
    }
    query(const query&) = delete;
    query& operator=(const query&) = delete;
    bool failed() const { return err != 0 || !res; }
    std::string why() const {
        if (err != 0) return ub_strerror(err);
        if (!res) return "no result";
        if (res->bogus) return std::string("DNSSEC validation failed") + (res->why_bogus ? std::string(": ") + res->why_bogus : "");
        return "rcode " + std::to_string(res->rcode);
    }
};

enum class addr_outcome { found, none, temporary };

// addresses_of - AAAA then A records of a host (CNAMEs are followed by unbound).
addr_outcome addresses_of(ub_ctx* ctx, const std::string& host, std::vector<asio::ip::address>& out,
                          std::string& detail) {
    bool temporary = false;
    for (int type : {type_aaaa, type_a}) {
        query q(ctx, host, type);
        if (q.failed() || q.res->bogus || (q.res->rcode != 0 && q.res->rcode != rcode_nxdomain)) {
            temporary = true;
            detail = "lookup of " + host + " failed: " + q.why();
            continue;
        }
        if (!q.res->havedata) continue;
        for (int i = 0; q.res->data[i] && out.size() < max_addresses; ++i) {
            const auto len = q.res->len[i];
            const auto* p = reinterpret_cast<const unsigned char*>(q.res->data[i]);
            if (type == type_a && len == 4) {
                asio::ip::address_v4::bytes_type b;
                std::copy(p, p + 4, b.begin());
                out.emplace_back(asio::ip::address_v4(b));
            } else if (type == type_aaaa && len == 16) {
                asio::ip::address_v6::bytes_type b;
                std::copy(p, p + 16, b.begin());
                out.emplace_back(asio::ip::address_v6(b));
            }
        }
    }
    if (!out.empty()) return addr_outcome::found;
    return temporary ? addr_outcome::temporary : addr_outcome::none;
}

// run_lookup - a coroutine function (not a lambda) so co_spawn gets no captures (GCC 12).
awaitable<mx_answer> run_lookup(dns_resolver* self, std::string domain) {
    co_return self->lookup_mx_blocking(domain);
}

}  // namespace

result<std::string> decode_name(std::span<const unsigned char> data, std::size_t offset) {
    std::string name;
    std::size_t total = 1;
    while (true) {
        if (offset >= data.size()) return errc::protocol_error;
        const unsigned len = data[offset++];
        if (len == 0) break;
        if (len > 63) return errc::protocol_error;   // also rejects compression pointers (0xC0)
        if (offset + len > data.size()) return errc::protocol_error;
        total += len + 1;
        if (total > 255) return errc::protocol_error;
        if (!name.empty()) name += '.';
        for (unsigned i = 0; i < len; ++i) {
            const auto c = static_cast<char>(data[offset + i]);
            // Host names are letters, digits, hyphens (and underscores in the wild); anything
            // else cannot be an MX target we would connect to.
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return errc::protocol_error;
            name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        offset += len;
    }
    return name;
}

dns_resolver::dns_resolver(ub_ctx* ctx) : ctx_(ctx) {}

dns_resolver::~dns_resolver() {
    threads_.join();
    ub_ctx_delete(ctx_);
}

result<ub_ctx*> new_unbound_context(std::string_view server) {
    ub_ctx* ctx = ub_ctx_create();
    if (!ctx) return errc::internal;
    auto fail = [&](const char* what, int err) -> result<ub_ctx*> {
        log::error("smtp.dns_setup_failed", {{"step", std::string(what)}, {"error", std::string(ub_strerror(err))}});
        ub_ctx_delete(ctx);
        return errc::invalid_argument;
    };
    // A local resolver (127.0.0.1, systemd-resolved, the test server) must be reachable:
    // unbound refuses to query localhost unless told otherwise.
    if (int e = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no")) return fail("do-not-query-localhost", e);
    // Threads, never a forked helper process: we are a multi-threaded daemon.
    if (int e = ub_ctx_async(ctx, 1)) return fail("async", e);
    if (server.empty()) {
        if (int e = ub_ctx_resolvconf(ctx, nullptr)) return fail("resolv.conf", e);
    } else {
        // unbound spells a port as "addr@port".
        std::string s(server), fwd;
        if (s.front() == '[') {
            const auto close = s.find(']');
            fwd = s.substr(1, close - 1);
            if (close + 1 < s.size()) fwd += "@" + s.substr(close + 2);
        } else if (std::count(s.begin(), s.end(), ':') == 1) {
            fwd = s.substr(0, s.find(':')) + "@" + s.substr(s.find(':') + 1);
        } else {
            fwd = s;
        }
        if (int e = ub_ctx_set_fwd(ctx, fwd.c_str())) return fail("forwarder", e);
    }
    return ctx;
}

result<std::unique_ptr<dns_resolver>> dns_resolver::create(std::string_view server) {
    auto ctx = new_unbound_context(server);
    if (!ctx) return ctx.error();
    return std::unique_ptr<dns_resolver>(new dns_resolver(*ctx));
}

awaitable<mx_answer> dns_resolver::lookup_mx(std::string domain) {
    co_return co_await asio::co_spawn(threads_.get_executor(), run_lookup(this, std::move(domain)), use_awaitable);
}

mx_answer dns_resolver::lookup_mx_blocking(const std::string& domain) {
    mx_answer a;
    query q(ctx_, domain, type_mx);
    if (q.failed() || q.res->bogus) {
        a.detail = "MX lookup for " + domain + " failed: " + q.why();
        return a;
    }
    if (q.res->nxdomain || q.res->rcode == rcode_nxdomain) {
        a.status = mx_status::no_domain;
        a.detail = "domain " + domain + " does not exist";
        return a;
    }
    if (q.res->rcode != 0) {
        a.detail = "MX lookup for " + domain + " failed: " + q.why();
        return a;
    }
    std::vector<mx_host> hosts;
    bool null_mx = false;
    if (q.res->havedata) {
        for (int i = 0; q.res->data[i]; ++i) {
            const auto len = static_cast<std::size_t>(q.res->len[i]);
            const std::span<const unsigned char> rdata(reinterpret_cast<const unsigned char*>(q.res->data[i]), len);
            if (len < 3) continue;
            auto name = decode_name(rdata, 2);
            if (!name) continue;   // a malformed target cannot be used; the others still can
            const unsigned pref = (rdata[0] << 8) | rdata[1];
            if (name->empty()) {   // RFC 7505: "0 ." - the domain accepts no mail
                null_mx = true;
                continue;
            }
            if (hosts.size() < max_hosts) hosts.push_back({std::move(*name), pref, {}});
        }
    }
    if (null_mx && hosts.empty()) {
        a.status = mx_status::null_mx;
        a.detail = "domain " + domain + " does not accept mail (null MX)";
        return a;
    }
    const bool implicit = hosts.empty();
    if (implicit) {
        // RFC 5321 5.1: no MX records - the domain itself is the host, preference 0.
        std::string self = domain;
        for (auto& c : self) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        hosts.push_back({std::move(self), 0, {}});
    } else {
        // Lowest preference first; shuffle within a preference to spread the load (5.1).
        static thread_local std::mt19937 rng{std::random_device{}()};
        std::shuffle(hosts.begin(), hosts.end(), rng);
        std::stable_sort(hosts.begin(), hosts.end(), [](const auto& x, const auto& y) { return x.preference < y.preference; });
    }
    bool temporary = false;
    std::string detail;
    for (auto& h : hosts) {
        if (addresses_of(ctx_, h.name, h.addresses, detail) == addr_outcome::temporary) temporary = true;
    }
    std::erase_if(hosts, [](const mx_host& h) { return h.addresses.empty(); });
    if (!hosts.empty()) {
        a.status = mx_status::ok;
        a.hosts = std::move(hosts);
        return a;
    }
    if (implicit && !temporary) {
        a.status = mx_status::no_domain;   // no MX and no address: nowhere to deliver
        a.detail = "domain " + domain + " has no MX and no address records";
        return a;
    }
    // MX hosts without addresses may be a passing problem (or a broken zone that gets
    // fixed); retry until the queue's maximum age.
    a.detail = detail.empty() ? "no address for the MX hosts of " + domain : detail;
    return a;
}

}  // namespace polder::smtpd
