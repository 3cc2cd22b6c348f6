// cmd_mailbox.cpp - polderctl mailbox share|unshare|list (and deleted ...: see
// cmd_mailbox_deleted.cpp): RFC 4314 access to a user's
// mailbox for another user or a group of the same organisation (e.g. a shared "info@"
// mailbox read by the front-office group), which then appears in that user's IMAP
// "Shared/<owner>/" namespace.
//
// The administrator acts as the mailbox owner through the mail store's ACL operations, so
// every rule of the store applies: grantees must belong to the owner's organisation, the
// owner always keeps every right, rights letters are validated (c and d map to k and
// x t e). Running IMAP sessions are notified in the same transaction.
//
// SECURITY: tenancy is enforced by the store (a grantee of another organisation is
// "unknown"); --org additionally refuses an owner outside the named organisation.
// STANDARDS: RFC 4314 (rights letters), RFC 2342 (shared namespace).
#include "commands.hpp"
#include "output.hpp"

#include "polder/mailstore/mailstore.hpp"

#include <iostream>

namespace polder::admin {

namespace {

void check(const result<void>& r, const std::string& what) {
    if (r) return;
    if (is(r.error(), errc::not_found)) refuse("unknown mailbox or grantee (" + what + ")");
    if (is(r.error(), errc::invalid_argument)) usage_error("invalid rights or grantee (" + what + ")");
    refuse(what + ": " + r.error().message());
}

}  // namespace

void add_mailbox_commands(CLI::App& app, action& chosen) {
    auto* mailbox = app.add_subcommand("mailbox", "Share mailboxes with users and groups (RFC 4314 rights); "
                                                  "restore deleted mail");
    mailbox->require_subcommand(1);
    add_mailbox_deleted_commands(mailbox, chosen);
    struct args_t {
        std::string owner, name, grantee, org;
        std::string rights = "lrswipkxte";
    };
    auto args = std::make_shared<args_t>();

    auto* share = mailbox->add_subcommand("share", "Give a user or group rights on a user's mailbox");
    share->add_option("owner", args->owner, "The mailbox owner's address")->required();
    share->add_option("mailbox", args->name, "The mailbox, e.g. INBOX or Projects/2026")->required();
    share->add_option("grantee", args->grantee, "A user's address or a group name of the same organisation")->required();
    share->add_option("--rights", args->rights, "RFC 4314 letters (default lrswipkxte: all but administer)");
    add_org_option(share, args->org, "Refuse unless the owner belongs to this organisation");
    on_run(share, chosen, [args](context& ctx) {
        auto rights = mailstore::normalize_rights(args->rights);
        if (!rights || rights->empty()) usage_error("bad rights '" + args->rights + "': use letters of lrswipkxtea");
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->owner, org_filter(tx, args->org));
            check(mailstore::ops::set_acl(tx, owner.id, args->name, args->grantee, *rights), args->name);
            return owner.address;
        });
        std::cout << "shared " << args->name << " of " << text << " with " << args->grantee << " (" << *rights << ")\n";
    });

    auto* unshare = mailbox->add_subcommand("unshare", "Remove a user's or group's rights on a mailbox");
    unshare->add_option("owner", args->owner, "The mailbox owner's address")->required();
    unshare->add_option("mailbox", args->name, "The mailbox")->required();
    unshare->add_option("grantee", args->grantee, "The user's address or the group name")->required();
    add_org_option(unshare, args->org, "Refuse unless the owner belongs to this organisation");
    on_run(unshare, chosen, [args](context& ctx) {
        auto text = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->owner, org_filter(tx, args->org));
            check(mailstore::ops::set_acl(tx, owner.id, args->name, args->grantee, ""), args->name);
            return owner.address;
        });
        std::cout << "unshared " << args->name << " of " << text << " from " << args->grantee << "\n";
    });

    auto* list = mailbox->add_subcommand("list", "List a user's mailboxes and who they are shared with");
    list->add_option("owner", args->owner, "The owner's address")->required();
    add_org_option(list, args->org, "Refuse unless the owner belongs to this organisation");
    on_run(list, chosen, [args](context& ctx) {
        auto lines = ctx.transact([&](pqxx::work& tx) {
            auto owner = account_in(tx, args->owner, org_filter(tx, args->org));
            std::vector<std::string> out;
            auto boxes = mailstore::ops::list_mailboxes(tx, owner.id);
            if (!boxes) refuse("cannot list mailboxes: " + boxes.error().message());
            for (const auto& b : *boxes) {
                if (b.owner_account_id != owner.id) continue;
                std::string line = b.name;
                auto acl = mailstore::ops::get_acl(tx, owner.id, b.name);
                if (acl)
                    for (std::size_t i = 1; i < acl->size(); ++i)   // [0] is the owner
                        line += "  " + (*acl)[i].identifier + "=" + (*acl)[i].rights;
                out.push_back(std::move(line));
            }
            return out;
        });
        for (const auto& l : lines) std::cout << l << '\n';
    });
}

}  // namespace polder::admin
