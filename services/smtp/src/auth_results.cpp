// auth_results.cpp - Authentication-Results: formatting and forged-field removal. See
// auth_results.hpp.
// SECURITY: see auth_results.hpp; every scan is bounded by its input and never recurses
// deeper than the comment nesting limit.
// STANDARDS: RFC 8601, RFC 5322 section 2.2.3, RFC 2045 section 5.1.
#include "auth_results.hpp"

#include "trace.hpp"

#include <algorithm>
#include <cctype>

namespace polder::smtpd {

namespace {

constexpr int max_comment_depth = 32;

bool plain_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '@' || c == '+';
}

// tspecials of RFC 2045 5.1 plus SPACE and CTLs end a token.
bool token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127) return false;
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool contains_ci(std::string_view hay, std::string_view needle) {
    if (needle.empty()) return false;
    auto lower = [](std::string_view v) {
        std::string l(v);
        for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return l;
    };
    return lower(hay).find(lower(needle)) != std::string::npos;
}

// skip_cfws - past folding white space and (nested) comments; npos on an unclosed comment.
std::size_t skip_cfws(std::string_view s, std::size_t i) {
    while (i < s.size()) {
        const char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i;
        } else if (c == '(') {
            int depth = 0;
            while (i < s.size()) {
                const char d = s[i];
                if (d == '\\') {
                    i += 2;
                    continue;
                }
                if (d == '(' && ++depth > max_comment_depth) return std::string_view::npos;
                if (d == ')' && --depth == 0) break;
                ++i;
            }
            if (i >= s.size()) return std::string_view::npos;
            ++i;
        } else {
            break;
        }
    }
    return i;
}

}  // namespace

std::string pvalue(std::string_view value) {
    if (value.size() > 255) value = value.substr(0, 255);
    const bool plain = !value.empty() && std::all_of(value.begin(), value.end(), plain_char) &&
                       value.front() != '@' && value.front() != '.';
    // "@domain" (header.i) is an RFC 8601 pvalue too: [local-part] "@" domain-name.
    const bool at_domain = value.size() > 1 && value.front() == '@' &&
                           std::all_of(value.begin() + 1, value.end(), plain_char) &&
                           value.find('@', 1) == std::string_view::npos;
    if (plain || at_domain) return std::string(value);
    std::string out = "\"";
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        out += (c == '"' || c == '\\' || u < 32 || u == 127) ? '?' : c;
    }
    out += '"';
    return out;
}

std::string authentication_results_field(std::string_view authserv_id, const std::vector<resinfo>& results) {
    std::string out = "Authentication-Results: " + printable(authserv_id, true, false, 253);
    if (results.empty()) return out + "; none\r\n";
    for (const auto& r : results) {
        out += ";\r\n\t";
        std::string line = r.method + "=" + r.result;
        if (!r.comment.empty()) line += " (" + printable(r.comment, true, false, 200) + ")";
        for (const auto& [name, value] : r.props) {
            const std::string prop = name + "=" + pvalue(value);
            // Fold inside a resinfo when the line would grow too long (CFWS is allowed
            // between propspecs).
            const auto last_break = line.rfind("\r\n");
            const std::size_t current = last_break == std::string::npos ? line.size() + 1 : line.size() - last_break - 2;
            if (current + 1 + prop.size() > 78) line += "\r\n\t";
            else line += ' ';
            line += prop;
        }
        out += line;
    }
    // Every piece is bounded (printable caps, pvalue 255), so no line nears 998 octets.
    out += "\r\n";
    return out;
}

std::size_t header_end(std::string_view message) {
    if (message.starts_with("\r\n")) return 2;
    const auto p = message.find("\r\n\r\n");
    return p == std::string_view::npos ? message.size() : p + 4;
}

std::string_view field_name(std::string_view raw_field) {
    const auto line_end = raw_field.find("\r\n");
    const auto colon = raw_field.find(':');
    if (colon == std::string_view::npos || colon > line_end) return {};
    auto name = raw_field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);   // obs-optional
    return name;
}

std::vector<std::string_view> split_fields(std::string_view block) {
    std::vector<std::string_view> fields;
    std::size_t start = 0, i = 0;
    while (i < block.size()) {
        auto eol = block.find("\r\n", i);
        const std::size_t next = eol == std::string_view::npos ? block.size() : eol + 2;
        // A field ends where the next line does not start with WSP (RFC 5322 2.2.3).
        if (next >= block.size() || (block[next] != ' ' && block[next] != '\t')) {
            fields.push_back(block.substr(start, next - start));
            start = next;
        }
        i = next;
    }
    return fields;
}

std::optional<std::string> authserv_id_of(std::string_view value) {
    auto i = skip_cfws(value, 0);
    if (i == std::string_view::npos || i >= value.size()) return std::nullopt;
    std::string id;
    if (value[i] == '"') {
        for (++i; i < value.size() && value[i] != '"'; ++i) {
            if (value[i] == '\\' && i + 1 < value.size()) ++i;
            if (value[i] == '\r' || value[i] == '\n') continue;   // folded inside the quotes
            id += value[i];
        }
        if (i >= value.size()) return std::nullopt;
    } else {
        while (i < value.size() && token_char(value[i])) id += value[i++];
    }
    if (id.empty()) return std::nullopt;
    return id;
}

std::string remove_forged_results(std::string_view block, std::string_view authserv_id, std::size_t* removed) {
    std::string out;
    out.reserve(block.size());
    std::size_t count = 0;
    for (auto f : split_fields(block)) {
        if (iequals(field_name(f), "Authentication-Results")) {
            const auto value = f.substr(f.find(':') + 1);
            auto id = authserv_id_of(value);
            // A field too malformed to name its authserv-id still goes when it mentions
            // ours: a reader might take it for our verdict.
            if (id ? iequals(*id, authserv_id) : contains_ci(value, authserv_id)) {
                ++count;
                continue;
            }
        }
        out += f;
    }
    if (removed) *removed = count;
    return out;
}

}  // namespace polder::smtpd
