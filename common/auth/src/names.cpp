// names.cpp - organisation names, display names, group names, labels; UTF-8 helpers.
//
// SECURITY: control characters (C0, DEL and the C1 range U+0080..U+009F) are
// refused so a name can never inject lines into logs, CSV output or terminals.
// STANDARDS: RFC 3629 (UTF-8 well-formedness).
#include "polder/auth/names.hpp"

namespace polder::auth {
namespace {

// decode_one - decode one code point at s[i]; returns its length or 0 when malformed.
std::size_t decode_one(std::string_view s, std::size_t i, char32_t& cp) noexcept {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) { cp = c; return 1; }
    std::size_t len;
    char32_t min;
    if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        if ((b(i + k) & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;  // overlong, too big, surrogate
    return len;
}

bool has_control(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        std::size_t n = decode_one(s, i, cp);
        if (n == 0) return true;  // callers check UTF-8 first; treat as bad anyway
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) return true;
        i += n;
    }
    return false;
}

// check_text - the shared rules of display names, group names and labels.
validated<std::string> check_text(std::string_view input, std::string_view what, std::size_t min_chars,
                                  std::size_t max_chars) {
    if (input.size() > max_chars * 4 + 64)   // bound the work before decoding
        return validated<std::string>::refused(std::string(what) + " is longer than " + std::to_string(max_chars) +
                                               " characters");
    if (!valid_utf8(input)) return validated<std::string>::refused(std::string(what) + " is not valid UTF-8");
    if (has_control(input)) return validated<std::string>::refused(std::string(what) + " contains a control character");
    std::string_view t = trim(input);
    std::size_t n = utf8_length(t);
    if (n < min_chars) return validated<std::string>::refused(std::string(what) + " is empty");
    if (n > max_chars)
        return validated<std::string>::refused(std::string(what) + " is longer than " + std::to_string(max_chars) +
                                               " characters");
    return std::string(t);
}

}  // namespace

bool valid_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        char32_t cp = 0;
        std::size_t n = decode_one(s, i, cp);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::size_t utf8_length(std::string_view s) noexcept {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xc0) != 0x80) ++n;
    return n;
}

std::string to_lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

validated<std::string> normalize_org_name(std::string_view input) {
    if (input.empty()) return validated<std::string>::refused("organisation name is empty");
    if (input.size() > max_org_name_chars)
        return validated<std::string>::refused("organisation name is longer than 63 characters");
    std::string name = to_lower_ascii(input);
    for (unsigned char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return validated<std::string>::refused(
                "organisation name may contain only letters, digits, '.', '_' and '-'");
    }
    if (name.front() == '.' || name.front() == '_' || name.front() == '-')
        return validated<std::string>::refused("organisation name must start with a letter or digit");
    return name;
}

validated<std::string> check_display_name(std::string_view input) {
    return check_text(input, "display name", 0, max_display_name_chars);
}

validated<std::string> check_group_name(std::string_view input) {
    auto v = check_text(input, "group name", 1, max_group_name_chars);
    if (v && v->find('@') != std::string::npos)
        return validated<std::string>::refused("group name contains '@' (give a group's address with --address)");
    return v;
}

validated<std::string> check_label(std::string_view input) {
    return check_text(input, "label", 1, max_label_chars);
}

}  // namespace polder::auth
