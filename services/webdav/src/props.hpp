// props.hpp - the properties of a node for PROPFIND and REPORT responses:
// live properties computed from the node, its home and its locks, dead
// properties from the store.
//
// SECURITY: values are escaped here (live) or were produced by
// dav::serialize_children (dead), so no stored text can break the response.
// STANDARDS: RFC 4918 15 (DAV properties) and 9.1 (allprop returns the dead
// properties and the live ones RFC 4918 defines, propname their names),
// RFC 4331 3-4 (quota properties, not in allprop), RFC 6578 4 (DAV:sync-token).
#pragma once

#include "service.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace polder::webdav {

struct prop_context {
    const service& svc;
    const home& h;
    const space& sp;
    const std::string& principal;   // the signed-in account's address
    const std::vector<lock>& locks;   // every live lock of the home
};

// is_protected - live properties a PROPPATCH may not set or remove.
bool is_protected(const dav::qname& name);

// node_propstats - the propstat groups (200 and 404) of n for the request.
std::vector<dav::propstat_group> node_propstats(const node& n, const dav::propfind_request& request,
                                                const std::vector<dead_property>& dead, const prop_context& pc);

// virtual_propstats - the propstat groups (200 and 404) of a virtual resource (a listing,
// the trash) whose properties are `all` (allprop, propname) with values from value(q),
// nullopt when q has none there.
std::vector<dav::propstat_group> virtual_propstats(
    const dav::propfind_request& request, const std::vector<dav::qname>& all,
    const std::function<std::optional<std::string>(const dav::qname&)>& value);

// sync_token_for - the RFC 6578 token of a home at a modseq.
std::string sync_token_for(std::int64_t home_id, std::int64_t modseq);
// parse_sync_token - the modseq in a token of this home; nullopt for anything else.
std::optional<std::int64_t> parse_sync_token(std::string_view token, std::int64_t home_id);

}  // namespace polder::webdav
