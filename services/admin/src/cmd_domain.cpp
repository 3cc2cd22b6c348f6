// cmd_domain.cpp - polderctl domain add|list|remove: mail domains of an
// organisation.
//
// SECURITY: a domain belongs to exactly one organisation (unique across the
// installation); removing one that still has accounts, aliases or groups needs
// --force. Internationalised names are stored as A-labels.
// STANDARDS: RFC 5890/5891 (IDNA2008), RFC 1035.
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/names.hpp"

#include <iostream>

namespace polder::admin {
namespace {

std::string domain_arg(const std::string& text) {
    auto d = auth::normalize_domain(auth::trim(text));
    if (!d) usage_error("malformed domain '" + text + "': " + d.reason());
    return std::move(d).value();
}

}  // namespace

void add_domain_commands(CLI::App& app, action& chosen) {
    auto* domain = app.add_subcommand("domain", "Manage the mail domains of organisations");
    domain->require_subcommand(1);

    {
        auto* sub = domain->add_subcommand("add", "Add a mail domain to an organisation");
        auto name = std::make_shared<std::string>();
        auto org = std::make_shared<std::string>();
        sub->add_option("domain", *name, "Domain name (IDN allowed; stored as A-labels, e.g. xn--bcher-kva.example)")
            ->required();
        add_org_option(sub, *org, "Organisation that owns the domain")->required();
        on_run(sub, chosen, [name, org](context& ctx) {
            const std::string d = domain_arg(*name);
            auto o = ctx.transact([&](pqxx::work& tx) {
                auto owner = org_filter(tx, *org);
                if (!owner) usage_error("--org must name an organisation");
                if (auto existing = auth::find_domain(tx, d))
                    refuse("domain '" + d + "' already exists (organisation '" + existing->org + "')");
                if (!auth::add_domain(tx, *owner, d, ctx.who())) refuse("domain '" + d + "' already exists");
                return *owner;
            });
            std::cout << "added domain " << d << " to organisation " << o.name << '\n';
        });
    }
    {
        auto* sub = domain->add_subcommand("list", "List domains");
        auto json = std::make_shared<bool>(false);
        auto org = std::make_shared<std::string>();
        sub->add_flag("--json", *json, "Print JSON");
        add_org_option(sub, *org, "Only domains of this organisation");
        on_run(sub, chosen, [json, org](context& ctx) {
            auto domains = ctx.transact([&](pqxx::work& tx) {
                auto filter = org_filter(tx, *org);
                return auth::list_domains(tx, filter ? std::optional<std::int64_t>(filter->id) : std::nullopt);
            });
            if (*json) {
                nlohmann::json out = nlohmann::json::array();
                for (const auto& d : domains) out.push_back(to_json(d));
                print_json(out);
                return;
            }
            table t{{"DOMAIN", "ORG", "ACCOUNTS", "CREATED"}, {}};
            for (const auto& d : domains) t.rows.push_back({d.name, d.org, std::to_string(d.accounts), d.created_at});
            t.print(std::cout);
        });
    }
    {
        auto* sub = domain->add_subcommand("remove", "Remove a domain (with --force: and its accounts, aliases, groups)");
        auto name = std::make_shared<std::string>();
        auto org = std::make_shared<std::string>();
        auto force = std::make_shared<bool>(false);
        sub->add_option("domain", *name, "Domain name")->required();
        add_org_option(sub, *org, "Refuse unless the domain belongs to this organisation");
        sub->add_flag("--force", *force, "Also remove the accounts, aliases and groups in this domain");
        on_run(sub, chosen, [name, org, force](context& ctx) {
            auto counts = ctx.transact([&](pqxx::work& tx) {
                auto filter = org_filter(tx, *org);
                auto d = domain_in(tx, *name, filter);
                auto c = auth::count_domain_objects(tx, d.id);
                if (!c.empty() && !*force)
                    refuse("domain '" + d.name + "' still has " + describe_counts(c, false) +
                           "; pass --force to remove it together with all of them");
                if (!auth::remove_domain(tx, d, ctx.who())) refuse("unknown domain '" + d.name + "'");
                return std::make_pair(d.name, c);
            });
            std::cout << "removed domain " << counts.first;
            if (!counts.second.empty()) std::cout << " with " << describe_counts(counts.second, false);
            std::cout << '\n';
        });
    }
}

}  // namespace polder::admin
