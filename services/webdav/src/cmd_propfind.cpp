// cmd_propfind.cpp - PROPFIND with Depth 0 or 1.
//
// SECURITY: Depth infinity is refused with DAV:propfind-finite-depth (RFC
// 4918 9.1: a server may), so one request costs at most one collection's
// children; the body is parsed by polder::dav with size and depth limits and
// malformed XML is 400 with the parser's reason.
// STANDARDS: RFC 4918 9.1 (PROPFIND, empty body = allprop, 207), 9.1.1
// (finite depth), 14.20.
#include "props.hpp"

namespace polder::webdav {

awaitable<http::response> service::cmd_propfind(ctx& c) {
    const auto depth_value = c.req.header("Depth");
    auto depth = depth_value.empty() ? std::optional(dav::depth::infinity) : dav::parse_depth(depth_value);
    if (!depth) co_return plain(400, "Depth must be 0, 1 or infinity");
    if (*depth == dav::depth::infinity) co_return dav_error(403, dav::dav("propfind-finite-depth"));

    auto body = co_await read_xml(c);
    if (body.error) co_return std::move(*body.error);
    dav::propfind_request request;   // empty body: allprop
    if (body.root) {
        std::string reason;
        auto parsed = dav::parse_propfind(*body.root, reason);
        if (!parsed) co_return plain(400, reason);
        request = std::move(*parsed);
    }

    auto out = co_await pool_.transact([&](pqxx::work& tx) -> std::optional<std::string> {
        const home h = store::home_for_account(tx, c.who.account_id, c.who.org_id);
        auto n = store::find(tx, h.id, c.target.path);
        if (!n) return std::nullopt;
        std::vector<node> nodes{*n};
        if (n->collection && *depth == dav::depth::one) {
            auto kids = store::children(tx, n->id);
            nodes.insert(nodes.end(), kids.begin(), kids.end());
        }
        const auto dead = store::properties(tx, n->id, nodes.size() > 1);
        const auto locks = store::locks_in_home(tx, h.id);
        prop_context pc{*this, h, c.target.address, locks};
        dav::multistatus ms;
        std::vector<dead_property> mine;
        for (const auto& x : nodes) {
            mine.clear();
            for (const auto& d : dead)
                if (d.node_id == x.id) mine.push_back(d);
            ms.add_propstat(href(c.target.address, x.path, x.collection), node_propstats(x, request, mine, pc));
        }
        return ms.finish();
    });
    if (!out) co_return plain(404, "not found");
    co_return xml_response(207, std::move(*out));
}

}  // namespace polder::webdav
