// polder/dav/body.hpp - reads an HTTP request's XML body into the parser: the one
// coroutine of polder::dav, shared by polder-webdavd and polder-caldavd.
//
//   auto body = co_await dav::read_xml_body(req, {.max_bytes = ..., .max_depth = ...});
//   if (body.error) co_return std::move(*body.error);   // 400 / 413 with a reason
//   if (body.root) ...                                  // nullopt: no body
//
// SECURITY: a declared Content-Length over limits.max_bytes is refused (413) before a
// byte is read; otherwise the body limit of the request is lowered to max_bytes, and
// xml_parser enforces size, depth and element count. After a parse error the rest of
// the body is still read (and dropped) so the keep-alive connection stays usable.
// STANDARDS: RFC 4918 section 8.2 (400 for a malformed XML body), RFC 9110 (413).
#pragma once

#include "polder/dav/xml.hpp"
#include "polder/http/request.hpp"
#include "polder/http/response.hpp"

#include <optional>

namespace polder::dav {

struct xml_body {
    std::optional<xml_element> root;        // nullopt: empty body
    std::optional<http::response> error;    // 400/413 to send instead
};

awaitable<xml_body> read_xml_body(http::request& req, xml_limits limits);

}  // namespace polder::dav
