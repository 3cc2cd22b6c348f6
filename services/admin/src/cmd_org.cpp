// cmd_org.cpp - polderctl org add|list|remove: organisations (tenants).
//
// SECURITY: removing an organisation that still owns domains, accounts,
// aliases or groups needs --force, and the message says what would go; the
// removal and its audit event are one transaction.
// STANDARDS: none.
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/names.hpp"

#include <iostream>

namespace polder::admin {
namespace {

std::string plural(std::int64_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string describe(const auth::object_counts& c, bool with_domains) {
    std::string s;
    if (with_domains) s += plural(c.domains, "domain", "domains") + ", ";
    s += plural(c.accounts, "account", "accounts") + ", " + plural(c.aliases, "alias", "aliases") + " and " +
         plural(c.groups, "group", "groups");
    return s;
}

std::string org_name_arg(const std::string& text) {
    auto n = auth::normalize_org_name(text);
    if (!n) usage_error("malformed organisation name '" + text + "': " + n.reason());
    return std::move(n).value();
}

}  // namespace

std::string describe_counts(const auth::object_counts& c, bool with_domains) { return describe(c, with_domains); }

void add_org_commands(CLI::App& app, action& chosen) {
    auto* org = app.add_subcommand("org", "Manage organisations (tenants)");
    org->require_subcommand(1);

    {
        auto* sub = org->add_subcommand("add", "Create an organisation");
        auto name = std::make_shared<std::string>();
        sub->add_option("name", *name, "Organisation name: letters, digits, '.', '_', '-' (stored lower-case)")
            ->required();
        on_run(sub, chosen, [name](context& ctx) {
            const std::string n = org_name_arg(*name);
            ctx.transact([&](pqxx::work& tx) {
                auto r = auth::add_org(tx, n, ctx.who());
                if (!r) refuse("organisation '" + n + "' already exists");
                return 0;
            });
            std::cout << "created organisation " << n << '\n';
        });
    }
    {
        auto* sub = org->add_subcommand("list", "List organisations");
        auto json = std::make_shared<bool>(false);
        auto org_name = std::make_shared<std::string>();
        sub->add_flag("--json", *json, "Print JSON");
        add_org_option(sub, *org_name, "Show only this organisation");
        on_run(sub, chosen, [json, org_name](context& ctx) {
            auto orgs = ctx.transact([&](pqxx::work& tx) {
                auto filter = org_filter(tx, *org_name);
                return auth::list_orgs(tx, filter ? std::optional<std::int64_t>(filter->id) : std::nullopt);
            });
            if (*json) {
                nlohmann::json out = nlohmann::json::array();
                for (const auto& o : orgs) out.push_back(to_json(o));
                print_json(out);
                return;
            }
            table t{{"ORG", "DOMAINS", "ACCOUNTS", "CREATED"}, {}};
            for (const auto& o : orgs)
                t.rows.push_back({o.name, std::to_string(o.domains), std::to_string(o.accounts), o.created_at});
            t.print(std::cout);
        });
    }
    {
        auto* sub = org->add_subcommand("remove", "Remove an organisation (with --force: and everything it owns)");
        auto name = std::make_shared<std::string>();
        auto force = std::make_shared<bool>(false);
        sub->add_option("name", *name, "Organisation name")->required();
        sub->add_flag("--force", *force, "Also remove its domains, accounts, aliases, groups and their data");
        on_run(sub, chosen, [name, force](context& ctx) {
            const std::string n = org_name_arg(*name);
            auto counts = ctx.transact([&](pqxx::work& tx) {
                auto o = auth::find_org(tx, n);
                if (!o) refuse("unknown organisation '" + n + "'");
                auto c = auth::count_org_objects(tx, o->id);
                if (!c.empty() && !*force)
                    refuse("organisation '" + n + "' still has " + describe(c, true) +
                           "; pass --force to remove it together with all of them");
                if (!auth::remove_org(tx, *o, ctx.who())) refuse("unknown organisation '" + n + "'");
                return c;
            });
            std::cout << "removed organisation " << n;
            if (!counts.empty()) std::cout << " with " << describe(counts, true);
            std::cout << '\n';
        });
    }
}

}  // namespace polder::admin
