// service.hpp - polder-webdavd's request handling: one function from an
// authenticated request to a response per WebDAV method (habit: Dovecot's
// one file per command; the table is in service.cpp).
//
// Every request: authenticate (HTTP Basic, TLS or allowed loopback), map the
// URL to the principal's own home (another account's URL is 404), check
// preconditions (If, If-Match, If-None-Match, locks), act in one database
// transaction, answer. File bodies stream between the socket and the blob
// store in fixed-size buffers.
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
#include "polder/dav/headers.hpp"
#include "polder/dav/multistatus.hpp"
#include "polder/dav/requests.hpp"
#include "polder/db/pool.hpp"
#include "polder/http/router.hpp"

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace polder::webdav {

struct options {
    std::uint64_t max_file_size = 100ull << 30;
    std::size_t max_xml_bytes = 1 << 20;          // PROPFIND/PROPPATCH/LOCK/REPORT bodies
    std::size_t max_xml_depth = 64;
    std::int64_t default_lock_seconds = 3600;     // LOCK without Timeout
    std::int64_t max_lock_seconds = 7 * 86400;    // cap for long or Infinite requests
    bool allow_plaintext_on_loopback = false;
    std::filesystem::path blob_root;              // for quota-available-bytes without a quota
    store::retention keep;                        // versions and trash (webdav.versions_*, trash_days)
};

inline const dav::qname polder_file_id{"urn:x-polder:files", "file-id"};

// ctx - one authenticated request.
struct ctx {
    http::request& req;
    auth::principal who;
    dav_path target;
    std::optional<dav::if_header> if_header;
};

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

    // Shared helpers (service.cpp).
    struct xml_body {
        std::optional<dav::xml_element> root;   // nullopt: empty body
        std::optional<http::response> error;    // 400/413 to send instead
    };
    awaitable<xml_body> read_xml(ctx& c);

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
    std::optional<failure> check_conditions(pqxx::work& tx, const ctx& c, const home& h,
                                            const std::vector<lock_target>& targets);
    // etag_preconditions - If-Match / If-None-Match / If-Unmodified-Since for
    // a state-changing request on n (nullopt: absent). 0 = pass, else 412.
    unsigned etag_preconditions(const ctx& c, const std::optional<node>& n);

    std::string quota_available(const home& h) const;
    std::string activelock_xml(const lock& l, const std::string& address) const;
    static http::response xml_response(unsigned code, std::string body);
    static http::response dav_error(unsigned code, const dav::qname& condition);
    static http::response plain(unsigned code, std::string_view reason);
    http::response from_failure(const ctx& c, const failure& f);

    const options& opts() const { return opts_; }
    db::pool& pool() { return pool_; }
    blob::store& blobs() { return blobs_; }

private:
    awaitable<std::optional<auth::principal>> authenticate(http::request& req, http::response& refusal);

    db::pool& pool_;
    blob::store& blobs_;
    auth::authenticator& auth_;
    options opts_;

    // Successful logins for a minute, keyed by SHA-256(user NUL password), so
    // a sync client's hundreds of requests cost one Argon2id verification.
    struct cached {
        auth::principal who;
        std::chrono::steady_clock::time_point expires;
    };
    std::mutex cache_mutex_;
    std::unordered_map<std::string, cached> cache_;
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
// rfc3339 - "2026-11-23T10:00:00Z" for DAV:creationdate.
std::string rfc3339(std::int64_t unix_seconds);

}  // namespace polder::webdav
