// cmd_collection.cpp - PROPFIND, PROPPATCH, MKCALENDAR and (extended) MKCOL.
//
// PROPFIND answers Depth 0 and 1; Depth infinity (or absent, which means infinity) is
// refused with DAV:propfind-finite-depth. PROPPATCH and the property part of
// MKCALENDAR / extended MKCOL apply their instructions in document order and atomically:
// when one fails (a protected property, an invalid calendar-timezone, a value too long)
// nothing is stored, the failed ones get 403 (or 409) and the others 424.
//
// SECURITY: property values are bounded (display name 1 KiB, description 16 KiB, colour
// 64 octets, time zone 256 KiB, dead properties 64 KiB and 100 per collection); the
// calendar-timezone must parse as a VCALENDAR with exactly one VTIMEZONE; only the
// caller's own collections are touched; the directory book is read-only.
// STANDARDS: RFC 4918 9.1 (PROPFIND), 9.2 (PROPPATCH, 424 Failed Dependency), 9.3
// (MKCOL), 16 (propfind-finite-depth, cannot-modify-protected-property); RFC 4791 5.3.1
// (MKCALENDAR, resource-must-be-null, calendar-collection-location-ok, valid-calendar-data
// for calendar-timezone, supported-calendar-component-set at creation), RFC 5689
// (extended MKCOL: mkcol / mkcol-response, valid-resourcetype), RFC 6352 6.3.1.
#include "service.hpp"

#include "polder/ical/time_range.hpp"

namespace polder::caldav {

using http::field;
using http::status;

namespace {

const dav::qname q_color{std::string(apple_ical_ns), "calendar-color"};

struct prop_result {
    dav::qname name;
    unsigned status = 200;
    std::optional<dav::qname> error;
};

bool is_protected(const dav::qname& n) {
    if (n.ns == dav::dav_ns)
        return n.local != "displayname";
    if (n.ns == caldav_ns) return n.local != "calendar-description" && n.local != "calendar-timezone";
    if (n.ns == carddav_ns) return n.local != "addressbook-description";
    if (n.ns == calendarserver_ns && n.local == "getctag") return true;
    return false;
}

// apply_props - the set/remove instructions on coll (in memory) and the dead property
// changes; statuses per property. creating: MKCALENDAR/MKCOL may set the component set.
std::vector<prop_result> apply_props(const std::vector<dav::proppatch_op>& ops, store::collection& coll,
                                     std::vector<store::dead_property>& dead_set,
                                     std::vector<dav::qname>& dead_removed, std::size_t existing_dead,
                                     bool creating) {
    std::vector<prop_result> out;
    const bool calendar = coll.kind == "calendar";
    for (const auto& op : ops) {
        const auto& n = op.prop.name;
        prop_result r{n, 200, std::nullopt};
        std::string text;
        if (!op.remove) {
            std::string reason;
            // Values of text properties: the XML content's text (entities resolved).
            auto parsed = dav::parse_xml("<v>" + op.prop.value_xml + "</v>", reason);
            if (parsed) text = parsed->text_content();
        }
        if (calendar && creating && n == cal("supported-calendar-component-set")) {
            std::string reason;
            auto parsed = dav::parse_xml("<v>" + op.prop.value_xml + "</v>", reason);
            std::vector<std::string> comps;
            bool ok = parsed.has_value();
            if (parsed)
                for (const auto* e : parsed->elements()) {
                    if (!e->is(caldav_ns, "comp")) continue;
                    std::string name;
                    for (const auto& a : e->attributes)
                        if (a.name.ns.empty() && a.name.local == "name") name = a.value;
                    auto k = ical::kind_from_name(name);
                    if (k == ical::component_kind::none) ok = false;
                    else comps.emplace_back(ical::name(k));
                }
            if (!ok || comps.empty()) {
                r.status = 403;
                r.error = cal("supported-calendar-component");
            } else {
                coll.components = comps;
            }
        } else if (n == dav::dav("displayname")) {
            if (text.size() > 1024) r.status = 403;
            else coll.displayname = op.remove ? "" : text;
        } else if (calendar && n == cal("calendar-description")) {
            if (text.size() > 16384) r.status = 403;
            else coll.description = op.remove ? "" : text;
        } else if (!calendar && n == card("addressbook-description")) {
            if (text.size() > 16384) r.status = 403;
            else coll.description = op.remove ? "" : text;
        } else if (calendar && n == q_color) {
            if (text.size() > 64) r.status = 403;
            else coll.color = op.remove ? "" : text;
        } else if (calendar && n == cal("calendar-timezone")) {
            if (op.remove) coll.timezone.clear();
            else if (text.size() > 262144 || !ical::time_zone::from_ical(text)) {
                r.status = 403;
                r.error = cal("valid-calendar-data");
            } else {
                coll.timezone = text;
            }
        } else if (is_protected(n) || (!calendar && n.ns == caldav_ns) || (calendar && n.ns == carddav_ns)) {
            r.status = 403;
            r.error = dav::dav("cannot-modify-protected-property");
        } else if (op.remove) {
            dead_removed.push_back(n);
        } else {
            if (op.prop.value_xml.size() > 65536 || n.ns.size() > 1024 || n.local.size() > 1024 ||
                existing_dead + dead_set.size() >= 100)
                r.status = 507;
            else
                dead_set.push_back({n.ns, n.local, op.prop.value_xml});
        }
        out.push_back(std::move(r));
    }
    return out;
}

bool any_failed(const std::vector<prop_result>& v) {
    for (const auto& r : v)
        if (r.status != 200) return true;
    return false;
}

std::vector<dav::propstat_group> result_groups(std::vector<prop_result> v) {
    const bool failed = any_failed(v);
    std::vector<dav::propstat_group> groups;
    for (auto& r : v) {
        unsigned s = r.status;
        if (failed && s == 200) s = 424;
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const dav::propstat_group& g) { return g.status == s && g.error == r.error; });
        if (it == groups.end()) {
            groups.push_back({s, {}, r.error});
            it = groups.end() - 1;
        }
        it->props.push_back({r.name, ""});
    }
    return groups;
}

}  // namespace

awaitable<http::response> service::cmd_propfind(ctx& c) {
    auto body = co_await read_xml(c);
    if (body.error) co_return std::move(*body.error);
    dav::propfind_request request;
    std::optional<report_props> rp;
    if (body.root) {
        std::string reason;
        auto parsed = dav::parse_propfind(*body.root, reason);
        if (!parsed) co_return plain(400, reason);
        request = std::move(*parsed);
        // calendar-data / address-data asked for in a PROPFIND (some clients do).
        auto props = parse_report_props(*body.root, reason);
        if (props) rp = std::move(*props);
    }
    const auto depth_value = c.req.header("Depth");
    auto depth = depth_value.empty() ? std::optional(dav::depth::infinity) : dav::parse_depth(depth_value);
    if (!depth) co_return plain(400, "malformed Depth");
    if (*depth == dav::depth::infinity) co_return dav_error(403, dav::dav("propfind-finite-depth"));
    const bool wants_data = rp && (rp->calendar_data || rp->address_data);

    auto out = co_await pool_.transact([&](pqxx::work& tx) -> std::optional<std::string> {
        auto r = load(tx, c, c.target, wants_data);
        if (!r) return std::nullopt;
        prop_context pc{c, opts_};
        dav::multistatus ms;
        auto dead_of = [&](const resource& x) {
            if (x.path.is_collection() && x.coll) return store::dead_properties(tx, x.coll->id);
            return std::vector<store::dead_property>{};
        };
        auto computed_of = [&](const resource& x) {
            std::vector<dav::property> v;
            if (!x.obj || !rp) return v;
            if (rp->calendar_data && x.path.calendar_side())
                v.push_back({cal("calendar-data"), dav::escape_text(x.obj->data)});
            if (rp->address_data && !x.path.calendar_side())
                v.push_back({card("address-data"), dav::escape_text(x.obj->data)});
            return v;
        };
        ms.add_propstat(href(r->path), propstats(*r, request, dead_of(*r), pc, computed_of(*r)));
        if (*depth == dav::depth::one) {
            std::vector<resource> children;
            auto child = [&](dav_path p) {
                resource x;
                x.path = std::move(p);
                return x;
            };
            switch (c.target.where) {
            case area::root: {
                dav_path p;
                p.where = area::principals;
                children.push_back(child(p));
                p.owner = c.own;
                p.where = area::cal_home;
                children.push_back(child(p));
                p.where = area::card_home;
                children.push_back(child(p));
                break;
            }
            case area::principals: {
                dav_path p;
                p.where = area::principal;
                p.owner = c.own;
                children.push_back(child(p));
                break;
            }
            case area::cal_home:
            case area::card_home: {
                const bool calendars = c.target.where == area::cal_home;
                const std::string_view kind = calendars ? "calendar" : "addressbook";
                for (auto& coll : store::collections(tx, c.who.account_id, kind)) {
                    dav_path p;
                    p.where = calendars ? area::calendar : area::addressbook;
                    p.owner = c.own;
                    p.collection = coll.name;
                    auto x = child(p);
                    x.sharees = store::shares_of(tx, coll.id);
                    x.owner = c.own;
                    x.coll = std::move(coll);
                    children.push_back(std::move(x));
                }
                // Collections shared with the caller, bound into its home.
                for (auto& a : store::shared_with(tx, c.who.account_id, c.who.org_id, kind)) {
                    dav_path p;
                    p.where = calendars ? area::calendar : area::addressbook;
                    p.owner = c.own;
                    p.collection = shared_name(a.coll.id);
                    auto x = child(p);
                    x.sharees = store::shares_of(tx, a.coll.id);
                    x.shared = true;
                    x.writable = a.writable;
                    x.owner = std::move(a.owner);
                    x.owner_name = std::move(a.owner_name);
                    x.coll = std::move(a.coll);
                    children.push_back(std::move(x));
                }
                if (!calendars) {
                    dav_path p;
                    p.where = area::addressbook;
                    p.owner = c.own;
                    p.collection = std::string(directory_book);
                    auto x = load(tx, c, p, false);
                    if (x) children.push_back(std::move(*x));
                }
                break;
            }
            case area::calendar:
            case area::addressbook: {
                if (r->outbox) break;   // the outbox has no members (RFC 6638 2.1)
                std::vector<store::object> objs;
                if (r->directory) objs = directory_cards(tx, c.who.org_id, r->fingerprint);
                else objs = store::objects(tx, r->coll->id, wants_data);
                for (auto& o : objs) {
                    dav_path p = c.target;
                    p.where = c.target.where == area::calendar ? area::cal_object : area::card_object;
                    p.object = o.name;
                    auto x = child(p);
                    x.coll = r->coll;
                    x.directory = r->directory;
                    x.shared = r->shared;
                    x.writable = r->writable;
                    x.owner = r->owner;
                    x.obj = std::move(o);
                    children.push_back(std::move(x));
                }
                break;
            }
            default: break;
            }
            for (const auto& x : children) ms.add_propstat(href(x.path), propstats(x, request, dead_of(x), pc, computed_of(x)));
        }
        return ms.finish();
    });
    if (!out) co_return plain(404, "not found");
    co_return xml_response(207, std::move(*out));
}

awaitable<http::response> service::cmd_proppatch(ctx& c) {
    auto body = co_await read_xml(c);
    if (body.error) co_return std::move(*body.error);
    if (!body.root) co_return plain(400, "PROPPATCH needs a body");
    std::string reason;
    auto ops = dav::parse_proppatch(*body.root, reason);
    if (!ops) co_return plain(400, reason);
    const bool directory = !c.target.calendar_side() && c.target.collection == directory_book;
    if (!c.target.is_collection() || directory) {
        // Only collections carry writable properties here; report each as protected.
        std::vector<prop_result> v;
        for (const auto& op : *ops) v.push_back({op.prop.name, 403, dav::dav("cannot-modify-protected-property")});
        if (directory || c.target.is_object() || c.target.is_home() || c.target.where == area::principal) {
            auto exists = co_await pool_.transact([&](pqxx::work& tx) { return load(tx, c, c.target, false).has_value(); });
            if (!exists) co_return plain(404, "not found");
        }
        dav::multistatus ms;
        ms.add_propstat(href(c.target), result_groups(std::move(v)));
        co_return xml_response(207, ms.finish());
    }
    bool read_only = false;
    auto out = co_await pool_.transact([&](pqxx::work& tx) -> std::optional<std::string> {
        auto acc = open_collection(tx, c, c.target.kind(), c.target.collection);
        if (!acc) return std::nullopt;
        if (!acc->writable) {
            read_only = true;   // RFC 3744: a read-only sharee may not change the shared collection
            return std::string();
        }
        auto* coll = &acc->coll;
        std::vector<store::dead_property> dead_set;
        std::vector<dav::qname> dead_removed;
        const auto existing = store::dead_properties(tx, coll->id).size();
        auto results = apply_props(*ops, *coll, dead_set, dead_removed, existing, false);
        if (!any_failed(results)) {
            store::update_collection(tx, *coll);
            for (const auto& d : dead_set) store::set_dead_property(tx, coll->id, d);
            for (const auto& n : dead_removed) store::remove_dead_property(tx, coll->id, n.ns, n.local);
        }
        dav::multistatus ms;
        ms.add_propstat(href(c.target), result_groups(std::move(results)));
        return ms.finish();
    });
    if (!out) co_return plain(404, "not found");
    if (read_only) co_return dav_error(403, dav::dav("need-privileges"));
    co_return xml_response(207, std::move(*out));
}

awaitable<http::response> service::cmd_mkcol(ctx& c, bool mkcalendar) {
    auto body = co_await read_xml(c);
    if (body.error) co_return std::move(*body.error);
    if (!c.target.is_collection()) {
        // RFC 4791 5.3.1.1 calendar-collection-location-ok: only directly in a home.
        if (mkcalendar) co_return dav_error(403, cal("calendar-collection-location-ok"));
        co_return plain(403, "collections can only be created directly in a calendar or address book home");
    }
    const bool calendar = c.target.calendar_side();
    if (mkcalendar && !calendar) co_return dav_error(403, cal("calendar-collection-location-ok"));
    if (!calendar && c.target.collection == directory_book) co_return dav_error(405, dav::dav("resource-must-be-null"));
    // Names of bound (shared) collections and of the scheduling inbox/outbox are the server's.
    if (reserved_name(c.target.collection)) co_return dav_error(405, dav::dav("resource-must-be-null"));
    std::vector<dav::proppatch_op> ops;
    if (body.root) {
        const bool ok_root = mkcalendar ? body.root->is(caldav_ns, "mkcalendar") : body.root->is(dav::dav_ns, "mkcol");
        if (!ok_root) co_return plain(400, mkcalendar ? "body must be CALDAV:mkcalendar" : "body must be DAV:mkcol");
        // Same structure as propertyupdate (set/prop); reuse its parser on a renamed root.
        dav::xml_element as_update = *body.root;
        as_update.name = dav::dav("propertyupdate");
        std::string reason;
        auto parsed = dav::parse_proppatch(as_update, reason);
        if (!parsed) co_return plain(400, reason);
        ops = std::move(*parsed);
    }
    // The resource type: MKCALENDAR makes a calendar; extended MKCOL must say which.
    bool type_ok = mkcalendar;
    std::vector<dav::proppatch_op> rest;
    for (auto& op : ops) {
        if (op.prop.name == dav::dav("resourcetype") && !op.remove) {
            std::string reason;
            auto parsed = dav::parse_xml("<v>" + op.prop.value_xml + "</v>", reason);
            bool collection = false, cal_type = false, card_type = false, other = false;
            if (parsed)
                for (const auto* e : parsed->elements()) {
                    if (e->is(dav::dav_ns, "collection")) collection = true;
                    else if (e->is(caldav_ns, "calendar")) cal_type = true;
                    else if (e->is(carddav_ns, "addressbook")) card_type = true;
                    else other = true;
                }
            type_ok = collection && !other && (calendar ? cal_type && !card_type : card_type && !cal_type);
            if (!type_ok) {
                std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:mkcol-response xmlns:D=\"DAV:\">"
                                "<D:propstat><D:prop><D:resourcetype/></D:prop><D:status>HTTP/1.1 403 Forbidden</D:status>"
                                "<D:error><D:valid-resourcetype/></D:error></D:propstat></D:mkcol-response>\n";
                co_return xml_response(403, std::move(x));
            }
            continue;
        }
        rest.push_back(std::move(op));
    }
    if (!type_ok) co_return plain(403, "only calendar and address book collections can be created here");
    struct outcome {
        unsigned status = 0;
        std::string body;
    };
    auto o = co_await pool_.transact([&](pqxx::work& tx) {
        outcome o;
        if (store::find_collection(tx, c.who.account_id, c.target.kind(), c.target.collection)) {
            o.status = 405;
            return o;
        }
        store::collection coll;
        coll.kind = std::string(c.target.kind());
        coll.name = c.target.collection;
        if (calendar) coll.components = {"VEVENT", "VTODO"};
        std::vector<store::dead_property> dead_set;
        std::vector<dav::qname> dead_removed;
        auto results = apply_props(rest, coll, dead_set, dead_removed, 0, true);
        if (any_failed(results)) {
            o.status = 403;
            std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:mkcol-response xmlns:D=\"DAV:\">";
            dav::multistatus ms;   // reuse propstat rendering via a throwaway multistatus
            ms.add_propstat("x", result_groups(std::move(results)));
            auto full = ms.finish();
            const auto a = full.find("<D:propstat>");
            const auto b = full.rfind("</D:propstat>");
            if (a != std::string::npos && b != std::string::npos) x += full.substr(a, b + 13 - a);
            x += "</D:mkcol-response>\n";
            o.body = std::move(x);
            return o;
        }
        auto id = store::create_collection(tx, c.who.account_id, c.who.org_id, coll);
        if (!id) {
            o.status = 405;
            return o;
        }
        for (const auto& d : dead_set) store::set_dead_property(tx, *id, d);
        o.status = 201;
        return o;
    });
    if (o.status == 405) co_return dav_error(405, dav::dav("resource-must-be-null"));
    if (o.status == 403) co_return xml_response(403, std::move(o.body));
    http::response r;
    r.code = status::created;
    r.headers.set(field::location, href(c.target));
    co_return r;
}

}  // namespace polder::caldav
