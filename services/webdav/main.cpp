// main.cpp - polder-webdavd: WebDAV file sync. Declares the service and
// hands control to polder::service::run (habit: Postfix's single_server_main).
//
// SECURITY: listeners: webdav.https (TLS) and webdav.http (plain; meant for
// loopback use behind a TLS-terminating proxy or in development — credentials
// over it are refused unless the peer is loopback and
// auth.allow_plaintext_on_loopback is set).
// Background work: the periodic trash / version expiry and blob collection
// (src/expiry_task.hpp).
// STANDARDS: RFC 4918, RFC 6578, RFC 4331 (see src/service.hpp).
#include "expiry_task.hpp"
#include "service.hpp"

#include "polder/http/server.hpp"
#include "polder/service/service.hpp"

#include <memory>

int main(int argc, char** argv) {
    using namespace polder;
    // Objects the listeners use must outlive the runtime's sessions: held here.
    std::unique_ptr<auth::authenticator> authenticator;
    std::unique_ptr<webdav::service> files;
    std::unique_ptr<webdav::expiry_task> expiry;
    return service::run(argc, argv, {
        .name = "webdavd",
        .common = [](const config::settings& s) -> const config::service_common& { return s.webdav.common; },
        .start = [&](service::context& ctx) -> result<void> {
            const auto& w = ctx.settings.webdav;
            authenticator = std::make_unique<auth::authenticator>(ctx.pool, ctx.settings.auth);
            files = std::make_unique<webdav::service>(
                ctx.pool, ctx.blobs, *authenticator,
                webdav::options{.max_file_size = w.max_file_size,
                                .inline_max_bytes = w.inline_max_bytes,
                                .allow_plaintext_on_loopback = ctx.settings.auth.allow_plaintext_on_loopback,
                                .blob_root = ctx.settings.blob.path,
                                .keep = {.versions_keep = w.versions_keep,
                                         .versions_max_age_days = w.versions_max_age_days,
                                         .trash_days = w.trash_days}});
            http::server_options opts;
            opts.service = "webdav";
            opts.tls = ctx.tls;
            opts.idle_timeout = std::chrono::seconds(w.common.idle_timeout_seconds);
            auto server = std::make_shared<http::server>(files->routes(), opts);
            if (w.https.port != 0) {
                if (!ctx.tls) return errc::invalid_argument;   // webdav.https needs tls.cert_file
                if (auto r = ctx.server.listen({"https", w.https.address, w.https.port, net::tls_mode::implicit},
                                               server->handler());
                    !r)
                    return r;
            }
            if (w.http.port != 0) {
                if (auto r = ctx.server.listen({"http", w.http.address, w.http.port, net::tls_mode::none},
                                               server->handler());
                    !r)
                    return r;
            }
            // Trash / version expiry and blob collection (expiry_task.hpp).
            expiry = std::make_unique<webdav::expiry_task>(
                ctx.pool, ctx.blobs,
                webdav::expiry_settings{.interval = std::chrono::seconds(w.expire_interval_seconds),
                                        .grace = std::chrono::hours(w.gc_grace_hours),
                                        .keep = {.versions_keep = w.versions_keep,
                                                 .versions_max_age_days = w.versions_max_age_days,
                                                 .trash_days = w.trash_days}});
            expiry->start(ctx.runtime.io().get_executor());
            ctx.on_stop([e = expiry.get()] { e->stop(); });
            return {};
        },
        .health = {},
    });
}
