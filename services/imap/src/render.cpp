// render.cpp - FETCH data from the stored parse (see render.hpp).
//
// SECURITY: bounded by the stored structure; decoders are single-pass and output at most
// the input size. STANDARDS: RFC 9051 6.4.5 / 7.5.2, RFC 3516, RFC 2045 6.7 and 6.8.
#include "render.hpp"

#include <algorithm>
#include <cctype>

namespace polder::imap {

namespace {

std::vector<proto::address> to_addresses(const std::vector<mime::address>& in) {
    std::vector<proto::address> out;
    out.reserve(in.size());
    for (const auto& a : in) out.push_back({a.name, a.adl, a.mailbox, a.host});
    return out;
}

proto::body_params to_params(const std::vector<mime::parameter>& in) {
    proto::body_params out;
    for (const auto& p : in) out.emplace_back(p.name, p.value);
    return out;
}

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool ieq(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string part_number(const std::vector<std::uint32_t>& part) {
    std::string s;
    for (auto n : part) {
        if (!s.empty()) s += '.';
        s += std::to_string(n);
    }
    return s;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

proto::envelope to_envelope(const mime::envelope& e) {
    proto::envelope out;
    out.date = e.date;
    out.subject = e.subject;
    out.from = to_addresses(e.from);
    out.sender = to_addresses(e.sender);
    out.reply_to = to_addresses(e.reply_to);
    out.to = to_addresses(e.to);
    out.cc = to_addresses(e.cc);
    out.bcc = to_addresses(e.bcc);
    out.in_reply_to = e.in_reply_to;
    out.message_id = e.message_id;
    // RFC 9051 7.5.2: Sender and Reply-To default to From when absent.
    if (out.sender.empty()) out.sender = out.from;
    if (out.reply_to.empty()) out.reply_to = out.from;
    return out;
}

proto::body_structure to_body_structure(const mime::body_part& p) {
    proto::body_structure b;
    b.type = upper(p.type);
    b.subtype = upper(p.subtype);
    b.params = to_params(p.params);
    b.id = p.id;
    b.description = p.description;
    b.encoding = upper(p.encoding);
    b.size = p.size();
    b.lines = p.lines;
    if (p.message_envelope) b.message_envelope = to_envelope(*p.message_envelope);
    for (const auto& c : p.children) b.parts.push_back(to_body_structure(c));
    b.md5 = p.md5;
    if (p.disposition) b.disposition = proto::body_disposition{p.disposition->type, to_params(p.disposition->params)};
    b.language = p.language;
    b.location = p.location;
    return b;
}

std::optional<section_plan> plan_section(const mime::message_info& m, const proto::fetch_attribute& att) {
    const auto number = part_number(att.section.part);
    section_plan plan;
    if (att.item == proto::fetch_item::binary || att.item == proto::fetch_item::binary_size) {
        if (att.section.text != proto::section_text::none) return std::nullopt;
        if (number.empty()) {
            auto r = mime::section_range(m, "", mime::section_text::body);
            if (!r) return std::nullopt;
            plan.range = *r;
            return plan;
        }
        const auto* part = mime::find_part(m, number);
        if (!part || part->is_multipart()) return std::nullopt;
        auto r = mime::section_range(m, number, mime::section_text::body);
        if (!r) return std::nullopt;
        plan.range = *r;
        plan.decode = true;
        plan.encoding = part->encoding;
        return plan;
    }
    mime::section_text what = mime::section_text::body;
    switch (att.section.text) {
        case proto::section_text::none: what = mime::section_text::body; break;
        case proto::section_text::header: what = mime::section_text::header; break;
        case proto::section_text::text: what = mime::section_text::text; break;
        case proto::section_text::mime: what = mime::section_text::mime; break;
        case proto::section_text::header_fields:
        case proto::section_text::header_fields_not:
            what = mime::section_text::header;
            plan.filter_fields = true;
            break;
    }
    auto r = mime::section_range(m, number, what);
    if (!r || r->end > m.size || r->begin > r->end) return std::nullopt;
    plan.range = *r;
    return plan;
}

std::string filter_header_fields(std::string_view block, const std::vector<std::string>& names, bool negate) {
    std::string out;
    bool keep = false;
    std::size_t pos = 0;
    while (pos < block.size()) {
        auto eol = block.find('\n', pos);
        std::size_t next = eol == std::string_view::npos ? block.size() : eol + 1;
        auto line = block.substr(pos, next - pos);
        if (line == "\r\n" || line == "\n") break;   // the blank line ending the header
        if (line[0] == ' ' || line[0] == '\t') {
            if (keep) out += line;
        } else {
            auto colon = line.find(':');
            std::string_view name = colon == std::string_view::npos ? line : line.substr(0, colon);
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
            bool named = std::any_of(names.begin(), names.end(), [&](const std::string& n) { return ieq(n, name); });
            keep = colon != std::string_view::npos && named != negate;
            if (keep) out += line;
        }
        if (keep && eol == std::string_view::npos) out += "\r\n";
        pos = next;
    }
    out += "\r\n";
    return out;
}

bool known_encoding(std::string_view e) noexcept {
    return e.empty() || ieq(e, "7bit") || ieq(e, "8bit") || ieq(e, "binary") || ieq(e, "base64") ||
           ieq(e, "quoted-printable");
}

std::string decode_transfer_encoding(std::string_view data, std::string_view e) {
    std::string out;
    if (ieq(e, "base64")) {
        out.reserve(data.size() * 3 / 4);
        std::uint32_t acc = 0;
        int bits = 0;
        for (char c : data) {
            int v;
            if (c >= 'A' && c <= 'Z') v = c - 'A';
            else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
            else if (c >= '0' && c <= '9') v = c - '0' + 52;
            else if (c == '+') v = 62;
            else if (c == '/') v = 63;
            else if (c == '=') break;      // padding ends the data
            else continue;                 // line breaks and junk are ignored (RFC 2045 6.8)
            acc = (acc << 6) | static_cast<std::uint32_t>(v);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out += static_cast<char>((acc >> bits) & 0xff);
            }
        }
        return out;
    }
    if (ieq(e, "quoted-printable")) {
        out.reserve(data.size());
        for (std::size_t i = 0; i < data.size(); ++i) {
            char c = data[i];
            if (c != '=') {
                out += c;
                continue;
            }
            // soft line break: "=" followed by optional whitespace and a line ending
            std::size_t j = i + 1;
            while (j < data.size() && (data[j] == ' ' || data[j] == '\t')) ++j;
            if (j < data.size() && (data[j] == '\r' || data[j] == '\n')) {
                if (data[j] == '\r' && j + 1 < data.size() && data[j + 1] == '\n') ++j;
                i = j;
                continue;
            }
            if (j >= data.size() && j > i + 1) {   // "=" and trailing blanks at the very end
                i = j;
                continue;
            }
            if (i + 2 < data.size() + 0 && hex(data[i + 1]) >= 0 && hex(data[i + 2]) >= 0) {
                out += static_cast<char>(hex(data[i + 1]) * 16 + hex(data[i + 2]));
                i += 2;
                continue;
            }
            out += c;   // invalid escape: kept as is
        }
        return out;
    }
    return std::string(data);
}

std::string_view apply_partial(std::string_view data, const std::optional<proto::partial_range>& p) {
    if (!p) return data;
    if (p->offset >= data.size()) return {};
    return data.substr(p->offset, std::min<std::uint64_t>(p->length, data.size() - p->offset));
}

}  // namespace polder::imap
