// parser.cpp - the MIME structure scanner: header blocks, multipart boundaries,
// encapsulated messages, exact byte offsets, and what is derived from them (envelope,
// header list, display fields, thread ids, full text).
//
// SECURITY: one forward pass over the raw bytes per nesting level; recursion is bounded by
// limits::max_depth; the number of parts by limits::max_parts; header fields, value
// lengths, address and id counts and text by their limits. Offsets are computed from
// positions in the input only, so they are exact whatever the content. Accepts CRLF and
// bare LF line ends (IMAP APPEND can deliver either).
// STANDARDS: RFC 5322 §2.2 (header fields, folding), §3.6 (the fields of the envelope);
// RFC 2045 §5-6 (Content-Type defaults, Content-Transfer-Encoding); RFC 2046 §5.1.1
// (delimiters: "--" boundary at line start, transport padding, "--" suffix for the close
// delimiter, the preceding CRLF belongs to the delimiter), §5.1.5 (multipart/digest
// default), §5.2.1 (message/rfc822); RFC 6532 §3.7 (message/global); RFC 3501 §6.4.5,
// §7.4.2; RFC 9051 §6.4.5, §7.5.2.
#include "polder/mime/message.hpp"

#include "polder/mime/fields.hpp"
#include "polder/mime/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

namespace polder::mime {
namespace {

constexpr std::size_t max_problems = 32;
constexpr std::size_t max_boundary = 200;   // RFC 2046 says 70; real mail is sometimes longer

struct raw_field {
    std::size_t start, name_end, value_start, end;   // end: after the field's last line end
};

struct header_block {
    std::size_t start = 0, body_start = 0;
    std::vector<raw_field> fields;
    std::size_t total_fields = 0;
};

struct boundary_hit {
    bool found = false;
    std::size_t level = 0;       // index in the boundary stack
    bool close = false;          // "--boundary--"
    std::size_t line_start = 0;  // where the delimiter line starts
    std::size_t next = 0;        // the octet after the delimiter line
};

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::uint64_t count_lines(std::string_view body) {
    if (body.empty()) return 0;
    const auto lf = static_cast<std::uint64_t>(std::count(body.begin(), body.end(), '\n'));
    return lf + (body.back() == '\n' ? 0 : 1);
}

class scanner {
public:
    scanner(std::string_view raw, const limits& lim, message_info& info) : in_(raw), lim_(lim), info_(info) {}

    void run() {
        info_.size = in_.size();
        boundary_hit stop;
        header_block hb;
        parse_entity(info_.body, 0, 0, false, stop, &info_.env, &hb);
        collect_top_headers(hb);
        assign_sections();
    }

private:
    void problem(std::string p) {
        if (info_.problems.size() < max_problems &&
            std::find(info_.problems.begin(), info_.problems.end(), p) == info_.problems.end())
            info_.problems.push_back(std::move(p));
    }

    std::size_t next_line(std::size_t pos) const {
        const void* nl = std::memchr(in_.data() + pos, '\n', in_.size() - pos);
        return nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - in_.data()) + 1 : in_.size();
    }

    // The delimiter line at pos, if any boundary of the stack (innermost first) matches.
    boundary_hit boundary_at(std::size_t pos) const {
        boundary_hit h;
        if (bounds_.empty() || in_.size() - pos < 2 || in_[pos] != '-' || in_[pos + 1] != '-') return h;
        for (std::size_t k = bounds_.size(); k-- > 0;) {
            const std::string& b = bounds_[k];
            if (in_.compare(pos, b.size(), b) != 0) continue;
            std::size_t p = pos + b.size();
            bool close = false;
            if (in_.size() - p >= 2 && in_[p] == '-' && in_[p + 1] == '-') {
                close = true;
                p += 2;
            }
            // Only transport padding may follow (RFC 2046 §5.1.1); after a close
            // delimiter anything may follow on the line.
            bool ok = true;
            if (!close) {
                for (std::size_t q = p; q < in_.size() && in_[q] != '\n'; ++q)
                    if (in_[q] != ' ' && in_[q] != '\t' && in_[q] != '\r') {
                        ok = false;
                        break;
                    }
            }
            if (!ok) continue;
            h.found = true;
            h.level = k;
            h.close = close;
            h.line_start = pos;
            h.next = next_line(pos);
            return h;
        }
        return h;
    }

    // First delimiter line at or after pos (a line start).
    boundary_hit scan(std::size_t pos) const {
        if (bounds_.empty()) return {};
        while (pos < in_.size()) {
            if (in_[pos] == '-') {
                auto h = boundary_at(pos);
                if (h.found) return h;
            }
            pos = next_line(pos);
        }
        return {};
    }

    // Where the delimiter that starts on the line at line_start really begins: the line
    // end before it belongs to the delimiter (RFC 2046 §5.1.1).
    static std::size_t delimiter_start(std::string_view in, std::size_t line_start) {
        std::size_t e = line_start;
        if (e > 0 && in[e - 1] == '\n') {
            --e;
            if (e > 0 && in[e - 1] == '\r') --e;
        }
        return e;
    }

    // Ends `part` where the delimiter found by `stop` begins (or at the end of input). The
    // end never goes below `floor` (the part's own header start, or the end of its last
    // child), so parts always nest. When the empty line that ended the header is the very
    // CRLF of the delimiter, the header gives it up: the part then has an empty body and
    // a header without its empty line, which is what RFC 2046 makes of such input.
    void end_part(body_part& part, const boundary_hit& stop, std::uint64_t floor) const {
        if (!stop.found) {
            part.body_end = in_.size();
            return;
        }
        const std::uint64_t e = std::max<std::uint64_t>(delimiter_start(in_, stop.line_start), floor);
        part.body_start = std::min(part.body_start, e);
        part.body_end = e;
    }

    header_block parse_header(std::size_t start) const {
        header_block hb;
        hb.start = start;
        std::size_t pos = start;
        while (pos < in_.size()) {
            if (boundary_at(pos).found) {   // a part without header end: its body is empty
                hb.body_start = pos;
                return hb;
            }
            const std::size_t next = next_line(pos);
            std::size_t le = next;
            if (le > pos && in_[le - 1] == '\n') --le;
            if (le > pos && in_[le - 1] == '\r') --le;
            if (le == pos) {   // the empty line ends the header
                hb.body_start = next;
                return hb;
            }
            const char c = in_[pos];
            if (c == ' ' || c == '\t') {   // continuation of the previous field
                if (!hb.fields.empty() && hb.fields.back().end == pos) hb.fields.back().end = next;
                pos = next;
                continue;
            }
            std::size_t n = pos;
            while (n < le && static_cast<unsigned char>(in_[n]) > 32 && static_cast<unsigned char>(in_[n]) < 127 &&
                   in_[n] != ':')
                ++n;
            std::size_t colon = n;
            while (colon < le && (in_[colon] == ' ' || in_[colon] == '\t')) ++colon;   // obs: WSP before ':'
            if (n == pos || colon >= le || in_[colon] != ':') {
                // Not a header line: the header ended without an empty line (GMime and
                // Dovecot read it the same way); the body starts here.
                hb.body_start = pos;
                return hb;
            }
            ++hb.total_fields;
            if (hb.fields.size() < lim_.max_header_fields) hb.fields.push_back({pos, n, colon + 1, next});
            pos = next;
        }
        hb.body_start = in_.size();
        return hb;
    }

    std::string field_value(const raw_field& f) const {
        const std::size_t len = std::min(f.end - f.value_start, lim_.max_header_value);
        return unfold(in_.substr(f.value_start, len));
    }

    const raw_field* find_field(const header_block& hb, std::string_view name) const {
        for (const auto& f : hb.fields)
            if (iequals(in_.substr(f.start, f.name_end - f.start), name)) return &f;
        return nullptr;
    }

    std::optional<std::string> opt_field(const header_block& hb, std::string_view name) const {
        if (const auto* f = find_field(hb, name)) return field_value(*f);
        return std::nullopt;
    }

    void fill_envelope(const header_block& hb, envelope& env) const {
        env.date = opt_field(hb, "Date");
        env.subject = opt_field(hb, "Subject");
        const auto addrs = [&](std::string_view name) {
            const auto* f = find_field(hb, name);
            return f ? parse_address_list(field_value(*f), lim_.max_addresses) : std::vector<address>{};
        };
        env.from = addrs("From");
        env.sender = addrs("Sender");
        env.reply_to = addrs("Reply-To");
        env.to = addrs("To");
        env.cc = addrs("Cc");
        env.bcc = addrs("Bcc");
        // RFC 3501 §7.4.2: absent or empty Sender / Reply-To default to From.
        if (env.sender.empty()) env.sender = env.from;
        if (env.reply_to.empty()) env.reply_to = env.from;
        env.in_reply_to = opt_field(hb, "In-Reply-To");
        env.message_id = opt_field(hb, "Message-ID");
    }

    static bool identity_encoding(std::string_view e) {
        return e.empty() || e == "7bit" || e == "8bit" || e == "binary";
    }

    void parse_entity(body_part& part, std::size_t start, std::size_t depth, bool digest_child, boundary_hit& stop,
                      envelope* env, header_block* hb_out) {
        ++parts_;
        header_block hb = parse_header(start);
        if (hb.total_fields > hb.fields.size()) problem("header field limit reached");
        part.header_start = start;
        part.body_start = hb.body_start;
        if (env) fill_envelope(hb, *env);

        const auto* ctf = find_field(hb, "Content-Type");
        content_type ct = ctf ? parse_content_type(field_value(*ctf)) : content_type{};
        if (ct.valid) {
            part.type = ct.type;
            part.subtype = ct.subtype;
            part.params = std::move(ct.params);
        } else {
            if (ctf) problem("invalid Content-Type");
            part.type = digest_child ? "message" : "text";
            part.subtype = digest_child ? "rfc822" : "plain";
            if (!digest_child) part.params = {{"charset", "us-ascii"}};
        }
        if (const auto* f = find_field(hb, "Content-Transfer-Encoding")) {
            std::string e = field_value(*f);
            const auto sp = e.find_first_of(" \t(;");
            if (sp != std::string::npos) e.resize(sp);
            for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (!e.empty()) part.encoding = std::move(e);
        }
        part.id = opt_field(hb, "Content-ID");
        part.description = opt_field(hb, "Content-Description");
        part.md5 = opt_field(hb, "Content-MD5");
        part.location = opt_field(hb, "Content-Location");
        if (const auto* f = find_field(hb, "Content-Disposition")) part.disposition = parse_disposition(field_value(*f));
        if (const auto* f = find_field(hb, "Content-Language")) part.language = parse_language(field_value(*f));
        if (hb_out) *hb_out = std::move(hb);

        if (part.type == "multipart") {
            const std::string* boundary = find_parameter(part.params, "boundary");
            if (!boundary || boundary->empty() || boundary->size() > max_boundary) {
                problem("multipart without usable boundary");
                as_text_leaf(part, stop);
                return;
            }
            if (depth >= lim_.max_depth) {
                problem("nesting depth limit reached");
                as_text_leaf(part, stop);
                return;
            }
            parse_multipart(part, *boundary, depth, stop);
            return;
        }
        if (part.type == "message" && (part.subtype == "rfc822" || part.subtype == "global")) {
            if (!identity_encoding(part.encoding)) {
                // An encoded message cannot be parsed without decoding; IMAP requires an
                // envelope for message/rfc822, so present it as an opaque attachment.
                problem("encoded message/rfc822 part");
                part.type = "application";
                part.subtype = "octet-stream";
            } else if (depth >= lim_.max_depth || parts_ >= lim_.max_parts) {
                problem(depth >= lim_.max_depth ? "nesting depth limit reached" : "part limit reached");
                part.type = "application";
                part.subtype = "octet-stream";
            } else {
                body_part inner;
                envelope& menv = part.message_envelope.emplace();
                parse_entity(inner, part.body_start, depth + 1, false, stop, &menv, nullptr);
                part.body_end = inner.body_end;
                part.lines = count_lines(in_.substr(part.body_start, part.body_end - part.body_start));
                part.children.push_back(std::move(inner));
                return;
            }
        }
        leaf(part, stop);
    }

    void leaf(body_part& part, boundary_hit& stop) {
        stop = scan(part.body_start);
        end_part(part, stop, part.header_start);
        if (part.type == "text" || (part.type == "message" && part.subtype == "rfc822"))
            part.lines = count_lines(in_.substr(part.body_start, part.body_end - part.body_start));
    }

    void as_text_leaf(body_part& part, boundary_hit& stop) {
        part.type = "text";
        part.subtype = "plain";
        part.children.clear();
        leaf(part, stop);
    }

    void parse_multipart(body_part& part, const std::string& boundary, std::size_t depth, boundary_hit& stop) {
        bounds_.push_back("--" + boundary);
        const std::size_t level = bounds_.size() - 1;
        const bool digest = part.subtype == "digest";
        boundary_hit hit = scan(part.body_start);   // skips the preamble
        while (hit.found && hit.level == level && !hit.close) {
            if (parts_ >= lim_.max_parts) {
                problem("part limit reached");
                hit = scan(hit.next);
                continue;
            }
            body_part child;
            boundary_hit child_stop;
            parse_entity(child, hit.next, depth + 1, digest, child_stop, nullptr, nullptr);
            part.children.push_back(std::move(child));
            hit = child_stop;
        }
        bounds_.pop_back();
        if (hit.found && hit.level == level) {
            // Close delimiter; the epilogue runs to an outer delimiter or the end.
            stop = scan(hit.next);
        } else {
            problem("missing close delimiter");
            stop = hit;
        }
        end_part(part, stop, part.children.empty() ? part.header_start : part.children.back().body_end);
        if (part.children.empty()) {
            // IMAP needs at least one part in a multipart: show it as text instead.
            problem("multipart without parts");
            part.type = "text";
            part.subtype = "plain";
            part.lines = count_lines(in_.substr(part.body_start, part.body_end - part.body_start));
        }
    }

    void collect_top_headers(const header_block& hb) {
        info_.headers.reserve(hb.fields.size());
        for (const auto& f : hb.fields) {
            header_field h;
            h.name = std::string(in_.substr(f.start, f.name_end - f.start));
            h.value = field_value(f);
            h.offset = f.start;
            h.length = f.end - f.start;
            info_.headers.push_back(std::move(h));
        }
    }

    // RFC 3501 §6.4.5: a non-multipart message body is part 1; multipart parts are
    // numbered 1..n; an encapsulated message's body continues the numbering of its part.
    void assign_sections() {
        if (info_.body.is_multipart()) {
            info_.body.section.clear();
            number_children(info_.body, "");
        } else {
            number(info_.body, "1");
        }
    }

    static std::string join(const std::string& prefix, std::size_t n) {
        return prefix.empty() ? std::to_string(n) : prefix + "." + std::to_string(n);
    }

    static void number_children(body_part& p, const std::string& prefix) {
        for (std::size_t i = 0; i < p.children.size(); ++i) number(p.children[i], join(prefix, i + 1));
    }

    static void number(body_part& p, const std::string& section) {
        p.section = section;
        if (p.is_multipart()) {
            number_children(p, section);
        } else if (p.is_message() && !p.children.empty()) {
            body_part& inner = p.children.front();
            if (inner.is_multipart()) {
                inner.section.clear();
                number_children(inner, section);
            } else {
                number(inner, section + ".1");
            }
        }
    }

    std::string_view in_;
    const limits& lim_;
    message_info& info_;
    std::vector<std::string> bounds_;
    std::size_t parts_ = 0;
};

std::vector<display_address> display(const std::vector<address>& list) {
    std::vector<display_address> out;
    for (const auto& a : list) {
        if (!a.host) continue;   // group markers
        display_address d;
        if (a.name) d.name = decode_header_text(*a.name);
        d.address = sanitize_utf8(a.mailbox.value_or("") + "@" + *a.host, false);
        out.push_back(std::move(d));
    }
    return out;
}

void collect_text(const body_part& p, std::string_view raw, const limits& lim, message_info& info) {
    if (info.text.size() >= lim.max_text) {
        return;
    }
    if (!p.children.empty()) {
        for (const auto& c : p.children) collect_text(c, raw, lim, info);
        return;
    }
    if (p.type != "text" || (p.subtype != "plain" && p.subtype != "html")) return;
    const std::string* cs = find_parameter(p.params, "charset");
    const std::size_t room = lim.max_text - info.text.size();
    const bool html = p.subtype == "html";
    bool cut = false;
    // HTML shrinks when its tags go; take more of it so the cap applies to the text.
    std::string t = decode_body_text(raw.substr(p.body_start, p.body_end - p.body_start), p.encoding,
                                     cs ? std::string_view(*cs) : std::string_view{}, html ? room * 4 : room, &cut);
    if (html) t = html_to_text(t);
    if (t.empty()) return;
    if (!info.text.empty()) {
        info.text.push_back('\n');
        if (info.text.size() >= lim.max_text) {
            info.text_truncated = true;
            return;
        }
    }
    const std::size_t left = lim.max_text - info.text.size();
    if (t.size() > left) {
        std::size_t cutpos = left;
        while (cutpos > 0 && (static_cast<unsigned char>(t[cutpos]) & 0xC0) == 0x80) --cutpos;   // keep UTF-8 whole
        t.resize(cutpos);
        cut = true;
    }
    info.text += t;
    if (cut) info.text_truncated = true;
}

}  // namespace

message_info parse(std::string_view raw, const limits& lim) {
    message_info info;
    scanner(raw, lim, info).run();

    if (info.env.subject) info.subject = decode_header_text(*info.env.subject);
    info.from = display(info.env.from);
    info.to = display(info.env.to);
    info.cc = display(info.env.cc);
    if (info.env.date) info.date = parse_date(*info.env.date);
    if (info.env.message_id) {
        auto ids = parse_message_ids(*info.env.message_id, 1);
        if (!ids.empty()) info.message_id = sanitize_utf8(ids.front(), false);
    }
    if (info.env.in_reply_to) info.in_reply_to = parse_message_ids(*info.env.in_reply_to, lim.max_message_ids);
    for (const auto& h : info.headers) {
        if (iequals(h.name, "References")) {
            info.references = parse_message_ids(h.value, lim.max_message_ids);
            break;
        }
    }
    for (auto* v : {&info.in_reply_to, &info.references})
        for (auto& id : *v) id = sanitize_utf8(id, false);
    collect_text(info.body, raw, lim, info);
    return info;
}

std::optional<message_info> parse_file(const std::filesystem::path& path, std::string* error, const limits& lim) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        if (error) *error = "cannot stat " + path.string() + ": " + ec.message();
        return std::nullopt;
    }
    if (size > lim.max_file_size) {
        if (error) *error = path.string() + " is larger than the parse limit";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (error) *error = "cannot open " + path.string();
        return std::nullopt;
    }
    std::string raw(static_cast<std::size_t>(size), '\0');
    in.read(raw.data(), static_cast<std::streamsize>(size));
    if (static_cast<std::uint64_t>(in.gcount()) != size) {
        if (error) *error = "short read from " + path.string();
        return std::nullopt;
    }
    return parse(raw, lim);
}

}  // namespace polder::mime
