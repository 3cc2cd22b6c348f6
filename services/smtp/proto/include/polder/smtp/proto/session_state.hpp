// polder/smtp/proto/session_state.hpp - the SMTP session as a pure state machine: given the
// state and a command, decide the reply or the action the server must carry out.
//
// SECURITY: sequencing is enforced here, in one place, so the server cannot forget it:
// nothing before EHLO/HELO; AUTH only when offered, only over TLS unless explicitly
// allowed, never twice; MAIL only after STARTTLS/AUTH when the listener requires them;
// RCPT only inside a transaction and never more than max_recipients; DATA/BDAT only with
// at least one accepted recipient. STARTTLS tells the server to drop pipelined plaintext
// (the STARTTLS command-injection class, CVE-2011-0411) and resets the session (RFC 3207
// §4.2). Every BDAT that is refused still tells the server to read and drop its chunk, so
// chunk bytes are never taken for commands. After max_errors error replies the connection
// is closed with 421.
// STANDARDS: RFC 5321 §3.3, §4.1.1, §4.1.4 (command order), §4.5.3.1.8 (recipients);
// RFC 2920 (PIPELINING), RFC 1870 (SIZE, 552 5.3.4), RFC 6152, RFC 6531, RFC 3030 (BDAT,
// BINARYMIME needs BDAT, discarding chunks after a failure), RFC 3461, RFC 2034, RFC 4954
// (AUTH sequencing, 530 5.7.0, 538 5.7.11), RFC 3207 (STARTTLS).
#pragma once

#include "polder/smtp/proto/command.hpp"
#include "polder/smtp/proto/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::smtp {

struct session_settings {
    std::string hostname = "localhost";        // in the greeting, EHLO reply and Received headers
    extensions ext;                             // ext.starttls: this listener can upgrade; ext.auth: AUTH offered here
    std::uint64_t max_message_size = 50ull * 1024 * 1024;   // advertised with SIZE and enforced; must be > 0
    unsigned max_recipients = 1000;             // RFC 5321 §4.5.3.1.8: at least 100
    std::vector<std::string> auth_mechanisms{"PLAIN", "LOGIN"};
    bool auth_without_tls = false;              // offer AUTH on plaintext (loopback development only)
    bool require_tls = false;                   // MAIL and AUTH need TLS first (submission on 587)
    bool require_auth = false;                  // MAIL needs AUTH first (submission)
    unsigned max_errors = 20;                   // error replies before 421 + close (Postfix: smtpd_hard_error_limit)
};

enum class action {
    reply,          // send `response`, go on reading commands
    close,          // send `response`, then close the connection
    start_tls,      // send `response` (220), discard buffered input, handshake, then call tls_started()
    authenticate,   // run a sasl::exchange for the AUTH command; then authenticated() or auth_failed()
    mail,           // check the sender; on success send `response` and call mail_accepted()
    rcpt,           // resolve the recipient; on success send `response` + rcpt_accepted(), else rcpt_rejected()
    data,           // send `response` (354), read with data_reader, store, reply, then message_done()
    bdat,           // read `chunk_size` octets with the bdat_reader; if last_chunk store and reply, then
                    // message_done(); else send `response`. On any failure reply and call bdat_failed().
    bdat_discard,   // read and drop `chunk_size` octets, then send `response` (an error)
};

struct decision {
    action act = action::reply;
    reply response;
    std::optional<command> cmd;   // the parsed command (for mail, rcpt, authenticate, ...)
    std::uint64_t chunk_size = 0; // bdat / bdat_discard
    bool last_chunk = false;      // bdat
};

class session_state {
public:
    explicit session_state(session_settings settings, bool tls_active = false);

    const session_settings& settings() const noexcept { return settings_; }

    // greeting - "220 <hostname> ESMTP Polder" (no enhanced code: RFC 2034 §3).
    reply greeting() const;
    // ehlo_keywords - the extension keywords this session offers now, in EHLO order.
    std::vector<std::string> ehlo_keywords() const;
    // ehlo_reply - the complete multi-line EHLO reply.
    reply ehlo_reply() const;

    // The options for parse_command in the current state (after HELO: no ESMTP parameters;
    // within an SMTPUTF8 transaction: UTF-8 recipients).
    parse_options options() const;

    // on_line - parse one command line (without CRLF) and decide. Counts errors.
    decision on_line(std::string_view line);
    // on_command - decide for an already parsed command. Counts errors.
    decision on_command(command cmd);
    // on_line_too_long - the line reader discarded an over-long line: 500 5.5.2, counted.
    decision on_line_too_long();

    // Outcomes the server reports back.
    void tls_started();                          // handshake done: session back to "not greeted" (RFC 3207 §4.2)
    void authenticated(std::string identity);    // AUTH succeeded
    // auth_failed, rcpt_rejected, note_error - count an error reply the server sent; they
    // return true when the error limit is reached: send replies::too_many_errors() and close.
    [[nodiscard]] bool auth_failed();
    void mail_accepted(const mail_command& mail);
    void rcpt_accepted(const rcpt_command& rcpt);
    [[nodiscard]] bool rcpt_rejected();
    void message_done();                         // end of DATA or BDAT LAST: the transaction is over
    void bdat_failed();                          // a chunk failed: the transaction is over, later chunks are dropped
    [[nodiscard]] bool note_error();

    bool greeted() const noexcept { return greeted_; }
    bool esmtp() const noexcept { return esmtp_; }
    bool tls() const noexcept { return tls_; }
    bool is_authenticated() const noexcept { return identity_.has_value(); }
    const std::optional<std::string>& identity() const noexcept { return identity_; }
    const std::string& client_domain() const noexcept { return client_domain_; }
    bool in_transaction() const noexcept { return mail_.has_value(); }
    const std::optional<mail_command>& mail() const noexcept { return mail_; }
    const std::vector<rcpt_command>& recipients() const noexcept { return rcpts_; }
    std::uint64_t bdat_received() const noexcept { return bdat_total_; }
    unsigned errors() const noexcept { return errors_; }

private:
    decision decide(command&& cmd);
    decision counted(decision d);
    void reset_transaction();
    bool auth_offered() const;

    session_settings settings_;
    bool tls_ = false;
    bool greeted_ = false;
    bool esmtp_ = false;
    std::string client_domain_;
    std::optional<std::string> identity_;
    std::optional<mail_command> mail_;
    std::vector<rcpt_command> rcpts_;
    unsigned rcpt_attempts_ = 0;
    bool bdat_started_ = false;
    bool data_started_ = false;
    std::uint64_t bdat_total_ = 0;
    unsigned errors_ = 0;
};

}  // namespace polder::smtp
