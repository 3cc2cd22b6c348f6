// main.cpp - polder-caldavd: calendars and contacts (CalDAV + CardDAV). Declares the
// service and hands control to polder::service::run (habit: Postfix's single_server_main).
//
// SECURITY: listeners: caldav.https (TLS) and caldav.http (plain; meant for loopback use
// behind a TLS-terminating proxy or in development — credentials over it are refused
// unless the peer is loopback and auth.allow_plaintext_on_loopback is set).
// Background work: iMIP received by mail (src/itip_inbound.hpp). Client autoconfiguration
// from clients.* (src/autoconfig.hpp).
// STANDARDS: RFC 4791, RFC 6352, RFC 6578, RFC 6764 (see src/service.hpp).
#include "itip_inbound.hpp"
#include "service.hpp"

#include "polder/db/config.hpp"
#include "polder/http/server.hpp"
#include "polder/service/service.hpp"

#include <memory>

namespace {

// client_endpoints - clients.* with its defaults applied; nullopt (autoconfiguration off)
// without clients.imap_host.
std::optional<polder::caldav::autoconfig::endpoints> client_endpoints(const polder::config::client_settings& c) {
    using polder::caldav::autoconfig::security;
    if (c.imap_host.empty()) return std::nullopt;
    const auto sec = [](const std::string& s) { return s == "starttls" ? security::starttls : security::tls; };
    return polder::caldav::autoconfig::endpoints{
        .provider = c.provider_name,
        .imap = {c.imap_host, c.imap_port, sec(c.imap_security)},
        .submission = {c.submission_host.empty() ? c.imap_host : c.submission_host, c.submission_port,
                       sec(c.submission_security)},
        .dav_host = c.dav_host.empty() ? c.imap_host : c.dav_host,
        .dav_port = c.dav_port};
}

}  // namespace

int main(int argc, char** argv) {
    using namespace polder;
    // Objects the listeners use must outlive the runtime's sessions: held here.
    std::unique_ptr<auth::authenticator> authenticator;
    std::unique_ptr<caldav::service> dav;
    std::unique_ptr<caldav::itip_inbound_task> inbound;
    return service::run(argc, argv, {
        .name = "caldavd",
        .common = [](const config::settings& s) -> const config::service_common& { return s.caldav.common; },
        .start = [&](service::context& ctx) -> result<void> {
            const auto& c = ctx.settings.caldav;
            authenticator = std::make_unique<auth::authenticator>(ctx.pool, ctx.settings.auth);
            const caldav::options dav_options{.max_resource_size = c.max_request_body,
                                              .allow_plaintext_on_loopback = ctx.settings.auth.allow_plaintext_on_loopback,
                                              .clients = client_endpoints(ctx.settings.clients),
                                              .profile_signer = ctx.tls,
                                              .blobs = &ctx.blobs};
            dav = std::make_unique<caldav::service>(ctx.pool, *authenticator, dav_options);
            http::server_options opts;
            opts.service = "caldav";
            opts.tls = ctx.tls;
            opts.idle_timeout = std::chrono::seconds(c.common.idle_timeout_seconds);
            auto server = std::make_shared<http::server>(dav->routes(), opts);
            if (c.https.port != 0) {
                if (!ctx.tls) return errc::invalid_argument;   // caldav.https needs tls.cert_file
                if (auto r = ctx.server.listen({"https", c.https.address, c.https.port, net::tls_mode::implicit},
                                               server->handler());
                    !r)
                    return r;
            }
            if (c.http.port != 0) {
                if (auto r = ctx.server.listen({"http", c.http.address, c.http.port, net::tls_mode::none},
                                               server->handler());
                    !r)
                    return r;
            }
            // iTIP messages polder-smtpd received by mail for our users (itip_inbound.hpp).
            inbound = std::make_unique<caldav::itip_inbound_task>(
                ctx.pool, db::from_config(ctx.settings.database, "polder-caldavd-listen"), dav_options);
            inbound->start(ctx.runtime.io().get_executor());
            ctx.on_stop([t = inbound.get()] { t->stop(); });
            return {};
        },
        .health = {},
    });
}
