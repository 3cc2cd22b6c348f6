// polder/http/server.hpp - the HTTP/1.1 server session for net::server listeners.
//
//   http::router routes;
//   routes.add("GET", "/files/", get_file, {.max_body = 0});
//   routes.add("PUT", "/files/", put_file, {.max_body = 100ull << 30});
//   auto http = std::make_shared<http::server>(std::move(routes), http::server_options{.service = "webdav", .tls = tls});
//   net_server.listen({"https", "0.0.0.0", 8444, net::tls_mode::implicit}, http->handler());
//
// Each connection: optional TLS handshake (listeners with tls_mode::implicit),
// then requests in order — keep-alive and pipelining (bytes of the next request
// that arrive early wait in the session's buffer) — each one: head read under a
// deadline, checked (request_decoder), routed, handed to its handler, answered
// (string or streamed body), logged (one access line with conn and request id)
// and counted (polder_http_requests_total, polder_http_request_duration_seconds).
//
// Shutdown follows net::server::stop(): a connection waiting for its next
// request closes at once (woken through connection_info::control), a busy one
// after its current response, which carries Connection: close.
//
// Sessions must run on a strand (net::server runs each on its own), since the
// stream's timers and the shutdown callback touch the socket.
//
// SECURITY: limits on head bytes, header count, body bytes (per route, per
// request), the number of requests per connection, and time (TLS handshake,
// head, each body read, each write, keep-alive idle). A handler that throws
// yields a generic 500; details go to the log with the request id. Framing
// errors close the connection; otherwise it stays open where HTTP allows.
// Memory per connection is bounded: one read buffer (head limit + read size),
// one response chunk buffer, and whatever a handler chooses to hold.
// STANDARDS: RFC 9110 (HTTP semantics), RFC 9112 (HTTP/1.1: persistence 9.3,
// pipelining 9.3.2, tear-down 9.6), RFC 8446 via OpenSSL (TLS).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/http/request_decoder.hpp"
#include "polder/http/router.hpp"
#include "polder/net/server.hpp"
#include "polder/net/tls_context.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace polder::http {

struct server_options {
    std::string service = "http";   // the `service` label in metrics and the access log
    head_limits head;
    // Bodies of routes without their own max_body. CalDAV sets 10 MiB, WebDAV
    // sets its max_file_size on PUT routes.
    std::uint64_t max_body_bytes = 1024 * 1024;
    std::chrono::steady_clock::duration tls_handshake_timeout = std::chrono::seconds(15);
    // The whole head must arrive within this once its first byte has.
    std::chrono::steady_clock::duration header_timeout = std::chrono::seconds(30);
    // Each body read and each write must make progress within these: a 10 GiB
    // upload takes long, but a stalled one is dropped.
    std::chrono::steady_clock::duration body_read_timeout = std::chrono::seconds(60);
    std::chrono::steady_clock::duration write_timeout = std::chrono::seconds(60);
    // Keep-alive: how long a connection may sit between requests.
    std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(75);
    std::size_t max_requests_per_connection = 10000;
    std::size_t read_size = 64 * 1024;                // bytes per socket read
    std::size_t response_chunk_bytes = 256 * 1024;    // buffer a streamed body is pulled into
    // An unread request body up to this size is read and dropped to keep the
    // connection; a larger one closes it (cheaper for both sides).
    std::uint64_t drain_limit = 256 * 1024;
    std::shared_ptr<net::tls_context> tls;            // required for tls_mode::implicit listeners
    bool access_log = true;
};

// Memory the HTTP layer holds for connections (read buffers, response chunk
// buffers, response and request bodies it buffers), for tests and capacity planning.
struct buffer_stats {
    std::uint64_t current = 0;
    std::uint64_t peak = 0;
};

class server : public std::enable_shared_from_this<server> {
public:
    server(router routes, server_options options);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // handler - for net::server::listen(). Keeps this server alive while any
    // of its connections runs.
    net::handler handler();

    // serve - run one connection to its end (what handler() does). Never throws
    // for I/O or protocol trouble; those end the connection.
    awaitable<void> serve(asio::ip::tcp::socket socket, net::connection_info info);

    const router& routes() const { return routes_; }
    buffer_stats buffered() const;
    void reset_peak();
    std::size_t active_connections() const;
    const server_options& options() const { return options_; }

    struct impl;

private:
    router routes_;
    server_options options_;
    std::unique_ptr<impl> impl_;
};

// status_for - the HTTP status for a body-read error (413 / 400 / 408 / 400).
status status_for_body_error(const boost::system::error_code& ec);

}  // namespace polder::http
