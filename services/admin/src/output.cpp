// output.cpp - text tables, JSON output, secrets from stdin.
//
// SECURITY: see output.hpp; read_secret_line bounds what it reads.
// STANDARDS: RFC 8259.
#include "output.hpp"

#include "context.hpp"

#include "polder/auth/names.hpp"
#include "polder/auth/password.hpp"
#include "polder/auth/size.hpp"

#include <algorithm>
#include <iostream>

namespace polder::admin {

void table::print(std::ostream& out) const {
    std::vector<std::size_t> width(headers.size(), 0);
    auto cell = [](const std::string& s) { return failure::one_line(s); };
    for (std::size_t i = 0; i < headers.size(); ++i) width[i] = auth::utf8_length(headers[i]);
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], auth::utf8_length(cell(r[i])));
    auto line = [&](const std::vector<std::string>& r) {
        std::string s;
        for (std::size_t i = 0; i < width.size(); ++i) {
            std::string v = i < r.size() ? cell(r[i]) : "";
            s += v;
            if (i + 1 < width.size()) s += std::string(width[i] - auth::utf8_length(v) + 2, ' ');
        }
        while (!s.empty() && s.back() == ' ') s.pop_back();
        out << s << '\n';
    };
    line(headers);
    for (const auto& r : rows) line(r);
}

void print_json(const nlohmann::json& j) {
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

std::string read_secret_line() {
    std::string line;
    char c;
    bool any = false;
    while (std::cin.get(c)) {
        any = true;
        if (c == '\n') break;
        if (line.size() > auth::max_password_bytes + 1)
            usage_error("the password on standard input is longer than " +
                        std::to_string(auth::max_password_bytes) + " bytes");
        line += c;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!any) usage_error("no password on standard input");
    return line;
}

std::string quota_text(const std::optional<std::int64_t>& quota_bytes) {
    return quota_bytes ? auth::format_size(static_cast<std::uint64_t>(*quota_bytes)) : "unlimited";
}

using nlohmann::json;

json to_json(const auth::org_info& o) {
    return {{"name", o.name}, {"domains", o.domains}, {"accounts", o.accounts}, {"created_at", o.created_at}};
}

json to_json(const auth::domain_info& d) {
    return {{"name", d.name}, {"org", d.org}, {"accounts", d.accounts}, {"created_at", d.created_at}};
}

json to_json(const auth::account_info& a) {
    return {{"address", a.address},
            {"org", a.org},
            {"domain", a.domain},
            {"display_name", a.display_name},
            {"kind", a.kind},
            {"disabled", a.disabled},
            {"quota_bytes", a.quota_bytes ? json(*a.quota_bytes) : json(nullptr)},
            {"used_bytes", a.used_bytes},
            {"has_password", a.has_password},
            {"created_at", a.created_at}};
}

json to_json(const auth::alias_info& a) {
    return {{"address", a.address}, {"org", a.org}, {"target", a.target}, {"created_at", a.created_at}};
}

json to_json(const auth::group_info& g) {
    return {{"name", g.name},
            {"org", g.org},
            {"address", g.address ? json(*g.address) : json(nullptr)},
            {"members", g.members},
            {"created_at", g.created_at}};
}

json to_json(const auth::app_password_info& p) {
    auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
    return {{"id", p.id},
            {"label", p.label},
            {"public_id", p.public_id},
            {"created_at", p.created_at},
            {"last_used_at", opt(p.last_used_at)},
            {"revoked_at", opt(p.revoked_at)},
            {"active", !p.revoked_at.has_value()}};
}

}  // namespace polder::admin
