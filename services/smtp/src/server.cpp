// server.cpp - see server.hpp.
// SECURITY: see server.hpp. STANDARDS: RFC 5321, RFC 6409, RFC 8314.
#include "server.hpp"

#include "client_stream.hpp"
#include "queue.hpp"

#include "polder/log/log.hpp"

namespace polder::smtpd {

server::server() = default;
server::~server() = default;

result<void> server::start(service::context& ctx) {
    // Two hashing threads: enough for interactive submission, and Argon2id at 19 MiB each
    // must not be able to take every CPU from the I/O threads.
    authn_ = std::make_unique<auth::authenticator>(ctx.pool, ctx.settings.auth, 2);
    shared_ = std::make_unique<shared>(shared{ctx.settings, ctx.pool, ctx.blobs, *authn_, ctx.tls});
    deliveries_ = std::make_unique<db::group_commit>(ctx.pool, ctx.runtime.io().get_executor());
    shared_->deliveries = deliveries_.get();
    shared_->file_io = &ctx.file_io;
    const auto& s = ctx.settings.smtp;
    // Inbound SPF/DKIM/DMARC only where mail from other servers arrives (the MX listener).
    const auto mode = parse_inbound_auth_mode(s.inbound_auth);
    if (mode != inbound_auth_mode::off && s.mx.port != 0) {
        auto c = inbound_checker::create(s);
        if (!c) return c.error();
        checker_ = std::move(*c);
        shared_->checker = checker_.get();
        shared_->auth_mode = mode;
    }
    const std::string host = s.hostname;

    struct entry {
        const char* name;
        const config::listener* cfg;
        listener_kind kind;
        net::tls_mode tls;
    };
    const entry entries[] = {
        {"mx", &s.mx, listener_kind::mx, ctx.tls ? net::tls_mode::starttls : net::tls_mode::none},
        {"submission", &s.submission, listener_kind::submission,
         ctx.tls ? net::tls_mode::starttls : net::tls_mode::none},
        {"submissions", &s.submissions, listener_kind::submissions, net::tls_mode::implicit},
    };
    for (const auto& e : entries) {
        if (e.cfg->port == 0) continue;
        if (e.kind == listener_kind::submissions && !ctx.tls) {
            log::warn("smtp.listener_skipped", {{"listener", e.name}, {"reason", "no TLS certificate configured"}});
            continue;
        }
        net::listener_config lc{
            .name = e.name,
            .address = e.cfg->address,
            .port = e.cfg->port,
            .tls = e.tls,
            .on_refused = [host](const net::connection_info&, std::string_view reason) {
                // RFC 5321 3.8: 421 and close when the service cannot take the connection.
                return "421 4.7.0 " + host + " Too many connections, try again later\r\n";
            },
        };
        const shared* sh = shared_.get();
        const listener_kind kind = e.kind;
        auto r = ctx.server.listen(lc, [sh, kind](asio::ip::tcp::socket sock, net::connection_info info) {
            return run_session(*sh, kind, std::move(sock), std::move(info));
        });
        if (!r) return r.error();
    }
    // Verified outbound TLS: the CA certificates are read now, while we may still be root.
    if ((s.smarthost_tls_verify && !s.smarthost.empty()) || s.mx_tls_verify) {
        if (auto why = prepare_verification(s.tls_ca_file); !why.empty()) {
            log::error("smtp.tls_ca_failed", {{"file", s.tls_ca_file}, {"error", why}});
            return errc::invalid_argument;
        }
    }
    // Outbound delivery workers: two per process; every process may run them (SKIP LOCKED).
    queue_ = std::make_unique<queue_runner>(*shared_, ctx.runtime.io().get_executor());
    queue_->start(2);
    ctx.on_stop([q = queue_.get()] { q->stop(); });
    housekeeping_ = std::make_unique<mailstore::housekeeper>(
        ctx.pool, ctx.runtime.io().get_executor(), mailstore::housekeeper::options{.foreground = shared_->activity});
    housekeeping_->start();
    ctx.on_stop([h = housekeeping_.get()] { h->stop(); });
    return {};
}

}  // namespace polder::smtpd
