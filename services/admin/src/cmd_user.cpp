// cmd_user.cpp - polderctl user add|list|show|passwd|disable|enable|remove.
//
// SECURITY: passwords come from stdin (--password-stdin) and must pass the
// policy, or are generated (120 bits) and printed once; they are hashed with
// Argon2id before the transaction starts and never stored or logged in clear.
// Every change is one transaction with its audit event.
// STANDARDS: RFC 5321 addresses (see polder/auth/address.hpp).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/names.hpp"
#include "polder/auth/password.hpp"
#include "polder/auth/size.hpp"

#include <iostream>

namespace polder::admin {
namespace {

std::optional<std::int64_t> quota_arg(const std::string& text) {
    if (text.empty()) return std::nullopt;
    auto q = auth::parse_quota(text);
    if (!q) usage_error("bad quota '" + text + "': " + q.reason());
    if (!q->has_value()) return std::nullopt;
    return static_cast<std::int64_t>(**q);
}

std::string display_name_arg(const std::string& text) {
    auto n = auth::check_display_name(text);
    if (!n) usage_error("bad display name: " + n.reason());
    return std::move(n).value();
}

std::string status_of(const auth::account_info& a) {
    std::string s = a.disabled ? "disabled" : "active";
    if (a.kind != "user") s += " (" + a.kind + ")";
    return s;
}

// Options of commands that name one account.
struct account_args {
    std::string address;
    std::string org;
};

CLI::App* account_command(CLI::App* parent, const std::string& name, const std::string& help,
                          const std::shared_ptr<account_args>& args) {
    auto* sub = parent->add_subcommand(name, help);
    sub->add_option("address", args->address, "The user's address")->required();
    add_org_option(sub, args->org, "Refuse unless the user belongs to this organisation");
    return sub;
}

void set_disabled_command(CLI::App* user, action& chosen, bool disable) {
    auto args = std::make_shared<account_args>();
    auto* sub = account_command(user, disable ? "disable" : "enable",
                                disable ? "Disable a user: logins fail, data is kept" : "Enable a disabled user", args);
    on_run(sub, chosen, [args, disable](context& ctx) {
        auto outcome = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            auto a = account_in(tx, args->address, org);
            if (a.disabled == disable) return std::make_pair(a.address, false);
            if (!auth::set_disabled(tx, a, disable, ctx.who())) refuse("unknown user '" + a.address + "'");
            return std::make_pair(a.address, true);
        });
        const char* what = disable ? "disabled" : "enabled";
        if (outcome.second)
            std::cout << what << " user " << outcome.first << '\n';
        else
            std::cout << "user " << outcome.first << " was already " << what << '\n';
    });
}

}  // namespace

void add_user_commands(CLI::App& app, action& chosen) {
    auto* user = app.add_subcommand("user", "Manage user accounts");
    user->require_subcommand(1);

    {
        struct args_t {
            std::string address, name, quota, org;
            bool password_stdin = false, resource = false, json = false;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = user->add_subcommand(
            "add", "Create a user; without --password-stdin a password is generated and printed once");
        sub->add_option("address", args->address, "The new user's address (also the login name)")->required();
        sub->add_flag("--password-stdin", args->password_stdin, "Read the password from the first line of stdin");
        sub->add_option("--name", args->name, "Display name");
        sub->add_option("--quota", args->quota, "Storage quota, e.g. 10G, 512M, unlimited (default: unlimited)");
        add_org_option(sub, args->org, "Refuse unless the address's domain belongs to this organisation");
        sub->add_flag("--resource", args->resource, "A resource (room, equipment): no password, cannot log in");
        sub->add_flag("--json", args->json, "Print the result (and a generated password) as JSON");
        on_run(sub, chosen, [args](context& ctx) {
            const auth::address addr = parse_address_arg(args->address);
            const std::string display_name = display_name_arg(args->name);
            const auto quota = quota_arg(args->quota);
            if (args->resource && args->password_stdin) usage_error("a --resource has no password");
            std::optional<chosen_password> pw;
            std::optional<std::string> hash;
            if (!args->resource) {
                pw = new_password(args->password_stdin, ctx.settings().auth);
                hash = auth::hash_password(pw->password, ctx.settings().auth);
            }
            auto created = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto d = auth::find_domain(tx, addr.domain);
                if (!d)
                    refuse("unknown domain '" + addr.domain + "': add it first with 'polderctl domain add " +
                           addr.domain + " --org ORG'");
                if (org && d->org_id != org->id)
                    refuse("unknown domain '" + addr.domain + "' in organisation '" + org->name + "'");
                if (auto owner = auth::find_address(tx, addr.str())) {
                    if (owner->kind == "account") refuse("user '" + addr.str() + "' already exists");
                    refuse("address '" + addr.str() + "' is already in use by " + describe_owner(owner->kind));
                }
                auth::new_account n{addr, display_name, hash, quota, args->resource ? "resource" : "user"};
                auto a = auth::add_account(tx, *d, n, ctx.who());
                if (!a) refuse("user '" + addr.str() + "' already exists");
                return std::move(*a);
            });
            const bool show_password = pw && pw->generated;
            if (args->json) {
                nlohmann::json j = to_json(created);
                j["password"] = show_password ? nlohmann::json(pw->password) : nlohmann::json(nullptr);
                print_json(j);
                return;
            }
            std::cout << "created user " << created.address << " in organisation " << created.org << '\n';
            if (show_password) std::cout << "password: " << pw->password << '\n';
        });
    }
    {
        struct args_t {
            std::string org, domain;
            bool json = false;
        };
        auto args = std::make_shared<args_t>();
        auto* sub = user->add_subcommand("list", "List users");
        add_org_option(sub, args->org, "Only users of this organisation");
        sub->add_option("--domain", args->domain, "Only users in this domain");
        sub->add_flag("--json", args->json, "Print JSON");
        on_run(sub, chosen, [args](context& ctx) {
            auto users = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                std::optional<std::int64_t> domain_id;
                if (!args->domain.empty()) domain_id = domain_in(tx, args->domain, org).id;
                return auth::list_accounts(tx, org ? std::optional<std::int64_t>(org->id) : std::nullopt, domain_id);
            });
            if (args->json) {
                nlohmann::json out = nlohmann::json::array();
                for (const auto& u : users) out.push_back(to_json(u));
                print_json(out);
                return;
            }
            table t{{"ADDRESS", "ORG", "NAME", "QUOTA", "USED", "STATUS"}, {}};
            for (const auto& u : users)
                t.rows.push_back({u.address, u.org, u.display_name, quota_text(u.quota_bytes),
                                  auth::format_size(static_cast<std::uint64_t>(u.used_bytes)), status_of(u)});
            t.print(std::cout);
        });
    }
    {
        auto args = std::make_shared<account_args>();
        auto json = std::make_shared<bool>(false);
        auto* sub = account_command(user, "show", "Show one user with its aliases, groups and app passwords", args);
        sub->add_flag("--json", *json, "Print JSON");
        on_run(sub, chosen, [args, json](context& ctx) {
            struct details {
                auth::account_info account;
                std::vector<auth::alias_info> aliases;
                std::vector<auth::group_info> groups;
                std::vector<auth::app_password_info> app_passwords;
            };
            auto d = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                details r;
                r.account = account_in(tx, args->address, org);
                r.aliases = auth::list_aliases(tx, r.account.org_id, r.account.id);
                r.groups = auth::list_groups(tx, r.account.org_id, r.account.id);
                r.app_passwords = auth::list_app_passwords(tx, r.account.id);
                return r;
            });
            std::vector<std::string> aliases, groups;
            for (const auto& a : d.aliases) aliases.push_back(a.address);
            for (const auto& g : d.groups) groups.push_back(g.name);
            std::int64_t active = 0, revoked = 0;
            for (const auto& p : d.app_passwords) (p.revoked_at ? revoked : active)++;
            if (*json) {
                nlohmann::json j = to_json(d.account);
                j["aliases"] = aliases;
                j["groups"] = groups;
                j["app_passwords"] = {{"active", active}, {"revoked", revoked}};
                print_json(j);
                return;
            }
            auto join = [](const std::vector<std::string>& v) {
                std::string s;
                for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
                return s.empty() ? std::string("-") : s;
            };
            const auto& a = d.account;
            table t{{"FIELD", "VALUE"},
                    {{"address", a.address},
                     {"organisation", a.org},
                     {"display name", a.display_name.empty() ? "-" : a.display_name},
                     {"kind", a.kind},
                     {"status", a.disabled ? "disabled" : "active"},
                     {"quota", quota_text(a.quota_bytes)},
                     {"used", auth::format_size(static_cast<std::uint64_t>(a.used_bytes))},
                     {"password", a.has_password ? "set" : "none"},
                     {"created", a.created_at},
                     {"aliases", join(aliases)},
                     {"groups", join(groups)},
                     {"app passwords", std::to_string(active) + " active, " + std::to_string(revoked) + " revoked"}}};
            t.print(std::cout);
        });
    }
    {
        auto args = std::make_shared<account_args>();
        auto from_stdin = std::make_shared<bool>(false);
        auto* sub = account_command(
            user, "passwd", "Set a user's password; without --password-stdin a new one is generated and printed once",
            args);
        sub->add_flag("--password-stdin", *from_stdin, "Read the new password from the first line of stdin");
        on_run(sub, chosen, [args, from_stdin](context& ctx) {
            const auth::address addr = parse_address_arg(args->address);
            auto pw = new_password(*from_stdin, ctx.settings().auth);
            const std::string hash = auth::hash_password(pw.password, ctx.settings().auth);
            ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto a = account_in(tx, addr.str(), org);
                if (a.kind == "resource") refuse(a.address + " is a resource and cannot have a password");
                if (!auth::set_password_hash(tx, a, hash, ctx.who())) refuse("unknown user '" + a.address + "'");
                return 0;
            });
            std::cout << "changed the password of " << addr.str() << '\n';
            if (pw.generated) std::cout << "password: " << pw.password << '\n';
        });
    }
    set_disabled_command(user, chosen, true);
    set_disabled_command(user, chosen, false);
    {
        auto args = std::make_shared<account_args>();
        auto* sub = account_command(user, "remove", "Remove a user, its aliases, memberships and app passwords", args);
        on_run(sub, chosen, [args](context& ctx) {
            auto removed = ctx.transact([&](pqxx::work& tx) {
                auto org = org_filter(tx, args->org);
                auto a = account_in(tx, args->address, org);
                auto aliases = auth::list_aliases(tx, a.org_id, a.id).size();
                if (!auth::remove_account(tx, a, ctx.who())) refuse("unknown user '" + a.address + "'");
                return std::make_pair(a.address, aliases);
            });
            std::cout << "removed user " << removed.first;
            if (removed.second > 0) std::cout << " and " << removed.second << " alias(es) pointing to it";
            std::cout << '\n';
        });
    }
    add_import_command(user, chosen);
}

}  // namespace polder::admin
