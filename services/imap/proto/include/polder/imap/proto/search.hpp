// polder/imap/proto/search.hpp - the typed SEARCH key tree and a reference evaluator.
//
// The parser turns SEARCH/SORT/THREAD criteria into a search_key tree. The server either
// translates the tree into SQL for the store, or evaluates it per message through the
// search_subject interface below (which is also how the semantics are unit-tested).
//
// SECURITY: the tree depth is bounded by the parser (parser_options::max_depth); evaluate()
// recurses at most that deep. String matching is a plain substring search: linear per
// candidate, no regular expressions.
// STANDARDS: RFC 3501 section 6.4.4, RFC 9051 section 6.4.4 (search keys), RFC 7162 section
// 3.1.5 (MODSEQ criterion), RFC 5182 ("$"), RFC 4731 (ESEARCH RETURN options), RFC 6203
// (FUZZY key, RELEVANCY return option; the reference evaluator matches FUZZY exactly).
#pragma once

#include "polder/imap/proto/types.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace polder::imap::proto {

enum class search_kind {
    all,
    and_,          // children (a parenthesized list, and the top level of a program)
    or_,           // children[0] OR children[1]
    not_,          // NOT children[0]
    sequence_set,  // set (message sequence numbers; "$" = saved result)
    uid,           // UID set
    // flags
    answered, deleted, draft, flagged, seen, recent, new_, old,
    unanswered, undeleted, undraft, unflagged, unseen,
    keyword,       // text = the keyword
    unkeyword,
    // strings (text = the needle, raw octets in the SEARCH charset)
    bcc, body, cc, from, subject, text, to,
    header,        // header_name + text (empty text: the field exists)
    // dates
    before, on, since,                  // internal date
    sentbefore, senton, sentsince,      // Date: header
    // sizes
    larger, smaller,                    // number
    // CONDSTORE
    modseq,                             // number; modseq_entry/modseq_type optional
    // SEARCH=FUZZY
    fuzzy,                              // children[0], matched inexactly by the server
};

// search_key - one node of the tree. Fields not used by a kind stay empty.
struct search_key {
    search_kind kind = search_kind::all;
    std::string text;
    std::string header_name;
    proto::date date;
    std::uint64_t number = 0;
    proto::sequence_set set;
    std::string modseq_entry;  // "/flags/\Seen" (RFC 7162 entry-name), empty when not given
    std::string modseq_type;   // "priv" | "shared" | "all", lower-case, empty when not given
    std::vector<search_key> children;

    bool operator==(const search_key&) const = default;
};

// search_return - RFC 4731 RETURN options. `requested` is false for a plain SEARCH (answer
// with "* SEARCH"); true means answer with "* ESEARCH". RETURN () means RETURN (ALL).
struct search_return {
    bool requested = false;
    bool min = false;
    bool max = false;
    bool all = false;
    bool count = false;
    bool save = false;  // RFC 5182 SEARCHRES
    bool relevancy = false;  // RFC 6203
    bool operator==(const search_return&) const = default;
};

// search_subject - one message as the evaluator sees it. The server implements it over the
// data the store prepared at delivery.
class search_subject {
public:
    virtual ~search_subject() = default;
    virtual std::uint32_t sequence_number() const = 0;
    virtual std::uint32_t uid() const = 0;
    // has_flag - system flags in canonical spelling ("\Seen") or keywords; case-insensitive.
    virtual bool has_flag(std::string_view flag) const = 0;
    virtual bool is_recent() const = 0;
    virtual std::uint64_t size() const = 0;        // RFC822.SIZE
    virtual proto::date internal_date() const = 0;  // in the server's time zone
    virtual std::optional<proto::date> sent_date() const = 0;  // Date: header date, its own zone
    virtual std::uint64_t modseq() const = 0;
    // header_contains - a field named `field` (case-insensitive) exists whose (decoded)
    // value contains `needle`; an empty needle matches any message having the field. FROM,
    // TO, CC, BCC and SUBJECT are evaluated through this too.
    virtual bool header_contains(std::string_view field, std::string_view needle) const = 0;
    virtual bool body_contains(std::string_view needle) const = 0;   // BODY
    virtual bool text_contains(std::string_view needle) const = 0;   // TEXT: header or body
};

// search_scope - what "*" and "$" mean while evaluating.
struct search_scope {
    std::uint32_t message_count = 0;               // "*" in a sequence set
    std::uint32_t max_uid = 0;                     // "*" in a UID set
    std::span<const std::uint32_t> saved_uids;     // "$" (RFC 5182 keeps UIDs)
};

// evaluate - whether the message matches the key.
bool evaluate(const search_key& key, const search_subject& message, const search_scope& scope);

// contains_ascii_ci - substring match with ASCII case folding (the i;ascii-casemap
// behaviour RFC 3501 requires at least; non-ASCII octets compare exactly).
bool contains_ascii_ci(std::string_view haystack, std::string_view needle) noexcept;

// uses_saved_result - the tree references "$" somewhere (the server must then have a
// saved result, or answer per RFC 5182 with an empty set).
bool uses_saved_result(const search_key& key) noexcept;

}  // namespace polder::imap::proto
