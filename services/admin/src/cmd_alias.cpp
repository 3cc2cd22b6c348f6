// cmd_alias.cpp - polderctl alias add|list|remove: extra addresses that deliver
// to one user of the same organisation.
//
// SECURITY: an alias and its target must be in the same organisation (checked
// here for a clear message, enforced by the schema's composite foreign key); an
// address is unique across users, aliases and groups of the installation.
// STANDARDS: RFC 5321 addresses.
#include "commands.hpp"
#include "output.hpp"

#include <iostream>

namespace polder::admin {

void add_alias_commands(CLI::App& app, action& chosen) {
    auto* alias = app.add_subcommand("alias", "Manage aliases (extra addresses of a user)");
    alias->require_subcommand(1);

    {
        struct args_t {
            std::string alias, target, org;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = alias->add_subcommand("add", "Add an alias that delivers to a user");
        sub->add_option("alias", args->alias, "The alias address")->required();
        sub->add_option("target", args->target, "The user it delivers to")->required();
        add_org_option(sub, args->org, "Refuse unless both belong to this organisation");
        on_run(sub, chosen, [args](context& ctx) {
            const auth::address addr = parse_address_arg(args->alias);
            parse_address_arg(args->target);
            auto created = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto target = account_in(tx, args->target, org);
                auto d = auth::find_domain(tx, addr.domain);
                if (!d || (org && d->org_id != org->id))
                    refuse("unknown domain '" + addr.domain + "'" +
                           (org ? " in organisation '" + org->name + "'" : std::string()));
                if (d->org_id != target.org_id)
                    refuse("the alias's domain " + d->name + " belongs to organisation '" + d->org + "' but " +
                           target.address + " belongs to '" + target.org + "'");
                if (auto owner = auth::find_address(tx, addr.str()))
                    refuse("address '" + addr.str() + "' is already in use by " + describe_owner(owner->kind));
                auto r = auth::add_alias(tx, *d, addr, target, ctx.who());
                if (!r) refuse("address '" + addr.str() + "' is already in use");
                return std::move(*r);
            });
            std::cout << "added alias " << created.address << " -> " << created.target << '\n';
        });
    }
    {
        struct args_t {
            std::string org, target;
            bool json = false;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = alias->add_subcommand("list", "List aliases");
        add_org_option(sub, args->org, "Only aliases of this organisation");
        sub->add_option("--target", args->target, "Only aliases of this user");
        sub->add_flag("--json", args->json, "Print JSON");
        on_run(sub, chosen, [args](context& ctx) {
            auto aliases = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                std::optional<std::int64_t> target;
                if (!args->target.empty()) target = account_in(tx, args->target, org).id;
                return auth::list_aliases(tx, org ? std::optional<std::int64_t>(org->id) : std::nullopt, target);
            });
            if (args->json) {
                nlohmann::json out = nlohmann::json::array();
                for (const auto& a : aliases) out.push_back(to_json(a));
                print_json(out);
                return;
            }
            table t{{"ALIAS", "ORG", "TARGET", "CREATED"}, {}};
            for (const auto& a : aliases) t.rows.push_back({a.address, a.org, a.target, a.created_at});
            t.print(std::cout);
        });
    }
    {
        struct args_t {
            std::string alias, org;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = alias->add_subcommand("remove", "Remove an alias");
        sub->add_option("alias", args->alias, "The alias address")->required();
        add_org_option(sub, args->org, "Refuse unless the alias belongs to this organisation");
        on_run(sub, chosen, [args](context& ctx) {
            const auth::address addr = parse_address_arg(args->alias);
            auto removed = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto a = auth::find_alias(tx, addr.str());
                if (!a || (org && a->org_id != org->id))
                    refuse("unknown alias '" + addr.str() + "'" +
                           (org ? " in organisation '" + org->name + "'" : std::string()));
                if (!auth::remove_alias(tx, *a, ctx.who())) refuse("unknown alias '" + addr.str() + "'");
                return std::move(*a);
            });
            std::cout << "removed alias " << removed.address << " -> " << removed.target << '\n';
        });
    }
}

}  // namespace polder::admin
