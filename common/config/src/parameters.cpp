// parameters.cpp - the one table of configuration parameters, and value formatting.
//
// What it does: declares every key with its kind, bounds, doc line and accessor. The
// defaults are not repeated here: they are read from a default-constructed settings.
// Bounds that come from a standard cite it beside the entry.
//
// SECURITY: database.password is marked secret; value_text() hides secrets unless the
// caller explicitly asks (only the round-trip test does).
//
// STANDARDS: RFC 5321 (SMTP limits), RFC 1870 (SIZE), RFC 9051 (IMAP autologout),
// RFC 7162 (IMAP line length), RFC 9106 / libargon2 (Argon2 parameter ranges),
// TOML v1.0.0 (string escaping in value_text).
#include "polder/config/parameters.hpp"

#include "detail.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace polder::config {
namespace {

// at - accessor for a member reached through a chain of pointers to members; its address
// is a plain function pointer, so the table needs neither macros nor std::function.
template <auto... Members>
auto& at(settings& s) {
    return (s .* ... .* Members);
}

constexpr std::array<std::string_view, 4> level_choices{"debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 2> format_choices{"text", "json"};
constexpr std::array<std::string_view, 3> inbound_auth_choices{"off", "mark", "enforce"};
constexpr std::array<std::string_view, 2> security_choices{"tls", "starttls"};

constexpr std::uint64_t u16_max = 65535;
constexpr std::uint64_t path_max = 4096;   // PATH_MAX on Linux

struct builder {
    std::vector<parameter> v;

    void add(std::string key, kind type, std::uint64_t min, std::uint64_t max, accessor ref,
             std::string doc, std::span<const std::string_view> choices = {},
             bool secret = false) {
        parameter p;
        p.key = std::move(key);
        p.type = type;
        p.min = min;
        p.max = max;
        p.choices = choices;
        p.doc = std::move(doc);
        p.ref = ref;
        p.secret = secret;
        v.push_back(std::move(p));
    }

    template <auto Service, auto Common>
    void service_common(const std::string& svc) {
        using sc = polder::config::service_common;
        add(svc + ".threads", kind::integer, 1, 256, &at<Service, Common, &sc::threads>,
            "I/O threads of this service");
        add(svc + ".admin_port", kind::integer, 0, u16_max, &at<Service, Common, &sc::admin_port>,
            "admin listener (/healthz, /metrics); 0 = disabled");
        add(svc + ".admin_address", kind::address, 0, 0, &at<Service, Common, &sc::admin_address>,
            "address of the admin listener; keep it on loopback");
        add(svc + ".max_connections", kind::integer, 1, 1'000'000,
            &at<Service, Common, &sc::max_connections>, "connections accepted at once, in total");
        add(svc + ".max_connections_per_ip", kind::integer, 1, 1'000'000,
            &at<Service, Common, &sc::max_connections_per_ip>,
            "connections accepted at once from one client address");
        add(svc + ".idle_timeout_seconds", kind::integer, 1, 86400,
            &at<Service, Common, &sc::idle_timeout_seconds>,
            "a connection silent this long is closed");
        add(svc + ".shutdown_grace_seconds", kind::integer, 0, 3600,
            &at<Service, Common, &sc::shutdown_grace_seconds>,
            "on SIGTERM, sessions get this long to finish");
        add(svc + ".proxy_protocol_from", kind::string, 0, 4096, &at<Service, Common, &sc::proxy_protocol_from>,
            "load balancers (addresses or CIDR prefixes, comma-separated) whose connections must begin "
            "with a PROXY protocol header (v1 or v2) naming the client; empty = none");
    }

    template <auto Service, auto Listener>
    void listener(const std::string& svc, const std::string& name, const std::string& what) {
        add(svc + "." + name + ".address", kind::address, 0, 0,
            &at<Service, Listener, &config::listener::address>, what + ": address to bind");
        add(svc + "." + name + ".port", kind::integer, 0, u16_max,
            &at<Service, Listener, &config::listener::port>, what + ": port; 0 = disabled");
    }
};

std::vector<parameter> build_table() {
    builder b;
    using S = settings;

    // [database]
    using D = database_settings;
    b.add("database.host", kind::string, 1, 255, &at<&S::database, &D::host>,
          "PostgreSQL host name, IP address or Unix-socket folder");
    b.add("database.port", kind::integer, 1, u16_max, &at<&S::database, &D::port>,
          "PostgreSQL port");
    // PostgreSQL identifiers are at most NAMEDATALEN-1 = 63 bytes.
    b.add("database.name", kind::string, 1, 63, &at<&S::database, &D::name>, "database name");
    b.add("database.user", kind::string, 1, 63, &at<&S::database, &D::user>, "database role");
    b.add("database.password", kind::string, 0, 1024, &at<&S::database, &D::password>,
          "database password; empty = trust/peer/certificate authentication", {}, true);
    b.add("database.pool_size", kind::integer, 1, 1000, &at<&S::database, &D::pool_size>,
          "connections (and database threads) per process");
    b.add("database.connect_timeout_seconds", kind::integer, 1, 600,
          &at<&S::database, &D::connect_timeout_seconds>, "give up connecting after this long");

    // [tls]
    using T = tls_settings;
    b.add("tls.cert_file", kind::path, 0, path_max, &at<&S::tls, &T::cert_file>,
          "PEM certificate chain, leaf first; empty = no TLS listeners");
    b.add("tls.key_file", kind::path, 0, path_max, &at<&S::tls, &T::key_file>,
          "PEM private key of cert_file");

    // [log]
    using L = log_settings;
    b.add("log.level", kind::choice, 0, 0, &at<&S::log, &L::level>, "lowest level written",
          level_choices);
    b.add("log.format", kind::choice, 0, 0, &at<&S::log, &L::format>,
          "text = logfmt lines, json = one JSON object per line", format_choices);

    // [blob]
    b.add("blob.path", kind::path, 1, path_max, &at<&S::blob, &blob_settings::path>,
          "folder of the content-addressed blob store");

    // [audit]
    using AU = audit_settings;
    b.add("audit.retention_days", kind::integer, 0, 36500, &at<&S::audit, &AU::retention_days>,
          "days audit events are kept (0 = for ever)");
    b.add("audit.expire_interval_seconds", kind::integer, 1, 7 * 86400, &at<&S::audit, &AU::expire_interval_seconds>,
          "how often (with +-10% jitter) each service deletes audit events older than retention_days");

    // [auth]
    using A = auth_settings;
    // NIST SP 800-63B section 5.1.1.2: at least 8 characters.
    b.add("auth.min_password_length", kind::integer, 8, 1024, &at<&S::auth, &A::min_password_length>,
          "shortest account password accepted");
    // libargon2: memory >= 8 KiB per lane (checked against parallelism in validation).
    b.add("auth.argon2_memory_kib", kind::integer, 8, 4 * 1024 * 1024,
          &at<&S::auth, &A::argon2_memory_kib>, "Argon2id memory cost in KiB");
    b.add("auth.argon2_iterations", kind::integer, 1, 100, &at<&S::auth, &A::argon2_iterations>,
          "Argon2id time cost");
    b.add("auth.argon2_parallelism", kind::integer, 1, 64, &at<&S::auth, &A::argon2_parallelism>,
          "Argon2id lanes");
    b.add("auth.max_failures_per_account", kind::integer, 1, 1'000'000,
          &at<&S::auth, &A::max_failures_per_account>,
          "failed logins per account within the window before it is throttled");
    b.add("auth.max_failures_per_ip", kind::integer, 1, 1'000'000,
          &at<&S::auth, &A::max_failures_per_ip>,
          "failed logins per client address within the window before it is throttled");
    b.add("auth.failure_window_seconds", kind::integer, 1, 30 * 86400,
          &at<&S::auth, &A::failure_window_seconds>, "window in which failures are counted");
    b.add("auth.lockout_seconds", kind::integer, 1, 30 * 86400, &at<&S::auth, &A::lockout_seconds>,
          "how long a throttled account or address stays throttled");
    b.add("auth.allow_plaintext_on_loopback", kind::boolean, 0, 0,
          &at<&S::auth, &A::allow_plaintext_on_loopback>,
          "accept passwords without TLS from 127.0.0.1/::1 (development only)");

    // [smtp]
    using SM = smtp_settings;
    b.service_common<&S::smtp, &SM::common>("smtp");
    b.add("smtp.hostname", kind::string, 1, 253, &at<&S::smtp, &SM::hostname>,
          "name in the greeting and Received: fields (a domain name)");
    // RFC 5321 section 4.5.3.1.7: a server must accept messages of at least 64K octets.
    b.add("smtp.max_message_size", kind::size, 64 * KiB, 4 * GiB, &at<&S::smtp, &SM::max_message_size>,
          "largest message accepted, advertised with SIZE (RFC 1870)");
    // RFC 5321 section 4.5.3.1.8: at least 100 recipients must be accepted.
    b.add("smtp.max_recipients", kind::integer, 100, 100'000, &at<&S::smtp, &SM::max_recipients>,
          "RCPT TO commands accepted per message");
    // RFC 5321 section 4.5.3.1.6: text lines of 1000 octets including CRLF must be accepted.
    b.add("smtp.max_line_length", kind::integer, 1000, 1024 * 1024,
          &at<&S::smtp, &SM::max_line_length>, "longest command or text line, CRLF included");
    b.add("smtp.max_messages_per_hour", kind::integer, 0, 1'000'000, &at<&S::smtp, &SM::max_messages_per_hour>,
          "messages one authenticated account may submit per hour; 0 = no limit");
    b.add("smtp.routes", kind::string, 0, 4096, &at<&S::smtp, &SM::routes>,
          "outbound routes: \"domain=host:port\" entries separated by commas");
    b.add("smtp.smarthost", kind::string, 0, 300, &at<&S::smtp, &SM::smarthost>,
          "host:port that relays all other outbound mail; empty = none");
    b.add("smtp.smarthost_user", kind::string, 0, 255, &at<&S::smtp, &SM::smarthost_user>,
          "AUTH user at the smarthost (sent only over STARTTLS); empty = no AUTH");
    b.add("smtp.smarthost_password", kind::string, 0, 255, &at<&S::smtp, &SM::smarthost_password>,
          "AUTH password at the smarthost", {}, true);
    b.add("smtp.queue_retry_seconds", kind::integer, 1, 86'400, &at<&S::smtp, &SM::queue_retry_seconds>,
          "first retry delay of a deferred outbound message; doubles per attempt (at most 4 hours)");
    // RFC 5321 section 4.5.4.1: give up after at least 4-5 days.
    b.add("smtp.queue_max_age_seconds", kind::integer, 60, 30 * 86'400, &at<&S::smtp, &SM::queue_max_age_seconds>,
          "how long an outbound message is retried before it bounces");
    b.add("smtp.dns_resolver", kind::string, 0, 100, &at<&S::smtp, &SM::dns_resolver>,
          "DNS server for MX lookups (\"ip\", \"ip:port\" or \"[ipv6]:port\"); empty = /etc/resolv.conf");
    b.add("smtp.remote_mx_port", kind::integer, 1, 65535, &at<&S::smtp, &SM::remote_mx_port>,
          "TCP port of MX hosts; 25 in production, other values only for tests");
    b.add("smtp.dsn_delay_seconds", kind::integer, 1, 30 * 86'400, &at<&S::smtp, &SM::dsn_delay_seconds>,
          "queue time after which NOTIFY=DELAY recipients get one \"delayed\" notice (RFC 3461)");
    b.add("smtp.inbound_auth", kind::choice, 0, 0, &at<&S::smtp, &SM::inbound_auth>,
          "SPF/DKIM/DMARC checks on the MX listener: off, mark (Authentication-Results only) or enforce",
          inbound_auth_choices);
    b.add("smtp.inbound_auth_timeout_seconds", kind::integer, 1, 300, &at<&S::smtp, &SM::inbound_auth_timeout_seconds>,
          "time for all DNS lookups of one message's checks; then temperror");
    b.add("smtp.smarthost_tls_verify", kind::boolean, 0, 0, &at<&S::smtp, &SM::smarthost_tls_verify>,
          "verify the smarthost's certificate chain and name");
    b.add("smtp.mx_tls_verify", kind::boolean, 0, 0, &at<&S::smtp, &SM::mx_tls_verify>,
          "verify MX hosts' certificates (default: opportunistic TLS, RFC 7435)");
    b.add("smtp.tls_ca_file", kind::path, 0, path_max, &at<&S::smtp, &SM::tls_ca_file>,
          "CA certificates (PEM) for verifying the smarthost and MX hosts; empty = system store");
    b.listener<&S::smtp, &SM::mx>("smtp", "mx", "inbound mail (MX), STARTTLS offered");
    b.listener<&S::smtp, &SM::submission>("smtp", "submission",
                                          "message submission (RFC 6409), STARTTLS required for AUTH");
    b.listener<&S::smtp, &SM::submissions>("smtp", "submissions",
                                           "message submission over implicit TLS (RFC 8314)");

    // [imap]
    using I = imap_settings;
    b.service_common<&S::imap, &I::common>("imap");
    // RFC 7162 section 4: servers should accept command lines of at least 8192 octets.
    b.add("imap.max_line_length", kind::integer, 8192, 16 * 1024 * 1024,
          &at<&S::imap, &I::max_line_length>, "longest command line, literals excluded");
    b.add("imap.max_literal_size", kind::size, 1 * KiB, 4 * GiB, &at<&S::imap, &I::max_literal_size>,
          "largest literal (and APPEND, RFC 7889 APPENDLIMIT)");
    // RFC 9051 section 5.4: the autologout timer after login MUST be at least 30 minutes.
    b.add("imap.idle_timeout_authenticated_seconds", kind::integer, 1800, 86400,
          &at<&S::imap, &I::idle_timeout_authenticated_seconds>,
          "inactivity timeout after login, also during IDLE");
    b.add("imap.max_sessions_per_account", kind::integer, 1, 100000, &at<&S::imap, &I::max_sessions_per_account>,
          "logged-in sessions of one account per process");
    b.add("imap.expunged_days", kind::integer, 1, 36500, &at<&S::imap, &I::expunged_days>,
          "days expunged UIDs are remembered for QRESYNC resyncs (RFC 7162); after that a client "
          "from before is told every UID not in the mailbox");
    b.add("imap.recoverable_days", kind::integer, 0, 36500, &at<&S::imap, &I::recoverable_days>,
          "days expunged mail and the mail of deleted mailboxes can be restored with polderctl "
          "(0 = not kept)");
    b.listener<&S::imap, &I::imap>("imap", "imap", "IMAP, STARTTLS offered");
    b.listener<&S::imap, &I::imaps>("imap", "imaps", "IMAP over implicit TLS (RFC 8314)");

    // [caldav]
    using C = caldav_settings;
    b.service_common<&S::caldav, &C::common>("caldav");
    b.add("caldav.max_request_body", kind::size, 1 * KiB, 1 * GiB,
          &at<&S::caldav, &C::max_request_body>, "largest request body (one event, contact or report)");
    b.listener<&S::caldav, &C::https>("caldav", "https", "CalDAV/CardDAV over HTTPS");
    b.listener<&S::caldav, &C::http>("caldav", "http", "CalDAV/CardDAV over plain HTTP (loopback only)");

    // [webdav]
    using W = webdav_settings;
    b.service_common<&S::webdav, &W::common>("webdav");
    b.add("webdav.max_file_size", kind::size, 1 * KiB, 16 * TiB, &at<&S::webdav, &W::max_file_size>,
          "largest file accepted by PUT");
    b.add("webdav.inline_max_bytes", kind::size, 0, 1 * MiB, &at<&S::webdav, &W::inline_max_bytes>,
          "files up to this size keep their bytes in PostgreSQL (0 = every file in the blob store)");
    b.add("webdav.versions_keep", kind::integer, 0, 1000, &at<&S::webdav, &W::versions_keep>,
          "previous versions kept per overwritten file (0 = none)");
    b.add("webdav.versions_max_age_days", kind::integer, 1, 36500, &at<&S::webdav, &W::versions_max_age_days>,
          "days a previous version is kept");
    b.add("webdav.trash_days", kind::integer, 0, 36500, &at<&S::webdav, &W::trash_days>,
          "days deleted files stay in the trash (0 = delete at once)");
    b.add("webdav.expire_interval_seconds", kind::integer, 1, 7 * 86400, &at<&S::webdav, &W::expire_interval_seconds>,
          "how often (with +-10% jitter) a webdavd expires trash and versions and collects unused blobs");
    // A writer commits its blob before the row that references it: the grace
    // period must exceed the longest upload-to-commit time by far.
    b.add("webdav.gc_grace_hours", kind::integer, 1, 24 * 365, &at<&S::webdav, &W::gc_grace_hours>,
          "blobs written or reused within this many hours are never collected");
    b.listener<&S::webdav, &W::https>("webdav", "https", "WebDAV over HTTPS");
    b.listener<&S::webdav, &W::http>("webdav", "http", "WebDAV over plain HTTP (loopback only)");

    // [clients]
    using K = client_settings;
    b.add("clients.provider_name", kind::string, 0, 200, &at<&S::clients, &K::provider_name>,
          "name mail clients show for the account's provider; empty: the mail domain");
    b.add("clients.imap_host", kind::string, 0, 253, &at<&S::clients, &K::imap_host>,
          "public host name of IMAP for client autoconfiguration; empty: autoconfiguration off");
    b.add("clients.imap_port", kind::integer, 1, u16_max, &at<&S::clients, &K::imap_port>,
          "public IMAP port (993: implicit TLS, RFC 8314)");
    b.add("clients.imap_security", kind::choice, 0, 0, &at<&S::clients, &K::imap_security>,
          "tls (implicit TLS) or starttls on clients.imap_port", security_choices);
    b.add("clients.submission_host", kind::string, 0, 253, &at<&S::clients, &K::submission_host>,
          "public host name of mail submission; empty: clients.imap_host");
    b.add("clients.submission_port", kind::integer, 1, u16_max, &at<&S::clients, &K::submission_port>,
          "public submission port (465: implicit TLS, RFC 8314)");
    b.add("clients.submission_security", kind::choice, 0, 0, &at<&S::clients, &K::submission_security>,
          "tls (implicit TLS) or starttls on clients.submission_port", security_choices);
    b.add("clients.dav_host", kind::string, 0, 253, &at<&S::clients, &K::dav_host>,
          "public host name of CalDAV/CardDAV (HTTPS); empty: clients.imap_host");
    b.add("clients.dav_port", kind::integer, 1, u16_max, &at<&S::clients, &K::dav_port>,
          "public HTTPS port of CalDAV/CardDAV");

    return std::move(b.v);
}

}  // namespace

std::string parameter::env_name() const {
    std::string out = "POLDER_";
    for (char c : key) {
        out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

std::span<const parameter> parameters() {
    static const std::vector<parameter> table = build_table();
    return table;
}

const parameter* find_parameter(std::string_view key) {
    for (const auto& p : parameters()) {
        if (p.key == key) return &p;
    }
    return nullptr;
}

std::string value_text(const parameter& p, const settings& s, bool reveal_secrets) {
    if (p.secret && !reveal_secrets) return "\"<redacted>\"";
    // The accessors take a non-const settings so one table serves reading and writing;
    // this function only reads through them.
    auto& m = const_cast<settings&>(s);
    return std::visit(
        [&](auto ref) -> std::string {
            const auto& v = ref(m);
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string>) {
                return detail::toml_string(v);
            } else if constexpr (std::is_same_v<V, bool>) {
                return v ? "true" : "false";
            } else {
                if (p.type == kind::size) {
                    std::string h = format_size(v);
                    // Exact multiples read better as "50M"; odd values stay plain integers.
                    return h.back() >= '0' && h.back() <= '9' ? h : detail::toml_string(h);
                }
                return std::to_string(v);
            }
        },
        p.ref);
}

std::string default_text(const parameter& p) {
    static const settings defaults{};
    return value_text(p, defaults, false);
}

}  // namespace polder::config
