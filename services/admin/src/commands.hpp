// commands.hpp - polderctl's command table: each group of commands registers its
// CLI11 subcommands and the action that runs when one is chosen; plus the
// lookups several commands share (organisation filter, account by address).
//
// SECURITY: every lookup that takes --org treats an object of another
// organisation exactly like a missing one ("unknown user ... in organisation
// ..."), so an organisation-scoped script cannot reach or even probe another
// tenant. Secrets come from stdin only.
// STANDARDS: none.
#pragma once

#include "context.hpp"

#include "polder/auth/address.hpp"
#include "polder/auth/directory.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>

namespace polder::admin {

using action = std::function<void(context&)>;

// on_run - when sub is the command chosen on the command line, run fn.
void on_run(CLI::App* sub, action& chosen, action fn);

void add_migrate_commands(CLI::App& app, action& chosen);
void add_org_commands(CLI::App& app, action& chosen);
void add_domain_commands(CLI::App& app, action& chosen);
void add_user_commands(CLI::App& app, action& chosen);
void add_import_command(CLI::App* user, action& chosen);
void add_app_password_commands(CLI::App& app, action& chosen);
void add_alias_commands(CLI::App& app, action& chosen);
void add_group_commands(CLI::App& app, action& chosen);
void add_quota_commands(CLI::App& app, action& chosen);
void add_mailbox_commands(CLI::App& app, action& chosen);   // cmd_mailbox.cpp: share|unshare|list
void add_auth_commands(CLI::App& app, action& chosen);
void add_queue_commands(CLI::App& app, action& chosen);   // cmd_queue.cpp: the outbound SMTP queue
// cmd_dkim.cpp: domain dkim generate|show; call after add_domain_commands (it extends "domain").
void add_dkim_commands(CLI::App& app, action& chosen);
void add_folder_commands(CLI::App& app, action& chosen);  // cmd_folder.cpp: team folders and shares (WebDAV)
void add_calendar_commands(CLI::App& app, action& chosen);  // cmd_calendar.cpp: calendars and address books (CalDAV)
void add_resource_commands(CLI::App& app, action& chosen);  // cmd_resource.cpp: rooms and equipment (CalDAV scheduling)
void add_file_commands(CLI::App& app, action& chosen);    // cmd_file.cpp: versions, trash, expire, blob gc
void add_export_commands(CLI::App& app, action& chosen);  // cmd_export.cpp: export user|org in open formats
void add_audit_commands(CLI::App& app, action& chosen);   // cmd_audit.cpp: audit list|purge

// --org NAME on a subcommand; the value is filtered through org_filter().
CLI::Option* add_org_option(CLI::App* sub, std::string& org, const std::string& what);

// parse_address_arg - the normalised address, or failure(usage) naming the problem.
auth::address parse_address_arg(const std::string& text);

// org_filter - nothing for an empty name; else the organisation, or
// failure(refused) "unknown organisation".
std::optional<auth::org_info> org_filter(pqxx::work& tx, const std::string& name);

// account_in - the account with this address (in org, when given), or
// failure(refused) that says what the address is instead, if anything.
auth::account_info account_in(pqxx::work& tx, const std::string& address_text,
                              const std::optional<auth::org_info>& org);

// domain_in - the domain (in org, when given), or failure(refused).
auth::domain_info domain_in(pqxx::work& tx, const std::string& domain_name, const std::optional<auth::org_info>& org);

// new_password - the password for an account: read from stdin and checked
// against the policy (failure(usage) when refused), or generated.
struct chosen_password {
    std::string password;
    bool generated = false;
};
chosen_password new_password(bool from_stdin, const config::auth_settings& settings);

// resolve_time - a time argument of --since, --until, --before: "30d", "12h", "45m",
// "2w" before now, or "2026-11-01" (midnight) or "2026-11-01T08:30[:00[.ffffff]]", in UTC
// unless an offset ("Z", "+01:00") follows; PostgreSQL reads it, so an impossible date
// ("2026-02-30") is a usage error naming `option`, as is any other text. Returns
// microseconds since the epoch.
std::int64_t resolve_time(pqxx::work& tx, const std::string& text, const std::string& option);
void add_mailbox_deleted_commands(CLI::App* mailbox, action& chosen);   // cmd_mailbox_deleted.cpp

// describe_counts - "2 domains, 5 accounts, 1 alias and 0 groups".
std::string describe_counts(const auth::object_counts& counts, bool with_domains);

// describe_owner - "an alias", "a group", "a user" for address_owner::kind.
std::string describe_owner(const std::string& kind);

}  // namespace polder::admin
