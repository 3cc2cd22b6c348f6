// main.cpp - polder-smtpd: the SMTP relay's process. Declares the service and hands
// control to the shared skeleton (config, logs, TLS, pool, admin port, privilege drop).
// SECURITY: see src/server.hpp (listener policies) and src/session.cpp.
// STANDARDS: RFC 5321, RFC 6409 (submission), RFC 8314 (implicit TLS) - see src/.
#include "server.hpp"

#include "polder/service/service.hpp"

int main(int argc, char** argv) {
    polder::smtpd::server smtp;
    return polder::service::run(argc, argv, {
        .name = "smtpd",
        .common = [](const polder::config::settings& s) -> const polder::config::service_common& {
            return s.smtp.common;
        },
        .start = [&smtp](polder::service::context& ctx) { return smtp.start(ctx); },
        .health = {},
    });
}
