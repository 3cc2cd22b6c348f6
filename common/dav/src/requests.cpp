// requests.cpp - PROPFIND, PROPPATCH, LOCK and sync-collection bodies.
//
// SECURITY: bounded by max_props; every reason is a fixed short text.
// STANDARDS: RFC 4918 9.1, 9.2, 9.10, 14.*; RFC 6578 6.1.
#include "polder/dav/requests.hpp"

#include <charconv>

namespace polder::dav {

namespace {

bool collect_names(const xml_element& prop, std::vector<qname>& out, std::string& reason) {
    for (const auto* e : prop.elements()) {
        if (out.size() >= max_props) {
            reason = "too many properties in one request";
            return false;
        }
        out.push_back(e->name);
    }
    return true;
}

}  // namespace

result<propfind_request> parse_propfind(const xml_element& root, std::string& reason) {
    if (!root.is(dav_ns, "propfind")) {
        reason = "expected a DAV:propfind body";
        return errc::invalid_argument;
    }
    propfind_request r;
    int kinds = 0;
    for (const auto* e : root.elements()) {
        if (e->is(dav_ns, "prop")) {
            ++kinds;
            r.kind = propfind_kind::prop;
            if (!collect_names(*e, r.props, reason)) return errc::invalid_argument;
        } else if (e->is(dav_ns, "allprop")) {
            ++kinds;
            r.kind = propfind_kind::allprop;
        } else if (e->is(dav_ns, "propname")) {
            ++kinds;
            r.kind = propfind_kind::propname;
        } else if (e->is(dav_ns, "include")) {
            if (!collect_names(*e, r.include, reason)) return errc::invalid_argument;
        }
    }
    if (kinds != 1) {
        reason = kinds == 0 ? "DAV:propfind needs one of prop, allprop or propname"
                            : "DAV:propfind has more than one of prop, allprop and propname";
        return errc::invalid_argument;
    }
    if (!r.include.empty() && r.kind != propfind_kind::allprop) {
        reason = "DAV:include is only allowed with DAV:allprop";
        return errc::invalid_argument;
    }
    return r;
}

result<std::vector<proppatch_op>> parse_proppatch(const xml_element& root, std::string& reason) {
    if (!root.is(dav_ns, "propertyupdate")) {
        reason = "expected a DAV:propertyupdate body";
        return errc::invalid_argument;
    }
    std::vector<proppatch_op> ops;
    for (const auto* e : root.elements()) {
        const bool set = e->is(dav_ns, "set");
        const bool remove = e->is(dav_ns, "remove");
        if (!set && !remove) continue;
        const xml_element* prop = e->child(dav_ns, "prop");
        if (!prop) {
            reason = "DAV:set and DAV:remove need a DAV:prop";
            return errc::invalid_argument;
        }
        for (const auto* p : prop->elements()) {
            if (ops.size() >= max_props) {
                reason = "too many properties in one request";
                return errc::invalid_argument;
            }
            proppatch_op op;
            op.remove = remove;
            op.prop.name = p->name;
            if (set) op.prop.value_xml = serialize_children(*p);
            ops.push_back(std::move(op));
        }
    }
    if (ops.empty()) {
        reason = "DAV:propertyupdate names no property";
        return errc::invalid_argument;
    }
    return ops;
}

result<lock_info> parse_lockinfo(const xml_element& root, std::string& reason) {
    if (!root.is(dav_ns, "lockinfo")) {
        reason = "expected a DAV:lockinfo body";
        return errc::invalid_argument;
    }
    lock_info info;
    const xml_element* scope = root.child(dav_ns, "lockscope");
    const xml_element* type = root.child(dav_ns, "locktype");
    if (!scope || !type) {
        reason = "DAV:lockinfo needs lockscope and locktype";
        return errc::invalid_argument;
    }
    if (scope->child(dav_ns, "exclusive"))
        info.scope = lock_scope::exclusive;
    else if (scope->child(dav_ns, "shared"))
        info.scope = lock_scope::shared;
    else {
        reason = "DAV:lockscope must be exclusive or shared";
        return errc::invalid_argument;
    }
    if (!type->child(dav_ns, "write")) {
        reason = "only DAV:write locks are supported";
        return errc::invalid_argument;
    }
    if (const xml_element* owner = root.child(dav_ns, "owner")) info.owner_xml = serialize_children(*owner);
    return info;
}

result<sync_collection_request> parse_sync_collection(const xml_element& root, std::string& reason) {
    if (!root.is(dav_ns, "sync-collection")) {
        reason = "expected a DAV:sync-collection body";
        return errc::invalid_argument;
    }
    sync_collection_request r;
    const xml_element* token = root.child(dav_ns, "sync-token");
    const xml_element* level = root.child(dav_ns, "sync-level");
    if (!token || !level) {
        reason = "DAV:sync-collection needs sync-token and sync-level";
        return errc::invalid_argument;
    }
    r.sync_token = token->text_content();
    auto trim = [](std::string s) {
        const auto b = s.find_first_not_of(" \t\r\n");
        if (b == std::string::npos) return std::string();
        const auto e = s.find_last_not_of(" \t\r\n");
        return s.substr(b, e - b + 1);
    };
    r.sync_token = trim(r.sync_token);
    const std::string lv = trim(level->text_content());
    if (lv == "1")
        r.infinite = false;
    else if (lv == "infinite")
        r.infinite = true;
    else {
        reason = "DAV:sync-level must be 1 or infinite";
        return errc::invalid_argument;
    }
    if (const xml_element* limit = root.child(dav_ns, "limit")) {
        const xml_element* n = limit->child(dav_ns, "nresults");
        const std::string text = n ? trim(n->text_content()) : std::string();
        std::size_t value = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (!n || ec != std::errc() || p != text.data() + text.size() || value == 0) {
            reason = "DAV:limit needs a positive DAV:nresults";
            return errc::invalid_argument;
        }
        r.limit = value;
    }
    r.props.kind = propfind_kind::prop;
    if (const xml_element* prop = root.child(dav_ns, "prop")) {
        if (!collect_names(*prop, r.props.props, reason)) return errc::invalid_argument;
    } else {
        r.props.kind = propfind_kind::allprop;
    }
    return r;
}

}  // namespace polder::dav
