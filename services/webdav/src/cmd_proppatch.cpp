// cmd_proppatch.cpp - PROPPATCH: set and remove dead properties, atomically.
//
// Instructions apply in document order inside one transaction; if any one
// fails (a protected live property, a value too large) none is applied: the
// failing ones are reported with their status and the others with 424.
//
// SECURITY: values are stored as dav::serialize_children output (well-formed,
// namespace-self-contained XML, 64 KiB each at most), so they can be embedded
// in later responses as they are; locks are checked first.
// STANDARDS: RFC 4918 9.2 (atomicity, document order, 207), 9.2.1 (403 with
// DAV:cannot-modify-protected-property, 424 Failed Dependency), 4.
#include "props.hpp"

namespace polder::webdav {

awaitable<http::response> service::cmd_proppatch(ctx& c) {
    auto body = co_await read_xml(c.req);
    if (body.error) co_return std::move(*body.error);
    if (!body.root) co_return plain(400, "PROPPATCH needs a DAV:propertyupdate body");
    std::string reason;
    auto ops = dav::parse_proppatch(*body.root, reason);
    if (!ops) co_return plain(400, reason);

    constexpr std::size_t max_value = 64 * 1024;
    std::vector<unsigned> statuses(ops->size(), 200);
    bool failed = false;
    for (std::size_t i = 0; i < ops->size(); ++i) {
        const auto& op = (*ops)[i];
        if (is_protected(op.prop.name)) {
            statuses[i] = 403;
            failed = true;
        } else if (op.prop.value_xml.size() > max_value || op.prop.name.ns.size() > 1024 ||
                   op.prop.name.local.size() > 255) {
            statuses[i] = 507;
            failed = true;
        }
    }
    if (failed)
        for (auto& s : statuses)
            if (s == 200) s = 424;

    struct outcome {
        unsigned status = 0;
        std::optional<failure> fail;
        bool collection = false;
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
        o.collection = n->collection;
        if (auto f = check_conditions(tx, c, h, {{c.target.path, false}})) {
            o.fail = f;
            return o;
        }
        if (failed) return o;
        for (const auto& op : *ops) {
            if (op.remove)
                store::remove_property(tx, n->id, op.prop.name.ns, op.prop.name.local);
            else
                store::set_property(tx, n->id, op.prop.name.ns, op.prop.name.local, op.prop.value_xml);
        }
        // Dead properties are part of what sync clients track.
        tx.exec_params("UPDATE files.nodes SET modseq = $2 WHERE id = $1", n->id, modseq);
        store::touch_ancestors(tx, h.id, c.target.path, modseq);
        return o;
    });
    if (o.status == 404) co_return plain(404, "not found");
    if (o.fail) co_return from_failure(c, *o.fail);

    std::vector<dav::propstat_group> groups;
    for (unsigned code : {200u, 403u, 424u, 507u}) {
        dav::propstat_group g{code, {}, std::nullopt};
        if (code == 403) g.error = dav::dav("cannot-modify-protected-property");
        for (std::size_t i = 0; i < ops->size(); ++i)
            if (statuses[i] == code) g.props.push_back({(*ops)[i].prop.name, {}});
        if (!g.props.empty()) groups.push_back(std::move(g));
    }
    dav::multistatus ms;
    ms.add_propstat(c.href(c.target.path, o.collection), groups);
    co_return xml_response(207, ms.finish());
}

}  // namespace polder::webdav
