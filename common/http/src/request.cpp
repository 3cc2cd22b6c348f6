// request.cpp - the handler's view of a request and its body.
//
// SECURITY: read_body() grows its string only as bytes arrive and never past
// min(max, body_limit()); the limit check itself lives in the session (the
// body_channel), which also sees Content-Length before any read.
// STANDARDS: RFC 9112 6 (message body).
#include "polder/http/request.hpp"

#include <algorithm>

namespace polder::http {

request::request(const request_decoder& decoded, const net::connection_info& connection, std::string id,
                 body_channel& channel, std::uint64_t body_limit, bool secure)
    : decoded_(decoded),
      connection_(connection),
      id_(std::move(id)),
      channel_(channel),
      body_limit_(body_limit),
      secure_(secure) {}

std::string_view request::header(boost::beast::http::field f) const {
    const auto& h = decoded_.head();
    auto it = h.find(f);
    return it == h.end() ? std::string_view{} : std::string_view(it->value());
}

std::string_view request::header(std::string_view name) const {
    const auto& h = decoded_.head();
    auto it = h.find(name);
    return it == h.end() ? std::string_view{} : std::string_view(it->value());
}

awaitable<result<std::size_t>> request::read_some(std::span<char> out) {
    co_return co_await channel_.read_body_some(out, body_limit_);
}

awaitable<result<std::string>> request::read_body(std::uint64_t max) {
    const std::uint64_t limit = std::min(max, body_limit_);
    std::string body;
    if (auto cl = decoded_.content_length(); cl && *cl <= limit) body.reserve(static_cast<std::size_t>(*cl));
    // Grow in steps so a chunked body costs memory only as it arrives.
    constexpr std::size_t step = 64 * 1024;
    for (;;) {
        const std::size_t old = body.size();
        body.resize(old + step);
        auto n = co_await channel_.read_body_some(std::span<char>(body.data() + old, step), limit);
        if (!n) co_return n.error();
        body.resize(old + *n);
        if (*n == 0) break;
    }
    body.shrink_to_fit();
    co_return body;
}

}  // namespace polder::http
