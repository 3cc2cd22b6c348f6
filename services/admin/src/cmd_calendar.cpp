// cmd_calendar.cpp - polderctl calendar list|share|unshare: a user's calendars and
// address books as polder-caldavd stores them (schema cal), with their number of entries,
// change counter and shares, for support questions ("my appointments are gone") without
// reading anyone's appointments; and sharing a calendar or address book with a user or a
// group of the same organisation, read-only or read-write (schema/0201_cal_sharing.sql;
// the sharee sees it in its own home as .../shared-<id>/).
//
// SECURITY: list prints names and counts, never calendar or contact content; accounts are
// resolved like every other command (optionally restricted to --org); a sharee (user or
// group) is looked up in the owner's organisation only - a user of another organisation
// is "unknown" - and the schema's composite keys and trigger refuse anything else.
// STANDARDS: none (operator tooling over RFC 4791 / RFC 6352 collections).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/names.hpp"

#include <iostream>

namespace polder::admin {
namespace {

struct calendar_sharee {
    std::optional<std::int64_t> account_id, group_id;
    std::string text;
};

// sharee_of - --with USER (an address of the owner's organisation) or --group GROUP (a
// group name or address of it).
calendar_sharee sharee_of(pqxx::work& tx, const std::string& with, const std::string& group, std::int64_t org_id) {
    if (!with.empty()) {
        auto a = auth::find_account(tx, parse_address_arg(with).str());
        if (!a || a->org_id != org_id) refuse("unknown user '" + with + "' in the owner's organisation");
        return {a->id, std::nullopt, a->address};
    }
    std::optional<auth::group_info> g;
    if (group.find('@') != std::string::npos) {
        if (auto r = auth::find_group_by_address(tx, parse_address_arg(group).str())) g = std::move(*r);
    } else {
        auto name = auth::check_group_name(group);
        if (!name) usage_error("bad group name: " + name.reason());
        if (auto r = auth::find_group(tx, org_id, *name)) g = std::move(*r);
    }
    if (!g || g->org_id != org_id) refuse("unknown group '" + group + "' in the owner's organisation");
    return {std::nullopt, g->id, "group " + g->name};
}

struct owned_collection {
    std::int64_t id = 0;
    std::string kind;
};

// collection_of - the owner's calendar or address book named `name` (--kind decides
// when both exist).
owned_collection collection_of(pqxx::work& tx, std::int64_t account_id, const std::string& name, const std::string& kind) {
    auto rows = tx.exec_params("SELECT id, kind FROM cal.collections WHERE account_id = $1 AND name = $2 "
                               "AND ($3 = '' OR kind = $3) ORDER BY kind",
                               account_id, name, kind);
    if (rows.empty()) refuse("no " + (kind.empty() ? std::string("calendar or address book") : kind) + " named '" + name + "'");
    if (rows.size() > 1) refuse("both a calendar and an address book are named '" + name + "': pass --kind");
    return {rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>()};
}

}  // namespace

void add_calendar_commands(CLI::App& app, action& chosen) {
    auto* calendar = app.add_subcommand("calendar", "Calendars and address books (CalDAV/CardDAV): list and share");
    calendar->require_subcommand(1);
    struct args_t {
        std::string address, org, name, with, group, kind;
        bool json = false, read = false, read_write = false;
    };
    auto args = std::make_shared<args_t>();
    auto* list = calendar->add_subcommand("list", "List a user's calendars, task lists and address books, with their shares");
    list->add_option("address", args->address, "The user's address")->required();
    add_org_option(list, args->org, "Refuse unless the user belongs to this organisation");
    list->add_flag("--json", args->json, "JSON output");
    on_run(list, chosen, [args](context& ctx) {
        const auth::address addr = parse_address_arg(args->address);
        struct row {
            std::string kind, name, displayname, components, owner;
            std::int64_t entries = 0, modseq = 0;
            std::vector<std::pair<std::string, bool>> shares;   // sharee, writable
            bool writable = true;
        };
        auto rows = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto a = account_in(tx, addr.str(), org);
            std::vector<row> out;
            for (const auto& r : tx.exec_params(
                     "SELECT c.id, c.kind, c.name, c.displayname, array_to_string(c.components, ','), "
                     "(SELECT count(*) FROM cal.objects o WHERE o.collection_id = c.id), c.modseq "
                     "FROM cal.collections c WHERE c.account_id = $1 ORDER BY c.kind, c.name",
                     a.id)) {
                row x{r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>(),
                      a.address, r[5].as<std::int64_t>(), r[6].as<std::int64_t>(), {}, true};
                for (const auto& s : tx.exec_params(
                         "SELECT CASE WHEN s.account_id IS NOT NULL THEN a.address ELSE 'group ' || g.name END, s.writable "
                         "FROM cal.shares s LEFT JOIN directory.accounts a ON a.id = s.account_id "
                         "LEFT JOIN directory.groups g ON g.id = s.group_id WHERE s.collection_id = $1 ORDER BY 1",
                         r[0].as<std::int64_t>()))
                    x.shares.emplace_back(s[0].as<std::string>(), s[1].as<bool>());
                out.push_back(std::move(x));
            }
            // Collections of others shared with this user (directly or through a group).
            for (const auto& r : tx.exec_params(
                     "SELECT c.id, c.kind, c.displayname, array_to_string(c.components, ','), "
                     "(SELECT count(*) FROM cal.objects o WHERE o.collection_id = c.id), c.modseq, o.address, "
                     "bool_or(s.writable) FROM cal.shares s JOIN cal.collections c ON c.id = s.collection_id "
                     "JOIN directory.accounts o ON o.id = c.account_id "
                     "WHERE s.org_id = $2 AND c.account_id <> $1 AND (s.account_id = $1 OR s.group_id IN "
                     "(SELECT group_id FROM directory.group_members WHERE account_id = $1)) "
                     "GROUP BY c.id, o.address ORDER BY c.kind, c.id",
                     a.id, a.org_id)) {
                row x{r[1].as<std::string>(), "shared-" + r[0].as<std::string>(), r[2].as<std::string>(),
                      r[3].as<std::string>(), r[6].as<std::string>(), r[4].as<std::int64_t>(), r[5].as<std::int64_t>(),
                      {}, r[7].as<bool>()};
                out.push_back(std::move(x));
            }
            return out;
        });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : rows) {
                nlohmann::json shares = nlohmann::json::array();
                for (const auto& [who, w] : r.shares) shares.push_back({{"with", who}, {"access", w ? "read-write" : "read"}});
                out.push_back({{"kind", r.kind}, {"name", r.name}, {"displayname", r.displayname},
                               {"components", r.components}, {"entries", r.entries}, {"modseq", r.modseq},
                               {"owner", r.owner}, {"access", r.writable ? "read-write" : "read"}, {"shares", shares}});
            }
            print_json(out);
            return;
        }
        table t{{"KIND", "NAME", "DISPLAY NAME", "COMPONENTS", "ENTRIES", "MODSEQ", "OWNER", "SHARED WITH"}, {}};
        for (const auto& r : rows) {
            std::string shares;
            for (const auto& [who, w] : r.shares) shares += (shares.empty() ? "" : ", ") + who + (w ? " (rw)" : " (ro)");
            const bool own = r.owner == addr.str();
            t.rows.push_back({r.kind, r.name, r.displayname, r.components.empty() ? "-" : r.components,
                              std::to_string(r.entries), std::to_string(r.modseq),
                              own ? "-" : r.owner + (r.writable ? " (rw)" : " (ro)"), shares.empty() ? "-" : shares});
        }
        t.print(std::cout);
    });

    auto* share = calendar->add_subcommand("share", "Share a calendar or address book with a user or a group");
    share->add_option("address", args->address, "The owner's address")->required();
    share->add_option("name", args->name, "The calendar's or address book's name (its URL segment, e.g. agenda)")->required();
    auto* with = share->add_option("--with", args->with, "A user of the owner's organisation");
    auto* grp = share->add_option("--group", args->group, "A group (name or address) of the owner's organisation");
    with->excludes(grp);
    auto* ro = share->add_flag("--read", args->read, "Read-only");
    auto* rw = share->add_flag("--read-write", args->read_write, "Read and write");
    ro->excludes(rw);
    share->add_option("--kind", args->kind, "calendar or addressbook (when both have that name)")
        ->check(CLI::IsMember({"calendar", "addressbook"}));
    add_org_option(share, args->org, "Refuse unless the owner belongs to this organisation");
    on_run(share, chosen, [args](context& ctx) {
        if (args->with.empty() == args->group.empty()) usage_error("pass exactly one of --with USER and --group GROUP");
        if (!args->read && !args->read_write) usage_error("pass --read or --read-write");
        const auth::address addr = parse_address_arg(args->address);
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto owner = account_in(tx, addr.str(), org);
            auto coll = collection_of(tx, owner.id, args->name, args->kind);
            auto who = sharee_of(tx, args->with, args->group, owner.org_id);
            if (who.account_id && *who.account_id == owner.id) refuse("a collection cannot be shared with its owner");
            auto updated = tx.exec_params(
                "UPDATE cal.shares SET writable = $4 WHERE collection_id = $1 AND account_id IS NOT DISTINCT FROM $2 "
                "AND group_id IS NOT DISTINCT FROM $3 RETURNING id",
                coll.id, who.account_id, who.group_id, args->read_write);
            if (updated.empty())
                tx.exec_params("INSERT INTO cal.shares (org_id, collection_id, account_id, group_id, writable) "
                               "VALUES ($1, $2, $3, $4, $5)",
                               owner.org_id, coll.id, who.account_id, who.group_id, args->read_write);
            // The change counter tells sharees' clients (getctag / sync-token) to look again.
            tx.exec_params("UPDATE cal.collections SET modseq = modseq + 1 WHERE id = $1", coll.id);
            const std::string where = coll.kind == "calendar" ? "/dav/calendars/" : "/dav/addressbooks/";
            return "shared " + coll.kind + " '" + args->name + "' of " + owner.address + " with " + who.text +
                   (args->read_write ? " (read-write)" : " (read-only)") + ": " + where +
                   (who.account_id ? who.text : std::string("<member>")) + "/shared-" + std::to_string(coll.id) + "/";
        });
        std::cout << text << '\n';
    });

    auto* unshare = calendar->add_subcommand("unshare", "Stop sharing a calendar or address book with a user or a group");
    unshare->add_option("address", args->address, "The owner's address")->required();
    unshare->add_option("name", args->name, "The calendar's or address book's name")->required();
    auto* with2 = unshare->add_option("--with", args->with, "The user");
    auto* grp2 = unshare->add_option("--group", args->group, "The group (name or address)");
    with2->excludes(grp2);
    unshare->add_option("--kind", args->kind, "calendar or addressbook (when both have that name)")
        ->check(CLI::IsMember({"calendar", "addressbook"}));
    add_org_option(unshare, args->org, "Refuse unless the owner belongs to this organisation");
    on_run(unshare, chosen, [args](context& ctx) {
        if (args->with.empty() == args->group.empty()) usage_error("pass exactly one of --with USER and --group GROUP");
        const auth::address addr = parse_address_arg(args->address);
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto owner = account_in(tx, addr.str(), org);
            auto coll = collection_of(tx, owner.id, args->name, args->kind);
            auto who = sharee_of(tx, args->with, args->group, owner.org_id);
            auto rows = tx.exec_params("DELETE FROM cal.shares WHERE collection_id = $1 AND account_id IS NOT DISTINCT FROM $2 "
                                       "AND group_id IS NOT DISTINCT FROM $3 RETURNING id",
                                       coll.id, who.account_id, who.group_id);
            if (rows.empty()) refuse(coll.kind + " '" + args->name + "' of " + owner.address + " is not shared with " + who.text);
            tx.exec_params("UPDATE cal.collections SET modseq = modseq + 1 WHERE id = $1", coll.id);
            return "unshared " + coll.kind + " '" + args->name + "' of " + owner.address + " from " + who.text;
        });
        std::cout << text << '\n';
    });
}

}  // namespace polder::admin
