// render.hpp - turns what the mail store prepared at delivery into IMAP FETCH data:
// ENVELOPE and BODYSTRUCTURE from the stored parse, the byte range of a BODY[section],
// HEADER.FIELDS filtering of a header block, and content-transfer-encoding decoding for
// BINARY[section].
//
// SECURITY: works on stored, bounded data only (the MIME parser limited depth and part
// counts at delivery); decoders are linear and never write more than their input size;
// section lookups that fall outside the message yield nullopt, never an out-of-range read.
// STANDARDS: RFC 9051 / RFC 3501 section 6.4.5 (sections, HEADER.FIELDS[.NOT], MIME,
// TEXT, partial fetch) and 7.5.2 (ENVELOPE, BODYSTRUCTURE); RFC 3516 (BINARY: decoded
// content, UNKNOWN-CTE); RFC 2045 section 6.7/6.8 (quoted-printable, base64).
#pragma once

#include "polder/imap/proto/fetch.hpp"
#include "polder/imap/proto/response.hpp"
#include "polder/mime/message.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace polder::imap {

proto::envelope to_envelope(const mime::envelope& e);
proto::body_structure to_body_structure(const mime::body_part& p);

// section_plan - which bytes of the stored message a BODY/BINARY section needs.
struct section_plan {
    mime::byte_range range;          // bytes to read from the blob
    bool filter_fields = false;      // HEADER.FIELDS / HEADER.FIELDS.NOT on the header block read
    bool decode = false;             // BINARY: undo the part's content-transfer-encoding
    std::string encoding;            // lower-case CTE of the part (when decode)
};

// plan_section - nullopt when the section names no part of this message (the FETCH then
// answers with an empty string, as Dovecot does). For BINARY on a multipart or with a
// section text, nullopt too (RFC 3516 allows only part numbers).
std::optional<section_plan> plan_section(const mime::message_info& m, const proto::fetch_attribute& att);

// filter_header_fields - the fields of `header_block` (raw, up to and including the blank
// line) named (or, with `negate`, not named) in `names`, followed by the blank line.
std::string filter_header_fields(std::string_view header_block, const std::vector<std::string>& names, bool negate);

// known_encoding - a CTE that decode_transfer_encoding understands.
bool known_encoding(std::string_view encoding) noexcept;
// decode_transfer_encoding - base64 (ignoring whitespace and junk per RFC 2045 6.8),
// quoted-printable (soft line breaks, =XX; invalid escapes kept literally), identity for
// 7bit/8bit/binary.
std::string decode_transfer_encoding(std::string_view data, std::string_view encoding);

// apply_partial - BODY[]<offset.length>: the substring, empty past the end.
std::string_view apply_partial(std::string_view data, const std::optional<proto::partial_range>& p);

}  // namespace polder::imap
