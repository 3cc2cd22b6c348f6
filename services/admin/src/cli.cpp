// cli.cpp - the command table of polderctl and its single error boundary.
//
// Every command registers itself (add_*_commands); parsing selects exactly one
// action; the action runs with a context that loads the config and connects
// lazily, so --help and usage errors need neither. Whatever goes wrong ends
// here as one line on stderr and a documented exit code.
//
// SECURITY: exceptions never escape with a stack of details; unexpected ones
// are reported as internal errors (exit 70) in one line.
// STANDARDS: sysexits(3).
#include "cli.hpp"

#include "commands.hpp"
#include "context.hpp"

#include "polder/log/log.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

#ifndef POLDER_VERSION
#define POLDER_VERSION "unknown"
#endif

namespace polder::admin {

int run(int argc, char** argv) {
    CLI::App app{"polderctl - administer a Polder installation: schema, organisations, domains, users, aliases, "
                 "groups, app passwords, quotas, export",
                 "polderctl"};
    // Set before the subcommands exist: they inherit it, so --config may follow them.
    app.fallthrough();
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("polderctl ") + POLDER_VERSION);
    app.footer(
        "Configuration: --config FILE, else $POLDER_CONFIG, else /etc/polder/polder.toml.\n"
        "Exit codes: 0 ok; 1 refused (unknown or existing object, not empty, bad CSV lines); 2 usage or malformed "
        "input; 69 database unreachable; 70 internal error; 78 invalid configuration.");

    global_options options;
    app.add_option("--config", options.config_path, "Configuration file (TOML)");
    app.add_flag("--verbose,-v", options.verbose, "Log library events (info level) on stderr");

    action chosen;
    add_migrate_commands(app, chosen);
    add_org_commands(app, chosen);
    add_domain_commands(app, chosen);
    add_dkim_commands(app, chosen);
    add_user_commands(app, chosen);
    add_alias_commands(app, chosen);
    add_group_commands(app, chosen);
    add_app_password_commands(app, chosen);
    add_quota_commands(app, chosen);
    add_mailbox_commands(app, chosen);
    add_auth_commands(app, chosen);
    add_queue_commands(app, chosen);
    add_folder_commands(app, chosen);
    add_calendar_commands(app, chosen);
    add_resource_commands(app, chosen);
    add_file_commands(app, chosen);
    add_export_commands(app, chosen);
    add_audit_commands(app, chosen);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);   // --help, --version
        std::cerr << "polderctl: " << failure::one_line(e.what()) << " (see polderctl --help)\n";
        return exit_code::usage;
    }
    if (!chosen) {
        std::cerr << "polderctl: no command given (see polderctl --help)\n";
        return exit_code::usage;
    }

    log::init(options.verbose ? log::level::info : log::level::error, log::format::text);
    context ctx(options);
    try {
        chosen(ctx);
        return exit_code::ok;
    } catch (const failure& f) {
        std::cerr << "polderctl: " << f.what() << '\n';
        return f.code();
    } catch (const std::exception& e) {
        std::cerr << "polderctl: internal error: " << failure::one_line(e.what()) << '\n';
        return exit_code::software;
    }
}

}  // namespace polder::admin
