// store.cpp - SQL of the files schema.
//
// SECURITY: parameterised SQL only, every statement scoped by home_id.
// Subtree tests use starts_with(path, base || '/'), never LIKE, so '%' and
// '_' in names are plain characters.
// Statements go through db::exec_cached (prepared once per connection): every
// one is built from fixed fragments of this file, so their number is bounded,
// and a PUT of a small file spent a third of its database time parsing and
// planning them.
// STANDARDS: RFC 4918, RFC 6578 (see store.hpp).
#include "store.hpp"

#include "paths.hpp"

#include "polder/db/arrays.hpp"
#include "polder/db/prepared.hpp"

#include <array>
#include <map>
#include <set>
#include <stdexcept>

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
    // The home exists for every request but an account's first: one query then.
    auto found = db::exec_cached(tx,
        "SELECT h.id, h.modseq, h.used_bytes, coalesce(h.quota_bytes, a.quota_bytes) "
        "FROM files.homes h JOIN directory.accounts a ON a.id = h.account_id WHERE h.account_id = $1",
        account_id);
    if (!found.empty()) {
        home h;
        h.id = found[0][0].as<std::int64_t>();
        h.modseq = found[0][1].as<std::int64_t>();
        h.used_bytes = found[0][2].as<std::int64_t>();
        if (!found[0][3].is_null()) h.quota_bytes = found[0][3].as<std::int64_t>();
        return h;
    }
    auto inserted = db::exec_cached(tx,
        "INSERT INTO files.homes (org_id, account_id) VALUES ($1, $2) ON CONFLICT (account_id) DO NOTHING RETURNING id",
        org_id, account_id);
    if (!inserted.empty()) {
        db::exec_cached(tx,
            "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
            "VALUES ($1, NULL, '', '', true, '', 1)",
            inserted[0][0].as<std::int64_t>());
    }
    auto r = db::exec_cached1(tx,
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

home home_by_id(pqxx::work& tx, std::int64_t home_id) {
    auto r = db::exec_cached1(tx,
        "SELECT h.id, h.modseq, h.used_bytes, coalesce(h.quota_bytes, a.quota_bytes) "
        "FROM files.homes h LEFT JOIN directory.accounts a ON a.id = h.account_id WHERE h.id = $1",
        home_id);
    home h;
    h.id = r[0].as<std::int64_t>();
    h.modseq = r[1].as<std::int64_t>();
    h.used_bytes = r[2].as<std::int64_t>();
    if (!r[3].is_null()) h.quota_bytes = r[3].as<std::int64_t>();
    return h;
}

namespace {
constexpr const char* member_of_group =
    "EXISTS (SELECT 1 FROM directory.group_members m WHERE m.group_id = h.group_id AND m.account_id = $2)";
}

std::optional<team_folder> team_for_member(pqxx::work& tx, std::int64_t org_id, std::int64_t account_id,
                                           const std::string& name) {
    auto rows = db::exec_cached(tx, std::string("SELECT h.id, h.name FROM files.homes h WHERE h.org_id = $1 AND "
                                           "h.group_id IS NOT NULL AND lower(h.name) = lower($3) AND ") +
                                   member_of_group,
                               org_id, account_id, name);
    if (rows.empty()) return std::nullopt;
    return team_folder{rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>()};
}

std::vector<team_folder> teams_of_member(pqxx::work& tx, std::int64_t org_id, std::int64_t account_id) {
    auto rows = db::exec_cached(tx, std::string("SELECT h.id, h.name FROM files.homes h WHERE h.org_id = $1 AND "
                                           "h.group_id IS NOT NULL AND ") +
                                   member_of_group + " ORDER BY h.name",
                               org_id, account_id);
    std::vector<team_folder> out;
    for (const auto& r : rows) out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>()});
    return out;
}

std::vector<share_mount> shares_for(pqxx::work& tx, std::int64_t org_id, std::int64_t account_id,
                                    const std::string& owner, const std::string& name) {
    auto rows = db::exec_cached(tx,
        "SELECT s.home_id, a.address, s.name, n.path, bool_or(s.writable) FROM files.shares s "
        "JOIN files.nodes n ON n.id = s.node_id JOIN files.homes h ON h.id = s.home_id "
        "JOIN directory.accounts a ON a.id = h.account_id "
        "WHERE s.org_id = $1 AND (s.account_id = $2 OR s.group_id IN "
        "(SELECT group_id FROM directory.group_members WHERE account_id = $2)) "
        "AND ($3 = '' OR a.address = $3) AND ($4 = '' OR s.name = $4) "
        "GROUP BY s.home_id, a.address, s.name, n.path ORDER BY a.address, s.name, n.path",
        org_id, account_id, owner, name);
    std::vector<share_mount> out;
    for (const auto& r : rows) {
        // Two folders shared under one name: the first path wins, the same
        // for every request (polderctl refuses to create such pairs).
        if (!out.empty() && out.back().owner == r[1].as<std::string>() && out.back().name == r[2].as<std::string>())
            continue;
        out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                       r[3].as<std::string>(), r[4].as<bool>()});
    }
    return out;
}

std::int64_t begin_change(pqxx::work& tx, std::int64_t home_id) {
    return db::exec_cached1(tx, "SELECT modseq FROM files.begin_change($1)", home_id)[0].as<std::int64_t>();
}

void touch_ancestors(pqxx::work& tx, std::int64_t home_id, const std::string& path, std::int64_t modseq) {
    // One statement for every ancestor: a deep path costs one round trip.
    const auto all = ancestors(path);
    if (all.empty()) return;
    // Rows already stamped in this transaction (files.begin_change hands
    // every change of a transaction the same modseq) are left alone.
    db::exec_cached(tx, "UPDATE files.nodes SET modseq = $3 WHERE home_id = $1 AND path = ANY($2::text[]) AND modseq < $3",
                    home_id, db::text_array(all), modseq);
}

std::vector<std::optional<change_at>> begin_puts(pqxx::work& tx, const std::vector<put_target>& targets) {
    std::vector<std::int64_t> homes, accounts;
    std::vector<std::string> paths, parents;
    for (const auto& t : targets) {
        homes.push_back(t.home_id);
        accounts.push_back(t.account_id);
        paths.push_back(t.path);
        parents.push_back(parent_of(t.path));
    }
    auto rows = db::exec_cached(
        tx,
        "SELECT item, home_id, modseq, used_bytes, quota_bytes, any_lock, (node).id, (node).parent_id, (node).path, "
        "(node).name, (node).is_collection, (node).file_id::text, coalesce((node).blob_id, ''), (node).size, "
        "(node).content_type, (node).etag, (node).modseq, extract(epoch FROM (node).created_at)::bigint, "
        "extract(epoch FROM (node).modified_at)::bigint "
        "FROM files.begin_puts($1::bigint[], $2::bigint[], $3::text[], $4::text[])",
        db::bigint_array(homes), db::bigint_array(accounts), db::text_array(paths), db::text_array(parents));
    std::vector<std::optional<change_at>> out(targets.size());
    for (const auto& r : rows) {
        const auto i = r[0].as<std::size_t>() - 1;
        if (i >= out.size()) throw std::runtime_error("files.begin_puts: item out of range");
        auto& a = out[i];
        if (!a) {
            a.emplace();
            a->h.id = r[1].as<std::int64_t>();
            a->modseq = a->h.modseq = r[2].as<std::int64_t>();
            a->h.used_bytes = r[3].as<std::int64_t>();
            if (!r[4].is_null()) a->h.quota_bytes = r[4].as<std::int64_t>();
            a->locks = r[5].as<bool>();
        }
        if (r[6].is_null()) continue;   // neither node exists
        node n = read_node(r.slice(6, r.size()));
        if (n.path == targets[i].path)
            a->existing = std::move(n);
        else
            a->parent = std::move(n);
    }
    return out;
}

std::pair<std::optional<node>, std::optional<node>> find_with_parent(pqxx::work& tx, std::int64_t home_id,
                                                                     const std::string& path, bool* locks) {
    // The lock flag rides along as a column (a scalar subquery evaluated
    // once); when neither node exists the answer is 409 and it does not matter.
    auto rows = db::exec_cached(tx,
        sql("SELECT ", node_columns,
            ", EXISTS (SELECT 1 FROM files.locks l WHERE l.home_id = $1 AND l.expires_at > now()) "
            "FROM files.nodes WHERE home_id = $1 AND path IN ($2, $3)"),
        home_id, path, parent_of(path));
    if (locks) *locks = rows.empty() || rows[0][13].as<bool>();
    std::pair<std::optional<node>, std::optional<node>> out;
    for (const auto& r : rows) {
        node n = read_node(r);
        if (n.path == path)
            out.first = std::move(n);
        else
            out.second = std::move(n);
    }
    return out;
}

std::optional<node> find(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    auto rows = db::exec_cached(tx, sql("SELECT ", node_columns, " FROM files.nodes WHERE home_id = $1 AND path = $2"),
                               home_id, path);
    if (rows.empty()) return std::nullopt;
    return read_node(rows[0]);
}

std::vector<node> children(pqxx::work& tx, std::int64_t node_id) {
    return read_nodes(
        db::exec_cached(tx, sql("SELECT ", node_columns, " FROM files.nodes WHERE parent_id = $1 ORDER BY name"), node_id));
}

std::vector<node> subtree(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    return read_nodes(db::exec_cached(tx,
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
    return read_nodes(db::exec_cached(tx, sql("SELECT ", node_columns, " FROM files.nodes WHERE home_id = $1 AND modseq > $3 AND ") +
                                         below_2_4 + " ORDER BY modseq, path",
                                     home_id, base, modseq, depth_one));
}

std::vector<tombstone> deleted_since(pqxx::work& tx, std::int64_t home_id, const std::string& base, bool depth_one,
                                     std::int64_t modseq) {
    auto rows = db::exec_cached(tx,
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
    return db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
                      "VALUES ($1, $2, $3, $4, true, '', $5) RETURNING id",
                      home_id, parent.id, path, name_of(path), modseq)[0]
        .as<std::int64_t>();
}

std::int64_t put_file(pqxx::work& tx, std::int64_t home_id, const node& parent, const std::optional<node>& existing,
                      const std::string& path, const std::string& blob_hex, std::int64_t size,
                      const std::string& content_type, const std::string& etag, std::int64_t modseq,
                      const retention& keep) {
    if (existing && keep.versions_keep > 0 && existing->blob_id != blob_hex) {
        db::exec_cached(tx, "INSERT INTO files.versions (node_id, blob_id, size, content_type, etag, modified_at) "
                       "SELECT id, blob_id, size, content_type, etag, modified_at FROM files.nodes WHERE id = $1",
                       existing->id);
        db::exec_cached(tx, "DELETE FROM files.versions WHERE node_id = $1 AND "
                       "(replaced_at < now() - $2::bigint * interval '1 day' OR id NOT IN "
                       "(SELECT id FROM files.versions WHERE node_id = $1 ORDER BY replaced_at DESC, id DESC LIMIT $3::bigint))",
                       existing->id, static_cast<std::int64_t>(keep.versions_max_age_days),
                       static_cast<std::int64_t>(keep.versions_keep));
    }
    if (existing) {
        db::exec_cached(tx, "UPDATE files.nodes SET blob_id = $2, size = $3, content_type = $4, etag = $5, modseq = $6, "
                       "modified_at = now() WHERE id = $1",
                       existing->id, blob_hex, size, content_type, etag, modseq);
        return existing->id;
    }
    return db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, blob_id, size, "
                      "content_type, etag, modseq) VALUES ($1, $2, $3, $4, false, $5, $6, $7, $8, $9) RETURNING id",
                      home_id, parent.id, path, name_of(path), blob_hex, size, content_type, etag, modseq)[0]
        .as<std::int64_t>();
}

db::statement put_new_files(const std::vector<new_file>& files, const std::vector<std::int64_t>& accounts) {
    if (files.size() != accounts.size()) throw std::invalid_argument("put_new_files: one account per file");
    std::vector<std::int64_t> homes, sizes;
    std::vector<std::int64_t> content_at;   // -1: the file is in the blob store
    std::vector<std::string> paths, parents, names, blobs, types, etags;
    std::string content;   // the bytes kept in the database, one after another (sent in binary)
    for (const auto& f : files) {
        homes.push_back(f.home_id);
        paths.push_back(f.path);
        parents.push_back(parent_of(f.path));
        names.push_back(name_of(f.path));
        blobs.push_back(f.blob_hex);
        sizes.push_back(f.size);
        types.push_back(f.content_type);
        etags.push_back(f.etag);
        if (f.inline_bytes) {
            if (static_cast<std::int64_t>(f.inline_bytes->size()) != f.size)
                throw std::invalid_argument("put_new_files: size is not the content's");
            content_at.push_back(static_cast<std::int64_t>(content.size()));
            content += *f.inline_bytes;
        } else {
            content_at.push_back(-1);
        }
    }
    db::statement st{
        "SELECT item, status FROM files.put_new_files($1::bigint[], $2::bigint[], $3::text[], $4::text[], "
        "$5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::bytea, $11::bigint[])",
        {db::bigint_array(homes), db::bigint_array(accounts), db::text_array(paths), db::text_array(parents),
         db::text_array(names), db::text_array(blobs), db::bigint_array(sizes), db::text_array(types),
         db::text_array(etags), std::move(content), db::bigint_array(content_at)},
        std::vector<bool>(11, false)};
    st.binary[9] = true;
    return st;
}

std::vector<int> put_new_files_status(const db::async_result& rows, std::size_t files) {
    std::vector<int> status(files, -1);
    for (auto r : rows) {
        const auto i = r[0].as<std::size_t>() - 1;
        if (i >= status.size()) throw std::runtime_error("files.put_new_files: item out of range");
        status[i] = r[1].as<int>();
    }
    for (int v : status)
        if (v != 0 && v != 201 && v != 405 && v != 409 && v != 507)
            throw std::runtime_error("files.put_new_files: no answer for an item");
    return status;
}

void insert_files(pqxx::work& tx, const std::vector<new_file>& files) {
    if (files.empty()) return;
    // Arrays, one element per file. A content or an ancestor shared by several
    // files is listed once: ON CONFLICT DO UPDATE may not touch a row twice in
    // a statement. The contents travel as put_new_files' do: one bytea sent in
    // binary, content i at content_at[i] for content_len[i] octets, cut into
    // insert_files' bytea[] by the statement (a bytea[] parameter is text: hex,
    // twice the octets, parsed by the array reader and then the hex decoder).
    std::vector<std::string> content_ids, anc_paths, paths, names, blobs, types, etags;
    std::vector<std::int64_t> anc_homes, anc_modseqs, homes, parents, sizes, modseqs, content_at, content_len;
    std::string content;
    std::set<std::string> seen_contents;
    std::set<std::pair<std::int64_t, std::string>> seen_ancestors;
    for (const auto& f : files) {
        if (f.inline_bytes && seen_contents.insert(f.blob_hex).second) {
            content_ids.push_back(f.blob_hex);
            content_at.push_back(static_cast<std::int64_t>(content.size()));
            content_len.push_back(static_cast<std::int64_t>(f.inline_bytes->size()));
            content += *f.inline_bytes;
        }
        for (auto& a : ancestors(f.path)) {
            if (!seen_ancestors.emplace(f.home_id, a).second) continue;
            anc_homes.push_back(f.home_id);
            anc_modseqs.push_back(f.modseq);
            anc_paths.push_back(std::move(a));
        }
        homes.push_back(f.home_id);
        parents.push_back(f.parent_id);
        paths.push_back(f.path);
        names.push_back(name_of(f.path));
        blobs.push_back(f.blob_hex);
        sizes.push_back(f.size);
        types.push_back(f.content_type);
        etags.push_back(f.etag);
        modseqs.push_back(f.modseq);
    }
    db::exec_cached(tx,
                    "SELECT files.insert_files($1::text[], ARRAY(SELECT substring($2::bytea FROM (c.at + 1)::integer "
                    "FOR c.len::integer) FROM unnest($15::bigint[], $16::bigint[]) WITH ORDINALITY AS c(at, len, o) "
                    "ORDER BY c.o), $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], "
                    "$9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::bigint[])",
                    db::text_array(content_ids), pqxx::binarystring(content.data(), content.size()),
                    db::bigint_array(anc_homes), db::text_array(anc_paths), db::bigint_array(anc_modseqs),
                    db::bigint_array(homes), db::bigint_array(parents), db::text_array(paths), db::text_array(names),
                    db::text_array(blobs), db::bigint_array(sizes), db::text_array(types), db::text_array(etags),
                    db::bigint_array(modseqs), db::bigint_array(content_at), db::bigint_array(content_len));
}

void remove_tree(pqxx::work& tx, std::int64_t home_id, const node& n, std::int64_t modseq, const retention& keep,
                 std::int64_t deleted_by) {
    if (keep.trash_days > 0) {
        db::exec_cached(tx, "DELETE FROM files.trash WHERE home_id = $1 AND deleted_at < now() - $2::bigint * interval '1 day'",
                       home_id, static_cast<std::int64_t>(keep.trash_days));
        // The manifest lists the subtree relative to the deleted node ('' = itself).
        db::exec_cached(tx,
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
    db::exec_cached(tx, std::string("INSERT INTO files.tombstones (home_id, path, file_id, is_collection, modseq) "
                               "SELECT home_id, path, file_id, is_collection, $3 FROM files.nodes WHERE home_id = $1 AND ") +
                       under_2,
                   home_id, n.path, modseq);
    db::exec_cached(tx, std::string("DELETE FROM files.locks WHERE home_id = $1 AND ") + under_2, home_id, n.path);
    db::exec_cached(tx, "DELETE FROM files.nodes WHERE id = $1", n.id);
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
            id = db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq) "
                                 "VALUES ($1, $2, $3, $4, true, '', $5) RETURNING id",
                                 home_id, parent, path, name_of(path), modseq)[0]
                     .as<std::int64_t>();
        else
            id = db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, blob_id, size, "
                                 "content_type, etag, modseq) VALUES ($1, $2, $3, $4, false, $5, $6, $7, $8, $9) "
                                 "RETURNING id",
                                 home_id, parent, path, name_of(path), s.blob_id, s.size, s.content_type, s.etag, modseq)[0]
                     .as<std::int64_t>();
        ids[s.id] = id;
        db::exec_cached(tx, "INSERT INTO files.properties (node_id, namespace, name, value) "
                       "SELECT $1, namespace, name, value FROM files.properties WHERE node_id = $2",
                       id, s.id);
    }
}

void move_tree(pqxx::work& tx, std::int64_t home_id, const node& n, const node& dest_parent, const std::string& dest,
               std::int64_t modseq) {
    db::exec_cached(tx, std::string("INSERT INTO files.tombstones (home_id, path, file_id, is_collection, modseq) "
                               "SELECT home_id, path, file_id, is_collection, $3 FROM files.nodes WHERE home_id = $1 AND ") +
                       under_2,
                   home_id, n.path, modseq);
    db::exec_cached(tx, std::string("DELETE FROM files.locks WHERE home_id = $1 AND ") + under_2, home_id, n.path);
    // One statement, so the moved node's path, name and parent change together
    // (the row's CHECK ties its name to its path).
    db::exec_cached(tx, std::string("UPDATE files.nodes SET path = $3 || substr(path, char_length($2) + 1), modseq = $4, "
                               "name = CASE WHEN id = $5 THEN $6 ELSE name END, "
                               "parent_id = CASE WHEN id = $5 THEN $7 ELSE parent_id END "
                               "WHERE home_id = $1 AND ") +
                       under_2,
                   home_id, n.path, dest, modseq, n.id, name_of(dest), dest_parent.id);
}

std::int64_t tree_bytes(pqxx::work& tx, std::int64_t home_id, const node& n, bool deep) {
    if (!n.collection) return n.size;
    if (!deep) return 0;
    return db::exec_cached1(tx, std::string("SELECT coalesce(sum(size), 0)::bigint FROM files.nodes WHERE home_id = $1 AND ") +
                               under_2,
                           home_id, n.path)[0]
        .as<std::int64_t>();
}

void transfer_tree(pqxx::work& tx, std::int64_t src_home, const node& n, std::int64_t dest_home, const node& dest_parent,
                   const std::string& dest, bool deep, bool move, std::int64_t src_modseq, std::int64_t dest_modseq) {
    std::vector<node> nodes = deep && n.collection ? subtree(tx, src_home, n.path) : std::vector<node>{n};
    std::multimap<std::int64_t, std::array<std::string, 3>> props;
    {
        auto rows = db::exec_cached(tx,
            std::string("SELECT p.node_id, p.namespace, p.name, p.value FROM files.properties p JOIN files.nodes nd "
                        "ON nd.id = p.node_id WHERE nd.home_id = $1 AND ") +
                (deep ? under_2 : "nd.path = $2"),
            src_home, n.path);
        for (const auto& r : rows)
            props.emplace(r[0].as<std::int64_t>(),
                          std::array<std::string, 3>{r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>()});
    }
    if (move) {
        // The source goes first: file ids are unique across homes.
        db::exec_cached(tx, std::string("INSERT INTO files.tombstones (home_id, path, file_id, is_collection, modseq) "
                                   "SELECT home_id, path, file_id, is_collection, $3 FROM files.nodes WHERE home_id = $1 AND ") +
                           under_2,
                       src_home, n.path, src_modseq);
        db::exec_cached(tx, std::string("DELETE FROM files.locks WHERE home_id = $1 AND ") + under_2, src_home, n.path);
        db::exec_cached(tx, "DELETE FROM files.nodes WHERE id = $1", n.id);
    }
    std::map<std::int64_t, std::int64_t> ids;
    for (const auto& s : nodes) {
        const std::string path = dest + s.path.substr(n.path.size());
        const std::int64_t parent = s.id == n.id ? dest_parent.id : ids.at(*s.parent_id);
        const std::optional<std::string> file_id = move ? std::optional(s.file_id) : std::nullopt;
        std::int64_t id;
        if (s.collection)
            id = db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq, "
                                 "file_id) VALUES ($1, $2, $3, $4, true, '', $5, coalesce($6::uuid, gen_random_uuid())) "
                                 "RETURNING id",
                                 dest_home, parent, path, name_of(path), dest_modseq, file_id)[0]
                     .as<std::int64_t>();
        else
            id = db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, blob_id, size, "
                                 "content_type, etag, modseq, file_id, modified_at) VALUES ($1, $2, $3, $4, false, $5, $6, "
                                 "$7, $8, $9, coalesce($10::uuid, gen_random_uuid()), "
                                 "CASE WHEN $11 THEN to_timestamp($12) ELSE now() END) RETURNING id",
                                 dest_home, parent, path, name_of(path), s.blob_id, s.size, s.content_type, s.etag,
                                 dest_modseq, file_id, move, s.modified)[0]
                     .as<std::int64_t>();
        ids[s.id] = id;
        auto [first, last] = props.equal_range(s.id);
        for (auto it = first; it != last; ++it)
            db::exec_cached(tx, "INSERT INTO files.properties (node_id, namespace, name, value) VALUES ($1, $2, $3, $4)", id,
                           it->second[0], it->second[1], it->second[2]);
    }
}

std::vector<version_entry> versions_of(pqxx::work& tx, std::int64_t node_id) {
    std::vector<version_entry> out;
    for (const auto& r : db::exec_cached(tx, "SELECT id, size, blob_id, extract(epoch FROM modified_at)::bigint, "
                                        "extract(epoch FROM replaced_at)::bigint FROM files.versions WHERE node_id = $1 "
                                        "ORDER BY replaced_at DESC, id DESC",
                                        node_id))
        out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>(), r[3].as<std::int64_t>(),
                       r[4].as<std::int64_t>()});
    return out;
}

bool restore_version(pqxx::work& tx, std::int64_t home_id, const node& n, std::int64_t version_id, const retention& keep) {
    auto rows = db::exec_cached(tx, "DELETE FROM files.versions WHERE id = $1 AND node_id = $2 "
                               "RETURNING blob_id, size, content_type, etag",
                               version_id, n.id);
    if (rows.empty()) return false;
    const std::int64_t modseq = begin_change(tx, home_id);
    auto parent = find(tx, home_id, parent_of(n.path));
    // Keep the current content as a version even when versions_keep is 0:
    // a restore must not lose what it replaces.
    retention k = keep;
    if (k.versions_keep == 0) k.versions_keep = 1;
    put_file(tx, home_id, *parent, n, n.path, rows[0][0].as<std::string>(), rows[0][1].as<std::int64_t>(),
             rows[0][2].as<std::string>(), rows[0][3].as<std::string>(), modseq, k);
    touch_ancestors(tx, home_id, n.path, modseq);
    return true;
}

namespace {

// What a trash_entry is read from (columns 0-6, trash_entry's order), and the joins they need.
const std::string trash_select =
    "SELECT t.id, t.original_path, t.is_collection, t.size, jsonb_array_length(t.manifest), coalesce(a.address, ''), "
    "extract(epoch FROM t.deleted_at)::bigint";
const std::string trash_from = " FROM files.trash t LEFT JOIN directory.accounts a ON a.id = t.deleted_by ";

trash_entry read_trash_entry(const pqxx::row& r) {
    return {r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<bool>(), r[3].as<std::int64_t>(),
            r[4].as<std::int64_t>(), r[5].as<std::string>(), r[6].as<std::int64_t>()};
}

}  // namespace

std::vector<trash_entry> trash_of(pqxx::work& tx, std::int64_t home_id) {
    std::vector<trash_entry> out;
    for (const auto& r : db::exec_cached(tx, trash_select + trash_from + "WHERE t.home_id = $1 ORDER BY t.deleted_at DESC, t.id DESC",
                                         home_id))
        out.push_back(read_trash_entry(r));
    return out;
}

std::optional<trash_item> trash_item_of(pqxx::work& tx, std::int64_t home_id, std::int64_t id) {
    // The manifest's entry with the relative path '' is the deleted node itself.
    auto r = db::exec_cached(tx,
        trash_select + ", coalesce(m.e->>'blob', ''), coalesce(m.e->>'content_type', '')" + trash_from +
            "LEFT JOIN LATERAL (SELECT e FROM jsonb_array_elements(t.manifest) AS e WHERE e->>'path' = '' LIMIT 1) m ON true "
            "WHERE t.id = $1 AND t.home_id = $2",
        id, home_id);
    if (r.empty()) return std::nullopt;
    return trash_item{read_trash_entry(r[0]), r[0][7].as<std::string>(), r[0][8].as<std::string>()};
}

std::string restore_trash(pqxx::work& tx, std::int64_t home_id, std::int64_t id, const std::string& path_in) {
    auto entry = db::exec_cached(tx, "SELECT original_path FROM files.trash WHERE id = $1 AND home_id = $2 FOR UPDATE", id,
                                home_id);
    if (entry.empty()) return "no trash entry " + std::to_string(id) + " in this home";
    const std::string path = path_in.empty() ? entry[0][0].as<std::string>() : path_in;
    if (path.empty()) return "cannot restore onto the root";
    const std::int64_t modseq = begin_change(tx, home_id);
    if (find(tx, home_id, path)) return "'" + path + "' exists; restore to another path (--to)";
    // Missing parents are created, so a file whose folder was deleted later can come back.
    auto parent = find(tx, home_id, "");
    for (const auto& a : ancestors(path)) {
        if (a.empty()) continue;
        auto n = find(tx, home_id, a);
        if (!n) {
            create_collection(tx, home_id, *parent, a, modseq);
            n = find(tx, home_id, a);
        } else if (!n->collection) {
            return "'" + a + "' is a file, not a folder";
        }
        parent = n;
    }
    // Manifest entries are ordered parents first (octet_length of the relative path).
    auto items = db::exec_cached(tx,
        "SELECT e->>'path', (e->>'collection')::boolean, e->>'blob', (e->>'size')::bigint, e->>'content_type', "
        "e->>'file_id', (e->>'modified')::bigint, e->'properties' "
        "FROM files.trash t, jsonb_array_elements(t.manifest) WITH ORDINALITY AS m(e, i) WHERE t.id = $1 ORDER BY i",
        id);
    std::map<std::string, std::int64_t> ids;   // relative path -> new node id
    for (const auto& r : items) {
        const std::string rel = r[0].as<std::string>();
        const std::string full = path + rel;
        std::int64_t parent_id = rel.empty() ? parent->id : ids.at(rel.substr(0, rel.rfind('/')));
        const bool collection = r[1].as<bool>();
        // A file id reused meanwhile (by a copy restored earlier) gets a new one.
        const std::string file_id = r[5].as<std::string>();
        std::int64_t nid;
        if (collection)
            nid = db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, etag, modseq, file_id) "
                                  "VALUES ($1, $2, $3, $4, true, '', $5, CASE WHEN EXISTS (SELECT 1 FROM files.nodes "
                                  "WHERE file_id = $6::uuid) THEN gen_random_uuid() ELSE $6::uuid END) RETURNING id",
                                  home_id, parent_id, full, name_of(full), modseq, file_id)[0]
                      .as<std::int64_t>();
        else {
            const std::string blob = r[2].as<std::string>();
            nid = db::exec_cached1(tx, "INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, blob_id, size, "
                                  "content_type, etag, modseq, file_id, modified_at) VALUES ($1, $2, $3, $4, false, $5, $6, $7, "
                                  "'\"' || left($5, 32) || '\"', $8, CASE WHEN EXISTS (SELECT 1 FROM files.nodes "
                                  "WHERE file_id = $9::uuid) THEN gen_random_uuid() ELSE $9::uuid END, to_timestamp($10)) "
                                  "RETURNING id",
                                  home_id, parent_id, full, name_of(full), blob, r[3].as<std::int64_t>(),
                                  r[4].as<std::string>(), modseq, file_id, r[6].as<std::int64_t>())[0]
                      .as<std::int64_t>();
        }
        ids[rel] = nid;
        db::exec_cached(tx, "INSERT INTO files.properties (node_id, namespace, name, value) "
                       "SELECT $1, p->>0, p->>1, p->>2 FROM jsonb_array_elements($2::jsonb) AS p",
                       nid, r[7].as<std::string>());
    }
    db::exec_cached(tx, "DELETE FROM files.trash WHERE id = $1", id);
    touch_ancestors(tx, home_id, path, modseq);
    return {};
}

std::int64_t purge_trash(pqxx::work& tx, std::int64_t home_id, std::int64_t id) {
    return static_cast<std::int64_t>(
        db::exec_cached(tx, "DELETE FROM files.trash WHERE home_id = $1 AND ($2 = 0 OR id = $2)", home_id, id).affected_rows());
}

expired expire(pqxx::work& tx, const retention& keep) {
    expired e;
    e.trash = static_cast<std::int64_t>(
        db::exec_cached(tx, "DELETE FROM files.trash WHERE deleted_at < now() - $1::bigint * interval '1 day'",
                       static_cast<std::int64_t>(keep.trash_days))
            .affected_rows());
    e.versions = static_cast<std::int64_t>(
        db::exec_cached(tx, "DELETE FROM files.versions v USING (SELECT id, row_number() OVER (PARTITION BY node_id "
                       "ORDER BY replaced_at DESC, id DESC) AS rank FROM files.versions) r WHERE r.id = v.id AND "
                       "(r.rank > $1::bigint OR v.replaced_at < now() - $2::bigint * interval '1 day')",
                       static_cast<std::int64_t>(keep.versions_keep), static_cast<std::int64_t>(keep.versions_max_age_days))
            .affected_rows());
    return e;
}

std::vector<std::string> unreferenced_blobs(pqxx::work& tx, const std::vector<std::string>& candidates) {
    // The reference scheme is checked even with nothing to check against it,
    // so an unknown column stops every collection run, not only busy ones.
    std::string refs;
    for (const auto& r : tx.exec(
             "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
             "WHERE column_name ILIKE '%blob%' AND table_schema NOT IN ('pg_catalog', 'information_schema') "
             "AND (table_schema, table_name) IN (SELECT table_schema, table_name FROM information_schema.tables "
             "WHERE table_type = 'BASE TABLE') ORDER BY 1, 2, 3")) {
        const auto schema = r[0].as<std::string>(), table = r[1].as<std::string>(), column = r[2].as<std::string>(),
                   type = r[3].as<std::string>();
        const std::string qualified = tx.quote_name(schema) + "." + tx.quote_name(table);
        std::string expr;
        if (column == "blob_id" && type == "text")
            expr = "SELECT " + tx.quote_name(column) + " FROM " + qualified + " WHERE " + tx.quote_name(column) +
                   " = ANY($1::text[])";
        else if (column == "blob_sha256" && type == "bytea")
            expr = "SELECT encode(" + tx.quote_name(column) + ", 'hex') FROM " + qualified + " WHERE " +
                   tx.quote_name(column) + " = ANY(SELECT decode(x, 'hex') FROM unnest($1::text[]) AS x)";
        else
            throw std::runtime_error("column " + schema + "." + table + "." + column + " (" + type +
                                     ") looks like a blob reference polderctl does not know; not collecting");
        refs += (refs.empty() ? "" : " UNION ") + expr;
    }
    refs += std::string(refs.empty() ? "" : " UNION ") +
            "SELECT e->>'blob' FROM files.trash t, jsonb_array_elements(t.manifest) e WHERE e->>'blob' = ANY($1::text[])";
    if (candidates.empty()) return {};
    std::vector<std::string> out;
    for (const auto& r : tx.exec_params("SELECT x FROM unnest($1::text[]) AS x EXCEPT (" + refs + ")",
                                        db::text_array(candidates)))
        out.push_back(r[0].as<std::string>());
    return out;
}

void put_inline(pqxx::work& tx, const std::string& hex, std::string_view content) {
    // A known content is touched (touched_at, and the row lock a collection
    // racing it waits for); files.insert_files (schema 0304) does the same.
    db::exec_cached(tx, "INSERT INTO files.inline_contents (id, content) VALUES ($1, $2) "
                        "ON CONFLICT (id) DO UPDATE SET touched_at = now()",
                    hex, pqxx::binarystring(content.data(), content.size()));
}

std::optional<std::string> inline_content(pqxx::work& tx, const std::string& hex) {
    auto rows = db::exec_cached(tx, "SELECT content FROM files.inline_contents WHERE id = $1", hex);
    if (rows.empty()) return std::nullopt;
    return pqxx::binarystring(rows[0][0]).str();
}

std::vector<std::string> inline_candidates(pqxx::work& tx, const std::string& after, std::int64_t cutoff_unix,
                                           std::size_t limit) {
    std::vector<std::string> out;
    for (const auto& r : db::exec_cached(tx, "SELECT id FROM files.inline_contents WHERE id > $1 AND "
                                        "touched_at < to_timestamp($2) ORDER BY id LIMIT $3",
                                        after, cutoff_unix, static_cast<std::int64_t>(limit)))
        out.push_back(r[0].as<std::string>());
    return out;
}

std::uint64_t inline_bytes(pqxx::work& tx, const std::vector<std::string>& ids) {
    if (ids.empty()) return 0;
    return db::exec_cached1(tx, "SELECT coalesce(sum(octet_length(content)), 0) FROM files.inline_contents "
                                "WHERE id = ANY($1::text[])",
                            db::text_array(ids))[0]
        .as<std::uint64_t>();
}

std::vector<std::pair<std::string, std::int64_t>> remove_inline(pqxx::work& tx, const std::vector<std::string>& ids,
                                                                std::int64_t cutoff_unix) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    if (ids.empty()) return out;
    for (const auto& r : db::exec_cached(tx, "DELETE FROM files.inline_contents WHERE id = ANY($1::text[]) AND "
                                        "touched_at < to_timestamp($2) RETURNING id, octet_length(content)",
                                        db::text_array(ids), cutoff_unix))
        out.emplace_back(r[0].as<std::string>(), r[1].as<std::int64_t>());
    return out;
}

std::vector<dead_property> properties(pqxx::work& tx, std::int64_t node_id, bool with_children) {
    auto rows = with_children
                    ? db::exec_cached(tx, "SELECT p.node_id, p.namespace, p.name, p.value FROM files.properties p "
                                     "JOIN files.nodes n ON n.id = p.node_id WHERE n.id = $1 OR n.parent_id = $1 "
                                     "ORDER BY p.node_id, p.namespace, p.name",
                                     node_id)
                    : db::exec_cached(tx, "SELECT node_id, namespace, name, value FROM files.properties WHERE node_id = $1 "
                                     "ORDER BY namespace, name",
                                     node_id);
    std::vector<dead_property> out;
    for (const auto& r : rows)
        out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>()});
    return out;
}

void set_property(pqxx::work& tx, std::int64_t node_id, const std::string& ns, const std::string& name,
                  const std::string& value) {
    db::exec_cached(tx, "INSERT INTO files.properties (node_id, namespace, name, value) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = EXCLUDED.value",
                   node_id, ns, name, value);
}

void remove_property(pqxx::work& tx, std::int64_t node_id, const std::string& ns, const std::string& name) {
    db::exec_cached(tx, "DELETE FROM files.properties WHERE node_id = $1 AND namespace = $2 AND name = $3", node_id, ns, name);
}

void purge_expired_locks(pqxx::work& tx, std::int64_t home_id) {
    db::exec_cached(tx, "DELETE FROM files.locks WHERE home_id = $1 AND expires_at <= now()", home_id);
}

std::vector<lock> locks_covering(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    return read_locks(db::exec_cached(tx,
        sql("SELECT ", lock_columns,
            " FROM files.locks WHERE home_id = $1 AND expires_at > now() AND "
            "(path = $2 OR (depth_infinite AND (path = '' OR starts_with($2, path || '/')))) ORDER BY created_at"),
        home_id, path));
}

std::vector<lock> locks_below(pqxx::work& tx, std::int64_t home_id, const std::string& path) {
    return read_locks(db::exec_cached(tx,
        sql("SELECT ", lock_columns,
            " FROM files.locks WHERE home_id = $1 AND expires_at > now() AND path <> $2 AND "
            "($2 = '' OR starts_with(path, $2 || '/')) ORDER BY created_at"),
        home_id, path));
}

std::vector<lock> locks_in_home(pqxx::work& tx, std::int64_t home_id) {
    return read_locks(db::exec_cached(tx,
        sql("SELECT ", lock_columns, " FROM files.locks WHERE home_id = $1 AND expires_at > now() ORDER BY created_at"),
        home_id));
}

std::optional<lock> find_lock(pqxx::work& tx, std::int64_t home_id, const std::string& token) {
    auto rows = db::exec_cached(tx,
        sql("SELECT ", lock_columns, " FROM files.locks WHERE home_id = $1 AND token = $2 AND expires_at > now()"),
        home_id, token);
    if (rows.empty()) return std::nullopt;
    return read_lock(rows[0]);
}

lock create_lock(pqxx::work& tx, std::int64_t home_id, const std::string& path, bool infinite, bool exclusive,
                 const std::string& owner_xml, std::int64_t account_id, std::int64_t timeout_seconds) {
    return read_lock(db::exec_cached1(tx,
        sql("INSERT INTO files.locks (token, home_id, path, depth_infinite, exclusive, owner_xml, account_id, "
            "timeout_seconds, expires_at) VALUES ('urn:uuid:' || gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7::bigint, "
            "now() + $7::bigint * interval '1 second') RETURNING ",
            lock_columns),
        home_id, path, infinite, exclusive, owner_xml, account_id, timeout_seconds));
}

void refresh_lock(pqxx::work& tx, const std::string& token, std::int64_t timeout_seconds) {
    db::exec_cached(tx, "UPDATE files.locks SET timeout_seconds = $2::bigint, expires_at = now() + $2::bigint * interval '1 second' "
                   "WHERE token = $1",
                   token, timeout_seconds);
}

void remove_lock(pqxx::work& tx, const std::string& token) {
    db::exec_cached(tx, "DELETE FROM files.locks WHERE token = $1", token);
}

}  // namespace polder::webdav::store
