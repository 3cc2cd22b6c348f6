// polder/mailstore/search.hpp - IMAP SEARCH criteria as a typed tree, and its translation
// to a parameterized SQL condition over mail.mailbox_messages (alias mm) joined with
// mail.messages (alias m).
//
// SECURITY: no client value is ever placed in the SQL text: every string, number and set
// becomes a bound parameter ($n) with an explicit cast. The tree is bounded (depth,
// node count, string length) so a hostile SEARCH cannot build a huge query.
// STANDARDS: RFC 3501 section 6.4.4 / RFC 9051 section 6.4.4 (search keys; dates
// disregard time and timezone; string matches are case-insensitive substrings),
// RFC 7162 section 3.1.5 (MODSEQ). Message sequence numbers are a session view, so the
// IMAP session maps sequence sets to UID sets before it builds the tree.
//
// BODY and TEXT are what the RFCs say: a case-insensitive substring of the stored decoded
// text, so SEARCH BODY "meetings" does not find a message that only says "meeting".
// Stemmed matching is what a client asks for with FUZZY (RFC 6203): a FUZZY BODY or TEXT
// key also matches through PostgreSQL full-text search over the Dutch and the English
// stemmed vectors ("vergaderingen" finds "vergadering", "meetings" finds "meeting"), and
// the condition carries a rank expression (ts_rank) for the RELEVANCY return option.
// Other keys under FUZZY match exactly, which RFC 6203 section 3 allows.
//
// A search whose keys are all header keys (HEADER, SUBJECT, FROM, TO, CC, BCC), UID sets
// and ALL, combined with AND, OR and NOT, can also be decided in memory, from the
// header_text of each message (header_matches below): what the SQL condition compares,
// lower-cased by PostgreSQL itself, so both ways give the same answer byte for byte.
// mailstore::ops::search_in_memory does that with a header_cache.
#pragma once

#include "polder/core/error.hpp"
#include "polder/mailstore/message_cache.hpp"
#include "polder/mailstore/names.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace polder::mailstore {

inline constexpr std::size_t max_search_depth = 32;
inline constexpr std::size_t max_search_nodes = 1000;
inline constexpr std::size_t max_search_string = 1000;

enum class search_key {
    all,
    uid,               // uids
    flag,              // text: a flag or keyword (set)
    unflag,            // text: not set
    before, on, since, // number: day (days since 1970-01-01), on INTERNALDATE (UTC day)
    sent_before, sent_on, sent_since,   // number: day, on the Date: header (UTC day)
    larger, smaller,   // number: octets (RFC822.SIZE)
    header,            // field (name) contains text; empty text = field present
    from, to, cc, bcc, subject,         // text: substring of the decoded field
    body,              // text: in the decoded body text
    text,              // text: in header fields or body
    modseq,            // number: mm.modseq >= number
    all_of,            // children: AND
    any_of,            // children: OR (IMAP OR has exactly two, the tree allows more)
    none_of,           // children: NOT (AND of the children, negated)
};

struct search_criterion {
    search_key key = search_key::all;
    std::string field;                   // header: field name
    std::string text;
    std::int64_t number = 0;
    uid_set uids;
    std::vector<search_criterion> children;
    bool fuzzy = false;                  // RFC 6203: this key and everything below it
};

struct sql_condition {
    std::string sql;                     // a boolean SQL expression
    std::vector<std::string> params;     // $first_param ... in order
    // A real in [0, 1): how well a message matches the FUZZY BODY/TEXT keys (the best of
    // them); empty when there are none. Uses the same parameters.
    std::string rank;
};

// build_search_condition - the SQL condition for `c`, numbering parameters from
// first_param. Errors: errc::limit_exceeded (depth, nodes, string length, uid ranges),
// errc::invalid_argument (negative number, empty header field name, bad flag, empty
// all_of/any_of/none_of).
[[nodiscard]] result<sql_condition> build_search_condition(const search_criterion& c, int first_param = 1);

// Convenience constructors for readable criteria trees.
search_criterion search_text(search_key key, std::string text);
search_criterion search_number(search_key key, std::int64_t number);
search_criterion search_header(std::string field, std::string text);
search_criterion search_uids(uid_set uids);
search_criterion search_and(std::vector<search_criterion> children);
search_criterion search_or(std::vector<search_criterion> children);
search_criterion search_not(search_criterion child);
// search_fuzzy - c with fuzzy set on it and every key below it.
search_criterion search_fuzzy(search_criterion c);
// day_number - days since 1970-01-01 of a proleptic Gregorian date (for before/on/since).
std::int64_t day_number(int year, unsigned month, unsigned day);

// header_text - what the header keys read of one message (mail.messages), each string
// lower-cased by PostgreSQL's lower(): subject, from_text, to_text, cc_text, bcc_text,
// and every header field as (name, value) in order (header_fields).
struct header_text {
    std::string subject, from, to, cc, bcc;
    std::vector<std::pair<std::string, std::string>> fields;
    // size - the bytes it holds (for row_cache's bound).
    std::size_t size() const noexcept;
};
using header_cache = row_cache<header_text>;

// decidable_in_memory - true when every key of `c` is all, uid, header, subject, from,
// to, cc or bcc, under all_of / any_of / none_of (FUZZY changes none of these).
bool decidable_in_memory(const search_criterion& c) noexcept;
// memory_strings - the strings of `c` that header_matches compares (texts, and header
// field names), in a fixed order: the caller lower-cases them (as PostgreSQL's lower()
// does, in the same database) before matching.
std::vector<std::string*> memory_strings(search_criterion& c);
// header_matches - whether the message with `uid` and header text `h` matches `c`, whose
// memory_strings are lower-cased and whose uid sets are normalized (make_uid_set): the
// same answer as the condition build_search_condition makes for it.
bool header_matches(const search_criterion& c, std::uint32_t uid, const header_text& h) noexcept;

}  // namespace polder::mailstore
