// commands.cpp - lookups and input handling shared by polderctl's commands.
//
// SECURITY: see commands.hpp (tenant-scoped lookups answer "unknown" for other
// organisations' objects).
// STANDARDS: none.
#include "commands.hpp"

#include "output.hpp"

#include "polder/auth/names.hpp"
#include "polder/auth/password.hpp"

#include <regex>

namespace polder::admin {

void on_run(CLI::App* sub, action& chosen, action fn) {
    sub->callback([&chosen, fn = std::move(fn)] { chosen = fn; });
}

CLI::Option* add_org_option(CLI::App* sub, std::string& org, const std::string& what) {
    return sub->add_option("--org", org, what);
}

auth::address parse_address_arg(const std::string& text) {
    auto a = auth::parse_address(auth::trim(text));
    if (!a) usage_error("malformed address '" + text + "': " + a.reason());
    return std::move(a).value();
}

std::optional<auth::org_info> org_filter(pqxx::work& tx, const std::string& name) {
    if (name.empty()) return std::nullopt;
    auto normalized = auth::normalize_org_name(name);
    if (!normalized) usage_error("malformed organisation name '" + name + "': " + normalized.reason());
    auto org = auth::find_org(tx, *normalized);
    if (!org) refuse("unknown organisation '" + *normalized + "'");
    return std::move(*org);
}

std::string describe_owner(const std::string& kind) {
    if (kind == "alias") return "an alias";
    if (kind == "group") return "a group";
    return "a user";
}

auth::account_info account_in(pqxx::work& tx, const std::string& address_text,
                              const std::optional<auth::org_info>& org) {
    auth::address addr = parse_address_arg(address_text);
    const std::string a = addr.str();
    const std::string scope = org ? " in organisation '" + org->name + "'" : "";
    auto account = auth::find_account(tx, a);
    if (account && (!org || account->org_id == org->id)) return std::move(*account);
    if (!account) {
        if (auto owner = auth::find_address(tx, a); owner && (!org || owner->org_id == org->id))
            refuse(a + " is " + describe_owner(owner->kind) + ", not a user");
    }
    refuse("unknown user '" + a + "'" + scope);
}

auth::domain_info domain_in(pqxx::work& tx, const std::string& domain_name, const std::optional<auth::org_info>& org) {
    auto normalized = auth::normalize_domain(auth::trim(domain_name));
    if (!normalized) usage_error("malformed domain '" + domain_name + "': " + normalized.reason());
    auto d = auth::find_domain(tx, *normalized);
    if (!d || (org && d->org_id != org->id))
        refuse("unknown domain '" + *normalized + "'" + (org ? " in organisation '" + org->name + "'" : std::string()));
    return std::move(*d);
}

chosen_password new_password(bool from_stdin, const config::auth_settings& settings) {
    if (!from_stdin) return {auth::generate_password(), true};
    std::string pw = read_secret_line();
    if (auto why = auth::check_password_policy(pw, settings)) usage_error(*why);
    return {std::move(pw), false};
}

std::int64_t resolve_time(pqxx::work& tx, const std::string& text, const std::string& option) {
    static const std::regex relative(R"(([0-9]{1,6})([mhdw]))");
    static const std::regex absolute(
        R"([0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)");
    std::smatch m;
    const std::string sql = "SELECT (extract(epoch FROM ";
    if (std::regex_match(text, m, relative)) {
        const char unit = m[2].str()[0];
        const std::string interval = m[1].str() + (unit == 'm'   ? " minutes"
                                                   : unit == 'h' ? " hours"
                                                   : unit == 'd' ? " days"
                                                                 : " weeks");
        return tx.exec_params1(sql + "now() - $1::interval) * 1000000)::bigint", interval)[0].as<std::int64_t>();
    }
    if (!std::regex_match(text, m, absolute))
        usage_error(option + " '" + text + "': expected e.g. 30d, 12h, 2026-11-01 or 2026-11-01T08:30:00Z");
    std::string iso = text;
    if (!m[1].matched) iso += "T00:00:00";
    if (!m[4].matched) iso += "Z";   // no offset: UTC, whatever the session's time zone
    try {
        pqxx::subtransaction check(tx);
        auto v = check.exec_params1(sql + "$1::timestamptz) * 1000000)::bigint", iso)[0].as<std::int64_t>();
        check.commit();
        return v;
    } catch (const pqxx::data_exception&) {
        usage_error(option + " '" + text + "': not a valid date and time");
    }
}

}  // namespace polder::admin
