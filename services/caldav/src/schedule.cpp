// schedule.cpp - implicit scheduling inside the organisation (see schedule.hpp).
//
// SECURITY: see schedule.hpp; deliveries go only to accounts store::find_user found in
// the caller's organisation; expansion for the room check is bounded (max 500 instances).
// STANDARDS: RFC 6638 3.2, 3.2.10, 7.3; RFC 5546 3.2.2, 3.2.3, 3.2.5, 3.6.
#include "schedule.hpp"

#include "imip.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/ical/freebusy.hpp"
#include "polder/ical/itip.hpp"
#include "polder/ical/time_range.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <ctime>
#include <variant>

namespace polder::caldav::sched {

namespace {

using ical::calendar_object;

bool mine(const actor& a, std::string_view address) {
    return std::any_of(a.addresses.begin(), a.addresses.end(),
                       [&](const std::string& x) { return ical::same_address(x, address); });
}

// The resource name of a delivered copy: derived from the UID, so it is always a valid
// URL segment and the same UID lands on the same name.
std::string copy_name(std::string_view uid) {
    // "<UID>.ics" when the UID is a plain URL-safe name (clients such as python3-caldav
    // write an accepted invitation back to that name), else a hash of it.
    const bool plain = !uid.empty() && uid.size() <= 200 && std::all_of(uid.begin(), uid.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.' || ch == '@';
    });
    if (plain && uid != "." && uid != "..") return std::string(uid) + ".ics";
    return blob::sha256::of(uid).hex().substr(0, 40) + ".ics";
}

ical::utc_time now() { return static_cast<ical::utc_time>(std::time(nullptr)); }

void put_inbox(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id, const calendar_object& msg) {
    const auto inbox = store::ensure_inbox(tx, account_id, org_id);
    const std::string text = msg.to_string();
    // One inbox entry per UID: a newer message about the same event replaces the older.
    const auto name = store::name_of_uid(tx, inbox, msg.uid()).value_or(copy_name(msg.uid()));
    store::put_object(tx, inbox, name, msg.uid(), std::string(ical::name(msg.kind())), content_etag(text), text, {});
}

// room_answer - ACCEPTED when none of the event's instances overlaps busy time of the
// resource's calendars (the event itself excluded), else DECLINED.
std::string room_answer(pqxx::work& tx, const store::calendar_user& room, const calendar_object& msg) {
    ical::limits lim;
    lim.max_instances = 500;
    const auto e = ical::expand(msg, ical::time_range{}, nullptr, lim);
    std::optional<ical::utc_time> lo, hi;
    for (const auto& in : e.instances) {
        if (!in.start) continue;
        const auto end = in.end ? *in.end : *in.start + 1;
        lo = lo ? std::min(*lo, *in.start) : *in.start;
        hi = hi ? std::max(*hi, end) : end;
    }
    if (!lo) return "ACCEPTED";
    std::vector<calendar_object> parsed;
    for (const auto& data : store::busy_objects(tx, room.account_id, *lo, *hi, msg.uid()))
        if (auto p = calendar_object::parse(data)) parsed.push_back(std::move(*p));
    std::vector<const calendar_object*> ptrs;
    for (const auto& p : parsed) ptrs.push_back(&p);
    ical::freebusy_options fo;
    fo.owner_addresses = {"mailto:" + room.address};
    auto busy = ical::busy_periods(ptrs, ical::time_range{*lo, *hi}, nullptr, fo);
    if (!busy) return "DECLINED";
    for (const auto& in : e.instances) {
        if (!in.start) continue;
        const auto end = in.end ? *in.end : *in.start + 1;
        for (const auto& b : *busy)
            if (b.start < end && *in.start < b.end) return "DECLINED";
    }
    return "ACCEPTED";
}

// send_imip - an iTIP message by mail to someone outside the organisation (RFC 6047);
// false when it cannot be sent (no blob store, or not a plain mailto: address).
bool send_imip(pqxx::work& tx, const actor& who, const options& o, std::string_view from, std::string_view to,
               const ical::itip_message& m, const std::string& summary) {
    if (!o.blobs) return false;
    auto sender = imip::mail_address(from);
    auto recipient = imip::mail_address(to);
    if (!sender || !recipient) return false;
    imip::mail mail;
    mail.from = *sender;
    mail.from_name = who.display_name;
    mail.to = *recipient;
    mail.method = m.method;
    mail.summary = summary;
    mail.itip = m.text;
    mail.date = now();
    imip::enqueue(tx, *o.blobs, mail, who.account_id);
    return true;
}

struct delivery {
    std::string status;                  // SCHEDULE-STATUS for the organizer's copy
    std::optional<std::string> answer;   // a resource's automatic PARTSTAT
};

delivery deliver_request(pqxx::work& tx, std::int64_t org_id, const store::calendar_user& u, const std::string& recipient,
                         const ical::itip_message& m, const options& o) {
    auto msg = calendar_object::parse(m.text);
    if (!msg) return {"5.1", std::nullopt};
    store::ensure_home(tx, u.account_id, org_id);
    const std::string comp(ical::name(msg->kind()));
    auto existing = store::find_by_uid(tx, u.account_id, msg->uid());
    delivery d{"1.2", std::nullopt};
    const auto res = store::find_resource(tx, u.account_id);
    if (res && res->auto_accept) {
        d.answer = room_answer(tx, u, *msg);
        ical::set_partstat(*msg, recipient, *d.answer);
    } else if (existing) {
        // The attendee's answer stands until the organizer raises the SEQUENCE (RFC 5546 2.1.4).
        if (auto old = calendar_object::parse(existing->obj.data)) {
            if (ical::index(*msg).sequence <= ical::index(*old).sequence)
                if (auto ps = ical::partstat_of(*old, recipient)) ical::set_partstat(*msg, recipient, *ps);
        }
    }
    put_inbox(tx, u.account_id, org_id, *msg);
    const std::string data = ical::as_resource(*msg);
    store::collection target;
    std::string name;
    if (existing) {
        target = existing->coll;
        name = existing->obj.name;
    } else {
        auto def = store::default_calendar(tx, u.account_id, comp);
        if (!def) return {"5.3", d.answer};   // no calendar takes this component: inbox only
        target = std::move(*def);
        name = copy_name(msg->uid());
        // Never replace another event that happens to have that name.
        if (store::find_object(tx, target.id, name, false)) name = blob::sha256::of(msg->uid()).hex().substr(0, 40) + ".ics";
        if (store::find_object(tx, target.id, name, false)) return {"5.1", d.answer};
    }
    auto v = validate_body(data, true, target, o);
    if (v.status) return {"5.1", d.answer};
    store::put_object(tx, target.id, name, v.uid, v.component, content_etag(data), data, v.times);
    store::set_schedule_tag(tx, target.id, name, new_schedule_tag(data));
    return d;
}

void deliver_cancel(pqxx::work& tx, std::int64_t org_id, const store::calendar_user& u, const ical::itip_message& m) {
    auto msg = calendar_object::parse(m.text);
    if (!msg) return;
    store::ensure_home(tx, u.account_id, org_id);
    put_inbox(tx, u.account_id, org_id, *msg);
    if (auto existing = store::find_by_uid(tx, u.account_id, msg->uid()))
        store::delete_object(tx, existing->coll.id, existing->obj.name);
}

// deliver_reply - into the organizer's inbox and onto the organizer's copy.
void deliver_reply(pqxx::work& tx, std::int64_t org_id, const store::calendar_user& organizer,
                   const ical::itip_message& m, const options& o) {
    auto msg = calendar_object::parse(m.text);
    if (!msg) return;
    store::ensure_home(tx, organizer.account_id, org_id);
    put_inbox(tx, organizer.account_id, org_id, *msg);
    auto loc = store::find_by_uid(tx, organizer.account_id, msg->uid());
    if (!loc) return;
    auto copy = calendar_object::parse(loc->obj.data);
    if (!copy) return;
    auto applied = ical::apply_reply(*copy, m.text);
    if (!applied || !applied->changed) return;
    const std::string data = copy->to_string();
    auto v = validate_body(data, true, loc->coll, o);
    if (v.status) return;
    // The organizer's Schedule-Tag stays: a reply is not a change of the organizer's (RFC 6638 3.2.10).
    store::put_object(tx, loc->coll.id, loc->obj.name, v.uid, v.component, content_etag(data), data, v.times);
}

std::optional<std::string> attendee_address(const actor& who, const ical::calendar_index& ix) {
    for (const auto& a : ix.attendees)
        if (mine(who, a.address)) return a.address;
    return std::nullopt;
}

}  // namespace

bool may_schedule(std::string_view data) {
    // Property names are case-insensitive (RFC 5545 2): search without case.
    static constexpr std::string_view key = "organizer";
    if (data.size() < key.size()) return false;
    for (std::size_t i = 0; i + key.size() <= data.size(); ++i) {
        std::size_t k = 0;
        while (k < key.size() && std::tolower(static_cast<unsigned char>(data[i + k])) == key[k]) ++k;
        if (k == key.size()) return true;
    }
    return false;
}

std::string new_schedule_tag(std::string_view seed) {
    static std::atomic<std::uint64_t> counter{0};
    const auto t = std::chrono::system_clock::now().time_since_epoch().count();
    return "s" + blob::sha256::of(std::string(seed) + "/" + std::to_string(t) + "/" + std::to_string(counter++)).hex().substr(0, 24);
}

actor actor_of(pqxx::work& tx, const ctx& c) {
    actor a;
    a.account_id = c.who.account_id;
    a.org_id = c.who.org_id;
    a.display_name = c.who.display_name;
    a.addresses = store::user_addresses(tx, c.who.account_id);
    if (a.addresses.empty()) a.addresses.push_back(c.own);
    return a;
}

put_effect on_put(pqxx::work& tx, const actor& who, const options& o, const std::string* old_data,
                  const std::string& new_data) {
    put_effect effect;
    auto obj = calendar_object::parse(new_data);
    if (!obj) return effect;
    if (obj->kind() != ical::component_kind::vevent && obj->kind() != ical::component_kind::vtodo) return effect;
    const auto ix = ical::index(*obj);
    std::optional<calendar_object> old;
    if (old_data)
        if (auto p = calendar_object::parse(*old_data)) old = std::move(*p);
    const auto t = now();

    if (!ix.organizer.empty() && mine(who, ix.organizer)) {
        effect.scheduling = effect.organizer = true;
        bool changed = false;
        for (const auto& m : ical::requests(*obj, t)) {
            if (mine(who, m.recipient)) continue;
            auto u = store::find_user(tx, who.org_id, m.recipient);
            std::string status = "3.7";   // not a calendar user of this organisation, and no mail
            if (u && u->account_id != who.account_id) {
                auto d = deliver_request(tx, who.org_id, *u, m.recipient, m, o);
                status = d.status;
                if (d.answer) ical::set_partstat(*obj, m.recipient, *d.answer);
            } else if (!u && send_imip(tx, who, o, ix.organizer, m.recipient, m, ix.summary)) {
                status = "1.1";   // sent by mail (iMIP); delivery is polder-smtpd's
            }
            ical::set_schedule_status(*obj, m.recipient, status);
            changed = true;
        }
        // Attendees dropped since the stored version are told it is cancelled for them.
        if (old) {
            const auto old_ix = ical::index(*old);
            if (!old_ix.organizer.empty() && mine(who, old_ix.organizer)) {
                const auto now_invited = ical::scheduled_attendees(*obj);
                std::vector<std::string> removed;
                for (const auto& a : ical::scheduled_attendees(*old))
                    if (!mine(who, a) && std::none_of(now_invited.begin(), now_invited.end(),
                                                      [&](const std::string& b) { return ical::same_address(a, b); }))
                        removed.push_back(a);
                if (!removed.empty())
                    for (const auto& m : ical::cancels(*old, t, removed)) {
                        auto u = store::find_user(tx, who.org_id, m.recipient);
                        if (u && u->account_id != who.account_id) deliver_cancel(tx, who.org_id, *u, m);
                        else if (!u) send_imip(tx, who, o, old_ix.organizer, m.recipient, m, old_ix.summary);
                    }
            }
        }
        if (changed) effect.data = obj->to_string();
        return effect;
    }

    // An attendee's copy: a changed answer goes to the organizer.
    const auto me = attendee_address(who, ix);
    if (!me || ix.organizer.empty()) return effect;
    effect.scheduling = true;
    const auto now_ps = ical::partstat_of(*obj, *me).value_or("NEEDS-ACTION");
    std::optional<std::string> before;
    if (old) before = ical::partstat_of(*old, *me);
    if (old ? before == now_ps : now_ps == "NEEDS-ACTION") return effect;
    auto organizer = store::find_user(tx, who.org_id, ix.organizer);
    if (organizer && organizer->account_id == who.account_id) return effect;
    auto rep = ical::reply(*obj, *me, t);
    if (!rep) return effect;
    if (organizer) deliver_reply(tx, who.org_id, *organizer, *rep, o);
    else send_imip(tx, who, o, *me, ix.organizer, *rep, ix.summary);   // an outside organizer: by mail
    return effect;
}

void on_delete(pqxx::work& tx, const actor& who, const options& o, const std::string& old_data) {
    auto obj = calendar_object::parse(old_data);
    if (!obj) return;
    if (obj->kind() != ical::component_kind::vevent && obj->kind() != ical::component_kind::vtodo) return;
    const auto ix = ical::index(*obj);
    if (ix.organizer.empty()) return;
    const auto t = now();
    if (mine(who, ix.organizer)) {
        for (const auto& m : ical::cancels(*obj, t)) {
            auto u = store::find_user(tx, who.org_id, m.recipient);
            if (u && u->account_id != who.account_id) deliver_cancel(tx, who.org_id, *u, m);
            else if (!u) send_imip(tx, who, o, ix.organizer, m.recipient, m, ix.summary);
        }
        return;
    }
    // An attendee removing the event declines it (RFC 6638 3.2.7 leaves this to the server).
    const auto me = attendee_address(who, ix);
    if (!me || ical::partstat_of(*obj, *me) == std::optional<std::string>("DECLINED")) return;
    auto organizer = store::find_user(tx, who.org_id, ix.organizer);
    if (organizer && organizer->account_id == who.account_id) return;
    ical::set_partstat(*obj, *me, "DECLINED");
    auto rep = ical::reply(*obj, *me, t);
    if (!rep) return;
    if (organizer) deliver_reply(tx, who.org_id, *organizer, *rep, o);
    else send_imip(tx, who, o, *me, ix.organizer, *rep, ix.summary);
}

// --- iMIP received by mail ---

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

// sent_by - the mail's From: and envelope sender are both the calendar user `cua`.
bool sent_by(const inbound_message& m, std::string_view cua) {
    auto a = imip::mail_address(cua);
    return a && iequal(*a, m.from_address) && iequal(*a, m.envelope_sender);
}

std::string lower_text(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_account_address(const std::vector<std::string>& own, std::string_view cua) {
    return std::any_of(own.begin(), own.end(), [&](const std::string& a) { return ical::same_address(a, cua); });
}

ical::limits itip_limits(const options& o) {
    ical::limits lim;
    lim.max_size = static_cast<std::size_t>(std::min<std::uint64_t>(o.max_resource_size, 1u << 20));
    return lim;
}

inbound_outcome refused(std::string why) { return {false, std::move(why)}; }

inbound_outcome mail_reply(pqxx::work& tx, const inbound_message& m, const calendar_object& msg, const options& o) {
    const auto ix = ical::index(msg);
    if (ix.attendees.size() != 1) return refused("not_one_attendee");
    const std::string attendee = ix.attendees.front().address;
    if (!sent_by(m, attendee)) return refused("sender_mismatch");
    if (m.via != "submission" && store::find_user(tx, m.org_id, attendee)) return refused("internal_attendee_by_mail");
    auto loc = store::find_by_uid(tx, m.account_id, msg.uid());
    if (!loc) return refused("unknown_uid");
    auto copy = calendar_object::parse(loc->obj.data);
    if (!copy) return refused("unreadable_copy");
    const auto cix = ical::index(*copy);
    if (cix.organizer.empty() || !is_account_address(store::user_addresses(tx, m.account_id), cix.organizer))
        return refused("not_organizer");
    const std::string key = lower_text(attendee);
    std::optional<ical::utc_time> last;
    auto stamp = tx.exec_params("SELECT dtstamp FROM cal.itip_reply_stamps WHERE account_id = $1 AND uid = $2 AND attendee = $3",
                                m.account_id, msg.uid(), key);
    if (!stamp.empty()) last = stamp[0][0].as<std::int64_t>();
    auto applied = ical::apply_reply(*copy, m.itip, last, itip_limits(o));
    if (!applied) {
        if (is(applied.error(), errc::not_found)) return refused("not_invited");
        if (is(applied.error(), errc::conflict)) return refused("outdated");
        return refused("malformed_reply");
    }
    put_inbox(tx, m.account_id, m.org_id, msg);
    if (applied->dtstamp > 0)
        tx.exec_params("INSERT INTO cal.itip_reply_stamps (account_id, uid, attendee, dtstamp) VALUES ($1, $2, $3, $4) "
                       "ON CONFLICT (account_id, uid, attendee) DO UPDATE SET dtstamp = "
                       "greatest(cal.itip_reply_stamps.dtstamp, EXCLUDED.dtstamp)",
                       m.account_id, msg.uid(), key, static_cast<std::int64_t>(applied->dtstamp));
    if (!applied->changed) return {false, "unchanged"};
    const std::string data = copy->to_string();
    auto v = validate_body(data, true, loc->coll, o);
    if (v.status) return refused("invalid_result");
    // The organizer's Schedule-Tag stays (RFC 6638 3.2.10); the ETag and the collection's
    // sync token change, so clients see the answer.
    store::put_object(tx, loc->coll.id, loc->obj.name, v.uid, v.component, content_etag(data), data, v.times);
    return {true, "applied"};
}

// organizer_checks - REQUEST/CANCEL: sent by the ORGANIZER, an organizer outside the
// organisation, the account invited; the address it is invited under.
std::variant<inbound_outcome, store::calendar_user> organizer_checks(pqxx::work& tx, const inbound_message& m,
                                                                     const calendar_object& msg) {
    const auto ix = ical::index(msg);
    if (ix.organizer.empty()) return refused("no_organizer");
    if (!sent_by(m, ix.organizer)) return refused("sender_mismatch");
    // Users here schedule through CalDAV (their invitations are delivered directly).
    if (store::find_user(tx, m.org_id, ix.organizer)) return refused("internal_organizer");
    const auto own = store::user_addresses(tx, m.account_id);
    std::optional<std::string> invited;
    for (const auto& a : ical::scheduled_attendees(msg))
        if (is_account_address(own, a)) {
            invited = a;
            break;
        }
    if (!invited) return refused("not_attendee");
    auto u = store::find_user(tx, m.org_id, *invited);
    if (!u || u->account_id != m.account_id) return refused("not_attendee");
    if (store::find_resource(tx, m.account_id)) return refused("resource_by_mail");
    if (auto existing = store::find_by_uid(tx, m.account_id, msg.uid())) {
        auto old = calendar_object::parse(existing->obj.data);
        if (!old) return refused("unreadable_copy");
        const auto oix = ical::index(*old);
        if (!ical::same_address(oix.organizer, ix.organizer)) return refused("organizer_mismatch");
    }
    return *u;
}

inbound_outcome mail_request(pqxx::work& tx, const inbound_message& m, const calendar_object& msg, const options& o) {
    auto checked = organizer_checks(tx, m, msg);
    if (auto* no = std::get_if<inbound_outcome>(&checked)) return *no;
    const auto& u = std::get<store::calendar_user>(checked);
    if (auto existing = store::find_by_uid(tx, m.account_id, msg.uid()))
        if (auto old = calendar_object::parse(existing->obj.data))
            if (ical::index(msg).sequence < ical::index(*old).sequence) return refused("outdated");
    std::string invited;
    const auto own = store::user_addresses(tx, m.account_id);
    for (const auto& a : ical::scheduled_attendees(msg))
        if (is_account_address(own, a)) {
            invited = a;
            break;
        }
    // As an invitation from inside: the recipient's VALARMs are the recipient's business,
    // scheduling parameters never travel in iTIP (RFC 6638 7.1-7.3).
    ical::itip_message im{invited, "REQUEST", m.itip};
    auto d = deliver_request(tx, m.org_id, u, invited, im, o);
    if (d.status != "1.2") return refused("not_stored_" + d.status);
    return {true, "applied"};
}

inbound_outcome mail_cancel(pqxx::work& tx, const inbound_message& m, const calendar_object& msg, const options& o) {
    auto checked = organizer_checks(tx, m, msg);
    if (auto* no = std::get_if<inbound_outcome>(&checked)) return *no;
    auto loc = store::find_by_uid(tx, m.account_id, msg.uid());
    if (!loc) return refused("unknown_uid");
    auto copy = calendar_object::parse(loc->obj.data);
    if (!copy) return refused("unreadable_copy");
    auto changed = ical::apply_cancel(*copy, m.itip, itip_limits(o));
    if (!changed) return refused(is(changed.error(), errc::conflict) ? "outdated" : "malformed_cancel");
    put_inbox(tx, m.account_id, m.org_id, msg);
    const std::string data = copy->to_string();
    auto v = validate_body(data, true, loc->coll, o);
    if (v.status) return refused("invalid_result");
    store::put_object(tx, loc->coll.id, loc->obj.name, v.uid, v.component, content_etag(data), data, v.times);
    return {true, "applied"};
}

}  // namespace

inbound_outcome apply_inbound(pqxx::work& tx, const inbound_message& m, const options& o) {
    // RFC 7489 / RFC 7208: a sender domain that says the mail is not from it. (A message
    // with no verdict was not checked: smtp.inbound_auth "off", or authenticated submission.)
    if (m.dmarc && *m.dmarc == "fail") return refused("dmarc_fail");
    if (m.spf && *m.spf == "fail") return refused("spf_fail");
    auto msg = calendar_object::parse(m.itip, itip_limits(o));
    if (!msg) return refused("malformed");
    if (ical::method_of(*msg) != m.method) return refused("method_mismatch");
    if (msg->kind() != ical::component_kind::vevent && msg->kind() != ical::component_kind::vtodo)
        return refused("unsupported_component");
    if (m.method == "REPLY") return mail_reply(tx, m, *msg, o);
    if (m.method == "REQUEST") return mail_request(tx, m, *msg, o);
    if (m.method == "CANCEL") return mail_cancel(tx, m, *msg, o);
    return refused("unsupported_method");
}

}  // namespace polder::caldav::sched
