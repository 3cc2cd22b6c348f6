// cmd_delete.cpp - DELETE of a file or a whole collection.
//
// A collection is deleted with all its members in one transaction, or not
// at all: if any member is locked by a lock the request does not submit, the
// answer is 207 naming each locked member with 423 and nothing is removed
// (RFC 4918 9.6.1 lets a server fail the whole request this way; members
// that could be deleted are not reported).
//
// SECURITY: the home root cannot be deleted; locks inside the subtree are
// checked before anything changes.
// STANDARDS: RFC 4918 9.6 (DELETE, Depth infinity only on collections, 204,
// 207 with 423), 9.6.1, 7 (locks).
#include "service.hpp"

namespace polder::webdav {

awaitable<http::response> service::cmd_delete(ctx& c) {
    if (c.at_root()) co_return plain(403, "the home folder cannot be deleted");
    const auto depth_value = c.req.header("Depth");
    if (!depth_value.empty() && dav::parse_depth(depth_value) != dav::depth::infinity)
        co_return plain(400, "DELETE of a collection needs Depth: infinity");
    struct outcome {
        unsigned status = 0;
        std::optional<failure> fail;
        std::vector<std::string> locked;
    };
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        const home h = open_home(tx, c.who, c.sp);
        const std::int64_t modseq = store::begin_change(tx, h.id);
        auto n = store::find(tx, h.id, c.target.path);
        if (!n) {
            o.status = 404;
            return o;
        }
        if (auto s = etag_preconditions(c, n)) {
            o.status = s;
            return o;
        }
        // The resource itself and its parent's membership first: a plain failure.
        if (auto f = check_conditions(tx, c, h, {{c.target.path, false}, {parent_of(c.target.path), false}})) {
            o.fail = f;
            return o;
        }
        // Members locked by others: 207 listing them.
        if (n->collection) {
            for (const auto& l : store::locks_below(tx, h.id, c.target.path)) {
                if (auto f = check_conditions(tx, c, h, {{l.path, false}})) o.locked.push_back(l.path);
            }
            if (!o.locked.empty()) {
                o.status = 207;
                return o;
            }
        }
        store::remove_tree(tx, h.id, *n, modseq, opts_.keep, c.who.account_id);
        store::touch_ancestors(tx, h.id, c.target.path, modseq);
        o.status = 204;
        return o;
    });
    if (o.fail) co_return from_failure(c, *o.fail);
    if (o.status == 404) co_return plain(404, "not found");
    if (o.status == 412) co_return plain(412, "precondition failed");
    if (o.status == 207) {
        dav::multistatus ms;
        for (const auto& p : o.locked) ms.add_status(c.href(p, false), 423, dav::dav("lock-token-submitted"));
        co_return xml_response(207, ms.finish());
    }
    co_return empty_response(http::status::no_content);
}

}  // namespace polder::webdav
