// polder/mime/fields.hpp - grammars of individual header fields: address lists (for IMAP
// ENVELOPE), Content-Type / Content-Disposition with RFC 2231 parameters, Content-Language,
// message-id lists, unfolding.
//
// SECURITY: pure functions over bounded strings; no recursion except comment nesting,
// which is handled with a counter; result sizes are capped by the caller's limits.
// STANDARDS: RFC 5322 §3.2-3.4, §3.6.4 and §4 (obsolete syntax: routes, obs-phrase),
// RFC 2045 §5.1 (Content-Type), RFC 2183, RFC 2231 §3-4 (continuations, charset'lang'),
// RFC 3282 (Content-Language), RFC 3501 §7.4.2 (envelope address structure).
#pragma once

#include "polder/mime/message.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace polder::mime {

// unfold - remove CR and LF (RFC 5322 §2.2.3 unfolding) and trim surrounding whitespace.
std::string unfold(std::string_view raw_value);

// parse_address_list - an address-list / mailbox-list in IMAP ENVELOPE form (see
// message.hpp: groups, MISSING_MAILBOX / MISSING_DOMAIN). At most max_addresses entries.
std::vector<address> parse_address_list(std::string_view value, std::size_t max_addresses = 1000);

struct content_type {
    std::string type, subtype;      // lower-case
    std::vector<parameter> params;  // names lower-case, RFC 2231 continuations merged
    bool valid = false;             // false: missing or unparseable (caller applies the default)
};
content_type parse_content_type(std::string_view value);

// parse_disposition - Content-Disposition; nullopt when there is no disposition type.
std::optional<disposition> parse_disposition(std::string_view value);

// parse_language - Content-Language tags, comments and whitespace removed.
std::vector<std::string> parse_language(std::string_view value);

// parse_message_ids - the msg-ids of Message-ID / In-Reply-To / References, without
// angle brackets; a bare id without brackets is accepted when it is the whole value.
std::vector<std::string> parse_message_ids(std::string_view value, std::size_t max_ids = 500);

// find_parameter - the value of a parameter by lower-case name, or nullptr.
const std::string* find_parameter(const std::vector<parameter>& params, std::string_view name);

}  // namespace polder::mime
