// main.cpp - polder-imapd: IMAP4rev1/IMAP4rev2 over STARTTLS and implicit TLS.
// Everything else is the shared service skeleton (common/service) and src/.
//
// SECURITY: see services/imap/src/session.hpp. STANDARDS: RFC 9051, RFC 3501, RFC 8314.
#include "imapd.hpp"

int main(int argc, char** argv) {
    return polder::service::run(argc, argv,
                                {.name = "imapd",
                                 .common = [](const polder::config::settings& s) -> const polder::config::service_common& {
                                     return s.imap.common;
                                 },
                                 .start = polder::imap::start,
                                 .health = {}});
}
