// polder/imap/proto/wire.hpp - writing IMAP strings: atom, quoted, literal, literal8,
// NIL, mailbox names and flag lists.
//
// SECURITY: every string reaches the wire in a form that cannot break the response
// framing: CR, LF and NUL never appear in quoted strings, 8-bit data uses a literal unless
// UTF-8 was enabled, and the octet count of a literal is always exact. NUL inside a
// non-binary literal is replaced by 0x80 (same length; Dovecot does the same) because
// CHAR8 excludes NUL; only literal8 carries NUL.
// STANDARDS: RFC 9051 section 4.3 and 9 (string, quoted, literal, literal8, astring,
// nstring, mailbox), RFC 6855 section 3 (UTF-8 in quoted strings after ENABLE),
// RFC 3501 section 5.1.3 (modified UTF-7 mailbox names for IMAP4rev1 clients).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace polder::imap::proto {

// max_quoted_length - longer strings are sent as literals (keeps lines short for clients
// with small line buffers).
inline constexpr std::size_t max_quoted_length = 1024;

// can_quote - whether `s` may be sent as a quoted string: no CR/LF/NUL, not too long, and
// 7-bit unless `utf8` (IMAP4rev2 or UTF8=ACCEPT enabled) and valid UTF-8.
bool can_quote(std::string_view s, bool utf8) noexcept;
// is_atom - 1*ATOM-CHAR.
bool is_atom(std::string_view s) noexcept;

void append_quoted(std::string& out, std::string_view s);          // caller checked can_quote
void append_literal(std::string& out, std::string_view data);      // {n}CRLF data
void append_literal8(std::string& out, std::string_view data);     // ~{n}CRLF data
void append_literal_header(std::string& out, std::size_t size, bool binary);  // for streamed data
// append_string - quoted when can_quote, else literal.
void append_string(std::string& out, std::string_view s, bool utf8);
// append_nstring - NIL or string.
void append_nstring(std::string& out, const std::optional<std::string>& s, bool utf8);
// append_astring - an atom when the text is made of ASTRING-CHARs (and is not "NIL"),
// else a string.
void append_astring(std::string& out, std::string_view s, bool utf8);
// append_mailbox - a mailbox name given in UTF-8: modified UTF-7 unless `utf8`, then an
// astring. Invalid UTF-8 (never produced by the store) is sent as a literal unchanged.
void append_mailbox(std::string& out, std::string_view utf8_name, bool utf8);
// append_flag_list - "(" flag *(SP flag) ")"; flags are written as given (they are atoms
// or "\" atom, validated when they entered the store).
void append_flag_list(std::string& out, std::span<const std::string> flags);
// sanitize_text - resp-text for human-readable parts: CR, LF, NUL and other controls become
// spaces, 8-bit octets become '?' unless utf8 and valid UTF-8; empty text becomes
// "completed" since text = 1*TEXT-CHAR; a leading "[" gets a space in front so it cannot
// be mistaken for a response code.
std::string sanitize_text(std::string_view text, bool utf8);

}  // namespace polder::imap::proto
