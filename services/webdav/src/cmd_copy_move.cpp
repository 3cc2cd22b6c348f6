// cmd_copy_move.cpp - COPY and MOVE inside the principal's home.
//
// SECURITY: Destination is parsed (absolute http(s) URI or absolute path),
// its authority must be the request's Host (else 502: another server), its
// path must be /dav/files/<the principal's own address>/... (else 403), and
// it is decoded segment by segment like the request URL, so "..", "%2e%2e",
// encoded slashes or another account's tree are refused before anything is
// looked up. A collection cannot be copied or moved into itself (403).
// Locks: MOVE needs the source's subtree and both parents unlocked or
// submitted; COPY and MOVE need the destination (its subtree when it is
// overwritten) and its parent.
// STANDARDS: RFC 4918 9.8 (COPY: Depth 0 / infinity, 201 / 204, 412 with
// Overwrite F, 409 without a destination parent, dead properties copied),
// 9.9 (MOVE: Depth infinity only, locks not moved), 10.3 (Destination),
// 10.6 (Overwrite), 9.8.5 / 9.9.4 (status codes, 502 for another server).
#include "service.hpp"

#include <algorithm>

namespace polder::webdav {

namespace {
bool same_authority(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}
}  // namespace

awaitable<http::response> service::cmd_copy_move(ctx& c, bool move) {
    auto dest = dav::parse_destination(c.req.header("Destination"));
    if (!dest) co_return plain(400, "missing or malformed Destination");
    if (!dest->authority.empty() && !same_authority(dest->authority, c.req.header(http::field::host)))
        co_return plain(502, "Destination is on another server");
    path_error perr;
    auto to = parse_dav_path(dest->path, perr);
    if (!to) co_return plain(perr.status == 404 ? 502 : perr.status, perr.status == 404 ? "Destination is not a file URL of this server" : perr.reason);
    if (to->address != c.target.address) co_return plain(403, "Destination is outside your files");

    const auto depth_value = c.req.header("Depth");
    auto depth = depth_value.empty() ? std::optional(dav::depth::infinity) : dav::parse_depth(depth_value);
    if (!depth || *depth == dav::depth::one) co_return plain(400, "Depth must be 0 or infinity");
    const auto overwrite_value = c.req.header("Overwrite");
    auto overwrite = overwrite_value.empty() ? std::optional(true) : dav::parse_overwrite(overwrite_value);
    if (!overwrite) co_return plain(400, "Overwrite must be T or F");

    const std::string& src = c.target.path;
    const std::string& dst = to->path;
    if (src.empty()) co_return plain(403, "the home folder cannot be copied or moved");
    if (dst.empty()) co_return plain(403, "the home folder cannot be replaced");
    if (src == dst) co_return plain(403, "source and destination are the same");

    struct outcome {
        unsigned status = 0;
        std::optional<failure> fail;
    };
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        const home h = store::home_for_account(tx, c.who.account_id, c.who.org_id);
        const std::int64_t modseq = store::begin_change(tx, h.id);
        auto n = store::find(tx, h.id, src);
        if (!n) {
            o.status = 404;
            return o;
        }
        if (move && n->collection && *depth != dav::depth::infinity) {
            o.status = 400;
            return o;
        }
        if (n->collection && inside(dst, src)) {
            o.status = 403;
            return o;
        }
        auto dest_parent = store::find(tx, h.id, parent_of(dst));
        if (!dest_parent || !dest_parent->collection) {
            o.status = 409;
            return o;
        }
        auto existing = store::find(tx, h.id, dst);
        if (existing && !*overwrite) {
            o.status = 412;
            return o;
        }
        // Overwriting an ancestor of the source would delete the source.
        if (existing && inside(src, dst)) {
            o.status = 403;
            return o;
        }
        if (auto s = etag_preconditions(c, n)) {
            o.status = s;
            return o;
        }
        std::vector<lock_target> targets{{dst, true}, {dest_parent->path, false}};
        if (move) {
            targets.push_back({src, true});
            targets.push_back({parent_of(src), false});
        }
        if (auto f = check_conditions(tx, c, h, targets)) {
            o.fail = f;
            return o;
        }
        if (existing) store::remove_tree(tx, h.id, *existing, modseq, opts_.keep, c.who.account_id);
        if (move) {
            store::move_tree(tx, h.id, *n, *dest_parent, dst, modseq);
            store::touch_ancestors(tx, h.id, src, modseq);
        } else {
            store::copy_tree(tx, h.id, *n, *dest_parent, dst, *depth == dav::depth::infinity, modseq);
        }
        store::touch_ancestors(tx, h.id, dst, modseq);
        o.status = existing ? 204 : 201;
        return o;
    });
    if (o.fail) co_return from_failure(c, *o.fail);
    switch (o.status) {
    case 404: co_return plain(404, "not found");
    case 400: co_return plain(400, "MOVE of a collection needs Depth: infinity");
    case 403: co_return plain(403, "source and destination overlap");
    case 409: co_return plain(409, "the destination's parent collection does not exist");
    case 412: co_return plain(412, "the destination exists and Overwrite is F");
    case 201: {
        http::response r;
        r.code = http::status::created;
        r.headers.set(http::field::location, href(c.target.address, dst, false));
        co_return r;
    }
    default: co_return empty_response(http::status::no_content);
    }
}

}  // namespace polder::webdav
