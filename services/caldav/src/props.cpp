// props.cpp - resolving URLs to resources and computing their properties: the live
// properties of the root, principals, homes, calendars, address books and objects, dead
// properties of collections, and the generated organisation directory address book.
//
// SECURITY: load() only ever looks in the caller's own account (the service checked the
// owner segment; the account id scopes every query); the directory book is limited to the
// caller's organisation. Every text value is XML-escaped; dead property values were
// stored as self-contained XML made by polder::dav.
// STANDARDS: RFC 4918 15 (DAV: properties), RFC 4791 5.2 (calendar collection
// properties), 6.2 (calendar-home-set), 9.6 (calendar-data), RFC 6352 6.2 (address book
// properties), 7.1.1 (addressbook-home-set), 10.4 (address-data), RFC 5397
// (current-user-principal), RFC 3744 5.4 (current-user-privilege-set), 4.2
// (principal-URL), 5.8 (principal-collection-set), RFC 3253 3.1.5 (supported-report-set),
// RFC 6578 4 (sync-token), RFC 6638 2.4.1 / 2.4.2 (calendar-user-address-set,
// calendar-user-type), Apple calendar-color and calendarserver getctag (de-facto).
#include "service.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/http/date.hpp"
#include "polder/ical/vcard.hpp"

#include <algorithm>
#include <ctime>

namespace polder::caldav {

namespace {

std::string ns_el(std::string_view prefix, std::string_view ns, std::string_view local, std::string_view inner = {}) {
    std::string x = "<" + std::string(prefix) + ":" + std::string(local) + " xmlns:" + std::string(prefix) + "=\"" +
                    std::string(ns) + "\"";
    if (inner.empty()) return x + "/>";
    return x + ">" + std::string(inner) + "</" + std::string(prefix) + ":" + std::string(local) + ">";
}

std::string c_el(std::string_view local, std::string_view inner = {}) { return ns_el("C", caldav_ns, local, inner); }
std::string card_el(std::string_view local, std::string_view inner = {}) {
    return ns_el("CR", carddav_ns, local, inner);
}

std::string privileges(bool writable, bool calendar) {
    std::string x;
    auto add = [&](const std::string& inner) { x += "<D:privilege>" + inner + "</D:privilege>"; };
    add("<D:read/>");
    add("<D:read-current-user-privilege-set/>");
    if (calendar) add(c_el("read-free-busy"));
    if (writable) {
        add("<D:all/>");
        add("<D:write/>");
        add("<D:write-properties/>");
        add("<D:write-content/>");
        add("<D:bind/>");
        add("<D:unbind/>");
    }
    return x;
}

const dav::qname q_calendar_color{std::string(apple_ical_ns), "calendar-color"};
const dav::qname q_calendar_order{std::string(apple_ical_ns), "calendar-order"};
const dav::qname q_getctag{std::string(calendarserver_ns), "getctag"};

std::vector<dav::qname> known_props(const resource& r) {
    using dav::dav;
    std::vector<dav::qname> v = {dav("resourcetype"), dav("current-user-principal"),
                                 dav("current-user-privilege-set"), dav("supported-report-set"),
                                 dav("principal-collection-set")};
    switch (r.path.where) {
    case area::root:
    case area::principals: break;
    case area::principal:
        for (auto n : {dav("displayname"), dav("principal-URL"), dav("owner"), cal("calendar-home-set"),
                       cal("calendar-user-address-set"), cal("calendar-user-type"), card("addressbook-home-set"),
                       card("principal-address"), cal("schedule-inbox-URL"), cal("schedule-outbox-URL")})
            v.push_back(n);
        break;
    case area::cal_home:
    case area::card_home:
        v.push_back(dav("owner"));
        v.push_back(dav("displayname"));
        break;
    case area::calendar:
        for (auto n : {dav("owner"), dav("displayname"), dav("sync-token"), dav("getetag"), dav("creationdate"),
                       cal("calendar-description"), cal("calendar-timezone"), cal("supported-calendar-component-set"),
                       cal("supported-calendar-data"), cal("max-resource-size"), cal("supported-collation-set"),
                       q_calendar_color, q_getctag})
            v.push_back(n);
        break;
    case area::addressbook:
        for (auto n : {dav("owner"), dav("displayname"), dav("sync-token"), dav("getetag"),
                       card("addressbook-description"), card("supported-address-data"), card("max-resource-size"),
                       card("supported-collation-set"), q_getctag})
            v.push_back(n);
        break;
    case area::cal_object:
    case area::card_object:
        for (auto n : {dav("owner"), dav("getetag"), dav("getcontenttype"), dav("getcontentlength"),
                       dav("getlastmodified"), dav("creationdate")})
            v.push_back(n);
        break;
    }
    return v;
}

bool is_inbox(const resource& r) {
    return r.path.where == area::calendar && r.coll && !r.shared && r.coll->name == store::inbox_name;
}

// sharing_type - CalendarServer's resourcetype marks: a bound collection is CS:shared,
// an owner's collection shared with anyone CS:shared-owner.
std::string sharing_type(const resource& r) {
    if (r.shared) return ns_el("CS", calendarserver_ns, "shared");
    if (!r.sharees.empty()) return ns_el("CS", calendarserver_ns, "shared-owner");
    return {};
}

// invite_value - CS:invite: the owner (organizer) and every sharee with its access.
std::string invite_value(const resource& r, const ctx& c) {
    auto cs = [](std::string_view local, std::string_view inner = {}) {
        return ns_el("CS", calendarserver_ns, local, inner);
    };
    const std::string owner = r.shared ? r.owner : c.own;
    const std::string owner_name = r.shared ? r.owner_name : c.who.display_name;
    std::string x = cs("organizer", dav::href_element("mailto:" + owner) +
                                        (owner_name.empty() ? std::string() : cs("common-name", dav::escape_text(owner_name))));
    for (const auto& s : r.sharees) {
        const std::string h = s.address.empty() ? "urn:x-polder:group:" + s.name : "mailto:" + s.address;
        x += cs("user", dav::href_element(h) + (s.name.empty() ? std::string() : cs("common-name", dav::escape_text(s.name))) +
                            cs("invite-accepted") + cs("access", cs(s.writable ? "read-write" : "read")));
    }
    return x;
}

std::string collations() {
    return c_el("supported-collation", "i;ascii-casemap") + c_el("supported-collation", "i;octet") +
           c_el("supported-collation", "i;unicode-casemap");
}

std::optional<std::string> live_value(const resource& r, const dav::qname& n, const prop_context& pc) {
    const auto& c = pc.c;
    const bool calendar_side = r.path.calendar_side();
    const std::string principal = principal_href(c.own);
    if (n.ns == dav::dav_ns) {
        const auto& l = n.local;
        if (l == "current-user-principal") return dav::href_element(principal);
        if (l == "principal-collection-set") return dav::href_element(std::string(root_prefix) + "/principals/");
        if (l == "current-user-privilege-set") {
            const bool writable = !r.directory && r.writable && r.path.where != area::root &&
                                  r.path.where != area::principals && r.path.where != area::principal;
            if (r.outbox) return privileges(false, true) + "<D:privilege>" + c_el("schedule-send") + "</D:privilege>";
            if (is_inbox(r))
                return privileges(false, true) + "<D:privilege><D:unbind/></D:privilege><D:privilege>" +
                       c_el("schedule-deliver") + "</D:privilege>";
            return privileges(writable, calendar_side);
        }
        if (l == "resourcetype") {
            switch (r.path.where) {
            case area::root:
            case area::principals:
            case area::cal_home:
            case area::card_home: return std::string("<D:collection/>");
            case area::principal: return std::string("<D:principal/>");
            case area::calendar:
                if (r.outbox) return "<D:collection/>" + c_el("schedule-outbox");
                if (is_inbox(r)) return "<D:collection/>" + c_el("schedule-inbox");
                return "<D:collection/>" + c_el("calendar") + sharing_type(r);
            case area::addressbook: return "<D:collection/>" + card_el("addressbook") + sharing_type(r);
            default: return std::string();
            }
        }
        if (l == "supported-report-set") {
            auto rep = [](const std::string& inner) {
                return "<D:supported-report><D:report>" + inner + "</D:report></D:supported-report>";
            };
            if (r.outbox) return std::string();
            switch (r.path.where) {
            case area::calendar:
            case area::cal_object:
                return rep(c_el("calendar-query")) + rep(c_el("calendar-multiget")) + rep(c_el("free-busy-query")) +
                       (r.path.where == area::calendar ? rep("<D:sync-collection/>") : std::string());
            case area::addressbook:
            case area::card_object:
                return rep(card_el("addressbook-query")) + rep(card_el("addressbook-multiget")) +
                       (r.path.where == area::addressbook ? rep("<D:sync-collection/>") : std::string());
            default: return std::string();
            }
        }
        if (l == "owner" && r.path.where != area::root && r.path.where != area::principals)
            return dav::href_element(r.shared ? principal_href(r.owner) : principal);
        if (l == "displayname") {
            if (r.path.where == area::principal)
                return dav::escape_text(c.who.display_name.empty() ? c.who.address : c.who.display_name);
            if (r.path.is_home()) return dav::escape_text(calendar_side ? "Calendars" : "Address books");
            if (r.outbox) return dav::escape_text("Outbox");
            if (r.directory && r.path.where == area::addressbook) return dav::escape_text("Organisation directory");
            if (r.path.is_collection() && r.coll) {
                if (r.coll->displayname.empty()) return std::nullopt;
                return dav::escape_text(r.coll->displayname);
            }
            return std::nullopt;
        }
        if (l == "principal-URL" && r.path.where == area::principal) return dav::href_element(principal);
        if (r.path.is_collection() && (r.coll || r.directory)) {
            if (l == "sync-token") {
                if (r.directory) return dav::escape_text("urn:x-polder:sync:directory-" + std::to_string(r.fingerprint));
                return dav::escape_text(sync_token(r.coll->id, r.coll->modseq));
            }
            if (l == "getetag") {
                if (r.directory) return dav::escape_text("\"dir-" + std::to_string(r.fingerprint) + "\"");
                return dav::escape_text("\"c" + std::to_string(r.coll->id) + "-" + std::to_string(r.coll->modseq) + "\"");
            }
            if (l == "creationdate" && r.coll) return http::format_rfc3339(r.coll->created);
        }
        if (r.path.is_object() && r.obj) {
            if (l == "getetag") return dav::escape_text(etag_of(*r.obj));
            if (l == "getcontenttype")
                return dav::escape_text(calendar_side ? "text/calendar; charset=utf-8; component=" + lower(r.obj->component)
                                                      : std::string("text/vcard; charset=utf-8"));
            if (l == "getcontentlength") return std::to_string(r.obj->size);
            if (l == "getlastmodified") return http::format_http_date(r.obj->modified);
            if (l == "creationdate") return http::format_rfc3339(r.obj->modified);
        }
        return std::nullopt;
    }
    if (n.ns == caldav_ns) {
        const auto& l = n.local;
        if (r.path.where == area::principal) {
            if (l == "calendar-home-set") return dav::href_element(home_href(c.own, true));
            if (l == "calendar-user-address-set") {
                std::string x;
                for (const auto& a : r.addresses.empty() ? std::vector<std::string>{c.own} : r.addresses)
                    x += dav::href_element("mailto:" + a);
                return x + dav::href_element(principal);
            }
            if (l == "calendar-user-type") return r.user_type;
            if (l == "schedule-inbox-URL") return dav::href_element(collection_href(c.own, true, store::inbox_name));
            if (l == "schedule-outbox-URL") return dav::href_element(collection_href(c.own, true, store::outbox_name));
            return std::nullopt;
        }
        if (l == "schedule-tag" && r.path.where == area::cal_object && r.obj && !r.obj->schedule_tag.empty())
            return dav::escape_text("\"" + r.obj->schedule_tag + "\"");
        if (l == "schedule-default-calendar-URL" && is_inbox(r))
            return dav::href_element(collection_href(c.own, true, "agenda"));
        if (r.path.where != area::calendar || !r.coll) return std::nullopt;
        if (l == "calendar-description")
            return r.coll->description.empty() ? std::nullopt : std::optional(dav::escape_text(r.coll->description));
        if (l == "calendar-timezone")
            return r.coll->timezone.empty() ? std::nullopt : std::optional(dav::escape_text(r.coll->timezone));
        if (l == "supported-calendar-component-set") {
            std::string x;
            for (const auto& comp : r.coll->components)
                x += "<C:comp xmlns:C=\"" + std::string(caldav_ns) + "\" name=\"" + dav::escape_attribute(comp) + "\"/>";
            return x;
        }
        if (l == "supported-calendar-data")
            return "<C:calendar-data xmlns:C=\"" + std::string(caldav_ns) +
                   "\" content-type=\"text/calendar\" version=\"2.0\"/>";
        if (l == "max-resource-size") return std::to_string(pc.opts.max_resource_size);
        if (l == "supported-collation-set") return collations();
        return std::nullopt;
    }
    if (n.ns == carddav_ns) {
        const auto& l = n.local;
        if (r.path.where == area::principal) {
            if (l == "addressbook-home-set") return dav::href_element(home_href(c.own, false));
            return std::nullopt;
        }
        if (r.path.where != area::addressbook) return std::nullopt;
        if (l == "addressbook-description") {
            if (r.directory) return dav::escape_text("Everyone in the organisation (read-only)");
            return r.coll->description.empty() ? std::nullopt : std::optional(dav::escape_text(r.coll->description));
        }
        if (l == "supported-address-data") {
            const std::string open = "<CR:address-data-type xmlns:CR=\"" + std::string(carddav_ns) + "\"";
            return open + " content-type=\"text/vcard\" version=\"3.0\"/>" + open +
                   " content-type=\"text/vcard\" version=\"4.0\"/>";
        }
        if (l == "max-resource-size") return std::to_string(pc.opts.max_resource_size);
        if (l == "supported-collation-set") {
            return card_el("supported-collation", "i;ascii-casemap") + card_el("supported-collation", "i;octet") +
                   card_el("supported-collation", "i;unicode-casemap");
        }
        return std::nullopt;
    }
    if (n == q_calendar_color && r.path.where == area::calendar && r.coll && !r.coll->color.empty())
        return dav::escape_text(r.coll->color);
    if (n.ns == calendarserver_ns && r.path.is_collection() && r.coll && !r.directory) {
        if (n.local == "invite" && (r.shared || !r.sharees.empty())) return invite_value(r, c);
        if (n.local == "shared-url" && r.shared)
            return dav::href_element(collection_href(r.owner, calendar_side, r.coll->name));
        if (n.local == "allowed-sharing-modes" && !r.shared)
            return ns_el("CS", calendarserver_ns, "can-be-shared");
    }
    if (n == q_getctag && r.path.is_collection() && (r.coll || r.directory)) {
        if (r.directory) return std::to_string(r.fingerprint);
        return std::to_string(r.coll->modseq);
    }
    return std::nullopt;
}

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
    for (unsigned char ch : s) {
        h ^= ch;
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace

std::string etag_of(const store::object& o) { return "\"" + o.etag + "\""; }

std::string sync_token(std::int64_t collection_id, std::int64_t modseq) {
    return "urn:x-polder:sync:" + std::to_string(collection_id) + "-" + std::to_string(modseq);
}

std::optional<std::int64_t> parse_sync_token(std::string_view token, std::int64_t collection_id) {
    const std::string prefix = "urn:x-polder:sync:" + std::to_string(collection_id) + "-";
    if (token.substr(0, prefix.size()) != prefix) return std::nullopt;
    auto rest = token.substr(prefix.size());
    if (rest.empty() || rest.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char ch : rest) {
        if (ch < '0' || ch > '9') return std::nullopt;
        v = v * 10 + (ch - '0');
    }
    return v;
}

std::vector<store::object> directory_cards(pqxx::work& tx, std::int64_t org_id, std::int64_t& fingerprint) {
    const auto rows = store::directory(tx, org_id);
    const auto org = store::org_name(tx, org_id);
    std::vector<store::object> out;
    std::uint64_t h = 1469598103934665603ull;
    for (const auto& d : rows) {
        ical::directory_entry e;
        e.uid = (d.group ? "polder-group-" : "polder-account-") + std::to_string(d.id);
        e.display_name = d.display_name.empty() ? (d.address.empty() ? std::string("group") : d.address) : d.display_name;
        e.email = d.address;
        e.aliases = d.aliases;
        e.organisation = org;
        e.is_group = d.group;
        for (auto m : d.members) e.member_uids.push_back("polder-account-" + std::to_string(m));
        e.revision = d.changed;
        if (!d.group && !d.display_name.empty()) {
            const auto space = d.display_name.rfind(' ');
            if (space != std::string::npos) {
                e.given_name = d.display_name.substr(0, space);
                e.family_name = d.display_name.substr(space + 1);
            } else {
                e.family_name = d.display_name;
            }
        }
        store::object o;
        o.id = d.id;
        o.name = e.uid + ".vcf";
        o.uid = e.uid;
        o.component = "VCARD";
        o.data = ical::directory_vcard(e, ical::vcard_version::v3);
        o.size = static_cast<std::int64_t>(o.data.size());
        const auto ch = fnv1a(o.data);
        o.etag = "g" + std::to_string(ch & 0x7fffffffffffffffull);
        o.modified = d.changed;
        h = fnv1a(o.data, h);
        out.push_back(std::move(o));
    }
    fingerprint = static_cast<std::int64_t>(h & 0x7fffffffffffffffull);
    return out;
}

std::optional<store::access> open_collection(pqxx::work& tx, const ctx& c, std::string_view kind,
                                             std::string_view name) {
    if (auto id = shared_id(name)) return store::shared_collection(tx, c.who.account_id, c.who.org_id, kind, *id);
    auto coll = store::find_collection(tx, c.who.account_id, kind, name);
    if (!coll) return std::nullopt;
    store::access a;
    a.coll = std::move(*coll);
    a.owner = c.own;
    a.owner_name = c.who.display_name;
    return a;
}

std::optional<resource> load(pqxx::work& tx, const ctx& c, const dav_path& p, bool with_data) {
    resource r;
    r.path = p;
    if (p.where == area::principal) {
        r.addresses = store::user_addresses(tx, c.who.account_id);
        if (auto res = store::find_resource(tx, c.who.account_id)) r.user_type = res->kind == "room" ? "ROOM" : "RESOURCE";
        return r;
    }
    if (p.where == area::calendar && p.collection == store::outbox_name) {
        r.outbox = true;
        r.writable = false;
        r.owner = c.own;
        return r;
    }
    if (p.where == area::cal_object && p.collection == store::outbox_name) return std::nullopt;
    if (!p.is_collection() && !p.is_object()) return r;
    if (p.where == area::addressbook || p.where == area::card_object) {
        if (p.collection == directory_book) {
            r.directory = true;
            auto cards = directory_cards(tx, c.who.org_id, r.fingerprint);
            if (p.where == area::card_object) {
                auto it = std::find_if(cards.begin(), cards.end(), [&](const store::object& o) { return o.name == p.object; });
                if (it == cards.end()) return std::nullopt;
                r.obj = std::move(*it);
            }
            return r;
        }
    }
    auto acc = open_collection(tx, c, p.kind(), p.collection);
    if (!acc) return std::nullopt;
    r.coll = std::move(acc->coll);
    r.shared = acc->shared;
    r.writable = acc->writable;
    r.owner = std::move(acc->owner);
    r.owner_name = std::move(acc->owner_name);
    if (p.is_collection()) r.sharees = store::shares_of(tx, r.coll->id);
    if (p.is_object()) {
        auto o = store::find_object(tx, r.coll->id, p.object, with_data);
        if (!o) return std::nullopt;
        r.obj = std::move(*o);
    }
    return r;
}

std::vector<dav::propstat_group> propstats(const resource& r, const dav::propfind_request& req,
                                           const std::vector<store::dead_property>& dead, const prop_context& pc,
                                           const std::vector<dav::property>& computed) {
    dav::propstat_group found{200, {}, {}}, missing{404, {}, {}};
    auto dead_value = [&](const dav::qname& n) -> std::optional<std::string> {
        for (const auto& d : dead)
            if (d.ns == n.ns && d.local == n.local) return d.value_xml;
        return std::nullopt;
    };
    auto value = [&](const dav::qname& n) -> std::optional<std::string> {
        for (const auto& p : computed)
            if (p.name == n) return p.value_xml;
        if (auto v = live_value(r, n, pc)) return v;
        return dead_value(n);
    };
    if (req.kind == dav::propfind_kind::propname) {
        for (const auto& n : known_props(r))
            if (live_value(r, n, pc)) found.props.push_back({n, ""});
        for (const auto& d : dead) found.props.push_back({{d.ns, d.local}, ""});
        return {found};
    }
    if (req.kind == dav::propfind_kind::allprop) {
        std::vector<dav::qname> names = known_props(r);
        for (const auto& d : dead) names.push_back({d.ns, d.local});
        for (const auto& n : req.include) names.push_back(n);
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        for (const auto& n : names)
            if (auto v = value(n)) found.props.push_back({n, *v});
        return {found};
    }
    for (const auto& n : req.props) {
        if (auto v = value(n)) found.props.push_back({n, std::move(*v)});
        else missing.props.push_back({n, ""});
    }
    return {found, missing};
}

}  // namespace polder::caldav
