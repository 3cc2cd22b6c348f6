// cmd_report.cpp - REPORT: calendar-query, calendar-multiget, free-busy-query,
// addressbook-query, addressbook-multiget and sync-collection.
//
// calendar-query is planned, not brute-forced: when the filter asks for a time range on a
// top-level component (the usual "this week" query), only objects whose precomputed span
// overlaps the range come from the database (GiST index on cal.objects.span, see
// 0200_cal.sql); bounded recurring VEVENTs only when one of their stored instances
// overlaps (cal.instances). Objects marked exact (non-floating VEVENTs: single ones, and
// bounded series whose instances are stored) then match without being parsed when the
// filter is a plain VEVENT time-range, and only the others (endless series, floating,
// all-day, VTODO, filters on properties...) are parsed and checked exactly with
// polder::ical (RFC 4791 9.9 with libical's recurrence expansion). Without a time range
// every object of the component type is checked.
//
// Sync tokens are "urn:x-polder:sync:<collection>-<modseq>"; changes are objects with a
// newer modseq and tombstones (404 members). A token of another collection, from the
// future or malformed is DAV:valid-sync-token. The directory book has no change log: its
// token is a fingerprint of its content, and any other token is refused with
// valid-sync-token so the client starts over (RFC 6578 3.2 allows this).
//
// SECURITY: request bodies through polder::dav limits; multiget hrefs are parsed with the
// same path rules as request URLs and must name a member of the target collection, else
// 404 for that href (another account's objects are never looked up); filters are checked
// (ical::check_filter) before evaluation; expansion is bounded by ical limits.
// STANDARDS: RFC 4791 7.8 (calendar-query), 7.9 (calendar-multiget), 7.10
// (free-busy-query), 9.6 (calendar-data, expand, limit-recurrence-set), 9.7 (filters),
// 9.9 (time ranges), 5.2.2 (calendar-timezone for floating times); RFC 6352 8.6
// (addressbook-query, 507 + number-of-matches-within-limits for truncated results), 8.7
// (addressbook-multiget), 10.4 (address-data); RFC 6578 3 (sync-collection); RFC 3253
// 3.6 (REPORT, DAV:supported-report).
#include "service.hpp"

#include "polder/http/uri.hpp"
#include "polder/ical/calendar.hpp"
#include "polder/ical/freebusy.hpp"
#include "polder/ical/time_range.hpp"

#include <ctime>
#include <memory>

namespace polder::caldav {

using http::field;
using http::status;

namespace {

struct report_outcome {
    unsigned status = 0;
    std::optional<dav::qname> error;
    std::string body;
    std::string content_type = "application/xml; charset=utf-8";
};

report_outcome error_outcome(unsigned s, dav::qname e) {
    report_outcome o;
    o.status = s;
    o.error = std::move(e);
    return o;
}

// data_props - calendar-data / address-data values for an object (with its data loaded).
std::vector<dav::property> data_props(const resource& x, const report_props& rp, const ical::time_zone* tz,
                                      const ical::calendar_object* parsed) {
    std::vector<dav::property> v;
    if (!x.obj) return v;
    if (rp.calendar_data && x.path.calendar_side()) {
        const auto& req = *rp.calendar_data;
        if (!req.select && !req.expand && !req.limit_recurrence_set && !req.limit_freebusy_set) {
            v.push_back({cal("calendar-data"), dav::escape_text(x.obj->data)});
        } else {
            std::optional<ical::calendar_object> own;
            if (!parsed) {
                auto p = ical::calendar_object::parse(x.obj->data);
                if (p) own = std::move(*p);
                parsed = own ? &*own : nullptr;
            }
            if (parsed) {
                auto text = ical::calendar_data(*parsed, req, tz);
                if (text) v.push_back({cal("calendar-data"), dav::escape_text(*text)});
            }
        }
    }
    if (rp.address_data && !x.path.calendar_side()) {
        if (rp.address_data->empty()) {
            v.push_back({card("address-data"), dav::escape_text(x.obj->data)});
        } else if (auto parsed_card = ical::parse_vcard(x.obj->data)) {
            v.push_back({card("address-data"), dav::escape_text(ical::address_data(*parsed_card, &*rp.address_data))});
        }
    }
    return v;
}

// simple_time_range - the filter is VCALENDAR > one comp-filter (no props, no subfilters)
// with a time-range: the range and component name, for the index plan.
struct plan {
    std::optional<ical::time_range> range;
    std::string component;        // "" = any
    bool plain_range = false;     // nothing but the time-range: span decides for exact objects
};

plan make_plan(const ical::comp_filter& f) {
    plan p;
    if (f.is_not_defined || f.range || !f.props.empty() || f.comps.size() != 1) return p;
    const auto& sub = f.comps[0];
    if (sub.is_not_defined) return p;
    p.component = lower(sub.name);
    for (auto& ch : p.component) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    p.range = sub.range;
    p.plain_range = sub.range && sub.props.empty() && sub.comps.empty();
    return p;
}

std::vector<resource> as_resources(const ctx& c, const resource& coll, std::vector<store::object> objs) {
    std::vector<resource> out;
    out.reserve(objs.size());
    for (auto& o : objs) {
        resource x;
        x.path = coll.path;
        x.path.where = coll.path.where == area::calendar ? area::cal_object : area::card_object;
        x.path.object = o.name;
        x.coll = coll.coll;
        x.directory = coll.directory;
        x.shared = coll.shared;
        x.writable = coll.writable;
        x.owner = coll.owner;
        x.obj = std::move(o);
        out.push_back(std::move(x));
    }
    (void)c;
    return out;
}

}  // namespace

awaitable<http::response> service::cmd_report(ctx& c) {
    auto body = co_await read_xml(c);
    if (body.error) co_return std::move(*body.error);
    if (!body.root) co_return plain(400, "REPORT needs a body");
    const auto& root = *body.root;
    if (root.is(dav::dav_ns, "principal-property-search") || root.is(dav::dav_ns, "principal-search-property-set"))
        co_return co_await cmd_principal_report(c, root);
    const bool calendar = c.target.calendar_side();
    const bool on_collection = c.target.is_collection();
    const bool on_object = c.target.is_object();
    const auto depth_value = c.req.header("Depth");
    std::optional<dav::depth> depth;
    if (!depth_value.empty()) {
        depth = dav::parse_depth(depth_value);
        if (!depth) co_return plain(400, "malformed Depth");
    }
    std::string reason;
    const bool is_sync = root.is(dav::dav_ns, "sync-collection");
    const bool is_cq = root.is(caldav_ns, "calendar-query");
    const bool is_cm = root.is(caldav_ns, "calendar-multiget");
    const bool is_fb = root.is(caldav_ns, "free-busy-query");
    const bool is_aq = root.is(carddav_ns, "addressbook-query");
    const bool is_am = root.is(carddav_ns, "addressbook-multiget");
    if (!(is_sync || is_cq || is_cm || is_fb || is_aq || is_am)) co_return dav_error(403, dav::dav("supported-report"));
    if ((is_cq || is_cm || is_fb) && !calendar) co_return dav_error(403, dav::dav("supported-report"));
    if ((is_aq || is_am) && calendar) co_return dav_error(403, dav::dav("supported-report"));
    if (!on_collection && !(on_object && (is_cq || is_cm || is_aq || is_am)))
        co_return dav_error(403, dav::dav("supported-report"));
    if (calendar && c.target.collection == store::outbox_name) co_return dav_error(403, dav::dav("supported-report"));

    // Parse before touching the database.
    std::optional<calendar_query> cq;
    std::optional<multiget> mg;
    std::optional<freebusy_query> fb;
    std::optional<addressbook_query> aq;
    std::optional<dav::sync_collection_request> sc;
    std::optional<report_props> sync_props;
    auto parse_failure = [&](const boost::system::error_code& ec) {
        if (polder::is(ec, errc::permission_denied))
            return dav_error(403, calendar ? cal("supported-calendar-data") : card("supported-address-data"));
        return plain(400, reason);
    };
    if (is_cq) {
        auto q = parse_calendar_query(root, reason);
        if (!q) co_return parse_failure(q.error());
        if (auto ok = ical::check_filter(q->filter); !ok) {
            if (ok.error() == ical::ical_errc::unsupported_collation) co_return dav_error(403, cal("supported-collation"));
            co_return dav_error(403, cal("valid-filter"));
        }
        cq = std::move(*q);
    } else if (is_cm || is_am) {
        auto q = parse_multiget(root, reason);
        if (!q) co_return parse_failure(q.error());
        mg = std::move(*q);
    } else if (is_fb) {
        auto q = parse_freebusy_query(root, reason);
        if (!q) co_return plain(400, reason);
        fb = *q;
    } else if (is_aq) {
        auto q = parse_addressbook_query(root, reason);
        if (!q) co_return parse_failure(q.error());
        if (auto ok = ical::check_card_filter(q->filter); !ok) {
            if (ok.error() == ical::ical_errc::unsupported_collation) co_return dav_error(403, card("supported-collation"));
            co_return dav_error(403, card("valid-filter"));
        }
        aq = std::move(*q);
    } else {
        auto q = dav::parse_sync_collection(root, reason);
        if (!q) co_return plain(400, reason);
        // RFC 6578 3.2 asks for Depth: 0, but widely used clients (python caldav) send 1;
        // the report's scope is fixed by sync-level anyway, so Depth is not enforced.
        sc = std::move(*q);
        auto p = parse_report_props(root, reason);
        if (!p) co_return parse_failure(p.error());
        sync_props = std::move(*p);
    }
    // RFC 4791 7.8 / RFC 6352 8.6: Depth 0 on a collection examines only the collection
    // itself (which is never a calendar object), so nothing matches. An absent Depth on a
    // collection is taken as 1: some clients omit it, and the intent is unambiguous.
    const bool members = on_collection && (!depth || *depth != dav::depth::zero);

    auto o = co_await pool_.transact([&](pqxx::work& tx) -> report_outcome {
        auto target = load(tx, c, c.target, false);
        if (!target) return error_outcome(404, dav::dav("not-found"));
        prop_context pc{c, opts_};
        resource coll_res = *target;
        if (on_object) {
            coll_res.path.where = calendar ? area::calendar : area::addressbook;
            coll_res.path.object.clear();
            coll_res.obj.reset();
        }
        auto fetch_all = [&](bool with_data) {
            if (coll_res.directory) return directory_cards(tx, c.who.org_id, coll_res.fingerprint);
            return store::objects(tx, coll_res.coll->id, with_data);
        };
        // The object(s) a query on an object URL or a collection examines.
        auto scope = [&](bool with_data) -> std::vector<store::object> {
            if (on_object) {
                if (coll_res.directory) {
                    std::vector<store::object> v;
                    for (auto& o : fetch_all(true))
                        if (o.name == c.target.object) v.push_back(std::move(o));
                    return v;
                }
                auto o = store::find_object(tx, coll_res.coll->id, c.target.object, with_data);
                if (o) return {std::move(*o)};
                return {};
            }
            if (!members) return {};
            return fetch_all(with_data);
        };
        report_outcome out;
        out.status = 207;
        dav::multistatus ms;

        if (cq) {
            std::unique_ptr<ical::time_zone> tz;
            std::string tz_text = cq->timezone ? *cq->timezone : (coll_res.coll ? coll_res.coll->timezone : "");
            if (!tz_text.empty()) {
                auto z = ical::time_zone::from_ical(tz_text);
                if (!z) {
                    if (cq->timezone) return error_outcome(403, cal("valid-calendar-data"));
                } else {
                    tz = std::make_unique<ical::time_zone>(std::move(*z));
                }
            }
            const auto p = make_plan(cq->filter);
            std::vector<store::object> candidates;
            if (on_object || !members) candidates = scope(true);
            else if (p.range)
                candidates = store::objects_in_range(tx, coll_res.coll->id, p.range->start, p.range->end, true, true,
                                                     p.plain_range && p.component == "VEVENT");
            else candidates = store::objects(tx, coll_res.coll->id, true);
            for (auto& x : as_resources(c, coll_res, std::move(candidates))) {
                if (!p.component.empty() && x.obj->component != p.component) continue;
                std::optional<ical::calendar_object> parsed;
                bool match = false;
                if (p.plain_range && p.component == "VEVENT" && x.obj->exact) {
                    match = true;   // the span / instance index already decided (see the header)
                } else {
                    auto obj = ical::calendar_object::parse(x.obj->data);
                    if (!obj) continue;
                    auto m = ical::matches(*obj, cq->filter, tz.get());
                    match = m && *m;
                    parsed = std::move(*obj);
                }
                if (!match) continue;
                ms.add_propstat(href(x.path), propstats(x, cq->props.props, {}, pc,
                                                        data_props(x, cq->props, tz.get(), parsed ? &*parsed : nullptr)));
            }
            out.body = ms.finish();
            return out;
        }
        if (mg) {
            std::vector<std::string> names;
            std::vector<std::pair<std::string, std::string>> refused;   // href, reason
            for (const auto& h : mg->hrefs) {
                std::string path = h;
                if (auto d = dav::parse_destination(h)) path = d->path;
                auto p = parse_path(path);
                if (!p || !p->is_object() || p->owner != c.own || p->collection != coll_res.path.collection ||
                    p->calendar_side() != calendar || (on_object && p->object != c.target.object)) {
                    refused.push_back({h, ""});
                    continue;
                }
                names.push_back(p->object);
            }
            std::vector<store::object> found;
            if (coll_res.directory) {
                for (auto& o : fetch_all(true))
                    if (std::find(names.begin(), names.end(), o.name) != names.end()) found.push_back(std::move(o));
            } else {
                found = store::objects_named(tx, coll_res.coll->id, names, true);
            }
            std::unique_ptr<ical::time_zone> tz;
            if (coll_res.coll && !coll_res.coll->timezone.empty())
                if (auto z = ical::time_zone::from_ical(coll_res.coll->timezone)) tz = std::make_unique<ical::time_zone>(std::move(*z));
            std::vector<std::string> seen;
            for (auto& x : as_resources(c, coll_res, std::move(found))) {
                seen.push_back(x.obj->name);
                ms.add_propstat(href(x.path), propstats(x, mg->props.props, {}, pc, data_props(x, mg->props, tz.get(), nullptr)));
            }
            for (const auto& n : names)
                if (std::find(seen.begin(), seen.end(), n) == seen.end()) {
                    dav_path p = coll_res.path;
                    p.where = calendar ? area::cal_object : area::card_object;
                    p.object = n;
                    ms.add_status(href(p), 404);
                }
            for (const auto& r : refused) ms.add_status(http::percent_encode_path(r.first), 404);
            out.body = ms.finish();
            return out;
        }
        if (fb) {
            std::unique_ptr<ical::time_zone> tz;
            if (coll_res.coll && !coll_res.coll->timezone.empty())
                if (auto z = ical::time_zone::from_ical(coll_res.coll->timezone)) tz = std::make_unique<ical::time_zone>(std::move(*z));
            auto rows = store::objects_in_range(tx, coll_res.coll->id, fb->range.start, fb->range.end, false, true);
            std::vector<ical::calendar_object> parsed;
            for (const auto& r : rows) {
                if (r.component != "VEVENT" && r.component != "VFREEBUSY") continue;
                if (auto obj = ical::calendar_object::parse(r.data)) parsed.push_back(std::move(*obj));
            }
            std::vector<const ical::calendar_object*> ptrs;
            for (const auto& p : parsed) ptrs.push_back(&p);
            ical::freebusy_options fo;
            fo.owner_addresses = {"mailto:" + (coll_res.shared ? coll_res.owner : c.own)};
            auto periods = ical::busy_periods(ptrs, fb->range, tz.get(), fo);
            if (!periods) return error_outcome(403, cal("valid-filter"));
            ical::vfreebusy_header h;
            h.dtstamp = static_cast<ical::utc_time>(std::time(nullptr));
            auto text = ical::freebusy_calendar(*periods, fb->range, h);
            if (!text) return error_outcome(403, cal("valid-filter"));
            out.status = 200;
            out.body = std::move(*text);
            out.content_type = "text/calendar; charset=utf-8";
            return out;
        }
        if (aq) {
            std::size_t matched = 0;
            bool truncated = false;
            for (auto& x : as_resources(c, coll_res, scope(true))) {
                auto parsed_card = ical::parse_vcard(x.obj->data);
                if (!parsed_card) continue;
                auto m = ical::matches(*parsed_card, aq->filter);
                if (!m || !*m) continue;
                if (aq->limit && matched >= *aq->limit) {
                    truncated = true;
                    break;
                }
                ++matched;
                ms.add_propstat(href(x.path), propstats(x, aq->props.props, {}, pc, data_props(x, aq->props, nullptr, nullptr)));
            }
            if (truncated) ms.add_status(href(c.target), 507, dav::dav("number-of-matches-within-limits"));
            out.body = ms.finish();
            return out;
        }
        // sync-collection
        if (coll_res.directory) {
            const std::string current = "urn:x-polder:sync:directory-" + std::to_string(coll_res.fingerprint);
            auto cards = fetch_all(true);
            if (!sc->sync_token.empty() && sc->sync_token != "urn:x-polder:sync:directory-" + std::to_string(coll_res.fingerprint))
                return error_outcome(403, dav::dav("valid-sync-token"));
            if (sc->sync_token.empty())
                for (auto& x : as_resources(c, coll_res, std::move(cards)))
                    ms.add_propstat(href(x.path), propstats(x, sync_props->props, {}, pc, data_props(x, *sync_props, nullptr, nullptr)));
            out.body = ms.finish(current);
            return out;
        }
        std::int64_t since = 0;
        if (!sc->sync_token.empty()) {
            auto m = parse_sync_token(sc->sync_token, coll_res.coll->id);
            if (!m || *m > coll_res.coll->modseq) return error_outcome(403, dav::dav("valid-sync-token"));
            since = *m;
        }
        const bool with_data = sync_props->calendar_data || sync_props->address_data;
        auto changed = store::changed_since(tx, coll_res.coll->id, since, with_data);
        std::vector<std::string> gone;
        if (since > 0) gone = store::deleted_since(tx, coll_res.coll->id, since);
        if (sc->limit && changed.size() + gone.size() > *sc->limit)
            return error_outcome(507, dav::dav("number-of-matches-within-limits"));
        for (auto& x : as_resources(c, coll_res, std::move(changed)))
            ms.add_propstat(href(x.path), propstats(x, sync_props->props, {}, pc, data_props(x, *sync_props, nullptr, nullptr)));
        for (const auto& n : gone) {
            dav_path p = coll_res.path;
            p.where = calendar ? area::cal_object : area::card_object;
            p.object = n;
            ms.add_status(href(p), 404);
        }
        out.body = ms.finish(sync_token(coll_res.coll->id, coll_res.coll->modseq));
        return out;
    });
    if (o.status == 404) co_return plain(404, "not found");
    if (o.error) co_return dav_error(o.status, *o.error);
    co_return http::text_response(static_cast<status>(o.status), std::move(o.body), o.content_type);
}

}  // namespace polder::caldav
