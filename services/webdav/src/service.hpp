// service.hpp - polder-webdavd's request handling: one function from an
// authenticated request to a response per WebDAV method (habit: Dovecot's
// one file per command; the table is in service.cpp).
//
// Every request: authenticate (HTTP Basic, TLS or allowed loopback), map the
// URL to a tree the principal may reach (own home, team folder of a group
// they are in, folder shared with them: spaces.cpp; anything else is 404),
// refuse changes in a read-only share (403), check
// preconditions (If, If-Match, If-None-Match, locks), act in one database
// transaction, answer. File bodies stream between the socket and the blob
// store in fixed-size buffers; the blob's durable commit (fsync) runs on
// file I/O threads, never on an I/O thread.
//
// SECURITY: see each command; in short: credentials never over plain HTTP
// except on loopback when auth.allow_plaintext_on_loopback; URL paths and
// Destination are decoded per segment and can never leave the principal's
// home; XML bodies go through polder::dav (no DTD, size and depth limits);
// PUT is acknowledged only after the blob is durable and the row committed;
// quota is checked before the first body byte is read when the length is known.
// STANDARDS: RFC 4918 (WebDAV classes 1, 2, 3), RFC 6578 (sync-collection),
// RFC 4331 (quota properties), RFC 9110 (conditional requests, Range),
// RFC 7617 (Basic).
#pragma once

#include "paths.hpp"
#include "store.hpp"

#include "polder/asio/asio.hpp"
#include "polder/auth/login.hpp"
#include "polder/blob/store.hpp"
#include "polder/dav/body.hpp"
#include "polder/dav/headers.hpp"
#include "polder/dav/multistatus.hpp"
#include "polder/dav/requests.hpp"
#include "polder/db/group_commit.hpp"
#include "polder/db/pool.hpp"
#include "polder/http/router.hpp"
#include "polder/service/http_login.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

namespace polder::webdav {

struct options {
    std::uint64_t max_file_size = 100ull << 30;
    std::uint64_t inline_max_bytes = 32 * 1024;   // smaller files' bytes go to PostgreSQL (0: none)
    std::size_t max_xml_bytes = 1 << 20;          // PROPFIND/PROPPATCH/LOCK/REPORT bodies
    std::size_t max_xml_depth = 64;
    std::int64_t default_lock_seconds = 3600;     // LOCK without Timeout
    std::int64_t max_lock_seconds = 7 * 86400;    // cap for long or Infinite requests
    bool allow_plaintext_on_loopback = false;
    std::filesystem::path blob_root;              // for quota-available-bytes without a quota
    store::retention keep;                        // versions and trash (webdav.versions_*, trash_days)
};

inline const dav::qname polder_file_id{"urn:x-polder:files", "file-id"};

// space - the tree a URL resolved to for the principal: their own home, a
// team folder they are a member of, or a folder shared with them. Paths in
// requests are relative to the space; inside a command they are home paths
// (root joined with the relative path).
struct space {
    area where = area::files;
    std::int64_t home_id = 0;   // 0: the principal's own home (found or created in the transaction)
    std::string root;           // home path of the space's root ('' for homes and team folders)
    std::string url_root;       // percent-encoded URL of the root, ending in '/'
    std::string display;        // DAV:displayname of the root
    bool writable = true;

    // href - the URL of a home path (paths outside the space map to its root).
    std::string href(std::string_view home_path, bool collection) const;
    // relative - the part of a home path below root (nullopt when outside).
    std::optional<std::string> relative(std::string_view home_path) const;
};

// ctx - one authenticated request.
struct ctx {
    http::request& req;
    auth::principal who;
    dav_path target;   // target.path is the HOME path once the space is resolved
    std::optional<dav::if_header> if_header;
    space sp;
    const space* dest = nullptr;   // COPY / MOVE: the Destination's space while checking If

    std::string href(std::string_view home_path, bool collection) const { return sp.href(home_path, collection); }
    bool at_root() const { return target.path == sp.root; }
};

struct put_item;   // one PUT of a batch (cmd_put.cpp)

// make_reader_source - a response body read from rd (cmd_get.cpp): sendfile(2) on plain
// connections when the blob store keeps the bytes in a local file.
std::unique_ptr<http::body_source> make_reader_source(blob::reader rd);

class service {
public:
    service(db::pool& pool, blob::store& blobs, auth::authenticator& auth, options opts);
    // routes - the router table of polder-webdavd.
    http::router routes();
    awaitable<http::response> handle(http::request& req);

    // Commands (one file each: cmd_*.cpp).
    awaitable<http::response> cmd_options(ctx& c);
    awaitable<http::response> cmd_get(ctx& c);
    awaitable<http::response> cmd_put(ctx& c);
    awaitable<http::response> cmd_mkcol(ctx& c);
    awaitable<http::response> cmd_delete(ctx& c);
    awaitable<http::response> cmd_propfind(ctx& c);
    awaitable<http::response> cmd_proppatch(ctx& c);
    awaitable<http::response> cmd_copy_move(ctx& c, bool move);
    awaitable<http::response> cmd_lock(ctx& c);
    awaitable<http::response> cmd_unlock(ctx& c);
    awaitable<http::response> cmd_report(ctx& c);
    // cmd_listing.cpp - /dav/teams/, /dav/shared/ and /dav/shared/<owner>/.
    awaitable<http::response> cmd_listing(ctx& c);
    // propfind_input - a PROPFIND's Depth and body, or the 4xx to answer instead.
    struct propfind_input {
        dav::depth depth = dav::depth::infinity;
        dav::propfind_request request;
        std::optional<http::response> error;
    };
    // read_propfind - Depth (absent: infinity; refused with 403 propfind-finite-depth when
    // finite_only) and the body (empty: allprop).
    awaitable<propfind_input> read_propfind(http::request& req, bool finite_only);
    // cmd_trash.cpp - /dav/trash/: the signed-in account's own trash.
    awaitable<http::response> cmd_trash(http::request& req, const auth::principal& who);

    // resolve_space - the space a parsed URL names for the principal, or
    // nullopt (404: not theirs, or does not exist). Own homes cost no query.
    awaitable<std::optional<space>> resolve_space(const auth::principal& who, const dav_path& p);
    // open_home - the space's home row in this transaction (the principal's
    // own home is created on first use; sp.home_id is set to it).
    static home open_home(pqxx::work& tx, const auth::principal& who, space& sp);

    // Shared helpers (service.cpp).
    using xml_body = dav::xml_body;   // root (nullopt: empty body) or the 400/413 to send
    awaitable<xml_body> read_xml(http::request& req);

    struct failure {
        unsigned status = 0;
        std::optional<dav::qname> condition;
        std::string href;   // the resource that failed (for 207 / error bodies)
    };
    // lock_target - a path a request modifies: itself, or its whole subtree.
    struct lock_target {
        std::string path;
        bool subtree = false;
    };
    // check_conditions - the If header holds and every lock on the targets is
    // submitted by its owner. Returns the failure (412 / 423) or nothing.
    // home_has_locks=false (known from an earlier query of this transaction)
    // skips reading the home's locks.
    std::optional<failure> check_conditions(pqxx::work& tx, const ctx& c, const home& h,
                                            const std::vector<lock_target>& targets, bool home_has_locks = true);
    // etag_preconditions - If-Match / If-None-Match / If-Unmodified-Since for
    // a state-changing request on n (nullopt: absent). 0 = pass, else 412.
    unsigned etag_preconditions(const ctx& c, const std::optional<node>& n);

    std::string quota_available(const home& h) const;
    std::string activelock_xml(const lock& l, const space& sp) const;
    static http::response xml_response(unsigned code, std::string body);
    static http::response dav_error(unsigned code, const dav::qname& condition);
    static http::response plain(unsigned code, std::string_view reason);
    http::response from_failure(const ctx& c, const failure& f);

    // blocking - run f (blocking file I/O: a blob's fsync and rename) on the
    // file I/O threads, then resume on the caller's executor; f's exceptions
    // are rethrown here. Pass a named std::function (see STYLE pitfalls).
    awaitable<void> blocking(std::function<void()>& f);

    const options& opts() const { return opts_; }
    db::pool& pool() { return pool_; }
    blob::store& blobs() { return blobs_; }

    // Threads for blocking file I/O. A blob commit waits for two fsyncs
    // (file and folder, several ms on a VM disk); on the two I/O threads that
    // capped small PUTs at ~300/s and stalled every other connection of the
    // thread meanwhile. The file system batches concurrent fsyncs into one
    // journal commit, so many waiting threads give many times the throughput;
    // they sleep in fsync and cost no CPU.
    static constexpr unsigned file_io_threads = 16;

private:
    db::pool& pool_;
    blob::store& blobs_;
    options opts_;
    polder::service::http_login login_;   // Basic over TLS, throttling answers, 60-second cache
    asio::thread_pool file_io_{file_io_threads};
    // PUT's metadata transactions, batched (db/group_commit.hpp, batch_commit):
    // every PUT locks its home's row (modseq, usage) until COMMIT, so the
    // clients of one home each waited a whole WAL flush in turn; a batch takes
    // the lock once, pays one flush for all, and reads and writes its PUTs
    // with a few set-based statements (run_puts, cmd_put.cpp). Batches start
    // from the file I/O threads. One batch at a time: the next gathers
    // whatever arrived meanwhile, so one in flight still commits any number of
    // PUTs per flush.
    // A batch's PUTs that create files go first through put_new_files: ONE
    // statement in autocommit, no BEGIN or COMMIT (schema 0305); what it
    // leaves (overwrites, locked homes, conditional PUTs) goes through run_puts.
    void run_puts(pqxx::work& tx, std::span<put_item* const> items);
    std::optional<db::statement> put_new_statement(std::span<put_item* const> items, std::vector<std::size_t>& left);
    void put_new_applied(const db::async_result& rows, std::span<put_item* const> items,
                         std::vector<std::size_t>& left);
    std::atomic<unsigned> put_new_misses_{0};   // batches in a row put_new_files did not decide
    db::batch_commit<put_item> put_commits_{
        pool_, file_io_.get_executor(), db::group_commit::options{.max_batch = 64, .max_in_flight = 1, .max_attempts = 5},
        [this](pqxx::work& tx, std::span<put_item* const> items) { run_puts(tx, items); },
        {[this](std::span<put_item* const> items, std::vector<std::size_t>& left) {
             return put_new_statement(items, left);
         },
         [this](const db::async_result& rows, std::span<put_item* const> items, std::vector<std::size_t>& left) {
             put_new_applied(rows, items, left);
         }}};
};

// empty_response - a status without a body (201 / 204 ...).
inline http::response empty_response(http::status code) {
    http::response r;
    r.code = code;
    return r;
}

// content_type_for - the media type from a file name's extension, else the
// client's Content-Type when well-formed, else application/octet-stream.
std::string content_type_for(std::string_view name, std::string_view client_type);

}  // namespace polder::webdav
