// store.cpp - SQL of polder-caldavd (see store.hpp).
//
// SECURITY: parameterized statements only; lookups are scoped by account or collection.
// STANDARDS: RFC 6578 (modseq and tombstones).
#include "store.hpp"

#include <algorithm>

namespace polder::caldav::store {

namespace {

constexpr const char* collection_columns =
    "id, account_id, kind, name, displayname, description, color, timezone, array_to_string(components, ','), "
    "modseq, extract(epoch FROM created_at)::bigint";

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= s.size() && !s.empty()) {
        auto end = s.find(',', pos);
        if (end == std::string::npos) end = s.size();
        if (end > pos) out.push_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    return out;
}

std::string join_commas(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) {
        if (!out.empty()) out += ',';
        out += x;
    }
    return out;
}

collection read_collection(const pqxx::row& r) {
    collection c;
    c.id = r[0].as<std::int64_t>();
    c.account_id = r[1].as<std::int64_t>();
    c.kind = r[2].as<std::string>();
    c.name = r[3].as<std::string>();
    c.displayname = r[4].as<std::string>();
    c.description = r[5].as<std::string>();
    c.color = r[6].as<std::string>();
    c.timezone = r[7].as<std::string>();
    c.components = split_commas(r[8].as<std::string>());
    c.modseq = r[9].as<std::int64_t>();
    c.created = r[10].as<std::int64_t>();
    return c;
}

std::string object_columns(bool with_data) {
    return std::string("id, name, uid, component, etag, ") + (with_data ? "data" : "''") +
           ", octet_length(data), modseq, recurring, floating, transparent, extract(epoch FROM modified_at)::bigint, exact, "
           "coalesce(schedule_tag, '')";
}

std::vector<object> read_objects(const pqxx::result& rows) {
    std::vector<object> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        object o;
        o.id = r[0].as<std::int64_t>();
        o.name = r[1].as<std::string>();
        o.uid = r[2].as<std::string>();
        o.component = r[3].as<std::string>();
        o.etag = r[4].as<std::string>();
        o.data = r[5].as<std::string>();
        o.size = r[6].as<std::int64_t>();
        o.modseq = r[7].as<std::int64_t>();
        o.recurring = r[8].as<bool>();
        o.floating = r[9].as<bool>();
        o.transparent = r[10].as<bool>();
        o.modified = r[11].as<std::int64_t>();
        o.exact = r[12].as<bool>();
        o.schedule_tag = r[13].as<std::string>();
        out.push_back(std::move(o));
    }
    return out;
}

std::optional<std::string> bound(const std::optional<std::int64_t>& v) {
    if (!v) return std::nullopt;
    return std::to_string(*v);
}

}  // namespace

bool ensure_home(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id) {
    auto r = tx.exec_params(
        "INSERT INTO cal.homes (account_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING account_id",
        account_id, org_id);
    if (r.empty()) return false;
    collection agenda;
    agenda.kind = "calendar";
    agenda.name = "agenda";
    agenda.displayname = "Agenda";
    agenda.components = {"VEVENT"};
    create_collection(tx, account_id, org_id, agenda);
    collection tasks;
    tasks.kind = "calendar";
    tasks.name = "tasks";
    tasks.displayname = "Tasks";
    tasks.components = {"VTODO"};
    create_collection(tx, account_id, org_id, tasks);
    collection contacts;
    contacts.kind = "addressbook";
    contacts.name = "contacts";
    contacts.displayname = "Contacts";
    create_collection(tx, account_id, org_id, contacts);
    ensure_inbox(tx, account_id, org_id);
    return true;
}

std::int64_t ensure_inbox(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id) {
    if (auto c = find_collection(tx, account_id, "calendar", inbox_name)) return c->id;
    collection inbox;
    inbox.kind = "calendar";
    inbox.name = std::string(inbox_name);
    inbox.displayname = "Inbox";
    inbox.components = {"VEVENT", "VTODO", "VFREEBUSY"};
    if (auto id = create_collection(tx, account_id, org_id, inbox)) return *id;
    return find_collection(tx, account_id, "calendar", inbox_name)->id;
}

void set_schedule_tag(pqxx::work& tx, std::int64_t collection_id, std::string_view name, std::string_view tag) {
    tx.exec_params("UPDATE cal.objects SET schedule_tag = nullif($3, '') WHERE collection_id = $1 AND name = $2",
                   collection_id, std::string(name), std::string(tag));
}

std::optional<located> find_by_uid(pqxx::work& tx, std::int64_t account_id, std::string_view uid) {
    auto rows = tx.exec_params("SELECT c.name FROM cal.objects o JOIN cal.collections c ON c.id = o.collection_id "
                               "WHERE c.account_id = $1 AND c.kind = 'calendar' AND c.name <> $3 AND o.uid = $2 "
                               "ORDER BY c.id LIMIT 1",
                               account_id, std::string(uid), std::string(inbox_name));
    if (rows.empty()) return std::nullopt;
    auto coll = find_collection(tx, account_id, "calendar", rows[0][0].as<std::string>());
    if (!coll) return std::nullopt;
    auto name = name_of_uid(tx, coll->id, uid);
    if (!name) return std::nullopt;
    auto obj = find_object(tx, coll->id, *name, true);
    if (!obj) return std::nullopt;
    return located{std::move(*coll), std::move(*obj)};
}

std::optional<collection> default_calendar(pqxx::work& tx, std::int64_t account_id, std::string_view component) {
    std::optional<collection> first;
    for (auto& c : collections(tx, account_id, "calendar")) {
        if (c.name == inbox_name) continue;
        if (std::find(c.components.begin(), c.components.end(), component) == c.components.end()) continue;
        if (c.name == "agenda") return c;
        if (!first) first = c;
    }
    return first;
}

std::vector<std::string> busy_objects(pqxx::work& tx, std::int64_t account_id, std::int64_t lo, std::int64_t hi,
                                      std::string_view except) {
    auto rows = tx.exec_params(
        "SELECT o.data FROM cal.objects o JOIN cal.collections c ON c.id = o.collection_id "
        "WHERE c.account_id = $1 AND c.kind = 'calendar' AND c.name <> $4 AND o.component IN ('VEVENT', 'VFREEBUSY') "
        "AND o.span && int8range($2::bigint, $3::bigint, '[)') AND o.uid <> $5 LIMIT 10000",
        account_id, lo, hi, std::string(inbox_name), std::string(except));
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[0].as<std::string>());
    return out;
}

std::optional<resource_info> find_resource(pqxx::work& tx, std::int64_t account_id) {
    auto rows = tx.exec_params("SELECT kind, auto_accept, capacity FROM cal.resources WHERE account_id = $1", account_id);
    if (rows.empty()) return std::nullopt;
    resource_info r;
    r.kind = rows[0][0].as<std::string>();
    r.auto_accept = rows[0][1].as<bool>();
    if (!rows[0][2].is_null()) r.capacity = rows[0][2].as<int>();
    return r;
}

std::vector<collection> collections(pqxx::work& tx, std::int64_t account_id, std::string_view kind) {
    auto rows = tx.exec_params(std::string("SELECT ") + collection_columns +
                                   " FROM cal.collections WHERE account_id = $1 AND kind = $2 ORDER BY name",
                               account_id, std::string(kind));
    std::vector<collection> out;
    for (const auto& r : rows) out.push_back(read_collection(r));
    return out;
}

std::optional<collection> find_collection(pqxx::work& tx, std::int64_t account_id, std::string_view kind,
                                          std::string_view name) {
    auto rows = tx.exec_params(std::string("SELECT ") + collection_columns +
                                   " FROM cal.collections WHERE account_id = $1 AND kind = $2 AND name = $3",
                               account_id, std::string(kind), std::string(name));
    if (rows.empty()) return std::nullopt;
    return read_collection(rows[0]);
}

std::optional<std::int64_t> create_collection(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id,
                                              const collection& c) {
    auto r = tx.exec_params(
        "INSERT INTO cal.collections (account_id, org_id, kind, name, displayname, description, color, timezone, "
        "components) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce(string_to_array(nullif($9, ''), ','), '{}')::text[]) "
        "ON CONFLICT (account_id, kind, name) DO NOTHING RETURNING id",
        account_id, org_id, c.kind, c.name, c.displayname, c.description, c.color, c.timezone,
        join_commas(c.components));
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::int64_t>();
}

void update_collection(pqxx::work& tx, const collection& c) {
    tx.exec_params("UPDATE cal.collections SET displayname = $2, description = $3, color = $4, timezone = $5, "
                   "modseq = modseq + 1 WHERE id = $1",
                   c.id, c.displayname, c.description, c.color, c.timezone);
}

void delete_collection(pqxx::work& tx, std::int64_t id) {
    tx.exec_params("DELETE FROM cal.collections WHERE id = $1", id);
}

std::int64_t bump(pqxx::work& tx, std::int64_t collection_id) {
    return tx.exec_params1("UPDATE cal.collections SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq",
                           collection_id)[0]
        .as<std::int64_t>();
}

std::vector<dead_property> dead_properties(pqxx::work& tx, std::int64_t collection_id) {
    auto rows = tx.exec_params(
        "SELECT ns, local, value_xml FROM cal.collection_props WHERE collection_id = $1 ORDER BY ns, local",
        collection_id);
    std::vector<dead_property> out;
    for (const auto& r : rows) out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()});
    return out;
}

void set_dead_property(pqxx::work& tx, std::int64_t collection_id, const dead_property& p) {
    tx.exec_params("INSERT INTO cal.collection_props (collection_id, ns, local, value_xml) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (collection_id, ns, local) DO UPDATE SET value_xml = EXCLUDED.value_xml",
                   collection_id, p.ns, p.local, p.value_xml);
}

void remove_dead_property(pqxx::work& tx, std::int64_t collection_id, std::string_view ns, std::string_view local) {
    tx.exec_params("DELETE FROM cal.collection_props WHERE collection_id = $1 AND ns = $2 AND local = $3",
                   collection_id, std::string(ns), std::string(local));
}

std::optional<object> find_object(pqxx::work& tx, std::int64_t collection_id, std::string_view name, bool with_data) {
    auto rows = tx.exec_params("SELECT " + object_columns(with_data) +
                                   " FROM cal.objects WHERE collection_id = $1 AND name = $2",
                               collection_id, std::string(name));
    auto v = read_objects(rows);
    if (v.empty()) return std::nullopt;
    return std::move(v[0]);
}

std::vector<object> objects(pqxx::work& tx, std::int64_t collection_id, bool with_data) {
    return read_objects(tx.exec_params(
        "SELECT " + object_columns(with_data) + " FROM cal.objects WHERE collection_id = $1 ORDER BY name",
        collection_id));
}

std::vector<object> objects_named(pqxx::work& tx, std::int64_t collection_id, const std::vector<std::string>& names,
                                  bool with_data) {
    // The names travel as one JSON array parameter that PostgreSQL parses: one statement
    // for a 1000-href multiget, and no name can change the statement's text.
    std::string json = "[";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i) json += ',';
        json += '"';
        for (unsigned char ch : names[i]) {
            if (ch == '"' || ch == '\\') {
                json += '\\';
                json += static_cast<char>(ch);
            } else if (ch < 0x20) {
                static const char* hex = "0123456789abcdef";
                json += "\\u00";
                json += hex[ch >> 4];
                json += hex[ch & 15];
            } else {
                json += static_cast<char>(ch);
            }
        }
        json += '"';
    }
    json += ']';
    return read_objects(tx.exec_params(
        "SELECT " + object_columns(with_data) +
            " FROM cal.objects WHERE collection_id = $1 AND name IN "
            "(SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY name",
        collection_id, json));
}

std::vector<object> objects_in_range(pqxx::work& tx, std::int64_t collection_id, std::optional<std::int64_t> lo,
                                     std::optional<std::int64_t> hi, bool include_untimed, bool with_data,
                                     bool by_instances) {
    return read_objects(tx.exec_params(
        "SELECT " + object_columns(with_data) +
            " FROM cal.objects o WHERE collection_id = $1 AND (span && int8range($2::bigint, $3::bigint, '[)')" +
            (include_untimed ? " OR span IS NULL)" : ")") +
            (by_instances ? " AND (NOT (recurring AND exact) OR EXISTS (SELECT 1 FROM cal.instances i "
                            "WHERE i.object_id = o.id AND i.span && int8range($2::bigint, $3::bigint, '[)')))"
                          : "") +
            " ORDER BY name",
        collection_id, bound(lo), bound(hi)));
}

std::optional<std::string> name_of_uid(pqxx::work& tx, std::int64_t collection_id, std::string_view uid) {
    auto r = tx.exec_params("SELECT name FROM cal.objects WHERE collection_id = $1 AND uid = $2", collection_id,
                            std::string(uid));
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::string>();
}

std::int64_t put_object(pqxx::work& tx, std::int64_t collection_id, std::string_view name, std::string_view uid,
                        std::string_view component, std::string_view etag, std::string_view data,
                        const object_times& t) {
    const auto modseq = bump(tx, collection_id);
    std::optional<std::string> lo, hi;
    if (t.has_span) {
        lo = bound(t.lo);
        hi = bound(t.hi);
    }
    const auto id = tx.exec_params1(
        "INSERT INTO cal.objects (collection_id, name, uid, component, etag, data, modseq, span, recurring, floating, "
        "transparent, exact) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "CASE WHEN $8::boolean THEN int8range($9::bigint, $10::bigint, '[)') END, $11, $12, $13, $14) "
        "ON CONFLICT (collection_id, name) DO UPDATE SET uid = EXCLUDED.uid, component = EXCLUDED.component, "
        "etag = EXCLUDED.etag, data = EXCLUDED.data, modseq = EXCLUDED.modseq, span = EXCLUDED.span, "
        "recurring = EXCLUDED.recurring, floating = EXCLUDED.floating, transparent = EXCLUDED.transparent, "
        "exact = EXCLUDED.exact, modified_at = now() RETURNING id",
        collection_id, std::string(name), std::string(uid), std::string(component), std::string(etag),
        std::string(data), modseq, t.has_span, lo, hi, t.recurring, t.floating, t.transparent, t.exact)[0]
                        .as<std::int64_t>();
    tx.exec_params("DELETE FROM cal.instances WHERE object_id = $1", id);
    if (!t.instances.empty()) {
        // One statement for all instances: a JSON array of [start, end] pairs.
        std::string json = "[";
        for (std::size_t i = 0; i < t.instances.size(); ++i) {
            if (i) json += ',';
            json += "[" + std::to_string(t.instances[i].first) + "," + std::to_string(t.instances[i].second) + "]";
        }
        json += "]";
        tx.exec_params("INSERT INTO cal.instances (object_id, span) SELECT $1, int8range((e->>0)::bigint, "
                       "(e->>1)::bigint, '[)') FROM jsonb_array_elements($2::jsonb) e",
                       id, json);
    }
    tx.exec_params("DELETE FROM cal.tombstones WHERE collection_id = $1 AND name = $2", collection_id,
                   std::string(name));
    return modseq;
}

bool delete_object(pqxx::work& tx, std::int64_t collection_id, std::string_view name) {
    auto r = tx.exec_params("DELETE FROM cal.objects WHERE collection_id = $1 AND name = $2 RETURNING id",
                            collection_id, std::string(name));
    if (r.empty()) return false;
    const auto modseq = bump(tx, collection_id);
    tx.exec_params("INSERT INTO cal.tombstones (collection_id, name, modseq) VALUES ($1, $2, $3) "
                   "ON CONFLICT (collection_id, name) DO UPDATE SET modseq = EXCLUDED.modseq",
                   collection_id, std::string(name), modseq);
    return true;
}

std::vector<object> changed_since(pqxx::work& tx, std::int64_t collection_id, std::int64_t modseq, bool with_data) {
    return read_objects(tx.exec_params("SELECT " + object_columns(with_data) +
                                           " FROM cal.objects WHERE collection_id = $1 AND modseq > $2 ORDER BY modseq",
                                       collection_id, modseq));
}

std::vector<std::string> deleted_since(pqxx::work& tx, std::int64_t collection_id, std::int64_t modseq) {
    auto rows = tx.exec_params(
        "SELECT name FROM cal.tombstones WHERE collection_id = $1 AND modseq > $2 ORDER BY modseq", collection_id,
        modseq);
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[0].as<std::string>());
    return out;
}

std::vector<directory_row> directory(pqxx::work& tx, std::int64_t org_id) {
    std::vector<directory_row> out;
    auto accounts = tx.exec_params(
        "SELECT a.id, a.address, a.display_name, extract(epoch FROM coalesce(a.password_changed_at, a.created_at))::bigint, "
        "coalesce((SELECT string_agg(al.address, ',' ORDER BY al.address) FROM directory.aliases al "
        "WHERE al.target_account_id = a.id AND al.org_id = a.org_id), '') "
        "FROM directory.accounts a WHERE a.org_id = $1 AND NOT a.disabled ORDER BY a.id",
        org_id);
    for (const auto& r : accounts) {
        directory_row d;
        d.id = r[0].as<std::int64_t>();
        d.address = r[1].as<std::string>();
        d.display_name = r[2].as<std::string>();
        d.changed = r[3].as<std::int64_t>();
        d.aliases = split_commas(r[4].as<std::string>());
        out.push_back(std::move(d));
    }
    auto groups = tx.exec_params(
        "SELECT g.id, coalesce(g.address, ''), g.name, extract(epoch FROM g.created_at)::bigint, "
        "coalesce((SELECT string_agg(m.account_id::text, ',' ORDER BY m.account_id) FROM directory.group_members m "
        "JOIN directory.accounts a ON a.id = m.account_id AND NOT a.disabled "
        "WHERE m.group_id = g.id AND m.org_id = g.org_id), '') "
        "FROM directory.groups g WHERE g.org_id = $1 ORDER BY g.id",
        org_id);
    for (const auto& r : groups) {
        directory_row d;
        d.id = r[0].as<std::int64_t>();
        d.group = true;
        d.address = r[1].as<std::string>();
        d.display_name = r[2].as<std::string>();
        d.changed = r[3].as<std::int64_t>();
        for (const auto& m : split_commas(r[4].as<std::string>())) d.members.push_back(std::stoll(m));
        out.push_back(std::move(d));
    }
    return out;
}

std::string org_name(pqxx::work& tx, std::int64_t org_id) {
    auto r = tx.exec_params("SELECT name FROM directory.orgs WHERE id = $1", org_id);
    return r.empty() ? std::string() : r[0][0].as<std::string>();
}

namespace {

std::string bare_address(std::string_view a) {
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    if (a.size() >= 7) {
        std::string scheme(a.substr(0, 7));
        for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (scheme == "mailto:") a.remove_prefix(7);
    }
    std::string out(a);
    for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

}  // namespace

std::optional<calendar_user> find_user(pqxx::work& tx, std::int64_t org_id, std::string_view address) {
    const auto a = bare_address(address);
    if (a.empty() || a.size() > 320) return std::nullopt;
    auto rows = tx.exec_params(
        "SELECT acc.id, acc.address, acc.display_name, acc.kind FROM directory.addresses d "
        "JOIN directory.accounts acc ON acc.org_id = d.org_id AND NOT acc.disabled AND acc.id = CASE d.kind "
        "WHEN 'account' THEN d.owner_id "
        "ELSE (SELECT al.target_account_id FROM directory.aliases al WHERE al.id = d.owner_id AND al.org_id = d.org_id) END "
        "WHERE d.address = $2 AND d.org_id = $1 AND d.kind IN ('account', 'alias')",
        org_id, a);
    if (rows.empty()) return std::nullopt;
    return calendar_user{rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>(), rows[0][2].as<std::string>(),
                         rows[0][3].as<std::string>()};
}

std::optional<std::int64_t> find_group(pqxx::work& tx, std::int64_t org_id, std::string_view address_or_name) {
    auto rows = tx.exec_params("SELECT id FROM directory.groups WHERE org_id = $1 AND (address = $2 OR name = $3) "
                               "ORDER BY address = $2 DESC LIMIT 1",
                               org_id, bare_address(address_or_name), std::string(address_or_name));
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::int64_t>();
}

std::vector<std::string> user_addresses(pqxx::work& tx, std::int64_t account_id) {
    auto rows = tx.exec_params("SELECT address FROM directory.accounts WHERE id = $1 UNION ALL "
                               "(SELECT address FROM directory.aliases WHERE target_account_id = $1 ORDER BY address)",
                               account_id);
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r[0].as<std::string>());
    return out;
}

std::vector<principal_row> org_principals(pqxx::work& tx, std::int64_t org_id) {
    auto rows = tx.exec_params(
        "SELECT a.address, a.display_name, CASE r.kind WHEN 'room' THEN 'ROOM' WHEN 'equipment' THEN 'RESOURCE' "
        "ELSE 'INDIVIDUAL' END, coalesce((SELECT string_agg(al.address, ',' ORDER BY al.address) FROM directory.aliases al "
        "WHERE al.target_account_id = a.id AND al.org_id = a.org_id), '') "
        "FROM directory.accounts a LEFT JOIN cal.resources r ON r.account_id = a.id "
        "WHERE a.org_id = $1 AND NOT a.disabled AND (a.kind = 'user' OR r.account_id IS NOT NULL) "
        "ORDER BY a.address LIMIT 20000",
        org_id);
    std::vector<principal_row> out;
    for (const auto& r : rows) {
        principal_row p;
        p.address = r[0].as<std::string>();
        p.display_name = r[1].as<std::string>();
        p.user_type = r[2].as<std::string>();
        p.addresses.push_back(p.address);
        for (auto& a : split_commas(r[3].as<std::string>())) p.addresses.push_back(std::move(a));
        out.push_back(std::move(p));
    }
    return out;
}

namespace {

// The shares reaching an account: its own rows and those of the groups it is in now.
std::vector<access> read_shared(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id, std::string_view kind,
                                std::optional<std::int64_t> id) {
    std::string cols;
    for (std::string_view col : {"id", "account_id", "kind", "name", "displayname", "description", "color", "timezone"})
        cols += std::string("c.") + std::string(col) + ", ";
    auto rows = tx.exec_params(
        "SELECT " + cols + "array_to_string(c.components, ','), c.modseq, extract(epoch FROM c.created_at)::bigint, "
        "bool_or(s.writable), a.address, a.display_name "
        "FROM cal.shares s JOIN cal.collections c ON c.id = s.collection_id AND c.org_id = s.org_id "
        "JOIN directory.accounts a ON a.id = c.account_id AND NOT a.disabled "
        "WHERE s.org_id = $2 AND c.kind = $3 AND c.account_id <> $1 AND ($4::bigint IS NULL OR c.id = $4) "
        "AND (s.account_id = $1 OR s.group_id IN (SELECT m.group_id FROM directory.group_members m "
        "WHERE m.account_id = $1 AND m.org_id = $2)) "
        "GROUP BY c.id, a.address, a.display_name ORDER BY c.id",
        account_id, org_id, std::string(kind), id);
    std::vector<access> out;
    for (const auto& r : rows) {
        access a;
        a.coll = read_collection(r);
        a.shared = true;
        a.writable = r[11].as<bool>();
        a.owner = r[12].as<std::string>();
        a.owner_name = r[13].as<std::string>();
        out.push_back(std::move(a));
    }
    return out;
}

}  // namespace

std::optional<access> shared_collection(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id,
                                        std::string_view kind, std::int64_t id) {
    auto v = read_shared(tx, account_id, org_id, kind, id);
    if (v.empty()) return std::nullopt;
    return std::move(v[0]);
}

std::vector<access> shared_with(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id, std::string_view kind) {
    return read_shared(tx, account_id, org_id, kind, std::nullopt);
}

std::vector<share_row> shares_of(pqxx::work& tx, std::int64_t collection_id) {
    auto rows = tx.exec_params(
        "SELECT s.group_id IS NOT NULL, coalesce(a.address, g.address, ''), coalesce(a.display_name, g.name, ''), "
        "s.writable FROM cal.shares s LEFT JOIN directory.accounts a ON a.id = s.account_id "
        "LEFT JOIN directory.groups g ON g.id = s.group_id WHERE s.collection_id = $1 "
        "ORDER BY s.group_id IS NOT NULL, 2, 3",
        collection_id);
    std::vector<share_row> out;
    for (const auto& r : rows)
        out.push_back({r[0].as<bool>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<bool>()});
    return out;
}

void set_share(pqxx::work& tx, std::int64_t org_id, std::int64_t collection_id, std::optional<std::int64_t> account_id,
               std::optional<std::int64_t> group_id, bool writable) {
    auto updated = tx.exec_params(
        "UPDATE cal.shares SET writable = $4 WHERE collection_id = $1 AND account_id IS NOT DISTINCT FROM $2 "
        "AND group_id IS NOT DISTINCT FROM $3 RETURNING id",
        collection_id, account_id, group_id, writable);
    if (updated.empty())
        tx.exec_params("INSERT INTO cal.shares (org_id, collection_id, account_id, group_id, writable) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       org_id, collection_id, account_id, group_id, writable);
    // Sharees' clients notice a new or changed share by the collection's change counter.
    bump(tx, collection_id);
}

bool remove_share(pqxx::work& tx, std::int64_t collection_id, std::optional<std::int64_t> account_id,
                  std::optional<std::int64_t> group_id) {
    auto r = tx.exec_params("DELETE FROM cal.shares WHERE collection_id = $1 AND account_id IS NOT DISTINCT FROM $2 "
                            "AND group_id IS NOT DISTINCT FROM $3 RETURNING id",
                            collection_id, account_id, group_id);
    return !r.empty();
}

}  // namespace polder::caldav::store
