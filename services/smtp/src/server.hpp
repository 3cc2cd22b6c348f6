// server.hpp - polder-smtpd's service: the three listeners and what every session shares.
//
//   mx           (25; dev 2525)  inbound mail for our domains; no AUTH; STARTTLS offered when
//                                a certificate is configured; relaying refused (554 5.7.1).
//   submission   (587; dev 2587) RFC 6409: STARTTLS, then AUTH, then MAIL.
//   submissions  (465; dev 2465) RFC 8314: the same over implicit TLS.
// A listener whose port is 0 is not opened.
//
// SECURITY: AUTH is offered only over TLS, or in plaintext only when
// auth.allow_plaintext_on_loopback is set AND the peer is loopback (development). Logins go
// through auth::authenticator (Argon2id off the I/O threads, failed-login throttling).
// STANDARDS: RFC 5321, RFC 6409, RFC 8314, RFC 3207, RFC 4954.
#pragma once

#include "inbound_auth.hpp"

#include "polder/auth/login.hpp"
#include "polder/core/error.hpp"
#include "polder/db/group_commit.hpp"
#include "polder/mailstore/mailstore.hpp"
#include "polder/service/service.hpp"

#include <memory>

namespace polder::smtpd {

enum class listener_kind { mx, submission, submissions };

// shared - what every session uses; lives as long as the service.
struct shared {
    const config::settings& cfg;
    db::pool& pool;
    blob::store& blobs;
    auth::authenticator& authn;
    std::shared_ptr<net::tls_context> tls;
    inbound_checker* checker = nullptr;   // MX listener's SPF/DKIM/DMARC; null when smtp.inbound_auth = off
    inbound_auth_mode auth_mode = inbound_auth_mode::off;
    // Local deliveries of concurrent sessions commit together (db/group_commit.hpp): a
    // mailbox's UID and its account's quota row are locked once per batch, not per message.
    db::group_commit* deliveries = nullptr;
    asio::thread_pool* file_io = nullptr;   // blob commits and parsing (service::on_file_io)
    // When a session's command last began: the housekeeper's rounds wait for a quiet moment.
    std::shared_ptr<mailstore::activity> activity = std::make_shared<mailstore::activity>();
};

class queue_runner;

class server {
public:
    server();
    ~server();

    // start - creates the authenticator and binds the configured listeners.
    // Errors: those of net::server::listen.
    result<void> start(service::context& ctx);

private:
    std::unique_ptr<auth::authenticator> authn_;
    std::unique_ptr<inbound_checker> checker_;
    std::unique_ptr<shared> shared_;
    std::unique_ptr<db::group_commit> deliveries_;
    std::unique_ptr<queue_runner> queue_;
    std::unique_ptr<mailstore::housekeeper> housekeeping_;   // unreferenced messages, full-text vectors
};

// run_session - one SMTP connection from greeting to close (session.cpp).
awaitable<void> run_session(const shared& sh, listener_kind kind, asio::ip::tcp::socket socket,
                            net::connection_info info);

}  // namespace polder::smtpd
