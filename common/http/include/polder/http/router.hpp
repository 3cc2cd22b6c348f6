// polder/http/router.hpp - dispatch by method and path prefix.
//
// One table per service, declared once at start (habit: Postfix's
// smtpd_cmd_table): (method, path prefix, handler, options). The longest
// matching prefix wins; within it an exact method beats "*" (any method), and
// HEAD falls back to GET (the session drops the body). A path no prefix
// matches is 404; a prefix that matches without the method is 405 with Allow.
//
// Prefixes match whole segments: "/dav" matches "/dav", "/dav/" and "/dav/x"
// but not "/davx"; "/dav/" also matches "/dav". Matching is on the raw
// (percent-encoded) path, so an encoded "%2F" is never a segment boundary.
//
// SECURITY: routes are fixed at start; per-route max_body bounds every body
// before the handler runs.
// STANDARDS: RFC 9110 9.1 (methods are case-sensitive), 15.5.6 (405 + Allow).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/http/request.hpp"
#include "polder/http/response.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::http {

using handler = std::function<awaitable<response>(request&)>;

struct route_options {
    // Largest request body this route accepts; nullopt = the server default.
    std::optional<std::uint64_t> max_body;
};

class router {
public:
    // add - register a route. method "*" matches any method. Later routes with
    // the same method and prefix replace earlier ones.
    router& add(std::string method, std::string prefix, handler h, route_options options = {});

    struct match {
        unsigned status = 404;                     // 200: found; 404 or 405 otherwise
        const handler* target = nullptr;           // valid while the router lives
        const route_options* options = nullptr;
        std::string allow;                         // for 405: "GET, HEAD, PUT"
    };
    match find(std::string_view method, std::string_view path) const;

    bool empty() const { return routes_.empty(); }

private:
    struct route {
        std::string method;
        std::string prefix;
        handler h;
        route_options options;
    };
    std::vector<route> routes_;
};

// prefix_matches - the segment-wise prefix rule described above.
bool prefix_matches(std::string_view prefix, std::string_view path);

}  // namespace polder::http
