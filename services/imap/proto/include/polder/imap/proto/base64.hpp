// polder/imap/proto/base64.hpp - base64 for SASL exchanges and SASL PLAIN messages.
//
// SECURITY: strict decoding (alphabet, padding, length) of untrusted client data; the PLAIN
// parser rejects NUL-less or over-long messages; nothing here compares secrets.
// STANDARDS: RFC 4648 section 4 (base64), RFC 9051 section 6.2.2 (AUTHENTICATE exchange,
// "*" cancels), RFC 4959 (SASL-IR, "=" is an empty initial response), RFC 4616 (PLAIN).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace polder::imap::proto {

std::string base64_encode(std::string_view bytes);
// base64_decode - nullopt unless `text` is canonical padded base64 (empty text -> "").
std::optional<std::string> base64_decode(std::string_view text);

// sasl_plain - the three fields of a decoded SASL PLAIN message
// (authzid NUL authcid NUL passwd).
struct sasl_plain {
    std::string authzid;   // empty: act as authcid
    std::string authcid;
    std::string password;
};
// parse_sasl_plain - nullopt when the message does not have exactly two NULs, when authcid
// or password is empty, or a field is longer than 1024 octets.
std::optional<sasl_plain> parse_sasl_plain(std::string_view decoded);

}  // namespace polder::imap::proto
