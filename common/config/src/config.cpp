// config.cpp - sizes, messages, the default path and the redacted dump.
//
// What it does: the parts of polder::config that need no TOML parser (which lives only in
// load.cpp): size syntax, load_error formatting, default_path(), redacted().
//
// SECURITY: redacted() prints secrets as "<redacted>"; quote_for_message() escapes
// control characters and bounds the length of values echoed back in errors.
//
// STANDARDS: IEC 80000-13 binary prefixes (K = 1024 ...), TOML v1.0.0 strings.
#include "polder/config/config.hpp"
#include "polder/config/parameters.hpp"

#include "detail.hpp"

#include <cstdio>
#include <cstdlib>

namespace polder::config {

namespace detail {

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
    return out;
}

std::string quote_for_message(std::string_view s) {
    constexpr std::size_t limit = 80;
    if (s.size() <= limit) return toml_string(s);
    std::string q = toml_string(s.substr(0, limit));
    q.insert(q.size() - 1, "...");
    return q;
}

}  // namespace detail

bool parse_size(std::string_view text, std::uint64_t& out) {
    std::size_t i = 0;
    std::uint64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
        if (n > (UINT64_MAX - digit) / 10) return false;
        n = n * 10 + digit;
        ++i;
    }
    if (i == 0) return false;
    std::string_view rest = text.substr(i);
    if (!rest.empty() && rest.front() == ' ') {   // "50 MiB"
        rest.remove_prefix(1);
        if (rest.empty()) return false;             // a trailing space without a unit
    }
    unsigned shift = 0;
    if (!rest.empty()) {
        switch (rest.front()) {
            case 'k': case 'K': shift = 10; break;
            case 'm': case 'M': shift = 20; break;
            case 'g': case 'G': shift = 30; break;
            case 't': case 'T': shift = 40; break;
            case 'b': case 'B': shift = 0; break;
            default: return false;
        }
        if (shift != 0) {
            rest.remove_prefix(1);
            if (!rest.empty() && (rest.front() == 'i' || rest.front() == 'I')) {
                rest.remove_prefix(1);
                if (rest.empty()) return false;   // "50Mi" is no unit
            }
        }
        if (!rest.empty() && (rest.front() == 'b' || rest.front() == 'B')) rest.remove_prefix(1);
        if (!rest.empty()) return false;
    }
    if (shift != 0 && n > (UINT64_MAX >> shift)) return false;
    out = n << shift;
    return true;
}

std::string format_size(std::uint64_t bytes) {
    static constexpr struct { unsigned shift; char unit; } units[] = {
        {40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}};
    if (bytes != 0) {
        for (const auto& u : units) {
            const std::uint64_t m = std::uint64_t{1} << u.shift;
            if (bytes % m == 0) return std::to_string(bytes / m) + u.unit;
        }
    }
    return std::to_string(bytes);
}

std::string load_error::message() const {
    std::string out;
    for (const auto& p : problems) {
        if (!out.empty()) out += '\n';
        out += p;
    }
    return out;
}

std::filesystem::path default_path() {
    const char* env = std::getenv("POLDER_CONFIG");
    if (env != nullptr && *env != '\0') return env;
    return "/etc/polder/polder.toml";
}

std::string redacted(const settings& s) {
    std::string out;
    if (!s.source_path.empty()) out += "# loaded from " + s.source_path + "\n";
    for (const auto& p : parameters()) {
        out += p.key;
        out += " = ";
        out += value_text(p, s, false);
        out += '\n';
    }
    return out;
}

}  // namespace polder::config
