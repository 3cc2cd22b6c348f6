// text.cpp - header and body text decoding on top of GMime 3 (RFC 2047, transfer
// encodings, charset conversion, dates) plus our own HTML-to-text and UTF-8 cleaning.
//
// SECURITY: GMime is initialised once (std::call_once); every GMime object is released on
// all paths (RAII holders); inputs are copied into NUL-terminated buffers because GMime's
// C API expects C strings (embedded NULs are replaced first). Output is bounded and
// sanitised to UTF-8 without control characters.
// STANDARDS: RFC 2047, RFC 2045 §6, RFC 2046 §4.1.2, RFC 5322 §3.3 and §4.3, HTML 5
// character references.
#include "polder/mime/text.hpp"

#include "gmime_init.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <vector>

namespace polder::mime {
namespace {

struct gfree_string {
    char* p;
    ~gfree_string() { g_free(p); }
};

struct filter_holder {
    GMimeFilter* f;
    ~filter_holder() {
        if (f) g_object_unref(f);
    }
};

std::string c_string(std::string_view s) {
    std::string out(s);
    std::replace(out.begin(), out.end(), '\0', ' ');
    return out;
}

std::size_t utf8_len(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else return 0;
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return n;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_len(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

bool all_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Runs the whole input through a GMime filter (filter + complete).
std::string run_filter(GMimeFilter* f, std::string_view in) {
    std::string out;
    std::vector<char> buf;
    constexpr std::size_t chunk = 64 * 1024;
    for (std::size_t pos = 0; pos < in.size(); pos += chunk) {
        const std::string_view piece = in.substr(pos, chunk);
        buf.assign(piece.begin(), piece.end());
        char* o = nullptr;
        size_t olen = 0, opre = 0;
        g_mime_filter_filter(f, buf.data(), buf.size(), 0, &o, &olen, &opre);
        out.append(o, olen);
    }
    char empty[1] = {0};
    char* o = nullptr;
    size_t olen = 0, opre = 0;
    g_mime_filter_complete(f, empty, 0, 0, &o, &olen, &opre);
    out.append(o, olen);
    return out;
}

std::string convert_charset(std::string_view bytes, const char* charset) {
    filter_holder f{g_mime_filter_charset_new(charset, "UTF-8")};
    if (!f.f) return {};
    return run_filter(f.f, bytes);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string to_utf8(std::string_view bytes, std::string_view charset_in) {
    const std::string cs = lower(charset_in);
    if (all_ascii(bytes)) return std::string(bytes);
    if (cs == "utf-8" || cs == "utf8") return std::string(bytes);   // cleaned by sanitize_utf8
    const bool unlabelled = cs.empty() || cs == "us-ascii" || cs == "ascii" || cs == "unknown-8bit" || cs == "x-unknown";
    if (!unlabelled) {
        const std::string name = c_string(cs);
        filter_holder probe{g_mime_filter_charset_new(name.c_str(), "UTF-8")};
        if (probe.f) return run_filter(probe.f, bytes);
    }
    // Unknown or missing charset with 8-bit data: UTF-8 if it is valid UTF-8, else the
    // superset of ISO-8859-1 that real mailers mean.
    if (valid_utf8(bytes)) return std::string(bytes);
    std::string out = convert_charset(bytes, "windows-1252");
    return out.empty() ? convert_charset(bytes, "iso-8859-1") : out;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

struct entity { std::string_view name; std::uint32_t cp; };
// HTML 5 names for the Latin-1 range and the punctuation that mail actually uses.
constexpr std::array<entity, 129> entities{{
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", 0xA0},
    {"iexcl", 0xA1}, {"cent", 0xA2}, {"pound", 0xA3}, {"curren", 0xA4}, {"yen", 0xA5}, {"brvbar", 0xA6},
    {"sect", 0xA7}, {"uml", 0xA8}, {"copy", 0xA9}, {"ordf", 0xAA}, {"laquo", 0xAB}, {"not", 0xAC},
    {"shy", 0xAD}, {"reg", 0xAE}, {"macr", 0xAF}, {"deg", 0xB0}, {"plusmn", 0xB1}, {"sup2", 0xB2},
    {"sup3", 0xB3}, {"acute", 0xB4}, {"micro", 0xB5}, {"para", 0xB6}, {"middot", 0xB7}, {"cedil", 0xB8},
    {"sup1", 0xB9}, {"ordm", 0xBA}, {"raquo", 0xBB}, {"frac14", 0xBC}, {"frac12", 0xBD}, {"frac34", 0xBE},
    {"iquest", 0xBF}, {"Agrave", 0xC0}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Atilde", 0xC3}, {"Auml", 0xC4},
    {"Aring", 0xC5}, {"AElig", 0xC6}, {"Ccedil", 0xC7}, {"Egrave", 0xC8}, {"Eacute", 0xC9}, {"Ecirc", 0xCA},
    {"Euml", 0xCB}, {"Igrave", 0xCC}, {"Iacute", 0xCD}, {"Icirc", 0xCE}, {"Iuml", 0xCF}, {"ETH", 0xD0},
    {"Ntilde", 0xD1}, {"Ograve", 0xD2}, {"Oacute", 0xD3}, {"Ocirc", 0xD4}, {"Otilde", 0xD5}, {"Ouml", 0xD6},
    {"times", 0xD7}, {"Oslash", 0xD8}, {"Ugrave", 0xD9}, {"Uacute", 0xDA}, {"Ucirc", 0xDB}, {"Uuml", 0xDC},
    {"Yacute", 0xDD}, {"THORN", 0xDE}, {"szlig", 0xDF}, {"agrave", 0xE0}, {"aacute", 0xE1}, {"acirc", 0xE2},
    {"atilde", 0xE3}, {"auml", 0xE4}, {"aring", 0xE5}, {"aelig", 0xE6}, {"ccedil", 0xE7}, {"egrave", 0xE8},
    {"eacute", 0xE9}, {"ecirc", 0xEA}, {"euml", 0xEB}, {"igrave", 0xEC}, {"iacute", 0xED}, {"icirc", 0xEE},
    {"iuml", 0xEF}, {"eth", 0xF0}, {"ntilde", 0xF1}, {"ograve", 0xF2}, {"oacute", 0xF3}, {"ocirc", 0xF4},
    {"otilde", 0xF5}, {"ouml", 0xF6}, {"divide", 0xF7}, {"oslash", 0xF8}, {"ugrave", 0xF9}, {"uacute", 0xFA},
    {"ucirc", 0xFB}, {"uuml", 0xFC}, {"yacute", 0xFD}, {"thorn", 0xFE}, {"yuml", 0xFF}, {"euro", 0x20AC},
    {"ndash", 0x2013}, {"mdash", 0x2014}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
    {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"bdquo", 0x201E}, {"hellip", 0x2026}, {"bull", 0x2022},
    {"trade", 0x2122}, {"dagger", 0x2020}, {"permil", 0x2030}, {"lsaquo", 0x2039}, {"rsaquo", 0x203A},
    {"ensp", 0x2002}, {"emsp", 0x2003}, {"thinsp", 0x2009}, {"zwnj", 0x200C}, {"zwj", 0x200D}, {"OElig", 0x152},
    {"oelig", 0x153}, {"Scaron", 0x160}, {"scaron", 0x161}, {"Yuml", 0x178}, {"fnof", 0x192}, {"circ", 0x2C6},
}};

bool is_block_tag(std::string_view t) {
    static constexpr std::array<std::string_view, 26> blocks{
        "p", "br", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "hr", "pre", "section", "article", "header", "footer", "dd", "dt", "title", "address", "center"};
    return std::find(blocks.begin(), blocks.end(), t) != blocks.end();
}

bool istarts_with_at(std::string_view s, std::size_t i, std::string_view p) {
    if (s.size() - i < p.size()) return false;
    for (std::size_t k = 0; k < p.size(); ++k)
        if (std::tolower(static_cast<unsigned char>(s[i + k])) != p[k]) return false;
    return true;
}

std::size_t ifind(std::string_view s, std::size_t from, std::string_view p) {
    for (std::size_t i = from; i + p.size() <= s.size(); ++i)
        if (istarts_with_at(s, i, p)) return i;
    return std::string_view::npos;
}

}  // namespace

std::string sanitize_utf8(std::string_view s, bool keep_newlines) {
    // Copies runs of acceptable octets in one piece: this runs over every stored text.
    std::string out;
    out.reserve(s.size());
    std::size_t run = 0;
    const auto flush = [&](std::size_t end) { out.append(s.data() + run, end - run); };
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            ++i;
            continue;
        }
        if (c == '\n' || c == '\t') {
            if (!keep_newlines) {
                flush(i);
                out.push_back(' ');
                run = i + 1;
            }
            ++i;
            continue;
        }
        if (c < 0x80) {   // NUL, CR, other C0 controls, DEL: dropped
            flush(i);
            run = ++i;
            continue;
        }
        const std::size_t n = utf8_len(s, i);
        if (n == 0) {
            flush(i);
            out += "\xEF\xBF\xBD";
            run = ++i;
            continue;
        }
        if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {   // C1 controls
            flush(i);
            i += 2;
            run = i;
            continue;
        }
        i += n;
    }
    flush(s.size());
    return out;
}

std::string decode_header_text(std::string_view raw) {
    ensure_gmime();
    const std::string in = c_string(raw);
    gfree_string decoded{g_mime_utils_header_decode_text(nullptr, in.c_str())};
    std::string out = sanitize_utf8(decoded.p ? std::string_view(decoded.p) : std::string_view(in), false);
    const auto b = out.find_first_not_of(' ');
    if (b == std::string::npos) return {};
    return out.substr(b, out.find_last_not_of(' ') - b + 1);
}

std::optional<std::int64_t> parse_date(std::string_view raw) {
    ensure_gmime();
    const std::string in = c_string(raw);
    if (in.find_first_not_of(" \t\r\n") == std::string::npos) return std::nullopt;
    GDateTime* d = g_mime_utils_header_decode_date(in.c_str());
    if (!d) return std::nullopt;
    const std::int64_t t = g_date_time_to_unix(d);
    g_date_time_unref(d);
    return t;
}

std::string decode_body_text(std::string_view encoded, std::string_view transfer_encoding, std::string_view charset,
                             std::size_t max_decoded, bool* truncated) {
    ensure_gmime();
    if (truncated) *truncated = false;
    const std::string cte = lower(transfer_encoding);
    GMimeContentEncoding enc = GMIME_CONTENT_ENCODING_DEFAULT;
    if (cte == "base64") enc = GMIME_CONTENT_ENCODING_BASE64;
    else if (cte == "quoted-printable") enc = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    else if (cte == "x-uuencode" || cte == "uuencode" || cte == "x-uue") enc = GMIME_CONTENT_ENCODING_UUENCODE;

    std::string decoded;
    if (enc == GMIME_CONTENT_ENCODING_DEFAULT) {
        decoded = std::string(encoded.substr(0, max_decoded));
        if (truncated && encoded.size() > max_decoded) *truncated = true;
    } else {
        filter_holder f{g_mime_filter_basic_new(enc, FALSE)};
        std::vector<char> buf;
        constexpr std::size_t chunk = 64 * 1024;
        std::size_t pos = 0;
        for (; pos < encoded.size() && decoded.size() < max_decoded; pos += chunk) {
            const std::string_view piece = encoded.substr(pos, chunk);
            buf.assign(piece.begin(), piece.end());
            char* o = nullptr;
            size_t olen = 0, opre = 0;
            g_mime_filter_filter(f.f, buf.data(), buf.size(), 0, &o, &olen, &opre);
            decoded.append(o, olen);
        }
        if (pos >= encoded.size()) {
            char empty[1] = {0};
            char* o = nullptr;
            size_t olen = 0, opre = 0;
            g_mime_filter_complete(f.f, empty, 0, 0, &o, &olen, &opre);
            decoded.append(o, olen);
        }
        if (decoded.size() > max_decoded || pos < encoded.size()) {
            if (truncated) *truncated = true;
            decoded.resize(std::min(decoded.size(), max_decoded));
        }
    }
    // A cut may split a multi-byte character; sanitize_utf8 turns the remnant into U+FFFD.
    return sanitize_utf8(to_utf8(decoded, charset), true);
}

std::string html_to_text(std::string_view h) {
    std::string out;
    out.reserve(h.size() / 2);
    bool space_pending = false;
    int newlines_pending = 0;
    const auto put_text = [&](std::string_view t) {
        if (newlines_pending > 0 && !out.empty()) out.append(static_cast<std::size_t>(std::min(newlines_pending, 2)), '\n');
        else if (space_pending && !out.empty()) out.push_back(' ');
        newlines_pending = 0;
        space_pending = false;
        out.append(t);
    };
    std::size_t i = 0;
    while (i < h.size()) {
        const char c = h[i];
        if (c == '<') {
            if (h.compare(i, 4, "<!--") == 0) {
                const std::size_t end = h.find("-->", i + 4);
                i = end == std::string_view::npos ? h.size() : end + 3;
                continue;
            }
            const std::size_t close = h.find('>', i + 1);
            const std::size_t end = close == std::string_view::npos ? h.size() : close + 1;
            std::size_t n = i + 1;
            const bool closing_tag = n < h.size() && h[n] == '/';
            if (closing_tag) ++n;
            std::string name;
            while (n < end && std::isalnum(static_cast<unsigned char>(h[n])) && name.size() < 16)
                name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(h[n++]))));
            i = end;
            const bool self_closing = end >= 2 && h[end - 1] == '>' && h[end - 2] == '/';
            if ((name == "script" || name == "style") && !closing_tag && !self_closing) {
                // Their content is code, not text: skip to the matching end tag.
                const std::size_t stop = ifind(h, i, "</" + name);
                if (stop == std::string_view::npos) {
                    i = h.size();
                    continue;
                }
                const std::size_t gt = h.find('>', stop);
                i = gt == std::string_view::npos ? h.size() : gt + 1;
                continue;
            }
            if (is_block_tag(name)) ++newlines_pending;
            else space_pending = space_pending || name == "td" || name == "th" || name == "img";
            continue;
        }
        if (c == '&') {
            std::size_t semi = i + 1;
            while (semi < h.size() && semi - i <= 10 && h[semi] != ';' && std::isalnum(static_cast<unsigned char>(h[semi])) ) ++semi;
            if (semi < h.size() && h[semi] == '#' && semi == i + 1) {
                ++semi;
                while (semi < h.size() && semi - i <= 10 && std::isalnum(static_cast<unsigned char>(h[semi]))) ++semi;
            }
            if (semi < h.size() && h[semi] == ';') {
                const std::string_view ref = h.substr(i + 1, semi - i - 1);
                std::optional<std::uint32_t> cp;
                if (!ref.empty() && ref[0] == '#') {
                    const bool hex = ref.size() > 1 && (ref[1] == 'x' || ref[1] == 'X');
                    const std::string_view digits = ref.substr(hex ? 2 : 1);
                    std::uint32_t v = 0;
                    bool ok = !digits.empty() && digits.size() <= 7;
                    for (char d : digits) {
                        const int x = std::isdigit(static_cast<unsigned char>(d)) ? d - '0'
                                      : (hex && std::isxdigit(static_cast<unsigned char>(d)))
                                          ? (std::tolower(static_cast<unsigned char>(d)) - 'a' + 10)
                                          : -1;
                        if (x < 0) { ok = false; break; }
                        v = v * (hex ? 16 : 10) + static_cast<std::uint32_t>(x);
                    }
                    if (ok) cp = v;
                } else {
                    for (const auto& e : entities)
                        if (e.name == ref) { cp = e.cp; break; }
                }
                if (cp) {
                    std::string u;
                    if (*cp == 0xA0 || *cp == ' ' || *cp == '\t' || *cp == '\n') {
                        space_pending = true;
                    } else {
                        append_utf8(u, *cp);
                        put_text(u);
                    }
                    i = semi + 1;
                    continue;
                }
            }
            put_text("&");
            ++i;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space_pending = true;
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < h.size() && h[j] != '<' && h[j] != '&' && h[j] != ' ' && h[j] != '\t' && h[j] != '\n' && h[j] != '\r') ++j;
        put_text(h.substr(i, j - i));
        i = j;
    }
    return sanitize_utf8(out, true);
}

}  // namespace polder::mime
