// address.cpp - mail address and domain validation and normalisation
// (see polder/auth/address.hpp for the policy).
//
// SECURITY: input length is bounded before libidn2 sees it; NUL and control
// bytes are refused before any C string is formed; libidn2 memory is freed on
// every path.
// STANDARDS: RFC 5321, RFC 5322 3.2.3, RFC 5890/5891, UTS #46, RFC 1035.
#include "polder/auth/address.hpp"

#include "polder/auth/names.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace polder::auth {
namespace {

// is_atext - RFC 5322 3.2.3 atext, ASCII only.
bool is_atext(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
        return true;
    default:
        return false;
    }
}

bool is_ldh(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

struct idn2_string_deleter {
    void operator()(char* p) const noexcept { idn2_free(p); }
};
using idn2_string = std::unique_ptr<char, idn2_string_deleter>;

// check_ldh_domain - the LDH rules every stored domain satisfies (A-label form).
validated<std::string> check_ldh_domain(std::string domain) {
    if (domain.size() > max_domain_octets)
        return validated<std::string>::refused("domain is longer than 253 octets");
    std::size_t labels = 0;
    std::string_view rest = domain;
    std::string_view last;
    while (true) {
        auto dot = rest.find('.');
        std::string_view label = rest.substr(0, dot);
        if (label.empty())
            return validated<std::string>::refused("domain has an empty label (consecutive dots or a dot at the start)");
        if (label.size() > max_label_octets)
            return validated<std::string>::refused("domain label '" + std::string(label) + "' is longer than 63 octets");
        for (unsigned char c : label) {
            if (!is_ldh(c)) {
                std::string shown = (c >= 0x21 && c < 0x7f) ? std::string(1, static_cast<char>(c)) : "a non-printable byte";
                return validated<std::string>::refused("domain label '" + std::string(label) +
                                                       "' contains '" + shown +
                                                       "' (only letters, digits and hyphens are allowed)");
            }
        }
        if (label.front() == '-' || label.back() == '-')
            return validated<std::string>::refused("domain label '" + std::string(label) +
                                                   "' starts or ends with a hyphen");
        ++labels;
        last = label;
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    if (labels < 2)
        return validated<std::string>::refused("domain needs at least two labels (like example.org)");
    if (std::all_of(last.begin(), last.end(), [](unsigned char c) { return c >= '0' && c <= '9'; }))
        return validated<std::string>::refused("domain's last label is all digits (IP addresses are not domains)");
    return domain;
}

bool has_a_label(std::string_view domain) {
    std::size_t pos = 0;
    while (pos <= domain.size()) {
        if (domain.substr(pos, 4) == "xn--") return true;
        auto dot = domain.find('.', pos);
        if (dot == std::string_view::npos) break;
        pos = dot + 1;
    }
    return false;
}

}  // namespace

validated<std::string> normalize_domain(std::string_view input) {
    if (input.empty()) return validated<std::string>::refused("domain is empty");
    if (input.size() > max_address_input_octets)
        return validated<std::string>::refused("domain is far too long");
    if (input.front() == '[')
        return validated<std::string>::refused("address literals like [192.0.2.1] are not supported");
    if (input.back() == '.')
        return validated<std::string>::refused("domain ends with a dot");
    bool ascii = true;
    for (unsigned char c : input) {
        if (c < 0x20 || c == 0x7f) return validated<std::string>::refused("domain contains a control character");
        if (c == ' ') return validated<std::string>::refused("domain contains a space");
        if (c >= 0x80) ascii = false;
    }
    if (!ascii && !valid_utf8(input)) return validated<std::string>::refused("domain is not valid UTF-8");
    std::string lowered = to_lower_ascii(input);
    if (ascii && !has_a_label(lowered)) return check_ldh_domain(std::move(lowered));

    // U-labels are converted, A-labels decoded and re-checked: IDNA2008 with the
    // UTS #46 non-transitional mapping, what current browsers and MTAs use.
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(lowered.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    idn2_string owned(out);
    if (rc != IDN2_OK || !owned)
        return validated<std::string>::refused(std::string("domain is not a valid internationalised domain name (") +
                                               idn2_strerror(rc) + ")");
    return check_ldh_domain(to_lower_ascii(owned.get()));
}

validated<std::string> normalize_local_part(std::string_view input) {
    if (input.empty()) return validated<std::string>::refused("local part (before the '@') is empty");
    if (input.front() == '"')
        return validated<std::string>::refused("quoted local parts are not supported");
    if (input.size() > max_local_part_octets)
        return validated<std::string>::refused("local part is longer than 64 octets");
    if (input.front() == '.' || input.back() == '.')
        return validated<std::string>::refused("local part starts or ends with a dot");
    if (input.find("..") != std::string_view::npos)
        return validated<std::string>::refused("local part has consecutive dots");
    for (unsigned char c : input) {
        if (c == '.') continue;
        if (c >= 0x80) return validated<std::string>::refused("non-ASCII local parts are not supported");
        if (!is_atext(c)) {
            std::string shown = (c >= 0x21 && c < 0x7f) ? "'" + std::string(1, static_cast<char>(c)) + "'"
                              : c == ' '                ? "a space"
                                                        : "a control character";
            return validated<std::string>::refused("local part contains " + shown);
        }
    }
    return to_lower_ascii(input);
}

validated<address> parse_address(std::string_view input) {
    if (input.empty()) return validated<address>::refused("address is empty");
    if (input.size() > max_address_input_octets) return validated<address>::refused("address is far too long");
    auto at = input.rfind('@');
    if (at == std::string_view::npos) return validated<address>::refused("address has no '@'");
    auto local = normalize_local_part(input.substr(0, at));
    if (!local) return validated<address>::refused(local.reason());
    auto domain = normalize_domain(input.substr(at + 1));
    if (!domain) return validated<address>::refused(domain.reason());
    address a{std::move(local).value(), std::move(domain).value()};
    if (a.local_part.size() + 1 + a.domain.size() > max_address_octets)
        return validated<address>::refused("address is longer than 254 octets");
    return a;
}

std::string domain_to_unicode(std::string_view a_label_domain) {
    std::string in(a_label_domain);
    if (in.size() > max_domain_octets || !has_a_label(in) || in.find('\0') != std::string::npos) return in;
    char* out = nullptr;
    int rc = idn2_to_unicode_8z8z(in.c_str(), &out, 0);
    idn2_string owned(out);
    if (rc != IDN2_OK || !owned) return in;
    return owned.get();
}

}  // namespace polder::auth
