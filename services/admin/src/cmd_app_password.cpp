// cmd_app_password.cpp - polderctl app-password add|list|revoke: per-device
// passwords for mail, calendar and file clients.
//
// SECURITY: the secret is generated (120 bits), printed once and stored only as
// an Argon2id hash; listings show the public id and label, never the secret.
// Revoked app passwords stay listed (with revoked_at) for the audit trail.
// STANDARDS: none (format in polder/auth/app_password.hpp).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/names.hpp"

#include <iostream>

namespace polder::admin {

void add_app_password_commands(CLI::App& app, action& chosen) {
    auto* ap = app.add_subcommand("app-password", "Manage app passwords (one per device or client, revocable)");
    ap->require_subcommand(1);

    {
        struct args_t {
            std::string address, org, label;
            bool json = false;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = ap->add_subcommand("add", "Create an app password for a user and print it once");
        sub->add_option("address", args->address, "The user's address")->required();
        sub->add_option("--label", args->label, "What it is for, e.g. \"Thunderbird laptop\"")->required();
        add_org_option(sub, args->org, "Refuse unless the user belongs to this organisation");
        sub->add_flag("--json", args->json, "Print JSON");
        on_run(sub, chosen, [args](context& ctx) {
            const auth::address addr = parse_address_arg(args->address);
            auto label = auth::check_label(args->label);
            if (!label) usage_error("bad label: " + label.reason());
            const auto& settings = ctx.settings().auth;
            auto created = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto a = account_in(tx, addr.str(), org);
                if (a.kind == "resource") refuse(a.address + " is a resource and cannot log in");
                auto r = auth::add_app_password(tx, a, *label, settings, ctx.who());
                if (!r) {
                    if (is(r.error(), errc::already_exists))
                        refuse(a.address + " already has an active app password labelled '" + *label + "'");
                    if (is(r.error(), errc::limit_exceeded))
                        refuse(a.address + " already has " + std::to_string(auth::max_app_passwords_per_account) +
                               " active app passwords; revoke one first");
                    refuse("could not create an app password: " + r.error().message());
                }
                return std::make_pair(a.address, std::move(*r));
            });
            if (args->json) {
                nlohmann::json j = to_json(created.second.info);
                j["address"] = created.first;
                j["password"] = created.second.password;
                print_json(j);
                return;
            }
            std::cout << "created app password " << created.second.info.id << " ('" << created.second.info.label
                      << "') for " << created.first << '\n'
                      << "password: " << created.second.password << '\n';
        });
    }
    {
        struct args_t {
            std::string address, org;
            bool json = false;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = ap->add_subcommand("list", "List a user's app passwords (active and revoked)");
        sub->add_option("address", args->address, "The user's address")->required();
        add_org_option(sub, args->org, "Refuse unless the user belongs to this organisation");
        sub->add_flag("--json", args->json, "Print JSON");
        on_run(sub, chosen, [args](context& ctx) {
            auto list = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto a = account_in(tx, args->address, org);
                return auth::list_app_passwords(tx, a.id);
            });
            if (args->json) {
                nlohmann::json out = nlohmann::json::array();
                for (const auto& p : list) out.push_back(to_json(p));
                print_json(out);
                return;
            }
            table t{{"ID", "LABEL", "PUBLIC ID", "CREATED", "LAST USED", "STATUS"}, {}};
            for (const auto& p : list)
                t.rows.push_back({std::to_string(p.id), p.label, p.public_id, p.created_at,
                                  p.last_used_at.value_or("never"),
                                  p.revoked_at ? "revoked " + *p.revoked_at : std::string("active")});
            t.print(std::cout);
        });
    }
    {
        struct args_t {
            std::string address, org;
            std::int64_t id = 0;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = ap->add_subcommand("revoke", "Revoke one app password of a user (by the ID 'list' shows)");
        sub->add_option("address", args->address, "The user's address")->required();
        sub->add_option("id", args->id, "The app password's ID")->required()->check(CLI::PositiveNumber);
        add_org_option(sub, args->org, "Refuse unless the user belongs to this organisation");
        on_run(sub, chosen, [args](context& ctx) {
            auto revoked = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto a = account_in(tx, args->address, org);
                auto r = auth::revoke_app_password(tx, a, args->id, ctx.who());
                if (!r) {
                    if (is(r.error(), errc::conflict))
                        refuse("app password " + std::to_string(args->id) + " of " + a.address +
                               " is already revoked");
                    refuse(a.address + " has no app password " + std::to_string(args->id));
                }
                return std::make_pair(a.address, std::move(*r));
            });
            std::cout << "revoked app password " << revoked.second.id << " ('" << revoked.second.label << "') of "
                      << revoked.first << '\n';
        });
    }
}

}  // namespace polder::admin
