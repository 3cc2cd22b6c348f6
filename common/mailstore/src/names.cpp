// names.cpp - mailbox names, flags, rights, UID sets, base subjects, array literals.
// SECURITY: validators for client-named things; bounded loops; no SQL built here.
// STANDARDS: RFC 3501 / 9051 (atoms, flags, INBOX), RFC 4314 (rights), RFC 5256 (base subject).
#include "polder/mailstore/names.hpp"

#include <algorithm>
#include <cctype>

namespace polder::mailstore {
namespace {

// valid_utf8 - well-formed UTF-8 lead/continuation structure (overlong 2-byte forms refused).
bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        if (c < 0x80) n = 0;
        else if (c >= 0xc2 && c <= 0xdf) n = 1;
        else if (c >= 0xe0 && c <= 0xef) n = 2;
        else if (c >= 0xf0 && c <= 0xf4) n = 3;
        else return false;
        if (s.size() - i - 1 < n) return false;
        for (std::size_t k = 1; k <= n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
        i += n + 1;
    }
    return true;
}

std::string ascii_upper(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return r;
}

std::string ascii_lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

// IMAP atom-specials (RFC 3501 section 9) plus ']' which flag-keyword excludes.
bool atom_char(unsigned char c) {
    if (c <= 0x20 || c >= 0x7f) return false;
    return std::string_view("(){%*\"\\]").find(static_cast<char>(c)) == std::string_view::npos;
}

}  // namespace

result<std::string> normalize_mailbox_name(std::string_view name) {
    if (name.empty() || name.size() > max_mailbox_name) return errc::invalid_argument;
    if (!valid_utf8(name)) return errc::invalid_argument;
    std::size_t levels = 1;
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || ch == '*' || ch == '%') return errc::invalid_argument;
        if (ch == hierarchy_separator) ++levels;
    }
    if (levels > max_mailbox_levels) return errc::invalid_argument;
    if (name.front() == hierarchy_separator || name.back() == hierarchy_separator ||
        name.find("//") != std::string_view::npos)
        return errc::invalid_argument;
    std::string out(name);
    auto first_end = name.find(hierarchy_separator);
    auto first = name.substr(0, first_end);
    if (ascii_upper(first) == "INBOX") out.replace(0, first.size(), "INBOX");
    return out;
}

std::vector<std::string> parent_names(std::string_view name) {
    std::vector<std::string> r;
    for (std::size_t p = name.find(hierarchy_separator); p != std::string_view::npos;
         p = name.find(hierarchy_separator, p + 1))
        r.emplace_back(name.substr(0, p));
    return r;
}

bool is_system_flag(std::string_view f) noexcept {
    return f == "\\Seen" || f == "\\Answered" || f == "\\Flagged" || f == "\\Deleted" || f == "\\Draft";
}

result<std::string> normalize_flag(std::string_view flag) {
    if (flag.empty() || flag.size() > max_keyword_length) return errc::invalid_argument;
    if (flag.front() == '\\') {
        static constexpr std::string_view system[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};
        auto lower = ascii_lower(flag);
        for (auto s : system)
            if (ascii_lower(s) == lower) return std::string(s);
        return errc::invalid_argument;   // \Recent and unknown system flags cannot be stored
    }
    for (char c : flag)
        if (!atom_char(static_cast<unsigned char>(c))) return errc::invalid_argument;
    return std::string(flag);
}

result<std::vector<std::string>> normalize_flags(const std::vector<std::string>& flags) {
    if (flags.size() > max_flags) return errc::limit_exceeded;
    std::vector<std::string> out;
    for (const auto& f : flags) {
        auto n = normalize_flag(f);
        if (!n) return n.error();
        auto lower = ascii_lower(*n);
        bool dup = std::any_of(out.begin(), out.end(), [&](const std::string& o) { return ascii_lower(o) == lower; });
        if (!dup) out.push_back(std::move(*n));
    }
    return out;
}

result<std::string> normalize_rights(std::string_view rights) {
    if (rights.size() > 64) return errc::invalid_argument;
    std::string held;
    for (char c : rights) {
        if (c == 'c') held += 'k';
        else if (c == 'd') held += "xte";
        else if (all_rights.find(c) != std::string_view::npos) held += c;
        else return errc::invalid_argument;
    }
    std::string out;
    for (char c : all_rights)
        if (held.find(c) != std::string::npos) out += c;
    return out;
}

bool has_rights(std::string_view held, std::string_view needed) noexcept {
    for (char c : needed)
        if (held.find(c) == std::string_view::npos) return false;
    return true;
}

result<uid_set> make_uid_set(uid_set ranges) {
    if (ranges.size() > max_uid_ranges) return errc::limit_exceeded;
    for (auto& r : ranges) {
        if (r.first == 0 || r.last == 0) return errc::invalid_argument;
        if (r.first > r.last) std::swap(r.first, r.last);
    }
    std::sort(ranges.begin(), ranges.end(), [](const uid_range& a, const uid_range& b) { return a.first < b.first; });
    uid_set out;
    for (const auto& r : ranges) {
        if (!out.empty() && static_cast<std::uint64_t>(r.first) <= static_cast<std::uint64_t>(out.back().last) + 1)
            out.back().last = std::max(out.back().last, r.last);
        else
            out.push_back(r);
    }
    return out;
}

bool contains(const uid_set& s, std::uint32_t uid) noexcept {
    return std::any_of(s.begin(), s.end(), [uid](const uid_range& r) { return uid >= r.first && uid <= r.last; });
}

std::string base_subject(std::string_view subject) {
    // Fold whitespace runs to one space and trim (RFC 5256 2.1 step 1).
    std::string s;
    for (char c : subject) {
        bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (ws) {
            if (!s.empty() && s.back() != ' ') s += ' ';
        } else {
            s += c;
        }
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    bool changed = true;
    // Each pass removes at least one character when it changes anything: bounded by size.
    while (changed) {
        changed = false;
        auto lower = ascii_lower(s);
        // trailing "(fwd)" (step 2)
        if (lower.size() >= 5 && lower.compare(lower.size() - 5, 5, "(fwd)") == 0) {
            s.erase(s.size() - 5);
            while (!s.empty() && s.back() == ' ') s.pop_back();
            changed = true;
            continue;
        }
        // leading [blob]s (step 3)
        if (!s.empty() && s.front() == '[') {
            auto close = s.find(']');
            if (close != std::string::npos && s.find('[', 1) > close && close + 1 < s.size()) {
                s.erase(0, close + 1);
                while (!s.empty() && s.front() == ' ') s.erase(0, 1);
                changed = true;
                continue;
            }
        }
        // subj-refwd: "re", "fw", "fwd" + optional [blob] + ":" (step 3)
        for (std::string_view p : {"re", "fwd", "fw"}) {
            if (lower.compare(0, p.size(), p) != 0) continue;
            std::size_t i = p.size();
            while (i < s.size() && s[i] == ' ') ++i;
            if (i < s.size() && s[i] == '[') {
                auto close = s.find(']', i);
                if (close == std::string::npos) continue;
                i = close + 1;
                while (i < s.size() && s[i] == ' ') ++i;
            }
            if (i < s.size() && s[i] == ':') {
                s.erase(0, i + 1);
                while (!s.empty() && s.front() == ' ') s.erase(0, 1);
                changed = true;
                break;
            }
        }
        if (changed) continue;
        // [fwd: ...] wrapper (step 6)
        if (lower.size() > 6 && lower.compare(0, 5, "[fwd:") == 0 && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            while (!s.empty() && s.front() == ' ') s.erase(0, 1);
            while (!s.empty() && s.back() == ' ') s.pop_back();
            changed = true;
        }
    }
    return ascii_lower(s);
}

}  // namespace polder::mailstore
