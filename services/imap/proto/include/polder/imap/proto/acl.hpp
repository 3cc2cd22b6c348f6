// polder/imap/proto/acl.hpp - RFC 4314 access rights: parsing and formatting rights strings.
//
// SECURITY: unknown right letters are rejected (RFC 4314 3.1: an unrecognized right MUST
// make SETACL fail with BAD) rather than ignored, so a client can never believe it granted
// or revoked something the server does not enforce.
// STANDARDS: RFC 4314 sections 2.1 (rights), 2.1.1 (obsolete "c" and "d"), 3.1 (SETACL
// mod-rights), 3.6 (identifiers, "-" negative rights, "anyone").
#pragma once

#include "polder/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace polder::imap::proto {

// rights - a set of RFC 4314 rights.
//   l lookup  r read  s seen  w write  i insert  p post  k create mailboxes
//   x delete mailbox  t delete messages  e expunge  a administer
// The obsolete "c" (create) is the union k+x and "d" (delete) is the union e+t: the
// reading of RFC 4314 2.1.1 for servers where "c" controlled DELETE (RFC 2086 era).
struct rights {
    std::uint16_t bits = 0;

    static constexpr std::string_view letters = "lrswipkxtea";

    static rights from_letter(char c) noexcept;  // one of `letters`, else empty
    static rights all() noexcept { return rights{static_cast<std::uint16_t>((1u << letters.size()) - 1)}; }
    static rights create_group() noexcept;   // k x
    static rights delete_group() noexcept;   // e t

    bool has(char letter) const noexcept {
        std::uint16_t m = from_letter(letter).bits;
        return m != 0 && (bits & m) == m;
    }
    bool contains(rights other) const noexcept { return (bits & other.bits) == other.bits; }
    bool empty() const noexcept { return bits == 0; }
    rights operator|(rights o) const noexcept { return rights{static_cast<std::uint16_t>(bits | o.bits)}; }
    rights operator&(rights o) const noexcept { return rights{static_cast<std::uint16_t>(bits & o.bits)}; }
    rights without(rights o) const noexcept { return rights{static_cast<std::uint16_t>(bits & ~o.bits)}; }
    bool operator==(const rights&) const = default;
};

// parse_rights - letters in any order, duplicates allowed; "c" and "d" expand to their
// groups. Errors: errc::invalid_argument for any other character.
result<rights> parse_rights(std::string_view text);

// format_rights - canonical order "lrswipkxtea"; with `obsolete`, "c" is appended when any
// create-group right is present and "d" when any delete-group right is present (RFC 4314
// 2.1.1 requires this in ACL and MYRIGHTS responses for RFC 2086 clients).
std::string format_rights(rights r, bool obsolete = true);

enum class rights_op { replace, add, remove };
struct rights_change {
    rights_op op = rights_op::replace;
    rights value;
    bool operator==(const rights_change&) const = default;
    rights apply(rights current) const noexcept;
};
// parse_rights_change - SETACL mod-rights: ["+" / "-"] rights.
// Errors: errc::invalid_argument.
result<rights_change> parse_rights_change(std::string_view text);

// acl_identifier - "fred", "anyone", or "-fred" (negative rights for fred).
struct acl_identifier {
    std::string name;
    bool negative = false;
};
acl_identifier parse_acl_identifier(std::string_view text);

}  // namespace polder::imap::proto
