// polder/imap/proto/thread.hpp - RFC 5256 base subject extraction and the THREAD
// algorithms ORDEREDSUBJECT and REFERENCES as pure functions over message records.
//
// The server gathers one thread_message per message matching the THREAD search criteria
// (from what the store prepared at delivery) and gets back the thread forest to write
// with response_writer::thread().
//
// SECURITY: all traversals are iterative (a References chain of 100,000 messages does
// not exhaust the stack); loop checks keep the container graph a forest; header values
// are decoded with bounded work (linear in their length).
// STANDARDS: RFC 5256 sections 2.1 (base subject), 2.2 (sent date), 3 (ORDEREDSUBJECT,
// REFERENCES), 4 (THREAD response); RFC 2047 (encoded-words); RFC 5322 3.6.4 (msg-id).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace polder::imap::proto {

struct base_subject_result {
    std::string subject;          // the base subject (case preserved)
    bool reply_or_forward = false;  // extraction removed "Re:", "Fwd:", "(fwd)" or "[fwd: ]"
};

// extract_base_subject - RFC 5256 2.1 steps 1-7 on a raw Subject header value
// (encoded-words are decoded to UTF-8 first when `decode_encoded_words`; see
// decode_encoded_words for the charsets handled).
base_subject_result extract_base_subject(std::string_view subject, bool decode_encoded_words = true);

// decode_encoded_words - RFC 2047 "=?charset?B|Q?text?=" to UTF-8 for UTF-8, US-ASCII,
// ISO-8859-1, ISO-8859-15 and Windows-1252 (the charsets of practically all Dutch and
// English mail); words in other charsets are left as they are. Whitespace between
// adjacent encoded-words is dropped as RFC 2047 6.2 requires.
std::string decode_encoded_words(std::string_view text);

// compare_ascii_casemap - i;ascii-casemap ordering (<0, 0, >0), the RFC 5256 default.
int compare_ascii_casemap(std::string_view a, std::string_view b) noexcept;

// parse_msg_ids - the message IDs of a References / In-Reply-To / Message-ID header:
// "<a@b>" tokens (angle brackets kept), comments and other text skipped, at most
// `max_ids` returned (the last ones for References, which matter most).
std::vector<std::string> parse_msg_ids(std::string_view header, std::size_t max_ids = 1000);

struct thread_message {
    std::uint32_t id = 0;          // what the response shows: UID or sequence number
    std::uint32_t sequence = 0;    // message sequence number: tie-breaker for equal dates
    std::string message_id;        // "<x@y>" or empty
    std::vector<std::string> references;  // from References: (parse_msg_ids)
    std::string in_reply_to;       // first msg-id of In-Reply-To:, or empty
    std::string subject;           // raw Subject header value
    std::int64_t sent_date = 0;    // RFC 5256 2.2: Date: header, else internal date (Unix time)
};

// thread_forest - the threads as a flat forest (flat so that very deep threads are never
// destroyed, compared or walked recursively). nodes[i].id 0 is a dummy: a placeholder
// parent the REFERENCES algorithm keeps at the top level for siblings whose parent is
// missing. roots and children are in display order.
struct thread_node {
    std::uint32_t id = 0;
    std::vector<std::size_t> children;   // indices into thread_forest::nodes
    bool operator==(const thread_node&) const = default;
};

struct thread_forest {
    std::vector<thread_node> nodes;
    std::vector<std::size_t> roots;
    bool operator==(const thread_forest&) const = default;
};

thread_forest thread_orderedsubject(const std::vector<thread_message>& messages);
thread_forest thread_references(const std::vector<thread_message>& messages);

// format_threads - the THREAD response data: "(2)(3 6 (4 23)(44 7 96))".
std::string format_threads(const thread_forest& threads);

}  // namespace polder::imap::proto
