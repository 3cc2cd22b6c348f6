// store.hpp - the files schema (schema/0300_files.sql) as C++ functions on
// one transaction: homes, nodes, dead properties, locks, change tracking.
//
// Every function takes the caller's pqxx::work so one request is one
// transaction (pool.transact), and a change is visible only at COMMIT.
// Writers call begin_change() first: it takes the home's next modseq with an
// UPDATE, which also serialises concurrent writers of one home, so tree
// checks made after it (parent exists, destination free) stay true until
// commit.
//
// SECURITY: parameterised SQL only; every query is scoped by home_id, and a
// home is only ever looked up from the authenticated principal's account id
// (never from request text), so no request reaches another home.
// STANDARDS: RFC 4918 (tree, properties, locks), RFC 6578 (modseq, tombstones).
#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polder::webdav {

struct home {
    std::int64_t id = 0;
    std::int64_t modseq = 0;
    std::int64_t used_bytes = 0;
    std::optional<std::int64_t> quota_bytes;   // effective: home's, else the account's; nullopt unlimited
};

struct node {
    std::int64_t id = 0;
    std::optional<std::int64_t> parent_id;
    std::string path;
    std::string name;
    bool collection = false;
    std::string file_id;
    std::string blob_id;   // hex, files only
    std::int64_t size = 0;
    std::string content_type;
    std::string etag;
    std::int64_t modseq = 0;
    std::int64_t created = 0;    // unix seconds
    std::int64_t modified = 0;   // unix seconds
};

struct lock {
    std::string token;   // "urn:uuid:..."
    std::string path;    // lock root
    bool infinite = false;
    bool exclusive = true;
    std::string owner_xml;
    std::int64_t account_id = 0;
    std::int64_t timeout_seconds = 0;
    std::int64_t remaining_seconds = 0;
};

struct dead_property {
    std::int64_t node_id = 0;
    std::string ns;
    std::string name;
    std::string value;
};

namespace store {

// retention - what overwrites and deletes keep (webdav.versions_*, trash_days).
struct retention {
    unsigned versions_keep = 10;
    unsigned versions_max_age_days = 30;
    unsigned trash_days = 30;
};

// home_for_account - the account's home, created (with its root) on first use.
home home_for_account(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id);
// begin_change - the home's next modseq (locks the home row until commit).
std::int64_t begin_change(pqxx::work& tx, std::int64_t home_id);
// touch_ancestors - stamp modseq (and so the ETag) on every ancestor of path.
void touch_ancestors(pqxx::work& tx, std::int64_t home_id, const std::string& path, std::int64_t modseq);

std::optional<node> find(pqxx::work& tx, std::int64_t home_id, const std::string& path);
std::vector<node> children(pqxx::work& tx, std::int64_t node_id);
// subtree - the node at path and everything below it, parents before children.
std::vector<node> subtree(pqxx::work& tx, std::int64_t home_id, const std::string& path);
// changed_since - nodes under base (itself excluded) changed after modseq;
// depth_one limits to direct children. Ordered by modseq.
std::vector<node> changed_since(pqxx::work& tx, std::int64_t home_id, const std::string& base, bool depth_one,
                                std::int64_t modseq);
struct tombstone {
    std::string path;
    bool collection = false;
    std::int64_t modseq = 0;
};
std::vector<tombstone> deleted_since(pqxx::work& tx, std::int64_t home_id, const std::string& base, bool depth_one,
                                     std::int64_t modseq);

std::int64_t create_collection(pqxx::work& tx, std::int64_t home_id, const node& parent, const std::string& path,
                               std::int64_t modseq);
// put_file - create or replace the file at path; returns the node id. A
// replaced content different from the new one becomes a version (files.versions),
// pruned to the retention's count and age.
std::int64_t put_file(pqxx::work& tx, std::int64_t home_id, const node& parent, const std::optional<node>& existing,
                      const std::string& path, const std::string& blob_hex, std::int64_t size,
                      const std::string& content_type, const std::string& etag, std::int64_t modseq,
                      const retention& keep = {});
// remove_tree - delete the node at path and its subtree, leaving tombstones
// and dropping locks rooted inside it. With keep.trash_days > 0 the subtree
// (relative paths, blob ids, sizes, types, dead properties) is recorded in
// files.trash first (deleted_by: the account, 0 = unknown), and trash entries older than trash_days are purged.
void remove_tree(pqxx::work& tx, std::int64_t home_id, const node& n, std::int64_t modseq, const retention& keep = {},
                 std::int64_t deleted_by = 0);
// copy_tree - copy n (its subtree when deep) to dest under dest_parent, with dead properties.
void copy_tree(pqxx::work& tx, std::int64_t home_id, const node& n, const node& dest_parent, const std::string& dest,
               bool deep, std::int64_t modseq);
// move_tree - move n's subtree to dest under dest_parent (file ids kept;
// tombstones for the old paths; locks rooted inside the source dropped).
void move_tree(pqxx::work& tx, std::int64_t home_id, const node& n, const node& dest_parent, const std::string& dest,
               std::int64_t modseq);

// Dead properties.
std::vector<dead_property> properties(pqxx::work& tx, std::int64_t node_id, bool with_children);
void set_property(pqxx::work& tx, std::int64_t node_id, const std::string& ns, const std::string& name,
                  const std::string& value);
void remove_property(pqxx::work& tx, std::int64_t node_id, const std::string& ns, const std::string& name);

// Locks (expired ones are ignored, and purged by purge_expired_locks).
void purge_expired_locks(pqxx::work& tx, std::int64_t home_id);
// locks_covering - locks whose scope includes path (root == path, or an
// ancestor root with depth infinity).
std::vector<lock> locks_covering(pqxx::work& tx, std::int64_t home_id, const std::string& path);
// locks_below - locks rooted strictly below path.
std::vector<lock> locks_below(pqxx::work& tx, std::int64_t home_id, const std::string& path);
// locks_in_home - every live lock of the home (few in practice), for lockdiscovery.
std::vector<lock> locks_in_home(pqxx::work& tx, std::int64_t home_id);
std::optional<lock> find_lock(pqxx::work& tx, std::int64_t home_id, const std::string& token);
lock create_lock(pqxx::work& tx, std::int64_t home_id, const std::string& path, bool infinite, bool exclusive,
                 const std::string& owner_xml, std::int64_t account_id, std::int64_t timeout_seconds);
void refresh_lock(pqxx::work& tx, const std::string& token, std::int64_t timeout_seconds);
void remove_lock(pqxx::work& tx, const std::string& token);

}  // namespace store
}  // namespace polder::webdav
