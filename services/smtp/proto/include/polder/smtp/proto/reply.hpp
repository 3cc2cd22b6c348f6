// polder/smtp/proto/reply.hpp - SMTP replies: a code, an enhanced status code and text lines.
//
// SECURITY: reply text may echo client input (an address, a verb); to_wire() replaces
// every control character with '?' so a client can never inject CR/LF and forge extra
// reply lines, and caps each text line so a reply always fits the RFC 5321 limit.
// STANDARDS: RFC 5321 §4.2 (reply syntax, multi-line "250-"/"250 " replies, 512-octet
// reply line limit §4.5.3.1.5), RFC 2034 + RFC 3463 (enhanced status codes in every
// 2xx/4xx/5xx reply except the greeting and the HELO/EHLO reply).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace polder::smtp {

// Longest text per reply line: 512 octets minus "250-", a 9-octet enhanced code + SP and CRLF.
inline constexpr std::size_t max_reply_text = 512 - 4 - 10 - 2;

struct reply {
    int code = 250;                   // 3-digit reply code (RFC 5321 §4.2.1)
    std::string enhanced;             // "2.0.0"; empty for the greeting and the EHLO/HELO reply
    std::vector<std::string> lines;   // at least one (an empty text line is allowed)

    reply() = default;
    reply(int c, std::string enh, std::string text) : code(c), enhanced(std::move(enh)), lines{std::move(text)} {}
    reply(int c, std::string enh, std::vector<std::string> text) : code(c), enhanced(std::move(enh)), lines(std::move(text)) {}

    bool positive() const noexcept { return code >= 200 && code < 400; }
    bool transient_failure() const noexcept { return code >= 400 && code < 500; }
    bool permanent_failure() const noexcept { return code >= 500; }

    // to_wire - the reply as sent: "250-2.0.0 a\r\n250 2.0.0 b\r\n". When enhanced_codes is
    // false (the peer said HELO, or the extension is off) the enhanced code is left out.
    std::string to_wire(bool enhanced_codes = true) const;

    // text - the lines joined by "; " (for logs and for DSN diagnostic fields).
    std::string text() const;

    friend bool operator==(const reply&, const reply&) = default;
};

// Replies used by the grammar library and the state machine; services build their own
// for store outcomes (550 5.1.1 unknown user ...).
namespace replies {
reply ok(std::string text = "OK");                             // 250 2.0.0
reply line_too_long();                                         // 500 5.5.2
reply unrecognized(std::string_view verb);                     // 500 5.5.2
reply syntax(std::string text);                                // 501 5.5.4 (argument syntax)
reply syntax_address(std::string text);                        // 501 5.1.3 (bad address syntax)
reply bad_sequence(std::string text);                          // 503 5.5.1
reply unsupported_parameter(std::string_view keyword);         // 555 5.5.4
reply not_implemented(std::string_view verb);                  // 502 5.5.1
reply too_many_errors();                                       // 421 4.7.0, then close
reply message_too_big(std::uint64_t limit);                    // 552 5.3.4
reply bare_line_ending();                                      // 550 5.6.0 (SMTP smuggling defence)
reply non_ascii_address();                                     // 553 5.6.7 (RFC 6531 §3.5)
}  // namespace replies

}  // namespace polder::smtp
