// fetch.cpp - names of FETCH attributes as requested and as answered.
//
// SECURITY: formatting only; header field names are written as astrings so an odd name
// from the client cannot break the response line.
// STANDARDS: RFC 9051 sections 6.4.5, 7.5.2 and 9 (section, msg-att-static), RFC 3516.
#include "polder/imap/proto/fetch.hpp"

#include "polder/imap/proto/wire.hpp"

namespace polder::imap::proto {

std::string format_section(const section_spec& s) {
    std::string out;
    for (std::size_t i = 0; i < s.part.size(); ++i) {
        if (i) out += '.';
        out += std::to_string(s.part[i]);
    }
    auto add = [&](std::string_view word) {
        if (!out.empty()) out += '.';
        out += word;
    };
    switch (s.text) {
    case section_text::none: break;
    case section_text::header: add("HEADER"); break;
    case section_text::text: add("TEXT"); break;
    case section_text::mime: add("MIME"); break;
    case section_text::header_fields:
    case section_text::header_fields_not: {
        add(s.text == section_text::header_fields ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (");
        for (std::size_t i = 0; i < s.fields.size(); ++i) {
            if (i) out += ' ';
            append_astring(out, s.fields[i], false);
        }
        out += ')';
        break;
    }
    }
    return out;
}

namespace {

std::string simple_name(fetch_item item) {
    switch (item) {
    case fetch_item::envelope: return "ENVELOPE";
    case fetch_item::flags: return "FLAGS";
    case fetch_item::internaldate: return "INTERNALDATE";
    case fetch_item::rfc822: return "RFC822";
    case fetch_item::rfc822_header: return "RFC822.HEADER";
    case fetch_item::rfc822_size: return "RFC822.SIZE";
    case fetch_item::rfc822_text: return "RFC822.TEXT";
    case fetch_item::body: return "BODY";
    case fetch_item::bodystructure: return "BODYSTRUCTURE";
    case fetch_item::uid: return "UID";
    case fetch_item::modseq: return "MODSEQ";
    case fetch_item::body_section: return "BODY";
    case fetch_item::binary: return "BINARY";
    case fetch_item::binary_size: return "BINARY.SIZE";
    }
    return "FLAGS";
}

bool has_section(fetch_item item) {
    return item == fetch_item::body_section || item == fetch_item::binary || item == fetch_item::binary_size;
}

}  // namespace

std::string response_label(const fetch_attribute& a) {
    std::string out = simple_name(a.item);
    if (has_section(a.item)) {
        out += '[';
        out += format_section(a.section);
        out += ']';
        if (a.partial && a.item != fetch_item::binary_size) {
            out += '<';
            out += std::to_string(a.partial->offset);
            out += '>';
        }
    }
    return out;
}

std::string request_name(const fetch_attribute& a) {
    std::string out = simple_name(a.item);
    if (a.peek && (a.item == fetch_item::body_section || a.item == fetch_item::binary)) out += ".PEEK";
    if (has_section(a.item)) {
        out += '[';
        out += format_section(a.section);
        out += ']';
        if (a.partial && a.item != fetch_item::binary_size) {
            out += '<';
            out += std::to_string(a.partial->offset);
            out += '.';
            out += std::to_string(a.partial->length);
            out += '>';
        }
    }
    return out;
}

}  // namespace polder::imap::proto
