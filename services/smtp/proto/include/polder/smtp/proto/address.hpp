// polder/smtp/proto/address.hpp - SMTP envelope addresses: Mailbox, Path, domains, address
// literals, xtext (RFC 3461) and UTF-8 validation.
//
// SECURITY: every address is validated against the RFC 5321 grammar with hard length
// limits before anything else looks at it: local-part <= 64 octets, domain <= 255 octets,
// DNS label <= 63 octets (ASCII labels), path <= 256 octets including "<" and ">". With
// SMTPUTF8, non-ASCII text must be well-formed UTF-8 (no overlongs, surrogates or
// code points above U+10FFFF). Decoded xtext never contains control characters, so an
// ENVID or ORCPT can be copied into a DSN header without injecting lines.
// STANDARDS: RFC 5321 §4.1.2 (Mailbox, Path, Domain, address-literal), §4.1.3 (IPv4/IPv6
// literals), §4.5.3.1 (size limits), RFC 6531 §3.3 (UTF-8 in local parts and domains),
// RFC 3461 §4 (xtext), RFC 3629 (UTF-8).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace polder::smtp {

inline constexpr std::size_t max_local_part = 64;   // RFC 5321 §4.5.3.1.1
inline constexpr std::size_t max_domain = 255;      // RFC 5321 §4.5.3.1.2
inline constexpr std::size_t max_path = 256;        // RFC 5321 §4.5.3.1.3, including "<" and ">"
inline constexpr std::size_t max_label = 63;        // RFC 1035 §2.3.4

struct mailbox {
    std::string local_part;   // as written on the wire: a dot-string, or a quoted-string with its quotes
    std::string local_value;  // the local part with quoting removed ("a b"@x -> a b); use this for lookups
    std::string domain;       // as written (case preserved); an address literal keeps its brackets
    bool address_literal = false;
    bool utf8 = false;        // local part or domain contains non-ASCII (needs SMTPUTF8)

    // str - the mailbox in wire form: local_part "@" domain.
    std::string str() const { return local_part + "@" + domain; }
    friend bool operator==(const mailbox&, const mailbox&) = default;
};

enum class address_error {
    syntax,      // does not match the grammar
    too_long,    // a length limit was exceeded
    non_ascii,   // well-formed UTF-8 but SMTPUTF8 was not requested
};

struct mailbox_result {
    std::optional<mailbox> value;
    address_error error = address_error::syntax;
    explicit operator bool() const noexcept { return value.has_value(); }
};

// parse_mailbox - Mailbox = Local-part "@" ( Domain / address-literal ), the whole input.
// utf8_allowed: RFC 6531 UTF-8 local parts and U-labels are accepted.
mailbox_result parse_mailbox(std::string_view text, bool utf8_allowed);

// is_valid_domain - Domain per RFC 5321 §4.1.2 (LDH labels; U-labels too when utf8_allowed).
bool is_valid_domain(std::string_view text, bool utf8_allowed);

// is_valid_address_literal - "[" IPv4 "]" or "[IPv6:" IPv6 "]" (RFC 5321 §4.1.3). General
// address literals with other tags are refused: none is standardized.
bool is_valid_address_literal(std::string_view text);

bool is_valid_ipv4(std::string_view text);
bool is_valid_ipv6(std::string_view text);   // full, compressed and IPv4-embedded forms

// is_valid_utf8 - strict RFC 3629 UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;
bool is_ascii(std::string_view text) noexcept;

// xtext_decode - RFC 3461 xtext to its value. Refuses malformed input ("+" without two hex
// digits, characters outside "!".."~", a raw "=") and decoded control characters.
// Hex digits are accepted in either case (RFC 3461 says upper case; real clients vary).
std::optional<std::string> xtext_decode(std::string_view text);
// xtext_encode - the inverse, for writing DSN parameters onward.
std::string xtext_encode(std::string_view value);

}  // namespace polder::smtp
