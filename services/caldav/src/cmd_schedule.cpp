// cmd_schedule.cpp - POST to the caller's schedule outbox, and the principal search
// REPORTs clients use to find people and rooms.
//
// Outbox: a free/busy request
// (VFREEBUSY, METHOD:REQUEST) for calendar users of the organisation, answered at once
// with one CALDAV:response per recipient holding its VFREEBUSY reply. Other iTIP
// messages are not taken here: with implicit scheduling (RFC 6638 3.2) invitations,
// replies and cancellations follow from PUT and DELETE.
//
// SECURITY: only the outbox's owner POSTs (the service's owner check); the ORGANIZER
// must be one of the caller's addresses (CALDAV:organizer-allowed); recipients are
// looked up in the caller's organisation only - anyone else is 3.7 "invalid calendar
// user", so no free/busy leaves the tenant; at most max_recipients per request, the body
// bounded by max_xml_bytes, the range by max_range_days; busy time reveals no summaries.
// principal-property-search (on /dav/principals/ or the root) matches displayname,
// calendar-user-address-set and calendar-user-type case-insensitively as substrings
// over the organisation's users, rooms and equipment (test="allof" by default).
// Principal search answers only those properties of other principals, never their homes.
// STANDARDS: RFC 6638 5 (free/busy POST, schedule-response, request-status), 3.2.3,
// RFC 5546 3.3.2 (VFREEBUSY REQUEST/REPLY), RFC 4791 7.10 (busy time rules), RFC 3744
// 9.4 (principal-property-search), 9.5 (principal-search-property-set), RFC 6638 2.4.2.
#include "service.hpp"

#include "polder/http/server.hpp"
#include "polder/ical/freebusy.hpp"
#include "polder/ical/itip.hpp"

#include <algorithm>
#include <ctime>

namespace polder::caldav {

using http::field;
using http::status;

namespace {

constexpr std::size_t max_recipients = 100;
constexpr std::int64_t max_range_days = 400;

bool is_calendar_type(std::string_view value) {
    auto semi = value.find(';');
    auto main = lower(value.substr(0, semi));
    while (!main.empty() && (main.back() == ' ' || main.back() == '\t')) main.pop_back();
    return main == "text/calendar";
}

}  // namespace

awaitable<http::response> service::cmd_outbox(ctx& c) {
    if (!is_calendar_type(c.req.header(field::content_type))) co_return dav_error(403, cal("supported-calendar-data"));
    if (c.req.content_length() && *c.req.content_length() > opts_.max_xml_bytes) co_return plain(413, "request too large");
    auto body = co_await c.req.read_body(opts_.max_xml_bytes);
    if (!body) co_return plain(static_cast<unsigned>(http::status_for_body_error(body.error())), "request body could not be read");
    auto request = ical::parse_freebusy_request(*body);
    if (!request) co_return dav_error(400, cal("valid-scheduling-message"));
    if (request->attendees.size() > max_recipients) co_return dav_error(403, cal("max-attendees-per-instance"));
    if (*request->range.end - *request->range.start > max_range_days * 86400)
        co_return dav_error(403, cal("valid-scheduling-message"));

    auto out = co_await pool_.transact([&](pqxx::work& tx) -> std::optional<std::string> {
        const auto mine = store::user_addresses(tx, c.who.account_id);
        if (std::none_of(mine.begin(), mine.end(),
                         [&](const std::string& a) { return ical::same_address(a, request->organizer); }))
            return std::nullopt;
        std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<C:schedule-response xmlns:D=\"DAV:\" xmlns:C=\"" +
                        std::string(caldav_ns) + "\">";
        for (const auto& who : request->attendees) {
            x += "<C:response><C:recipient>" + dav::href_element(who) + "</C:recipient>";
            auto u = store::find_user(tx, c.who.org_id, who);
            if (!u) {
                x += "<C:request-status>3.7;Invalid calendar user</C:request-status></C:response>";
                continue;
            }
            std::vector<ical::calendar_object> parsed;
            for (const auto& data : store::busy_objects(tx, u->account_id, *request->range.start, *request->range.end))
                if (auto p = ical::calendar_object::parse(data)) parsed.push_back(std::move(*p));
            std::vector<const ical::calendar_object*> ptrs;
            for (const auto& p : parsed) ptrs.push_back(&p);
            ical::freebusy_options fo;
            for (const auto& a : store::user_addresses(tx, u->account_id)) fo.owner_addresses.push_back("mailto:" + a);
            auto periods = ical::busy_periods(ptrs, request->range, nullptr, fo);
            ical::vfreebusy_header h;
            h.reply = true;
            h.uid = request->uid;
            h.organizer = request->organizer;
            h.attendee = who;
            h.dtstamp = static_cast<ical::utc_time>(std::time(nullptr));
            std::optional<std::string> text;
            if (periods)
                if (auto t = ical::freebusy_calendar(*periods, request->range, h)) text = std::move(*t);
            if (!text) {
                x += "<C:request-status>5.1;Service unavailable</C:request-status></C:response>";
                continue;
            }
            x += "<C:request-status>2.0;Success</C:request-status><C:calendar-data>" + dav::escape_text(*text) +
                 "</C:calendar-data></C:response>";
        }
        return x + "</C:schedule-response>\n";
    });
    if (!out) co_return dav_error(403, cal("organizer-allowed"));
    co_return xml_response(200, std::move(*out));
}

namespace {

constexpr std::size_t max_search_results = 1000;

std::string fold(std::string_view s) {
    std::string out(s);
    for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

struct search_term {
    std::vector<dav::qname> props;
    std::string match;   // folded
};

bool principal_matches(const store::principal_row& p, const search_term& t) {
    for (const auto& n : t.props) {
        if (n == dav::dav("displayname") && fold(p.display_name.empty() ? p.address : p.display_name).find(t.match) != std::string::npos)
            return true;
        if (n == cal("calendar-user-type") && fold(p.user_type).find(t.match) != std::string::npos) return true;
        if (n == cal("calendar-user-address-set"))
            for (const auto& a : p.addresses)
                if (("mailto:" + a).find(t.match) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

awaitable<http::response> service::cmd_principal_report(ctx& c, const dav::xml_element& root) {
    if (c.target.where != area::principals && c.target.where != area::root)
        co_return dav_error(403, dav::dav("supported-report"));
    if (root.is(dav::dav_ns, "principal-search-property-set")) {
        auto item = [](const std::string& prop, const char* what) {
            return "<D:principal-search-property><D:prop>" + prop + "</D:prop><D:description xml:lang=\"en\">" +
                   std::string(what) + "</D:description></D:principal-search-property>";
        };
        std::string x = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:principal-search-property-set xmlns:D=\"DAV:\" "
                        "xmlns:C=\"" + std::string(caldav_ns) + "\">" +
                        item("<D:displayname/>", "Name") + item("<C:calendar-user-address-set/>", "E-mail address") +
                        item("<C:calendar-user-type/>", "Type (INDIVIDUAL, ROOM, RESOURCE)") +
                        "</D:principal-search-property-set>\n";
        co_return xml_response(200, std::move(x));
    }
    bool anyof = false;
    for (const auto& a : root.attributes)
        if (a.name.ns.empty() && a.name.local == "test") anyof = a.value == "anyof";
    std::vector<search_term> terms;
    std::vector<dav::qname> wanted;
    for (const auto* e : root.elements()) {
        if (e->is(dav::dav_ns, "property-search")) {
            search_term t;
            const auto* prop = e->child(dav::dav_ns, "prop");
            const auto* match = e->child(dav::dav_ns, "match");
            if (!prop || !match) co_return plain(400, "property-search needs DAV:prop and DAV:match");
            for (const auto* p : prop->elements()) t.props.push_back(p->name);
            t.match = fold(match->text_content());
            if (t.match.size() > 256 || terms.size() >= 20) co_return plain(400, "search too large");
            terms.push_back(std::move(t));
        } else if (e->is(dav::dav_ns, "prop")) {
            for (const auto* p : e->elements()) wanted.push_back(p->name);
        }
    }
    if (terms.empty()) co_return plain(400, "principal-property-search needs a DAV:property-search");
    auto rows = co_await pool_.transact([&](pqxx::work& tx) { return store::org_principals(tx, c.who.org_id); });
    dav::multistatus ms;
    std::size_t n = 0;
    for (const auto& p : rows) {
        bool ok = !anyof;
        for (const auto& t : terms) {
            const bool m = principal_matches(p, t);
            ok = anyof ? (ok || m) : (ok && m);
        }
        if (!ok) continue;
        if (++n > max_search_results) {
            ms.add_status(href(c.target), 507, dav::dav("number-of-matches-within-limits"));
            break;
        }
        dav::propstat_group found{200, {}, {}}, missing{404, {}, {}};
        for (const auto& w : wanted) {
            std::optional<std::string> v;
            if (w == dav::dav("displayname")) v = dav::escape_text(p.display_name.empty() ? p.address : p.display_name);
            else if (w == dav::dav("principal-URL")) v = dav::href_element(principal_href(p.address));
            else if (w == cal("calendar-user-type")) v = p.user_type;
            else if (w == cal("calendar-user-address-set")) {
                std::string x;
                for (const auto& a : p.addresses) x += dav::href_element("mailto:" + a);
                v = x + dav::href_element(principal_href(p.address));
            } else if (w == dav::dav("resourcetype")) v = "<D:principal/>";
            if (v) found.props.push_back({w, std::move(*v)});
            else missing.props.push_back({w, ""});
        }
        ms.add_propstat(principal_href(p.address), {found, missing});
    }
    co_return xml_response(207, ms.finish());
}

}  // namespace polder::caldav
