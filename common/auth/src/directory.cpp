// directory.cpp - directory reads and changes, each change with its audit event
// (see polder/auth/directory.hpp for the contract).
//
// SECURITY: parameterized SQL only. Changing functions check the obvious
// conflicts with a SELECT first so the caller gets a precise errc; the schema's
// constraints remain the authority (a concurrent writer that slips between check
// and insert gets the same errc from the translated constraint violation, after
// which the transaction is aborted and must be rolled back). Listing queries
// never select password hashes.
// STANDARDS: none.
#include "polder/auth/directory.hpp"

#include "polder/auth/app_password.hpp"
#include "polder/auth/audit.hpp"
#include "polder/auth/password.hpp"
#include "polder/db/prepared.hpp"

#include <algorithm>

namespace polder::auth {
namespace {

using json = nlohmann::json;

// ts - SQL for a timestamptz column as ISO 8601 UTC text.
std::string ts(std::string_view column) {
    return "to_char(" + std::string(column) + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
}

std::optional<std::string> opt_str(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
}

std::optional<std::int64_t> opt_i64(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::int64_t>();
}

// --- organisations

const std::string org_select =
    "SELECT o.id, o.name, " + ts("o.created_at") +
    ", (SELECT count(*) FROM directory.domains d WHERE d.org_id = o.id)"
    ", (SELECT count(*) FROM directory.accounts a WHERE a.org_id = o.id)"
    " FROM directory.orgs o ";

org_info read_org(const pqxx::row& r) {
    org_info o;
    o.id = r[0].as<std::int64_t>();
    o.name = r[1].as<std::string>();
    o.created_at = r[2].as<std::string>();
    o.domains = r[3].as<std::int64_t>();
    o.accounts = r[4].as<std::int64_t>();
    return o;
}

// --- domains

const std::string domain_select =
    "SELECT d.id, d.org_id, o.name, d.name, " + ts("d.created_at") +
    ", (SELECT count(*) FROM directory.accounts a WHERE a.domain_id = d.id)"
    " FROM directory.domains d JOIN directory.orgs o ON o.id = d.org_id ";

domain_info read_domain(const pqxx::row& r) {
    domain_info d;
    d.id = r[0].as<std::int64_t>();
    d.org_id = r[1].as<std::int64_t>();
    d.org = r[2].as<std::string>();
    d.name = r[3].as<std::string>();
    d.created_at = r[4].as<std::string>();
    d.accounts = r[5].as<std::int64_t>();
    return d;
}

// --- accounts

const std::string account_select =
    "SELECT a.id, a.org_id, o.name, a.domain_id, d.name, a.address, a.display_name, a.quota_bytes,"
    " coalesce(u.used_bytes, 0), a.disabled, a.kind, a.password_hash IS NOT NULL, " + ts("a.created_at") +
    " FROM directory.accounts a JOIN directory.orgs o ON o.id = a.org_id"
    " JOIN directory.domains d ON d.id = a.domain_id"
    " LEFT JOIN mail.account_usage u ON u.account_id = a.id ";

account_info read_account(const pqxx::row& r) {
    account_info a;
    a.id = r[0].as<std::int64_t>();
    a.org_id = r[1].as<std::int64_t>();
    a.org = r[2].as<std::string>();
    a.domain_id = r[3].as<std::int64_t>();
    a.domain = r[4].as<std::string>();
    a.address = r[5].as<std::string>();
    a.display_name = r[6].as<std::string>();
    a.quota_bytes = opt_i64(r[7]);
    a.used_bytes = r[8].as<std::int64_t>();
    a.disabled = r[9].as<bool>();
    a.kind = r[10].as<std::string>();
    a.has_password = r[11].as<bool>();
    a.created_at = r[12].as<std::string>();
    return a;
}

// --- aliases

const std::string alias_select =
    "SELECT al.id, al.org_id, o.name, al.address, al.target_account_id, t.address, " + ts("al.created_at") +
    " FROM directory.aliases al JOIN directory.orgs o ON o.id = al.org_id"
    " JOIN directory.accounts t ON t.id = al.target_account_id ";

alias_info read_alias(const pqxx::row& r) {
    alias_info a;
    a.id = r[0].as<std::int64_t>();
    a.org_id = r[1].as<std::int64_t>();
    a.org = r[2].as<std::string>();
    a.address = r[3].as<std::string>();
    a.target_account_id = r[4].as<std::int64_t>();
    a.target = r[5].as<std::string>();
    a.created_at = r[6].as<std::string>();
    return a;
}

// --- groups

// Member addresses joined by ',' (never part of an address: not atext).
const std::string group_select =
    "SELECT g.id, g.org_id, o.name, g.name, g.address, " + ts("g.created_at") +
    ", (SELECT string_agg(a.address, ',' ORDER BY a.address) FROM directory.group_members m"
    "   JOIN directory.accounts a ON a.id = m.account_id WHERE m.group_id = g.id)"
    " FROM directory.groups g JOIN directory.orgs o ON o.id = g.org_id ";

group_info read_group(const pqxx::row& r) {
    group_info g;
    g.id = r[0].as<std::int64_t>();
    g.org_id = r[1].as<std::int64_t>();
    g.org = r[2].as<std::string>();
    g.name = r[3].as<std::string>();
    g.address = opt_str(r[4]);
    g.created_at = r[5].as<std::string>();
    if (!r[6].is_null()) {
        std::string all = r[6].as<std::string>();
        std::size_t start = 0;
        while (start <= all.size()) {
            auto comma = all.find(',', start);
            g.members.push_back(all.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    return g;
}

// --- app passwords

const std::string app_password_select =
    "SELECT id, account_id, public_id, label, " + ts("created_at") + ", " + ts("last_used_at") + ", " +
    ts("revoked_at") + " FROM directory.app_passwords ";

app_password_info read_app_password(const pqxx::row& r) {
    app_password_info p;
    p.id = r[0].as<std::int64_t>();
    p.account_id = r[1].as<std::int64_t>();
    p.public_id = r[2].as<std::string>();
    p.label = r[3].as<std::string>();
    p.created_at = r[4].as<std::string>();
    p.last_used_at = opt_str(r[5]);
    p.revoked_at = opt_str(r[6]);
    return p;
}

json quota_json(std::optional<std::int64_t> q) { return q ? json(*q) : json(nullptr); }

}  // namespace

// ---------------------------------------------------------------- organisations

result<org_info> find_org(pqxx::work& tx, std::string_view name) {
    auto r = db::exec_cached(tx, org_select + "WHERE o.name = $1", std::string(name));
    if (r.empty()) return errc::not_found;
    return read_org(r[0]);
}

result<org_info> find_org_by_id(pqxx::work& tx, std::int64_t id) {
    auto r = db::exec_cached(tx, org_select + "WHERE o.id = $1", id);
    if (r.empty()) return errc::not_found;
    return read_org(r[0]);
}

std::vector<org_info> list_orgs(pqxx::work& tx, std::optional<std::int64_t> org_id) {
    std::vector<org_info> out;
    for (const auto& row : db::exec_cached(tx, org_select + "WHERE ($1::bigint IS NULL OR o.id = $1) ORDER BY o.name", org_id))
        out.push_back(read_org(row));
    return out;
}

result<org_info> add_org(pqxx::work& tx, std::string_view name, const actor_context& who) {
    if (find_org(tx, name)) return errc::already_exists;
    try {
        auto r = db::exec_cached1(tx, "INSERT INTO directory.orgs (name) VALUES ($1) RETURNING id", std::string(name));
        auto id = r[0].as<std::int64_t>();
        audit(tx, "admin.org.add", id, std::nullopt, who.actor, who.remote_ip, {{"org", std::string(name)}});
        return find_org_by_id(tx, id);
    } catch (const pqxx::unique_violation&) {
        return errc::already_exists;
    }
}

object_counts count_org_objects(pqxx::work& tx, std::int64_t org_id) {
    auto r = db::exec_cached1(tx, 
        "SELECT (SELECT count(*) FROM directory.domains WHERE org_id = $1),"
        " (SELECT count(*) FROM directory.accounts WHERE org_id = $1),"
        " (SELECT count(*) FROM directory.aliases WHERE org_id = $1),"
        " (SELECT count(*) FROM directory.groups WHERE org_id = $1)",
        org_id);
    return {r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(), r[3].as<std::int64_t>()};
}

result<void> remove_org(pqxx::work& tx, const org_info& org, const actor_context& who) {
    auto counts = count_org_objects(tx, org.id);
    auto r = db::exec_cached(tx, "DELETE FROM directory.orgs WHERE id = $1", org.id);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.org.remove", org.id, std::nullopt, who.actor, who.remote_ip,
          {{"org", org.name},
           {"domains", counts.domains},
           {"accounts", counts.accounts},
           {"aliases", counts.aliases},
           {"groups", counts.groups}});
    return {};
}

// ---------------------------------------------------------------- domains

result<domain_info> find_domain(pqxx::work& tx, std::string_view name) {
    auto r = db::exec_cached(tx, domain_select + "WHERE d.name = $1", std::string(name));
    if (r.empty()) return errc::not_found;
    return read_domain(r[0]);
}

std::vector<domain_info> list_domains(pqxx::work& tx, std::optional<std::int64_t> org_id) {
    std::vector<domain_info> out;
    for (const auto& row :
         db::exec_cached(tx, domain_select + "WHERE ($1::bigint IS NULL OR d.org_id = $1) ORDER BY d.name", org_id))
        out.push_back(read_domain(row));
    return out;
}

result<domain_info> add_domain(pqxx::work& tx, const org_info& org, std::string_view name, const actor_context& who) {
    if (find_domain(tx, name)) return errc::already_exists;
    try {
        db::exec_cached(tx, "INSERT INTO directory.domains (org_id, name) VALUES ($1, $2)", org.id, std::string(name));
    } catch (const pqxx::unique_violation&) {
        return errc::already_exists;
    }
    audit(tx, "admin.domain.add", org.id, std::nullopt, who.actor, who.remote_ip,
          {{"org", org.name}, {"domain", std::string(name)}});
    return find_domain(tx, name);
}

object_counts count_domain_objects(pqxx::work& tx, std::int64_t domain_id) {
    auto r = db::exec_cached1(tx, 
        "SELECT 0, (SELECT count(*) FROM directory.accounts WHERE domain_id = $1),"
        " (SELECT count(*) FROM directory.aliases WHERE domain_id = $1),"
        " (SELECT count(*) FROM directory.groups WHERE domain_id = $1)",
        domain_id);
    return {0, r[1].as<std::int64_t>(), r[2].as<std::int64_t>(), r[3].as<std::int64_t>()};
}

result<void> remove_domain(pqxx::work& tx, const domain_info& domain, const actor_context& who) {
    auto counts = count_domain_objects(tx, domain.id);
    auto r = db::exec_cached(tx, "DELETE FROM directory.domains WHERE id = $1", domain.id);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.domain.remove", domain.org_id, std::nullopt, who.actor, who.remote_ip,
          {{"org", domain.org},
           {"domain", domain.name},
           {"accounts", counts.accounts},
           {"aliases", counts.aliases},
           {"groups", counts.groups}});
    return {};
}

// ---------------------------------------------------------------- addresses

result<address_owner> find_address(pqxx::work& tx, std::string_view address) {
    auto r = db::exec_cached(tx, "SELECT kind, owner_id, org_id FROM directory.addresses WHERE address = $1",
                            std::string(address));
    if (r.empty()) return errc::not_found;
    return address_owner{r[0][0].as<std::string>(), r[0][1].as<std::int64_t>(), r[0][2].as<std::int64_t>()};
}

// ---------------------------------------------------------------- accounts

result<account_info> add_account(pqxx::work& tx, const domain_info& domain, const new_account& account,
                                 const actor_context& who, const json& audit_details) {
    if (account.addr.domain != domain.name) return errc::invalid_argument;
    const std::string addr = account.addr.str();
    if (find_address(tx, addr)) return errc::already_exists;
    std::int64_t id = 0;
    std::string created_at;
    try {
        auto r = db::exec_cached1(tx, 
            "INSERT INTO directory.accounts (org_id, domain_id, local_part, address, display_name, password_hash,"
            " quota_bytes, kind, password_changed_at)"
            " VALUES ($1, $2, $3, $4, $5, $6::text, $7, $8, CASE WHEN $6::text IS NULL THEN NULL ELSE now() END)"
            " RETURNING id, " + ts("created_at"),
            domain.org_id, domain.id, account.addr.local_part, addr, account.display_name, account.password_hash,
            account.quota_bytes, account.kind);
        id = r[0].as<std::int64_t>();
        created_at = r[1].as<std::string>();
    } catch (const pqxx::unique_violation&) {
        return errc::already_exists;
    }
    json details = audit_details.is_object() ? audit_details : json::object();
    details["address"] = addr;
    details["kind"] = account.kind;
    details["quota_bytes"] = quota_json(account.quota_bytes);
    audit(tx, "admin.user.add", domain.org_id, id, who.actor, who.remote_ip, details);

    account_info a;
    a.id = id;
    a.org_id = domain.org_id;
    a.org = domain.org;
    a.domain_id = domain.id;
    a.domain = domain.name;
    a.address = addr;
    a.display_name = account.display_name;
    a.quota_bytes = account.quota_bytes;
    a.kind = account.kind;
    a.has_password = account.password_hash.has_value();
    a.created_at = created_at;
    return a;
}

result<account_info> find_account(pqxx::work& tx, std::string_view address) {
    auto r = db::exec_cached(tx, account_select + "WHERE a.address = $1", std::string(address));
    if (r.empty()) return errc::not_found;
    return read_account(r[0]);
}

result<account_info> find_account_by_id(pqxx::work& tx, std::int64_t id) {
    auto r = db::exec_cached(tx, account_select + "WHERE a.id = $1", id);
    if (r.empty()) return errc::not_found;
    return read_account(r[0]);
}

std::vector<account_info> list_accounts(pqxx::work& tx, std::optional<std::int64_t> org_id,
                                        std::optional<std::int64_t> domain_id) {
    std::vector<account_info> out;
    for (const auto& row : db::exec_cached(tx, account_select +
                                              "WHERE ($1::bigint IS NULL OR a.org_id = $1)"
                                              " AND ($2::bigint IS NULL OR a.domain_id = $2) ORDER BY a.address",
                                          org_id, domain_id))
        out.push_back(read_account(row));
    return out;
}

result<void> set_password_hash(pqxx::work& tx, const account_info& account, std::string_view hash,
                               const actor_context& who) {
    auto r = db::exec_cached(tx, "UPDATE directory.accounts SET password_hash = $2, password_changed_at = now() WHERE id = $1",
                            account.id, std::string(hash));
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.user.passwd", account.org_id, account.id, who.actor, who.remote_ip,
          {{"address", account.address}});
    return {};
}

result<void> set_disabled(pqxx::work& tx, const account_info& account, bool disabled, const actor_context& who) {
    auto r = db::exec_cached(tx, "UPDATE directory.accounts SET disabled = $2 WHERE id = $1", account.id, disabled);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, disabled ? "admin.user.disable" : "admin.user.enable", account.org_id, account.id, who.actor,
          who.remote_ip, {{"address", account.address}, {"was_disabled", account.disabled}});
    return {};
}

result<void> set_quota(pqxx::work& tx, const account_info& account, std::optional<std::int64_t> quota_bytes,
                       const actor_context& who) {
    if (quota_bytes && *quota_bytes < 0) return errc::invalid_argument;
    auto r = db::exec_cached(tx, "UPDATE directory.accounts SET quota_bytes = $2 WHERE id = $1", account.id, quota_bytes);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.quota.set", account.org_id, account.id, who.actor, who.remote_ip,
          {{"address", account.address},
           {"quota_bytes", quota_json(quota_bytes)},
           {"previous_quota_bytes", quota_json(account.quota_bytes)}});
    return {};
}

result<void> remove_account(pqxx::work& tx, const account_info& account, const actor_context& who) {
    auto aliases = db::exec_cached1(tx, "SELECT count(*) FROM directory.aliases WHERE target_account_id = $1", account.id);
    auto r = db::exec_cached(tx, "DELETE FROM directory.accounts WHERE id = $1", account.id);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.user.remove", account.org_id, account.id, who.actor, who.remote_ip,
          {{"address", account.address}, {"aliases_removed", aliases[0].as<std::int64_t>()}});
    return {};
}

// ---------------------------------------------------------------- aliases

result<alias_info> add_alias(pqxx::work& tx, const domain_info& domain, const address& alias,
                             const account_info& target, const actor_context& who) {
    if (alias.domain != domain.name) return errc::invalid_argument;
    if (domain.org_id != target.org_id) return errc::permission_denied;
    const std::string addr = alias.str();
    if (find_address(tx, addr)) return errc::already_exists;
    try {
        db::exec_cached(tx, 
            "INSERT INTO directory.aliases (org_id, domain_id, local_part, address, target_account_id)"
            " VALUES ($1, $2, $3, $4, $5)",
            domain.org_id, domain.id, alias.local_part, addr, target.id);
    } catch (const pqxx::unique_violation&) {
        return errc::already_exists;
    } catch (const pqxx::foreign_key_violation&) {
        return errc::permission_denied;
    }
    audit(tx, "admin.alias.add", domain.org_id, target.id, who.actor, who.remote_ip,
          {{"alias", addr}, {"target", target.address}});
    return find_alias(tx, addr);
}

result<alias_info> find_alias(pqxx::work& tx, std::string_view address) {
    auto r = db::exec_cached(tx, alias_select + "WHERE al.address = $1", std::string(address));
    if (r.empty()) return errc::not_found;
    return read_alias(r[0]);
}

std::vector<alias_info> list_aliases(pqxx::work& tx, std::optional<std::int64_t> org_id,
                                     std::optional<std::int64_t> target_account_id) {
    std::vector<alias_info> out;
    for (const auto& row :
         db::exec_cached(tx, alias_select +
                            "WHERE ($1::bigint IS NULL OR al.org_id = $1)"
                            " AND ($2::bigint IS NULL OR al.target_account_id = $2) ORDER BY al.address",
                        org_id, target_account_id))
        out.push_back(read_alias(row));
    return out;
}

result<void> remove_alias(pqxx::work& tx, const alias_info& alias, const actor_context& who) {
    auto r = db::exec_cached(tx, "DELETE FROM directory.aliases WHERE id = $1", alias.id);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.alias.remove", alias.org_id, alias.target_account_id, who.actor, who.remote_ip,
          {{"alias", alias.address}, {"target", alias.target}});
    return {};
}

// ---------------------------------------------------------------- groups

result<group_info> add_group(pqxx::work& tx, const org_info& org, std::string_view name, const domain_info* domain,
                             const std::optional<address>& addr, const actor_context& who) {
    if ((domain == nullptr) != !addr.has_value()) return errc::invalid_argument;
    if (domain && (domain->org_id != org.id)) return errc::permission_denied;
    if (domain && addr->domain != domain->name) return errc::invalid_argument;
    if (find_group(tx, org.id, name)) return errc::already_exists;
    std::optional<std::string> address_text;
    if (addr) {
        address_text = addr->str();
        if (find_address(tx, *address_text)) return errc::already_exists;
    }
    try {
        db::exec_cached(tx, 
            "INSERT INTO directory.groups (org_id, name, domain_id, local_part, address) VALUES ($1, $2, $3, $4, $5)",
            org.id, std::string(name), domain ? std::optional<std::int64_t>(domain->id) : std::nullopt,
            addr ? std::optional<std::string>(addr->local_part) : std::nullopt, address_text);
    } catch (const pqxx::unique_violation&) {
        return errc::already_exists;
    }
    audit(tx, "admin.group.add", org.id, std::nullopt, who.actor, who.remote_ip,
          {{"org", org.name}, {"group", std::string(name)}, {"address", address_text ? json(*address_text) : json()}});
    return find_group(tx, org.id, name);
}

result<group_info> find_group(pqxx::work& tx, std::int64_t org_id, std::string_view name) {
    auto r = db::exec_cached(tx, group_select + "WHERE g.org_id = $1 AND lower(g.name) = lower($2)", org_id,
                            std::string(name));
    if (r.empty()) return errc::not_found;
    return read_group(r[0]);
}

result<group_info> find_group_by_address(pqxx::work& tx, std::string_view address) {
    auto r = db::exec_cached(tx, group_select + "WHERE g.address = $1", std::string(address));
    if (r.empty()) return errc::not_found;
    return read_group(r[0]);
}

std::vector<group_info> find_groups_named(pqxx::work& tx, std::string_view name) {
    std::vector<group_info> out;
    for (const auto& row : db::exec_cached(tx, group_select + "WHERE lower(g.name) = lower($1) ORDER BY o.name",
                                          std::string(name)))
        out.push_back(read_group(row));
    return out;
}

std::vector<group_info> list_groups(pqxx::work& tx, std::optional<std::int64_t> org_id,
                                    std::optional<std::int64_t> member_account_id) {
    std::vector<group_info> out;
    for (const auto& row : db::exec_cached(tx, 
             group_select +
                 "WHERE ($1::bigint IS NULL OR g.org_id = $1) AND ($2::bigint IS NULL OR EXISTS ("
                 " SELECT 1 FROM directory.group_members m WHERE m.group_id = g.id AND m.account_id = $2))"
                 " ORDER BY o.name, lower(g.name)",
             org_id, member_account_id))
        out.push_back(read_group(row));
    return out;
}

result<void> remove_group(pqxx::work& tx, const group_info& group, const actor_context& who) {
    auto r = db::exec_cached(tx, "DELETE FROM directory.groups WHERE id = $1", group.id);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.group.remove", group.org_id, std::nullopt, who.actor, who.remote_ip,
          {{"org", group.org},
           {"group", group.name},
           {"address", group.address ? json(*group.address) : json()},
           {"members", group.members.size()}});
    return {};
}

result<void> add_group_member(pqxx::work& tx, const group_info& group, const account_info& member,
                              const actor_context& who) {
    if (group.org_id != member.org_id) return errc::permission_denied;
    auto exists = db::exec_cached(tx, "SELECT 1 FROM directory.group_members WHERE group_id = $1 AND account_id = $2",
                                 group.id, member.id);
    if (!exists.empty()) return errc::already_exists;
    try {
        db::exec_cached(tx, "INSERT INTO directory.group_members (group_id, account_id, org_id) VALUES ($1, $2, $3)",
                       group.id, member.id, group.org_id);
    } catch (const pqxx::unique_violation&) {
        return errc::already_exists;
    } catch (const pqxx::foreign_key_violation&) {
        return errc::permission_denied;
    }
    audit(tx, "admin.group.member.add", group.org_id, member.id, who.actor, who.remote_ip,
          {{"group", group.name}, {"member", member.address}});
    return {};
}

result<void> remove_group_member(pqxx::work& tx, const group_info& group, const account_info& member,
                                 const actor_context& who) {
    auto r = db::exec_cached(tx, "DELETE FROM directory.group_members WHERE group_id = $1 AND account_id = $2", group.id,
                            member.id);
    if (r.affected_rows() == 0) return errc::not_found;
    audit(tx, "admin.group.member.remove", group.org_id, member.id, who.actor, who.remote_ip,
          {{"group", group.name}, {"member", member.address}});
    return {};
}

// ---------------------------------------------------------------- app passwords

result<created_app_password> add_app_password(pqxx::work& tx, const account_info& account, std::string_view label,
                                              const config::auth_settings& settings, const actor_context& who) {
    auto counts = db::exec_cached1(tx, 
        "SELECT count(*), count(*) FILTER (WHERE lower(label) = lower($2))"
        " FROM directory.app_passwords WHERE account_id = $1 AND revoked_at IS NULL",
        account.id, std::string(label));
    if (counts[1].as<std::int64_t>() > 0) return errc::already_exists;
    if (counts[0].as<std::int64_t>() >= static_cast<std::int64_t>(max_app_passwords_per_account))
        return errc::limit_exceeded;

    // 40-bit public ids collide rarely; draw again rather than fail.
    new_app_password pw = generate_app_password();
    for (int attempt = 0;; ++attempt) {
        auto taken = db::exec_cached(tx, "SELECT 1 FROM directory.app_passwords WHERE public_id = $1", pw.token.public_id);
        if (taken.empty()) break;
        if (attempt == 8) return errc::conflict;
        pw = generate_app_password();
    }
    const std::string hash = hash_password(pw.token.canonical, settings);
    std::int64_t id = 0;
    try {
        auto r = db::exec_cached1(tx, 
            "INSERT INTO directory.app_passwords (account_id, public_id, label, hash) VALUES ($1, $2, $3, $4)"
            " RETURNING id",
            account.id, pw.token.public_id, std::string(label), hash);
        id = r[0].as<std::int64_t>();
    } catch (const pqxx::unique_violation&) {
        return errc::already_exists;
    }
    audit(tx, "admin.app_password.add", account.org_id, account.id, who.actor, who.remote_ip,
          {{"address", account.address}, {"app_password_id", id}, {"label", std::string(label)},
           {"public_id", pw.token.public_id}});
    auto r = db::exec_cached(tx, app_password_select + "WHERE id = $1", id);
    return created_app_password{read_app_password(r[0]), pw.display};
}

std::vector<app_password_info> list_app_passwords(pqxx::work& tx, std::int64_t account_id) {
    std::vector<app_password_info> out;
    for (const auto& row : db::exec_cached(tx, app_password_select + "WHERE account_id = $1 ORDER BY created_at, id",
                                          account_id))
        out.push_back(read_app_password(row));
    return out;
}

result<app_password_info> revoke_app_password(pqxx::work& tx, const account_info& account,
                                              std::int64_t app_password_id, const actor_context& who) {
    auto r = db::exec_cached(tx, app_password_select + "WHERE id = $1 AND account_id = $2", app_password_id, account.id);
    if (r.empty()) return errc::not_found;
    auto info = read_app_password(r[0]);
    if (info.revoked_at) return errc::conflict;
    db::exec_cached(tx, "UPDATE directory.app_passwords SET revoked_at = now() WHERE id = $1", app_password_id);
    audit(tx, "admin.app_password.revoke", account.org_id, account.id, who.actor, who.remote_ip,
          {{"address", account.address}, {"app_password_id", app_password_id}, {"label", info.label}});
    auto after = db::exec_cached(tx, app_password_select + "WHERE id = $1", app_password_id);
    return read_app_password(after[0]);
}

// ---------------------------------------------------------------- recipients

result<std::vector<account_info>> resolve_recipients(pqxx::work& tx, std::string_view address) {
    auto owner = find_address(tx, address);
    if (!owner) return owner.error();
    std::vector<account_info> out;
    if (owner->kind == "account") {
        auto a = find_account_by_id(tx, owner->owner_id);
        if (a && !a->disabled) out.push_back(std::move(*a));
    } else if (owner->kind == "alias") {
        auto r = db::exec_cached(tx, account_select + "JOIN directory.aliases al ON al.target_account_id = a.id"
                                                 " WHERE al.id = $1 AND NOT a.disabled",
                                owner->owner_id);
        for (const auto& row : r) out.push_back(read_account(row));
    } else {
        auto r = db::exec_cached(tx, account_select + "JOIN directory.group_members m ON m.account_id = a.id"
                                                 " WHERE m.group_id = $1 AND NOT a.disabled ORDER BY a.address",
                                owner->owner_id);
        for (const auto& row : r) out.push_back(read_account(row));
    }
    if (out.empty()) return errc::not_found;
    return out;
}

}  // namespace polder::auth
