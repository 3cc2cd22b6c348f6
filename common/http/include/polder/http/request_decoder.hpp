// polder/http/request_decoder.hpp - incremental HTTP/1.1 request decoding without I/O.
//
// The session reads bytes from the socket and hands them to a request_decoder:
// first the head (request line and header fields), which is parsed by Beast and
// then checked against the framing rules Beast leaves to the application; then
// the body, decoded (Content-Length or chunked) straight into a buffer the
// caller supplies, so a body is never held whole. Keeping this free of sockets
// lets the fuzz target drive exactly the code the server runs.
//
// SECURITY: the head is bounded (max_header_bytes, max_header_fields) before it
// is believed; ambiguous framing (Transfer-Encoding with Content-Length, several
// or unknown transfer codings, Transfer-Encoding in HTTP/1.0) is refused, which
// closes the request-smuggling holes of RFC 9112 11.2; a missing or repeated
// Host in HTTP/1.1 is refused; only HTTP/1.0 and 1.1 are accepted. Every failure
// yields a status (400, 417, 431, 501, 505) and a short reason fit for the client.
// STANDARDS: RFC 9112 2-7 (message format, request line, fields, body length,
// chunked coding), RFC 9110 7.2 (Host), 10.1.1 (Expect), 15.5.18 (417),
// RFC 6585 5 (431).
#pragma once

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace polder::http {

struct head_limits {
    // 16 KiB holds the longest real-world heads (cookies, long DAV Destination
    // and If: headers) with room to spare; nginx's large_client_header_buffers
    // default is 8 KiB per line.
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_header_fields = 100;
};

// A refusal the server turns into a response before closing the connection.
struct request_problem {
    unsigned status = 400;
    std::string_view reason;   // static text, e.g. "malformed request line"
};

class request_decoder {
public:
    enum class state {
        head,      // still collecting the head
        body,      // head done and valid, body bytes expected
        complete,  // the whole message is decoded
        failed,    // see problem()
    };

    explicit request_decoder(const head_limits& limits = {});
    request_decoder(const request_decoder&) = delete;
    request_decoder& operator=(const request_decoder&) = delete;

    // feed_head - offer the bytes received and not yet consumed. Returns how
    // many were consumed (Beast may take the request line before the fields
    // are complete): the caller drops them and offers the rest plus new bytes
    // next time. state() tells the outcome; once it leaves state head, the
    // bytes after the consumed ones belong to the body or the next request.
    std::size_t feed_head(std::string_view data);

    struct body_progress {
        std::size_t consumed = 0;   // input bytes used (framing included)
        std::size_t produced = 0;   // body bytes written to `out`
    };
    // feed_body - decode body bytes from `data` into `out`. Stops when `data` is
    // used up (or holds only part of a chunk header), `out` is full, or the
    // message is complete. A framing error moves to state failed.
    body_progress feed_body(std::string_view data, std::span<char> out);

    state current() const { return state_; }
    const request_problem& problem() const { return problem_; }

    // Valid from state body on.
    const boost::beast::http::request_header<>& head() const { return parser_.get().base(); }
    std::string_view path() const { return path_; }     // raw (percent-encoded)
    std::string_view query() const { return query_; }
    bool has_body() const { return has_body_; }
    bool chunked() const { return chunked_; }
    std::optional<std::uint64_t> content_length() const { return content_length_; }
    bool expect_continue() const { return expect_continue_; }
    bool keep_alive() const { return parser_.get().keep_alive(); }
    std::uint64_t body_bytes() const { return body_bytes_; }   // decoded so far

private:
    void fail(unsigned status, std::string_view reason);
    void validate_head();
    bool scan_for_folding(std::string_view data);

    head_limits limits_;
    boost::beast::http::request_parser<boost::beast::http::buffer_body> parser_;
    state state_ = state::head;
    request_problem problem_;
    std::string_view path_, query_;
    bool has_body_ = false;
    bool chunked_ = false;
    bool expect_continue_ = false;
    std::optional<std::uint64_t> content_length_;
    std::uint64_t body_bytes_ = 0;
    std::size_t fold_scan_ = 0;       // where the obs-fold scan resumes
    bool fold_scan_done_ = false;     // the scan reached the end of the head
    bool after_newline_ = false;      // the consumed bytes ended with '\n'
};

// describe_parse_error - a short client-facing reason for a Beast parse error.
std::string_view describe_parse_error(const boost::system::error_code& ec);

}  // namespace polder::http
