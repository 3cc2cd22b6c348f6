// cmd_auth.cpp - polderctl auth test: try a login exactly as a service would
// (like Dovecot's "doveadm auth test"), to check a password or app password and
// to see throttling at work.
//
// SECURITY: the secret is read from stdin, never the command line. The attempt
// is a real one: it is throttled, counted and audited like any service login,
// so this command cannot be used to guess passwords faster than a client.
// STANDARDS: none.
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/login.hpp"

#include <iostream>

namespace polder::admin {

void add_auth_commands(CLI::App& app, action& chosen) {
    auto* auth_cmd = app.add_subcommand("auth", "Check logins");
    auth_cmd->require_subcommand(1);
    struct args_t {
        std::string address, remote_ip, service = "polderctl";
    };
    auto args = std::make_shared<args_t>();
    auto* sub = auth_cmd->add_subcommand(
        "test", "Log in as ADDRESS with the password or app password on stdin (counted and audited like any login)");
    sub->add_option("address", args->address, "Login address")->required();
    sub->add_option("--remote-ip", args->remote_ip, "Client address to attribute the attempt to");
    sub->add_option("--service", args->service, "Service name recorded in the audit trail (default polderctl)");
    on_run(sub, chosen, [args](context& ctx) {
        const std::string secret = read_secret_line();
        const auto& settings = ctx.settings().auth;
        ctx.require_current_schema();
        auto r = auth::login_sync(ctx.connection(), settings, args->address, secret, args->remote_ip, args->service);
        if (r) {
            std::cout << "login ok: " << r->address << " (account " << r->account_id << ", "
                      << (r->app_password_id ? "app password " + std::to_string(*r->app_password_id) : "password")
                      << ")\n";
            return;
        }
        if (is(r.error(), errc::throttled)) refuse("login refused: too many failed attempts, try again later");
        if (is(r.error(), errc::unavailable))
            throw failure(exit_code::unavailable, "cannot reach PostgreSQL at " + ctx.where());
        if (is(r.error(), errc::internal)) throw failure(exit_code::software, "login failed with an internal error");
        refuse("login failed");
    });
}

}  // namespace polder::admin
