// router.cpp - method + path-prefix dispatch.
//
// SECURITY: exact, case-sensitive method comparison; segment-wise prefixes on
// the raw path (no decoding here, so "%2F" cannot fake a boundary).
// STANDARDS: RFC 9110 9.1, 9.3.2 (HEAD like GET), 15.5.6 (405 Allow).
#include "polder/http/router.hpp"

#include <algorithm>

namespace polder::http {

bool prefix_matches(std::string_view prefix, std::string_view path) {
    if (prefix.empty()) return false;
    if (path == prefix) return true;
    if (prefix.size() > 1 && prefix.back() == '/' && path == prefix.substr(0, prefix.size() - 1)) return true;
    if (!path.starts_with(prefix)) return false;
    return prefix.back() == '/' || path[prefix.size()] == '/';
}

router& router::add(std::string method, std::string prefix, handler h, route_options options) {
    for (auto& r : routes_) {
        if (r.method == method && r.prefix == prefix) {
            r.h = std::move(h);
            r.options = options;
            return *this;
        }
    }
    routes_.push_back({std::move(method), std::move(prefix), std::move(h), options});
    return *this;
}

router::match router::find(std::string_view method, std::string_view path) const {
    match m;
    // The longest matching prefix decides which routes are candidates.
    std::size_t best = 0;
    bool any = false;
    for (const auto& r : routes_) {
        if (!prefix_matches(r.prefix, path)) continue;
        if (!any || r.prefix.size() > best) best = r.prefix.size();
        any = true;
    }
    if (!any) return m;   // 404

    const route* exact = nullptr;
    const route* wildcard = nullptr;
    const route* get_for_head = nullptr;
    std::vector<std::string_view> allowed;
    for (const auto& r : routes_) {
        if (r.prefix.size() != best || !prefix_matches(r.prefix, path)) continue;
        if (r.method == method) exact = &r;
        if (r.method == "*") wildcard = &r;
        if (method == "HEAD" && r.method == "GET") get_for_head = &r;
        allowed.push_back(r.method);
        if (r.method == "GET") allowed.push_back("HEAD");
    }
    const route* chosen = exact ? exact : wildcard ? wildcard : get_for_head;
    if (chosen) {
        m.status = 200;
        m.target = &chosen->h;
        m.options = &chosen->options;
        return m;
    }
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    m.status = 405;
    for (auto a : allowed) {
        if (!m.allow.empty()) m.allow += ", ";
        m.allow += a;
    }
    return m;
}

}  // namespace polder::http
