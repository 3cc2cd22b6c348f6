// cmd_lock.cpp - LOCK (create and refresh) and UNLOCK.
//
// A LOCK on an unmapped URL creates an empty file that is locked ("locked
// empty resource", RFC 4918 7.3, which replaced RFC 2518's lock-null
// resources); it stays an ordinary empty file after UNLOCK. Timeouts are
// capped (webdav options: default 1 hour, at most 7 days, "Infinite" gets
// the cap) and expired locks are ignored everywhere, then purged lazily.
//
// SECURITY: a lock conflicts with any lock whose scope overlaps it unless
// both are shared; refresh and UNLOCK only work for the principal that owns
// the lock; lock tokens are random UUIDs from PostgreSQL's gen_random_uuid().
// STANDARDS: RFC 4918 9.10 (LOCK: 200 / 201, Lock-Token header, Depth 0 or
// infinity, refresh with an empty body and If), 9.11 (UNLOCK: 204, 409 with
// DAV:lock-token-matches-request-uri), 6.1-6.5, 7.3, 10.5 (Lock-Token),
// 10.7 (Timeout), 16 (DAV:no-conflicting-lock, DAV:lock-token-submitted).
#include "service.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/blob/store.hpp"

#include <algorithm>
#include <functional>

namespace polder::webdav {

namespace {
std::string lock_body(const std::string& activelock) {
    return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>" + activelock +
           "</D:lockdiscovery></D:prop>\n";
}
}  // namespace

awaitable<http::response> service::cmd_lock(ctx& c) {
    const auto depth_value = c.req.header("Depth");
    auto depth = depth_value.empty() ? std::optional(dav::depth::infinity) : dav::parse_depth(depth_value);
    if (!depth || *depth == dav::depth::one) co_return plain(400, "Depth must be 0 or infinity");
    std::int64_t seconds = opts_.default_lock_seconds;
    if (auto t = dav::parse_timeout(c.req.header("Timeout")))
        seconds = t->infinite ? opts_.max_lock_seconds
                              : std::clamp<std::int64_t>(static_cast<std::int64_t>(t->seconds), 1, opts_.max_lock_seconds);

    auto body = co_await read_xml(c.req);
    if (body.error) co_return std::move(*body.error);

    struct outcome {
        unsigned status = 0;
        std::optional<failure> fail;
        lock l;
        std::string conflict;
    };

    if (!body.root) {
        // Refresh: the If header names the lock(s) to refresh.
        if (!c.if_header) co_return plain(400, "a LOCK refresh needs an If header with the lock token");
        auto o = co_await pool_.transact([&](pqxx::work& tx) {
            outcome o;
            const home h = open_home(tx, c.who, c.sp);
            if (!store::find(tx, h.id, c.target.path)) {
                o.status = 404;
                return o;
            }
            if (auto f = check_conditions(tx, c, h, {})) {
                o.fail = f;
                return o;
            }
            const auto tokens = c.if_header->state_tokens();
            for (const auto& l : store::locks_covering(tx, h.id, c.target.path)) {
                if (std::find(tokens.begin(), tokens.end(), l.token) == tokens.end()) continue;
                if (l.account_id != c.who.account_id) continue;
                store::refresh_lock(tx, l.token, seconds);
                o.l = *store::find_lock(tx, h.id, l.token);
                o.status = 200;
                return o;
            }
            o.status = 412;
            return o;
        });
        if (o.fail) co_return from_failure(c, *o.fail);
        if (o.status == 404) co_return plain(404, "not found");
        if (o.status == 412) co_return dav_error(412, dav::dav("lock-token-matches-request-uri"));
        co_return xml_response(200, lock_body(activelock_xml(o.l, c.sp)));
    }

    std::string reason;
    auto info = dav::parse_lockinfo(*body.root, reason);
    if (!info) co_return plain(400, reason);
    if (info->owner_xml.size() > 16384) co_return plain(400, "DAV:owner too large");
    if (c.at_root()) co_return plain(403, "the home folder cannot be locked");

    // The content of a locked empty resource (RFC 4918 7.3): kept in
    // PostgreSQL with its row (schema 0302) or, with webdav.inline_max_bytes
    // 0, an empty blob made durable (on the file I/O threads) before any row
    // names it.
    const std::string empty_blob = blob::sha256::of(std::string_view{}).hex();
    const bool empty_inline = opts_.inline_max_bytes > 0;
    if (!empty_inline) {
        bool stored = false;
        std::function<void()> store_empty = [&] {
            auto w = blobs_.begin(0);
            stored = w && w->commit();
        };
        co_await blocking(store_empty);
        if (!stored) co_return plain(503, "storage unavailable");
    }

    const bool infinite = *depth == dav::depth::infinity;
    const bool exclusive = info->scope == dav::lock_scope::exclusive;
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        const home h = open_home(tx, c.who, c.sp);
        const std::int64_t modseq = store::begin_change(tx, h.id);
        store::purge_expired_locks(tx, h.id);
        auto n = store::find(tx, h.id, c.target.path);
        std::optional<node> parent;
        if (!n) {
            parent = store::find(tx, h.id, parent_of(c.target.path));
            if (!parent || !parent->collection) {
                o.status = 409;
                return o;
            }
        }
        auto existing = store::locks_covering(tx, h.id, c.target.path);
        if (infinite) {
            auto below = store::locks_below(tx, h.id, c.target.path);
            existing.insert(existing.end(), below.begin(), below.end());
        }
        for (const auto& l : existing) {
            if (exclusive || l.exclusive) {
                o.status = 423;
                o.conflict = l.path;
                return o;
            }
        }
        std::vector<lock_target> targets;
        if (!n) targets.push_back({parent->path, false});   // creating a member of a locked collection
        if (auto f = check_conditions(tx, c, h, targets)) {
            o.fail = f;
            return o;
        }
        if (!n) {
            if (empty_inline) store::put_inline(tx, empty_blob, {});
            store::put_file(tx, h.id, *parent, std::nullopt, c.target.path, empty_blob, 0,
                            content_type_for(name_of(c.target.path), ""), "\"" + empty_blob.substr(0, 32) + "\"", modseq);
            store::touch_ancestors(tx, h.id, c.target.path, modseq);
        }
        o.l = store::create_lock(tx, h.id, c.target.path, infinite && (!n || n->collection), exclusive, info->owner_xml,
                                 c.who.account_id, seconds);
        o.status = n ? 200 : 201;
        return o;
    });
    if (o.fail) co_return from_failure(c, *o.fail);
    if (o.status == 409) co_return plain(409, "the parent collection does not exist");
    if (o.status == 423) {
        std::string b = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:no-conflicting-lock>" +
                        dav::href_element(c.href(o.conflict, false)) + "</D:no-conflicting-lock></D:error>\n";
        co_return xml_response(423, std::move(b));
    }
    auto r = xml_response(o.status, lock_body(activelock_xml(o.l, c.sp)));
    r.headers.set("Lock-Token", "<" + o.l.token + ">");
    co_return r;
}

awaitable<http::response> service::cmd_unlock(ctx& c) {
    std::string_view value = c.req.header("Lock-Token");
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.size() < 3 || value.front() != '<' || value.back() != '>') co_return plain(400, "missing or malformed Lock-Token");
    const std::string token(value.substr(1, value.size() - 2));
    auto status = co_await pool_.transact([&](pqxx::work& tx) -> unsigned {
        const home h = open_home(tx, c.who, c.sp);
        auto l = store::find_lock(tx, h.id, token);
        if (!l || !(l->path == c.target.path || (l->infinite && inside(c.target.path, l->path)))) return 409;
        if (l->account_id != c.who.account_id) return 403;
        store::remove_lock(tx, token);
        return 204;
    });
    if (status == 409) co_return dav_error(409, dav::dav("lock-token-matches-request-uri"));
    if (status == 403) co_return plain(403, "the lock belongs to someone else");
    co_return empty_response(http::status::no_content);
}

}  // namespace polder::webdav
