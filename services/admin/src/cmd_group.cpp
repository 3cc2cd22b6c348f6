// cmd_group.cpp - polderctl group add|list|remove and group member
// add|remove|list: named sets of users of one organisation, optionally with a
// distribution address.
//
// A group is named by its name (unique per organisation, case-insensitive) or
// by its address. Without --org a name must be unambiguous across the
// installation; for member commands the member's organisation decides.
//
// SECURITY: members come from the group's own organisation only (checked here,
// enforced by the schema's composite foreign keys).
// STANDARDS: none.
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/names.hpp"

#include <iostream>

namespace polder::admin {
namespace {

auth::group_info resolve_group(pqxx::work& tx, const std::string& spec, const std::optional<auth::org_info>& org) {
    const std::string scope = org ? " in organisation '" + org->name + "'" : "";
    if (spec.find('@') != std::string::npos) {
        auth::address addr = parse_address_arg(spec);
        auto g = auth::find_group_by_address(tx, addr.str());
        if (!g || (org && g->org_id != org->id)) refuse("unknown group '" + addr.str() + "'" + scope);
        return std::move(*g);
    }
    auto name = auth::check_group_name(spec);
    if (!name) usage_error("bad group name: " + name.reason());
    if (org) {
        auto g = auth::find_group(tx, org->id, *name);
        if (!g) refuse("unknown group '" + *name + "'" + scope);
        return std::move(*g);
    }
    auto all = auth::find_groups_named(tx, *name);
    if (all.empty()) refuse("unknown group '" + *name + "'");
    if (all.size() > 1) {
        std::string orgs;
        for (const auto& g : all) orgs += (orgs.empty() ? "" : ", ") + g.org;
        refuse("group name '" + *name + "' exists in several organisations (" + orgs + "): pass --org");
    }
    return std::move(all.front());
}

void print_groups(const std::vector<auth::group_info>& groups, bool json) {
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& g : groups) out.push_back(to_json(g));
        print_json(out);
        return;
    }
    table t{{"GROUP", "ORG", "ADDRESS", "MEMBERS"}, {}};
    for (const auto& g : groups)
        t.rows.push_back({g.name, g.org, g.address.value_or("-"), std::to_string(g.members.size())});
    t.print(std::cout);
}

void member_command(CLI::App* member, action& chosen, bool add) {
    struct args_t {
        std::string group, address, org;
    };
    auto args = std::make_shared<args_t>();
    auto* sub = member->add_subcommand(add ? "add" : "remove", add ? "Add a user to a group" : "Remove a user from a group");
    sub->add_option("group", args->group, "Group name or address")->required();
    sub->add_option("address", args->address, "The user's address")->required();
    add_org_option(sub, args->org, "Organisation of the group and the user (default: the user's)");
    on_run(sub, chosen, [args, add](context& ctx) {
        auto done = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto member = account_in(tx, args->address, org);
            // Without --org the member's organisation decides which group is meant.
            std::optional<auth::org_info> group_org = org;
            if (!group_org) group_org = auth::find_org_by_id(tx, member.org_id).value();
            auto g = resolve_group(tx, args->group, group_org);
            if (add) {
                auto r = auth::add_group_member(tx, g, member, ctx.who());
                if (!r && is(r.error(), errc::already_exists))
                    refuse(member.address + " is already a member of group '" + g.name + "'");
                if (!r) refuse(member.address + " and group '" + g.name + "' are in different organisations");
            } else {
                auto r = auth::remove_group_member(tx, g, member, ctx.who());
                if (!r) refuse(member.address + " is not a member of group '" + g.name + "'");
            }
            return std::make_pair(g.name, member.address);
        });
        if (add)
            std::cout << "added " << done.second << " to group " << done.first << '\n';
        else
            std::cout << "removed " << done.second << " from group " << done.first << '\n';
    });
}

}  // namespace

void add_group_commands(CLI::App& app, action& chosen) {
    auto* group = app.add_subcommand("group", "Manage groups and their members");
    group->require_subcommand(1);

    {
        struct args_t {
            std::string name, org, address;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = group->add_subcommand("add", "Create a group in an organisation");
        sub->add_option("name", args->name, "Group name (unique in the organisation, ignoring case)")->required();
        add_org_option(sub, args->org, "Organisation of the group")->required();
        sub->add_option("--address", args->address, "Distribution address: mail to it reaches every member");
        on_run(sub, chosen, [args](context& ctx) {
            auto name = auth::check_group_name(args->name);
            if (!name) usage_error("bad group name: " + name.reason());
            std::optional<auth::address> addr;
            if (!args->address.empty()) addr = parse_address_arg(args->address);
            auto created = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                if (!org) usage_error("--org must name an organisation");
                std::optional<auth::domain_info> d;
                if (addr) {
                    d = domain_in(tx, addr->domain, org);
                    if (auto owner = auth::find_address(tx, addr->str()))
                        refuse("address '" + addr->str() + "' is already in use by " + describe_owner(owner->kind));
                }
                if (auth::find_group(tx, org->id, *name))
                    refuse("group '" + *name + "' already exists in organisation '" + org->name + "'");
                auto r = auth::add_group(tx, *org, *name, d ? &*d : nullptr, addr, ctx.who());
                if (!r) refuse("group '" + *name + "' already exists");
                return std::move(*r);
            });
            std::cout << "created group " << created.name << " in organisation " << created.org;
            if (created.address) std::cout << " with address " << *created.address;
            std::cout << '\n';
        });
    }
    {
        struct args_t {
            std::string org;
            bool json = false;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = group->add_subcommand("list", "List groups");
        add_org_option(sub, args->org, "Only groups of this organisation");
        sub->add_flag("--json", args->json, "Print JSON (with member addresses)");
        on_run(sub, chosen, [args](context& ctx) {
            auto groups = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                return auth::list_groups(tx, org ? std::optional<std::int64_t>(org->id) : std::nullopt);
            });
            print_groups(groups, args->json);
        });
    }
    {
        struct args_t {
            std::string group, org;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = group->add_subcommand("remove", "Remove a group (its members stay)");
        sub->add_option("group", args->group, "Group name or address")->required();
        add_org_option(sub, args->org, "Organisation of the group");
        on_run(sub, chosen, [args](context& ctx) {
            auto removed = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto g = resolve_group(tx, args->group, org);
                if (!auth::remove_group(tx, g, ctx.who())) refuse("unknown group '" + g.name + "'");
                return g;
            });
            std::cout << "removed group " << removed.name << " of organisation " << removed.org << '\n';
        });
    }

    auto* member = group->add_subcommand("member", "Manage the members of a group");
    member->require_subcommand(1);
    member_command(member, chosen, true);
    member_command(member, chosen, false);
    {
        struct args_t {
            std::string group, org;
            bool json = false;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = member->add_subcommand("list", "List the members of a group");
        sub->add_option("group", args->group, "Group name or address")->required();
        add_org_option(sub, args->org, "Organisation of the group");
        sub->add_flag("--json", args->json, "Print JSON");
        on_run(sub, chosen, [args](context& ctx) {
            auto g = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                return resolve_group(tx, args->group, org);
            });
            if (args->json) {
                print_json(g.members);
                return;
            }
            table t{{"MEMBER"}, {}};
            for (const auto& m : g.members) t.rows.push_back({m});
            t.print(std::cout);
        });
    }
}

}  // namespace polder::admin
