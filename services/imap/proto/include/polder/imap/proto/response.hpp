// polder/imap/proto/response.hpp - the response serializer: status responses, untagged
// data (CAPABILITY, LIST, STATUS, SEARCH, ESEARCH, SORT, THREAD, VANISHED, QUOTA, ACL, ...)
// and the FETCH response builder with ENVELOPE and BODYSTRUCTURE.
//
// Everything appends to a caller-owned std::string; the session writes it to the stream
// whenever it likes (it may flush between FETCH items to stream a large literal).
//
// SECURITY: free text is sanitized (no CR/LF/NUL, no forged "[CODE]"); strings choose
// quoted or literal form by content (wire.hpp) so stored data - subjects, addresses,
// mailbox names - can never inject response lines; literal octet counts are exact.
// STANDARDS: RFC 9051 section 7 and 9 (responses), RFC 3501 section 7, RFC 2342
// (NAMESPACE), RFC 2971 (ID), RFC 3516 (BINARY responses, literal8), RFC 4314 (ACL,
// LISTRIGHTS, MYRIGHTS), RFC 4731 (ESEARCH), RFC 5161 (ENABLED), RFC 5256 (SORT,
// THREAD), RFC 5258 / 5819 (extended LIST, CHILDINFO), RFC 5464 (METADATA), RFC 7162
// (MODSEQ, VANISHED), RFC 9208 (QUOTA, QUOTAROOT).
#pragma once

#include "polder/imap/proto/fetch.hpp"
#include "polder/imap/proto/response_code.hpp"
#include "polder/imap/proto/thread.hpp"
#include "polder/imap/proto/types.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polder::imap::proto {

// ---------------------------------------------------------------- ENVELOPE, BODYSTRUCTURE

// address - RFC 9051 address: (name adl mailbox host). A group is written as
// {mailbox = group name, host = NIL} ... members ... {mailbox = NIL, host = NIL}.
struct address {
    std::optional<std::string> name;
    std::optional<std::string> adl;
    std::optional<std::string> mailbox;
    std::optional<std::string> host;
    bool operator==(const address&) const = default;
};

struct envelope {
    std::optional<std::string> date;
    std::optional<std::string> subject;
    std::vector<address> from, sender, reply_to, to, cc, bcc;  // empty -> NIL
    std::optional<std::string> in_reply_to;
    std::optional<std::string> message_id;
    bool operator==(const envelope&) const = default;
};

using body_params = std::vector<std::pair<std::string, std::string>>;   // empty -> NIL

struct body_disposition {
    std::string type;   // "attachment"
    body_params params;
    bool operator==(const body_disposition&) const = default;
};

// body_structure - one MIME part as the store prepared it at delivery. A multipart has
// `parts` (and no size/encoding); a message/rfc822 part has `message_envelope` and exactly
// one element in `parts` (the embedded message's body).
struct body_structure {
    std::string type = "TEXT";
    std::string subtype = "PLAIN";
    body_params params;
    std::optional<std::string> id;
    std::optional<std::string> description;
    std::string encoding = "7BIT";
    std::uint64_t size = 0;
    std::uint64_t lines = 0;                       // text/* and message/rfc822
    std::optional<envelope> message_envelope;      // message/rfc822
    std::vector<body_structure> parts;             // multipart/*, or the message/rfc822 body
    // extension data (BODYSTRUCTURE only)
    std::optional<std::string> md5;
    std::optional<body_disposition> disposition;
    std::vector<std::string> language;             // empty -> NIL
    std::optional<std::string> location;

    bool is_multipart() const;
    bool is_message_rfc822() const;
    bool operator==(const body_structure&) const = default;
};

// append_envelope / append_body_structure - the parenthesized forms. `extensible` selects
// BODYSTRUCTURE (with extension data) over BODY. Nesting depth is the caller's bound (the
// MIME parser limits it).
void append_envelope(std::string& out, const envelope& e, bool utf8);
void append_body_structure(std::string& out, const body_structure& b, bool extensible, bool utf8);

// ---------------------------------------------------------------- untagged data types

struct list_entry {
    std::vector<std::string> attributes;   // "\HasNoChildren", "\Sent", "\Subscribed" ...
    std::optional<char> delimiter;         // nullopt -> NIL (flat namespace)
    std::string name;                      // UTF-8
    bool childinfo_subscribed = false;     // ("CHILDINFO" ("SUBSCRIBED")) for RECURSIVEMATCH
    std::optional<std::string> oldname;    // ("OLDNAME" (name)) after RENAME, IMAP4rev2
};

struct esearch_response {
    std::string tag;                         // the SEARCH command's tag
    bool uid = false;
    std::optional<std::uint32_t> min, max;
    std::optional<std::vector<std::uint32_t>> all;   // compressed as a sequence set
    std::optional<std::uint32_t> count;
    std::optional<std::uint64_t> modseq;     // CONDSTORE: highest modseq of the results
    // RFC 6203: one score (1..100) per message of `all`, in the same order.
    std::optional<std::vector<std::uint32_t>> relevancy;
};

struct namespace_entry {
    std::string prefix;
    std::optional<char> delimiter;
};

struct quota_resource {
    std::string name;        // STORAGE (KiB), MESSAGE, MAILBOX ...
    std::uint64_t usage = 0;
    std::uint64_t limit = 0;
};

struct acl_entry {
    std::string identifier;
    std::string rights;      // formatted with format_rights()
};

class fetch_response;

// ---------------------------------------------------------------- the writer

class response_writer {
public:
    // utf8: IMAP4rev2 or UTF8=ACCEPT is enabled (UTF-8 mailbox names and quoted strings).
    explicit response_writer(std::string& out, bool utf8 = false) : out_(out), utf8_(utf8) {}

    std::string& buffer() noexcept { return out_; }
    bool utf8() const noexcept { return utf8_; }
    void set_utf8(bool on) noexcept { utf8_ = on; }

    // status responses: "<tag> OK [CODE] text", "* NO text", "* BYE text"
    void tagged(std::string_view tag, response_status s, std::string_view text);
    void tagged(std::string_view tag, response_status s, const response_code& code, std::string_view text);
    void untagged(response_status s, std::string_view text);
    void untagged(response_status s, const response_code& code, std::string_view text);

    void continuation(std::string_view text);                 // "+ text"
    void continuation_data(std::string_view raw_challenge);   // "+ <base64>" ("+ " when empty)

    void capability(std::span<const std::string> caps);
    void enabled(std::span<const std::string> caps);
    void exists(std::uint32_t n);
    void recent(std::uint32_t n);
    void expunge(std::uint32_t seq);
    void flags(std::span<const std::string> flags);
    void list(const list_entry& e);
    void lsub(const list_entry& e);
    void status(std::string_view mailbox, std::span<const std::pair<status_item, std::uint64_t>> items);
    void search(std::span<const std::uint32_t> numbers, std::optional<std::uint64_t> modseq = std::nullopt);
    void esearch(const esearch_response& r);
    void sort(std::span<const std::uint32_t> numbers, std::optional<std::uint64_t> modseq = std::nullopt);
    void thread(const thread_forest& threads);
    void vanished(std::span<const std::uint32_t> uids, bool earlier);
    void vanished(std::span<const seq_range> ranges, bool earlier);   // ascending, non-overlapping
    void namespaces(std::span<const namespace_entry> personal, std::span<const namespace_entry> other,
                    std::span<const namespace_entry> shared);
    void id(const std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>>& params);
    void quota(std::string_view root, std::span<const quota_resource> resources);
    void quotaroot(std::string_view mailbox, std::span<const std::string> roots);
    void acl(std::string_view mailbox, std::span<const acl_entry> entries);
    void listrights(std::string_view mailbox, std::string_view identifier, std::string_view required,
                    std::span<const std::string> optional_groups);
    void myrights(std::string_view mailbox, std::string_view rights);
    void metadata(std::string_view mailbox, std::span<const std::pair<std::string, std::optional<std::string>>> entries);

    // fetch - start "* <seq> FETCH (" ; add items on the builder; finish() closes it.
    fetch_response fetch(std::uint32_t seq);

private:
    std::string& out_;
    bool utf8_;
    void status_line(std::string_view tag, response_status s, const response_code* code, std::string_view text);
    void write_list(std::string_view verb, const list_entry& e);
};

// fetch_response - builds one FETCH response. Items are written in call order.
class fetch_response {
public:
    fetch_response(std::string& out, std::uint32_t seq, bool utf8);
    fetch_response(const fetch_response&) = delete;
    fetch_response& operator=(const fetch_response&) = delete;
    fetch_response(fetch_response&&) = default;

    fetch_response& uid(std::uint32_t uid);
    fetch_response& flags(std::span<const std::string> flags);
    fetch_response& modseq(std::uint64_t modseq);
    fetch_response& internaldate(const date_time& t);
    fetch_response& rfc822_size(std::uint64_t size);
    fetch_response& envelope(const proto::envelope& e);
    fetch_response& body(const body_structure& b);            // BODY (non-extensible)
    fetch_response& bodystructure(const body_structure& b);
    // section - the data of BODY[...], BINARY[...], RFC822, RFC822.HEADER, RFC822.TEXT
    // (nullopt writes NIL). The caller already applied the partial range; `att` supplies
    // the label and origin. BINARY data containing NUL is sent as literal8.
    fetch_response& section(const fetch_attribute& att, std::optional<std::string_view> data);
    // section_literal - for streaming: writes the label and "{size}CRLF" (or "~{size}CRLF"
    // when `binary8`) only. The caller flushes the buffer, sends exactly `size` octets,
    // then continues with more items (or finish) on the same, possibly cleared, buffer.
    fetch_response& section_literal(const fetch_attribute& att, std::uint64_t size, bool binary8 = false);
    fetch_response& binary_size(const fetch_attribute& att, std::uint64_t size);
    // raw - a pre-rendered value from the store ("ENVELOPE", "(...)"); must be valid syntax.
    fetch_response& raw(std::string_view name, std::string_view value);
    void finish();   // ")\r\n"

private:
    std::string* out_;
    bool utf8_;
    bool first_ = true;
    bool finished_ = false;
    void item(std::string_view name);
};

}  // namespace polder::imap::proto
