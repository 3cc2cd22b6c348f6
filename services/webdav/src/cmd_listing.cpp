// cmd_listing.cpp - the listings /dav/teams/ (the team folders of the signed-in
// account), /dav/shared/ (the accounts that share folders with it) and
// /dav/shared/<owner>/ (those folders): read-only virtual collections so a
// client can discover what it may open. PROPFIND (Depth 0 or 1) and GET/HEAD
// (a small HTML list); every other method is 403 (405 for MKCOL/PUT names
// nothing to create here).
//
// SECURITY: a listing contains only what resolve_space would let this
// principal open (membership / sharee checks in the same SQL), nothing of
// other accounts or organisations; names are escaped in XML and HTML.
// STANDARDS: RFC 4918 9.1 (PROPFIND, 207), 15.9 (resourcetype).
#include "props.hpp"
#include "service.hpp"

#include "polder/dav/xml.hpp"
#include "polder/http/uri.hpp"

namespace polder::webdav {

namespace {

struct entry {
    std::string href;
    std::string name;
};

std::vector<dav::propstat_group> listing_props(const std::string& name, const dav::propfind_request& request,
                                               const std::string& principal_href) {
    using dav::dav;
    return virtual_propstats(
        request, {dav("resourcetype"), dav("displayname"), dav("supportedlock"), dav("lockdiscovery")},
        [&](const dav::qname& q) -> std::optional<std::string> {
            if (q == dav("resourcetype")) return std::string("<D:collection/>");
            if (q == dav("displayname")) return dav::escape_text(name);
            if (q == dav("current-user-principal")) return dav::href_element(principal_href);
            if (q == dav("supportedlock")) return std::string();
            if (q == dav("lockdiscovery")) return std::string();
            return std::nullopt;
        });
}

}  // namespace

awaitable<http::response> service::cmd_listing(ctx& c) {
    const std::string method(c.req.method_string());
    const bool get = method == "GET" || method == "HEAD";
    if (!get && method != "PROPFIND") co_return plain(403, "this listing is read-only; open a folder inside it");

    dav::depth depth = dav::depth::zero;
    dav::propfind_request request;
    if (!get) {
        auto in = co_await read_propfind(c.req, true);
        if (in.error) co_return std::move(*in.error);
        depth = in.depth;
        request = std::move(in.request);
    }

    std::string self_href;
    std::string self_name;
    std::vector<entry> entries;
    if (c.target.where == area::teams) {
        self_href = std::string(teams_prefix);
        self_name = "Teams";
        auto teams = co_await pool_.transact([&](pqxx::work& tx) {
            return store::teams_of_member(tx, c.who.org_id, c.who.account_id);
        });
        for (const auto& t : teams)
            entries.push_back({std::string(teams_prefix) + http::percent_encode_path(t.name) + "/", t.name});
    } else {
        const std::string owner = c.target.address;   // '' lists owners
        auto mounts = co_await pool_.transact([&](pqxx::work& tx) {
            return store::shares_for(tx, c.who.org_id, c.who.account_id, owner);
        });
        if (owner.empty()) {
            self_href = std::string(shared_prefix);
            self_name = "Shared with me";
            for (const auto& m : mounts)
                if (entries.empty() || entries.back().name != m.owner)
                    entries.push_back({std::string(shared_prefix) + http::percent_encode_path(m.owner) + "/", m.owner});
        } else {
            // An owner who shares nothing with this principal is 404, like
            // any other URL that is not theirs.
            if (mounts.empty()) co_return plain(404, "not found");
            self_href = std::string(shared_prefix) + http::percent_encode_path(owner) + "/";
            self_name = owner;
            for (const auto& m : mounts) entries.push_back({self_href + http::percent_encode_path(m.name) + "/", m.name});
        }
    }
    const std::string principal_href = href(c.who.address, "", true);

    if (get) {
        std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + dav::escape_text(self_name) +
                           "</title></head><body><ul>\n";
        for (const auto& e : entries)
            html += "<li><a href=\"" + dav::escape_attribute(e.href) + "\">" + dav::escape_text(e.name) + "/</a></li>\n";
        html += "</ul></body></html>\n";
        co_return http::text_response(http::status::ok, std::move(html), "text/html; charset=utf-8");
    }
    dav::multistatus ms;
    ms.add_propstat(self_href, listing_props(self_name, request, principal_href));
    if (depth == dav::depth::one)
        for (const auto& e : entries) ms.add_propstat(e.href, listing_props(e.name, request, principal_href));
    co_return xml_response(207, ms.finish());
}

}  // namespace polder::webdav
