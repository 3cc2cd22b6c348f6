// fuzz_mime_parser.cpp - libFuzzer target: the MIME structure parser, field grammars,
// text decoding and the JSON round trip.
//
// SECURITY: checks the guarantees, not just "no crash": offsets nest and stay inside the
// message, every numbered part is found again by its section number, message/rfc822
// parts always have an envelope and exactly one child, multiparts at least one part,
// the text is clean UTF-8 within its cap, and the JSON form restores the same value.
// STANDARDS: see polder/mime/message.hpp.
#include "polder/mime/json.hpp"
#include "polder/mime/message.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace polder::mime;

void require(bool ok) {
    if (!ok) std::abort();
}

bool clean_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0) return false;
        const std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

void check(const message_info& m, const body_part& p) {
    require(p.header_start <= p.body_start && p.body_start <= p.body_end && p.body_end <= m.size);
    if (!p.section.empty()) require(find_part(m, p.section) == &p);
    require((p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global")) == p.is_message());
    if (p.is_multipart()) {
        require(!p.children.empty());
        std::uint64_t prev = p.body_start;
        for (const auto& c : p.children) {
            require(c.header_start >= prev && c.body_end <= p.body_end);
            prev = c.body_end;
            check(m, c);
        }
    } else if (p.is_message()) {
        require(p.children.size() == 1);
        require(p.children[0].header_start == p.body_start && p.children[0].body_end == p.body_end);
        check(m, p.children[0]);
    } else {
        require(p.children.empty());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string raw(reinterpret_cast<const char*>(data), size);
    limits lim;
    lim.max_depth = 12;
    lim.max_parts = 200;
    lim.max_text = 4096;
    const message_info m = parse(raw, lim);
    require(m.size == raw.size() && m.body.header_start == 0 && m.body.body_end == raw.size());
    check(m, m.body);
    require(m.text.size() <= lim.max_text && clean_utf8(m.text) && clean_utf8(m.subject));
    for (const auto& h : m.headers) require(h.offset + h.length <= m.body.body_start);

    const nlohmann::json j = m;
    const auto back = nlohmann::json::parse(j.dump()).get<message_info>();
    require(back == m);
    return 0;
}
