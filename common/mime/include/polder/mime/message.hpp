// polder/mime/message.hpp - parse an RFC 5322 / MIME message once and keep what IMAP needs:
// ENVELOPE, BODYSTRUCTURE with exact byte offsets per part, header fields, decoded
// display fields, thread ids and the text for full-text search.
//
// SECURITY: input is untrusted and may be malformed on purpose. The parser never fails:
// it always returns a best-effort structure whose offsets are exact byte positions in the
// input (so ranged reads of the stored blob serve FETCH BODY[...] without re-parsing).
// Everything is bounded: nesting depth (multipart and message/rfc822), number of parts,
// header fields per header block, stored header value length, addresses per field,
// message ids per field, and the extracted text (limits below). Recursion depth is bounded
// by max_depth. Anything cut short is listed in `problems`. Decoded text is always valid
// UTF-8 without NUL or other control characters (safe for PostgreSQL text columns).
// STANDARDS: RFC 5322 (header fields, folding, address syntax incl. groups and obsolete
// routes), RFC 2045/2046 (MIME headers, multipart boundaries: the CRLF before a delimiter
// belongs to the delimiter, transport padding, preamble/epilogue, defaults text/plain;
// charset=us-ascii and message/rfc822 in multipart/digest), RFC 2047 (encoded words,
// decoded only in the display fields), RFC 2231 (parameter continuations, kept encoded
// as "name*"), RFC 2183 (Content-Disposition), RFC 3282 (Content-Language), RFC 2557
// (Content-Location), RFC 3501 §6.4.5 / RFC 9051 §6.4.5 (section numbering),
// RFC 3501 §7.4.2 / RFC 9051 §7.5.2 (ENVELOPE, BODYSTRUCTURE), RFC 5256 (thread ids),
// RFC 6532 (message/global is treated like message/rfc822).
//
// Decisions (so IMAP output is predictable):
// - type, subtype, encoding, disposition type and parameter names are stored lower-case;
//   parameter values as sent (quotes removed).
// - ENVELOPE strings are the raw field values, unfolded (CRLF removed, whitespace kept),
//   trimmed; encoded words are NOT decoded (clients decode them). The first occurrence of
//   a field counts. Display names lose their quotes and escapes; a comment serves as the
//   name when there is no display name ("a@b (Ann)"). A missing local part or domain is
//   filled with "MISSING_MAILBOX" / "MISSING_DOMAIN" (as Dovecot does), because NIL host
//   means group syntax in IMAP.
// - `lines` counts LF octets in the encoded body plus one for a final line without LF.
// - A multipart without boundary, one in which no delimiter is found, or one past the
//   depth limit is presented as a text/plain leaf (an IMAP multipart needs >= 1 part).
//   message/rfc822 with a base64/quoted-printable encoding is a leaf (it cannot be parsed
//   without decoding).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::mime {

struct limits {
    std::size_t max_depth = 20;              // nested multiparts + message/rfc822
    std::size_t max_parts = 1000;            // MIME entities in one message
    std::size_t max_header_fields = 1000;    // fields recorded per header block
    std::size_t max_header_value = 64 * 1024;  // octets of a field value kept (offsets stay exact)
    std::size_t max_addresses = 1000;        // per address field
    std::size_t max_message_ids = 500;       // per References / In-Reply-To
    std::size_t max_text = 1024 * 1024;      // UTF-8 octets of full text
    std::uint64_t max_file_size = 1ull << 32;  // parse_file refuses bigger files
};

// One IMAP address: (name adl mailbox host). Group start: mailbox = group name, host =
// nullopt; group end: all nullopt.
struct address {
    std::optional<std::string> name;
    std::optional<std::string> adl;
    std::optional<std::string> mailbox;
    std::optional<std::string> host;
    friend bool operator==(const address&, const address&) = default;
};

struct envelope {
    std::optional<std::string> date, subject;
    std::vector<address> from, sender, reply_to, to, cc, bcc;   // empty = NIL
    std::optional<std::string> in_reply_to, message_id;
    friend bool operator==(const envelope&, const envelope&) = default;
};

struct parameter {
    std::string name;    // lower-case; RFC 2231 extended values keep a trailing '*'
    std::string value;
    friend bool operator==(const parameter&, const parameter&) = default;
};

struct disposition {
    std::string type;    // lower-case: "inline", "attachment", ...
    std::vector<parameter> params;
    friend bool operator==(const disposition&, const disposition&) = default;
};

// One MIME entity. Offsets are into the raw message: the header block is
// [header_start, body_start) including the blank line that ends it; the body is
// [body_start, body_end).
struct body_part {
    std::string section;        // IMAP part number ("1", "2.1.3"); empty for the multipart
                                // that is a message's body (it has no number in IMAP)
    std::string type = "text", subtype = "plain";
    std::vector<parameter> params;
    std::optional<std::string> id, description, md5, location;
    std::string encoding = "7bit";
    std::optional<struct disposition> disposition;
    std::vector<std::string> language;
    std::uint64_t header_start = 0, body_start = 0, body_end = 0;
    std::uint64_t lines = 0;    // text/* and message/rfc822 (see above)
    // multipart: the parts. message/rfc822 and message/global: exactly one element, the
    // encapsulated message's body, whose header block is that message's header.
    std::vector<body_part> children;
    std::optional<envelope> message_envelope;   // message/rfc822 and message/global only

    bool is_multipart() const noexcept { return type == "multipart"; }
    bool is_message() const noexcept { return message_envelope.has_value(); }
    std::uint64_t size() const noexcept { return body_end - body_start; }
    friend bool operator==(const body_part&, const body_part&) = default;
};

struct header_field {
    std::string name;           // as written
    std::string value;          // unfolded, trimmed, raw (cut at limits::max_header_value)
    std::uint64_t offset = 0;   // the field's first octet (its name) in the raw message
    std::uint64_t length = 0;   // octets up to and including its final line ending
    friend bool operator==(const header_field&, const header_field&) = default;
};

struct display_address {        // decoded, for display, SORT (RFC 5256/5957) and search
    std::string name;           // RFC 2047-decoded display name, UTF-8 (may be empty)
    std::string address;        // mailbox@host (or just the mailbox / group name)
    friend bool operator==(const display_address&, const display_address&) = default;
};

struct message_info {
    std::uint64_t size = 0;                 // octets of the raw message
    envelope env;
    body_part body;                         // header_start 0; section "1" unless multipart
    std::vector<header_field> headers;      // top-level header fields, in order
    std::string subject;                    // RFC 2047-decoded, UTF-8
    std::vector<display_address> from, to, cc;
    std::optional<std::int64_t> date;       // Date: as Unix seconds (UTC); nullopt if absent/invalid
    std::string message_id;                 // without angle brackets
    std::vector<std::string> in_reply_to, references;
    std::string text;                       // text/plain and text/html parts as UTF-8 text
    bool text_truncated = false;
    std::vector<std::string> problems;      // malformations and limits hit (at most 32)
    friend bool operator==(const message_info&, const message_info&) = default;
};

// parse - never fails; see the header comment for the guarantees.
message_info parse(std::string_view raw, const limits& lim = {});

// parse_file - reads the file and parses it. nullopt if it cannot be read or is bigger
// than lim.max_file_size; `error` then says why.
std::optional<message_info> parse_file(const std::filesystem::path& path, std::string* error = nullptr,
                                       const limits& lim = {});

// Section lookup for FETCH BODY[<section>] (RFC 3501 §6.4.5).
struct byte_range {
    std::uint64_t begin = 0, end = 0;
    std::uint64_t size() const noexcept { return end - begin; }
    friend bool operator==(const byte_range&, const byte_range&) = default;
};
enum class section_text { body, header, text, mime };
// find_part - the part with this IMAP part number ("1.2"), or nullptr.
const body_part* find_part(const message_info& m, std::string_view part_number);
// section_range - BODY[part_number], BODY[part_number.HEADER|TEXT|MIME]; part_number ""
// means the whole message (body = everything, header/text of the message, no MIME).
// HEADER and TEXT on a numbered part need a message/rfc822 part. nullopt when invalid.
std::optional<byte_range> section_range(const message_info& m, std::string_view part_number, section_text what);

}  // namespace polder::mime
