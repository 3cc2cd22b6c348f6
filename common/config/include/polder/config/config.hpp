// polder/config/config.hpp - Polder's settings: one TOML file plus environment overrides.
//
// What it does: declares the settings structs every service and polderctl read, and
// load()/load_string() which parse the TOML file, apply POLDER_<SECTION>_<KEY>
// environment overrides, resolve relative paths against the config file's folder and
// validate every value. The defaults below are the single source of truth: the parameter
// table (polder/config/parameters.hpp) reads them from a default-constructed settings
// object, and config/polder.example.toml is tested to document each of them.
//
// SECURITY: the config file is trusted operator input but still validated strictly:
// unknown keys, wrong types and out-of-range values are errors (a typo must not silently
// fall back to a default), and all problems are reported at once. database.password is
// secret: redacted() hides it so settings can be logged.
//
// STANDARDS: TOML v1.0.0 (via toml++). Defaults cite the RFCs they come from
// (RFC 5321 for SMTP limits and timeouts, RFC 9051 for the IMAP autologout timer).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace polder::config {

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;
inline constexpr std::uint64_t TiB = 1024 * GiB;

struct database_settings {
    std::string host = "127.0.0.1";   // host name, IP address or Unix-socket directory (libpq)
    std::uint16_t port = 5432;
    std::string name = "polder";
    std::string user = "polder";
    std::string password;             // secret; empty = trust/peer authentication
    unsigned pool_size = 8;
    unsigned connect_timeout_seconds = 5;
};

// Relative paths resolve against the config file's folder.
struct tls_settings {
    std::string cert_file;   // PEM certificate chain, leaf first
    std::string key_file;    // PEM private key
};

struct log_settings {
    std::string level = "info";    // debug | info | warn | error
    std::string format = "text";   // text (logfmt) | json
};

// audit_settings - how long the audit trail (audit.events) is kept. Every service
// deletes events older than retention_days about every expire_interval_seconds.
struct audit_settings {
    unsigned retention_days = 365;             // 0 = keep every event for ever
    unsigned expire_interval_seconds = 3600;
};

struct blob_settings {
    std::string path = "var/blobs";   // relative -> config file's folder
};

struct auth_settings {
    unsigned min_password_length = 12;
    unsigned argon2_memory_kib = 19456;   // OWASP Password Storage Cheat Sheet: 19 MiB, t=2, p=1
    unsigned argon2_iterations = 2;
    unsigned argon2_parallelism = 1;
    unsigned max_failures_per_account = 10;
    unsigned max_failures_per_ip = 100;
    unsigned failure_window_seconds = 900;
    unsigned lockout_seconds = 900;
    bool allow_plaintext_on_loopback = false;
};

struct listener {
    std::string address;
    std::uint16_t port = 0;   // 0 = disabled
};

struct service_common {
    unsigned threads = 2;
    std::uint16_t admin_port = 0;              // loopback /healthz + /metrics; 0 = disabled
    std::string admin_address = "127.0.0.1";
    unsigned max_connections = 10000;
    unsigned max_connections_per_ip = 50;
    unsigned idle_timeout_seconds = 300;
    unsigned shutdown_grace_seconds = 10;
    // Load balancers (addresses or CIDR prefixes, comma-separated) whose connections must
    // begin with a PROXY protocol header naming the client; empty: none.
    std::string proxy_protocol_from{};
};

struct smtp_settings {
    // idle 300 s: RFC 5321 section 4.5.3.2.7 (server timeout of 5 minutes).
    service_common common{.admin_port = 9025, .idle_timeout_seconds = 300};
    listener mx{"127.0.0.1", 2525};
    listener submission{"127.0.0.1", 2587};
    listener submissions{"127.0.0.1", 2465};
    std::string hostname = "localhost";          // greeting and Received: header name
    std::uint64_t max_message_size = 50 * MiB;   // advertised with SIZE (RFC 1870)
    unsigned max_recipients = 1000;              // RFC 5321 section 4.5.3.1.8: at least 100
    unsigned max_line_length = 1000;             // RFC 5321 section 4.5.3.1.6: 1000 octets incl. CRLF
    // Messages an authenticated account may submit per hour (fixed window, shared by every
    // smtpd through PostgreSQL); 0 = no limit. Bounds the damage of a stolen password.
    unsigned max_messages_per_hour = 500;
    // Outbound queue. routes: "domain=host:port" entries separated by commas; mail for a
    // listed domain goes to that host (tests, smarthost-like setups). Other domains go to the
    // smarthost when set, else to their MX hosts (RFC 5321 section 5.1). Retries back off exponentially from queue_retry_seconds;
    // after queue_max_age_seconds (5 days, RFC 5321 section 4.5.4.1) the sender gets a bounce.
    std::string routes;
    // smarthost: "host:port" that takes all other outbound mail (instead of MX lookup); with
    // smarthost_user/password it is used only over STARTTLS with AUTH PLAIN.
    std::string smarthost;
    std::string smarthost_user;
    std::string smarthost_password;   // secret
    unsigned queue_retry_seconds = 300;
    unsigned queue_max_age_seconds = 5 * 24 * 3600;
    // dns_resolver: the DNS server that MX lookups ask ("ip" or "ip:port", IPv6 as
    // "[addr]:port"); empty = the servers in /etc/resolv.conf.
    std::string dns_resolver;
    // remote_mx_port: TCP port of the MX hosts found in DNS. Always 25 in production (RFC 5321);
    // tests set it because an MX record cannot carry a port. (Not "mx_port": its variable
    // POLDER_SMTP_MX_PORT is already smtp.mx.port's.)
    unsigned remote_mx_port = 25;
    // dsn_delay_seconds: a recipient queued this long gets its sender one "delayed" notice
    // when it asked for it (RFC 3461 NOTIFY=DELAY).
    unsigned dsn_delay_seconds = 4 * 3600;
    // inbound_auth: SPF, DKIM and DMARC checks of mail on the MX listener (RFC 7208, 6376,
    // 7489), reported in an Authentication-Results: field (RFC 8601). "mark" only adds the
    // field; "enforce" also refuses DMARC failures of p=reject domains and files p=quarantine
    // ones in Junk; "off" skips the checks (e.g. behind a filter that already does them).
    std::string inbound_auth = "mark";
    // inbound_auth_timeout_seconds: all DNS lookups of one message's checks together; when
    // it passes, the unfinished checks report temperror and the message is still accepted.
    unsigned inbound_auth_timeout_seconds = 20;
    // smarthost_tls_verify: the smarthost's certificate must chain to a trusted CA and name
    // the smarthost (RFC 6125); mx_tls_verify does the same for MX hosts, which RFC 7435
    // leaves opportunistic by default (most MX certificates would not pass).
    bool smarthost_tls_verify = true;
    bool mx_tls_verify = false;
    // tls_ca_file: CA certificates (PEM) for those checks; empty = the system store.
    std::string tls_ca_file;
};

struct imap_settings {
    // idle_timeout_seconds here is the timer BEFORE login; RFC 9051 section 5.4 leaves it free.
    service_common common{.admin_port = 9143, .idle_timeout_seconds = 180};
    listener imap{"127.0.0.1", 1143};
    listener imaps{"127.0.0.1", 1993};
    unsigned max_line_length = 65536;            // RFC 2683 section 3.2.1.5 / RFC 7162 section 4: at least 8192
    std::uint64_t max_literal_size = 50 * MiB;   // also APPENDLIMIT (RFC 7889)
    // Autologout timer after login, also bounds an IDLE command: RFC 9051 section 5.4
    // says it MUST be at least 30 minutes.
    unsigned idle_timeout_authenticated_seconds = 1800;
    // Concurrent logged-in sessions of one account in one process (Dovecot's
    // mail_max_userip_connections is 10 per user and IP; clients open about 5 each).
    unsigned max_sessions_per_account = 50;
    // Days the UIDs of expunged messages are remembered for QRESYNC (RFC 7162): a client
    // that resynchronises later is told every UID of its range not in the mailbox instead.
    unsigned expunged_days = 30;
    unsigned recoverable_days = 14;   // deleted mail kept for `polderctl mailbox deleted restore`
};

struct caldav_settings {
    service_common common{.admin_port = 9443, .idle_timeout_seconds = 60};
    listener https{"127.0.0.1", 8443};
    listener http{"127.0.0.1", 8008};
    std::uint64_t max_request_body = 10 * MiB;
};

struct webdav_settings {
    service_common common{.admin_port = 9444, .idle_timeout_seconds = 60};
    listener https{"127.0.0.1", 8444};
    listener http{"127.0.0.1", 8080};
    std::uint64_t max_file_size = 100 * GiB;
    // Files up to this size keep their bytes in PostgreSQL, inside the transaction that
    // records them (one WAL flush instead of the blob file's and folder's fsyncs too);
    // larger files go to the blob store. 0 keeps every file in the blob store.
    std::uint64_t inline_max_bytes = 32 * KiB;
    // Previous contents kept when a file is overwritten: at most versions_keep per file,
    // none older than versions_max_age_days (0 keeps no versions).
    unsigned versions_keep = 10;
    unsigned versions_max_age_days = 30;
    // Deleted files and folders stay in the trash this long (0 = delete at once).
    unsigned trash_days = 30;
    // The service's own clean-up (trash and version expiry, blob collection) runs
    // about this often; blobs younger than gc_grace_hours are never collected.
    unsigned expire_interval_seconds = 3600;
    unsigned gc_grace_hours = 24;
};

// client_settings - the names and ports mail, calendar and contacts clients should use,
// as the users' devices reach them (the balancer's names, not the listeners' addresses).
// polder-caldavd hands them out as client autoconfiguration: Thunderbird's
// config-v1.1.xml, Outlook's autodiscover.xml and an Apple configuration profile.
// imap_host empty: autoconfiguration is off (404). Empty submission_host / dav_host
// mean imap_host. Security "tls" is implicit TLS (RFC 8314), "starttls" the upgrade.
struct client_settings {
    std::string provider_name;   // shown by clients; empty: the mail domain
    std::string imap_host;
    std::uint16_t imap_port = 993;
    std::string imap_security = "tls";
    std::string submission_host;
    std::uint16_t submission_port = 465;
    std::string submission_security = "tls";
    std::string dav_host;          // CalDAV and CardDAV, always over TLS
    std::uint16_t dav_port = 443;
};

struct settings {
    std::string source_path;   // absolute path of the file loaded; empty for load_string()
    database_settings database;
    tls_settings tls;
    log_settings log;
    blob_settings blob;
    auth_settings auth;
    audit_settings audit;
    smtp_settings smtp;
    imap_settings imap;
    caldav_settings caldav;
    webdav_settings webdav;
    client_settings clients;
};

// load_error - every problem found, one line each, each naming the key (or the file).
struct load_error {
    std::vector<std::string> problems;
    std::string message() const;   // problems joined with '\n'
};

// load - read file, apply POLDER_* environment overrides from the process environment,
// resolve relative paths against the file's folder, validate. Returns every problem:
// unreadable file (path + OS reason), TOML syntax error (path:line:column), unknown key,
// wrong type, out of range, bad value; environment problems name the variable too.
std::variant<settings, load_error> load(const std::filesystem::path& file);

// load_string - the same on text already in memory (for tests and tools); env replaces
// the process environment (keys are variable names, e.g. "POLDER_DATABASE_PORT").
std::variant<settings, load_error> load_string(std::string_view toml,
                                               const std::filesystem::path& base_dir,
                                               const std::map<std::string, std::string>& env = {});

// default_path - $POLDER_CONFIG if set and non-empty, else /etc/polder/polder.toml.
std::filesystem::path default_path();

// redacted - "key = value" lines for every parameter, secrets replaced by "<redacted>";
// safe to log at start-up.
std::string redacted(const settings& s);

// parse_size - "50M", "10G", "512K", "1T" (binary multiples; "KiB"/"MiB"/... also
// accepted, case-insensitive) or plain digits = bytes. Returns false on a syntax error
// or when the value does not fit in 64 bits; out is then unchanged.
bool parse_size(std::string_view text, std::uint64_t& out);

// format_size - the shortest exact form parse_size() reads back: "50M", "10G", "1536K",
// or plain digits when the value is no multiple of 1024.
std::string format_size(std::uint64_t bytes);

}  // namespace polder::config
