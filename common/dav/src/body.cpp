// body.cpp - see polder/dav/body.hpp.
// SECURITY / STANDARDS: see the header.
#include "polder/dav/body.hpp"

#include "polder/http/server.hpp"

#include <array>
#include <string_view>

namespace polder::dav {

awaitable<xml_body> read_xml_body(http::request& req, xml_limits limits) {
    using http::status;
    xml_body out;
    if (!req.has_body() || req.content_length() == std::uint64_t{0}) co_return out;
    if (req.content_length() && *req.content_length() > limits.max_bytes) {
        out.error = http::error_response(status::payload_too_large, "XML body too large");
        co_return out;
    }
    req.set_body_limit(limits.max_bytes);
    xml_parser parser(limits);
    std::array<char, 16 * 1024> buf;
    std::size_t total = 0;
    bool parse_failed = false;
    for (;;) {
        auto n = co_await req.read_some(buf);
        if (!n) {
            out.error = http::error_response(http::status_for_body_error(n.error()), "request body could not be read");
            co_return out;
        }
        if (*n == 0) break;
        total += *n;
        // Keep reading after a parse error so the connection stays usable.
        if (!parse_failed && !parser.feed(std::string_view(buf.data(), *n))) parse_failed = true;
    }
    if (total == 0) co_return out;
    if (parse_failed) {
        out.error = http::error_response(status::bad_request, parser.reason());
        co_return out;
    }
    auto root = parser.finish();
    if (!root) {
        out.error = http::error_response(status::bad_request, parser.reason());
        co_return out;
    }
    out.root = std::move(*root);
    co_return out;
}

}  // namespace polder::dav
