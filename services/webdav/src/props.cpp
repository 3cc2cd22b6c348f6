// props.cpp - live and dead properties of nodes.
//
// SECURITY: see props.hpp.
// STANDARDS: RFC 4918 15, RFC 4331, RFC 6578 4.
#include "props.hpp"

#include "polder/http/date.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace polder::webdav {

namespace {

using dav::dav;

// The live properties allprop returns (RFC 4918 9.1; quota ones excluded per RFC 4331).
const std::array<dav::qname, 9> allprop_live{dav("creationdate"), dav("displayname"), dav("getcontentlength"),
                                              dav("getcontenttype"), dav("getetag"), dav("getlastmodified"),
                                              dav("lockdiscovery"), dav("resourcetype"), dav("supportedlock")};

const std::array<dav::qname, 6> other_live{dav("quota-available-bytes"), dav("quota-used-bytes"), dav("sync-token"),
                                           dav("supported-report-set"), dav("current-user-principal"), polder_file_id};

bool is_live_name(const dav::qname& q) {
    return std::find(allprop_live.begin(), allprop_live.end(), q) != allprop_live.end() ||
           std::find(other_live.begin(), other_live.end(), q) != other_live.end();
}

// live_value - nullopt when the property does not apply to n.
std::optional<std::string> live_value(const dav::qname& q, const node& n, const prop_context& pc) {
    if (q.ns == dav::dav_ns) {
        const auto& l = q.local;
        if (l == "resourcetype") return n.collection ? std::string("<D:collection/>") : std::string();
        if (l == "getetag") return dav::escape_text(n.etag);
        if (l == "getlastmodified") return http::format_http_date(n.modified);
        if (l == "creationdate") return http::format_rfc3339(n.created);
        if (l == "displayname") return dav::escape_text(n.path == pc.sp.root ? pc.sp.display : n.name);
        if (l == "getcontentlength") return n.collection ? std::nullopt : std::optional(std::to_string(n.size));
        if (l == "getcontenttype") return n.collection ? std::nullopt : std::optional(dav::escape_text(n.content_type));
        if (l == "supportedlock")
            return std::string(
                "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
                "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>");
        if (l == "lockdiscovery") {
            std::string x;
            for (const auto& lk : pc.locks)
                if (lk.path == n.path || (lk.infinite && inside(n.path, lk.path) && !(lk.path == n.path)))
                    x += pc.svc.activelock_xml(lk, pc.sp);
            return x;
        }
        if (l == "quota-used-bytes") return std::to_string(pc.h.used_bytes);
        if (l == "quota-available-bytes") return pc.svc.quota_available(pc.h);
        if (l == "sync-token")
            return n.collection ? std::optional(dav::escape_text(sync_token_for(pc.h.id, pc.h.modseq))) : std::nullopt;
        if (l == "supported-report-set")
            return n.collection ? std::optional<std::string>(
                                      "<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>")
                                : std::nullopt;
        if (l == "current-user-principal") return dav::href_element(href(pc.principal, "", true));
        return std::nullopt;
    }
    if (q == polder_file_id) return n.file_id;
    return std::nullopt;
}

const dead_property* find_dead(const std::vector<dead_property>& dead, const dav::qname& q) {
    for (const auto& d : dead)
        if (d.ns == q.ns && d.name == q.local) return &d;
    return nullptr;
}

}  // namespace

bool is_protected(const dav::qname& name) {
    // DAV:displayname is kept as a dead property when a client sets it.
    return is_live_name(name) && name != dav("displayname");
}

std::vector<dav::propstat_group> node_propstats(const node& n, const dav::propfind_request& request,
                                                const std::vector<dead_property>& dead, const prop_context& pc) {
    dav::propstat_group found{200, {}, std::nullopt};
    dav::propstat_group missing{404, {}, std::nullopt};
    auto add = [&](const dav::qname& q) {
        if (q == dav("displayname")) {
            if (const auto* d = find_dead(dead, q)) {
                found.props.push_back({q, d->value});
                return;
            }
        }
        if (auto v = live_value(q, n, pc)) {
            found.props.push_back({q, std::move(*v)});
            return;
        }
        if (const auto* d = find_dead(dead, q)) {
            found.props.push_back({q, d->value});
            return;
        }
        missing.props.push_back({q, {}});
    };
    switch (request.kind) {
    case dav::propfind_kind::prop:
        for (const auto& q : request.props) add(q);
        break;
    case dav::propfind_kind::allprop:
        for (const auto& q : allprop_live)
            if (live_value(q, n, pc) || (q == dav("displayname"))) add(q);
        for (const auto& d : dead)
            if (!(d.ns == dav::dav_ns && d.name == "displayname")) found.props.push_back({{d.ns, d.name}, d.value});
        add(polder_file_id);
        for (const auto& q : request.include)
            if (std::none_of(found.props.begin(), found.props.end(), [&](const dav::property& p) { return p.name == q; }))
                add(q);
        break;
    case dav::propfind_kind::propname:
        for (const auto& q : allprop_live)
            if (live_value(q, n, pc)) found.props.push_back({q, {}});
        for (const auto& q : other_live)
            if (live_value(q, n, pc)) found.props.push_back({q, {}});
        for (const auto& d : dead)
            if (!(d.ns == dav::dav_ns && d.name == "displayname")) found.props.push_back({{d.ns, d.name}, {}});
        break;
    }
    std::vector<dav::propstat_group> out;
    if (!found.props.empty()) out.push_back(std::move(found));
    if (!missing.props.empty()) out.push_back(std::move(missing));
    return out;
}

std::string sync_token_for(std::int64_t home_id, std::int64_t modseq) {
    return "urn:x-polder:sync:" + std::to_string(home_id) + "-" + std::to_string(modseq);
}

std::optional<std::int64_t> parse_sync_token(std::string_view token, std::int64_t home_id) {
    const std::string prefix = "urn:x-polder:sync:" + std::to_string(home_id) + "-";
    if (!token.starts_with(prefix)) return std::nullopt;
    token.remove_prefix(prefix.size());
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
    if (ec != std::errc() || p != token.data() + token.size() || v < 0) return std::nullopt;
    return v;
}

std::vector<dav::propstat_group> virtual_propstats(
    const dav::propfind_request& request, const std::vector<dav::qname>& all,
    const std::function<std::optional<std::string>(const dav::qname&)>& value) {
    dav::propstat_group found{200, {}, std::nullopt};
    dav::propstat_group missing{404, {}, std::nullopt};
    switch (request.kind) {
    case dav::propfind_kind::prop:
        for (const auto& q : request.props) {
            if (auto v = value(q))
                found.props.push_back({q, std::move(*v)});
            else
                missing.props.push_back({q, {}});
        }
        break;
    case dav::propfind_kind::allprop:
        for (const auto& q : all) found.props.push_back({q, *value(q)});
        for (const auto& q : request.include)
            if (auto v = value(q); v && std::find(all.begin(), all.end(), q) == all.end()) found.props.push_back({q, *v});
        break;
    case dav::propfind_kind::propname:
        for (const auto& q : all) found.props.push_back({q, {}});
        break;
    }
    std::vector<dav::propstat_group> out;
    if (!found.props.empty()) out.push_back(std::move(found));
    if (!missing.props.empty()) out.push_back(std::move(missing));
    return out;
}

}  // namespace polder::webdav
