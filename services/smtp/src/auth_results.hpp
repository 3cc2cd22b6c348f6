// auth_results.hpp - the Authentication-Results: header field (RFC 8601) that polder-smtpd
// prepends to inbound mail, and the removal of forged ones. Pure: no I/O, no libraries.
//
//   authentication_results_field("mx.gemeente.example", {{"spf", "pass", ...}, ...})
//     -> "Authentication-Results: mx.gemeente.example;\r\n\tspf=pass smtp.mailfrom=...\r\n"
//   remove_forged_results(header_block, "mx.gemeente.example")
//     -> the header block without any Authentication-Results field whose authserv-id is ours
//
// SECURITY: the field is built only from our own result words and from property values
// that came from the network (domains, selectors, identities); those are emitted as a
// token when they are plain domain-like text and as a quoted-string with every quote,
// backslash and control character neutralised otherwise, so nothing a sender controls can
// end the field, add a resinfo, or inject a header. Comments get the same treatment as in
// trace.hpp. Lines are folded before each resinfo and kept below 998 octets.
// RFC 8601 section 5: a field from outside that claims our authserv-id must be removed
// (it would otherwise look like our verdict); fields naming other authserv-ids are kept.
// STANDARDS: RFC 8601 (sections 2.2-2.7, 5), RFC 5322 section 2.2.3 (folding), RFC 2045
// section 5.1 (token / quoted-string values).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polder::smtpd {

struct resinfo {
    std::string method;    // "spf", "dkim", "dmarc"
    std::string result;    // "pass", "fail", "temperror", ...
    std::string comment;   // optional, emitted as "(...)" after the result
    std::vector<std::pair<std::string, std::string>> props;   // {"smtp.mailfrom", "example.com"}
};

// authentication_results_field - the complete field, CRLF-terminated. With no resinfo the
// payload is "authserv-id; none" (RFC 8601 2.2 no-result).
std::string authentication_results_field(std::string_view authserv_id, const std::vector<resinfo>& results);

// header_end - offset just past the blank line ending the header section, or the size of
// the message when it has no body (no blank line).
std::size_t header_end(std::string_view message);

// field_name - the name of a raw header field ("Subject" of "Subject: x\r\n"); empty when
// the line has no colon.
std::string_view field_name(std::string_view raw_field);

// split_fields - the raw fields of a header block, each with its continuation lines and CRLF.
std::vector<std::string_view> split_fields(std::string_view header_block);

// authserv_id_of - the authserv-id of an Authentication-Results field value (after the
// colon): CFWS skipped, a token or quoted-string unquoted. nullopt when malformed.
std::optional<std::string> authserv_id_of(std::string_view value);

// remove_forged_results - the header block without the Authentication-Results fields whose
// authserv-id equals ours (case-insensitive); *removed counts them.
std::string remove_forged_results(std::string_view header_block, std::string_view authserv_id,
                                  std::size_t* removed = nullptr);

// pvalue - a property value as RFC 8601 pvalue: plain domain-like text as is, anything else
// as a quoted-string with unsafe octets replaced by '?'; at most 255 octets.
std::string pvalue(std::string_view value);

}  // namespace polder::smtpd
