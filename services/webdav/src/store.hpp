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

#include "polder/db/async_connection.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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
// home_by_id - a home row (team folder or another account's home reached
// through a share); quota: the home's own, else its account's.
home home_by_id(pqxx::work& tx, std::int64_t home_id);

// Team folders and shares (schema/0301_files_sharing.sql).
struct team_folder {
    std::int64_t home_id = 0;
    std::string name;
};
// team_for_member - the team folder of org named name (case-insensitive) if
// account_id is a member of its group.
std::optional<team_folder> team_for_member(pqxx::work& tx, std::int64_t org_id, std::int64_t account_id,
                                           const std::string& name);
// teams_of_member - every team folder whose group has account_id as a member.
std::vector<team_folder> teams_of_member(pqxx::work& tx, std::int64_t org_id, std::int64_t account_id);
struct share_mount {
    std::int64_t home_id = 0;
    std::string owner;     // owner's address
    std::string name;      // share name
    std::string path;      // the shared folder's current path in the owner's home
    bool writable = false; // any of the shares that reach the principal is read-write
};
// shares_for - shares of org that reach account_id (directly or through a
// group), optionally only one owner's / one name; one row per (owner, name).
std::vector<share_mount> shares_for(pqxx::work& tx, std::int64_t org_id, std::int64_t account_id,
                                    const std::string& owner = {}, const std::string& name = {});

// begin_change - the home's modseq for a change: the next one on the first
// change of the home in this transaction (which locks the home row until
// commit), the same one for every later change of it in the transaction
// (files.begin_change, schema 0303: a group-committed batch of PUTs is one
// state change to readers).
std::int64_t begin_change(pqxx::work& tx, std::int64_t home_id);
// begin_puts - for a batch of PUTs (files.begin_puts, schema 0304): each
// target's home (home_id 0: account_id's personal home) gets begin_change,
// the homes in ascending id order, and then, read under those locks, the
// home row (the usage a quota check needs is then current), the live-lock
// flag and the nodes at each target's path and parent. One entry per
// target, in order; nullopt for a target whose account has no home yet.
struct put_target {
    std::int64_t home_id = 0;
    std::int64_t account_id = 0;
    std::string path;   // not the root
};
struct change_at {
    std::int64_t modseq = 0;
    home h;
    std::optional<node> existing;
    std::optional<node> parent;
    bool locks = false;   // the home has a live lock
};
std::vector<std::optional<change_at>> begin_puts(pqxx::work& tx, const std::vector<put_target>& targets);
// find_with_parent - the node at path and its parent collection's node, in
// one query (path must not be the root). With locks: *locks says whether the
// home has any live lock, from the same query.
std::pair<std::optional<node>, std::optional<node>> find_with_parent(pqxx::work& tx, std::int64_t home_id,
                                                                     const std::string& path, bool* locks = nullptr);
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
// new_file - a file insert_files creates (no node at path yet; parent is
// its collection's node id; modseq from begin_change). With inline_bytes,
// whose SHA-256 is blob_hex, the content is stored as put_inline stores it.
struct new_file {
    std::int64_t home_id = 0;
    std::int64_t parent_id = 0;
    std::string path;
    std::string blob_hex;
    std::int64_t size = 0;
    std::string content_type;
    std::string etag;
    std::int64_t modseq = 0;
    const std::string* inline_bytes = nullptr;
};
// insert_files - the nodes of new files, their contents kept in the
// database, and the modseq stamped on their ancestors: one statement for
// any number of files (a round trip and a quota-trigger run per batch, not
// per file). Nothing when files is empty.
void insert_files(pqxx::work& tx, const std::vector<new_file>& files);
// put_new_files - a batch of PUTs that may create files, as ONE statement
// (files.put_new_files, schema 0305) to send outside a transaction block,
// where it commits by itself: files[i].home_id 0 is the personal home of
// accounts[i]; parent_id and modseq are found by the statement.
// put_new_files_status - its answer per file, in order: 201 (created), 409,
// 405, 507, or 0 (left: an overwrite, a home with live locks or none yet, a
// path an earlier file of the batch takes; the caller's transaction decides
// it).
db::statement put_new_files(const std::vector<new_file>& files, const std::vector<std::int64_t>& accounts);
std::vector<int> put_new_files_status(const db::async_result& rows, std::size_t files);
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

// transfer_tree - COPY or MOVE n (its subtree when deep) from home src_home to
// dest in another home. A move keeps file ids and leaves tombstones (stamped
// src_modseq) and no trash entry in the source home; locks stay behind (RFC
// 4918 9.9.4: locks are not moved).
void transfer_tree(pqxx::work& tx, std::int64_t src_home, const node& n, std::int64_t dest_home, const node& dest_parent,
                   const std::string& dest, bool deep, bool move, std::int64_t src_modseq, std::int64_t dest_modseq);
// tree_bytes - the bytes of n (its subtree when deep).
std::int64_t tree_bytes(pqxx::work& tx, std::int64_t home_id, const node& n, bool deep);

// Versions and trash (polderctl file ...). Quota: neither counts against the
// home's quota (docs/files.md: a full home must be able to delete to make room);
// both are bounded by retention and removed by expire().
struct version_entry {
    std::int64_t id = 0;
    std::int64_t size = 0;
    std::string blob_id;
    std::int64_t modified = 0;   // unix seconds the content was written
    std::int64_t replaced = 0;   // unix seconds it was overwritten
};
std::vector<version_entry> versions_of(pqxx::work& tx, std::int64_t node_id);
// restore_version - make version_id the file's current content (the current
// content becomes a version, per put_file). false: no such version of the node.
bool restore_version(pqxx::work& tx, std::int64_t home_id, const node& n, std::int64_t version_id, const retention& keep);

struct trash_entry {
    std::int64_t id = 0;
    std::string original_path;
    bool collection = false;
    std::int64_t size = 0;
    std::int64_t items = 0;
    std::string deleted_by;      // address, '' when unknown
    std::int64_t deleted = 0;    // unix seconds
};
std::vector<trash_entry> trash_of(pqxx::work& tx, std::int64_t home_id);
// trash_item - one entry of the home, with the content of a deleted file (its blob id and
// content type; '' for a folder); nullopt when the home has no such entry.
struct trash_item {
    trash_entry entry;
    std::string blob_id;
    std::string content_type;
};
std::optional<trash_item> trash_item_of(pqxx::work& tx, std::int64_t home_id, std::int64_t id);
// restore_trash - recreate trash entry id at path (its original path when
// empty), creating missing parent folders; file ids are kept when free.
// Returns "" on success, else why not (no such entry, path taken).
std::string restore_trash(pqxx::work& tx, std::int64_t home_id, std::int64_t id, const std::string& path);
// purge_trash - remove one entry (id > 0) or all of the home's; the count removed.
std::int64_t purge_trash(pqxx::work& tx, std::int64_t home_id, std::int64_t id);

// expire - drop trash entries older than trash_days and versions beyond
// versions_keep / older than versions_max_age_days, in every home.
struct expired {
    std::int64_t trash = 0;
    std::int64_t versions = 0;
};
expired expire(pqxx::work& tx, const retention& keep);

// unreferenced_blobs - those of candidates (hex ids) that no row of any
// module references. References are every column named blob_id (text hex)
// or blob_sha256 (bytea) in any table of the database, plus the blobs
// listed in files.trash manifests. Throws std::runtime_error when a table
// has another column whose name contains "blob" (an unknown reference
// scheme: collecting would be unsafe).
std::vector<std::string> unreferenced_blobs(pqxx::work& tx, const std::vector<std::string>& candidates);

// Small files' bytes kept in PostgreSQL (schema/0302_files_inline.sql),
// named by their SHA-256 hex like blobs.
// inline_limit - the largest content a deployment may keep there
// (webdav.inline_max_bytes is capped to it; the table's CHECK agrees).
inline constexpr std::uint64_t inline_limit = 1024 * 1024;
// put_inline - store content under hex (its SHA-256, which the table
// checks); when it is stored already, mark it used now instead, which locks
// the row until commit so a collection racing this transaction skips it.
void put_inline(pqxx::work& tx, const std::string& hex, std::string_view content);
// inline_content - the bytes stored under hex, if they are kept in PostgreSQL.
std::optional<std::string> inline_content(pqxx::work& tx, const std::string& hex);
// inline_candidates - up to limit ids after `after` (in id order) not
// touched since cutoff_unix (seconds): what a collection checks next.
std::vector<std::string> inline_candidates(pqxx::work& tx, const std::string& after, std::int64_t cutoff_unix,
                                           std::size_t limit);
// inline_bytes - the total size of the contents stored under ids.
std::uint64_t inline_bytes(pqxx::work& tx, const std::vector<std::string>& ids);
// remove_inline - delete those of ids still not touched since cutoff_unix;
// the (id, bytes) removed. Callers pass only ids unreferenced_blobs returned
// in the same transaction.
std::vector<std::pair<std::string, std::int64_t>> remove_inline(pqxx::work& tx, const std::vector<std::string>& ids,
                                                                std::int64_t cutoff_unix);

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
