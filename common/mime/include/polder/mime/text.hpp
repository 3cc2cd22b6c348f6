// polder/mime/text.hpp - decoding of header text and body text to clean UTF-8: RFC 2047
// encoded words, content-transfer-encodings, charsets, HTML to plain text, dates.
//
// SECURITY: every function returns valid UTF-8 with no NUL and no control characters other
// than LF and TAB (and no LF at all for header text), so results can go straight into
// PostgreSQL text columns and logs. Work is bounded by max_decoded / max_out: a huge
// base64 attachment is decoded only as far as the cap. GLib/GMime types never appear in
// this API (GMime is an implementation detail, initialised once, thread-safe after that).
// STANDARDS: RFC 2047 (encoded words), RFC 2045 §6 (base64, quoted-printable), uuencode,
// RFC 2046 §4.1.2 (charset parameter), RFC 5322 §3.3 (date-time, with obsolete forms),
// HTML 5 named/numeric character references (the Latin-1 subset and common punctuation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::mime {

// decode_header_text - RFC 2047 decoding of an unfolded header value; raw 8-bit text is
// read as UTF-8 when valid, else as ISO-8859-1 (GMime's fallback order). One line, trimmed.
std::string decode_header_text(std::string_view raw);

// parse_date - RFC 5322 date-time (lenient, as real mail needs) to Unix seconds.
std::optional<std::int64_t> parse_date(std::string_view raw);

// sanitize_utf8 - invalid sequences become U+FFFD; NUL, CR and other controls are dropped
// (LF and TAB kept when keep_newlines, else they become spaces).
std::string sanitize_utf8(std::string_view bytes, bool keep_newlines);

// decode_body_text - undo the content-transfer-encoding (7bit/8bit/binary, base64,
// quoted-printable, x-uuencode) and convert from `charset` to UTF-8. At most max_decoded
// octets are taken after transfer decoding; *truncated says whether the cap cut it.
// Unknown charsets, and 8-bit data labelled us-ascii, are read as UTF-8 when valid and as
// windows-1252 otherwise.
std::string decode_body_text(std::string_view encoded, std::string_view transfer_encoding, std::string_view charset,
                             std::size_t max_decoded, bool* truncated = nullptr);

// html_to_text - tags removed (script/style content too), block elements become line
// breaks, character references decoded, whitespace collapsed. Input must be UTF-8.
std::string html_to_text(std::string_view html);

}  // namespace polder::mime
