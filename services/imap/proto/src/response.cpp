// response.cpp - serialization of IMAP responses, ENVELOPE/BODYSTRUCTURE and FETCH data.
//
// SECURITY: see response.hpp. Atoms are written bare only after checking they are atoms;
// everything else goes through the quoted/literal rules of wire.cpp.
// STANDARDS: RFC 9051 sections 7 and 9, RFC 3501 section 7, RFC 2342, RFC 2971, RFC 3516,
// RFC 4314, RFC 4731, RFC 5161, RFC 5256, RFC 5258, RFC 5464, RFC 7162, RFC 9208.
#include "polder/imap/proto/response.hpp"

#include "polder/imap/proto/base64.hpp"
#include "polder/imap/proto/mutf7.hpp"
#include "polder/imap/proto/wire.hpp"

#include "chars.hpp"

namespace polder::imap::proto {

// ---------------------------------------------------------------- ENVELOPE, BODYSTRUCTURE

bool body_structure::is_multipart() const { return detail::iequal(type, "MULTIPART") && !parts.empty(); }

bool body_structure::is_message_rfc822() const {
    return detail::iequal(type, "MESSAGE") && (detail::iequal(subtype, "RFC822") || detail::iequal(subtype, "GLOBAL")) &&
           message_envelope.has_value() && parts.size() == 1;
}

namespace {

void append_address_list(std::string& out, const std::vector<address>& list, bool utf8) {
    if (list.empty()) {
        out += "NIL";
        return;
    }
    out += '(';
    for (const auto& a : list) {
        out += '(';
        append_nstring(out, a.name, utf8);
        out += ' ';
        append_nstring(out, a.adl, utf8);
        out += ' ';
        append_nstring(out, a.mailbox, utf8);
        out += ' ';
        append_nstring(out, a.host, utf8);
        out += ')';
    }
    out += ')';
}

void append_params(std::string& out, const body_params& params, bool utf8) {
    if (params.empty()) {
        out += "NIL";
        return;
    }
    out += '(';
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (i) out += ' ';
        append_string(out, params[i].first, utf8);
        out += ' ';
        append_string(out, params[i].second, utf8);
    }
    out += ')';
}

void append_extension(std::string& out, const body_structure& b, bool utf8) {
    out += ' ';
    if (b.disposition) {
        out += '(';
        append_string(out, b.disposition->type, utf8);
        out += ' ';
        append_params(out, b.disposition->params, utf8);
        out += ')';
    } else {
        out += "NIL";
    }
    out += ' ';
    if (b.language.empty()) {
        out += "NIL";
    } else if (b.language.size() == 1) {
        append_string(out, b.language[0], utf8);
    } else {
        out += '(';
        for (std::size_t i = 0; i < b.language.size(); ++i) {
            if (i) out += ' ';
            append_string(out, b.language[i], utf8);
        }
        out += ')';
    }
    out += ' ';
    append_nstring(out, b.location, utf8);
}

}  // namespace

void append_envelope(std::string& out, const envelope& e, bool utf8) {
    out += '(';
    append_nstring(out, e.date, utf8);
    out += ' ';
    append_nstring(out, e.subject, utf8);
    for (const auto* list : {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc}) {
        out += ' ';
        append_address_list(out, *list, utf8);
    }
    out += ' ';
    append_nstring(out, e.in_reply_to, utf8);
    out += ' ';
    append_nstring(out, e.message_id, utf8);
    out += ')';
}

void append_body_structure(std::string& out, const body_structure& b, bool extensible, bool utf8) {
    out += '(';
    if (b.is_multipart()) {
        for (const auto& part : b.parts) append_body_structure(out, part, extensible, utf8);
        out += ' ';
        append_string(out, b.subtype, utf8);
        if (extensible) {
            out += ' ';
            append_params(out, b.params, utf8);
            append_extension(out, b, utf8);
        }
        out += ')';
        return;
    }
    append_string(out, b.type, utf8);
    out += ' ';
    append_string(out, b.subtype, utf8);
    out += ' ';
    append_params(out, b.params, utf8);
    out += ' ';
    append_nstring(out, b.id, utf8);
    out += ' ';
    append_nstring(out, b.description, utf8);
    out += ' ';
    append_string(out, b.encoding, utf8);
    out += ' ';
    out += std::to_string(b.size);
    if (b.is_message_rfc822()) {
        out += ' ';
        append_envelope(out, *b.message_envelope, utf8);
        out += ' ';
        append_body_structure(out, b.parts[0], extensible, utf8);
        out += ' ';
        out += std::to_string(b.lines);
    } else if (detail::iequal(b.type, "TEXT")) {
        out += ' ';
        out += std::to_string(b.lines);
    }
    if (extensible) {
        out += ' ';
        append_nstring(out, b.md5, utf8);
        append_extension(out, b, utf8);
    }
    out += ')';
}

// ---------------------------------------------------------------- response_writer

void response_writer::status_line(std::string_view tag, response_status s, const response_code* code,
                                  std::string_view text) {
    out_ += tag;
    out_ += ' ';
    out_ += status_name(s);
    out_ += ' ';
    if (code) {
        out_ += format_response_code(*code);
        out_ += ' ';
    }
    out_ += sanitize_text(text, utf8_);
    out_ += "\r\n";
}

void response_writer::tagged(std::string_view tag, response_status s, std::string_view text) {
    status_line(tag, s, nullptr, text);
}
void response_writer::tagged(std::string_view tag, response_status s, const response_code& code, std::string_view text) {
    status_line(tag, s, &code, text);
}
void response_writer::untagged(response_status s, std::string_view text) { status_line("*", s, nullptr, text); }
void response_writer::untagged(response_status s, const response_code& code, std::string_view text) {
    status_line("*", s, &code, text);
}

void response_writer::continuation(std::string_view text) {
    out_ += "+ ";
    out_ += sanitize_text(text, utf8_);
    out_ += "\r\n";
}

void response_writer::continuation_data(std::string_view raw_challenge) {
    out_ += "+ ";
    out_ += base64_encode(raw_challenge);
    out_ += "\r\n";
}

namespace {
void append_atoms(std::string& out, std::span<const std::string> atoms) {
    for (const auto& a : atoms)
        if (is_atom(a)) {
            out += ' ';
            out += a;
        }
}
void append_numbers(std::string& out, std::span<const std::uint32_t> numbers) {
    for (auto n : numbers) {
        out += ' ';
        out += std::to_string(n);
    }
}
}  // namespace

void response_writer::capability(std::span<const std::string> caps) {
    out_ += "* CAPABILITY";
    append_atoms(out_, caps);
    out_ += "\r\n";
}

void response_writer::enabled(std::span<const std::string> caps) {
    out_ += "* ENABLED";
    append_atoms(out_, caps);
    out_ += "\r\n";
}

void response_writer::exists(std::uint32_t n) { out_ += "* " + std::to_string(n) + " EXISTS\r\n"; }
void response_writer::recent(std::uint32_t n) { out_ += "* " + std::to_string(n) + " RECENT\r\n"; }
void response_writer::expunge(std::uint32_t seq) { out_ += "* " + std::to_string(seq) + " EXPUNGE\r\n"; }

void response_writer::flags(std::span<const std::string> flags) {
    out_ += "* FLAGS ";
    append_flag_list(out_, flags);
    out_ += "\r\n";
}

void response_writer::write_list(std::string_view verb, const list_entry& e) {
    out_ += "* ";
    out_ += verb;
    out_ += ' ';
    append_flag_list(out_, e.attributes);
    out_ += ' ';
    if (e.delimiter) append_quoted(out_, std::string_view(&*e.delimiter, 1));
    else out_ += "NIL";
    out_ += ' ';
    append_mailbox(out_, e.name, utf8_);
    if (e.childinfo_subscribed || e.oldname) {
        out_ += " (";
        if (e.childinfo_subscribed) out_ += "\"CHILDINFO\" (\"SUBSCRIBED\")";
        if (e.oldname) {
            if (e.childinfo_subscribed) out_ += ' ';
            out_ += "\"OLDNAME\" (";
            append_mailbox(out_, *e.oldname, utf8_);
            out_ += ')';
        }
        out_ += ')';
    }
    out_ += "\r\n";
}

void response_writer::list(const list_entry& e) { write_list("LIST", e); }
void response_writer::lsub(const list_entry& e) { write_list("LSUB", e); }

void response_writer::status(std::string_view mailbox, std::span<const std::pair<status_item, std::uint64_t>> items) {
    out_ += "* STATUS ";
    append_mailbox(out_, mailbox, utf8_);
    out_ += " (";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out_ += ' ';
        out_ += status_item_name(items[i].first);
        out_ += ' ';
        out_ += std::to_string(items[i].second);
    }
    out_ += ")\r\n";
}

void response_writer::search(std::span<const std::uint32_t> numbers, std::optional<std::uint64_t> modseq) {
    out_ += "* SEARCH";
    append_numbers(out_, numbers);
    if (modseq && !numbers.empty()) out_ += " (MODSEQ " + std::to_string(*modseq) + ")";
    out_ += "\r\n";
}

void response_writer::esearch(const esearch_response& r) {
    out_ += "* ESEARCH (TAG ";
    append_string(out_, r.tag, false);
    out_ += ')';
    if (r.uid) out_ += " UID";
    if (r.min) out_ += " MIN " + std::to_string(*r.min);
    if (r.max) out_ += " MAX " + std::to_string(*r.max);
    if (r.count) out_ += " COUNT " + std::to_string(*r.count);
    if (r.all && !r.all->empty()) out_ += " ALL " + compress_numbers(*r.all);
    if (r.modseq) out_ += " MODSEQ " + std::to_string(*r.modseq);
    if (r.relevancy && !r.relevancy->empty()) {
        out_ += " RELEVANCY (";
        for (std::size_t i = 0; i < r.relevancy->size(); ++i) {
            if (i) out_ += ' ';
            out_ += std::to_string((*r.relevancy)[i]);
        }
        out_ += ')';
    }
    out_ += "\r\n";
}

void response_writer::sort(std::span<const std::uint32_t> numbers, std::optional<std::uint64_t> modseq) {
    out_ += "* SORT";
    append_numbers(out_, numbers);
    if (modseq && !numbers.empty()) out_ += " (MODSEQ " + std::to_string(*modseq) + ")";
    out_ += "\r\n";
}

void response_writer::thread(const thread_forest& threads) {
    out_ += "* THREAD";
    if (!threads.roots.empty()) {
        out_ += ' ';
        out_ += format_threads(threads);
    }
    out_ += "\r\n";
}

void response_writer::vanished(std::span<const std::uint32_t> uids, bool earlier) {
    out_ += earlier ? "* VANISHED (EARLIER) " : "* VANISHED ";
    out_ += compress_numbers(uids);
    out_ += "\r\n";
}

void response_writer::vanished(std::span<const seq_range> ranges, bool earlier) {
    out_ += earlier ? "* VANISHED (EARLIER) " : "* VANISHED ";
    out_ += format_ranges(ranges);
    out_ += "\r\n";
}

void response_writer::namespaces(std::span<const namespace_entry> personal, std::span<const namespace_entry> other,
                                 std::span<const namespace_entry> shared) {
    out_ += "* NAMESPACE";
    for (auto list : {personal, other, shared}) {
        out_ += ' ';
        if (list.empty()) {
            out_ += "NIL";
            continue;
        }
        out_ += '(';
        for (const auto& ns : list) {
            out_ += '(';
            if (utf8_) {
                append_string(out_, ns.prefix, true);
            } else {
                auto encoded = mutf7_encode(ns.prefix);
                append_string(out_, encoded ? *encoded : ns.prefix, false);
            }
            out_ += ' ';
            if (ns.delimiter) append_quoted(out_, std::string_view(&*ns.delimiter, 1));
            else out_ += "NIL";
            out_ += ')';
        }
        out_ += ')';
    }
    out_ += "\r\n";
}

void response_writer::id(const std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>>& params) {
    out_ += "* ID ";
    if (!params) {
        out_ += "NIL\r\n";
        return;
    }
    out_ += '(';
    for (std::size_t i = 0; i < params->size(); ++i) {
        if (i) out_ += ' ';
        append_string(out_, (*params)[i].first, utf8_);
        out_ += ' ';
        append_nstring(out_, (*params)[i].second, utf8_);
    }
    out_ += ")\r\n";
}

void response_writer::quota(std::string_view root, std::span<const quota_resource> resources) {
    out_ += "* QUOTA ";
    append_astring(out_, root, utf8_);
    out_ += " (";
    bool first = true;
    for (const auto& r : resources) {
        if (!is_atom(r.name)) continue;
        if (!first) out_ += ' ';
        first = false;
        out_ += r.name;
        out_ += ' ';
        out_ += std::to_string(r.usage);
        out_ += ' ';
        out_ += std::to_string(r.limit);
    }
    out_ += ")\r\n";
}

void response_writer::quotaroot(std::string_view mailbox, std::span<const std::string> roots) {
    out_ += "* QUOTAROOT ";
    append_mailbox(out_, mailbox, utf8_);
    for (const auto& r : roots) {
        out_ += ' ';
        append_astring(out_, r, utf8_);
    }
    out_ += "\r\n";
}

void response_writer::acl(std::string_view mailbox, std::span<const acl_entry> entries) {
    out_ += "* ACL ";
    append_mailbox(out_, mailbox, utf8_);
    for (const auto& e : entries) {
        out_ += ' ';
        append_astring(out_, e.identifier, utf8_);
        out_ += ' ';
        append_astring(out_, e.rights, utf8_);
    }
    out_ += "\r\n";
}

void response_writer::listrights(std::string_view mailbox, std::string_view identifier, std::string_view required,
                                 std::span<const std::string> optional_groups) {
    out_ += "* LISTRIGHTS ";
    append_mailbox(out_, mailbox, utf8_);
    out_ += ' ';
    append_astring(out_, identifier, utf8_);
    out_ += ' ';
    append_astring(out_, required, utf8_);
    for (const auto& g : optional_groups) {
        out_ += ' ';
        append_astring(out_, g, utf8_);
    }
    out_ += "\r\n";
}

void response_writer::myrights(std::string_view mailbox, std::string_view rights) {
    out_ += "* MYRIGHTS ";
    append_mailbox(out_, mailbox, utf8_);
    out_ += ' ';
    append_astring(out_, rights, utf8_);
    out_ += "\r\n";
}

void response_writer::metadata(std::string_view mailbox,
                               std::span<const std::pair<std::string, std::optional<std::string>>> entries) {
    out_ += "* METADATA ";
    append_mailbox(out_, mailbox, utf8_);
    out_ += " (";
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i) out_ += ' ';
        append_astring(out_, entries[i].first, utf8_);
        out_ += ' ';
        const auto& v = entries[i].second;
        if (v && v->find('\0') != std::string::npos) append_literal8(out_, *v);
        else append_nstring(out_, v, utf8_);
    }
    out_ += ")\r\n";
}

fetch_response response_writer::fetch(std::uint32_t seq) { return fetch_response(out_, seq, utf8_); }

// ---------------------------------------------------------------- fetch_response

fetch_response::fetch_response(std::string& out, std::uint32_t seq, bool utf8) : out_(&out), utf8_(utf8) {
    *out_ += "* ";
    *out_ += std::to_string(seq);
    *out_ += " FETCH (";
}

void fetch_response::item(std::string_view name) {
    if (!first_) *out_ += ' ';
    first_ = false;
    *out_ += name;
    *out_ += ' ';
}

fetch_response& fetch_response::uid(std::uint32_t uid) {
    item("UID");
    *out_ += std::to_string(uid);
    return *this;
}

fetch_response& fetch_response::flags(std::span<const std::string> flags) {
    item("FLAGS");
    append_flag_list(*out_, flags);
    return *this;
}

fetch_response& fetch_response::modseq(std::uint64_t modseq) {
    item("MODSEQ");
    *out_ += '(';
    *out_ += std::to_string(modseq);
    *out_ += ')';
    return *this;
}

fetch_response& fetch_response::internaldate(const date_time& t) {
    item("INTERNALDATE");
    *out_ += '"';
    *out_ += format_date_time(t);
    *out_ += '"';
    return *this;
}

fetch_response& fetch_response::rfc822_size(std::uint64_t size) {
    item("RFC822.SIZE");
    *out_ += std::to_string(size);
    return *this;
}

fetch_response& fetch_response::envelope(const proto::envelope& e) {
    item("ENVELOPE");
    append_envelope(*out_, e, utf8_);
    return *this;
}

fetch_response& fetch_response::body(const body_structure& b) {
    item("BODY");
    append_body_structure(*out_, b, false, utf8_);
    return *this;
}

fetch_response& fetch_response::bodystructure(const body_structure& b) {
    item("BODYSTRUCTURE");
    append_body_structure(*out_, b, true, utf8_);
    return *this;
}

fetch_response& fetch_response::section(const fetch_attribute& att, std::optional<std::string_view> data) {
    item(response_label(att));
    if (!data) {
        *out_ += "NIL";
    } else if (att.item == fetch_item::binary && data->find('\0') != std::string_view::npos) {
        append_literal8(*out_, *data);
    } else if (data->empty()) {
        *out_ += "\"\"";
    } else {
        // Message data always goes as a literal (what every client is tested against).
        append_literal(*out_, *data);
    }
    return *this;
}

fetch_response& fetch_response::section_literal(const fetch_attribute& att, std::uint64_t size, bool binary8) {
    item(response_label(att));
    append_literal_header(*out_, static_cast<std::size_t>(size), binary8);
    return *this;
}

fetch_response& fetch_response::binary_size(const fetch_attribute& att, std::uint64_t size) {
    fetch_attribute a = att;
    a.item = fetch_item::binary_size;
    a.partial.reset();
    item(response_label(a));
    *out_ += std::to_string(size);
    return *this;
}

fetch_response& fetch_response::raw(std::string_view name, std::string_view value) {
    item(name);
    *out_ += value;
    return *this;
}

void fetch_response::finish() {
    if (finished_) return;
    finished_ = true;
    *out_ += ")\r\n";
}

}  // namespace polder::imap::proto
