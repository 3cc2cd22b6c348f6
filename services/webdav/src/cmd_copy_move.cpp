// cmd_copy_move.cpp - COPY and MOVE inside one tree or between the trees the
// principal can reach (own home, team folders, shares).
//
// SECURITY: Destination is parsed by parse_destination_path (paths.hpp:
// absolute http(s) URI or absolute path, its authority must be the request's
// Host, else 502: another server), it must name a tree the principal can
// write (else 403), and it is decoded segment by segment like the request URL, so "..", "%2e%2e",
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

awaitable<http::response> service::cmd_copy_move(ctx& c, bool move) {
    path_error perr;
    auto to = parse_destination_path(c.req.header("Destination"), c.req.header(http::field::host), perr);
    if (!to) co_return plain(perr.status, perr.reason);
    if (to->listing) co_return plain(403, "Destination is a listing, not a folder you can write to");
    auto dsp = co_await resolve_space(c.who, *to);
    if (!dsp) co_return plain(403, "Destination is outside the folders you can reach");
    if (!dsp->writable) co_return plain(403, "the destination folder is shared with you read-only");
    if (move && !c.sp.writable) co_return plain(403, "this folder is shared with you read-only");
    space& dsp_ref = *dsp;
    c.dest = &dsp_ref;

    const auto depth_value = c.req.header("Depth");
    auto depth = depth_value.empty() ? std::optional(dav::depth::infinity) : dav::parse_depth(depth_value);
    if (!depth || *depth == dav::depth::one) co_return plain(400, "Depth must be 0 or infinity");
    const auto overwrite_value = c.req.header("Overwrite");
    auto overwrite = overwrite_value.empty() ? std::optional(true) : dav::parse_overwrite(overwrite_value);
    if (!overwrite) co_return plain(400, "Overwrite must be T or F");

    const std::string& src = c.target.path;
    const std::string dst = join_path(dsp_ref.root, to->path);
    if (dst.size() > max_path_bytes) co_return plain(414, "path longer than 4096 bytes");
    if (c.at_root()) co_return plain(403, "the root of a home, team or shared folder cannot be copied or moved");
    if (dst == dsp_ref.root) co_return plain(403, "the root of a home, team or shared folder cannot be replaced");

    struct outcome {
        unsigned status = 0;
        std::optional<failure> fail;
    };
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        const home hs = open_home(tx, c.who, c.sp);
        const home hd = open_home(tx, c.who, dsp_ref);
        const bool same = hs.id == hd.id;
        // Writers of two homes take their modseqs in id order, so two
        // opposite cross-home requests cannot deadlock.
        std::int64_t ms = 0, md = 0;
        if (same) {
            ms = md = store::begin_change(tx, hs.id);
        } else if (hs.id < hd.id) {
            ms = store::begin_change(tx, hs.id);
            md = store::begin_change(tx, hd.id);
        } else {
            md = store::begin_change(tx, hd.id);
            ms = store::begin_change(tx, hs.id);
        }
        const home hd_now = same ? hd : store::home_by_id(tx, hd.id);   // usage under the row lock
        if (same && src == dst) {
            o.status = 403;
            return o;
        }
        auto n = store::find(tx, hs.id, src);
        if (!n) {
            o.status = 404;
            return o;
        }
        if (move && n->collection && *depth != dav::depth::infinity) {
            o.status = 400;
            return o;
        }
        if (same && n->collection && inside(dst, src)) {
            o.status = 403;
            return o;
        }
        auto dest_parent = store::find(tx, hd.id, parent_of(dst));
        if (!dest_parent || !dest_parent->collection) {
            o.status = 409;
            return o;
        }
        auto existing = store::find(tx, hd.id, dst);
        if (existing && !*overwrite) {
            o.status = 412;
            return o;
        }
        // Overwriting an ancestor of the source would delete the source.
        if (same && existing && inside(src, dst)) {
            o.status = 403;
            return o;
        }
        if (auto s = etag_preconditions(c, n)) {
            o.status = s;
            return o;
        }
        std::vector<lock_target> dest_targets{{dst, true}, {dest_parent->path, false}};
        std::vector<lock_target> src_targets;
        if (move) {
            src_targets.push_back({src, true});
            src_targets.push_back({parent_of(src), false});
        }
        if (same) dest_targets.insert(dest_targets.end(), src_targets.begin(), src_targets.end());
        if (auto f = check_conditions(tx, c, hd, dest_targets)) {
            o.fail = f;
            return o;
        }
        if (!same && !src_targets.empty()) {
            if (auto f = check_conditions(tx, c, hs, src_targets)) {
                o.fail = f;
                return o;
            }
        }
        // Quota of the destination home: a COPY adds bytes, and so does a
        // MOVE into another home; what an overwrite replaces is freed.
        if (hd_now.quota_bytes && (!move || !same)) {
            const bool deep = *depth == dav::depth::infinity;
            const std::int64_t added = store::tree_bytes(tx, hs.id, *n, deep);
            const std::int64_t freed = existing ? store::tree_bytes(tx, hd.id, *existing, true) : 0;
            if (hd_now.used_bytes - freed + added > *hd_now.quota_bytes) {
                o.status = 507;
                return o;
            }
        }
        if (existing) store::remove_tree(tx, hd.id, *existing, md, opts_.keep, c.who.account_id);
        if (same && move) {
            store::move_tree(tx, hs.id, *n, *dest_parent, dst, ms);
            store::touch_ancestors(tx, hs.id, src, ms);
        } else if (same) {
            store::copy_tree(tx, hs.id, *n, *dest_parent, dst, *depth == dav::depth::infinity, ms);
        } else {
            store::transfer_tree(tx, hs.id, *n, hd.id, *dest_parent, dst, move || *depth == dav::depth::infinity, move,
                                 ms, md);
            if (move) store::touch_ancestors(tx, hs.id, src, ms);
        }
        store::touch_ancestors(tx, hd.id, dst, md);
        o.status = existing ? 204 : 201;
        return o;
    });
    c.dest = nullptr;
    if (o.fail) co_return from_failure(c, *o.fail);
    switch (o.status) {
    case 404: co_return plain(404, "not found");
    case 400: co_return plain(400, "MOVE of a collection needs Depth: infinity");
    case 403: co_return plain(403, "source and destination overlap");
    case 409: co_return plain(409, "the destination's parent collection does not exist");
    case 412: co_return plain(412, "the destination exists and Overwrite is F");
    case 507: co_return dav_error(507, dav::dav("quota-not-exceeded"));
    case 201: {
        http::response r;
        r.code = http::status::created;
        r.headers.set(http::field::location, dsp_ref.href(dst, false));
        co_return r;
    }
    default: co_return empty_response(http::status::no_content);
    }
}

}  // namespace polder::webdav
