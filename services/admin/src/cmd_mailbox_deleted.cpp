// cmd_mailbox_deleted.cpp - polderctl mailbox deleted list|restore|purge: the mail a user
// expunged, or lost with a deleted mailbox, within imap.recoverable_days (schema 0115,
// mailstore::ops::list_recoverable / restore_recoverable / purge_recoverable).
//
//   polderctl mailbox deleted list alice@gemeente.example [--mailbox Projects] [--since 2d] [--json]
//   polderctl mailbox deleted restore alice@gemeente.example (--id N ... | --all) [--mailbox M] [--since T] [--to M]
//   polderctl mailbox deleted purge alice@gemeente.example (--id N ... | --all)
//
// restore puts messages back where they were (a deleted mailbox is created again) or into
// --to, with new UIDs; the user's IMAP clients see them arrive. purge deletes them for
// good before their time (e.g. an erasure request).
//
// SECURITY: the rows are the account's own (an id of another account is "unknown");
// --org refuses an account outside that organisation. Only envelope data (subject,
// sender) is printed, never message text. restore and purge write an audit event in
// their transaction; restore respects the quota (nothing restored when it would not fit).
// STANDARDS: RFC 3339 (times), RFC 8259 (--json).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/audit.hpp"
#include "polder/mailstore/mailstore.hpp"

#include <iostream>
#include <limits>

namespace polder::admin {

namespace {

nlohmann::json to_json(const mailstore::ops::recoverable_message& m) {
    return {{"id", m.id},         {"mailbox", m.mailbox},           {"size", m.size},
            {"flags", m.flags},   {"internaldate", m.internaldate}, {"deleted_at", m.deleted_at},
            {"subject", m.subject}, {"from", m.from}};
}

}  // namespace

void add_mailbox_deleted_commands(CLI::App* mailbox, action& chosen) {
    auto* deleted = mailbox->add_subcommand(
        "deleted", "Mail a user deleted (expunged, or with its mailbox) that can still be restored");
    deleted->require_subcommand(1);
    struct args_t {
        std::string account, mailbox, since, to, org;
        std::vector<std::int64_t> ids;
        bool all = false, json = false;
    };
    auto args = std::make_shared<args_t>();
    auto selection = [args](CLI::App* sub) {
        sub->add_option("account", args->account, "The user's address")->required();
        add_org_option(sub, args->org, "Refuse unless the user belongs to this organisation");
    };
    auto filters = [args](CLI::App* sub) {
        sub->add_option("--mailbox", args->mailbox, "Only mail deleted from this mailbox or those below it");
        sub->add_option("--since", args->since, "Only mail deleted at or after this time (2d, 12h, 2026-11-20)");
    };
    // matching - the ids the filters select (all the account's when there are none).
    auto matching = [args](pqxx::work& tx, std::int64_t account) {
        std::optional<std::int64_t> since;
        if (!args->since.empty()) since = resolve_time(tx, args->since, "--since") / 1'000'000;
        std::optional<std::string> box;
        if (!args->mailbox.empty()) box = args->mailbox;
        return mailstore::ops::list_recoverable(tx, account, box, since, std::numeric_limits<std::size_t>::max());
    };

    auto* list = deleted->add_subcommand("list", "List the user's restorable mail, the earliest deleted first");
    selection(list);
    filters(list);
    list->add_flag("--json", args->json, "Print JSON");
    on_run(list, chosen, [args, matching](context& ctx) {
        auto found = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->account, org_filter(tx, args->org));
            return matching(tx, owner.id);
        });
        if (args->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& m : found) out.push_back(to_json(m));
            print_json(out);
            return;
        }
        table t{{"ID", "DELETED (UTC)", "MAILBOX", "SIZE", "FROM", "SUBJECT"}, {}};
        for (const auto& m : found)
            t.rows.push_back({std::to_string(m.id), m.deleted_at, m.mailbox, std::to_string(m.size), m.from, m.subject});
        t.print(std::cout);
    });

    // choice - the account, the filters, --id and --all of restore and purge.
    auto choice = [args, selection, filters](CLI::App* sub, const std::string& verb) {
        selection(sub);
        filters(sub);
        sub->add_option("--id", args->ids, "A message to " + verb + " (from deleted list); repeatable");
        sub->add_flag("--all", args->all, "Every message the filters select");
    };
    // chosen_ids - --id values, or with --all those the filters select; exactly one of them.
    auto chosen_ids = [args, matching](pqxx::work& tx, std::int64_t account) {
        if (args->all == !args->ids.empty()) usage_error("give --id (one or more) or --all");
        if (!args->all) {
            if (!args->mailbox.empty() || !args->since.empty()) usage_error("--mailbox and --since go with --all");
            return args->ids;
        }
        std::vector<std::int64_t> ids;
        for (const auto& m : matching(tx, account)) ids.push_back(m.id);
        return ids;
    };

    auto* restore = deleted->add_subcommand("restore", "Put deleted mail back (where it was, or into --to)");
    choice(restore, "restore");
    restore->add_option("--to", args->to, "Restore into this mailbox (created when missing) instead");
    on_run(restore, chosen, [args, chosen_ids](context& ctx) {
        auto done = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->account, org_filter(tx, args->org));
            auto ids = chosen_ids(tx, owner.id);
            if (ids.empty()) return mailstore::ops::restore_result{};
            std::optional<std::string> to;
            if (!args->to.empty()) to = args->to;
            auto r = mailstore::ops::restore_recoverable(tx, owner.id, ids, to);
            if (!r) {
                if (is(r.error(), errc::not_found)) refuse("unknown deleted message id for " + owner.address);
                if (is(r.error(), errc::quota_exceeded))
                    refuse("restoring would exceed the quota of " + owner.address + " (raise it with quota set)");
                if (is(r.error(), errc::invalid_argument) || is(r.error(), errc::permission_denied))
                    usage_error("cannot restore into '" + (to ? *to : std::string("the original mailbox")) +
                                "': not a valid mailbox name of the user's own");
                refuse("cannot restore: " + r.error().message());
            }
            nlohmann::json boxes = nlohmann::json::object();
            for (const auto& [name, n] : r->mailboxes) boxes[name] = n;
            auth::audit(tx, "admin.mail.restore", owner.org_id, owner.id, ctx.who().actor, ctx.who().remote_ip,
                        {{"messages", r->messages}, {"bytes", r->bytes}, {"mailboxes", boxes}});
            return std::move(*r);
        });
        std::cout << "restored " << done.messages << " message" << (done.messages == 1 ? "" : "s");
        const char* sep = " into ";
        for (const auto& [name, n] : done.mailboxes) {
            std::cout << sep << name << " (" << n << ")";
            sep = ", ";
        }
        std::cout << '\n';
    });

    auto* purge = deleted->add_subcommand("purge", "Delete restorable mail for good, before its time");
    choice(purge, "delete");
    on_run(purge, chosen, [args, chosen_ids](context& ctx) {
        auto n = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->account, org_filter(tx, args->org));
            auto ids = chosen_ids(tx, owner.id);
            if (ids.empty()) return std::size_t{0};
            auto r = mailstore::ops::purge_recoverable(tx, owner.id, ids);
            if (!r) refuse("unknown deleted message id for " + owner.address);
            auth::audit(tx, "admin.mail.purge", owner.org_id, owner.id, ctx.who().actor, ctx.who().remote_ip,
                        {{"messages", *r}});
            return *r;
        });
        std::cout << "purged " << n << " deleted message" << (n == 1 ? "" : "s") << '\n';
    });
}

}  // namespace polder::admin
