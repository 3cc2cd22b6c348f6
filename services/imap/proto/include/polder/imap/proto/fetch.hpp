// polder/imap/proto/fetch.hpp - typed FETCH attributes (what the client asked for).
//
// SECURITY: values only; part numbers and partial ranges are range-checked by the parser.
// STANDARDS: RFC 3501 / RFC 9051 section 6.4.5 and 9 (fetch-att, section, partial),
// RFC 3516 (BINARY, BINARY.PEEK, BINARY.SIZE), RFC 7162 (MODSEQ, CHANGEDSINCE, VANISHED).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polder::imap::proto {

enum class fetch_item {
    envelope,
    flags,
    internaldate,
    rfc822,         // = BODY[] (sets \Seen)
    rfc822_header,  // = BODY.PEEK[HEADER]
    rfc822_size,
    rfc822_text,    // = BODY[TEXT] (sets \Seen)
    body,           // BODY without a section: the non-extensible body structure
    bodystructure,
    uid,
    body_section,   // BODY[section]<partial> / BODY.PEEK[...]
    binary,         // BINARY[part]<partial> / BINARY.PEEK[...]
    binary_size,    // BINARY.SIZE[part]
    modseq,
};

// section_text - what follows the part numbers inside [ ].
enum class section_text {
    none,               // BODY[] or BODY[1.2]: the whole message / part
    header,             // HEADER
    header_fields,      // HEADER.FIELDS (list)
    header_fields_not,  // HEADER.FIELDS.NOT (list)
    text,               // TEXT
    mime,               // MIME (only after part numbers)
};

struct section_spec {
    std::vector<std::uint32_t> part;   // "1.2.3" -> {1,2,3}; empty for the whole message
    section_text text = section_text::none;
    std::vector<std::string> fields;   // header field names as the client wrote them
    bool operator==(const section_spec&) const = default;
};

struct partial_range {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;  // > 0
    bool operator==(const partial_range&) const = default;
};

struct fetch_attribute {
    fetch_item item = fetch_item::flags;
    bool peek = false;                    // BODY.PEEK / BINARY.PEEK: do not set \Seen
    section_spec section;                 // body_section, binary, binary_size
    std::optional<partial_range> partial; // body_section, binary
    bool operator==(const fetch_attribute&) const = default;

    // sets_seen - fetching this marks the message \Seen (unless the mailbox is read-only).
    bool sets_seen() const noexcept {
        return item == fetch_item::rfc822 || item == fetch_item::rfc822_text ||
               ((item == fetch_item::body_section || item == fetch_item::binary) && !peek);
    }
};

// format_section - the section inside brackets: "1.2.HEADER.FIELDS (From To)", "TEXT", "".
std::string format_section(const section_spec& s);

// response_label - how the attribute is named in the FETCH response: "BODY[HEADER]<0>",
// "BINARY[1]", "BINARY.SIZE[2]", "RFC822.HEADER", "UID", ... (never ".PEEK"; the origin
// octet of a partial fetch is shown as "<offset>").
std::string response_label(const fetch_attribute& a);

// request_name - how a client writes the attribute: "BODY.PEEK[HEADER]<0.100>".
std::string request_name(const fetch_attribute& a);

}  // namespace polder::imap::proto
