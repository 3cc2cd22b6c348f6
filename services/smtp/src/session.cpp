// session.cpp - one SMTP session of polder-smtpd: the pure state machine of
// polder::smtp_proto decides, this file carries out what it decides against the directory,
// the blob store and the mail store.
//
// Local delivery: the message is streamed into one blob (Return-Path: and Received:
// first, then the client's octets), SIZE enforced while streaming (552 5.3.4, the blob is
// aborted: nothing is stored); the blob is committed (fsync), parsed once
// (mailstore::prepare_message) and inserted into every recipient account's INBOX in ONE
// transaction (mailstore::ops::deliver); foreign recipients of an authenticated sender
// (routed domains or the smarthost, see queue.hpp) are queued in that same transaction.
// 250 is sent only after that COMMIT.
// On the MX listener the message is first checked (SPF, DKIM, DMARC: inbound_auth.hpp) and
// stored with our Authentication-Results: on top and forged ones removed; smtp.inbound_auth
// = "enforce" refuses DMARC p=reject failures (550 5.7.1) and files p=quarantine in Junk.
// Local recipients with NOTIFY=SUCCESS get their sender a "delivered" report after commit.
// A text/calendar part (iMIP, RFC 6047) is handed to polder-caldavd in the delivery's own
// transaction (mailstore/itip_mail.hpp), with the sender facts its checks need.
//
// SECURITY: sequencing (STARTTLS before AUTH, AUTH before MAIL on submission, recipient
// limits, error limits) is enforced by smtp::session_state; this file adds the policies
// that need the store: recipients must be ours (no relaying from MX), an authenticated
// account may use only its own addresses and aliases in MAIL FROM and From:, a per-account
// hourly rate limit, quota. Pipelined plaintext after STARTTLS is dropped before the
// handshake (CVE-2011-0411). Command lines ending in a bare LF are refused (500 5.5.2) and
// DATA/BDAT content with bare CR or LF is refused (550 5.6.0) - one policy against SMTP
// smuggling. A SASL authzid different from the login is refused (no proxy logins).
// Internal failures reach the client as "451 4.3.0" and are logged with the conn id.
// STANDARDS: RFC 5321, RFC 1870 (SIZE), RFC 2920 (PIPELINING), RFC 3030 (CHUNKING),
// RFC 3207 (STARTTLS), RFC 4954 (AUTH), RFC 6409 (submission), RFC 8314 (implicit TLS),
// RFC 3463 (enhanced status codes), RFC 3461 (DSN parameters, kept per transaction; 4.1
// NOTIFY=SUCCESS for local delivery), RFC 3464 (the report), RFC 8601, RFC 7489.
#include "inbound_auth.hpp"
#include "input.hpp"
#include "metrics.hpp"
#include "policy.hpp"
#include "queue.hpp"
#include "server.hpp"
#include "trace.hpp"

#include "polder/blob/store.hpp"
#include "polder/db/connection.hpp"
#include "polder/log/log.hpp"
#include "polder/mailstore/itip_mail.hpp"
#include "polder/mailstore/mailstore.hpp"
#include "polder/net/stream.hpp"
#include "polder/smtp/proto/command.hpp"
#include "polder/smtp/proto/data_reader.hpp"
#include "polder/smtp/proto/sasl.hpp"
#include "polder/smtp/proto/session_state.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>

namespace polder::smtpd {

namespace {

using smtp::reply;

reply temporary_failure() { return {451, "4.3.0", "Temporary local problem, try again later"}; }

std::string new_transaction_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string id;
    auto v = rng();
    for (int i = 0; i < 16; ++i) id += hex[(v >> (i * 4)) & 0xf];
    return id;
}

const char* listener_name(listener_kind k) {
    switch (k) {
        case listener_kind::mx: return "mx";
        case listener_kind::submission: return "submission";
        case listener_kind::submissions: return "submissions";
    }
    return "mx";
}

// Inbound checks hold a message in memory up to this size (most mail is smaller), so the
// stored blob can be written once, with Authentication-Results: on top; a larger message
// spills into a first blob that is read back for the checks (see finish_message).
constexpr std::size_t hold_limit = 256 * 1024;

// A message being received: the blob writer and what the reader reports.
struct incoming {
    blob::writer writer;
    bool store_failed = false;   // the blob store refused a write: reply 451 at the end
    std::uint64_t octets = 0;
    // Held for the inbound checks (MX listener): the client's octets without our trace
    // fields, which are kept aside to be written on top of the final blob.
    bool hold = false;
    bool spilled = false;        // held content went over hold_limit: it is in `writer`
    blob::store* store = nullptr;
    std::string memory;
    std::string return_path, received;

    void write(std::string_view bytes) {
        if (auto r = writer.write(bytes); !r) {
            store_failed = true;
            log::warn("smtp.blob_write_failed", {{"error", r.error()}});
        }
    }

    smtp::content_sink sink() {
        return [this](std::string_view bytes) {
            octets += bytes.size();
            if (store_failed) return;
            if (hold && !spilled) {
                memory.append(bytes);
                if (memory.size() <= hold_limit) return;
                spilled = true;
                auto w = store->begin();
                if (!w) {
                    store_failed = true;
                    log::warn("smtp.blob_begin_failed", {{"error", w.error()}});
                    return;
                }
                writer = std::move(*w);
                write(memory);
                std::string().swap(memory);
                return;
            }
            write(bytes);
        };
    }
};

// compose - the blob as stored after the inbound checks: Return-Path:, our
// Authentication-Results:, Received:, the client's header section without forged results,
// then its body unchanged. Errors: the blob store's.
result<blob::blob_id> compose(blob::store& blobs, const incoming& msg, const auth_verdict& v, const message_source& src) {
    auto w = blobs.begin();
    if (!w) return w.error();
    for (std::string_view part : {std::string_view(msg.return_path), std::string_view(v.field),
                                  std::string_view(msg.received), std::string_view(v.header_block)}) {
        if (auto r = w->write(part); !r) return r.error();
    }
    if (!src.blobs) {
        if (auto r = w->write(src.memory.substr(std::min(v.header_size, src.memory.size()))); !r) return r.error();
        return w->commit();
    }
    auto size = blobs.size(src.id);
    if (!size) return size.error();
    if (v.header_size < *size) {
        auto in = blobs.open(src.id, v.header_size);
        if (!in) return in.error();
        std::vector<std::byte> buf(64 * 1024);
        for (;;) {
            auto n = in->read(buf);
            if (!n) return n.error();
            if (*n == 0) break;
            if (auto r = w->write(std::span<const std::byte>(buf.data(), *n)); !r) return r.error();
        }
    }
    return w->commit();
}

class session {
public:
    session(const shared& sh, listener_kind kind, std::shared_ptr<net::stream> s, net::connection_info info)
        : sh_(sh), kind_(kind), stream_(std::move(s)), info_(std::move(info)), in_(*stream_),
          st_(make_settings(), kind == listener_kind::submissions) {}

    awaitable<void> run();

private:
    smtp::session_settings make_settings() const;
    awaitable<bool> send(const reply& r);
    awaitable<bool> refuse(const reply& r, std::string_view reason);
    awaitable<bool> on_auth(const smtp::auth_command& a);
    awaitable<bool> auth_refused(const reply& r, std::string_view reason);
    awaitable<bool> rcpt_refused(const reply& r, std::string_view reason, const smtp::rcpt_command& rcpt);
    awaitable<bool> on_mail(const smtp::mail_command& m, const reply& ok);
    awaitable<bool> on_rcpt(const smtp::rcpt_command& r);
    awaitable<bool> on_data(const reply& go_ahead);
    awaitable<bool> on_bdat(const smtp::decision& d);
    std::optional<incoming> begin_message();
    bool checking() const { return kind_ == listener_kind::mx && sh_.checker != nullptr; }
    awaitable<std::optional<reply>> run_checks(incoming& msg, std::optional<auth_verdict>& verdict,
                                               message_source& src);
    awaitable<reply> finish_message(incoming& msg);
    awaitable<void> send_success_notices(const mailstore::prepared_message& stored,
                                         const mailstore::delivery_result& delivered);
    void log_rejected(std::string_view reason, std::string_view detail = {});
    void reset_bdat() {
        bdat_.reset();   // an uncommitted writer discards its temp file
        bdat_reader_.reset();
    }

    template <class F>
    awaitable<std::optional<std::invoke_result_t<F&, pqxx::work&>>> transact(std::string_view op, F f);
    // transact_grouped - the same through the deliveries' group commit.
    template <class F>
    awaitable<std::optional<std::invoke_result_t<F&, pqxx::work&>>> transact_grouped(std::string_view op, F f);

    const shared& sh_;
    listener_kind kind_;
    std::shared_ptr<net::stream> stream_;
    net::connection_info info_;
    input in_;
    smtp::session_state st_;

    std::optional<sender_identity> identity_;
    // The open transaction.
    std::string txn_id_;
    std::vector<std::int64_t> accounts_;      // local accounts reached, no duplicates
    std::vector<std::string> rcpt_addresses_; // as accepted, for the Received: "for" clause
    std::vector<outbound_recipient> outbound_; // foreign recipients of an authenticated sender
    // Local recipients with NOTIFY=SUCCESS (RFC 3461 4.1): a "delivered" notice after commit.
    struct success_notice {
        std::string address;
        std::optional<std::string> orcpt;
        std::vector<std::int64_t> accounts;
    };
    std::vector<success_notice> success_;
    std::optional<incoming> bdat_;            // BDAT content received so far
    std::optional<smtp::bdat_reader> bdat_reader_;
};

smtp::session_settings session::make_settings() const {
    const auto& c = sh_.cfg;
    smtp::session_settings s;
    s.hostname = c.smtp.hostname;
    s.max_message_size = c.smtp.max_message_size;
    s.max_recipients = c.smtp.max_recipients;
    const bool submission = kind_ != listener_kind::mx;
    s.ext.starttls = kind_ != listener_kind::submissions && sh_.tls != nullptr;
    s.ext.auth = submission;
    // Plaintext AUTH only on loopback when the operator allowed it for development.
    s.auth_without_tls = submission && c.auth.allow_plaintext_on_loopback && info_.loopback;
    s.require_tls = submission && !s.auth_without_tls;
    s.require_auth = submission;
    return s;
}

awaitable<bool> session::send(const reply& r) {
    auto w = co_await stream_->write(r.to_wire(st_.esmtp() || !st_.greeted()));
    co_return static_cast<bool>(w);
}

void session::log_rejected(std::string_view reason, std::string_view detail) {
    smtp_metrics::get().rejected(reason).inc();
    log::info("smtp.rejected", {{"conn", info_.id}, {"listener", listener_name(kind_)}, {"reason", reason},
                                {"detail", detail}, {"user", identity_ ? identity_->address : std::string()}});
}

// refuse - send an error reply for a policy refusal and count it; false when the
// connection must end (write failed or too many errors).
awaitable<bool> session::refuse(const reply& r, std::string_view reason) {
    log_rejected(reason, r.text());
    const bool sent = co_await send(r);
    if (!sent) co_return false;
    if (st_.note_error()) {
        co_await send(smtp::replies::too_many_errors());
        co_return false;
    }
    co_return true;
}

template <class F>
awaitable<std::optional<std::invoke_result_t<F&, pqxx::work&>>> session::transact(std::string_view op, F f) {
    using R = std::invoke_result_t<F&, pqxx::work&>;
    std::string error;
    try {
        co_return std::optional<R>(co_await sh_.pool.transact(std::move(f)));
    } catch (const std::exception& e) {
        error = e.what();
    }
    log::warn("smtp.db_error", {{"conn", info_.id}, {"op", op}, {"error", error}});
    co_return std::nullopt;
}

template <class F>
awaitable<std::optional<std::invoke_result_t<F&, pqxx::work&>>> session::transact_grouped(std::string_view op, F f) {
    using R = std::invoke_result_t<F&, pqxx::work&>;
    std::string error;
    try {
        co_return std::optional<R>(co_await sh_.deliveries->transact(std::move(f)));
    } catch (const std::exception& e) {
        error = e.what();
    }
    log::warn("smtp.db_error", {{"conn", info_.id}, {"op", op}, {"error", error}});
    co_return std::nullopt;
}

awaitable<void> session::run() {
    auto weak = std::weak_ptr<net::stream>(stream_);
    if (info_.control) {
        info_.control->on_shutdown([weak] {
            if (auto s = weak.lock()) s->cancel();
        });
    }
    log::info("smtp.connect", {{"conn", info_.id}, {"listener", listener_name(kind_)}, {"peer", info_.peer_address}});
    if (kind_ == listener_kind::submissions) {
        if (auto r = co_await stream_->start_tls(); !r) {
            log::info("smtp.tls_failed", {{"conn", info_.id}, {"error", r.error()}});
            stream_->close();
            co_return;
        }
    }
    bool open = co_await send(st_.greeting());
    while (open) {
        if (info_.shutting_down()) {
            co_await send({421, "4.3.2", sh_.cfg.smtp.hostname + " Service shutting down"});
            break;
        }
        auto line = co_await in_.read_line(smtp::max_auth_line);
        smtp::decision d;
        if (!line) {
            const auto ec = line.error();
            if (is(ec, errc::limit_exceeded)) {
                d = st_.on_line_too_long();
            } else {
                if (is(ec, errc::timeout))
                    co_await send({421, "4.4.2", sh_.cfg.smtp.hostname + " Timeout, closing connection"});
                else if (ec == asio::error::operation_aborted && info_.shutting_down())
                    co_await send({421, "4.3.2", sh_.cfg.smtp.hostname + " Service shutting down"});
                log::debug("smtp.read_end", {{"conn", info_.id}, {"error", ec}});
                break;
            }
        } else if (line->bare_lf) {
            // Postfix 3.9 does the same: a command line must end in CRLF (RFC 5321 2.3.8).
            log_rejected("bare_line_ending", "command line ended with bare LF");
            open = co_await send({500, "5.5.2", "Command line must end with <CR><LF>"});
            if (open && st_.note_error()) {
                co_await send(smtp::replies::too_many_errors());
                open = false;
            }
            continue;
        } else {
            d = st_.on_line(line->text);
        }

        sh_.activity->touch();
        using smtp::action;
        switch (d.act) {
            case action::reply:
                open = co_await send(d.response);
                if (d.response.code == 250 && d.cmd && std::holds_alternative<smtp::rset_command>(*d.cmd))
                    reset_bdat();
                break;
            case action::close:
                co_await send(d.response);
                open = false;
                break;
            case action::start_tls:
                if (!co_await send(d.response)) { open = false; break; }
                // Anything pipelined after STARTTLS was sent in plaintext: never let it
                // count as commands inside TLS (CVE-2011-0411).
                if (in_.buffered() > 0) log_rejected("starttls_pipelining", "plaintext after STARTTLS dropped");
                in_.discard_buffer();
                if (auto r = co_await stream_->start_tls(); !r) {
                    log::info("smtp.tls_failed", {{"conn", info_.id}, {"error", r.error()}});
                    open = false;
                    break;
                }
                st_.tls_started();
                identity_.reset();
                break;
            case action::authenticate:
                open = co_await on_auth(std::get<smtp::auth_command>(*d.cmd));
                break;
            case action::mail:
                open = co_await on_mail(std::get<smtp::mail_command>(*d.cmd), d.response);
                break;
            case action::rcpt:
                open = co_await on_rcpt(std::get<smtp::rcpt_command>(*d.cmd));
                break;
            case action::data:
                open = co_await on_data(d.response);
                break;
            case action::bdat:
                open = co_await on_bdat(d);
                break;
            case action::bdat_discard:
                if (auto r = co_await in_.skip(d.chunk_size); !r) { open = false; break; }
                reset_bdat();
                open = co_await send(d.response);
                break;
        }
    }
    co_await stream_->shutdown();
    log::info("smtp.disconnect", {{"conn", info_.id}, {"errors", static_cast<std::int64_t>(st_.errors())}});
}

awaitable<bool> session::on_auth(const smtp::auth_command& a) {
    smtp::sasl::exchange ex(a.mechanism, a.initial_response);
    auto step = ex.start();
    while (step.state == smtp::sasl::exchange::status::challenge) {
        if (!co_await send(step.response)) co_return false;
        auto line = co_await in_.read_line(smtp::max_auth_line);
        if (!line) {
            if (!is(line.error(), errc::limit_exceeded)) co_return false;
            step = {smtp::sasl::exchange::status::failed, {500, "5.5.6", "Authentication exchange line is too long"}, {}};
            break;
        }
        step = ex.respond(line->text);
    }
    // The refusal is decided without suspending, then sent in one place (see auth_refused).
    std::optional<reply> refusal;
    const char* reason = "auth_failed";
    auto& creds = step.creds;
    if (step.state == smtp::sasl::exchange::status::failed) {
        refusal = step.response;
        reason = "auth_syntax";
    } else if (!creds.authzid.empty()) {
        auto z = normalize(creds.authzid), c = normalize(creds.authcid);
        if (!z || !c || *z != *c) refusal = smtp::sasl::invalid_credentials();   // no proxy logins
    }
    if (refusal) co_return co_await auth_refused(*refusal, reason);

    auto who = co_await sh_.authn.login(creds.authcid, creds.password, info_.peer_address, "smtp");
    creds.password.assign(creds.password.size(), '\0');
    if (!who) {
        if (is(who.error(), errc::auth_failed)) {
            refusal = smtp::sasl::invalid_credentials();
        } else {
            refusal = smtp::sasl::temporary_failure();
            reason = is(who.error(), errc::throttled) ? "auth_throttled" : "temporary_failure";
        }
        co_return co_await auth_refused(*refusal, reason);
    }
    auto principal = *who;
    auto id = co_await transact("load_identity", [&](pqxx::work& tx) { return load_identity(tx, principal); });
    if (!id) {
        refusal = smtp::sasl::temporary_failure();
        co_return co_await auth_refused(*refusal, "temporary_failure");
    }
    identity_ = std::move(*id);
    st_.authenticated(principal.address);
    log::info("smtp.auth", {{"conn", info_.id}, {"user", principal.address},
                            {"app_password", principal.app_password_id.has_value()}});
    co_return co_await send(smtp::sasl::success());
}

// auth_refused - send the reply ending a failed AUTH and count it; false when the
// connection must end.
awaitable<bool> session::auth_refused(const reply& r, std::string_view reason) {
    log_rejected(reason);
    const bool sent = co_await send(r);
    if (!sent) co_return false;
    if (st_.auth_failed()) {
        co_await send(smtp::replies::too_many_errors());
        co_return false;
    }
    co_return true;
}

// rcpt_refused - send a RCPT refusal and count it; false when the connection must end.
awaitable<bool> session::rcpt_refused(const reply& r, std::string_view reason, const smtp::rcpt_command& rcpt) {
    log_rejected(reason, rcpt.forward_path.str());
    const bool sent = co_await send(r);
    if (!sent) co_return false;
    if (st_.rcpt_rejected()) {
        co_await send(smtp::replies::too_many_errors());
        co_return false;
    }
    co_return true;
}

awaitable<bool> session::on_mail(const smtp::mail_command& m, const reply& ok) {
    reset_bdat();
    accounts_.clear();
    rcpt_addresses_.clear();
    outbound_.clear();
    success_.clear();
    txn_id_ = new_transaction_id();
    if (identity_) {
        if (m.reverse_path && !may_send_as(*identity_, m.reverse_path->local_value + "@" + m.reverse_path->domain)) {
            const reply no{553, "5.7.1", "Sender address not owned by the authenticated user"};
            co_return co_await refuse(no, "spoofed_sender");
        }
        const auto account = identity_->account_id;
        const unsigned limit = sh_.cfg.smtp.max_messages_per_hour;
        auto allowed = co_await transact("rate", [&](pqxx::work& tx) { return take_rate_slot(tx, account, limit); });
        if (!allowed) {
            const reply no = temporary_failure();
            co_return co_await refuse(no, "temporary_failure");
        }
        if (!*allowed) {
            const reply no{450, "4.7.1", "Message rate limit exceeded, try again later"};
            co_return co_await refuse(no, "rate_limited");
        }
    }
    st_.mail_accepted(m);
    co_return co_await send(ok);
}

awaitable<bool> session::on_rcpt(const smtp::rcpt_command& r) {
    std::string local = r.postmaster ? std::string("postmaster") : r.forward_path.local_value;
    std::string domain = r.postmaster ? sh_.cfg.smtp.hostname : r.forward_path.domain;
    const std::uint64_t size_hint = st_.mail() && st_.mail()->params.size ? *st_.mail()->params.size : 0;
    auto out = co_await transact("resolve_recipient", [&](pqxx::work& tx) {
        return resolve_recipient(tx, local, domain, size_hint);
    });
    std::optional<reply> refusal;
    const char* reason = "temporary_failure";
    const reply unknown{550, "5.1.1", "Recipient address rejected: no such user here"};
    bool routed = false;
    if (!out) {
        refusal = temporary_failure();
    } else {
        switch (out->status) {
            case rcpt_status::ok: break;
            case rcpt_status::unknown_user:
                refusal = unknown;
                reason = "unknown_user";
                break;
            case rcpt_status::over_quota:
                refusal = reply{452, "4.2.2", "Mailbox full, try again later"};
                reason = "over_quota";
                break;
            case rcpt_status::not_local:
                reason = "relay_denied";
                if (r.postmaster) {
                    refusal = unknown;
                    reason = "unknown_user";
                } else if (kind_ == listener_kind::mx || !identity_) {
                    refusal = reply{554, "5.7.1", "Relay access denied"};
                } else if (r.forward_path.address_literal) {
                    // Address literals bypass DNS (and every policy published there); users
                    // have no reason to send to them, spam tools do.
                    refusal = reply{550, "5.7.1", "Delivery to address literals is not enabled on this server"};
                } else {
                    routed = true;
                }
                break;
        }
    }
    if (refusal) co_return co_await rcpt_refused(*refusal, reason, r);
    if (routed) {
        outbound_recipient o;
        o.address = r.forward_path.str();
        o.domain = domain;
        for (auto& ch : o.domain) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (const auto& n = r.params.notify) {   // RFC 3461 4.1, kept for the DSN
            if (n->never) {
                o.notify = "NEVER";
            } else {
                std::string v;
                if (n->success) v += "SUCCESS,";
                if (n->failure) v += "FAILURE,";
                if (n->delay) v += "DELAY,";
                if (!v.empty()) v.pop_back();
                o.notify = v;
            }
        }
        if (const auto& oc = r.params.orcpt) o.orcpt = oc->addr_type + ";" + oc->address;
        outbound_.push_back(std::move(o));
    } else {
        for (auto a : out->accounts)
            if (std::find(accounts_.begin(), accounts_.end(), a) == accounts_.end()) accounts_.push_back(a);
        if (r.params.notify && r.params.notify->success && !r.params.notify->never) {
            success_notice n{r.forward_path.str(), std::nullopt, out->accounts};
            if (const auto& oc = r.params.orcpt) n.orcpt = oc->addr_type + ";" + oc->address;
            success_.push_back(std::move(n));
        }
    }
    rcpt_addresses_.push_back(r.forward_path.str());
    st_.rcpt_accepted(r);
    const reply ok{250, "2.1.5", "Recipient OK"};
    co_return co_await send(ok);
}

std::optional<incoming> session::begin_message() {
    incoming msg;
    if (checking()) {
        msg.hold = true;
        msg.store = &sh_.blobs;   // a writer only if the message spills (hold_limit)
    } else {
        auto w = sh_.blobs.begin();
        if (!w) {
            log::error("smtp.blob_begin_failed", {{"conn", info_.id}, {"error", w.error()}});
            return std::nullopt;
        }
        msg.writer = std::move(*w);
    }
    const auto& mail = *st_.mail();
    trace_info t;
    t.helo = st_.client_domain();
    t.peer_address = info_.peer_address;
    t.hostname = sh_.cfg.smtp.hostname;
    t.esmtp = st_.esmtp();
    t.tls = stream_->tls_active();
    t.tls_description = stream_->tls_description();
    t.authenticated = identity_.has_value();
    t.smtputf8 = mail.params.smtputf8;
    t.id = txn_id_;
    if (rcpt_addresses_.size() == 1) t.for_recipient = rcpt_addresses_.front();
    t.when = std::time(nullptr);
    std::optional<std::string> sender;
    if (mail.reverse_path) sender = mail.reverse_path->str();
    if (msg.hold) {
        msg.return_path = return_path_field(sender);
        msg.received = received_field(t);
        return msg;
    }
    const std::string headers = return_path_field(sender) + received_field(t);
    // Trace fields do not count against SIZE: RFC 1870 limits what the client sends.
    if (auto r = msg.writer.write(headers); !r) {
        log::error("smtp.blob_write_failed", {{"conn", info_.id}, {"error", r.error()}});
        msg.store_failed = true;
    }
    return msg;
}

awaitable<bool> session::on_data(const reply& go_ahead) {
    if (!co_await send(go_ahead)) co_return false;
    auto msg = begin_message();
    incoming discard;   // when the blob store cannot even begin: read to stay in step, then 451
    discard.store_failed = true;
    incoming& target = msg ? *msg : discard;
    smtp::data_reader reader(sh_.cfg.smtp.max_message_size);
    if (auto r = co_await in_.read_data(reader, target.sink()); !r) co_return false;
    reply result;
    if (auto e = reader.error_reply()) {
        target.writer.abort();
        log_rejected(reader.status() == smtp::content_status::too_large ? "too_large" : "bare_line_ending");
        result = *e;
    } else {
        result = co_await finish_message(target);
    }
    st_.message_done();
    co_return co_await send(result);
}

awaitable<bool> session::on_bdat(const smtp::decision& d) {
    if (!bdat_) {
        bdat_ = begin_message();
        if (!bdat_) {
            bdat_.emplace();
            bdat_->store_failed = true;
        }
    }
    // One reader per transaction, kept beside the blob (a chunk may end anywhere).
    if (!bdat_reader_) {
        const bool binary = st_.mail() && st_.mail()->params.body == smtp::body_type::binary_mime;
        bdat_reader_.emplace(sh_.cfg.smtp.max_message_size, !binary);
    }
    bdat_reader_->begin_chunk(d.chunk_size);
    if (auto r = co_await in_.read_chunk(*bdat_reader_, bdat_->sink()); !r) co_return false;
    if (d.last_chunk) bdat_reader_->finish();
    if (auto e = bdat_reader_->error_reply()) {
        bdat_->writer.abort();
        log_rejected(bdat_reader_->status() == smtp::content_status::too_large ? "too_large" : "bare_line_ending");
        reset_bdat();
        st_.bdat_failed();
        co_return co_await send(*e);
    }
    if (!d.last_chunk) co_return co_await send(d.response);
    auto result = co_await finish_message(*bdat_);
    reset_bdat();
    st_.message_done();
    co_return co_await send(result);
}

// run_checks - SPF, DKIM and DMARC of a held message (inbound_auth.hpp); fills verdict and
// the source compose() copies from. A reply when the message must be refused.
awaitable<std::optional<reply>> session::run_checks(incoming& msg, std::optional<auth_verdict>& verdict,
                                                    message_source& src) {
    if (msg.spilled) {
        // Too large to hold: the client's octets are committed as they are and read back.
        result<blob::blob_id> first = errc::unavailable;
        try {
            first = co_await sh_.pool.run([&](pqxx::connection&) { return msg.writer.commit(); });
        } catch (const std::exception& e) {
            log::warn("smtp.db_error", {{"conn", info_.id}, {"op", "commit"}, {"error", std::string(e.what())}});
        }
        if (!first) {
            log::error("smtp.store_failed", {{"conn", info_.id}, {"id", txn_id_}, {"error", first.error()}});
            log_rejected("temporary_failure", "blob store");
            co_return temporary_failure();
        }
        src.blobs = &sh_.blobs;
        src.id = *first;
    } else {
        src.memory = msg.memory;
    }
    const auto& mail = *st_.mail();
    auth_request req;
    req.peer_address = info_.peer_address;
    req.helo = st_.client_domain();
    if (mail.reverse_path) req.mail_from = mail.reverse_path->local_value + "@" + mail.reverse_path->domain;
    req.job = txn_id_;
    verdict = co_await sh_.checker->check_async(std::move(req), src);
    if (verdict->read_failed) {
        log_rejected("temporary_failure", "blob store");
        co_return temporary_failure();
    }
    if (verdict->header_too_large) {
        // The field we must remove could hide anywhere in it (RFC 8601 5).
        log_rejected("too_large", "header section");
        co_return reply{552, "5.3.4", "Message header section too large"};
    }
    auto& m = smtp_metrics::get();
    m.inbound_auth("spf", verdict->spf).inc();
    m.inbound_auth("dkim", verdict->dkim).inc();
    m.inbound_auth("dmarc", verdict->dmarc).inc();
    log::info("smtp.inbound_auth", {{"conn", info_.id}, {"id", txn_id_}, {"spf", verdict->spf},
                                    {"dkim", verdict->dkim}, {"dmarc", verdict->dmarc},
                                    {"forged_removed", static_cast<std::int64_t>(verdict->forged_removed)}});
    if (sh_.auth_mode == inbound_auth_mode::enforce && verdict->dmarc == "fail" &&
        verdict->disposition == dmarc_disposition::reject) {
        log_rejected("dmarc_reject", "DMARC policy reject");
        // RFC 7489 10.3 suggests 550 5.7.1 with a text naming DMARC.
        co_return reply{550, "5.7.1", "Message rejected: the sender domain's DMARC policy says to reject it"};
    }
    co_return std::nullopt;
}

awaitable<reply> session::finish_message(incoming& msg) {
    if (msg.store_failed) {
        msg.writer.abort();
        log_rejected("temporary_failure", "blob store");
        co_return temporary_failure();
    }
    const auto started = std::chrono::steady_clock::now();
    std::optional<auth_verdict> verdict;
    message_source src;
    if (msg.hold) {
        if (auto refusal = co_await run_checks(msg, verdict, src)) co_return *refusal;
    }
    // Commit (fsync) and parse on the file I/O threads: neither an I/O thread nor a
    // database connection waits for the disk.
    result<mailstore::prepared_message> prepared = errc::unavailable;
    std::optional<mailstore::itip_part> itip;   // iMIP for polder-caldavd (mailstore/itip_mail.hpp)
    try {
        prepared = co_await service::on_file_io(*sh_.file_io, [&]() -> result<mailstore::prepared_message> {
            auto id = verdict ? compose(sh_.blobs, msg, *verdict, src) : msg.writer.commit();
            if (!id) return id.error();
            auto p = mailstore::prepare_message(sh_.blobs, *id);
            if (p && !accounts_.empty()) itip = mailstore::extract_itip(sh_.blobs, *p);
            return p;
        });
    } catch (const std::exception& e) {   // bad_alloc, or the process is stopping
        log::warn("smtp.store_error", {{"conn", info_.id}, {"op", "prepare"}, {"error", std::string(e.what())}});
    }
    if (!prepared) {
        log::error("smtp.store_failed", {{"conn", info_.id}, {"id", txn_id_}, {"error", prepared.error()}});
        log_rejected("temporary_failure", "blob store");
        co_return temporary_failure();
    }
    if (identity_) {
        // RFC 6409 8.1 lets the MSA check the From: field: only the account's own addresses.
        for (const auto& a : prepared->info.env.from) {
            if (!a.mailbox || !a.host) continue;   // group syntax markers
            if (!may_send_as(*identity_, *a.mailbox + "@" + *a.host)) {
                log_rejected("spoofed_sender", "From: " + *a.mailbox + "@" + *a.host);
                co_return reply{550, "5.7.1", "From: header address not owned by the authenticated user"};
            }
        }
    }
    // RFC 7489 6.6.2 / 7.x: a quarantine disposition goes to the Junk mailbox (enforce).
    const bool quarantine = verdict && sh_.auth_mode == inbound_auth_mode::enforce && verdict->dmarc == "fail" &&
                            verdict->disposition == dmarc_disposition::quarantine;
    std::vector<mailstore::recipient> rcpts;
    for (auto a : accounts_) rcpts.push_back({a, quarantine ? "Junk" : "INBOX"});
    const std::int64_t now = std::time(nullptr);
    std::optional<outbound_message> out;
    if (!outbound_.empty()) {
        const auto& mail = *st_.mail();
        out.emplace();
        out->blob = prepared->blob;
        out->size = prepared->size;
        if (mail.reverse_path) out->sender = mail.reverse_path->str();
        if (identity_) out->sender_account_id = identity_->account_id;
        out->envid = mail.params.envid;
        if (mail.params.ret) out->ret = *mail.params.ret == smtp::dsn_ret::full ? "FULL" : "HDRS";
        out->smtputf8 = mail.params.smtputf8;
    }
    const unsigned max_age = sh_.cfg.smtp.queue_max_age_seconds;
    // Local deliveries and the queue rows commit together: the 250 covers both.
    mailstore::itip_origin itip_from;
    if (itip) {
        const auto& mail = *st_.mail();
        if (mail.reverse_path) itip_from.envelope_sender = mail.reverse_path->local_value + "@" + mail.reverse_path->domain;
        itip_from.via = identity_ ? "submission" : "mx";
        if (verdict) {
            itip_from.spf = verdict->spf;
            itip_from.dmarc = verdict->dmarc;
        }
    }
    auto delivered = co_await transact_grouped("deliver", [&](pqxx::work& tx) {
        mailstore::delivery_result d;
        if (!rcpts.empty()) d = mailstore::ops::deliver(tx, *prepared, rcpts, now);
        if (itip) {
            // The calendar hand-off commits with the INBOX copy, for the accounts that got it.
            std::vector<std::int64_t> got;
            for (const auto& r : d.recipients)
                if (!r.error) got.push_back(r.account_id);
            mailstore::queue_itip(tx, *itip, *prepared, got, itip_from);
        }
        if (out) enqueue(tx, *out, outbound_, max_age);
        return d;
    });
    if (!delivered) {
        log_rejected("temporary_failure", "deliver");
        co_return temporary_failure();
    }
    std::size_t ok = 0, full = 0;
    for (const auto& r : delivered->recipients) {
        if (!r.error) ++ok;
        else if (is(r.error, errc::quota_exceeded)) ++full;
        else log::warn("smtp.recipient_failed", {{"conn", info_.id}, {"id", txn_id_}, {"account", r.account_id},
                                                 {"error", r.error}});
    }
    auto& m = smtp_metrics::get();
    m.delivery_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (ok == 0 && outbound_.empty()) {
        if (full > 0) {
            log_rejected("over_quota", "at delivery");
            co_return reply{552, "5.2.2", "Mailbox full"};
        }
        log_rejected("unknown_user", "at delivery");
        co_return reply{550, "5.1.1", "Recipient address rejected: no such user here"};
    }
    if (!success_.empty() && ok > 0) co_await send_success_notices(*prepared, *delivered);
    m.accepted(listener_name(kind_)).inc();
    m.delivered.inc(ok);
    m.bytes_received.inc(msg.octets);
    const auto& mail = *st_.mail();
    log::info("smtp.delivered", {{"conn", info_.id}, {"id", txn_id_}, {"listener", listener_name(kind_)},
                                 {"from", mail.reverse_path ? mail.reverse_path->str() : std::string("<>")},
                                 {"recipients", static_cast<std::int64_t>(rcpt_addresses_.size())},
                                 {"accounts", static_cast<std::int64_t>(ok)},
                                 {"queued", static_cast<std::int64_t>(outbound_.size())},
                                 {"size", static_cast<std::int64_t>(prepared->size)},
                                 {"blob", prepared->blob.hex()},
                                 {"user", identity_ ? identity_->address : std::string()}});
    co_return reply{250, "2.0.0", "OK id=" + txn_id_};
}

// send_success_notices - RFC 3461 NOTIFY=SUCCESS for local recipients: one RFC 3464
// report ("delivered", or "expanded" for an alias or group reaching several mailboxes) to
// the envelope sender - into its INBOX when it is one of ours, else queued to it with the
// null reverse-path (RFC 3461 6.2, RFC 5321 4.5.5: no notices about notices). Runs after
// the delivery committed; a failure here is logged and does not undo the 250.
awaitable<void> session::send_success_notices(const mailstore::prepared_message& stored,
                                              const mailstore::delivery_result& delivered) {
    const auto& mail = *st_.mail();
    if (!mail.reverse_path) co_return;   // never for <>
    std::vector<failed_recipient> entries;
    for (const auto& n : success_) {
        const bool got = std::any_of(delivered.recipients.begin(), delivered.recipients.end(), [&](const auto& r) {
            return !r.error && std::find(n.accounts.begin(), n.accounts.end(), r.account_id) != n.accounts.end();
        });
        if (!got) continue;
        failed_recipient e{n.address, n.orcpt, "2.0.0", "delivered to the mailbox", false,
                           n.accounts.size() > 1 ? "expanded" : "delivered"};
        if (n.accounts.size() > 1) e.diagnostic = "delivered to " + std::to_string(n.accounts.size()) + " mailboxes";
        entries.push_back(std::move(e));
    }
    if (entries.empty()) co_return;
    const std::string sender = mail.reverse_path->str();
    const std::string sender_local = mail.reverse_path->local_value, sender_domain = mail.reverse_path->domain;
    const auto envid = mail.params.envid;
    const std::string id = txn_id_ + "S";
    const std::time_t arrival = std::time(nullptr);
    result<mailstore::prepared_message> notice = errc::unavailable;
    try {
        notice = co_await sh_.pool.run([&](pqxx::connection&) -> result<mailstore::prepared_message> {
            // Success reports carry the header only (RFC 3461 4.3: RET is about failures).
            std::string original;
            if (auto in = sh_.blobs.open(stored.blob, 0, 64 * 1024)) {
                original.resize(in->remaining());
                std::size_t have = 0;
                while (have < original.size()) {
                    auto n = in->read(std::as_writable_bytes(std::span<char>(original.data() + have, original.size() - have)));
                    if (!n || *n == 0) break;
                    have += *n;
                }
                original.resize(have);
            }
            const auto dsn = build_dsn(sh_.cfg.smtp.hostname, sender, envid, false, original, entries, arrival,
                                       std::time(nullptr), id);
            auto blob = mailstore::store_bytes(sh_.blobs, dsn);
            if (!blob) return blob.error();
            return mailstore::prepare_message(sh_.blobs, *blob);
        });
    } catch (const std::exception& e) {
        log::warn("smtp.db_error", {{"conn", info_.id}, {"op", "success_notice"}, {"error", std::string(e.what())}});
    }
    if (!notice) {
        log::error("smtp.success_notice_failed", {{"conn", info_.id}, {"id", txn_id_}, {"error", notice.error()}});
        co_return;
    }
    const unsigned max_age = sh_.cfg.smtp.queue_max_age_seconds;
    auto where = co_await transact("success_notice", [&](pqxx::work& tx) -> std::string {
        auto to = resolve_recipient(tx, sender_local, sender_domain, notice->size);
        if (to.status == rcpt_status::ok) {
            std::vector<mailstore::recipient> rcpts;
            for (auto a : to.accounts) rcpts.push_back({a, "INBOX"});
            mailstore::ops::deliver(tx, *notice, rcpts, std::time(nullptr));
            return "local";
        }
        if (to.status != rcpt_status::not_local) return "dropped";   // our domain, no such user / full
        outbound_message o;
        o.blob = notice->blob;
        o.size = notice->size;   // sender "" = the null reverse-path
        outbound_recipient r;
        r.address = sender;
        r.domain = sender_domain;
        for (auto& ch : r.domain) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::vector<outbound_recipient> rs{r};
        enqueue(tx, o, rs, max_age);
        return "queued";
    });
    log::info("smtp.success_notice", {{"conn", info_.id}, {"id", txn_id_}, {"to", sender},
                                      {"recipients", static_cast<std::int64_t>(entries.size())},
                                      {"where", where ? *where : std::string("failed")}});
}

}  // namespace

awaitable<void> run_session(const shared& sh, listener_kind kind, asio::ip::tcp::socket socket,
                            net::connection_info info) {
    std::shared_ptr<net::stream> s = net::make_tcp_stream(std::move(socket), sh.tls, info);
    session sess(sh, kind, std::move(s), std::move(info));
    co_await sess.run();
}

}  // namespace polder::smtpd
