// search.cpp - reference evaluation of a SEARCH key tree against one message.
//
// SECURITY: recursion depth equals the tree depth, bounded by the parser; string matching
// is linear-time substring search.
// STANDARDS: RFC 9051 section 6.4.4, RFC 3501 section 6.4.4 (NEW, OLD, RECENT), RFC 7162
// section 3.1.5 (MODSEQ: modseq >= value), RFC 5182 ("$").
#include "polder/imap/proto/search.hpp"

#include "chars.hpp"

#include <algorithm>

namespace polder::imap::proto {

bool contains_ascii_ci(std::string_view haystack, std::string_view needle) noexcept {
    if (needle.empty()) return true;
    if (needle.size() > haystack.size()) return false;
    auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                          [](char a, char b) { return detail::to_upper(a) == detail::to_upper(b); });
    return it != haystack.end();
}

bool uses_saved_result(const search_key& key) noexcept {
    if ((key.kind == search_kind::sequence_set || key.kind == search_kind::uid) && key.set.saved) return true;
    for (const auto& c : key.children)
        if (uses_saved_result(c)) return true;
    return false;
}

namespace {

bool in_saved(const search_scope& scope, std::uint32_t uid) {
    return std::find(scope.saved_uids.begin(), scope.saved_uids.end(), uid) != scope.saved_uids.end();
}

date sent_or_internal(const search_subject& m) {
    // A message without a usable Date: header is dated by its internal date, the same
    // fallback RFC 5256 section 2.2 defines for the sent date.
    auto d = m.sent_date();
    return d ? *d : m.internal_date();
}

}  // namespace

bool evaluate(const search_key& key, const search_subject& m, const search_scope& scope) {
    switch (key.kind) {
    case search_kind::all: return true;
    case search_kind::and_:
        for (const auto& c : key.children)
            if (!evaluate(c, m, scope)) return false;
        return true;
    case search_kind::or_:
        for (const auto& c : key.children)
            if (evaluate(c, m, scope)) return true;
        return false;
    case search_kind::not_: return key.children.empty() ? false : !evaluate(key.children[0], m, scope);
    case search_kind::fuzzy: return !key.children.empty() && evaluate(key.children[0], m, scope);
    case search_kind::sequence_set:
        if (key.set.saved) return in_saved(scope, m.uid());
        return key.set.contains(m.sequence_number(), scope.message_count);
    case search_kind::uid:
        if (key.set.saved) return in_saved(scope, m.uid());
        return key.set.contains(m.uid(), scope.max_uid);
    case search_kind::answered: return m.has_flag("\\Answered");
    case search_kind::deleted: return m.has_flag("\\Deleted");
    case search_kind::draft: return m.has_flag("\\Draft");
    case search_kind::flagged: return m.has_flag("\\Flagged");
    case search_kind::seen: return m.has_flag("\\Seen");
    case search_kind::recent: return m.is_recent();
    case search_kind::new_: return m.is_recent() && !m.has_flag("\\Seen");
    case search_kind::old: return !m.is_recent();
    case search_kind::unanswered: return !m.has_flag("\\Answered");
    case search_kind::undeleted: return !m.has_flag("\\Deleted");
    case search_kind::undraft: return !m.has_flag("\\Draft");
    case search_kind::unflagged: return !m.has_flag("\\Flagged");
    case search_kind::unseen: return !m.has_flag("\\Seen");
    case search_kind::keyword: return m.has_flag(key.text);
    case search_kind::unkeyword: return !m.has_flag(key.text);
    case search_kind::bcc: return m.header_contains("Bcc", key.text);
    case search_kind::cc: return m.header_contains("Cc", key.text);
    case search_kind::from: return m.header_contains("From", key.text);
    case search_kind::to: return m.header_contains("To", key.text);
    case search_kind::subject: return m.header_contains("Subject", key.text);
    case search_kind::header: return m.header_contains(key.header_name, key.text);
    case search_kind::body: return m.body_contains(key.text);
    case search_kind::text: return m.text_contains(key.text);
    case search_kind::before: return m.internal_date() < key.date;
    case search_kind::on: return m.internal_date() == key.date;
    case search_kind::since: return m.internal_date() >= key.date;
    case search_kind::sentbefore: return sent_or_internal(m) < key.date;
    case search_kind::senton: return sent_or_internal(m) == key.date;
    case search_kind::sentsince: return sent_or_internal(m) >= key.date;
    case search_kind::larger: return m.size() > key.number;
    case search_kind::smaller: return m.size() < key.number;
    case search_kind::modseq: return m.modseq() >= key.number;
    }
    return false;
}

}  // namespace polder::imap::proto
