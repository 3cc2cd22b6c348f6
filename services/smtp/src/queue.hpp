// queue.hpp - polder-smtpd's durable outbound queue: messages that authenticated users
// send to other domains, delivered by workers over SMTP to the configured routes, retried
// with exponential backoff, and bounced to the sender's INBOX with an RFC 3464 DSN when
// delivery fails permanently or the message grows too old.
//
// Durability and sharing: enqueue() runs inside the same transaction as the local
// deliveries of a message, so the session's 250 covers both. Workers (two per process, any
// number of processes) claim due recipients with SELECT ... FOR UPDATE SKIP LOCKED and move
// their next_attempt_at forward by a lease before connecting, so no two workers attempt the
// same recipient at once; the outcome (delete, reschedule, bounce) is one transaction.
// A worker that dies mid-delivery leaves the recipient to be retried when the lease ends
// (the remote may then receive it twice - SMTP's usual at-least-once).
//
// Routing: smtp.routes maps a domain to host:port; smtp.smarthost takes every other domain
// (with AUTH PLAIN over STARTTLS when smtp.smarthost_user is set); without a smarthost the
// workers look up the domain's MX hosts (dns.hpp, RFC 5321 section 5.1) and try them in
// order of preference, each address in turn, until one gives a verdict. A null MX (RFC
// 7505) or a domain that does not exist bounces at once; DNS trouble defers.
//
// Outbound mail is DKIM-signed (dkim.hpp) with the active key of the envelope sender's
// domain, when it has one; our Return-Path: line is not sent (RFC 5321 4.4).
//
// SECURITY: the client upgrades with STARTTLS whenever the next hop offers it. The
// smarthost's certificate is verified (chain and name, smtp.smarthost_tls_verify, default
// on; then a smarthost without STARTTLS or with a bad certificate defers the mail with the
// reason in the queue row); MX hosts get opportunistic TLS (RFC 7435, certificate not
// verified) unless smtp.mx_tls_verify; routes are opportunistic (client_stream.hpp). Every remote reply
// is bounded (line length, number of lines) and sanitised before it goes into logs, the
// queue table or a DSN.
// STANDARDS: RFC 5321 (client side: 4.1, 4.5.2 transparency, 4.5.4.1 retry strategy,
// 4.5.3.2 timeouts), RFC 3207 + RFC 7435 (opportunistic STARTTLS), RFC 3461 (NOTIFY, RET, ENVID, ORCPT), RFC 3464 (DSN format),
// RFC 6522 (multipart/report), RFC 3834 (Auto-Submitted), RFC 7505 (null MX), RFC 6376 (DKIM).
#pragma once

#include "dkim.hpp"
#include "dns.hpp"
#include "server.hpp"

#include "polder/blob/blob_id.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::smtpd {

struct route {
    std::string domain;   // lower case; empty for the smarthost
    std::string host;
    std::uint16_t port = 25;
    bool smarthost = false;   // AUTH with smtp.smarthost_user/password (only over TLS)
    bool mx = false;          // found in DNS (deliver_to_mx): TLS verified only with smtp.mx_tls_verify
};

// parse_routes - smtp.routes ("d=host:port,..."; validated by the config loader). Entries
// that do not parse are skipped.
std::vector<route> parse_routes(std::string_view text);
const route* find_route(const std::vector<route>& routes, std::string_view domain);

// next_hop - the route for domain, else the smarthost (smtp.smarthost), else nullopt.
std::optional<route> next_hop(const config::smtp_settings& s, std::string_view domain);

struct outbound_recipient {
    std::string address;
    std::string domain;                  // lower case
    std::optional<std::string> notify;   // "NEVER" or e.g. "SUCCESS,FAILURE"
    std::optional<std::string> orcpt;    // "rfc822;addr"
};

struct outbound_message {
    blob::blob_id blob;
    std::uint64_t size = 0;
    std::string sender;                       // "" = null reverse-path
    std::optional<std::int64_t> sender_account_id;
    std::optional<std::string> envid;
    std::optional<std::string> ret;           // "FULL" | "HDRS"
    bool smtputf8 = false;
};

// enqueue - inside the caller's transaction; returns the queue id. Workers poll for due
// recipients once a second, so a queued message leaves within about a second.
std::int64_t enqueue(pqxx::work& tx, const outbound_message& msg, const std::vector<outbound_recipient>& rcpts,
                     unsigned max_age_seconds);

// backoff_seconds - delay before attempt n+1 after n failed attempts: base * 2^n, at most 4 hours.
std::int64_t backoff_seconds(unsigned base, int attempts);

// build_dsn - an RFC 3464 delivery status notification: failures ("Undelivered Mail
// Returned to Sender"), "delayed" notices, or, when every entry's action is "relayed",
// "delivered" or "expanded", a success notice for NOTIFY=SUCCESS recipients handed to a
// next hop without DSN support (RFC 3461 6.2.4) or delivered into local mailboxes.
struct failed_recipient {
    std::string address;
    std::optional<std::string> orcpt;
    std::string status;       // "5.1.1"
    std::string diagnostic;   // the remote reply, e.g. "550 5.1.1 no such user"
    bool remote = true;       // diagnostic came from the remote server
    std::string action = "failed";   // RFC 3464 2.3.3: failed | delayed | relayed | delivered | expanded
};
std::string build_dsn(std::string_view hostname, std::string_view sender, const std::optional<std::string>& envid,
                      bool full, std::string_view original, const std::vector<failed_recipient>& failed,
                      std::time_t arrival, std::time_t now, std::string_view id);

// queue_runner - the delivery workers of this process.
class queue_runner {
public:
    queue_runner(const shared& sh, asio::any_io_executor ex);
    ~queue_runner();
    void start(unsigned workers);
    void stop();

private:
    awaitable<void> worker(unsigned n);
    awaitable<bool> run_once();

    // No I/O objects here: the runner outlives the io_context (it belongs to main's server),
    // so timers and strands live in the worker coroutines, which the io_context owns.
    const shared& sh_;
    asio::any_io_executor ex_;
    std::atomic<bool> stopping_{false};
    // MX lookups (its own threads; not tied to the io_context). Null when libunbound could
    // not be set up: MX deliveries are then deferred with that reason.
    std::unique_ptr<dns_resolver> resolver_;
    // DKIM signing with the sender domain's key (dkim.hpp); null if libopendkim failed to start.
    std::unique_ptr<dkim_signer> signer_;
};

}  // namespace polder::smtpd
