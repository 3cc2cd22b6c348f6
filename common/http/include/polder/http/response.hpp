// polder/http/response.hpp - what a handler returns: status, fields and a body
// that is either a string or a stream from a producer.
//
// A streamed body is pulled by the session one buffer at a time (the buffer is
// the session's, response_chunk_bytes long, 256 KiB by default), so a 10 GiB
// download costs one buffer of memory and the client's reading speed paces the
// producer (backpressure). A producer whose bytes are a range of an open file
// says so (body_source::file): on a plain connection the session then sends
// them with sendfile(2), from the page cache to the socket without a copy
// through the process and without the buffer. The session owns framing:
// Content-Length, Transfer-Encoding and Connection set by a handler are replaced.
//
// SECURITY: a producer that yields more or fewer bytes than the Content-Length
// it announced makes the session abort the connection rather than send a
// response with broken framing.
// STANDARDS: RFC 9112 6 (message body length, chunked), RFC 9110 9.3.2 (HEAD),
// 15 (status codes).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/status.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace polder::http {

using status = boost::beast::http::status;
using field = boost::beast::http::field;
using fields = boost::beast::http::fields;

// file_range - body bytes that are `length` bytes of the open file `fd` from
// `offset` on.
struct file_range {
    int fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

// body_source - a producer of response body bytes.
class body_source {
public:
    virtual ~body_source() = default;
    // read - fill the front of `buffer` with the next bytes; 0 = the body is
    // complete. Errors abort the response (the connection is closed, since the
    // framing can no longer be honoured); exceptions are treated the same way.
    virtual awaitable<result<std::size_t>> read(std::span<char> buffer) = 0;
    // file - the whole body (before any read) as a range of an open file that
    // stays open while the source lives, if it is one. The session may send that
    // range itself instead of calling read(); it then calls nothing else.
    virtual std::optional<file_range> file() const { return std::nullopt; }
};

namespace detail {
template <class F>
class function_source final : public body_source {
public:
    explicit function_source(F f) : f_(std::move(f)) {}
    // The closure outlives every call (the source owns it), so a capturing
    // coroutine lambda is safe here.
    awaitable<result<std::size_t>> read(std::span<char> buffer) override { return f_(buffer); }

private:
    F f_;
};
}  // namespace detail

// make_body_source - wrap a callable `awaitable<result<std::size_t>>(std::span<char>)`
// (it may be move-only, e.g. own a file handle).
template <class F>
std::unique_ptr<body_source> make_body_source(F f) {
    return std::make_unique<detail::function_source<F>>(std::move(f));
}

struct response {
    status code = status::ok;
    fields headers;
    // The body: `source` when set, otherwise `body`.
    std::string body;
    std::unique_ptr<body_source> source;
    // For a streamed body: its exact length if known (sent as Content-Length),
    // otherwise the body is sent chunked (HTTP/1.1) or close-delimited (1.0).
    // For an answer to HEAD without a source: the Content-Length the GET would have.
    std::optional<std::uint64_t> content_length;
    // Close the connection after this response.
    bool close = false;
};

// text_response - a short body with a Content-Type (text/plain UTF-8 by default).
response text_response(status code, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");

// stream_response - a body pulled from `source`, `length` bytes if known.
response stream_response(status code, std::unique_ptr<body_source> source, std::optional<std::uint64_t> length,
                         std::string_view content_type = "application/octet-stream");

// error_response - "<reason>\n" as text/plain; reasons are short and generic
// (details belong in the log, with the request id).
response error_response(status code, std::string_view reason);

}  // namespace polder::http
