// polder/smtp/proto/command.hpp - the SMTP command grammar: one line in, a typed command
// (or the exact error reply) out.
//
// SECURITY: the parser sees untrusted bytes. It never allocates more than the line, has
// no recursion, refuses NUL and other control characters, enforces a length limit per
// verb, validates every address (see address.hpp) and every parameter value, and never
// echoes more than a short, sanitised fragment of input in a reply. Lines that look like
// HTTP or another protocol (GET, POST, CONNECT, ...) come back with close=true: a browser
// or proxy talking to the SMTP port is a cross-protocol attack, not a client to help.
// STANDARDS: RFC 5321 §4.1.1 (commands), §4.1.2 (argument syntax), §4.1.1.3 + appendix C
// (source routes accepted and ignored), §4.5.3.1.4 (line length); RFC 1870 (SIZE);
// RFC 6152 (8BITMIME, BODY=); RFC 3030 (BDAT, BINARYMIME); RFC 6531 (SMTPUTF8);
// RFC 3461 (RET, ENVID, NOTIFY, ORCPT); RFC 4954 (AUTH, AUTH= parameter); RFC 3207
// (STARTTLS); RFC 3463 (enhanced codes in error replies).
//
// Leniencies (deliberate, because real clients need them; each is harmless):
// - spaces after "FROM:" / "TO:" ("MAIL FROM: <a@b>", sent by several common clients;
//   Postfix and Exim accept it too). Spaces BEFORE the colon and a path without angle
//   brackets are refused (501): those are not clients we know of, and strictness about
//   paths avoids parser differentials with the next hop.
// - several spaces between parameters, and trailing spaces at the end of the line.
// - EHLO/HELO: only the first word counts; a name that is not a valid domain or address
//   literal is accepted but marked well_formed=false (Windows hosts send names with "_").
// - xtext hex digits in lower case.
// Line limits enforced (octets, excluding CRLF): AUTH 12286 (RFC 4954 §4: 12288 with CRLF),
// MAIL and RCPT 2046 (RFC 5321's 512 plus the increases of SIZE, DSN, AUTH= and SMTPUTF8,
// rounded up), every other command 510 (RFC 5321 §4.5.3.1.4: 512 with CRLF).
#pragma once

#include "polder/smtp/proto/address.hpp"
#include "polder/smtp/proto/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace polder::smtp {

inline constexpr std::size_t max_command_line = 510;      // without CRLF
inline constexpr std::size_t max_mail_rcpt_line = 2046;   // without CRLF
inline constexpr std::size_t max_auth_line = 12286;       // without CRLF; also SASL responses
// What a line reader must accept to hand every legal line to the parser (with CRLF).
inline constexpr std::size_t max_line_length = max_auth_line + 2;

inline constexpr std::size_t max_envid = 100;             // RFC 3461 §4.4
inline constexpr std::size_t max_orcpt = 500;             // RFC 3461 §4.2
inline constexpr std::size_t max_auth_param = 500;        // RFC 4954 §5

// Which ESMTP extensions a listener offers. Drives the EHLO reply and which MAIL/RCPT
// parameters the parser accepts (an unoffered one gets 555 5.5.4).
struct extensions {
    bool pipelining = true;             // RFC 2920
    bool size = true;                   // RFC 1870
    bool eightbitmime = true;           // RFC 6152
    bool smtputf8 = true;               // RFC 6531
    bool chunking = true;               // RFC 3030 CHUNKING (BDAT)
    bool binarymime = true;             // RFC 3030 BINARYMIME (needs chunking)
    bool dsn = true;                    // RFC 3461
    bool enhanced_status_codes = true;  // RFC 2034
    bool starttls = false;              // RFC 3207; advertised only while TLS is not active
    bool auth = false;                  // RFC 4954
};

enum class body_type { unspecified, seven_bit, eight_bit_mime, binary_mime };
enum class dsn_ret { full, headers };

struct dsn_notify {                     // NOTIFY=NEVER or any of SUCCESS,FAILURE,DELAY
    bool never = false, success = false, failure = false, delay = false;
    friend bool operator==(const dsn_notify&, const dsn_notify&) = default;
};

struct original_recipient {             // ORCPT=addr-type;xtext
    std::string addr_type;              // e.g. "rfc822", "utf-8" (as sent, case preserved)
    std::string address;                // xtext-decoded
    friend bool operator==(const original_recipient&, const original_recipient&) = default;
};

struct mail_parameters {
    std::optional<std::uint64_t> size;      // SIZE=; saturates at UINT64_MAX if the digits overflow
    body_type body = body_type::unspecified;
    bool smtputf8 = false;
    std::optional<dsn_ret> ret;
    std::optional<std::string> envid;       // xtext-decoded
    std::optional<std::string> auth;        // AUTH=, xtext-decoded; "<>" stays "<>"
    friend bool operator==(const mail_parameters&, const mail_parameters&) = default;
};

struct rcpt_parameters {
    std::optional<dsn_notify> notify;
    std::optional<original_recipient> orcpt;
    friend bool operator==(const rcpt_parameters&, const rcpt_parameters&) = default;
};

struct hello_command {                  // EHLO (extended) or HELO
    bool extended = true;
    std::string domain;                 // the first word of the argument, as sent
    bool address_literal = false;
    bool well_formed = true;            // a valid Domain or address-literal
};
struct mail_command {
    std::optional<mailbox> reverse_path;   // nullopt = null reverse-path "<>"
    mail_parameters params;
};
struct rcpt_command {
    mailbox forward_path;               // for <Postmaster>: local_part "Postmaster", empty domain
    bool postmaster = false;            // RCPT TO:<Postmaster> without a domain (RFC 5321 §4.1.1.3)
    rcpt_parameters params;
};
struct data_command {};
struct bdat_command { std::uint64_t size = 0; bool last = false; };
struct rset_command {};
struct noop_command {};
struct quit_command {};
struct vrfy_command { std::string argument; };
struct expn_command { std::string argument; };
struct help_command { std::string topic; };
struct starttls_command {};
struct auth_command {
    std::string mechanism;                          // upper-cased
    std::optional<std::string> initial_response;    // as sent: base64 or "=" (decode with sasl.hpp)
};

using command = std::variant<hello_command, mail_command, rcpt_command, data_command, bdat_command,
                             rset_command, noop_command, quit_command, vrfy_command, expn_command,
                             help_command, starttls_command, auth_command>;

struct parse_options {
    extensions ext;
    bool esmtp = true;              // false after HELO: no ESMTP parameters are accepted
    bool utf8_transaction = false;  // the open MAIL carried SMTPUTF8: RCPT may use UTF-8
};

struct parse_result {
    std::optional<command> cmd;
    reply error;                    // the reply to send when !cmd
    bool close = false;             // refuse and close the connection (other protocol spoken)
    explicit operator bool() const noexcept { return cmd.has_value(); }
};

// parse_command - parse one command line, without its CRLF.
parse_result parse_command(std::string_view line, const parse_options& options);

// command_name - the verb in upper case ("MAIL"), for logs and metrics.
std::string_view command_name(const command& cmd) noexcept;

}  // namespace polder::smtp
