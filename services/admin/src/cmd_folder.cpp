// cmd_folder.cpp - polderctl folder add|remove|list|share|unshare: team folders
// (a file tree owned by a group; every member reads and writes it at
// /dav/teams/<name>/) and shares of a folder of a personal home with a user or
// a group of the same organisation, read-only or read-write (the sharee sees
// it at /dav/shared/<owner>/<share name>/). See docs/files.md.
//
// SECURITY: sharees and groups are looked up in the owner's (or the named)
// organisation only, and the schema's composite keys refuse anything else;
// names follow polder-webdavd's file-name rules (webdav::valid_name, NFC), so
// a name polderctl accepts is one every client can store. Removing a team
// folder deletes its files: it needs --yes.
// STANDARDS: none (Polder's sharing model; RFC 4918 has none).
#include "commands.hpp"
#include "output.hpp"

#include "paths.hpp"   // polder-webdavd's name rules (services/webdav/src)

#include "polder/auth/names.hpp"
#include "polder/auth/size.hpp"

#include <iostream>

namespace polder::admin {
namespace {

// folder_path - "/Projects/2026/" -> "Projects/2026", each segment checked and NFC.
std::string folder_path(const std::string& text) {
    std::string message;
    auto p = webdav::tree_path(text, message);
    if (!p) usage_error(message);
    return *p;
}

std::string folder_name(const std::string& text) {
    std::string reason;
    if (!webdav::valid_name(text, reason)) usage_error("bad folder name '" + text + "': " + reason);
    auto n = webdav::nfc(text);
    if (!n) usage_error("bad folder name '" + text + "': not valid UTF-8");
    return *n;
}

auth::group_info group_in(pqxx::work& tx, const std::string& spec, std::int64_t org_id) {
    if (spec.find('@') != std::string::npos) {
        auto g = auth::find_group_by_address(tx, parse_address_arg(spec).str());
        if (!g || g->org_id != org_id) refuse("unknown group '" + spec + "' in this organisation");
        return std::move(*g);
    }
    auto name = auth::check_group_name(spec);
    if (!name) usage_error("bad group name: " + name.reason());
    auto g = auth::find_group(tx, org_id, *name);
    if (!g) refuse("unknown group '" + *name + "' in this organisation");
    return std::move(*g);
}

// The owner's home, created with its root like polder-webdavd does on first use.
std::int64_t home_of(pqxx::work& tx, const auth::account_info& owner) {
    auto inserted = tx.exec_params(
        "INSERT INTO files.homes (org_id, account_id) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING RETURNING id",
        owner.org_id, owner.id);
    if (!inserted.empty()) {
        tx.exec_params("INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
                       "VALUES ($1, NULL, '', '', true, '', 1)",
                       inserted[0][0].as<std::int64_t>());
        return inserted[0][0].as<std::int64_t>();
    }
    return tx.exec_params1("SELECT id FROM files.homes WHERE account_id = $1", owner.id)[0].as<std::int64_t>();
}

struct sharee {
    std::optional<std::int64_t> account_id;
    std::optional<std::int64_t> group_id;
    std::string text;
};

// sharee_in - a user's address, else a group (name or address) of org_id.
sharee sharee_in(pqxx::work& tx, const std::string& spec, std::int64_t org_id) {
    if (spec.find('@') != std::string::npos) {
        auto a = auth::find_account(tx, parse_address_arg(spec).str());
        if (a && a->org_id == org_id) return {a->id, std::nullopt, a->address};
    }
    auto g = group_in(tx, spec, org_id);
    return {std::nullopt, g.id, "group " + g.name};
}

}  // namespace

void add_folder_commands(CLI::App& app, action& chosen) {
    auto* folder = app.add_subcommand("folder", "Team folders and shared folders (polder-webdavd)");
    folder->require_subcommand(1);
    struct args_t {
        std::string name, group, org, path, owner, with, as, quota;
        bool read = false, write = false, yes = false, json = false;
    };
    auto args = std::make_shared<args_t>();

    auto* add = folder->add_subcommand("add", "Create a team folder that every member of a group reads and writes");
    add->add_option("name", args->name, "The team folder's name (its URL is /dav/teams/<name>/)")->required();
    add->add_option("--group", args->group, "The owning group (name or address)")->required();
    add_org_option(add, args->org, "Organisation of the group (needed when the group name is ambiguous)");
    add->add_option("--quota", args->quota, "Size limit, e.g. 100G (default: unlimited)");
    on_run(add, chosen, [args](context& ctx) {
        const std::string name = folder_name(args->name);
        std::optional<std::int64_t> quota;
        if (!args->quota.empty()) {
            auto q = auth::parse_quota(args->quota);
            if (!q) usage_error("bad quota: " + q.reason());
            if (*q) quota = static_cast<std::int64_t>(**q);
        }
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            std::optional<auth::group_info> g;
            if (org) {
                g = group_in(tx, args->group, org->id);
            } else {
                auto all = auth::find_groups_named(tx, args->group);
                if (args->group.find('@') != std::string::npos) {
                    auto by_address = auth::find_group_by_address(tx, parse_address_arg(args->group).str());
                    if (by_address) all = {*by_address};
                }
                if (all.empty()) refuse("unknown group '" + args->group + "'");
                if (all.size() > 1) refuse("group name '" + args->group + "' exists in several organisations: pass --org");
                g = all.front();
            }
            auto exists = tx.exec_params("SELECT 1 FROM files.homes WHERE org_id = $1 AND group_id IS NOT NULL AND "
                                         "lower(name) = lower($2)",
                                         g->org_id, name);
            if (!exists.empty()) refuse("a team folder named '" + name + "' already exists in organisation '" + g->org + "'");
            auto id = tx.exec_params1("INSERT INTO files.homes (org_id, group_id, name, quota_bytes) VALUES ($1, $2, $3, $4) "
                                      "RETURNING id",
                                      g->org_id, g->id, name, quota)[0]
                          .as<std::int64_t>();
            tx.exec_params("INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
                           "VALUES ($1, NULL, '', '', true, '', 1)",
                           id);
            return "created team folder '" + name + "' for group '" + g->name + "' (" + g->org + "): /dav/teams/" + name + "/";
        });
        std::cout << text << '\n';
    });

    auto* remove = folder->add_subcommand("remove", "Delete a team folder and every file in it");
    remove->add_option("name", args->name, "The team folder's name")->required();
    add_org_option(remove, args->org, "Organisation of the team folder (needed when the name is ambiguous)");
    remove->add_flag("--yes", args->yes, "Really delete the files (they do not go to a trash)");
    on_run(remove, chosen, [args](context& ctx) {
        if (!args->yes) usage_error("removing a team folder deletes its files; add --yes to confirm");
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto rows = tx.exec_params("DELETE FROM files.homes WHERE group_id IS NOT NULL AND lower(name) = lower($1) "
                                       "AND ($2::bigint IS NULL OR org_id = $2) RETURNING id",
                                       args->name, org ? std::optional(org->id) : std::nullopt);
            if (rows.empty()) refuse("unknown team folder '" + args->name + "'");
            if (rows.size() > 1) refuse("team folder '" + args->name + "' exists in several organisations: pass --org");
            return "removed team folder '" + args->name + "'";
        });
        std::cout << text << '\n';
    });

    auto* share = folder->add_subcommand("share", "Share a folder of a user's home with a user or a group");
    share->add_option("path", args->path, "The folder, relative to the owner's home, e.g. Projects/2026")->required();
    share->add_option("--owner", args->owner, "The owner's address")->required();
    share->add_option("--with", args->with, "A user's address, or a group name or address, of the owner's organisation")
        ->required();
    auto* ro = share->add_flag("--read", args->read, "Read-only");
    auto* rw = share->add_flag("--write", args->write, "Read and write");
    ro->excludes(rw);
    share->add_option("--as", args->as, "The name sharees see (default: the folder's name)");
    add_org_option(share, args->org, "Refuse unless the owner belongs to this organisation");
    on_run(share, chosen, [args](context& ctx) {
        if (args->read == args->write) usage_error("say --read or --write");
        const std::string path = folder_path(args->path);
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->owner, org_filter(tx, args->org));
            const std::string name = folder_name(!args->as.empty() ? args->as
                                                 : path.empty()    ? owner.address
                                                                   : webdav::name_of(path));
            const std::int64_t home = home_of(tx, owner);
            auto node = tx.exec_params("SELECT id, is_collection FROM files.nodes WHERE home_id = $1 AND path = $2", home, path);
            if (node.empty()) refuse("no folder '" + path + "' in the home of " + owner.address);
            if (!node[0][1].as<bool>()) refuse("'" + path + "' is a file; only folders can be shared");
            const auto node_id = node[0][0].as<std::int64_t>();
            auto who = sharee_in(tx, args->with, owner.org_id);
            if (who.account_id == owner.id) refuse("a folder cannot be shared with its owner");
            // One name per shared folder of an owner, so /dav/shared/<owner>/<name>/ is unambiguous.
            auto clash = tx.exec_params("SELECT 1 FROM files.shares WHERE home_id = $1 AND name = $2 AND node_id <> $3", home,
                                        name, node_id);
            if (!clash.empty())
                refuse("another folder of " + owner.address + " is already shared as '" + name + "'; choose a name with --as");
            tx.exec_params("DELETE FROM files.shares WHERE node_id = $1 AND account_id IS NOT DISTINCT FROM $2 AND "
                           "group_id IS NOT DISTINCT FROM $3",
                           node_id, who.account_id, who.group_id);
            tx.exec_params("UPDATE files.shares SET name = $2 WHERE node_id = $1", node_id, name);
            tx.exec_params("INSERT INTO files.shares (org_id, home_id, node_id, name, account_id, group_id, writable) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                           owner.org_id, home, node_id, name, who.account_id, who.group_id, args->write);
            return "shared '" + (path.empty() ? std::string("/") : path) + "' of " + owner.address + " with " + who.text +
                   (args->write ? " (read-write)" : " (read-only)") + ": /dav/shared/" + owner.address + "/" + name + "/";
        });
        std::cout << text << '\n';
    });

    auto* unshare = folder->add_subcommand("unshare", "Stop sharing a folder with a user or a group");
    unshare->add_option("path", args->path, "The folder, relative to the owner's home")->required();
    unshare->add_option("--owner", args->owner, "The owner's address")->required();
    unshare->add_option("--with", args->with, "The user's address or the group")->required();
    add_org_option(unshare, args->org, "Refuse unless the owner belongs to this organisation");
    on_run(unshare, chosen, [args](context& ctx) {
        const std::string path = folder_path(args->path);
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->owner, org_filter(tx, args->org));
            auto who = sharee_in(tx, args->with, owner.org_id);
            auto rows = tx.exec_params(
                "DELETE FROM files.shares s USING files.nodes n, files.homes h WHERE n.id = s.node_id AND h.id = s.home_id "
                "AND h.account_id = $1 AND n.path = $2 AND s.account_id IS NOT DISTINCT FROM $3 AND "
                "s.group_id IS NOT DISTINCT FROM $4 RETURNING s.id",
                owner.id, path, who.account_id, who.group_id);
            if (rows.empty()) refuse("'" + path + "' of " + owner.address + " is not shared with " + who.text);
            return "unshared '" + path + "' of " + owner.address + " from " + who.text;
        });
        std::cout << text << '\n';
    });

    auto* list = folder->add_subcommand("list", "List team folders and shared folders");
    add_org_option(list, args->org, "Only this organisation");
    list->add_option("--owner", args->owner, "Only the shares of this user");
    list->add_flag("--json", args->json, "JSON output");
    on_run(list, chosen, [args](context& ctx) {
        auto rows = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            std::optional<std::int64_t> owner_id;
            if (!args->owner.empty()) owner_id = account_in(tx, args->owner, org).id;
            const std::optional<std::int64_t> org_id = org ? std::optional(org->id) : std::nullopt;
            std::vector<std::vector<std::string>> out;
            if (!owner_id) {
                for (const auto& r : tx.exec_params(
                         "SELECT 'team', o.name, h.name, '', 'group ' || g.name, 'read-write', h.used_bytes::text, "
                         "coalesce(h.quota_bytes::text, '') FROM files.homes h JOIN directory.orgs o ON o.id = h.org_id "
                         "JOIN directory.groups g ON g.id = h.group_id WHERE h.group_id IS NOT NULL "
                         "AND ($1::bigint IS NULL OR h.org_id = $1) ORDER BY o.name, h.name",
                         org_id)) {
                    std::vector<std::string> row;
                    for (const auto& f : r) row.push_back(f.as<std::string>());
                    out.push_back(std::move(row));
                }
            }
            for (const auto& r : tx.exec_params(
                     "SELECT 'share', o.name, s.name, a.address || ':/' || n.path, "
                     "coalesce(sa.address, 'group ' || g.name), CASE WHEN s.writable THEN 'read-write' ELSE 'read-only' END, "
                     "'', '' FROM files.shares s JOIN directory.orgs o ON o.id = s.org_id "
                     "JOIN files.nodes n ON n.id = s.node_id JOIN files.homes h ON h.id = s.home_id "
                     "JOIN directory.accounts a ON a.id = h.account_id "
                     "LEFT JOIN directory.accounts sa ON sa.id = s.account_id LEFT JOIN directory.groups g ON g.id = s.group_id "
                     "WHERE ($1::bigint IS NULL OR s.org_id = $1) AND ($2::bigint IS NULL OR h.account_id = $2) "
                     "ORDER BY o.name, a.address, s.name, 5",
                     org_id, owner_id)) {
                std::vector<std::string> row;
                for (const auto& f : r) row.push_back(f.as<std::string>());
                out.push_back(std::move(row));
            }
            return out;
        });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : rows) {
                nlohmann::json j{{"kind", r[0]}, {"org", r[1]}, {"name", r[2]}, {"access", r[5]}, {"with", r[4]}};
                if (r[0] == "team") {
                    j["used_bytes"] = std::stoll(r[6]);
                    j["quota_bytes"] = r[7].empty() ? nlohmann::json() : nlohmann::json(std::stoll(r[7]));
                } else {
                    j["folder"] = r[3];
                }
                out.push_back(std::move(j));
            }
            print_json(out);
            return;
        }
        table t{{"KIND", "ORG", "NAME", "FOLDER", "WITH", "ACCESS"}, {}};
        for (const auto& r : rows) t.rows.push_back({r[0], r[1], r[2], r[3].empty() ? "-" : r[3], r[4], r[5]});
        t.print(std::cout);
    });
}

}  // namespace polder::admin
