// cmd_resource.cpp - polderctl resource add|list|remove: bookable rooms and equipment.
// A resource is an account of kind "resource" (no password, cannot log in) with a row in
// cal.resources (schema/0202_cal_scheduling.sql); polder-caldavd shows it as a principal
// of calendar-user-type ROOM or RESOURCE, finds it by principal-property-search, and -
// with --auto-accept, the default - answers invitations itself: ACCEPTED when its
// calendar is free for every instance, DECLINED when busy. With --manual invitations
// stay NEEDS-ACTION in its calendar.
//
// SECURITY: the address must be in a domain of the organisation (--org narrows it, like
// user add); the account has no password hash, so nobody logs in as a room; removal
// deletes the account and (cascading) its calendar. Every change is one transaction
// with the directory's audit event.
// STANDARDS: RFC 6638 2.4.2 (calendar-user-type), RFC 5545 3.2.3 (CUTYPE ROOM/RESOURCE).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/names.hpp"

#include <iostream>

namespace polder::admin {

void add_resource_commands(CLI::App& app, action& chosen) {
    auto* resource = app.add_subcommand("resource", "Bookable rooms and equipment (CalDAV scheduling)");
    resource->require_subcommand(1);
    struct args_t {
        std::string address, name, kind = "room", org;
        bool auto_accept = false, manual = false, json = false;
        int capacity = 0;
    };
    auto args = std::make_shared<args_t>();

    auto* add = resource->add_subcommand("add", "Create a room or a piece of equipment that can be invited");
    add->add_option("address", args->address, "The resource's address, e.g. room-3.14@example.org")->required();
    add->add_option("--name", args->name, "Display name, e.g. \"Room 3.14 (12 seats)\"")->required();
    add->add_option("--kind", args->kind, "room or equipment (default: room)")->check(CLI::IsMember({"room", "equipment"}));
    auto* aa = add->add_flag("--auto-accept", args->auto_accept, "Accept invitations when free, decline when busy (default)");
    auto* man = add->add_flag("--manual", args->manual, "Leave invitations unanswered (NEEDS-ACTION)");
    aa->excludes(man);
    add->add_option("--capacity", args->capacity, "Number of seats")->check(CLI::Range(1, 100000));
    add_org_option(add, args->org, "Refuse unless the address's domain belongs to this organisation");
    add->add_flag("--json", args->json, "JSON output");
    on_run(add, chosen, [args](context& ctx) {
        const auth::address addr = parse_address_arg(args->address);
        auto name = auth::check_display_name(args->name);
        if (!name) usage_error("bad display name: " + name.reason());
        auto created = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto d = auth::find_domain(tx, addr.domain);
            if (!d || (org && d->org_id != org->id)) refuse("unknown domain '" + addr.domain + "'" +
                                                          (org ? " in organisation '" + org->name + "'" : std::string()));
            if (auto owner = auth::find_address(tx, addr.str()))
                refuse("address '" + addr.str() + "' is already in use by " + describe_owner(owner->kind));
            auth::new_account n{addr, *name, std::nullopt, std::nullopt, "resource"};
            auto a = auth::add_account(tx, *d, n, ctx.who());
            if (!a) refuse("address '" + addr.str() + "' already exists");
            tx.exec_params("INSERT INTO cal.resources (account_id, org_id, kind, auto_accept, capacity) "
                           "VALUES ($1, $2, $3, $4, $5)",
                           a->id, a->org_id, args->kind, !args->manual,
                           args->capacity > 0 ? std::optional<int>(args->capacity) : std::nullopt);
            return std::move(*a);
        });
        if (args->json) {
            print_json({{"address", created.address}, {"name", *name}, {"kind", args->kind},
                        {"auto_accept", !args->manual}, {"org", created.org},
                        {"capacity", args->capacity > 0 ? nlohmann::json(args->capacity) : nlohmann::json(nullptr)}});
            return;
        }
        std::cout << "created " << args->kind << ' ' << created.address << " (" << *name << ") in organisation "
                  << created.org << (args->manual ? ", invitations answered by hand" : ", auto-accepts when free") << '\n';
    });

    auto* list = resource->add_subcommand("list", "List rooms and equipment");
    add_org_option(list, args->org, "Only this organisation");
    list->add_flag("--json", args->json, "JSON output");
    on_run(list, chosen, [args](context& ctx) {
        auto rows = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            std::vector<std::vector<std::string>> out;
            for (const auto& r : tx.exec_params(
                     "SELECT a.address, a.display_name, r.kind, r.auto_accept::text, coalesce(r.capacity::text, ''), o.name "
                     "FROM cal.resources r JOIN directory.accounts a ON a.id = r.account_id "
                     "JOIN directory.orgs o ON o.id = r.org_id WHERE ($1::bigint IS NULL OR r.org_id = $1) "
                     "ORDER BY o.name, a.address",
                     org ? std::optional(org->id) : std::nullopt)) {
                std::vector<std::string> row;
                for (const auto& f : r) row.push_back(f.as<std::string>());
                out.push_back(std::move(row));
            }
            return out;
        });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : rows)
                out.push_back({{"address", r[0]}, {"name", r[1]}, {"kind", r[2]}, {"auto_accept", r[3] == "true"},
                               {"capacity", r[4].empty() ? nlohmann::json(nullptr) : nlohmann::json(std::stoi(r[4]))},
                               {"org", r[5]}});
            print_json(out);
            return;
        }
        table t{{"ADDRESS", "NAME", "KIND", "ANSWERS", "CAPACITY", "ORGANISATION"}, {}};
        for (const auto& r : rows)
            t.rows.push_back({r[0], r[1], r[2], r[3] == "true" ? "auto" : "manual", r[4].empty() ? "-" : r[4], r[5]});
        t.print(std::cout);
    });

    auto* remove = resource->add_subcommand("remove", "Remove a room or piece of equipment and its calendar");
    remove->add_option("address", args->address, "The resource's address")->required();
    add_org_option(remove, args->org, "Refuse unless the resource belongs to this organisation");
    on_run(remove, chosen, [args](context& ctx) {
        const auth::address addr = parse_address_arg(args->address);
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto a = account_in(tx, addr.str(), org);
            auto r = tx.exec_params("SELECT 1 FROM cal.resources WHERE account_id = $1", a.id);
            if (r.empty()) refuse("'" + a.address + "' is not a room or equipment");
            if (!auth::remove_account(tx, a, ctx.who())) refuse("unknown resource '" + a.address + "'");
            return "removed " + a.address;
        });
        std::cout << text << '\n';
    });
}

}  // namespace polder::admin
