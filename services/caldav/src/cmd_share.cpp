// cmd_share.cpp - POST of a CalendarServer CS:share body to one of the caller's own
// calendars or address books (Apple Calendar, Evolution, DAVx5 "share"): CS:set adds or
// changes a sharee (CS:read or CS:read-write), CS:remove ends a share. The sharee is a
// mailto: address of a user (or an alias of one) or of a group of the caller's
// organisation; polderctl calendar share does the same from the command line. POSTs to
// the scheduling outbox are RFC 6638 requests (cmd_schedule.cpp).
//
// SECURITY: only the owner shares (a bound collection, the directory book or any other
// URL is 403 need-privileges); every sharee must resolve inside the caller's organisation
// (anything else - another tenant, an unknown address, the caller itself - refuses the
// whole request with 403 and changes nothing); at most max_share_changes per request.
// STANDARDS: CalendarServer caldav-sharing (CS:share, CS:set, CS:remove, CS:read,
// CS:read-write), RFC 3744 (DAV:need-privileges). RFC 5995 (POST to add a member) is not
// implemented: a POST to a collection without a CS:share body gets 400.
#include "service.hpp"

namespace polder::caldav {

using http::field;
using http::status;

namespace {

constexpr std::size_t max_share_changes = 100;

struct share_change {
    std::string href;
    bool remove = false;
    bool writable = false;
};

}  // namespace

awaitable<http::response> service::cmd_post(ctx& c) {
    if (c.target.where == area::calendar && c.target.collection == store::outbox_name) co_return co_await cmd_outbox(c);
    if (!c.target.is_collection() || shared_id(c.target.collection) ||
        (!c.target.calendar_side() && c.target.collection == directory_book) ||
        (c.target.calendar_side() && c.target.collection == store::inbox_name))
        co_return dav_error(403, dav::dav("need-privileges"));
    auto body = co_await read_xml(c);
    if (body.error) co_return std::move(*body.error);
    if (!body.root || !body.root->is(calendarserver_ns, "share"))
        co_return plain(400, "POST to a collection needs a CS:share body");
    std::vector<share_change> changes;
    for (const auto* e : body.root->elements()) {
        const bool set = e->is(calendarserver_ns, "set");
        if (!set && !e->is(calendarserver_ns, "remove")) continue;
        const auto* h = e->child(dav::dav_ns, "href");
        if (!h) co_return plain(400, "CS:set and CS:remove need a DAV:href");
        share_change ch;
        ch.href = h->text_content();
        ch.remove = !set;
        if (set) {
            const bool rw = e->child(calendarserver_ns, "read-write") != nullptr;
            const bool ro = e->child(calendarserver_ns, "read") != nullptr;
            if (rw == ro) co_return plain(400, "CS:set needs exactly one of CS:read and CS:read-write");
            ch.writable = rw;
        }
        changes.push_back(std::move(ch));
        if (changes.size() > max_share_changes) co_return plain(413, "too many sharees in one request");
    }
    if (changes.empty()) co_return plain(400, "CS:share holds no CS:set or CS:remove");
    struct outcome {
        unsigned status = 200;
        std::string reason;
    };
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        auto coll = store::find_collection(tx, c.who.account_id, c.target.kind(), c.target.collection);
        if (!coll) {
            o.status = 404;
            return o;
        }
        // Resolve every sharee before changing anything, so a refusal changes nothing.
        std::vector<std::pair<std::optional<std::int64_t>, std::optional<std::int64_t>>> who;
        for (const auto& ch : changes) {
            std::optional<std::int64_t> account, group;
            if (auto u = store::find_user(tx, c.who.org_id, ch.href)) account = u->account_id;
            else if (ch.href.size() > 19 && ch.href.starts_with("urn:x-polder:group:"))
                group = store::find_group(tx, c.who.org_id, std::string_view(ch.href).substr(19));
            else group = store::find_group(tx, c.who.org_id, ch.href);
            if ((!account && !group) || (account && *account == c.who.account_id)) {
                o.status = 403;
                o.reason = "not a user or group of this organisation: " + ch.href.substr(0, 200);
                return o;
            }
            who.emplace_back(account, group);
        }
        for (std::size_t i = 0; i < changes.size(); ++i) {
            if (changes[i].remove) store::remove_share(tx, coll->id, who[i].first, who[i].second);
            else store::set_share(tx, c.who.org_id, coll->id, who[i].first, who[i].second, changes[i].writable);
        }
        return o;
    });
    if (o.status == 404) co_return plain(404, "not found");
    if (o.status == 403) co_return plain(403, o.reason);
    http::response r;
    r.code = status::ok;
    r.content_length = 0;
    co_return r;
}

}  // namespace polder::caldav
