// polder/http/request.hpp - what a handler receives: the parsed head, the
// connection it came on, and a body it reads itself (as a string up to a
// limit, or chunk by chunk into its own buffer).
//
// The body is read from the socket only when the handler asks, so a handler
// that writes each chunk to disk before asking for the next applies
// backpressure all the way to the client's TCP window. The first read of a
// request that carries "Expect: 100-continue" sends the interim 100 response;
// a handler that answers without reading never makes the client send the body.
//
// SECURITY: every read is checked against the request's body limit (the route's
// max_body unless the handler lowered it); a Content-Length above the limit
// fails before any byte is read and before 100 Continue. Read errors are
// remembered by the session: after a failed body read the connection is closed
// and, unless the handler answered with its own 4xx/5xx, the client gets the
// matching 413 / 400 / 408.
// STANDARDS: RFC 9110 10.1.1 (Expect), RFC 9112 6 (message body), 7.1 (chunked).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"
#include "polder/http/request_decoder.hpp"
#include "polder/net/server.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace polder::http {

using verb = boost::beast::http::verb;

// body_channel - how a request pulls its body from the session (implemented
// by the session; tests of handlers may supply their own).
class body_channel {
public:
    virtual ~body_channel() = default;
    // read_body_some - up to out.size() decoded body bytes; 0 = end of body.
    // Errors: errc::limit_exceeded (body longer than `limit`), errc::protocol_error
    // (malformed chunked framing or the client closed mid-body), errc::timeout,
    // or the transport's error.
    virtual awaitable<result<std::size_t>> read_body_some(std::span<char> out, std::uint64_t limit) = 0;
};

class request {
public:
    request(const request_decoder& decoded, const net::connection_info& connection, std::string id,
            body_channel& channel, std::uint64_t body_limit, bool secure);
    request(const request&) = delete;
    request& operator=(const request&) = delete;

    const boost::beast::http::request_header<>& head() const { return decoded_.head(); }
    verb method() const { return decoded_.head().method(); }
    std::string_view method_string() const { return decoded_.head().method_string(); }
    std::string_view target() const { return decoded_.head().target(); }
    std::string_view path() const { return decoded_.path(); }     // raw, percent-encoded
    std::string_view query() const { return decoded_.query(); }
    unsigned version() const { return decoded_.head().version(); }   // 10 or 11
    // header - the first value of a field, empty when absent.
    std::string_view header(boost::beast::http::field f) const;
    std::string_view header(std::string_view name) const;

    const net::connection_info& connection() const { return connection_; }
    std::string_view id() const { return id_; }   // request id: in the access log and X-Request-Id
    bool secure() const { return secure_; }        // arrived over TLS

    bool has_body() const { return decoded_.has_body(); }
    bool chunked() const { return decoded_.chunked(); }
    std::optional<std::uint64_t> content_length() const { return decoded_.content_length(); }
    std::uint64_t body_limit() const { return body_limit_; }
    // set_body_limit - lower (or, up to the route's ceiling, which was checked
    // against Content-Length already, adjust) the limit for the reads to come.
    void set_body_limit(std::uint64_t limit) { body_limit_ = limit; }
    std::uint64_t body_bytes_read() const { return decoded_.body_bytes(); }

    // read_some - the next decoded body bytes into `out`; 0 = end of body.
    // Errors: as body_channel::read_body_some.
    awaitable<result<std::size_t>> read_some(std::span<char> out);
    // read_body - the whole body as a string, at most min(max, body_limit()) bytes.
    // Errors: as read_some; errc::limit_exceeded when longer.
    awaitable<result<std::string>> read_body(std::uint64_t max = std::numeric_limits<std::uint64_t>::max());

    // set_user - who the request acted for, shown in the access log.
    void set_user(std::string user) { user_ = std::move(user); }
    const std::string& user() const { return user_; }

private:
    const request_decoder& decoded_;
    const net::connection_info& connection_;
    std::string id_;
    body_channel& channel_;
    std::uint64_t body_limit_;
    bool secure_;
    std::string user_;
};

}  // namespace polder::http
