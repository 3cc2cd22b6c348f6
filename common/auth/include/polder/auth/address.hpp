// polder/auth/address.hpp - mail address and domain validation and normalisation.
//
// Every address that enters the directory passes through parse_address(): the
// result is the one canonical spelling that is stored and compared (lower-case
// ASCII local part, domain as lower-case IDNA A-labels), so "Alice@Bücher.Example"
// and "alice@xn--bcher-kva.example" are the same account.
//
// Policy, stricter than the full RFC 5321 grammar on purpose (these are
// addresses we provision, not addresses we merely relay to):
//   * local part: a Dot-string of RFC 5322 atext, ASCII only, at most 64 octets;
//     quoted strings and non-ASCII (SMTPUTF8) local parts are refused;
//   * domain: at least two labels, each 1..63 octets of letters, digits and
//     hyphens, not starting or ending with a hyphen, the last one not all digits;
//     at most 253 octets; no address literals; U-labels are converted to
//     A-labels (IDNA2008 with UTS #46 mapping, via libidn2), A-labels are checked;
//   * the whole address at most 254 octets (the 256-octet path minus "<>").
//
// SECURITY: pure validation of untrusted input; bounded work (the input length
// is checked before any conversion); no I/O.
// STANDARDS: RFC 5321 4.1.2 and 4.5.3.1, RFC 5322 3.2.3 (atext), RFC 5890,
// RFC 5891 (IDNA2008), Unicode TS #46, RFC 1035 2.3.4.
#pragma once

#include "polder/auth/validated.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace polder::auth {

inline constexpr std::size_t max_local_part_octets = 64;   // RFC 5321 4.5.3.1.1
inline constexpr std::size_t max_domain_octets = 253;      // 255 on the wire, 253 as text
inline constexpr std::size_t max_label_octets = 63;        // RFC 1035 2.3.4
inline constexpr std::size_t max_address_octets = 254;     // RFC 5321 4.5.3.1.3 path minus "<>"
// Longest input we even look at; a U-label domain may be longer than its A-label.
inline constexpr std::size_t max_address_input_octets = 1024;

struct address {
    std::string local_part;   // lower-case ASCII dot-string
    std::string domain;       // lower-case A-labels
    std::string str() const { return local_part + "@" + domain; }
};

// normalize_domain - the canonical (lower-case A-label) form of a mail domain, or
// why it is refused.
[[nodiscard]] validated<std::string> normalize_domain(std::string_view input);

// normalize_local_part - the canonical (lower-case) form of a local part, or why
// it is refused.
[[nodiscard]] validated<std::string> normalize_local_part(std::string_view input);

// parse_address - split at the last '@' and normalise both halves. The reason
// names the part that is wrong ("local part has consecutive dots").
[[nodiscard]] validated<address> parse_address(std::string_view input);

// domain_to_unicode - the U-label spelling of a stored A-label domain, for
// display; returns the input unchanged when it has no A-labels or cannot be
// converted.
[[nodiscard]] std::string domain_to_unicode(std::string_view a_label_domain);

}  // namespace polder::auth
