// store.cpp - SQL of the files schema.
//
// SECURITY: parameterised SQL only, every statement scoped by home_id.
// Subtree tests use starts_with(path, base || '/'), never LIKE, so '%' and
// '_' in names are plain characters.
// STANDARDS: RFC 4918, RFC 6578 (see store.hpp).
#include "store.hpp"

#include "paths.hpp"

#include <map>

namespace polder::webdav::store {

namespace {

// "path is base or below it"; $2 is base.
constexpr const char* under_2 = "($2 = '' OR path = $2 OR starts_with(path, $2 || '/'))";

constexpr const char* node_columns =
    "id, parent_id, path, name, is_collection, file_id::text, coalesce(blob_id, ''), size, content_type, etag, "
    "modseq, extract(epoch FROM created_at)::bigint, extract(epoch FROM modified_at)::bigint";

node read_node(const pqxx::row& r) {
    node n;
    n.id = r[0].as<std::int64_t>();
    if (!r[1].is_null()) n.parent_id = r[1].as<std::int64_t>();
    n.path = r[2].as<std::string>();
    n.name = r[3].as<std::string>();
    n.collection = r[4].as<bool>();
    n.file_id = r[5].as<std::string>();
    n.blob_id = r[6].as<std::string>();
    n.size = r[7].as<std::int64_t>();
    n.content_type = r[8].as<std::string>();
    n.etag = r[9].as<std::string>();
    n.modseq = r[10].as<std::int64_t>();
    n.created = r[11].as<std::int64_t>();
    n.modified = r[12].as<std::int64_t>();
    if (n.collection) n.etag = "\"d" + std::to_string(n.id) + "-" + std::to_string(n.modseq) + "\"";
    return n;
}

std::vector<node> read_nodes(const pqxx::result& rows) {
    std::vector<node> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back(read_node(r));
    return out;
}

constexpr const char* lock_columns =
    "token, path, depth_infinite, exclusive, owner_xml, account_id, timeout_seconds, "
    "greatest(0, ceil(extract(epoch FROM expires_at - now())))::bigint";

lock read_lock(const pqxx::row& r) {
    lock l;
    l.token = r[0].as<std::string>();
    l.path = r[1].as<std::string>();
    l.infinite = r[2].as<bool>();
    l.exclusive = r[3].as<bool>();
    l.owner_xml = r[4].as<std::string>();
    l.account_id = r[5].as<std::int64_t>();
    l.timeout_seconds = r[6].as<std::int64_t>();
    l.remaining_seconds = r[7].as<std::int64_t>();
    return l;
}

std::vector<lock> read_locks(const pqxx::result& rows) {
    std::vector<lock> out;
    for (const auto& r : rows) out.push_back(read_lock(r));
    return out;
}

std::string sql(std::string a, const char* b = "", const char* c = "") {
    return a + b + c;
}

}  // namespace

home home_for_account(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id) {
    auto inserted = tx.exec_params(
        "INSERT INTO files.homes (org_id, account_id) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING RETURNING id",
        org_id, account_id);
    if (!inserted.empty()) {
        tx.exec_params(
            "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
            "VALUES ($1, NULL, '', '', true, '', 1)",
            inserted[0][0].as<std::int64_t>());
    }
    auto r = tx.exec_params1(
        "SELECT h.id, h.modseq, h.used_bytes, coalesce(h.quota_bytes, a.quota_bytes) "
        "FROM files.homes h JOIN directory.accounts a ON a.id = h.account_id WHERE h.account_id = $1",
        account_id);
    home h;
    h.id = r[0].as<std::int64_t>();
    h.modseq = r[1].as<std::int64_t>();
    h.used_bytes = r[2].as<std::int64_t>();
    if (!r[3].is_null()) h.quota_bytes = r[3].as<std::int64_t>();
    return h;
}

std::int64_t begin_change(pqxx::work& tx, std::int64_t home_id) {
    return tx.exec_params1("UPDATE files.homes SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq", home_id)[0]
        .as<std::int64_t>();
}

void touch_ancestors(pqxx::work& tx, std::int64_t home_id, const std::string& path, std::int64_t modseq) {
    for (const auto& a : ancestors(path))
        tx.exec_params("UPDATE files.nodes SET modseq = $3 WHERE home_id = $1 AND path = $2", home_id, a, modseq);
}

std::optional<node> find(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    auto rows = tx.exec_params(sql("SELECT ", node_columns, " FROM files.nodes WHERE home_id = $1 AND path = $2"),
                               home_id, path);
    if (rows.empty()) return std::nullopt;
    return read_node(rows[0]);
}

std::vector<node> children(pqxx::work& tx, std::int64_t node_id) {
    return read_nodes(
        tx.exec_params(sql("SELECT ", node_columns, " FROM files.nodes WHERE parent_id = $1 ORDER BY name"), node_id));
}

std::vector<node> subtree(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    return read_nodes(tx.exec_params(
        sql("SELECT ", node_columns, " FROM files.nodes WHERE home_id = $1 AND ") + under_2 +
            " ORDER BY octet_length(path), path",
        home_id, path));
}

namespace {
// "below base (itself excluded), and for depth_one a direct child"; $2 base, $4 depth_one.
constexpr const char* below_2_4 =
    "path <> $2 AND ($2 = '' OR starts_with(path, $2 || '/')) AND "
    "(NOT $4 OR position('/' IN substr(path, char_length($2) + CASE WHEN $2 = '' THEN 1 ELSE 2 END)) = 0)";
}  // namespace

std::vector<node> changed_since(pqxx::work& tx, std::int64_t home_id, const std::string& base, bool depth_one,
                                std::int64_t modseq) {
    return read_nodes(tx.exec_params(sql("SELECT ", node_columns, " FROM files.nodes WHERE home_id = $1 AND modseq > $3 AND ") +
                                         below_2_4 + " ORDER BY modseq, path",
                                     home_id, base, modseq, depth_one));
}

std::vector<tombstone> deleted_since(pqxx::work& tx, std::int64_t home_id, const std::string& base, bool depth_one,
                                     std::int64_t modseq) {
    auto rows = tx.exec_params(
        std::string("SELECT DISTINCT ON (path) path, is_collection, modseq FROM files.tombstones t "
                    "WHERE home_id = $1 AND modseq > $3 AND ") +
            below_2_4 +
            " AND NOT EXISTS (SELECT 1 FROM files.nodes n WHERE n.home_id = t.home_id AND n.path = t.path) "
            "ORDER BY path, modseq DESC",
        home_id, base, modseq, depth_one);
    std::vector<tombstone> out;
    for (const auto& r : rows) out.push_back({r[0].as<std::string>(), r[1].as<bool>(), r[2].as<std::int64_t>()});
    return out;
}

std::int64_t create_collection(pqxx::work& tx, std::int64_t home_id, const node& parent, const std::string& path,
                               std::int64_t modseq) {
    return tx
        .exec_params1("INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
                      "VALUES ($1, $2, $3, $4, true, '', $5) RETURNING id",
                      home_id, parent.id, path, name_of(path), modseq)[0]
        .as<std::int64_t>();
}

std::int64_t put_file(pqxx::work& tx, std::int64_t home_id, const node& parent, const std::optional<node>& existing,
                      const std::string& path, const std::string& blob_hex, std::int64_t size,
                      const std::string& content_type, const std::string& etag, std::int64_t modseq,
                      const retention& keep) {
    if (existing && keep.versions_keep > 0 && existing->blob_id != blob_hex) {
        tx.exec_params("INSERT INTO files.versions (node_id, blob_id, size, content_type, etag, modified_at) "
                       "SELECT id, blob_id, size, content_type, etag, modified_at FROM files.nodes WHERE id = $1",
                       existing->id);
        tx.exec_params("DELETE FROM files.versions WHERE node_id = $1 AND "
                       "(replaced_at < now() - $2::bigint * interval '1 day' OR id NOT IN "
                       "(SELECT id FROM files.versions WHERE node_id = $1 ORDER BY replaced_at DESC, id DESC LIMIT $3::bigint))",
                       existing->id, static_cast<std::int64_t>(keep.versions_max_age_days),
                       static_cast<std::int64_t>(keep.versions_keep));
    }
    if (existing) {
        tx.exec_params("UPDATE files.nodes SET blob_id = $2, size = $3, content_type = $4, etag = $5, modseq = $6, "
                       "modified_at = now() WHERE id = $1",
                       existing->id, blob_hex, size, content_type, etag, modseq);
        return existing->id;
    }
    return tx
        .exec_params1("INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, blob_id, size, "
                      "content_type, etag, modseq) VALUES ($1, $2, $3, $4, false, $5, $6, $7, $8, $9) RETURNING id",
                      home_id, parent.id, path, name_of(path), blob_hex, size, content_type, etag, modseq)[0]
        .as<std::int64_t>();
}

void remove_tree(pqxx::work& tx, std::int64_t home_id, const node& n, std::int64_t modseq, const retention& keep,
                 std::int64_t deleted_by) {
    if (keep.trash_days > 0) {
        tx.exec_params("DELETE FROM files.trash WHERE home_id = $1 AND deleted_at < now() - $2::bigint * interval '1 day'",
                       home_id, static_cast<std::int64_t>(keep.trash_days));
        // The manifest lists the subtree relative to the deleted node ('' = itself).
        tx.exec_params(
            std::string("INSERT INTO files.trash (home_id, original_path, is_collection, file_id, manifest, size, deleted_by) "
                        "SELECT $1, $2, $3, $4::uuid, coalesce(jsonb_agg(jsonb_build_object("
                        "'path', substr(path, char_length($2) + 1), 'collection', is_collection, 'blob', blob_id, "
                        "'size', size, 'content_type', content_type, 'file_id', file_id, "
                        "'modified', extract(epoch FROM modified_at)::bigint, "
                        "'properties', (SELECT coalesce(jsonb_agg(jsonb_build_array(p.namespace, p.name, p.value)), '[]'::jsonb) "
                        "FROM files.properties p WHERE p.node_id = nd.id)) ORDER BY octet_length(path)), '[]'::jsonb), "
                        "coalesce(sum(size), 0), NULLIF($5::bigint, 0) FROM files.nodes nd WHERE home_id = $1 AND ") +
                under_2,
            home_id, n.path, n.collection, n.file_id, deleted_by);
    }
    tx.exec_params(std::string("INSERT INTO files.tombstones (home_id, path, file_id, is_collection, modseq) "
                               "SELECT home_id, path, file_id, is_collection, $3 FROM files.nodes WHERE home_id = $1 AND ") +
                       under_2,
                   home_id, n.path, modseq);
    tx.exec_params(std::string("DELETE FROM files.locks WHERE home_id = $1 AND ") + under_2, home_id, n.path);
    tx.exec_params("DELETE FROM files.nodes WHERE id = $1", n.id);
}

void copy_tree(pqxx::work& tx, std::int64_t home_id, const node& n, const node& dest_parent, const std::string& dest,
               bool deep, std::int64_t modseq) {
    std::vector<node> nodes = deep && n.collection ? subtree(tx, home_id, n.path) : std::vector<node>{n};
    std::map<std::int64_t, std::int64_t> ids;
    for (const auto& s : nodes) {
        const std::string path = dest + s.path.substr(n.path.size());
        const std::int64_t parent = s.id == n.id ? dest_parent.id : ids.at(*s.parent_id);
        std::int64_t id;
        if (s.collection)
            id = tx.exec_params1("INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
                                 "VALUES ($1, $2, $3, $4, true, '', $5) RETURNING id",
                                 home_id, parent, path, name_of(path), modseq)[0]
                     .as<std::int64_t>();
        else
            id = tx.exec_params1("INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, blob_id, size, "
                                 "content_type, etag, modseq) VALUES ($1, $2, $3, $4, false, $5, $6, $7, $8, $9) "
                                 "RETURNING id",
                                 home_id, parent, path, name_of(path), s.blob_id, s.size, s.content_type, s.etag, modseq)[0]
                     .as<std::int64_t>();
        ids[s.id] = id;
        tx.exec_params("INSERT INTO files.properties (node_id, namespace, name, value) "
                       "SELECT $1, namespace, name, value FROM files.properties WHERE node_id = $2",
                       id, s.id);
    }
}

void move_tree(pqxx::work& tx, std::int64_t home_id, const node& n, const node& dest_parent, const std::string& dest,
               std::int64_t modseq) {
    tx.exec_params(std::string("INSERT INTO files.tombstones (home_id, path, file_id, is_collection, modseq) "
                               "SELECT home_id, path, file_id, is_collection, $3 FROM files.nodes WHERE home_id = $1 AND ") +
                       under_2,
                   home_id, n.path, modseq);
    tx.exec_params(std::string("DELETE FROM files.locks WHERE home_id = $1 AND ") + under_2, home_id, n.path);
    // One statement, so the moved node's path, name and parent change together
    // (the row's CHECK ties its name to its path).
    tx.exec_params(std::string("UPDATE files.nodes SET path = $3 || substr(path, char_length($2) + 1), modseq = $4, "
                               "name = CASE WHEN id = $5 THEN $6 ELSE name END, "
                               "parent_id = CASE WHEN id = $5 THEN $7 ELSE parent_id END "
                               "WHERE home_id = $1 AND ") +
                       under_2,
                   home_id, n.path, dest, modseq, n.id, name_of(dest), dest_parent.id);
}

std::vector<dead_property> properties(pqxx::work& tx, std::int64_t node_id, bool with_children) {
    auto rows = with_children
                    ? tx.exec_params("SELECT p.node_id, p.namespace, p.name, p.value FROM files.properties p "
                                     "JOIN files.nodes n ON n.id = p.node_id WHERE n.id = $1 OR n.parent_id = $1 "
                                     "ORDER BY p.node_id, p.namespace, p.name",
                                     node_id)
                    : tx.exec_params("SELECT node_id, namespace, name, value FROM files.properties WHERE node_id = $1 "
                                     "ORDER BY namespace, name",
                                     node_id);
    std::vector<dead_property> out;
    for (const auto& r : rows)
        out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>()});
    return out;
}

void set_property(pqxx::work& tx, std::int64_t node_id, const std::string& ns, const std::string& name,
                  const std::string& value) {
    tx.exec_params("INSERT INTO files.properties (node_id, namespace, name, value) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = EXCLUDED.value",
                   node_id, ns, name, value);
}

void remove_property(pqxx::work& tx, std::int64_t node_id, const std::string& ns, const std::string& name) {
    tx.exec_params("DELETE FROM files.properties WHERE node_id = $1 AND namespace = $2 AND name = $3", node_id, ns, name);
}

void purge_expired_locks(pqxx::work& tx, std::int64_t home_id) {
    tx.exec_params("DELETE FROM files.locks WHERE home_id = $1 AND expires_at <= now()", home_id);
}

std::vector<lock> locks_covering(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    return read_locks(tx.exec_params(
        sql("SELECT ", lock_columns,
            " FROM files.locks WHERE home_id = $1 AND expires_at > now() AND "
            "(path = $2 OR (depth_infinite AND (path = '' OR starts_with($2, path || '/')))) ORDER BY created_at"),
        home_id, path));
}

std::vector<lock> locks_below(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    return read_locks(tx.exec_params(
        sql("SELECT ", lock_columns,
            " FROM files.locks WHERE home_id = $1 AND expires_at > now() AND path <> $2 AND "
            "($2 = '' OR starts_with(path, $2 || '/')) ORDER BY created_at"),
        home_id, path));
}

std::vector<lock> locks_in_home(pqxx::work& tx, std::int64_t home_id) {
    return read_locks(tx.exec_params(
        sql("SELECT ", lock_columns, " FROM files.locks WHERE home_id = $1 AND expires_at > now() ORDER BY created_at"),
        home_id));
}

std::optional<lock> find_lock(pqxx::work& tx, std::int64_t home_id, const std::string& token) {
    auto rows = tx.exec_params(
        sql("SELECT ", lock_columns, " FROM files.locks WHERE home_id = $1 AND token = $2 AND expires_at > now()"),
        home_id, token);
    if (rows.empty()) return std::nullopt;
    return read_lock(rows[0]);
}

lock create_lock(pqxx::work& tx, std::int64_t home_id, const std::string& path, bool infinite, bool exclusive,
                 const std::string& owner_xml, std::int64_t account_id, std::int64_t timeout_seconds) {
    return read_lock(tx.exec_params1(
        sql("INSERT INTO files.locks (token, home_id, path, depth_infinite, exclusive, owner_xml, account_id, "
            "timeout_seconds, expires_at) VALUES ('urn:uuid:' || gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7::bigint, "
            "now() + $7::bigint * interval '1 second') RETURNING ",
            lock_columns),
        home_id, path, infinite, exclusive, owner_xml, account_id, timeout_seconds));
}

void refresh_lock(pqxx::work& tx, const std::string& token, std::int64_t timeout_seconds) {
    tx.exec_params("UPDATE files.locks SET timeout_seconds = $2::bigint, expires_at = now() + $2::bigint * interval '1 second' "
                   "WHERE token = $1",
                   token, timeout_seconds);
}

void remove_lock(pqxx::work& tx, const std::string& token) {
    tx.exec_params("DELETE FROM files.locks WHERE token = $1", token);
}

}  // namespace polder::webdav::store
