// session_state.cpp - SMTP command sequencing and EHLO capabilities.
//
// SECURITY: see session_state.hpp; every refusal is decided here so the server has one
// place to audit. Error replies are counted; past the limit the session is closed.
// STANDARDS: RFC 5321, RFC 2920, RFC 1870, RFC 6152, RFC 6531, RFC 3030, RFC 3461,
// RFC 2034, RFC 4954, RFC 3207.
#include "polder/smtp/proto/session_state.hpp"

#include <type_traits>
#include <utility>

namespace polder::smtp {

session_state::session_state(session_settings settings, bool tls_active)
    : settings_(std::move(settings)), tls_(tls_active) {
    if (settings_.max_message_size == 0) settings_.max_message_size = 1;   // 0 would mean "no limit"; we always have one
    if (!settings_.ext.chunking) settings_.ext.binarymime = false;          // RFC 3030: BINARYMIME needs BDAT
}

reply session_state::greeting() const { return {220, "", settings_.hostname + " ESMTP Polder"}; }

bool session_state::auth_offered() const {
    return settings_.ext.auth && !settings_.auth_mechanisms.empty() && (tls_ || settings_.auth_without_tls);
}

std::vector<std::string> session_state::ehlo_keywords() const {
    std::vector<std::string> k;
    const auto& e = settings_.ext;
    if (e.pipelining) k.emplace_back("PIPELINING");
    if (e.size) k.push_back("SIZE " + std::to_string(settings_.max_message_size));
    if (e.eightbitmime) k.emplace_back("8BITMIME");
    if (e.smtputf8) k.emplace_back("SMTPUTF8");
    if (e.chunking) k.emplace_back("CHUNKING");
    if (e.chunking && e.binarymime) k.emplace_back("BINARYMIME");
    if (e.dsn) k.emplace_back("DSN");
    if (e.enhanced_status_codes) k.emplace_back("ENHANCEDSTATUSCODES");
    if (e.starttls && !tls_) k.emplace_back("STARTTLS");
    if (auth_offered()) {
        std::string a = "AUTH";
        for (const auto& m : settings_.auth_mechanisms) a += " " + m;
        k.push_back(std::move(a));
    }
    return k;
}

reply session_state::ehlo_reply() const {
    reply r;
    r.code = 250;
    r.lines.push_back(settings_.hostname);
    for (auto& k : ehlo_keywords()) r.lines.push_back(std::move(k));
    return r;   // no enhanced code on the EHLO reply (RFC 2034 §3)
}

parse_options session_state::options() const {
    parse_options o;
    o.ext = settings_.ext;
    o.esmtp = esmtp_;
    o.utf8_transaction = mail_ && mail_->params.smtputf8;
    return o;
}

decision session_state::counted(decision d) {
    // A refused BDAT counts too; when it hits the limit the chunk is not worth reading.
    if ((d.act == action::reply || d.act == action::bdat_discard) && d.response.code >= 400) {
        if (note_error()) {
            d.act = action::close;
            d.response = replies::too_many_errors();
        }
    }
    return d;
}

bool session_state::note_error() { return ++errors_ >= settings_.max_errors; }
bool session_state::auth_failed() { return note_error(); }
bool session_state::rcpt_rejected() {
    ++rcpt_attempts_;
    return note_error();
}

decision session_state::on_line(std::string_view line) {
    auto p = parse_command(line, options());
    if (!p) {
        decision d;
        d.act = p.close ? action::close : action::reply;
        d.response = std::move(p.error);
        return counted(std::move(d));
    }
    return on_command(std::move(*p.cmd));
}

decision session_state::on_command(command cmd) { return counted(decide(std::move(cmd))); }

decision session_state::on_line_too_long() {
    decision d;
    d.response = replies::line_too_long();
    return counted(std::move(d));
}

void session_state::reset_transaction() {
    mail_.reset();
    rcpts_.clear();
    rcpt_attempts_ = 0;
    bdat_started_ = false;
    data_started_ = false;
    bdat_total_ = 0;
}

void session_state::tls_started() {
    tls_ = true;
    greeted_ = false;
    esmtp_ = false;
    client_domain_.clear();
    identity_.reset();
    reset_transaction();
}

void session_state::authenticated(std::string identity) { identity_ = std::move(identity); }

void session_state::mail_accepted(const mail_command& mail) {
    reset_transaction();
    mail_ = mail;
}

void session_state::rcpt_accepted(const rcpt_command& rcpt) {
    ++rcpt_attempts_;
    rcpts_.push_back(rcpt);
}

void session_state::message_done() { reset_transaction(); }
void session_state::bdat_failed() { reset_transaction(); }

decision session_state::decide(command&& cmd) {
    decision d;
    const auto refuse = [&](reply r) {
        d.act = action::reply;
        d.response = std::move(r);
        return std::move(d);
    };

    if (auto* h = std::get_if<hello_command>(&cmd)) {
        reset_transaction();   // RFC 5321 §4.1.4: EHLO/HELO also reset any transaction
        greeted_ = true;
        esmtp_ = h->extended;
        client_domain_ = h->domain;
        d.response = h->extended ? ehlo_reply() : reply{250, "", settings_.hostname};
        d.cmd = std::move(cmd);
        return d;
    }
    if (auto* b = std::get_if<bdat_command>(&cmd)) {
        // Whatever the outcome, a chunk follows on the wire and must not be read as commands.
        d.chunk_size = b->size;
        d.last_chunk = b->last;
        d.cmd = std::move(cmd);
        if (!settings_.ext.chunking) return refuse(replies::not_implemented("BDAT"));
        if (d.chunk_size > settings_.max_message_size) {
            // Too big to be worth reading to stay in step: refuse and end the session.
            d.act = action::close;
            d.response = replies::message_too_big(settings_.max_message_size);
            return d;
        }
        d.act = action::bdat_discard;
        if (!greeted_) { d.response = replies::bad_sequence("Send EHLO first"); return d; }
        if (!esmtp_) { d.response = replies::bad_sequence("BDAT requires EHLO"); return d; }
        if (!mail_) { d.response = replies::bad_sequence("No transaction: send MAIL first"); return d; }
        if (data_started_) { d.response = replies::bad_sequence("DATA and BDAT cannot be mixed"); return d; }
        if (rcpts_.empty()) {
            d.response = rcpt_attempts_ > 0 ? reply{554, "5.5.1", "No valid recipients"}
                                            : replies::bad_sequence("Send RCPT first");
            return d;
        }
        if (bdat_total_ + d.chunk_size > settings_.max_message_size) {
            d.response = replies::message_too_big(settings_.max_message_size);
            reset_transaction();   // RFC 3030 §2: the transaction failed; later chunks are dropped
            return d;
        }
        bdat_started_ = true;
        bdat_total_ += d.chunk_size;
        d.act = action::bdat;
        d.response = {250, "2.0.0", std::to_string(d.chunk_size) + " octets received"};
        if (d.last_chunk) d.response = {250, "2.0.0", "Message accepted"};
        return d;
    }

    struct visitor {
        session_state& s;
        decision& d;
        decision refuse(reply r) const {
            d.act = action::reply;
            d.response = std::move(r);
            return std::move(d);
        }
        decision operator()(hello_command&) const { return std::move(d); }   // handled above
        decision operator()(bdat_command&) const { return std::move(d); }    // handled above
        decision operator()(mail_command& m) const {
            const auto& st = s.settings_;
            if (!s.greeted_) return refuse(replies::bad_sequence("Send EHLO or HELO first"));
            if (s.mail_) return refuse(replies::bad_sequence("Nested MAIL command"));
            if (st.require_tls && !s.tls_) return refuse({530, "5.7.0", "Must issue a STARTTLS command first"});
            if (st.require_auth && !s.identity_) return refuse({530, "5.7.0", "Authentication required"});
            if (m.params.size && *m.params.size > st.max_message_size)
                return refuse(replies::message_too_big(st.max_message_size));
            d.act = action::mail;
            d.response = replies::ok("Sender OK");
            return std::move(d);
        }
        decision operator()(rcpt_command&) const {
            if (!s.greeted_) return refuse(replies::bad_sequence("Send EHLO or HELO first"));
            if (!s.mail_) return refuse(replies::bad_sequence("Send MAIL first"));
            if (s.data_started_ || s.bdat_started_) return refuse(replies::bad_sequence("Message data already started"));
            if (s.rcpts_.size() >= s.settings_.max_recipients)
                return refuse({452, "4.5.3", "Too many recipients"});   // RFC 5321 §4.5.3.1.10
            d.act = action::rcpt;
            d.response = replies::ok("Recipient OK");
            return std::move(d);
        }
        decision operator()(data_command&) const {
            if (!s.greeted_) return refuse(replies::bad_sequence("Send EHLO or HELO first"));
            if (!s.mail_) return refuse(replies::bad_sequence("Send MAIL first"));
            if (s.bdat_started_) return refuse(replies::bad_sequence("DATA and BDAT cannot be mixed"));
            if (s.rcpts_.empty())
                return refuse(s.rcpt_attempts_ > 0 ? reply{554, "5.5.1", "No valid recipients"}
                                                   : replies::bad_sequence("Send RCPT first"));
            if (s.mail_->params.body == body_type::binary_mime)
                return refuse(replies::bad_sequence("BODY=BINARYMIME requires BDAT"));   // RFC 3030 §3
            s.data_started_ = true;
            d.act = action::data;
            d.response = {354, "", "End data with <CR><LF>.<CR><LF>"};
            return std::move(d);
        }
        decision operator()(rset_command&) const {
            s.reset_transaction();
            return refuse(replies::ok("Reset OK"));
        }
        decision operator()(noop_command&) const { return refuse(replies::ok("OK")); }
        decision operator()(quit_command&) const {
            d.act = action::close;
            d.response = {221, "2.0.0", s.settings_.hostname + " closing connection"};
            return std::move(d);
        }
        decision operator()(vrfy_command&) const {
            // RFC 5321 §3.5.3: 252 says nothing about whether the user exists.
            return refuse({252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery"});
        }
        decision operator()(expn_command&) const { return refuse(replies::not_implemented("EXPN")); }
        decision operator()(help_command&) const {
            return refuse({214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"});
        }
        decision operator()(starttls_command&) const {
            if (!s.settings_.ext.starttls) return refuse(replies::not_implemented("STARTTLS"));
            if (s.tls_) return refuse(replies::bad_sequence("TLS already active"));
            if (!s.greeted_ || !s.esmtp_) return refuse(replies::bad_sequence("Send EHLO first"));
            if (s.mail_) return refuse(replies::bad_sequence("STARTTLS not allowed during a mail transaction"));
            d.act = action::start_tls;
            d.response = {220, "2.0.0", "Ready to start TLS"};
            return std::move(d);
        }
        decision operator()(auth_command& a) const {
            const auto& st = s.settings_;
            if (!st.ext.auth) return refuse(replies::bad_sequence("Authentication not enabled"));
            if (!s.greeted_ || !s.esmtp_) return refuse(replies::bad_sequence("Send EHLO first"));
            if (s.identity_) return refuse(replies::bad_sequence("Already authenticated"));   // RFC 4954 §4
            if (s.mail_) return refuse(replies::bad_sequence("AUTH not allowed during a mail transaction"));
            if (!s.tls_ && (st.require_tls || !st.auth_without_tls))
                return refuse({538, "5.7.11", "Encryption required for requested authentication mechanism"});
            bool offered = false;
            for (const auto& m : st.auth_mechanisms) offered = offered || m == a.mechanism;
            if (!offered) return refuse({504, "5.5.4", "Unrecognized authentication type"});
            d.act = action::authenticate;
            return std::move(d);
        }
    };
    decision out = std::visit(visitor{*this, d}, cmd);
    out.cmd = std::move(cmd);   // the server needs the arguments (MAIL, RCPT, AUTH) and logs the verb
    return out;
}

}  // namespace polder::smtp
