// cmd_propfind.cpp - PROPFIND with Depth 0 or 1.
//
// SECURITY: Depth infinity is refused with DAV:propfind-finite-depth (RFC
// 4918 9.1: a server may), so one request costs at most one collection's
// children; the body is parsed by polder::dav with size and depth limits and
// malformed XML is 400 with the parser's reason.
// STANDARDS: RFC 4918 9.1 (PROPFIND, empty body = allprop, 207), 9.1.1
// (finite depth), 14.20.
#include "props.hpp"

#include <unordered_map>

namespace polder::webdav {

awaitable<http::response> service::cmd_propfind(ctx& c) {
    auto in = co_await read_propfind(c.req, true);
    if (in.error) co_return std::move(*in.error);
    const auto depth = in.depth;
    const auto& request = in.request;   // empty body: allprop

    auto out = co_await pool_.transact([&](pqxx::work& tx) -> std::optional<std::string> {
        const home h = open_home(tx, c.who, c.sp);
        auto n = store::find(tx, h.id, c.target.path);
        if (!n) return std::nullopt;
        std::vector<node> nodes{*n};
        if (n->collection && depth == dav::depth::one) {
            auto kids = store::children(tx, n->id);
            nodes.insert(nodes.end(), kids.begin(), kids.end());
        }
        const auto dead = store::properties(tx, n->id, nodes.size() > 1);
        const auto locks = store::locks_in_home(tx, h.id);
        prop_context pc{*this, h, c.sp, c.who.address, locks};
        // One query fetched every member's dead properties; group them by
        // node once (a nested scan was quadratic in the folder's size).
        std::unordered_map<std::int64_t, std::vector<dead_property>> by_node;
        for (const auto& d : dead) by_node[d.node_id].push_back(d);
        const std::vector<dead_property> none;
        dav::multistatus ms;
        for (const auto& x : nodes) {
            auto it = by_node.find(x.id);
            ms.add_propstat(c.href(x.path, x.collection), node_propstats(x, request, it == by_node.end() ? none : it->second, pc));
        }
        return ms.finish();
    });
    if (!out) co_return plain(404, "not found");
    co_return xml_response(207, std::move(*out));
}

}  // namespace polder::webdav
