// polder/imap/proto/mutf7.hpp - modified UTF-7 mailbox name codec.
//
// SECURITY: the decoder is strict so that every mailbox name has exactly one wire form:
// it rejects non-printable octets, base64 that encodes printable US-ASCII, unterminated or
// adjacent shifted runs, non-zero padding bits and broken surrogate pairs. Two spellings
// of one name could otherwise bypass name-based checks.
// STANDARDS: RFC 3501 section 5.1.3 (modified UTF-7), RFC 2152 (UTF-7), RFC 3629 (UTF-8).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace polder::imap::proto {

// mutf7_encode - UTF-8 to modified UTF-7 ("~peter/mail/日本語/台北" ->
// "~peter/mail/&ZeVnLIqe-/&U,BTFw-"). nullopt when the input is not valid UTF-8.
std::optional<std::string> mutf7_encode(std::string_view utf8);

// mutf7_decode - modified UTF-7 to UTF-8. nullopt when the input is not canonical
// modified UTF-7 (see SECURITY above).
std::optional<std::string> mutf7_decode(std::string_view mutf7);

}  // namespace polder::imap::proto
