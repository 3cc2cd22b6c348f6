// response.cpp - convenience constructors for responses.
//
// SECURITY: error bodies carry only the short reason given by the caller,
// never exception text or internal state.
// STANDARDS: RFC 9110 8.3 (Content-Type).
#include "polder/http/response.hpp"

namespace polder::http {

response text_response(status code, std::string body, std::string_view content_type) {
    response r;
    r.code = code;
    r.headers.set(field::content_type, content_type);
    r.body = std::move(body);
    return r;
}

response stream_response(status code, std::unique_ptr<body_source> source, std::optional<std::uint64_t> length,
                         std::string_view content_type) {
    response r;
    r.code = code;
    r.headers.set(field::content_type, content_type);
    r.source = std::move(source);
    r.content_length = length;
    return r;
}

response error_response(status code, std::string_view reason) {
    std::string body(reason);
    body += '\n';
    return text_response(code, std::move(body));
}

}  // namespace polder::http
