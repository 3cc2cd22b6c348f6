// store.cpp - SQL of polder-caldavd (see store.hpp).
//
// SECURITY: parameterized statements only; lookups are scoped by account or collection.
// STANDARDS: RFC 6578 (modseq and tombstones).
#include "store.hpp"

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
           ", octet_length(data), modseq, recurring, floating, transparent, extract(epoch FROM modified_at)::bigint, exact";
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
    return true;
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

}  // namespace polder::caldav::store
