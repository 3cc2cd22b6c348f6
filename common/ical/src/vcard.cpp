// vcard.cpp - vCard 3.0/4.0 content-line parser, validation, extraction, addressbook-query
// filters and directory vCard generation.
//
// SECURITY: every input bound is checked before the work it limits (size, unfolded line,
// property and parameter counts); quoted-printable decoding and charset conversion only
// shrink or re-encode one bounded line; nothing recurses on input.
// STANDARDS: RFC 6350 3.2-3.4, 5, 6; RFC 2426 3.1.1-3.1.2 (FN, N required), 4 (grammar);
// RFC 2425 5.8.1-5.8.4; RFC 6868; RFC 2045 6.7; RFC 6352 5.1, 6.3.2.1, 10.5.
#include "polder/ical/vcard.hpp"

#include <glib.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>

namespace polder::ical {

namespace {

std::string upper_ascii(std::string_view s) {
    std::string r(s);
    for (auto& c : r)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return r;
}

std::string lower_ascii(std::string_view s) {
    std::string r(s);
    for (auto& c : r)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return r;
}

bool ieq(std::string_view a, std::string_view b) { return upper_ascii(a) == upper_ascii(b); }

bool name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool valid_utf8(std::string_view s) { return g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr); }

// unescape - RFC 6350 3.4 / RFC 2426 4: \n \N \, \; \\ (and, leniently, \x -> x).
std::string unescape(std::string_view s) {
    std::string r;
    r.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            const char n = s[++i];
            r += (n == 'n' || n == 'N') ? '\n' : n;
        } else {
            r += s[i];
        }
    }
    return r;
}

// decode_6868 - RFC 6868 parameter value encoding: ^n newline, ^^ caret, ^' double quote.
std::string decode_6868(std::string_view s) {
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '^' && i + 1 < s.size()) {
            const char n = s[i + 1];
            if (n == 'n' || n == 'N') { r += '\n'; ++i; continue; }
            if (n == '^') { r += '^'; ++i; continue; }
            if (n == '\'') { r += '"'; ++i; continue; }
        }
        r += s[i];
    }
    return r;
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// decode_qp - RFC 2045 6.7; soft line breaks were already joined by the line reader.
std::string decode_qp(std::string_view s) {
    std::string r;
    r.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '=' && i + 2 < s.size()) {
            const int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h >= 0 && l >= 0) {
                r += static_cast<char>(h * 16 + l);
                i += 2;
                continue;
            }
        }
        if (s[i] == '=' && i + 1 == s.size()) break;  // trailing soft break
        r += s[i];
    }
    return r;
}

// to_utf8 - convert a legacy CHARSET (ISO-8859-1, windows-1252 ...) to UTF-8.
std::optional<std::string> to_utf8(const std::string& s, const std::string& charset) {
    if (charset.empty() || ieq(charset, "UTF-8") || ieq(charset, "US-ASCII")) return s;
    gsize written = 0;
    std::unique_ptr<gchar, decltype(&g_free)> out(
        g_convert(s.data(), static_cast<gssize>(s.size()), "UTF-8", charset.c_str(), nullptr, &written, nullptr), &g_free);
    if (!out) return std::nullopt;
    return std::string(out.get(), written);
}

struct parse_error {
    bool limit = false;
    std::string reason;
};

// split_lines - physical lines to logical content lines: unfolding (RFC 6350 3.2) and
// quoted-printable soft line breaks (lines ending in '=' inside a QP property).
bool split_lines(std::string_view text, const vcard_limits& lim, std::vector<std::string>& out, parse_error& err) {
    std::string cur;
    bool have = false;
    auto is_qp = [](const std::string& line) {
        bool quoted = false;
        for (std::size_t i = 0; i < line.size(); ++i) {
            if (line[i] == '"') quoted = !quoted;
            if (line[i] == ':' && !quoted) return upper_ascii(line.substr(0, i)).find("QUOTED-PRINTABLE") != std::string::npos;
        }
        return false;
    };
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
        std::string_view line = text.substr(pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = next;
        if (have && !line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            cur.append(line.substr(1));
        } else if (have && !cur.empty() && cur.back() == '=' && is_qp(cur)) {
            cur.pop_back();
            cur.append(line);
        } else {
            if (have) out.push_back(std::move(cur));
            cur.assign(line);
            have = true;
        }
        if (cur.size() > lim.max_line) {
            err = {true, "content line longer than " + std::to_string(lim.max_line) + " octets"};
            return false;
        }
        if (out.size() > lim.max_properties + 2) {
            err = {true, "more than " + std::to_string(lim.max_properties) + " properties"};
            return false;
        }
    }
    if (have) out.push_back(std::move(cur));
    return true;
}

// parse_line - one content line: [group "."] name *(";" param) ":" value.
bool parse_line(const std::string& line, const vcard_limits& lim, vcard_property& p, parse_error& err) {
    std::size_t i = 0;
    while (i < line.size() && name_char(line[i])) ++i;
    if (i < line.size() && line[i] == '.') {
        p.group = line.substr(0, i);
        const std::size_t s = ++i;
        while (i < line.size() && name_char(line[i])) ++i;
        p.name = upper_ascii(line.substr(s, i - s));
    } else {
        p.name = upper_ascii(line.substr(0, i));
    }
    if (p.name.empty()) {
        err = {false, "malformed content line (no property name)"};
        return false;
    }
    while (i < line.size() && line[i] == ';') {
        ++i;
        if (p.params.size() >= lim.max_params) {
            err = {true, "too many parameters on " + p.name};
            return false;
        }
        const std::size_t s = i;
        while (i < line.size() && name_char(line[i])) ++i;
        std::string pname = upper_ascii(line.substr(s, i - s));
        vcard_param param;
        if (i < line.size() && line[i] == '=') {
            if (pname.empty()) {
                err = {false, "parameter without a name on " + p.name};
                return false;
            }
            param.name = pname;
            ++i;
            for (;;) {
                if (param.values.size() >= lim.max_param_values) {
                    err = {true, "too many parameter values on " + p.name};
                    return false;
                }
                std::string v;
                if (i < line.size() && line[i] == '"') {
                    const std::size_t close = line.find('"', i + 1);
                    if (close == std::string::npos) {
                        err = {false, "unterminated quoted parameter value on " + p.name};
                        return false;
                    }
                    v = line.substr(i + 1, close - i - 1);
                    i = close + 1;
                } else {
                    const std::size_t s2 = i;
                    while (i < line.size() && line[i] != ',' && line[i] != ';' && line[i] != ':' && line[i] != '"') ++i;
                    v = line.substr(s2, i - s2);
                }
                param.values.push_back(decode_6868(v));
                if (i < line.size() && line[i] == ',') {
                    ++i;
                    continue;
                }
                break;
            }
        } else {
            // vCard 2.1 style bare parameter ("TEL;WORK;VOICE:"), still common in 3.0 exports.
            if (pname.empty()) {
                err = {false, "empty parameter on " + p.name};
                return false;
            }
            const bool encoding = pname == "QUOTED-PRINTABLE" || pname == "BASE64" || pname == "8BIT" || pname == "7BIT";
            param.name = encoding ? "ENCODING" : "TYPE";
            param.values.push_back(pname);
        }
        // "TYPE=work;TYPE=voice" means "TYPE=work,voice" (RFC 6350 5): one entry per name.
        auto same = std::find_if(p.params.begin(), p.params.end(), [&](const vcard_param& q) { return q.name == param.name; });
        if (same == p.params.end()) {
            p.params.push_back(std::move(param));
        } else {
            if (same->values.size() + param.values.size() > lim.max_param_values) {
                err = {true, "too many parameter values on " + p.name};
                return false;
            }
            same->values.insert(same->values.end(), param.values.begin(), param.values.end());
        }
    }
    if (i >= line.size() || line[i] != ':') {
        err = {false, "malformed content line for " + p.name + " (no ':' after the parameters)"};
        return false;
    }
    p.value = line.substr(i + 1);
    // Quoted-printable and legacy charsets: decode to UTF-8 now, once.
    const auto* enc = p.param("ENCODING");
    if (enc && std::any_of(enc->begin(), enc->end(), [](const std::string& e) { return ieq(e, "QUOTED-PRINTABLE"); })) {
        std::string decoded = decode_qp(p.value);
        // Encoded line breaks become the one vCard newline; other encoded controls are refused.
        std::string clean;
        for (std::size_t k = 0; k < decoded.size(); ++k) {
            const auto c = static_cast<unsigned char>(decoded[k]);
            if (c == '\r' && k + 1 < decoded.size() && decoded[k + 1] == '\n') continue;
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
                err = {false, "control character in the quoted-printable value of " + p.name};
                return false;
            }
            clean += decoded[k];
        }
        decoded = std::move(clean);
        const auto* cs = p.param("CHARSET");
        auto u = to_utf8(decoded, cs && !cs->empty() ? cs->front() : "UTF-8");
        if (!u) {
            err = {false, "cannot convert " + p.name + " from its CHARSET"};
            return false;
        }
        p.value = std::move(*u);
        std::erase_if(p.params, [](const vcard_param& q) { return q.name == "ENCODING" || q.name == "CHARSET"; });
    } else if (const auto* cs = p.param("CHARSET"); cs && !cs->empty() && !ieq(cs->front(), "UTF-8")) {
        auto u = to_utf8(p.value, cs->front());
        if (!u) {
            err = {false, "cannot convert " + p.name + " from its CHARSET"};
            return false;
        }
        p.value = std::move(*u);
        std::erase_if(p.params, [](const vcard_param& q) { return q.name == "CHARSET"; });
    }
    return true;
}

std::vector<std::string> split_components(std::string_view v) {
    std::vector<std::string> out;
    std::string cur;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
            cur += v[i];
            cur += v[++i];
        } else if (v[i] == ';') {
            out.push_back(unescape(cur));
            cur.clear();
        } else {
            cur += v[i];
        }
    }
    out.push_back(unescape(cur));
    return out;
}

vcard_typed typed(const vcard_property& p) {
    vcard_typed t;
    t.value = p.text();
    if (const auto* types = p.param("TYPE"))
        for (const auto& v : *types) {
            // TYPE values may themselves be comma lists written inside quotes.
            std::string_view rest = v;
            while (!rest.empty()) {
                const auto c = rest.find(',');
                std::string one = lower_ascii(rest.substr(0, c));
                rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
                if (one.empty()) continue;
                if (one == "pref") t.preferred = true;
                t.types.push_back(std::move(one));
            }
        }
    if (p.param("PREF")) t.preferred = true;
    return t;
}

void extract(vcard& c) {
    for (const auto& p : c.properties) {
        if (p.name == "VERSION" && c.version.empty()) c.version = p.text();
        else if (p.name == "UID" && c.uid.empty()) c.uid = p.text();
        else if (p.name == "FN" && c.fn.empty()) c.fn = p.text();
        else if (p.name == "N" && !c.n) {
            auto parts = p.components();
            parts.resize(std::max<std::size_t>(parts.size(), 5));
            c.n = vcard_name{parts[0], parts[1], parts[2], parts[3], parts[4]};
        } else if (p.name == "EMAIL") c.emails.push_back(typed(p));
        else if (p.name == "TEL") c.tels.push_back(typed(p));
        else if (p.name == "ORG" && c.org.empty()) {
            auto parts = p.components();
            c.org = parts.front();
            c.org_units.assign(parts.begin() + 1, parts.end());
        } else if (p.name == "KIND" || p.name == "X-ADDRESSBOOKSERVER-KIND") c.kind = lower_ascii(p.text());
        else if (p.name == "MEMBER" || p.name == "X-ADDRESSBOOKSERVER-MEMBER") c.members.push_back(p.text());
    }
}

bool begins_with_ci(std::string_view text, std::string_view prefix) {
    std::size_t i = 0;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
    while (i < text.size() && (text[i] == '\r' || text[i] == '\n' || text[i] == ' ' || text[i] == '\t')) ++i;
    return ieq(text.substr(i, prefix.size()), prefix);
}

// parse_card - the whole resource; exactly one vCard.
bool parse_card(std::string_view text, const vcard_limits& lim, vcard& card, parse_error& err) {
    if (text.size() > lim.max_size) {
        err = {true, "vCard of " + std::to_string(text.size()) + " octets exceeds " + std::to_string(lim.max_size)};
        return false;
    }
    // Control octets other than HTAB and CRLF line ends are not vCard (RFC 6350 3.3);
    // 8-bit text is checked per value after CHARSET conversion.
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
            err = {false, c == 0 ? "NUL octet in vCard data" : "control character " + std::to_string(c) + " in vCard data"};
            return false;
        }
    }
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    std::vector<std::string> lines;
    if (!split_lines(text, lim, lines, err)) return false;
    enum { before, inside, after } state = before;
    for (const auto& line : lines) {
        if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines, leniently
        vcard_property p;
        if (!parse_line(line, lim, p, err)) {
            if (state == after) err = {false, "data after END:VCARD"};
            return false;
        }
        if (p.name == "BEGIN") {
            if (!ieq(p.value, "VCARD")) {
                err = {false, "BEGIN:" + p.value.substr(0, 40) + " is not a vCard"};
                return false;
            }
            if (state == inside) {
                err = {false, "nested vCard"};
                return false;
            }
            if (state == after) {
                err = {false, "more than one vCard in the resource"};
                return false;
            }
            state = inside;
            continue;
        }
        if (state != inside) {
            err = {false, state == before ? "vCard does not start with BEGIN:VCARD" : "data after END:VCARD"};
            return false;
        }
        if (p.name == "END") {
            if (!ieq(p.value, "VCARD")) {
                err = {false, "END does not close the vCard"};
                return false;
            }
            state = after;
            continue;
        }
        if (card.properties.size() >= lim.max_properties) {
            err = {true, "more than " + std::to_string(lim.max_properties) + " properties"};
            return false;
        }
        card.properties.push_back(std::move(p));
    }
    if (state != after) {
        err = {false, state == before ? "no vCard" : "END:VCARD is missing"};
        return false;
    }
    extract(card);
    return true;
}

}  // namespace

// --- vcard_property / vcard ---

const std::vector<std::string>* vcard_property::param(std::string_view n) const {
    for (const auto& q : params)
        if (ieq(q.name, n)) return &q.values;
    return nullptr;
}

std::string vcard_property::text() const { return unescape(value); }
std::vector<std::string> vcard_property::components() const { return split_components(value); }

const vcard_property* vcard::find(std::string_view n) const {
    for (const auto& p : properties)
        if (ieq(p.name, n)) return &p;
    return nullptr;
}

std::string_view precondition_name(vcard_precondition p) noexcept {
    switch (p) {
    case vcard_precondition::none: return "";
    case vcard_precondition::supported_address_data: return "supported-address-data";
    case vcard_precondition::valid_address_data: return "valid-address-data";
    case vcard_precondition::max_resource_size: return "max-resource-size";
    }
    return "";
}

result<vcard> parse_vcard(std::string_view text, const vcard_limits& lim) {
    vcard c;
    parse_error err;
    if (!parse_card(text, lim, c, err)) return make_error_code(err.limit ? errc::limit_exceeded : errc::invalid_argument);
    return c;
}

vcard_validation validate_vcard(std::string_view text, const vcard_limits& lim) {
    vcard_validation v;
    auto fail = [&](vcard_precondition p, std::string reason) {
        v.failed = p;
        v.reason = std::move(reason);
        v.card.reset();
        return std::move(v);
    };
    if (text.size() > lim.max_size)
        return fail(vcard_precondition::max_resource_size,
                    "vCard of " + std::to_string(text.size()) + " octets exceeds " + std::to_string(lim.max_size));
    if (begins_with_ci(text, "BEGIN:VCALENDAR"))
        return fail(vcard_precondition::supported_address_data, "iCalendar data is not a vCard");
    vcard c;
    parse_error err;
    if (!parse_card(text, lim, c, err))
        return fail(err.limit ? vcard_precondition::max_resource_size : vcard_precondition::valid_address_data, err.reason);
    std::size_t versions = 0;
    for (const auto& p : c.properties) {
        if (p.name == "VERSION") ++versions;
        if (!valid_utf8(p.value)) return fail(vcard_precondition::valid_address_data, p.name + " is not valid UTF-8");
        for (const auto& q : p.params)
            for (const auto& x : q.values)
                if (!valid_utf8(x)) return fail(vcard_precondition::valid_address_data, p.name + " has a parameter that is not UTF-8");
    }
    if (versions == 0) return fail(vcard_precondition::valid_address_data, "VERSION is missing");
    if (versions > 1) return fail(vcard_precondition::valid_address_data, "more than one VERSION");
    if (c.version != "3.0" && c.version != "4.0")
        return fail(vcard_precondition::supported_address_data, "vCard version " + c.version.substr(0, 10) + " is not supported (3.0 and 4.0 are)");
    if (!c.find("FN")) return fail(vcard_precondition::valid_address_data, "FN is missing");
    if (c.version == "3.0" && !c.n) return fail(vcard_precondition::valid_address_data, "N is missing (required in vCard 3.0)");
    if (c.uid.empty()) return fail(vcard_precondition::valid_address_data, "UID is missing");
    if (c.version == "4.0" && !c.properties.empty() && c.properties.front().name != "VERSION")
        v.warnings.push_back("VERSION is not the first property (RFC 6350 6.7.9)");
    v.card.emplace(std::move(c));
    return v;
}

// --- addressbook-query ---

namespace {

result<void> check_text(const text_match& m) {
    if (auto c = parse_collation(m.collation); !c) return c.error();
    return {};
}

bool param_ok(const vcard_property& p, const card_param_filter& f) {
    const auto* vals = p.param(f.name);
    if (f.is_not_defined) return vals == nullptr;
    if (!vals) return false;
    if (!f.match) return true;
    for (const auto& v : *vals) {
        auto r = text_matches(*f.match, v);
        if (r && *r) return true;
    }
    // A negated match holds when the parameter has no value that matches the text.
    return vals->empty() && f.match->negate;
}

bool prop_ok(const vcard& c, const card_prop_filter& f) {
    bool any_prop = false;
    for (const auto& p : c.properties) {
        if (!ieq(p.name, f.name)) continue;
        any_prop = true;
        if (f.is_not_defined) return false;
        std::vector<bool> tests;
        const std::string text = p.text();
        for (const auto& m : f.matches) {
            auto r = text_matches(m, text);
            tests.push_back(r && *r);
        }
        for (const auto& q : f.params) tests.push_back(param_ok(p, q));
        if (tests.empty()) return true;
        const bool ok = f.test == filter_test::allof ? std::all_of(tests.begin(), tests.end(), [](bool b) { return b; })
                                                     : std::any_of(tests.begin(), tests.end(), [](bool b) { return b; });
        if (ok) return true;
    }
    return f.is_not_defined && !any_prop;
}

}  // namespace

result<void> check_card_filter(const card_filter& f) {
    for (const auto& p : f.props) {
        if (p.name.empty()) return make_error_code(ical_errc::invalid_filter);
        if (p.is_not_defined && (!p.matches.empty() || !p.params.empty())) return make_error_code(ical_errc::invalid_filter);
        for (const auto& m : p.matches)
            if (auto r = check_text(m); !r) return r;
        for (const auto& q : p.params) {
            if (q.name.empty() || (q.is_not_defined && q.match)) return make_error_code(ical_errc::invalid_filter);
            if (q.match)
                if (auto r = check_text(*q.match); !r) return r;
        }
    }
    return {};
}

result<bool> matches(const vcard& card, const card_filter& f) {
    if (auto r = check_card_filter(f); !r) return result<bool>(boost::system::in_place_error, r.error());
    if (f.props.empty()) return true;
    if (f.test == filter_test::allof)
        return std::all_of(f.props.begin(), f.props.end(), [&](const card_prop_filter& p) { return prop_ok(card, p); });
    return std::any_of(f.props.begin(), f.props.end(), [&](const card_prop_filter& p) { return prop_ok(card, p); });
}

// --- directory vCards ---

namespace {

std::string escape(std::string_view s) {
    std::string r;
    for (char c : s) {
        switch (c) {
        case '\\': r += "\\\\"; break;
        case ',': r += "\\,"; break;
        case ';': r += "\\;"; break;
        case '\n': r += "\\n"; break;
        case '\r': break;
        default:
            if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') r += c;
        }
    }
    return r;
}

// fold - RFC 6350 3.2: lines of at most 75 octets, never inside a UTF-8 sequence.
void fold_into(std::string& out, const std::string& line) {
    std::size_t start = 0, width = 75;
    while (line.size() - start > width) {
        std::size_t cut = start + width;
        while (cut > start && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
        out.append(line, start, cut - start);
        out += "\r\n ";
        start = cut;
        width = 74;  // the leading space counts
    }
    out.append(line, start, std::string::npos);
    out += "\r\n";
}

// param_value - RFC 6868 encoding, quoted when the value holds , ; or :.
std::string param_value(std::string_view v) {
    std::string enc;
    for (char c : v) {
        if (c == '^') enc += "^^";
        else if (c == '"') enc += "^'";
        else if (c == '\n') enc += "^n";
        else if (c == '\r') continue;
        else enc += c;
    }
    if (enc.find_first_of(",;:") != std::string::npos) return '"' + enc + '"';
    return enc;
}

std::string content_line(const vcard_property& p, bool novalue) {
    std::string line = p.group.empty() ? p.name : p.group + "." + p.name;
    for (const auto& q : p.params) {
        line += ";" + q.name + "=";
        for (std::size_t i = 0; i < q.values.size(); ++i) line += (i ? "," : "") + param_value(q.values[i]);
    }
    line += ':';
    if (!novalue)
        for (char c : p.value) {
            // Values keep their escapes; a newline can only come from decoded quoted-printable.
            if (c == '\n') line += "\\n";
            else if (c != '\r') line += c;
        }
    return line;
}

std::string member_uri(const std::string& uid) {
    if (uid.starts_with("urn:") || uid.find(':') != std::string::npos) return uid;
    return "urn:uuid:" + uid;
}

}  // namespace

std::string address_data(const vcard& card, const std::vector<card_prop_selection>* select) {
    std::string out;
    fold_into(out, "BEGIN:VCARD");
    for (const auto& p : card.properties) {
        if (!select || p.name == "VERSION") {
            fold_into(out, content_line(p, false));
            continue;
        }
        for (const auto& s : *select)
            if (ieq(s.name, p.name) || ieq(s.name, p.group + "." + p.name)) {
                fold_into(out, content_line(p, s.novalue));
                break;
            }
    }
    fold_into(out, "END:VCARD");
    return out;
}

std::string directory_vcard(const directory_entry& e, vcard_version ver) {
    const bool v4 = ver == vcard_version::v4;
    std::string out;
    auto line = [&](const std::string& l) { fold_into(out, l); };
    line("BEGIN:VCARD");
    line(v4 ? "VERSION:4.0" : "VERSION:3.0");
    line("PRODID:-//Polder//Organisation Directory//EN");
    line("UID:" + escape(e.uid));
    const std::string fn = e.display_name.empty() ? e.email : e.display_name;
    line("FN:" + escape(fn));
    if (e.is_group) {
        line(v4 ? "KIND:group" : "X-ADDRESSBOOKSERVER-KIND:group");
        if (!v4) line("N:" + escape(fn) + ";;;;");
    } else {
        if (!e.given_name.empty() || !e.family_name.empty() || !v4)
            line("N:" + escape(e.family_name.empty() && e.given_name.empty() ? fn : e.family_name) + ";" +
                 escape(e.given_name) + ";;;");
    }
    if (!e.email.empty()) line(v4 ? "EMAIL;TYPE=work;PREF=1:" + escape(e.email) : "EMAIL;TYPE=INTERNET,WORK,pref:" + escape(e.email));
    for (const auto& a : e.aliases)
        if (!a.empty() && a != e.email) line(v4 ? "EMAIL;TYPE=work:" + escape(a) : "EMAIL;TYPE=INTERNET,WORK:" + escape(a));
    if (!e.phone.empty()) line(v4 ? "TEL;TYPE=work,voice;VALUE=text:" + escape(e.phone) : "TEL;TYPE=WORK,VOICE:" + escape(e.phone));
    if (!e.organisation.empty() || !e.department.empty())
        line("ORG:" + escape(e.organisation) + (e.department.empty() ? "" : ";" + escape(e.department)));
    if (!e.title.empty()) line("TITLE:" + escape(e.title));
    for (const auto& m : e.member_uids)
        if (!m.empty()) line((v4 ? "MEMBER:" : "X-ADDRESSBOOKSERVER-MEMBER:") + member_uri(m));
    if (e.revision) {
        const std::time_t tt = static_cast<std::time_t>(*e.revision);
        std::tm tm{};
        gmtime_r(&tt, &tm);
        char buf[40];
        std::snprintf(buf, sizeof buf, "REV:%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);
        line(buf);
    }
    line("END:VCARD");
    return out;
}

}  // namespace polder::ical
