// imapd.cpp - process-wide state of polder-imapd and its listeners (see imapd.hpp).
//
// SECURITY: the imaps listener is implicit TLS and is only bound when a certificate is
// configured; the imap listener offers STARTTLS. A connection refused by a limit gets one
// "* BYE" line on the plaintext listener. STANDARDS: RFC 8314 (implicit TLS), RFC 9051
// section 7.1.5 (BYE).
#include "imapd.hpp"

#include "session.hpp"

#include "polder/db/config.hpp"
#include "polder/log/log.hpp"

namespace polder::imap {

imapd::imapd(service::context& ctx)
    : settings(ctx.settings),
      store(ctx.pool, ctx.blobs),
      writes(ctx.pool, ctx.runtime.io().get_executor(),
             db::group_commit::options{.max_batch = 64, .max_in_flight = 1, .max_attempts = 5},
             mailstore::run_grouped_writes,
             {[](std::span<mailstore::grouped_write* const> w, std::vector<std::size_t>& left) {
                  return mailstore::grouped_writes_statement(w, left);
              },
              [](const db::async_result& rows, std::span<mailstore::grouped_write* const> w, std::vector<std::size_t>&) {
                  mailstore::grouped_writes_applied(rows, w);
              }}),
      authenticator(ctx.pool, ctx.settings.auth, 2),
      notifier(ctx.runtime.io().get_executor(), db::from_config(ctx.settings.database, "polder-imapd-listen")),
      tls(ctx.tls) {
    store.use_group_commit(&writes);
    store.use_header_cache(&header_cache);
    notifier.start();
}

imapd::~imapd() {
    notifier.stop();
    blob_io.join();
}

bool imapd::acquire_session(std::int64_t account) {
    std::lock_guard lock(mutex_);
    auto& n = sessions_[account];
    if (n >= settings.imap.max_sessions_per_account) return false;
    ++n;
    return true;
}

void imapd::release_session(std::int64_t account) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(account);
    if (it == sessions_.end()) return;
    if (--it->second == 0) sessions_.erase(it);
}

namespace {

// serve_connection - one accepted connection; parameters by value keep everything alive
// for the whole session.
awaitable<void> serve_connection(std::shared_ptr<imapd> d, asio::ip::tcp::socket sock, net::connection_info info) {
    auto stream = net::make_tcp_stream(std::move(sock), d->tls, info);
    auto s = std::make_shared<session>(*d, std::move(stream), std::move(info));
    co_await s->run();
}

}  // namespace

result<void> start(service::context& ctx) {
    auto d = std::make_shared<imapd>(ctx);
    // In the background: expunged messages leave the database (schema 0112), APPENDed ones
    // get their full-text vectors (schema 0105), expunge records older than
    // imap.expunged_days go (schema 0114), and so does deleted mail kept for recovery
    // longer than imap.recoverable_days (schema 0115).
    // Its rounds wait for a moment without commands (mailstore::activity).
    auto housekeeping = std::make_shared<mailstore::housekeeper>(
        ctx.pool, ctx.runtime.io().get_executor(),
        mailstore::housekeeper::options{
            .foreground = d->activity,
            .expunged_retention = std::chrono::hours(24) * ctx.settings.imap.expunged_days,
            .recoverable_retention = std::chrono::hours(24) * ctx.settings.imap.recoverable_days});
    housekeeping->start();
    ctx.on_stop([d, housekeeping] {
        d->notifier.stop();
        housekeeping->stop();
    });
    auto handler = [d](asio::ip::tcp::socket sock, net::connection_info info) {
        return serve_connection(d, std::move(sock), std::move(info));
    };
    auto refusal = [](const net::connection_info&, std::string_view) {
        return std::string("* BYE Too many connections, try again later\r\n");
    };
    const auto& cfg = ctx.settings.imap;
    if (cfg.imap.port != 0) {
        auto r = ctx.server.listen({.name = "imap",
                                    .address = cfg.imap.address,
                                    .port = cfg.imap.port,
                                    .tls = ctx.tls ? net::tls_mode::starttls : net::tls_mode::none,
                                    .on_refused = refusal},
                                   handler);
        if (!r) return r.error();
    }
    if (cfg.imaps.port != 0) {
        if (!ctx.tls) {
            log::warn("imap.imaps_disabled", {{"reason", "no TLS certificate configured (tls.cert_file)"}});
        } else {
            auto r = ctx.server.listen(
                {.name = "imaps", .address = cfg.imaps.address, .port = cfg.imaps.port, .tls = net::tls_mode::implicit},
                handler);
            if (!r) return r.error();
        }
    }
    return {};
}

}  // namespace polder::imap
