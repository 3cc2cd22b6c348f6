// cmd_report.cpp - REPORT: sync-collection (RFC 6578); other reports are
// refused with DAV:supported-report.
//
// The token is "urn:x-polder:sync:<home>-<modseq>". Changes since a token are
// the nodes under the collection whose modseq is newer (each change stamps the
// node and its ancestors) and the tombstones newer than it whose path does not
// exist again (404 members). A token of another home, from the future, or
// malformed is DAV:valid-sync-token. With DAV:limit, a result larger than the
// limit is refused with 507 and DAV:number-of-matches-within-limits rather
// than truncated, so a client never skips a change.
//
// SECURITY: the request body goes through polder::dav's limits; results are
// bounded by the collection's size, which quota bounds.
// STANDARDS: RFC 6578 3.2-3.8 (sync-collection, sync-level 1 / infinite,
// 404 for removed members, DAV:valid-sync-token, 507 with
// DAV:number-of-matches-within-limits), RFC 3253 3.6 (REPORT, Depth 0,
// DAV:supported-report).
#include "props.hpp"

namespace polder::webdav {

awaitable<http::response> service::cmd_report(ctx& c) {
    auto body = co_await read_xml(c.req);
    if (body.error) co_return std::move(*body.error);
    if (!body.root) co_return plain(400, "REPORT needs a body");
    if (!body.root->is(dav::dav_ns, "sync-collection")) co_return dav_error(403, dav::dav("supported-report"));
    std::string reason;
    auto request = dav::parse_sync_collection(*body.root, reason);
    if (!request) co_return plain(400, reason);
    const auto depth_value = c.req.header("Depth");
    if (!depth_value.empty() && dav::parse_depth(depth_value) != dav::depth::zero)
        co_return plain(400, "sync-collection needs Depth: 0");

    struct outcome {
        unsigned status = 0;
        std::optional<dav::qname> error;
        std::string body;
    };
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        const home h = open_home(tx, c.who, c.sp);
        auto n = store::find(tx, h.id, c.target.path);
        if (!n) {
            o.status = 404;
            return o;
        }
        if (!n->collection) {
            o.status = 403;
            o.error = dav::dav("supported-report");
            return o;
        }
        std::int64_t since = 0;
        if (!request->sync_token.empty()) {
            auto m = parse_sync_token(request->sync_token, h.id);
            if (!m || *m > h.modseq) {
                o.status = 403;
                o.error = dav::dav("valid-sync-token");
                return o;
            }
            since = *m;
        }
        const bool depth_one = !request->infinite;
        auto changed = store::changed_since(tx, h.id, n->path, depth_one, since);
        std::vector<store::tombstone> gone;
        if (since > 0) gone = store::deleted_since(tx, h.id, n->path, depth_one, since);
        if (request->limit && changed.size() + gone.size() > *request->limit) {
            o.status = 507;
            o.error = dav::dav("number-of-matches-within-limits");
            return o;
        }
        const auto locks = store::locks_in_home(tx, h.id);
        prop_context pc{*this, h, c.sp, c.who.address, locks};
        dav::multistatus ms;
        for (const auto& x : changed) {
            const auto dead = store::properties(tx, x.id, false);
            ms.add_propstat(c.href(x.path, x.collection), node_propstats(x, request->props, dead, pc));
        }
        for (const auto& t : gone) ms.add_status(c.href(t.path, t.collection), 404);
        o.status = 207;
        o.body = ms.finish(sync_token_for(h.id, h.modseq));
        return o;
    });
    if (o.status == 404) co_return plain(404, "not found");
    if (o.error) co_return dav_error(o.status, *o.error);
    co_return xml_response(207, std::move(o.body));
}

}  // namespace polder::webdav
