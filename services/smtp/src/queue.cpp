// queue.cpp - the outbound queue: enqueue, claim with SKIP LOCKED, the SMTP client side,
// backoff, and RFC 3464 bounces into the sender's INBOX. See queue.hpp.
// SECURITY: parameterized SQL only; remote replies bounded and sanitised (queue.hpp).
// STANDARDS: RFC 5321, RFC 3461, RFC 3464, RFC 6522, RFC 3834.
#include "queue.hpp"

#include "client_stream.hpp"
#include "input.hpp"
#include "metrics.hpp"
#include "trace.hpp"

#include "polder/log/log.hpp"
#include "polder/mailstore/mailstore.hpp"
#include "polder/metrics/metrics.hpp"
#include "polder/net/stream.hpp"
#include "polder/smtp/proto/address.hpp"
#include "polder/smtp/proto/sasl.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

namespace polder::smtpd {

namespace {

using namespace asio::experimental::awaitable_operators;

constexpr std::size_t max_remote_line = 2048;      // RFC 5321 says 512; be lenient, stay bounded
constexpr std::size_t max_remote_lines = 100;      // lines of one multi-line reply
constexpr std::size_t max_batch = 100;             // recipients per connection
constexpr auto lease = std::chrono::minutes(10);   // a claim lasts this long without an outcome
constexpr auto command_timeout = std::chrono::minutes(5);   // RFC 5321 4.5.3.2: 5 min for most replies
constexpr auto connect_timeout = std::chrono::seconds(30);

struct queue_metrics {
    metrics::counter& delivered;
    metrics::counter& deferred;
    metrics::counter& bounced;
    metrics::gauge& size;
    static queue_metrics& get() {
        auto& r = metrics::registry::global();
        static queue_metrics m{
            r.counter_("polder_smtp_outbound_delivered_total", "Outbound recipients accepted by the next hop"),
            r.counter_("polder_smtp_outbound_deferred_total", "Outbound delivery attempts that will be retried"),
            r.counter_("polder_smtp_outbound_bounced_total", "Outbound recipients given up on (a DSN was due)"),
            r.gauge_("polder_smtp_queue_recipients", "Outbound recipients waiting in the queue"),
        };
        return m;
    }
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
}

struct smtp_reply {
    int code = 0;
    std::string text;                 // "250 " + lines joined by " ", sanitised
    std::vector<std::string> lines = {};   // each line's text (after "250-"), sanitised
    bool local = false;   // our own verdict (DNS), not a remote reply: no Diagnostic-Code
};

struct recipient_row {
    std::int64_t id = 0;
    std::string address;
    std::optional<std::string> notify, orcpt;
    int attempts = 0;
    bool delay_notified = false;
    smtp_reply outcome;   // code 0: connection-level failure, see text
};

struct claim {
    std::int64_t queue_id = 0;
    std::string domain;
    blob::blob_id blob;
    std::string sender;
    std::optional<std::int64_t> sender_account_id;
    std::optional<std::string> envid, ret;
    bool expired = false;
    std::time_t created = 0;
    std::vector<recipient_row> rcpts;
    std::optional<dkim_key> dkim;   // the sender domain's active key
    std::uint64_t skip = 0;         // octets of the blob not sent: our Return-Path: line
    std::string dkim_header;        // "DKIM-Signature: ...\r\n" or empty
    bool next_hop_dsn = false;      // the host that took the message offered DSN (RFC 3461)
};

std::optional<claim> claim_due(pqxx::work& tx) {
    auto first = tx.exec("SELECT queue_id, domain FROM mail.smtp_queue_rcpt WHERE next_attempt_at <= now() "
                         "ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED");
    if (first.empty()) return std::nullopt;
    claim c;
    c.queue_id = first[0][0].as<std::int64_t>();
    c.domain = first[0][1].as<std::string>();
    auto rows = tx.exec_params(
        "SELECT id, recipient, notify, orcpt, attempts, delay_notified FROM mail.smtp_queue_rcpt "
        "WHERE queue_id = $1 AND domain = $2 AND next_attempt_at <= now() ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED",
        c.queue_id, c.domain, static_cast<std::int64_t>(max_batch));
    for (const auto& r : rows) {
        recipient_row rr;
        rr.id = r[0].as<std::int64_t>();
        rr.address = r[1].as<std::string>();
        if (!r[2].is_null()) rr.notify = r[2].as<std::string>();
        if (!r[3].is_null()) rr.orcpt = r[3].as<std::string>();
        rr.attempts = r[4].as<int>();
        rr.delay_notified = r[5].as<bool>();
        c.rcpts.push_back(std::move(rr));
        tx.exec_params("UPDATE mail.smtp_queue_rcpt SET next_attempt_at = now() + make_interval(secs => $2) "
                       "WHERE id = $1",
                       c.rcpts.back().id, static_cast<double>(std::chrono::seconds(lease).count()));
    }
    auto m = tx.exec_params1("SELECT encode(blob_sha256, 'hex'), sender, sender_account_id, envid, ret, "
                             "expires_at <= now(), extract(epoch from created_at)::bigint "
                             "FROM mail.smtp_queue WHERE id = $1",
                             c.queue_id);
    auto id = blob::blob_id::from_hex(m[0].as<std::string>());
    if (!id) throw std::runtime_error("queue row with a malformed blob id");
    c.blob = *id;
    c.sender = m[1].as<std::string>();
    if (!m[2].is_null()) c.sender_account_id = m[2].as<std::int64_t>();
    if (!m[3].is_null()) c.envid = m[3].as<std::string>();
    if (!m[4].is_null()) c.ret = m[4].as<std::string>();
    c.expired = m[5].as<bool>();
    c.created = static_cast<std::time_t>(m[6].as<std::int64_t>());
    // d= is the envelope sender's domain: for authenticated senders it is their own
    // address's domain, which the From: check ties to the From: header (DMARC alignment).
    if (const auto at = c.sender.rfind('@'); at != std::string::npos) {
        auto k = tx.exec_params("SELECT d.name, k.selector, k.algorithm, k.private_key FROM mail.dkim_keys k "
                                "JOIN directory.domains d ON d.id = k.domain_id WHERE k.active AND d.name = $1",
                                lower(c.sender.substr(at + 1)));
        if (!k.empty())
            c.dkim = dkim_key{k[0][0].as<std::string>(), k[0][1].as<std::string>(), k[0][2].as<std::string>(),
                              k[0][3].as<std::string>()};
    }
    return c;
}

// client - one outbound SMTP conversation.
class client {
public:
    explicit client(net::stream& s) : s_(s), in_(s) {}

    awaitable<smtp_reply> read_reply() {
        smtp_reply r;
        for (std::size_t n = 0; n < max_remote_lines; ++n) {
            auto line = co_await in_.read_line(max_remote_line);
            if (!line) {
                r.code = 0;
                r.text = "connection lost: " + line.error().message();
                co_return r;
            }
            auto t = line->text;
            if (t.size() < 3 || !std::isdigit(static_cast<unsigned char>(t[0])) ||
                !std::isdigit(static_cast<unsigned char>(t[1])) || !std::isdigit(static_cast<unsigned char>(t[2]))) {
                r.code = 0;
                r.text = "malformed reply: " + printable(t, true, false, 200);
                co_return r;
            }
            const int code = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
            if (!r.text.empty()) r.text += " ";
            r.lines.push_back(printable(t.size() > 4 ? t.substr(4) : std::string_view{}, true, false, 400));
            r.text += r.lines.back();
            r.code = code;
            if (t.size() == 3 || t[3] != '-') {
                r.text = std::to_string(code) + " " + r.text;
                if (r.text.size() > 900) r.text.resize(900);
                co_return r;
            }
        }
        r.code = 0;
        r.text = "reply too long";
        co_return r;
    }

    awaitable<smtp_reply> command(const std::string& line) {
        if (auto w = co_await s_.write(line + "\r\n"); !w) co_return smtp_reply{0, "write failed: " + w.error().message()};
        co_return co_await read_reply();
    }

    awaitable<bool> write(std::string_view bytes) { co_return static_cast<bool>(co_await s_.write(bytes)); }

    // starttls - after a 220 to STARTTLS: nothing may be buffered (RFC 3207 section 5).
    awaitable<result<void>> starttls() {
        in_.discard_buffer();
        co_return co_await s_.start_tls();
    }

private:
    net::stream& s_;
    input in_;
};

// deliver_batch - one connection to the route's host (the first of eps that answers), all
// recipients of the claim; fills outcomes. Returns false when the host gave no verdict on
// the message (no connection, no greeting, EHLO/STARTTLS/MAIL refused or the connection
// lost): RFC 5321 5.1 then has the client try the next MX host.
awaitable<bool> deliver_batch(const shared& sh, const route& rt, const std::vector<asio::ip::tcp::endpoint>& eps,
                              claim& c) {
    bool verdict = true;
    auto set_all = [&](const smtp_reply& r) {
        if (r.code / 100 != 5) verdict = false;
        for (auto& x : c.rcpts)
            if (x.outcome.code == 0 || x.outcome.code / 100 == 2) x.outcome = r;
    };
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket sock(ex);
    {
        asio::steady_timer t(ex, connect_timeout);
        auto which = co_await (asio::async_connect(sock, eps, use_tuple) || t.async_wait(use_tuple));
        if (which.index() == 1 || std::get<0>(std::get<0>(which))) {
            set_all({0, "cannot connect to " + rt.host + ":" + std::to_string(rt.port)});
            co_return false;
        }
    }
    tls_check check;
    check.verify = rt.smarthost ? sh.cfg.smtp.smarthost_tls_verify : (rt.mx && sh.cfg.smtp.mx_tls_verify);
    check.ca_file = sh.cfg.smtp.tls_ca_file;
    const char* verify_key = rt.smarthost ? "smtp.smarthost_tls_verify" : "smtp.mx_tls_verify";
    auto stream = std::make_unique<client_stream>(std::move(sock), rt.host, check);
    stream->set_timeout(command_timeout);
    client cl(*stream);
    auto greet = co_await cl.read_reply();
    if (greet.code != 220) {
        set_all(greet);
        co_return verdict;
    }
    auto hello = co_await cl.command("EHLO " + sh.cfg.smtp.hostname);
    // Opportunistic TLS (RFC 7435): upgrade whenever the next hop offers STARTTLS.
    const bool offers_tls = hello.code == 250 && std::any_of(hello.lines.begin(), hello.lines.end(), [](const auto& l) {
        return lower(l.substr(0, l.find(' '))) == "starttls";
    });
    if (offers_tls) {
        auto go = co_await cl.command("STARTTLS");
        if (go.code != 220) {
            set_all(go);
            co_return verdict;
        }
        if (auto tls = co_await cl.starttls(); !tls) {
            // Code 0: a deferral (MX: try the next host), never a bounce - the message is fine.
            const auto why = stream->verify_error().empty() ? tls.error().message() : stream->verify_error();
            set_all({0, "TLS handshake with " + rt.host + " failed: " + why, {}});
            co_return verdict;
        }
        hello = co_await cl.command("EHLO " + sh.cfg.smtp.hostname);   // RFC 3207 4.2: start over
    }
    if (check.verify && !offers_tls) {
        // Verified TLS was asked for: a host without STARTTLS (or a stripped offer) defers.
        set_all({0, rt.host + " does not offer STARTTLS; " + verify_key + " requires a verified TLS connection", {}});
        co_return false;
    }
    if (hello.code != 250 && !offers_tls) hello = co_await cl.command("HELO " + sh.cfg.smtp.hostname);
    if (hello.code != 250) {
        set_all(hello);
        co_return verdict;
    }
    // RFC 3461 4: a next hop that offers DSN gets the parameters and reports itself;
    // otherwise we report "relayed" for NOTIFY=SUCCESS (run_once).
    c.next_hop_dsn = std::any_of(hello.lines.begin(), hello.lines.end(),
                                 [](const auto& l) { return lower(l.substr(0, l.find(' '))) == "dsn"; });
    if (rt.smarthost && !sh.cfg.smtp.smarthost_user.empty()) {
        // Credentials only inside TLS (RFC 4954 section 4: a client must not send a
        // password in the clear); a smarthost without STARTTLS is a deferral, not a leak.
        if (!stream->tls_active()) {
            set_all({0, "smarthost " + rt.host + " does not offer STARTTLS; not sending credentials"});
            co_return verdict;
        }
        std::string creds;
        creds += '\0';
        creds += sh.cfg.smtp.smarthost_user;
        creds += '\0';
        creds += sh.cfg.smtp.smarthost_password;
        auto auth = co_await cl.command("AUTH PLAIN " + smtp::sasl::base64_encode(creds));
        creds.assign(creds.size(), '\0');
        if (auth.code != 235) {
            // Our configuration is wrong, not the message: defer (code 0), never bounce.
            set_all({0, "smarthost AUTH failed: " + auth.text});
            co_return verdict;
        }
    }
    std::string mail_line = "MAIL FROM:<" + c.sender + ">";
    if (c.next_hop_dsn && c.ret) mail_line += " RET=" + *c.ret;
    if (c.next_hop_dsn && c.envid) mail_line += " ENVID=" + smtp::xtext_encode(*c.envid);
    auto mail = co_await cl.command(mail_line);
    if (mail.code / 100 != 2) {
        set_all(mail);
        co_return verdict;
    }
    std::size_t accepted = 0;
    for (auto& r : c.rcpts) {
        std::string rcpt_line = "RCPT TO:<" + r.address + ">";
        if (c.next_hop_dsn && r.notify) rcpt_line += " NOTIFY=" + *r.notify;
        if (c.next_hop_dsn && r.orcpt) {
            const auto semi = r.orcpt->find(';');
            if (semi != std::string::npos)
                rcpt_line += " ORCPT=" + r.orcpt->substr(0, semi) + ";" + smtp::xtext_encode(r.orcpt->substr(semi + 1));
        }
        r.outcome = co_await cl.command(rcpt_line);
        if (r.outcome.code / 100 == 2) ++accepted;
        if (r.outcome.code == 0) {
            set_all(r.outcome);
            co_return verdict;
        }
    }
    if (accepted == 0) {
        co_await cl.command("QUIT");
        co_return verdict;
    }
    auto data = co_await cl.command("DATA");
    if (data.code != 354) {
        set_all(data);
        co_return verdict;
    }
    // The DKIM signature first (it never starts a line with '.'), then the blob without our
    // Return-Path: (RFC 5321 4.4: only the final delivery adds one), dot-stuffed (RFC 5321
    // 4.5.2); our content has only CRLF line ends.
    if (!c.dkim_header.empty() && !co_await cl.write(c.dkim_header)) {
        set_all({0, "connection lost while sending data"});
        co_return verdict;
    }
    auto reader = sh.blobs.open(c.blob, c.skip);
    if (!reader) {
        set_all({0, "queued message is missing from the blob store"});
        co_return verdict;
    }
    std::string buf(16 * 1024, '\0'), out;
    bool line_start = true;
    char last = '\n';
    for (;;) {
        auto n = reader->read(std::as_writable_bytes(std::span<char>(buf.data(), buf.size())));
        if (!n) {
            set_all({0, "blob read failed: " + n.error().message()});
            co_return verdict;
        }
        if (*n == 0) break;
        out.clear();
        for (std::size_t i = 0; i < *n; ++i) {
            const char ch = buf[i];
            if (line_start && ch == '.') out += '.';
            out += ch;
            line_start = ch == '\n';
            last = ch;
        }
        if (!co_await cl.write(out)) {
            set_all({0, "connection lost while sending data"});
            co_return verdict;
        }
    }
    const std::string end = last == '\n' ? ".\r\n" : "\r\n.\r\n";
    if (!co_await cl.write(end)) {
        set_all({0, "connection lost while sending data"});
        co_return verdict;
    }
    auto final_reply = co_await cl.read_reply();
    for (auto& r : c.rcpts)
        if (r.outcome.code / 100 == 2) r.outcome = final_reply;
    if (final_reply.code / 100 == 2)
        log::debug("smtp.outbound_session", {{"queue_id", c.queue_id}, {"host", rt.host},
                                             {"tls", stream->tls_description()}});
    co_await cl.command("QUIT");
    co_await stream->shutdown();
    co_return final_reply.code != 0;
}

// deliver_to_route - a configured route or the smarthost: the host name is resolved with
// the system resolver (routes may name hosts from /etc/hosts).
awaitable<void> deliver_to_route(const shared& sh, const route& rt, claim& c) {
    asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
    auto [rec, found] = co_await resolver.async_resolve(rt.host, std::to_string(rt.port), use_tuple);
    if (rec) {
        for (auto& r : c.rcpts) r.outcome = {0, "cannot resolve " + rt.host + ": " + rec.message()};
        co_return;
    }
    std::vector<asio::ip::tcp::endpoint> eps;
    for (const auto& e : found) eps.push_back(e.endpoint());
    co_await deliver_batch(sh, rt, eps, c);
}

// deliver_to_mx - RFC 5321 5.1: the MX hosts in order of preference until one of them
// gives a verdict; a null MX (RFC 7505 section 4.2: 556 5.1.10) or a missing domain
// (5.1.2) fails at once, DNS trouble defers.
awaitable<void> deliver_to_mx(const shared& sh, dns_resolver& dns, claim& c) {
    auto answer = co_await dns.lookup_mx(c.domain);
    auto set_all = [&](smtp_reply r) {
        for (auto& x : c.rcpts) x.outcome = r;
    };
    switch (answer.status) {
        case mx_status::null_mx:
            set_all({556, "556 5.1.10 " + answer.detail, {}, true});
            co_return;
        case mx_status::no_domain:
            set_all({550, "550 5.1.2 " + answer.detail, {}, true});
            co_return;
        case mx_status::temporary:
            set_all({0, answer.detail, {}, true});
            co_return;
        case mx_status::ok: break;
    }
    // RFC 5321 5.1: when we are one of the MX hosts, only hosts more preferred than us may
    // take the message; none left means the domain's MX points back at us (a loop).
    const auto self = lower(sh.cfg.smtp.hostname);
    if (auto me = std::find_if(answer.hosts.begin(), answer.hosts.end(), [&](const mx_host& h) { return h.name == self; });
        me != answer.hosts.end()) {
        const unsigned mine = me->preference;
        std::erase_if(answer.hosts, [&](const mx_host& h) { return h.preference >= mine; });
        if (answer.hosts.empty()) {
            set_all({554, "554 5.4.6 mail for " + c.domain + " loops back to myself (" + self + ")", {}, true});
            co_return;
        }
    }
    const auto port = static_cast<std::uint16_t>(sh.cfg.smtp.remote_mx_port);
    for (const auto& host : answer.hosts) {
        route rt{c.domain, host.name, port, false, true};
        std::vector<asio::ip::tcp::endpoint> eps;
        for (const auto& a : host.addresses) eps.emplace_back(a, port);
        set_all({});
        const bool verdict = co_await deliver_batch(sh, rt, eps, c);
        log::debug("smtp.outbound_mx_attempt", {{"queue_id", c.queue_id}, {"host", host.name},
                                                {"preference", static_cast<std::int64_t>(host.preference)},
                                                {"verdict", verdict}});
        if (verdict) co_return;
    }
}

// return_path_length - octets of a leading "Return-Path:" field (with its CRLF), else 0.
std::uint64_t return_path_length(blob::store& blobs, const blob::blob_id& id) {
    auto r = blobs.open(id, 0, 4096);
    if (!r) return 0;
    std::string head(4096, '\0');
    auto n = r->read(std::as_writable_bytes(std::span<char>(head.data(), head.size())));
    if (!n) return 0;
    head.resize(*n);
    static constexpr std::string_view name = "return-path:";
    if (head.size() < name.size() || lower(head.substr(0, name.size())) != name) return 0;
    for (std::size_t pos = head.find("\r\n"); pos != std::string::npos; pos = head.find("\r\n", pos + 2)) {
        if (pos + 2 < head.size() && head[pos + 2] != ' ' && head[pos + 2] != '\t') return pos + 2;
    }
    return 0;
}

std::string status_of(const smtp_reply& r) {
    // "550 5.1.1 text" -> "5.1.1"; otherwise the class default (RFC 3463).
    if (r.text.size() > 9 && r.text[4] >= '2' && r.text[4] <= '5' && r.text[5] == '.') {
        auto sp = r.text.find(' ', 4);
        auto st = r.text.substr(4, sp == std::string::npos ? std::string::npos : sp - 4);
        if (st.size() >= 5 && st.size() <= 11 && st.find_first_not_of("0123456789.") == std::string::npos) return st;
    }
    if (r.code / 100 == 5) return "5.0.0";
    return "4.4.1";   // no answer from host
}

}  // namespace

std::vector<route> parse_routes(std::string_view text) {
    std::vector<route> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        std::string entry = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        const auto eq = entry.find('='), colon = entry.rfind(':');
        if (eq == std::string::npos || colon == std::string::npos || colon < eq) continue;
        route r;
        r.domain = lower(entry.substr(0, eq));
        r.host = entry.substr(eq + 1, colon - eq - 1);
        try {
            const auto p = std::stoul(entry.substr(colon + 1));
            if (p == 0 || p > 65535) continue;
            r.port = static_cast<std::uint16_t>(p);
        } catch (const std::exception&) {
            continue;
        }
        out.push_back(std::move(r));
    }
    return out;
}

const route* find_route(const std::vector<route>& routes, std::string_view domain) {
    const auto d = lower(domain);
    for (const auto& r : routes)
        if (r.domain == d) return &r;
    return nullptr;
}

std::optional<route> next_hop(const config::smtp_settings& s, std::string_view domain) {
    const auto routes = parse_routes(s.routes);
    if (const route* r = find_route(routes, domain)) return *r;
    if (s.smarthost.empty()) return std::nullopt;
    const auto colon = s.smarthost.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    route r;
    r.host = s.smarthost.substr(0, colon);
    try {
        const auto p = std::stoul(s.smarthost.substr(colon + 1));
        if (p == 0 || p > 65535) return std::nullopt;
        r.port = static_cast<std::uint16_t>(p);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    r.smarthost = true;
    return r;
}

std::int64_t backoff_seconds(unsigned base, int attempts) {
    const std::int64_t cap = 4 * 3600;
    std::int64_t d = std::max<std::int64_t>(base, 1);
    for (int i = 0; i < attempts && d < cap; ++i) d *= 2;
    return std::min(d, cap);
}

std::int64_t enqueue(pqxx::work& tx, const outbound_message& msg, const std::vector<outbound_recipient>& rcpts,
                     unsigned max_age_seconds) {
    auto row = tx.exec_params1(
        "INSERT INTO mail.smtp_queue (blob_sha256, size, sender, sender_account_id, envid, ret, smtputf8, expires_at) "
        "VALUES (decode($1, 'hex'), $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8)) RETURNING id",
        msg.blob.hex(), static_cast<std::int64_t>(msg.size), msg.sender, msg.sender_account_id, msg.envid, msg.ret,
        msg.smtputf8, static_cast<double>(max_age_seconds));
    const auto id = row[0].as<std::int64_t>();
    for (const auto& r : rcpts) {
        tx.exec_params("INSERT INTO mail.smtp_queue_rcpt (queue_id, recipient, domain, notify, orcpt) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       id, r.address, r.domain, r.notify, r.orcpt);
    }
    return id;
}

std::string build_dsn(std::string_view hostname, std::string_view sender, const std::optional<std::string>& envid,
                      bool full, std::string_view original, const std::vector<failed_recipient>& failed,
                      std::time_t arrival, std::time_t now, std::string_view id) {
    const std::string boundary = "=_polder_dsn_" + std::string(id);
    const std::string host(hostname);
    std::string m;
    m += "From: Mail Delivery System <MAILER-DAEMON@" + host + ">\r\n";
    m += "To: <" + printable(sender, false, true, 256) + ">\r\n";
    const auto all = [&](std::string_view action) {
        return !failed.empty() &&
               std::all_of(failed.begin(), failed.end(), [&](const auto& f) { return f.action == action; });
    };
    const bool relayed = all("relayed"), delay = all("delayed");
    // RFC 3464 2.3.3: "delivered" and "expanded" (a list or alias to several mailboxes)
    // are local successes; "relayed" a hand-off to a next hop without DSN.
    const bool success = !failed.empty() && std::all_of(failed.begin(), failed.end(), [](const auto& f) {
        return f.action == "relayed" || f.action == "delivered" || f.action == "expanded";
    });
    m += success ? "Subject: Successful Mail Delivery Report\r\n"
                 : delay ? "Subject: Delayed Mail (still being retried)\r\n"
                         : "Subject: Undelivered Mail Returned to Sender\r\n";
    m += "Date: " + rfc5322_date(now) + "\r\n";
    m += "Message-ID: <" + std::string(id) + "@" + host + ">\r\n";
    m += "Auto-Submitted: auto-replied\r\n";   // RFC 3834: no automatic replies to this
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n\r\n";
    m += "This is a MIME-encapsulated message.\r\n\r\n--" + boundary + "\r\n";
    m += "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
    if (delay)
        m += "Your message has not been delivered yet to the following recipients. It is still being\r\n"
             "retried; you will be told if it finally fails:\r\n\r\n";
    else if (relayed)
        m += "Your message was relayed to the following recipients. The next server does not send delivery\r\n"
             "notifications, so this is the last report about them:\r\n\r\n";
    else m += success ? "Your message was delivered to the following recipients:\r\n\r\n"
                 : "Your message could not be delivered to the following recipients:\r\n\r\n";
    for (const auto& f : failed) m += "  <" + printable(f.address, false, false) + ">: " + f.diagnostic + "\r\n";
    m += "\r\n--" + boundary + "\r\n";
    m += "Content-Type: message/delivery-status\r\n\r\n";
    m += "Reporting-MTA: dns; " + host + "\r\n";
    if (envid) m += "Original-Envelope-Id: " + smtp::xtext_encode(*envid) + "\r\n";
    m += "Arrival-Date: " + rfc5322_date(arrival) + "\r\n";
    for (const auto& f : failed) {
        m += "\r\n";
        if (f.orcpt) m += "Original-Recipient: " + printable(*f.orcpt, false, true, 600) + "\r\n";
        m += "Final-Recipient: rfc822; " + printable(f.address, false, true) + "\r\n";
        m += "Action: " + f.action + "\r\n";
        m += "Status: " + f.status + "\r\n";
        if (f.remote) m += "Diagnostic-Code: smtp; " + f.diagnostic + "\r\n";
        m += "Last-Attempt-Date: " + rfc5322_date(now) + "\r\n";
    }
    m += "\r\n--" + boundary + "\r\n";
    auto header_end = original.find("\r\n\r\n");
    if (full) {
        m += "Content-Type: message/rfc822\r\n\r\n";
        m += std::string(original);
        if (!original.empty() && original.back() != '\n') m += "\r\n";
    } else {
        m += "Content-Type: text/rfc822-headers\r\n\r\n";
        m += std::string(original.substr(0, header_end == std::string_view::npos ? original.size() : header_end + 2));
    }
    m += "\r\n--" + boundary + "--\r\n";
    return m;
}

queue_runner::queue_runner(const shared& sh, asio::any_io_executor ex)
    : sh_(sh), ex_(std::move(ex)) {
    if (auto r = dns_resolver::create(sh.cfg.smtp.dns_resolver)) resolver_ = std::move(*r);
    try {
        signer_ = std::make_unique<dkim_signer>();
    } catch (const std::exception& e) {
        log::error("smtp.dkim_setup_failed", {{"error", std::string(e.what())}});
    }
}

queue_runner::~queue_runner() = default;

void queue_runner::start(unsigned workers) {
    for (unsigned i = 0; i < workers; ++i)
        asio::co_spawn(asio::make_strand(ex_), worker(i), [](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log::error("smtp.queue_worker_died", {{"error", std::string(ex.what())}});
            }
        });
}

// stop - workers notice within their one-second poll interval.
void queue_runner::stop() { stopping_ = true; }

awaitable<void> queue_runner::worker(unsigned n) {
    while (!stopping_) {
        bool did = false;
        try {
            did = co_await run_once();
        } catch (const std::exception& e) {
            log::warn("smtp.queue_error", {{"worker", static_cast<std::int64_t>(n)}, {"error", std::string(e.what())}});
        }
        if (stopping_) break;
        if (!did) {
            if (n == 0) {
                try {
                    auto count = co_await sh_.pool.run([](pqxx::connection& c) {
                        pqxx::read_transaction tx(c);
                        return tx.exec1("SELECT count(*) FROM mail.smtp_queue_rcpt")[0].as<std::int64_t>();
                    });
                    queue_metrics::get().size.set(count);
                } catch (const std::exception&) {
                }
            }
            asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(1));
            co_await timer.async_wait(use_tuple);
        }
    }
}

awaitable<bool> queue_runner::run_once() {
    auto claimed = co_await sh_.pool.transact([](pqxx::work& tx) { return claim_due(tx); });
    if (!claimed || claimed->rcpts.empty()) co_return claimed.has_value();
    claim& c = *claimed;
    c.skip = return_path_length(sh_.blobs, c.blob);
    if (c.dkim && signer_) {
        auto field = signer_->sign(*c.dkim, sh_.blobs, c.blob, c.skip, "Q" + std::to_string(c.queue_id));
        if (field) c.dkim_header = std::move(*field);   // else logged; sent unsigned (dkim.hpp)
        c.dkim->private_key.assign(c.dkim->private_key.size(), '\0');
    }
    if (const auto rt = next_hop(sh_.cfg.smtp, c.domain)) {
        co_await deliver_to_route(sh_, *rt, c);
    } else if (!resolver_) {
        for (auto& r : c.rcpts) r.outcome = {0, "no DNS resolver (see the smtp.dns_setup_failed log entry)"};
    } else {
        co_await deliver_to_mx(sh_, *resolver_, c);
    }
    // Outcomes: delivered (2xx), failed (5xx, or anything once the message is too old), deferred.
    std::vector<failed_recipient> failed, relayed, delayed;
    auto& qm = queue_metrics::get();
    for (const auto& r : c.rcpts) {
        const int cls = r.outcome.code / 100;
        if (cls == 2) {
            qm.delivered.inc();
            log::info("smtp.outbound_delivered", {{"queue_id", c.queue_id}, {"rcpt", r.address},
                                                  {"reply", r.outcome.text}, {"next_hop_dsn", c.next_hop_dsn}});
            // RFC 3461 6.2.4: a next hop without DSN ends the chain of reports here.
            if (!c.next_hop_dsn && r.notify && r.notify->find("SUCCESS") != std::string::npos)
                relayed.push_back({r.address, r.orcpt, "2.0.0", r.outcome.text, true, "relayed"});
        } else if (cls == 5 || c.expired) {
            qm.bounced.inc();
            const bool wants = !r.notify || r.notify->find("FAILURE") != std::string::npos;
            log::info("smtp.outbound_failed", {{"queue_id", c.queue_id}, {"rcpt", r.address},
                                               {"reply", r.outcome.text}, {"expired", c.expired}});
            if (wants) {
                failed_recipient f{r.address, r.orcpt, status_of(r.outcome),
                                   r.outcome.code ? r.outcome.text : "timeout: " + r.outcome.text,
                                   r.outcome.code != 0 && !r.outcome.local};
                if (c.expired && cls != 5) f.status = "4.4.7";   // RFC 3463: delivery time expired
                failed.push_back(std::move(f));
            }
        } else {
            qm.deferred.inc();
            log::info("smtp.outbound_deferred", {{"queue_id", c.queue_id}, {"rcpt", r.address},
                                                 {"attempts", r.attempts + 1}, {"reply", r.outcome.text}});
            // RFC 3461 4.1: NOTIFY=DELAY asks for one notice once delivery is late.
            if (!r.delay_notified && r.notify && r.notify->find("DELAY") != std::string::npos &&
                std::time(nullptr) - c.created >= static_cast<std::time_t>(sh_.cfg.smtp.dsn_delay_seconds)) {
                failed_recipient d{r.address, r.orcpt, status_of(r.outcome),
                                   r.outcome.code ? r.outcome.text : "no answer: " + r.outcome.text,
                                   r.outcome.code != 0 && !r.outcome.local, "delayed"};
                if (d.status.front() != '4') d.status = "4.4.1";
                delayed.push_back(std::move(d));
            }
        }
    }
    // A bounce goes to a local sender's INBOX (our senders are authenticated local accounts);
    // never for the null reverse-path (RFC 5321 6.1: no bounce loops).
    // Success notices return the header only (RFC 3461 4.3: RET applies to failures).
    std::vector<mailstore::prepared_message> notices;
    for (const auto* list : {&failed, &relayed, &delayed}) {
        if (list->empty() || c.sender.empty() || !c.sender_account_id) continue;
        const bool full = list == &failed && c.ret && *c.ret == "FULL";
        auto prepared = co_await sh_.pool.run([&](pqxx::connection&) -> result<mailstore::prepared_message> {
            auto orig = sh_.blobs.open(c.blob, 0, full ? std::optional<std::uint64_t>{} : 64 * 1024);
            std::string original;
            if (orig) {
                original.resize(orig->remaining());
                std::size_t have = 0;
                while (have < original.size()) {
                    auto n = orig->read(std::as_writable_bytes(std::span<char>(original.data() + have,
                                                                              original.size() - have)));
                    if (!n || *n == 0) break;
                    have += *n;
                }
                original.resize(have);
            }
            const std::string dsn = build_dsn(sh_.cfg.smtp.hostname, c.sender, c.envid, full, original, *list,
                                              c.created, std::time(nullptr),
                                              "Q" + std::to_string(c.queue_id) +
                                                  (list == &failed ? "F" : list == &relayed ? "S" : "D") +
                                                  std::to_string(std::time(nullptr)));
            auto id = mailstore::store_bytes(sh_.blobs, dsn);
            if (!id) return id.error();
            return mailstore::prepare_message(sh_.blobs, *id);
        });
        if (prepared) notices.push_back(std::move(*prepared));
        else log::error("smtp.bounce_failed", {{"queue_id", c.queue_id}, {"error", prepared.error()}});
    }
    const unsigned base = sh_.cfg.smtp.queue_retry_seconds;
    co_await sh_.pool.transact([&](pqxx::work& tx) {
        for (const auto& r : c.rcpts) {
            const int cls = r.outcome.code / 100;
            if (cls == 2 || cls == 5 || c.expired) {
                tx.exec_params("DELETE FROM mail.smtp_queue_rcpt WHERE id = $1", r.id);
            } else {
                tx.exec_params("UPDATE mail.smtp_queue_rcpt SET attempts = attempts + 1, last_error = $2, "
                               "next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                               r.id, r.outcome.text.substr(0, 1000),
                               static_cast<double>(backoff_seconds(base, r.attempts)));
            }
        }
        for (const auto& d : delayed)
            tx.exec_params("UPDATE mail.smtp_queue_rcpt SET delay_notified = true WHERE recipient = $1 AND queue_id = $2",
                           d.address, c.queue_id);
        for (const auto& notice : notices) {
            std::vector<mailstore::recipient> to{{*c.sender_account_id, "INBOX"}};
            mailstore::ops::deliver(tx, notice, to, std::time(nullptr));
        }
        tx.exec_params("DELETE FROM mail.smtp_queue q WHERE id = $1 AND NOT EXISTS "
                       "(SELECT 1 FROM mail.smtp_queue_rcpt r WHERE r.queue_id = q.id)",
                       c.queue_id);
    });
    co_return true;
}

}  // namespace polder::smtpd
