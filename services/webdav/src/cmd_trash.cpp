// cmd_trash.cpp - /dav/trash/: the signed-in account's own trash as a WebDAV collection,
// and /dav/trash/teams/<team>/ the trash of a team folder for the members of its group,
// so users restore what they deleted themselves, from any WebDAV client, as OneDrive's
// and SharePoint's recycle bins let them:
//   PROPFIND <trash>/ (Depth 0 or 1)   the entries, newest first, as members named
//                                      "<id>-<name>", with their original path,
//                                      deletion time and who deleted them
//   GET <trash>/                       a small HTML list
//   GET <trash>/<id>-<name>            a deleted file's content
//   MOVE <trash>/<id>-<name>           restore (Destination: a path in the same home or
//                                      team folder; missing folders are created; never
//                                      replaces)
//   DELETE <trash>/<id>-<name>         remove for good; DELETE <trash>/ empties it
// Everything else is 403.
//
// SECURITY: the trash's home is resolved like any URL (resolve_space): the caller's own
// home, or a team folder only for a member of its group; anything else is 404, so nobody
// reaches or probes another account's or team's trash. Entries are found by id AND home.
// A restore lands only in the same home or team folder, under the same path rules as any
// write (parse_destination_path), and is refused with 507 when it would exceed the quota.
// Names are escaped in XML and HTML; content is read by the blob id stored with the entry,
// never by request text.
// STANDARDS: RFC 4918 9.1 (PROPFIND), 9.6 (DELETE), 9.9 (MOVE), 10.3 (Destination),
// 10.6 (Overwrite), 15 (properties); RFC 9110 9.3.1 (GET); RFC 4331 (507).
#include "props.hpp"
#include "service.hpp"

#include "polder/auth/names.hpp"
#include "polder/dav/xml.hpp"
#include "polder/http/date.hpp"
#include "polder/http/uri.hpp"
#include "polder/log/log.hpp"


namespace polder::webdav {

using http::field;

namespace {

const dav::qname trash_original_path{"urn:x-polder:files", "original-path"};
const dav::qname trash_deleted_by{"urn:x-polder:files", "deleted-by"};
const dav::qname trash_id{"urn:x-polder:files", "trash-id"};

struct restore_refused {
    std::string why;
};

std::string member_name(const store::trash_entry& e) { return std::to_string(e.id) + "-" + name_of(e.original_path); }

// base: the trash's URL, ending in '/'.
std::string member_href(const std::string& base, const store::trash_entry& e) {
    return base + http::percent_encode_path(member_name(e)) + (e.collection ? "/" : "");
}

// Properties of the trash itself (entry == nullptr) or of one entry.
std::vector<dav::propstat_group> trash_props(const store::trash_entry* e, const std::string& display,
                                             const dav::propfind_request& request, const std::string& principal_href) {
    using dav::dav;
    std::vector<dav::qname> all{dav("resourcetype"), dav("displayname")};
    if (e) {
        all.push_back(dav("getlastmodified"));
        if (!e->collection) all.push_back(dav("getcontentlength"));
        all.insert(all.end(), {trash_original_path, trash_deleted_by, trash_id});
    }
    return virtual_propstats(request, all, [&](const dav::qname& q) -> std::optional<std::string> {
        if (q == dav("resourcetype")) return !e || e->collection ? std::string("<D:collection/>") : std::string();
        if (q == dav("displayname")) return dav::escape_text(e ? name_of(e->original_path) : display);
        if (q == dav("current-user-principal")) return dav::href_element(principal_href);
        if (!e) return std::nullopt;
        if (q == dav("getlastmodified")) return http::format_http_date(e->deleted);
        if (q == dav("getcontentlength") && !e->collection) return std::to_string(e->size);
        if (q == trash_original_path) return dav::escape_text("/" + e->original_path);
        if (q == trash_deleted_by) return dav::escape_text(e->deleted_by);
        if (q == trash_id) return std::to_string(e->id);
        return std::nullopt;
    });
}

}  // namespace

awaitable<http::response> service::cmd_trash(http::request& req, const auth::principal& who) {
    const std::string method(req.method_string());
    const bool get = method == "GET" || method == "HEAD";
    if (!get && method != "PROPFIND" && method != "MOVE" && method != "DELETE")
        co_return plain(403, "the trash is read-only: MOVE an entry out of it to restore it, DELETE it to remove it for good");
    const auto target = parse_trash_path(req.path());
    if (!target) co_return plain(404, "not found");
    if (target->root && method == "MOVE") co_return plain(403, "MOVE one entry of the trash at a time");

    // Whose trash: the own home's, or a team folder's for a member of its group.
    dav_path owner_path;
    owner_path.where = target->team.empty() ? area::files : area::teams;
    owner_path.address = target->team.empty() ? auth::to_lower_ascii(who.address) : target->team;
    auto found_space = co_await resolve_space(who, owner_path);
    if (!found_space) co_return plain(404, "not found");
    space& sp = *found_space;
    const std::string base = target->team.empty()
                                 ? std::string(trash_prefix)
                                 : std::string(trash_prefix) + "teams/" + http::percent_encode_path(target->team) + "/";
    const std::string display = target->team.empty() ? std::string("Trash") : "Trash of " + target->team;

    struct loaded {
        home h;
        std::vector<store::trash_entry> entries;
        std::optional<store::trash_item> item;
        std::shared_ptr<const std::string> held;   // a small file's bytes kept in PostgreSQL (schema 0302)
    };
    auto data = co_await pool_.transact([&](pqxx::work& tx) {
        loaded l;
        l.h = open_home(tx, who, sp);
        if (target->root) {
            if (method != "DELETE") l.entries = store::trash_of(tx, l.h.id);
            if (l.entries.size() > 10000) l.entries.resize(10000);
        } else {
            l.item = store::trash_item_of(tx, l.h.id, target->id);
            // A GET of a small file reads its bytes here, as cmd_get does, when they are
            // kept in PostgreSQL (whatever webdav.inline_max_bytes was when written).
            if (l.item && !l.item->entry.collection && method == "GET" &&
                static_cast<std::uint64_t>(l.item->entry.size) <= store::inline_limit)
                if (auto bytes = store::inline_content(tx, l.item->blob_id))
                    l.held = std::make_shared<const std::string>(std::move(*bytes));
        }
        return l;
    });
    // The name after the id must be the entry's: a URL names one entry, not any with its id.
    if (!target->root && (!data.item || name_of(data.item->entry.original_path) != target->name))
        co_return plain(404, "not found");
    const std::string principal_href = href(who.address, "", true);

    if (method == "DELETE") {
        const auto removed = co_await pool_.transact([&](pqxx::work& tx) {
            return store::purge_trash(tx, data.h.id, target->root ? 0 : target->id);
        });
        log::info("webdav.trash_purged",
                  {{"req", req.id()}, {"user", who.address}, {"space", sp.display}, {"entries", removed}});
        http::response r;
        r.code = http::status::no_content;
        co_return r;
    }

    if (method == "MOVE") {
        const auto& item = *data.item;
        path_error perr;
        auto to = parse_destination_path(req.header("Destination"), req.header(field::host), perr);
        if (!to) co_return plain(perr.status, perr.reason);
        std::optional<space> dsp;
        if (!to->listing) dsp = co_await resolve_space(who, *to);
        if (!dsp || dsp->url_root != sp.url_root)
            co_return plain(403, "a deleted item is restored into the folder it was deleted from (" + sp.url_root + "...)");
        if (to->path.empty()) co_return plain(403, "cannot restore onto the root");
        if (const auto overwrite = req.header("Overwrite"); !overwrite.empty() && !dav::parse_overwrite(overwrite))
            co_return plain(400, "Overwrite must be T or F");
        enum class outcome { restored, taken, full };
        outcome result;
        try {
            result = co_await pool_.transact([&](pqxx::work& tx) {
                const home h = open_home(tx, who, sp);
                if (h.quota_bytes && h.used_bytes + item.entry.size > *h.quota_bytes) return outcome::full;
                if (store::find(tx, h.id, to->path)) return outcome::taken;
                // A refusal may come after folders of the path were made: undo them.
                if (auto why = store::restore_trash(tx, h.id, item.entry.id, to->path); !why.empty())
                    throw restore_refused{std::move(why)};
                return outcome::restored;
            });
        } catch (const restore_refused& e) {
            // Gone meanwhile (restored or purged by another request): 404; a file where
            // a folder of the path should be: 409.
            co_return e.why.starts_with("no trash entry") ? plain(404, "not found") : plain(409, e.why);
        }
        switch (result) {
        case outcome::restored: break;
        case outcome::taken:
            // Never replaces: what is there now may be newer than what was deleted.
            co_return plain(412, "the destination exists; restore under another name");
        case outcome::full: co_return dav_error(507, dav::dav("quota-not-exceeded"));
        }
        log::info("webdav.trash_restored",
                  {{"req", req.id()}, {"user", who.address}, {"space", sp.display}, {"id", item.entry.id}, {"to", to->path}});
        http::response r;
        r.code = http::status::created;
        r.headers.set(field::location, sp.href(to->path, item.entry.collection));
        co_return r;
    }

    if (get) {
        if (target->root) {
            std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + dav::escape_text(display) + "</title></head><body>"
                               "<table>\n<tr><th>Name</th><th>Was at</th><th>Deleted</th><th>Size</th></tr>\n";
            for (const auto& e : data.entries)
                html += "<tr><td><a href=\"" + dav::escape_attribute(member_href(base, e)) + "\">" +
                        dav::escape_text(name_of(e.original_path)) + (e.collection ? "/" : "") + "</a></td><td>" +
                        dav::escape_text("/" + e.original_path) + "</td><td>" + http::format_http_date(e.deleted) +
                        "</td><td>" + std::to_string(e.size) + "</td></tr>\n";
            html += "</table></body></html>\n";
            co_return http::text_response(http::status::ok, std::move(html), "text/html; charset=utf-8");
        }
        const auto& item = *data.item;
        if (item.entry.collection)
            co_return plain(403, "a deleted folder: restore it with MOVE to read what it held");
        http::response r;
        r.code = http::status::ok;
        r.headers.set(field::content_type, item.content_type.empty() ? "application/octet-stream" : item.content_type);
        r.headers.set(field::last_modified, http::format_http_date(item.entry.deleted));
        const auto size = static_cast<std::uint64_t>(item.entry.size);
        r.content_length = size;
        if (method == "HEAD" || size == 0) co_return r;
        auto id = blob::blob_id::from_hex(item.blob_id);
        if (!id) co_return plain(500, "internal error");
        auto reader = data.held ? blob::memory_reader(data.held, 0, size) : blobs_.open(*id, 0, size);
        if (!reader) co_return plain(500, "internal error");
        r.source = make_reader_source(std::move(*reader));
        co_return r;
    }

    // PROPFIND.
    auto in = co_await read_propfind(req, target->root);
    if (in.error) co_return std::move(*in.error);
    const auto& request = in.request;
    dav::multistatus ms;
    if (target->root) {
        ms.add_propstat(base, trash_props(nullptr, display, request, principal_href));
        if (in.depth == dav::depth::one)
            for (const auto& e : data.entries)
                ms.add_propstat(member_href(base, e), trash_props(&e, display, request, principal_href));
    } else {
        // A deleted folder is shown as an empty collection: its contents come back with it.
        ms.add_propstat(member_href(base, data.item->entry),
                        trash_props(&data.item->entry, display, request, principal_href));
    }
    co_return xml_response(207, ms.finish());
}

}  // namespace polder::webdav
