// polder/mailstore/names.hpp - pure helpers of the mail store: mailbox names, flags,
// RFC 4314 rights, UID sets, RFC 5256 base subjects, PostgreSQL array literals.
//
// SECURITY: everything a client names (mailbox, flag, keyword, rights) passes through
// these validators before it reaches SQL (always as a parameter) or storage. Limits:
// mailbox names <= 1000 octets and 50 levels, keywords <= 100 octets, at most 100 flags
// per message, UID sets of at most 10,000 ranges.
// STANDARDS: RFC 3501 / RFC 9051 (INBOX, hierarchy, flag and atom syntax, UIDs),
// RFC 4314 (rights letters), RFC 5256 section 2.1 (base subject).
#pragma once

#include "polder/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace polder::mailstore {

inline constexpr char hierarchy_separator = '/';
inline constexpr std::size_t max_mailbox_name = 1000;
inline constexpr std::size_t max_mailbox_levels = 50;
inline constexpr std::size_t max_keyword_length = 100;
inline constexpr std::size_t max_flags = 100;
inline constexpr std::size_t max_uid_ranges = 10000;
// Other accounts' mailboxes appear as "Shared/<owner address>/<name>" (RFC 2342 other users).
inline constexpr std::string_view shared_prefix = "Shared";
// Every RFC 4314 right; an owner has all of them.
inline constexpr std::string_view all_rights = "lrswipkxtea";

// normalize_mailbox_name - a name in the store's form (UTF-8, '/' separated). INBOX as
// first level is made upper-case ("inbox/x" -> "INBOX/x"). Errors: errc::invalid_argument
// (empty, too long, control characters, '*' or '%', an empty level, invalid UTF-8).
[[nodiscard]] result<std::string> normalize_mailbox_name(std::string_view name);

// parent_names - "a/b/c" -> {"a", "a/b"}.
std::vector<std::string> parent_names(std::string_view name);

// normalize_flag - system flags to canonical case (\Seen ...); keywords kept as given.
// Errors: errc::invalid_argument for \Recent (never stored), unknown \-flags, keywords
// that are not IMAP atoms or are longer than max_keyword_length.
[[nodiscard]] result<std::string> normalize_flag(std::string_view flag);
// normalize_flags - each normalized, duplicates (ignoring case) removed, at most max_flags.
[[nodiscard]] result<std::vector<std::string>> normalize_flags(const std::vector<std::string>& flags);
bool is_system_flag(std::string_view canonical_flag) noexcept;

// valid_rights - 0..11 distinct letters of all_rights (RFC 4314 section 2.1; the
// obsolete "c" and "d" are mapped by normalize_rights).
// normalize_rights - maps c -> k, d -> xte (RFC 4314 2.1.1), sorts in all_rights order,
// removes duplicates. Errors: errc::invalid_argument for any other letter.
[[nodiscard]] result<std::string> normalize_rights(std::string_view rights);
bool has_rights(std::string_view held, std::string_view needed) noexcept;

struct uid_range {
    std::uint32_t first = 1, last = 1;   // inclusive, first <= last
    friend bool operator==(const uid_range&, const uid_range&) = default;
};
using uid_set = std::vector<uid_range>;
// make_uid_set - sorted, merged copy; ranges with first > last are swapped (IMAP "5:2").
// Errors: errc::limit_exceeded beyond max_uid_ranges; errc::invalid_argument for uid 0.
[[nodiscard]] result<uid_set> make_uid_set(uid_set ranges);
bool contains(const uid_set& s, std::uint32_t uid) noexcept;

// base_subject - RFC 5256 section 2.1 (simplified for already-decoded UTF-8 subjects):
// strips "Re:", "Fw:", "Fwd:" (with [blob] prefixes), trailing "(fwd)", whitespace runs
// folded; lower-cased ASCII, so SORT SUBJECT can compare bytes.
std::string base_subject(std::string_view decoded_subject);

}  // namespace polder::mailstore
