// trace.hpp - the trace header fields polder-smtpd prepends to every message it delivers:
// Return-Path: (final delivery) and Received: (every hop).
//
// SECURITY: every value that came from the client (the EHLO name, the envelope sender)
// is reduced to printable characters that cannot end the header field or a comment
// (no CR, LF, NUL, parentheses or backslashes in comments), so a client cannot inject
// header fields through its EHLO name or MAIL FROM. Lines are folded below 998 octets.
// STANDARDS: RFC 5321 section 4.4 (trace information, Return-Path, Received syntax:
// From-domain, By-domain, With, ID, For), RFC 3848 (ESMTPS/ESMTPA/ESMTPSA), RFC 6531
// section 3.7.3 (UTF8SMTP with-protocols), RFC 5322 section 3.3 (date-time) and 3.6.7.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace polder::smtpd {

struct trace_info {
    std::string helo;              // EHLO/HELO argument as sent
    std::string peer_address;      // client IP (textual)
    std::string hostname;          // our name (smtp.hostname)
    bool esmtp = true;
    bool tls = false;
    std::string tls_description;   // "TLSv1.3 TLS_AES_256_GCM_SHA384", may be empty
    bool authenticated = false;
    bool smtputf8 = false;
    std::string id;                // transaction id, also in our logs
    std::optional<std::string> for_recipient;   // only when there is exactly one recipient
    std::time_t when = 0;
};

// with_protocol - "SMTP", "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA", "UTF8SMTPS", ...
std::string with_protocol(const trace_info& t);

// received_field - "Received: ...\r\n" (folded).
std::string received_field(const trace_info& t);

// return_path_field - "Return-Path: <sender>\r\n", "<>" for the null reverse-path.
std::string return_path_field(const std::optional<std::string>& sender);

// rfc5322_date - "Mon, 23 Nov 2026 11:00:00 +0000".
std::string rfc5322_date(std::time_t when);

// printable - value with every octet outside printable ASCII (and, when for_comment, the
// comment-breaking "()\\") replaced by '?'; UTF-8 kept when keep_utf8; capped at max octets.
std::string printable(std::string_view value, bool for_comment, bool keep_utf8, std::size_t max = 255);

}  // namespace polder::smtpd
