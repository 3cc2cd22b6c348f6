// polder/auth/directory.hpp - reading and changing the directory (schema
// directory): organisations, domains, accounts, aliases, groups, app passwords.
//
// Every function works inside the caller's transaction (pqxx::work&), so a
// command made of several steps commits or rolls back as one. Every change
// writes its audit event in that same transaction (see audit.hpp), so nothing
// changes without a trace. Inputs are expected to be validated and normalised
// already (parse_address, normalize_org_name, check_*): the functions trust
// their shape but the database's CHECK constraints would still refuse bad data.
//
// Tenancy: every row carries org_id; list functions take the organisation to
// filter by, and links across organisations are refused by the schema's
// composite foreign keys (an alias target, a group member, an address's domain
// always belong to the same organisation).
//
// Errors (result<T>): errc::not_found (no such object), errc::already_exists
// (name or address taken, anywhere in the installation for addresses),
// errc::permission_denied (an object of another organisation),
// errc::conflict (state does not allow it, e.g. already revoked),
// errc::limit_exceeded (too many app passwords). Database failures other than
// these propagate as pqxx exceptions.
//
// SECURITY: parameterized SQL only; password hashes are written, never read
// back by listing functions; app-password secrets exist only in the return
// value of add_app_password.
// STANDARDS: none beyond those of address.hpp.
#pragma once

#include "polder/auth/address.hpp"
#include "polder/config/config.hpp"
#include "polder/core/error.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::auth {

inline constexpr std::size_t max_app_passwords_per_account = 50;

// Who makes a change, for the audit trail.
struct actor_context {
    std::string actor;       // e.g. the OS user running polderctl
    std::string remote_ip;   // empty for local tools
};

// Timestamps are ISO 8601 UTC text ("2025-01-31T12:00:00Z").
struct org_info {
    std::int64_t id = 0;
    std::string name;
    std::string created_at;
    std::int64_t domains = 0;
    std::int64_t accounts = 0;
};

struct domain_info {
    std::int64_t id = 0;
    std::int64_t org_id = 0;
    std::string org;
    std::string name;
    std::string created_at;
    std::int64_t accounts = 0;
};

struct account_info {
    std::int64_t id = 0;
    std::int64_t org_id = 0;
    std::string org;
    std::int64_t domain_id = 0;
    std::string domain;
    std::string address;
    std::string display_name;
    std::optional<std::int64_t> quota_bytes;   // nullopt = unlimited
    std::int64_t used_bytes = 0;
    bool disabled = false;
    std::string kind;                          // "user" | "resource"
    bool has_password = false;
    std::string created_at;
};

struct alias_info {
    std::int64_t id = 0;
    std::int64_t org_id = 0;
    std::string org;
    std::string address;
    std::int64_t target_account_id = 0;
    std::string target;
    std::string created_at;
};

struct group_info {
    std::int64_t id = 0;
    std::int64_t org_id = 0;
    std::string org;
    std::string name;
    std::optional<std::string> address;
    std::string created_at;
    std::vector<std::string> members;   // addresses, sorted
};

struct app_password_info {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
    std::string public_id;
    std::string label;
    std::string created_at;
    std::optional<std::string> last_used_at;
    std::optional<std::string> revoked_at;
};

// What uses an address: "account", "alias" or "group", and which row.
struct address_owner {
    std::string kind;
    std::int64_t owner_id = 0;
    std::int64_t org_id = 0;
};

struct object_counts {
    std::int64_t domains = 0, accounts = 0, aliases = 0, groups = 0;
    bool empty() const { return domains == 0 && accounts == 0 && aliases == 0 && groups == 0; }
};

// --- organisations
[[nodiscard]] result<org_info> find_org(pqxx::work& tx, std::string_view name);
[[nodiscard]] result<org_info> find_org_by_id(pqxx::work& tx, std::int64_t id);
[[nodiscard]] std::vector<org_info> list_orgs(pqxx::work& tx, std::optional<std::int64_t> org_id = std::nullopt);
[[nodiscard]] result<org_info> add_org(pqxx::work& tx, std::string_view name, const actor_context& who);
[[nodiscard]] object_counts count_org_objects(pqxx::work& tx, std::int64_t org_id);
// remove_org - deletes the organisation and (cascading) everything it owns.
[[nodiscard]] result<void> remove_org(pqxx::work& tx, const org_info& org, const actor_context& who);

// --- domains
[[nodiscard]] result<domain_info> find_domain(pqxx::work& tx, std::string_view name);
[[nodiscard]] std::vector<domain_info> list_domains(pqxx::work& tx, std::optional<std::int64_t> org_id);
[[nodiscard]] result<domain_info> add_domain(pqxx::work& tx, const org_info& org, std::string_view name,
                                             const actor_context& who);
[[nodiscard]] object_counts count_domain_objects(pqxx::work& tx, std::int64_t domain_id);
[[nodiscard]] result<void> remove_domain(pqxx::work& tx, const domain_info& domain, const actor_context& who);

// --- addresses
[[nodiscard]] result<address_owner> find_address(pqxx::work& tx, std::string_view address);

// --- accounts
struct new_account {
    address addr;
    std::string display_name;
    std::optional<std::string> password_hash;   // nullopt: cannot log in with a password
    std::optional<std::int64_t> quota_bytes;    // nullopt: unlimited
    std::string kind = "user";
};
// add_account - audit_details are merged into the admin.user.add event (e.g. {"via":"import"}).
[[nodiscard]] result<account_info> add_account(pqxx::work& tx, const domain_info& domain, const new_account& account,
                                               const actor_context& who,
                                               const nlohmann::json& audit_details = nlohmann::json::object());
[[nodiscard]] result<account_info> find_account(pqxx::work& tx, std::string_view address);
[[nodiscard]] result<account_info> find_account_by_id(pqxx::work& tx, std::int64_t id);
[[nodiscard]] std::vector<account_info> list_accounts(pqxx::work& tx, std::optional<std::int64_t> org_id,
                                                      std::optional<std::int64_t> domain_id = std::nullopt);
[[nodiscard]] result<void> set_password_hash(pqxx::work& tx, const account_info& account, std::string_view hash,
                                             const actor_context& who);
[[nodiscard]] result<void> set_disabled(pqxx::work& tx, const account_info& account, bool disabled,
                                        const actor_context& who);
[[nodiscard]] result<void> set_quota(pqxx::work& tx, const account_info& account, std::optional<std::int64_t> quota_bytes,
                                     const actor_context& who);
[[nodiscard]] result<void> remove_account(pqxx::work& tx, const account_info& account, const actor_context& who);

// --- aliases (an alias and its target are in the same organisation)
[[nodiscard]] result<alias_info> add_alias(pqxx::work& tx, const domain_info& domain, const address& alias,
                                           const account_info& target, const actor_context& who);
[[nodiscard]] result<alias_info> find_alias(pqxx::work& tx, std::string_view address);
[[nodiscard]] std::vector<alias_info> list_aliases(pqxx::work& tx, std::optional<std::int64_t> org_id,
                                                   std::optional<std::int64_t> target_account_id = std::nullopt);
[[nodiscard]] result<void> remove_alias(pqxx::work& tx, const alias_info& alias, const actor_context& who);

// --- groups
// add_group - domain and addr are both given (a distribution address) or both absent.
[[nodiscard]] result<group_info> add_group(pqxx::work& tx, const org_info& org, std::string_view name,
                                           const domain_info* domain, const std::optional<address>& addr,
                                           const actor_context& who);
[[nodiscard]] result<group_info> find_group(pqxx::work& tx, std::int64_t org_id, std::string_view name);
[[nodiscard]] result<group_info> find_group_by_address(pqxx::work& tx, std::string_view address);
// find_groups_named - every group with this name (case-insensitive) in any organisation.
[[nodiscard]] std::vector<group_info> find_groups_named(pqxx::work& tx, std::string_view name);
[[nodiscard]] std::vector<group_info> list_groups(pqxx::work& tx, std::optional<std::int64_t> org_id,
                                                  std::optional<std::int64_t> member_account_id = std::nullopt);
[[nodiscard]] result<void> remove_group(pqxx::work& tx, const group_info& group, const actor_context& who);
[[nodiscard]] result<void> add_group_member(pqxx::work& tx, const group_info& group, const account_info& member,
                                            const actor_context& who);
[[nodiscard]] result<void> remove_group_member(pqxx::work& tx, const group_info& group, const account_info& member,
                                               const actor_context& who);

// --- app passwords
struct created_app_password {
    app_password_info info;
    std::string password;   // the only time the secret exists outside the client
};
// add_app_password - generate, hash (Argon2id with settings) and store a new app
// password. Errors: already_exists (an active one has this label),
// limit_exceeded (max_app_passwords_per_account active ones).
[[nodiscard]] result<created_app_password> add_app_password(pqxx::work& tx, const account_info& account,
                                                            std::string_view label,
                                                            const config::auth_settings& settings,
                                                            const actor_context& who);
// list_app_passwords - active and revoked ones, oldest first.
[[nodiscard]] std::vector<app_password_info> list_app_passwords(pqxx::work& tx, std::int64_t account_id);
// revoke_app_password - Errors: not_found (no such id for this account), conflict (already revoked).
[[nodiscard]] result<app_password_info> revoke_app_password(pqxx::work& tx, const account_info& account,
                                                            std::int64_t app_password_id, const actor_context& who);

// --- recipients (for mail delivery)
// resolve_recipients - the enabled accounts mail to address reaches: the account
// itself, an alias's target, or a group's members. Errors: not_found.
[[nodiscard]] result<std::vector<account_info>> resolve_recipients(pqxx::work& tx, std::string_view address);

}  // namespace polder::auth
