// polder/imap/proto/types.hpp - the small value types of the IMAP grammar: sequence sets,
// dates, date-times, flags and STATUS items.
//
// SECURITY: pure values and parsers of untrusted text; every parser checks ranges and
// overflows and reports failure as a value (errc::invalid_argument), never by crashing.
// STANDARDS: RFC 3501 and RFC 9051 section 9 (sequence-set, date, date-time, flag),
// RFC 5182 (SEARCHRES "$"), RFC 7162 (mod-sequence values), RFC 7889 (STATUS APPENDLIMIT),
// RFC 8438 (STATUS SIZE).
#pragma once

#include "polder/core/error.hpp"

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace polder::imap::proto {

// ---------------------------------------------------------------------------------------
// Sequence sets

// seq_star - the value standing for "*" in a seq_range. IMAP numbers are non-zero, so 0 is
// free to mean "the largest number in use".
inline constexpr std::uint32_t seq_star = 0;

// seq_range - one element of a sequence set exactly as the client wrote it: "7" is {7,7},
// "9:3" stays {9,3} (ranges may be written in either order), "*" is {seq_star,seq_star}.
struct seq_range {
    std::uint32_t first = 1;
    std::uint32_t last = 1;
    bool operator==(const seq_range&) const = default;
};

// sequence_set - a parsed sequence-set. Either a list of ranges, or `saved` for "$" (the
// SEARCHRES saved result, which the server resolves from its session state).
struct sequence_set {
    std::vector<seq_range> ranges;
    bool saved = false;

    bool operator==(const sequence_set&) const = default;

    bool empty() const noexcept { return ranges.empty() && !saved; }
    bool uses_star() const noexcept;

    // contains - whether n is in the set when "*" stands for `largest` (the highest message
    // number or UID in use). "$" is not resolved here: contains() is false for a saved set.
    // Per RFC 9051 6.4.9, "559:*" includes `largest` even when 559 > largest.
    bool contains(std::uint32_t n, std::uint32_t largest) const noexcept;

    // normalized - ascending, non-overlapping, merged ranges with "*" replaced by
    // `largest`. Numbers above `largest` are kept: for sequence numbers the caller
    // rejects them (BAD), for UIDs they simply match nothing.
    std::vector<seq_range> normalized(std::uint32_t largest) const;

    // highest - the largest number the set names once "*" is `largest` (0 for "$" or empty).
    std::uint32_t highest(std::uint32_t largest) const noexcept;
};

// parse_sequence_set - parse RFC 9051 sequence-set text ("1:5,7,*", "$").
// Errors: errc::invalid_argument (syntax, zero, overflow, or "$" mixed with numbers).
result<sequence_set> parse_sequence_set(std::string_view text);

// format_sequence_set - a set as the client would write it ("1:5,7,*", "$").
std::string format_sequence_set(const sequence_set& set);

// compress_numbers - numbers (any order, duplicates allowed) as a compact ascending set:
// {1,2,3,4,5,7,9,10,11,12} -> "1:5,7,9:12". Empty input gives "".
std::string compress_numbers(std::span<const std::uint32_t> numbers);

// compress_numbers_in_order - like compress_numbers but keeps the given order and merges
// only ascending runs: needed for COPYUID/APPENDUID where the source and destination sets
// must correspond element by element (RFC 4315 section 3).
std::string compress_numbers_in_order(std::span<const std::uint32_t> numbers);

// format_ranges - ascending, non-overlapping ranges as a set: {1:5, 7:7} -> "1:5,7".
std::string format_ranges(std::span<const seq_range> ranges);

// missing_ranges - the numbers 1..last that are in neither `a` nor `b` (each ascending),
// within `within` (ascending, non-overlapping, as sequence_set::normalized gives them; all
// of 1..last when null), as ascending ranges. For a mailbox whose expunge records were
// pruned: every UID below UIDNEXT that is neither in it nor in the client's view may have
// been expunged (RFC 7162 section 3.2.6), without one number per UID in memory.
std::vector<seq_range> missing_ranges(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b,
                                      std::uint32_t last, const std::vector<seq_range>* within);

// ---------------------------------------------------------------------------------------
// Dates

// date - a calendar date as in SEARCH BEFORE/ON/SINCE (RFC 9051 date: "1-Feb-1994").
struct date {
    int year = 1970;
    int month = 1;  // 1..12
    int day = 1;    // 1..31
    auto operator<=>(const date&) const = default;
};

// date_time - an IMAP date-time ("17-Jul-1996 02:44:25 -0700") with its zone offset.
struct date_time {
    date day;
    int hour = 0;
    int minute = 0;
    int second = 0;
    int zone_minutes = 0;  // offset east of UTC, -0700 is -420
    bool operator==(const date_time&) const = default;
};

bool is_valid_date(const date& d) noexcept;
bool is_valid_date_time(const date_time& t) noexcept;

// to_unix - seconds since 1970-01-01T00:00:00Z of a date-time (the zone is applied).
std::int64_t to_unix(const date_time& t) noexcept;
// from_unix - the date-time of a Unix time as seen at the given zone offset.
date_time from_unix(std::int64_t seconds, int zone_minutes = 0) noexcept;
// date_of - the calendar date of a Unix time at the given zone offset.
date date_of(std::int64_t seconds, int zone_minutes = 0) noexcept;

// parse_date - RFC 9051 date-text without quotes ("1-Feb-1994", month case-insensitive).
// Errors: errc::invalid_argument.
result<date> parse_date(std::string_view text);
// parse_date_time - date-time contents without the quotes ("17-Jul-1996 02:44:25 -0700";
// the day may be " 7", "07" or "7"). Errors: errc::invalid_argument.
result<date_time> parse_date_time(std::string_view text);

// format_date - "1-Feb-1994" (SEARCH syntax).
std::string format_date(const date& d);
// format_date_time - "17-Jul-1996 02:44:25 -0700" without quotes (INTERNALDATE syntax,
// day padded with a space as date-day-fixed requires).
std::string format_date_time(const date_time& t);

// ---------------------------------------------------------------------------------------
// Flags

// canonical_flag - system flags in their canonical spelling ("\seen" -> "\Seen"); other
// flags (keywords, unknown extensions) are returned unchanged. Flags compare
// case-insensitively in IMAP; canonical spelling lets the server compare exact strings for
// the system flags.
std::string canonical_flag(std::string_view flag);
// is_system_flag - \Answered \Flagged \Deleted \Seen \Draft (and \Recent when allow_recent).
bool is_system_flag(std::string_view flag, bool allow_recent = false) noexcept;
// is_valid_keyword - a flag-keyword: an atom (RFC 9051 flag-keyword).
bool is_valid_keyword(std::string_view keyword) noexcept;
// iequals - ASCII case-insensitive equality (IMAP keywords, atoms, flag names).
bool iequals(std::string_view a, std::string_view b) noexcept;

// ---------------------------------------------------------------------------------------
// STATUS items

enum class status_item {
    messages,
    uidnext,
    uidvalidity,
    unseen,
    deleted,        // RFC 9051
    size,           // RFC 8438 STATUS=SIZE
    recent,         // RFC 3501 only
    highestmodseq,  // RFC 7162
    appendlimit,    // RFC 7889
};

std::string_view status_item_name(status_item item) noexcept;
std::optional<status_item> parse_status_item(std::string_view name) noexcept;

}  // namespace polder::imap::proto
