// cmd_object.cpp - GET/HEAD, PUT, DELETE, COPY and MOVE of calendar object resources and
// vCards (and DELETE of whole collections).
//
// PUT validates the body with polder::ical before anything is stored (RFC 4791 5.3.2.1 /
// RFC 6352 6.3.2.1 preconditions as DAV:error bodies, 403), checks If-Match /
// If-None-Match (412), refuses a UID already held by another resource of the collection
// (no-uid-conflict naming that resource), computes the precomputed time-range columns
// from libical's expansion and answers 201/204 with the ETag only after COMMIT. The
// stored bytes are exactly those sent, so the ETag is a strong validator of them.
//
// SECURITY: the body is read up to max_resource_size (+1 byte to detect excess) and
// refused with max-resource-size beyond; Destination of COPY/MOVE is parsed and must be a
// resource of the caller's own tree on the same side (calendar / address book), else
// 403/404; the directory address book is read-only (403 DAV:need-privileges).
// STANDARDS: RFC 4791 5.3.2 (PUT), 5.3.2.1 (preconditions), 5.3.4 (ETags), RFC 6352
// 6.3.2 (vCard PUT), RFC 4918 9.4 (GET), 9.6 (DELETE), 9.8/9.9 (COPY/MOVE, Overwrite,
// Destination), RFC 9110 13 (conditional requests).
#include "service.hpp"
#include "schedule.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/http/date.hpp"
#include "polder/http/server.hpp"
#include "polder/ical/calendar.hpp"
#include "polder/ical/time_range.hpp"
#include "polder/ical/vcard.hpp"

#include <pqxx/except>

namespace polder::caldav {

using http::field;
using http::status;

namespace {
constexpr std::int64_t max_utc_offset = 14 * 3600;   // floating/all-day widening (UTC-12 .. UTC+14)
}  // namespace

std::string content_etag(std::string_view data) {
    return blob::sha256::of(data).hex().substr(0, 32);
}

validated validate_body(const std::string& body, bool calendar, const store::collection& coll, const options& o) {
    validated v;
    if (calendar) {
        ical::validate_options vo;
        vo.lim.max_size = o.max_resource_size;
        vo.supported.clear();
        for (const auto& name : coll.components)
            if (auto k = ical::kind_from_name(name); k != ical::component_kind::none) vo.supported.insert(k);
        auto r = ical::validate(body, vo);
        if (!r.ok()) {
            v.status = 403;
            v.condition = cal(ical::precondition_name(r.failed));
            v.reason = r.reason;
            return v;
        }
        v.uid = r.index.uid;
        v.component = std::string(ical::name(r.index.kind));
        const auto& ix = r.index;
        auto& t = v.times;
        t.recurring = ix.recurring || ix.unbounded;
        t.floating = ix.floating || ix.all_day;
        t.transparent = ix.transparency == "TRANSPARENT";
        if (ix.first_start) {
            t.has_span = true;
            const std::int64_t widen = t.floating ? max_utc_offset : 0;
            t.lo = *ix.first_start - widen;
            if (!ix.unbounded && ix.last_end) t.hi = std::max(*ix.last_end + widen, *t.lo + 1);
            else if (!ix.unbounded && !ix.recurring) t.hi = *ix.first_start + widen + 1;
            // else: unbounded above (endless RRULE, or no end known): the exact check decides.
        }
        t.exact = ix.kind == ical::component_kind::vevent && !t.recurring && !t.floating && ix.dtstart && ix.dtend &&
                  *ix.dtend > *ix.dtstart && ix.override_count == 0;
        if (ix.kind == ical::component_kind::vevent && ix.recurring && !ix.unbounded && !t.floating && r.object) {
            // Bounded series: store every instance so queries need no parse (0200_cal.sql).
            auto e = ical::expand(*r.object, ical::time_range{}, nullptr, vo.lim);
            bool complete = !e.truncated;
            for (const auto& in : e.instances) {
                if (!in.start || !in.end || in.all_day) {
                    complete = false;
                    break;
                }
                t.instances.emplace_back(*in.start, std::max(*in.end, *in.start + 1));
            }
            t.exact = complete && !t.instances.empty();
            if (!t.exact) t.instances.clear();
        }
        return v;
    }
    ical::vcard_limits lim;
    lim.max_size = o.max_resource_size;
    auto r = ical::validate_vcard(body, lim);
    if (!r.ok()) {
        v.status = 403;
        v.condition = card(ical::precondition_name(r.failed));
        v.reason = r.reason;
        return v;
    }
    v.uid = r.card->uid;
    v.component = "VCARD";
    return v;
}

namespace {

bool coll_is_inbox(const store::collection& c) { return c.kind == "calendar" && c.name == store::inbox_name; }

// schedule_tag_matches - If-Schedule-Tag-Match (RFC 6638 8.3): one quoted tag, equal to
// the resource's current Schedule-Tag.
bool schedule_tag_matches(std::string_view header, const std::optional<store::object>& current) {
    if (!current || current->schedule_tag.empty()) return false;
    while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) header.remove_prefix(1);
    while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) header.remove_suffix(1);
    return header == "\"" + current->schedule_tag + "\"";
}

http::response uid_conflict(bool calendar, const std::string& existing_href) {
    const auto ns = calendar ? caldav_ns : carddav_ns;
    std::string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><X:no-uid-conflict xmlns:X=\"" +
                       std::string(ns) + "\">" + dav::href_element(existing_href) + "</X:no-uid-conflict></D:error>\n";
    return service::xml_response(403, std::move(body));
}

bool media_type_is(std::string_view value, std::initializer_list<std::string_view> types) {
    auto semi = value.find(';');
    auto main = lower(value.substr(0, semi));
    while (!main.empty() && (main.back() == ' ' || main.back() == '\t')) main.pop_back();
    for (auto t : types)
        if (main == t) return true;
    return false;
}

}  // namespace

awaitable<http::response> service::cmd_get(ctx& c, bool head) {
    if (!c.target.is_object()) {
        auto r = plain(405, "GET is only defined for calendar objects and vCards");
        r.headers.set(field::allow, "OPTIONS, PROPFIND, REPORT");
        co_return r;
    }
    auto r = co_await pool_.transact([&](pqxx::work& tx) { return load(tx, c, c.target, true); });
    if (!r || !r->obj) co_return plain(404, "not found");
    const bool calendar = c.target.calendar_side();
    http::response resp = http::text_response(
        status::ok, head ? std::string() : r->obj->data,
        calendar ? "text/calendar; charset=utf-8" : "text/vcard; charset=utf-8");
    if (head) resp.content_length = static_cast<std::uint64_t>(r->obj->data.size());
    resp.headers.set(field::etag, etag_of(*r->obj));
    resp.headers.set(field::last_modified, http::format_http_date(r->obj->modified));
    if (!r->obj->schedule_tag.empty()) resp.headers.set("Schedule-Tag", "\"" + r->obj->schedule_tag + "\"");
    co_return resp;
}

awaitable<http::response> service::cmd_put(ctx& c) {
    if (!c.target.is_object()) co_return plain(405, "PUT is only allowed on resources inside a collection");
    const bool calendar = c.target.calendar_side();
    if (!calendar && c.target.collection == directory_book) co_return dav_error(403, dav::dav("need-privileges"));
    const auto type = c.req.header(field::content_type);
    if (!type.empty()) {
        const bool ok = calendar ? media_type_is(type, {"text/calendar"})
                                 : media_type_is(type, {"text/vcard", "text/x-vcard", "text/directory"});
        if (!ok) co_return dav_error(403, calendar ? cal("supported-calendar-data") : card("supported-address-data"));
    }
    const auto too_large = calendar ? cal("max-resource-size") : card("max-resource-size");
    if (c.req.content_length() && *c.req.content_length() > opts_.max_resource_size) co_return dav_error(403, too_large);
    auto body = co_await c.req.read_body(opts_.max_resource_size + 1);
    if (!body) {
        if (polder::is(body.error(), errc::limit_exceeded)) co_return dav_error(403, too_large);
        co_return plain(static_cast<unsigned>(http::status_for_body_error(body.error())), "request body could not be read");
    }
    if (body->size() > opts_.max_resource_size) co_return dav_error(403, too_large);

    struct outcome {
        unsigned status = 0;
        std::optional<dav::qname> condition;
        std::string conflict_href;
        std::string etag;
        std::string reason;
        bool rewritten = false;     // the server changed the data (no ETag in the answer, RFC 4791 5.3.4)
        std::string schedule_tag;   // RFC 6638 3.2.10
    };
    const std::string etag = content_etag(*body);
    const auto if_schedule_tag = c.req.header("If-Schedule-Tag-Match");
    outcome o;
    try {
        o = co_await pool_.transact([&](pqxx::work& tx) {
            outcome o;
            auto acc = open_collection(tx, c, c.target.kind(), c.target.collection);
            if (!acc) {
                o.status = 409;   // RFC 4918 9.7.1: the parent collection does not exist
                return o;
            }
            if (!acc->writable || (calendar && !acc->shared && coll_is_inbox(acc->coll))) {
                // A read-only share (RFC 3744 DAV:need-privileges); the schedule inbox
                // only takes the server's deliveries (RFC 6638 2.2).
                o.status = 403;
                o.condition = dav::dav("need-privileges");
                return o;
            }
            const auto* coll = &acc->coll;
            auto v = validate_body(*body, calendar, *coll, opts_);
            if (v.status) {
                o.status = v.status;
                o.condition = v.condition;
                o.reason = v.reason;
                return o;
            }
            auto existing = store::find_object(tx, coll->id, c.target.object, calendar);
            std::optional<std::string> current;
            if (existing) current = existing->etag;
            if (auto s = etag_preconditions(c, current)) {
                o.status = s;
                return o;
            }
            if (!if_schedule_tag.empty() && !schedule_tag_matches(if_schedule_tag, existing)) {
                o.status = 412;   // RFC 6638 8.3: changed by scheduling since the client read it
                return o;
            }
            if (auto holder = store::name_of_uid(tx, coll->id, v.uid); holder && *holder != c.target.object) {
                o.status = 403;
                o.conflict_href = object_href(c.own, calendar, c.target.collection, *holder);
                return o;
            }
            if (existing && existing->uid != v.uid) {
                // RFC 4791 5.3.2.1: a PUT must not change the UID of an existing resource.
                o.status = 403;
                o.conflict_href = href(c.target);
                return o;
            }
            if (calendar && !acc->shared && (sched::may_schedule(*body) || (existing && sched::may_schedule(existing->data)))) {
                // Implicit scheduling (RFC 6638 3.2) in this same transaction.
                const auto who = sched::actor_of(tx, c);
                const auto effect = sched::on_put(tx, who, opts_, existing ? &existing->data : nullptr, *body);
                const std::string& data = effect.data ? *effect.data : *body;
                o.rewritten = effect.data.has_value();
                o.etag = effect.data ? content_etag(data) : etag;
                store::put_object(tx, coll->id, c.target.object, v.uid, v.component, o.etag, data, v.times);
                if (effect.scheduling) {
                    // The organizer's own changes get a new tag; an attendee's answer keeps it.
                    o.schedule_tag = !effect.organizer && existing && !existing->schedule_tag.empty()
                                         ? existing->schedule_tag
                                         : sched::new_schedule_tag(data);
                }
                store::set_schedule_tag(tx, coll->id, c.target.object, o.schedule_tag);
                o.status = existing ? 204 : 201;
                return o;
            }
            store::put_object(tx, coll->id, c.target.object, v.uid, v.component, etag, *body, v.times);
            o.status = existing ? 204 : 201;
            o.etag = etag;
            return o;
        });
    } catch (const pqxx::unique_violation&) {
        // Two PUTs of the same UID under different names raced: the loser conflicts.
        co_return uid_conflict(calendar, href(c.target));
    }
    if (!o.conflict_href.empty()) co_return uid_conflict(calendar, o.conflict_href);
    if (o.condition) {
        auto r = dav_error(o.status, *o.condition);
        co_return r;
    }
    if (o.status == 409) co_return plain(409, "the collection does not exist");
    if (o.status == 412) co_return plain(412, "precondition failed");
    http::response r;
    r.code = static_cast<status>(o.status);
    if (!o.rewritten) r.headers.set(field::etag, "\"" + o.etag + "\"");
    if (!o.schedule_tag.empty()) r.headers.set("Schedule-Tag", "\"" + o.schedule_tag + "\"");
    co_return r;
}

awaitable<http::response> service::cmd_delete(ctx& c) {
    if (!c.target.is_object() && !c.target.is_collection())
        co_return dav_error(403, dav::dav("need-privileges"));
    if (!c.target.calendar_side() && c.target.collection == directory_book)
        co_return dav_error(403, dav::dav("need-privileges"));
    const auto if_schedule_tag = c.req.header("If-Schedule-Tag-Match");
    auto status_code = co_await pool_.transact([&](pqxx::work& tx) -> unsigned {
        auto acc = open_collection(tx, c, c.target.kind(), c.target.collection);
        if (!acc) return 404;
        const auto* coll = &acc->coll;
        if (c.target.is_collection() && acc->shared) {
            // A sharee's DELETE of the bound collection ends its own share (the owner's
            // collection stays); a share through a group is the owner's or admin's to end.
            if (store::remove_share(tx, coll->id, c.who.account_id, std::nullopt)) return 204;
            return 403;
        }
        if (!acc->writable) return 403;
        if (c.target.is_collection() && coll_is_inbox(*coll)) return 403;   // the inbox stays (RFC 6638 2.2)
        if (c.target.is_collection()) {
            if (etag_preconditions(c, "c" + std::to_string(coll->id) + "-" + std::to_string(coll->modseq))) return 412;
            store::delete_collection(tx, coll->id);
            return 204;
        }
        auto existing = store::find_object(tx, coll->id, c.target.object, c.target.calendar_side());
        if (!existing) return 404;
        if (etag_preconditions(c, existing->etag)) return 412;
        if (!if_schedule_tag.empty() && !schedule_tag_matches(if_schedule_tag, existing)) return 412;
        store::delete_object(tx, coll->id, c.target.object);
        if (c.target.calendar_side() && !acc->shared && !coll_is_inbox(*coll) && sched::may_schedule(existing->data))
            sched::on_delete(tx, sched::actor_of(tx, c), opts_, existing->data);
        return 204;
    });
    if (status_code == 204) {
        http::response r;
        r.code = status::no_content;
        co_return r;
    }
    if (status_code == 403) co_return dav_error(403, dav::dav("need-privileges"));
    co_return plain(status_code, status_code == 404 ? "not found" : "precondition failed");
}

awaitable<http::response> service::cmd_copy_move(ctx& c, bool move) {
    if (!c.target.is_object()) co_return plain(403, "only calendar objects and vCards can be copied or moved");
    const bool calendar = c.target.calendar_side();
    if (!calendar && c.target.collection == directory_book && move) co_return dav_error(403, dav::dav("need-privileges"));
    auto d = dav::parse_destination(c.req.header("Destination"));
    if (!d) co_return plain(400, "missing or malformed Destination");
    auto dest = parse_path(d->path);
    if (!dest || !dest->is_object()) co_return plain(403, "the destination must be a resource inside a collection");
    if (dest->owner != c.own) co_return plain(404, "not found");   // another account: not revealed
    if (dest->calendar_side() != calendar) co_return plain(403, "objects cannot move between calendars and address books");
    if (!calendar && dest->collection == directory_book) co_return dav_error(403, dav::dav("need-privileges"));
    if (dest->collection == c.target.collection && dest->object == c.target.object)
        co_return plain(403, "source and destination are the same");
    const auto overwrite_value = c.req.header("Overwrite");
    bool overwrite = true;
    if (!overwrite_value.empty()) {
        auto ov = dav::parse_overwrite(overwrite_value);
        if (!ov) co_return plain(400, "malformed Overwrite");
        overwrite = *ov;
    }
    struct outcome {
        unsigned status = 0;
        std::optional<dav::qname> condition;
        std::string conflict_href;
    };
    outcome o;
    try {
        o = co_await pool_.transact([&](pqxx::work& tx) {
            outcome o;
            auto src = load(tx, c, c.target, true);
            if (!src || !src->obj) {
                o.status = 404;
                return o;
            }
            if (etag_preconditions(c, src->obj->etag)) {
                o.status = 412;
                return o;
            }
            if (move && !src->writable) {
                o.status = 403;
                o.condition = dav::dav("need-privileges");
                return o;
            }
            auto dacc = open_collection(tx, c, dest->kind(), dest->collection);
            if (!dacc) {
                o.status = 409;
                return o;
            }
            if (!dacc->writable || (calendar && coll_is_inbox(dacc->coll))) {
                o.status = 403;
                o.condition = dav::dav("need-privileges");
                return o;
            }
            const auto* dcoll = &dacc->coll;
            auto v = validate_body(src->obj->data, calendar, *dcoll, opts_);
            if (v.status) {
                o.status = v.status;
                o.condition = v.condition;
                return o;
            }
            auto existing = store::find_object(tx, dcoll->id, dest->object, false);
            if (existing && !overwrite) {
                o.status = 412;
                return o;
            }
            if (auto holder = store::name_of_uid(tx, dcoll->id, v.uid);
                holder && *holder != dest->object && !(move && src->coll && src->coll->id == dcoll->id && *holder == c.target.object)) {
                o.status = 403;
                o.conflict_href = object_href(c.own, calendar, dest->collection, *holder);
                return o;
            }
            if (move && src->coll) store::delete_object(tx, src->coll->id, c.target.object);
            if (existing && existing->uid != v.uid) store::delete_object(tx, dcoll->id, dest->object);
            store::put_object(tx, dcoll->id, dest->object, v.uid, v.component, src->obj->etag, src->obj->data, v.times);
            o.status = existing ? 204 : 201;
            return o;
        });
    } catch (const pqxx::unique_violation&) {
        co_return uid_conflict(calendar, href(*dest));
    }
    if (!o.conflict_href.empty()) co_return uid_conflict(calendar, o.conflict_href);
    if (o.condition) co_return dav_error(o.status, *o.condition);
    if (o.status >= 400) co_return plain(o.status, o.status == 404 ? "not found" : o.status == 409 ? "the destination collection does not exist" : "precondition failed");
    http::response r;
    r.code = static_cast<status>(o.status);
    if (o.status == 201) r.headers.set(field::location, href(*dest));
    co_return r;
}

}  // namespace polder::caldav
