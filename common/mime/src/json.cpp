// json.cpp - JSON serialisation of message_info and its parts.
//
// SECURITY: strings that are not valid UTF-8 or contain NUL are stored base64-encoded
// (see json.hpp), so dump() never throws on message content and jsonb accepts the result.
// Nesting of parts is bounded by the parser's max_depth, so recursion here is bounded too.
// STANDARDS: RFC 8259, RFC 4648 §4.
#include "polder/mime/json.hpp"

#include "polder/mime/text.hpp"

namespace polder::mime {
namespace {

using nlohmann::json;

constexpr std::string_view b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string b64_encode(std::string_view b) {
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= b.size(); i += 3) {
        const unsigned n = (unsigned(static_cast<unsigned char>(b[i])) << 16) |
                           (unsigned(static_cast<unsigned char>(b[i + 1])) << 8) | unsigned(static_cast<unsigned char>(b[i + 2]));
        for (int s = 18; s >= 0; s -= 6) out.push_back(b64_alphabet[(n >> s) & 63]);
    }
    if (i < b.size()) {
        unsigned n = unsigned(static_cast<unsigned char>(b[i])) << 16;
        if (i + 1 < b.size()) n |= unsigned(static_cast<unsigned char>(b[i + 1])) << 8;
        out.push_back(b64_alphabet[(n >> 18) & 63]);
        out.push_back(b64_alphabet[(n >> 12) & 63]);
        out.push_back(i + 1 < b.size() ? b64_alphabet[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::string b64_decode(std::string_view t) {
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : t) {
        const auto pos = b64_alphabet.find(c);
        if (pos == std::string_view::npos) {
            if (c == '=') break;
            throw json::other_error::create(501, "invalid base64 in stored string", nullptr);
        }
        acc = (acc << 6) | static_cast<unsigned>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

// Strict RFC 3629 UTF-8 check (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8_bytes(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) { ++i; continue; }
        if (c >= 0xC2 && c <= 0xDF) n = 2;
        else if (c == 0xE0) { n = 3; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) n = 3;
        else if (c == 0xED) { n = 3; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) n = 3;
        else if (c == 0xF0) { n = 4; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) n = 4;
        else if (c == 0xF4) { n = 4; hi = 0x8F; }
        else return false;
        if (i + n > s.size()) return false;
        const auto b1 = static_cast<unsigned char>(s[i + 1]);
        if (b1 < lo || b1 > hi) return false;
        for (std::size_t k = 2; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if (b < 0x80 || b > 0xBF) return false;
        }
        i += n;
    }
    return true;
}

json str(std::string_view s) {
    if (s.find('\0') == std::string_view::npos && is_valid_utf8_bytes(s)) return json(std::string(s));
    return json{{"b64", b64_encode(s)}};
}

std::string get_str(const json& j) {
    if (j.is_object()) return b64_decode(j.at("b64").get<std::string>());
    return j.get<std::string>();
}

json opt(const std::optional<std::string>& s) { return s ? str(*s) : json(nullptr); }

std::optional<std::string> get_opt(const json& j) {
    if (j.is_null()) return std::nullopt;
    return get_str(j);
}

std::optional<std::string> get_opt(const json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end()) return std::nullopt;
    return get_opt(*it);
}

json str_list(const std::vector<std::string>& v) {
    json a = json::array();
    for (const auto& s : v) a.push_back(str(s));
    return a;
}

std::vector<std::string> get_str_list(const json& j) {
    std::vector<std::string> v;
    for (const auto& x : j) v.push_back(get_str(x));
    return v;
}

}  // namespace

void to_json(json& j, const address& a) { j = json::array({opt(a.name), opt(a.adl), opt(a.mailbox), opt(a.host)}); }
void from_json(const json& j, address& a) {
    a.name = get_opt(j.at(0));
    a.adl = get_opt(j.at(1));
    a.mailbox = get_opt(j.at(2));
    a.host = get_opt(j.at(3));
}

void to_json(json& j, const envelope& e) {
    j = json{{"date", opt(e.date)},         {"subject", opt(e.subject)}, {"from", e.from},
             {"sender", e.sender},          {"reply_to", e.reply_to},    {"to", e.to},
             {"cc", e.cc},                  {"bcc", e.bcc},              {"in_reply_to", opt(e.in_reply_to)},
             {"message_id", opt(e.message_id)}};
}
void from_json(const json& j, envelope& e) {
    e.date = get_opt(j, "date");
    e.subject = get_opt(j, "subject");
    e.from = j.at("from").get<std::vector<address>>();
    e.sender = j.at("sender").get<std::vector<address>>();
    e.reply_to = j.at("reply_to").get<std::vector<address>>();
    e.to = j.at("to").get<std::vector<address>>();
    e.cc = j.at("cc").get<std::vector<address>>();
    e.bcc = j.at("bcc").get<std::vector<address>>();
    e.in_reply_to = get_opt(j, "in_reply_to");
    e.message_id = get_opt(j, "message_id");
}

void to_json(json& j, const parameter& p) { j = json::array({str(p.name), str(p.value)}); }
void from_json(const json& j, parameter& p) {
    p.name = get_str(j.at(0));
    p.value = get_str(j.at(1));
}

void to_json(json& j, const disposition& d) { j = json{{"type", str(d.type)}, {"params", d.params}}; }
void from_json(const json& j, disposition& d) {
    d.type = get_str(j.at("type"));
    d.params = j.at("params").get<std::vector<parameter>>();
}

void to_json(json& j, const body_part& p) {
    j = json{{"section", p.section},
             {"type", str(p.type)},
             {"subtype", str(p.subtype)},
             {"params", p.params},
             {"id", opt(p.id)},
             {"description", opt(p.description)},
             {"md5", opt(p.md5)},
             {"location", opt(p.location)},
             {"encoding", str(p.encoding)},
             {"disposition", p.disposition ? json(*p.disposition) : json(nullptr)},
             {"language", str_list(p.language)},
             {"header_start", p.header_start},
             {"body_start", p.body_start},
             {"body_end", p.body_end},
             {"lines", p.lines}};
    if (!p.children.empty()) j["children"] = p.children;
    if (p.message_envelope) j["envelope"] = *p.message_envelope;
}
void from_json(const json& j, body_part& p) {
    p.section = j.at("section").get<std::string>();
    p.type = get_str(j.at("type"));
    p.subtype = get_str(j.at("subtype"));
    p.params = j.at("params").get<std::vector<parameter>>();
    p.id = get_opt(j, "id");
    p.description = get_opt(j, "description");
    p.md5 = get_opt(j, "md5");
    p.location = get_opt(j, "location");
    p.encoding = get_str(j.at("encoding"));
    if (const auto it = j.find("disposition"); it != j.end() && !it->is_null()) p.disposition = it->get<disposition>();
    else p.disposition.reset();
    p.language = get_str_list(j.at("language"));
    p.header_start = j.at("header_start").get<std::uint64_t>();
    p.body_start = j.at("body_start").get<std::uint64_t>();
    p.body_end = j.at("body_end").get<std::uint64_t>();
    p.lines = j.at("lines").get<std::uint64_t>();
    p.children.clear();
    if (const auto it = j.find("children"); it != j.end()) p.children = it->get<std::vector<body_part>>();
    p.message_envelope.reset();
    if (const auto it = j.find("envelope"); it != j.end()) p.message_envelope = it->get<envelope>();
}

void to_json(json& j, const header_field& h) { j = json::array({str(h.name), str(h.value), h.offset, h.length}); }
void from_json(const json& j, header_field& h) {
    h.name = get_str(j.at(0));
    h.value = get_str(j.at(1));
    h.offset = j.at(2).get<std::uint64_t>();
    h.length = j.at(3).get<std::uint64_t>();
}

void to_json(json& j, const display_address& d) { j = json::array({str(d.name), str(d.address)}); }
void from_json(const json& j, display_address& d) {
    d.name = get_str(j.at(0));
    d.address = get_str(j.at(1));
}

void to_json(json& j, const message_info& m) {
    j = json{{"v", json_version},
             {"size", m.size},
             {"envelope", m.env},
             {"body", m.body},
             {"headers", m.headers},
             {"subject", str(m.subject)},
             {"from", m.from},
             {"to", m.to},
             {"cc", m.cc},
             {"date", m.date ? json(*m.date) : json(nullptr)},
             {"message_id", str(m.message_id)},
             {"in_reply_to", str_list(m.in_reply_to)},
             {"references", str_list(m.references)},
             {"text", str(m.text)},
             {"text_truncated", m.text_truncated},
             {"problems", str_list(m.problems)}};
}
void from_json(const json& j, message_info& m) {
    if (j.at("v").get<int>() != json_version)
        throw json::other_error::create(501, "unsupported message_info JSON version", nullptr);
    m.size = j.at("size").get<std::uint64_t>();
    m.env = j.at("envelope").get<envelope>();
    m.body = j.at("body").get<body_part>();
    m.headers = j.at("headers").get<std::vector<header_field>>();
    m.subject = get_str(j.at("subject"));
    m.from = j.at("from").get<std::vector<display_address>>();
    m.to = j.at("to").get<std::vector<display_address>>();
    m.cc = j.at("cc").get<std::vector<display_address>>();
    if (const auto& d = j.at("date"); d.is_null()) m.date.reset();
    else m.date = d.get<std::int64_t>();
    m.message_id = get_str(j.at("message_id"));
    m.in_reply_to = get_str_list(j.at("in_reply_to"));
    m.references = get_str_list(j.at("references"));
    m.text = get_str(j.at("text"));
    m.text_truncated = j.at("text_truncated").get<bool>();
    m.problems = get_str_list(j.at("problems"));
}

}  // namespace polder::mime
