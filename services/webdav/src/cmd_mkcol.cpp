// cmd_mkcol.cpp - MKCOL: create a collection.
//
// SECURITY: a request body is refused (415) without being parsed: extended
// MKCOL (RFC 5689) is CalDAV's, not offered here.
// STANDARDS: RFC 4918 9.3 (201; 405 when the URL is mapped; 409 without a
// parent; 415 with a body), 7 (the parent's lock covers adding a member).
#include "service.hpp"

namespace polder::webdav {

awaitable<http::response> service::cmd_mkcol(ctx& c) {
    if (c.req.has_body() && c.req.content_length() != std::uint64_t{0})
        co_return plain(415, "MKCOL with a request body is not supported");
    if (c.at_root()) co_return plain(405, "the home folder exists");
    struct outcome {
        unsigned status = 0;
        std::optional<failure> fail;
    };
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        const home h = open_home(tx, c.who, c.sp);
        const std::int64_t modseq = store::begin_change(tx, h.id);
        if (store::find(tx, h.id, c.target.path)) {
            o.status = 405;
            return o;
        }
        auto parent = store::find(tx, h.id, parent_of(c.target.path));
        if (!parent || !parent->collection) {
            o.status = 409;
            return o;
        }
        if (auto f = check_conditions(tx, c, h, {{c.target.path, false}, {parent->path, false}})) {
            o.fail = f;
            return o;
        }
        store::create_collection(tx, h.id, *parent, c.target.path, modseq);
        store::touch_ancestors(tx, h.id, c.target.path, modseq);
        o.status = 201;
        return o;
    });
    if (o.fail) co_return from_failure(c, *o.fail);
    if (o.status == 405) co_return plain(405, "the resource already exists");
    if (o.status == 409) co_return plain(409, "the parent collection does not exist");
    http::response r;
    r.code = http::status::created;
    r.headers.set(http::field::location, c.href(c.target.path, true));
    co_return r;
}

}  // namespace polder::webdav
