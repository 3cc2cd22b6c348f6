// cmd_file.cpp - polderctl file versions|restore|trash list|trash restore|
// trash purge|expire|gc: what polder-webdavd keeps when files are overwritten
// (versions) or deleted (trash), and the clean-up of both and of blobs no
// module references any more. See docs/files.md.
//
// A home is named by its account's address, or by --team NAME for a team
// folder. expire applies webdav.trash_days / versions_keep /
// versions_max_age_days from the configuration (run it daily, e.g. from a
// systemd timer; overwrites and deletes also prune their own file and home).
//
// SECURITY: --org limits every lookup to one organisation. gc never removes a
// blob that any row of any module references (every blob_id / blob_sha256
// column of the database and the trash manifests; an unknown blob column
// stops it), nor one written or deduplicated within the grace period (a
// writer may have committed it and not inserted its row yet); the
// modification time is checked again right before each removal.
// STANDARDS: none.
#include "commands.hpp"
#include "output.hpp"

#include "maintenance.hpp"   // polder-webdavd's expiry and blob collection
#include "paths.hpp"         // polder-webdavd's path rules
#include "store.hpp"         // polder-webdavd's files schema functions

#include "polder/blob/fs_store.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>

namespace polder::admin {
namespace {

std::string clean_path(const std::string& text) {
    std::string message;
    auto p = webdav::tree_path(text, message);
    if (!p) usage_error(message);
    return *p;
}

std::string when(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

struct home_args {
    std::string address, team, org;
};

void add_home_options(CLI::App* sub, home_args& h) {
    sub->add_option("home", h.address, "The account's address (its personal home)");
    sub->add_option("--team", h.team, "A team folder instead of a personal home");
    add_org_option(sub, h.org, "Organisation (needed for --team when the name is ambiguous)");
}

// home_id_of - the home's id, or failure(refused).
std::int64_t home_id_of(pqxx::work& tx, const home_args& h) {
    if (h.address.empty() == h.team.empty()) usage_error("name either an account's address or --team NAME");
    auto org = org_filter(tx, h.org);
    if (!h.address.empty()) {
        auto a = account_in(tx, h.address, org);
        auto rows = tx.exec_params("SELECT id FROM files.homes WHERE account_id = $1", a.id);
        if (rows.empty()) refuse(a.address + " has no files yet");
        return rows[0][0].as<std::int64_t>();
    }
    auto rows = tx.exec_params("SELECT id FROM files.homes WHERE group_id IS NOT NULL AND lower(name) = lower($1) AND "
                               "($2::bigint IS NULL OR org_id = $2)",
                               h.team, org ? std::optional(org->id) : std::nullopt);
    if (rows.empty()) refuse("unknown team folder '" + h.team + "'");
    if (rows.size() > 1) refuse("team folder '" + h.team + "' exists in several organisations: pass --org");
    return rows[0][0].as<std::int64_t>();
}

webdav::store::retention retention_from(context& ctx) {
    const auto& w = ctx.settings().webdav;
    return {.versions_keep = w.versions_keep, .versions_max_age_days = w.versions_max_age_days, .trash_days = w.trash_days};
}

}  // namespace

void add_file_commands(CLI::App& app, action& chosen) {
    auto* file = app.add_subcommand("file", "Versions, trash and clean-up of polder-webdavd's files");
    file->require_subcommand(1);
    struct args_t {
        home_args home;
        std::string path, to;
        std::int64_t id = 0;
        bool json = false, all = false, dry_run = false;
        unsigned grace_hours = 24;
    };
    auto args = std::make_shared<args_t>();

    auto* versions = file->add_subcommand("versions", "List the previous versions of a file");
    add_home_options(versions, args->home);
    versions->add_option("--path", args->path, "The file, relative to the home")->required();
    versions->add_flag("--json", args->json, "JSON output");
    on_run(versions, chosen, [args](context& ctx) {
        const std::string path = clean_path(args->path);
        auto list = ctx.transact([&](pqxx::work& tx) {
            const auto home = home_id_of(tx, args->home);
            auto n = webdav::store::find(tx, home, path);
            if (!n || n->collection) refuse("no file '" + path + "' in this home");
            return webdav::store::versions_of(tx, n->id);
        });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& v : list)
                out.push_back({{"id", v.id}, {"size", v.size}, {"blob", v.blob_id}, {"written", when(v.modified)},
                               {"replaced", when(v.replaced)}});
            print_json(out);
            return;
        }
        table t{{"ID", "SIZE", "WRITTEN", "REPLACED"}, {}};
        for (const auto& v : list) t.rows.push_back({std::to_string(v.id), std::to_string(v.size), when(v.modified), when(v.replaced)});
        t.print(std::cout);
    });

    auto* restore = file->add_subcommand("restore", "Make a previous version the current content of a file");
    add_home_options(restore, args->home);
    restore->add_option("--path", args->path, "The file, relative to the home")->required();
    restore->add_option("--version", args->id, "The version's ID (from file versions)")->required();
    on_run(restore, chosen, [args](context& ctx) {
        const std::string path = clean_path(args->path);
        const auto keep = retention_from(ctx);
        ctx.transact([&](pqxx::work& tx) {
            const auto home = home_id_of(tx, args->home);
            auto n = webdav::store::find(tx, home, path);
            if (!n || n->collection) refuse("no file '" + path + "' in this home");
            if (!webdav::store::restore_version(tx, home, *n, args->id, keep))
                refuse("'" + path + "' has no version " + std::to_string(args->id));
        });
        std::cout << "restored version " << args->id << " of " << path << " (the replaced content is now a version)\n";
    });

    auto* trash = file->add_subcommand("trash", "The trash of a home: list, restore, purge");
    trash->require_subcommand(1);
    auto* tlist = trash->add_subcommand("list", "List deleted files and folders");
    add_home_options(tlist, args->home);
    tlist->add_flag("--json", args->json, "JSON output");
    on_run(tlist, chosen, [args](context& ctx) {
        auto list = ctx.transact([&](pqxx::work& tx) { return webdav::store::trash_of(tx, home_id_of(tx, args->home)); });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& e : list)
                out.push_back({{"id", e.id}, {"path", e.original_path}, {"folder", e.collection}, {"size", e.size},
                               {"items", e.items}, {"deleted_by", e.deleted_by}, {"deleted", when(e.deleted)}});
            print_json(out);
            return;
        }
        table t{{"ID", "PATH", "SIZE", "ITEMS", "DELETED", "BY"}, {}};
        for (const auto& e : list)
            t.rows.push_back({std::to_string(e.id), e.original_path + (e.collection ? "/" : ""), std::to_string(e.size),
                              std::to_string(e.items), when(e.deleted), e.deleted_by.empty() ? "-" : e.deleted_by});
        t.print(std::cout);
    });

    auto* trestore = trash->add_subcommand("restore", "Put a deleted file or folder back");
    add_home_options(trestore, args->home);
    trestore->add_option("--id", args->id, "The trash entry's ID (from file trash list)")->required();
    trestore->add_option("--to", args->to, "Restore to this path instead of the original one");
    on_run(trestore, chosen, [args](context& ctx) {
        const std::string to = args->to.empty() ? std::string() : clean_path(args->to);
        if (!args->to.empty() && to.empty()) usage_error("--to must name a path below the home");
        ctx.transact([&](pqxx::work& tx) {
            auto why = webdav::store::restore_trash(tx, home_id_of(tx, args->home), args->id, to);
            if (!why.empty()) refuse(why);
        });
        std::cout << "restored trash entry " << args->id << (to.empty() ? std::string() : " to " + to) << '\n';
    });

    auto* purge = trash->add_subcommand("purge", "Delete trash entries for good");
    add_home_options(purge, args->home);
    purge->add_option("--id", args->id, "One entry");
    purge->add_flag("--all", args->all, "Every entry of the home");
    on_run(purge, chosen, [args](context& ctx) {
        if ((args->id != 0) == args->all) usage_error("say --id ID or --all");
        auto n = ctx.transact([&](pqxx::work& tx) {
            auto count = webdav::store::purge_trash(tx, home_id_of(tx, args->home), args->all ? 0 : args->id);
            if (count == 0 && !args->all) refuse("no trash entry " + std::to_string(args->id) + " in this home");
            return count;
        });
        std::cout << "purged " << n << " trash entr" << (n == 1 ? "y" : "ies") << " (run file gc to free the space)\n";
    });

    auto* expire = file->add_subcommand("expire", "Drop trash and versions older than the configured limits");
    on_run(expire, chosen, [](context& ctx) {
        const auto keep = retention_from(ctx);
        auto e = ctx.transact([&](pqxx::work& tx) { return webdav::store::expire(tx, keep); });
        std::cout << "expired " << e.trash << " trash entries and " << e.versions << " versions (trash_days "
                  << keep.trash_days << ", versions_keep " << keep.versions_keep << ", versions_max_age_days "
                  << keep.versions_max_age_days << ")\n";
    });

    auto* gc = file->add_subcommand("gc", "Remove blobs no file, version, trash entry or message references");
    gc->add_option("--grace-hours", args->grace_hours, "Keep blobs written within this many hours (default 24)")
        ->check(CLI::Range(1u, 24u * 365u));
    gc->add_flag("--dry-run", args->dry_run, "Only count what would be removed");
    on_run(gc, chosen, [args](context& ctx) {
        // The same collection polder-webdavd runs every webdav.expire_interval_seconds
        // (services/webdav/src/maintenance.hpp).
        blob::fs_store blobs(ctx.settings().blob.path);
        const auto r = ctx.guarded([&] {
            ctx.require_current_schema();
            try {
                return webdav::maintenance::collect_garbage(ctx.connection(), blobs,
                                                            std::chrono::hours(args->grace_hours), args->dry_run);
            } catch (const webdav::maintenance::unsafe& e) {
                refuse(e.what());
            }
        });
        std::cout << (args->dry_run ? "would remove " : "removed ") << r.removed << " of " << r.seen << " blobs ("
                  << r.bytes << " bytes) and " << r.inline_removed << " small files' contents kept in the database ("
                  << r.inline_bytes << " bytes)\n";
    });
}

}  // namespace polder::admin
