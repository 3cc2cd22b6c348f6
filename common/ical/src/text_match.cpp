// text_match.cpp - collations and text-match for calendar-query and addressbook-query.
//
// SECURITY: inputs are bounded by the callers (request and object size limits); GLib's
// normaliser is only given validated UTF-8.
// STANDARDS: RFC 4790 9.2-9.3, RFC 5051, RFC 4791 9.7.5, RFC 6352 10.5.4.
#include "polder/ical/text_match.hpp"

#include <glib.h>

#include <memory>

namespace polder::ical {

namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "polder.ical"; }
    std::string message(int ev) const override {
        switch (static_cast<ical_errc>(ev)) {
        case ical_errc::ok: return "success";
        case ical_errc::unsupported_collation: return "unsupported collation";
        case ical_errc::invalid_filter: return "invalid filter";
        }
        return "unknown ical error";
    }
};

}  // namespace

const boost::system::error_category& ical_category() noexcept {
    static const category c;
    return c;
}

result<collation> parse_collation(std::string_view name) {
    if (name.empty() || name == "i;ascii-casemap") return collation::ascii_casemap;
    if (name == "i;octet") return collation::octet;
    if (name == "i;unicode-casemap") return collation::unicode_casemap;
    return make_error_code(ical_errc::unsupported_collation);
}

result<match_type> parse_match_type(std::string_view name) {
    if (name.empty() || name == "contains") return match_type::contains;
    if (name == "equals") return match_type::equals;
    if (name == "starts-with") return match_type::starts_with;
    if (name == "ends-with") return match_type::ends_with;
    return make_error_code(ical_errc::invalid_filter);
}

folded fold(collation c, std::string_view s) {
    folded f;
    switch (c) {
    case collation::octet: f.key.assign(s); return f;
    case collation::ascii_casemap:
        // RFC 4790 9.2: only a-z are mapped; every other octet compares as itself.
        f.key.assign(s);
        for (auto& ch : f.key)
            if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        return f;
    case collation::unicode_casemap: {
        if (!g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) {
            f.ok = false;
            return f;
        }
        std::string titled;
        titled.reserve(s.size());
        for (const char* p = s.data(); p < s.data() + s.size(); p = g_utf8_next_char(p)) {
            char buf[8];
            const gint n = g_unichar_to_utf8(g_unichar_totitle(g_utf8_get_char(p)), buf);
            titled.append(buf, static_cast<std::size_t>(n));
        }
        std::unique_ptr<gchar, decltype(&g_free)> nfd(
            g_utf8_normalize(titled.data(), static_cast<gssize>(titled.size()), G_NORMALIZE_NFD), &g_free);
        if (!nfd) {
            f.ok = false;
            return f;
        }
        f.key = nfd.get();
        return f;
    }
    }
    return f;
}

result<bool> text_matches(const text_match& m, std::string_view value) {
    auto c = parse_collation(m.collation);
    if (!c) return result<bool>(boost::system::in_place_error, c.error());
    const auto v = fold(*c, value);
    const auto p = fold(*c, m.text);
    bool hit = false;
    if (v.ok && p.ok) {
        const std::string_view a = v.key, b = p.key;
        switch (m.type) {
        case match_type::equals: hit = a == b; break;
        case match_type::contains: hit = a.find(b) != std::string_view::npos; break;
        case match_type::starts_with: hit = a.starts_with(b); break;
        case match_type::ends_with: hit = a.ends_with(b); break;
        }
    }
    return m.negate ? !hit : hit;
}

}  // namespace polder::ical
