// acl.cpp - RFC 4314 rights strings.
//
// SECURITY: strict letter set (see acl.hpp); no allocation beyond the output string.
// STANDARDS: RFC 4314 sections 2.1, 2.1.1, 3.1, 3.6.
#include "polder/imap/proto/acl.hpp"

namespace polder::imap::proto {

rights rights::from_letter(char c) noexcept {
    auto pos = letters.find(c);
    if (pos == std::string_view::npos) return rights{};
    return rights{static_cast<std::uint16_t>(1u << pos)};
}

rights rights::create_group() noexcept { return from_letter('k') | from_letter('x'); }
rights rights::delete_group() noexcept { return from_letter('e') | from_letter('t'); }

result<rights> parse_rights(std::string_view text) {
    rights r;
    for (char c : text) {
        if (c == 'c') r = r | rights::create_group();
        else if (c == 'd') r = r | rights::delete_group();
        else {
            rights one = rights::from_letter(c);
            if (one.empty()) return errc::invalid_argument;
            r = r | one;
        }
    }
    return r;
}

std::string format_rights(rights r, bool obsolete) {
    std::string out;
    for (char c : rights::letters)
        if (r.has(c)) out += c;
    if (obsolete) {
        if (!(r & rights::create_group()).empty()) out += 'c';
        if (!(r & rights::delete_group()).empty()) out += 'd';
    }
    return out;
}

rights rights_change::apply(rights current) const noexcept {
    switch (op) {
    case rights_op::replace: return value;
    case rights_op::add: return current | value;
    case rights_op::remove: return current.without(value);
    }
    return current;
}

result<rights_change> parse_rights_change(std::string_view text) {
    rights_change ch;
    if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
        ch.op = text[0] == '+' ? rights_op::add : rights_op::remove;
        text.remove_prefix(1);
    }
    auto r = parse_rights(text);
    if (!r) return r.error();
    ch.value = *r;
    return ch;
}

acl_identifier parse_acl_identifier(std::string_view text) {
    acl_identifier id;
    if (text.size() > 1 && text[0] == '-') {
        id.negative = true;
        text.remove_prefix(1);
    }
    id.name = std::string(text);
    return id;
}

}  // namespace polder::imap::proto
