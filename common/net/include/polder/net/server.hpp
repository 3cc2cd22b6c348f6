// polder/net/server.hpp - TCP accept loops for several listeners, with
// connection limits, connection ids, a per-connection exception boundary and
// graceful shutdown.
//
//   net::server srv(rt, lim, tls);
//   srv.listen({.name = "imap", .address = "::", .port = 143, .tls = net::tls_mode::starttls},
//              [&](asio::ip::tcp::socket sock, net::connection_info info) -> awaitable<void> {
//                  auto s = net::make_tcp_stream(std::move(sock), tls, info);
//                  ...
//              });
//
// Each session runs as a coroutine on its own strand. An exception escaping a
// session is logged (with its conn id) and ends that connection only; the
// server and the other sessions go on.
//
// Limits: over max_connections or max_connections_per_ip a new connection is
// closed at once (after the listener's optional refusal line) and counted in
// polder_connections_refused_total{listener,reason}. IPv4-mapped IPv6 peers
// count as IPv4; IPv6 peers count per /64 prefix, since one host or site
// holds a whole /64 and could otherwise bypass the per-IP limit.
//
// Shutdown (stop(), or runtime::stop() which calls it): listeners close at
// once; connection_info::shutting_down() turns true and on_shutdown
// callbacks run, so sessions can finish their command and say goodbye;
// sessions still open after limits.shutdown_grace are cancelled (their
// pending operation fails, their next one throws) and their sockets closed.
// The server also reloads its tls_context on SIGHUP (runtime::on_reload).
//
// Metrics (registry::global()): polder_connections_active{listener},
// polder_connections_total{listener}, polder_connections_refused_total{listener,reason}.
//
// Lifetime: create the server before runtime::run() and keep it until run()
// returns. Methods are thread-safe.
//
// SECURITY: limits are checked before any byte is read; refused connections
// cost no coroutine. Accept errors such as EMFILE back off instead of spinning.
//
// STANDARDS: RFC 4291 (IPv6 addressing, /64 interface identifiers).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"
#include "polder/net/connection.hpp"
#include "polder/net/runtime.hpp"

#include <functional>
#include <memory>
#include <string_view>

namespace polder::net {

class tls_context;

using handler = std::function<awaitable<void>(asio::ip::tcp::socket, connection_info)>;

class server {
public:
    server(runtime& rt, limits lim, std::shared_ptr<tls_context> tls /* may be null */);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // listen - binds and starts accepting now, so configuration errors surface
    // at start. Errors: errc::invalid_argument (address is not an IP literal,
    // duplicate or empty listener name, implicit TLS without a tls_context),
    // errc::unavailable (already stopped), the bind/listen system error
    // (address in use, permission denied). Each is logged with the address.
    result<void> listen(const listener_config& cfg, handler h);

    // bound_port - the port a listener is bound to (useful with port 0); 0 if unknown.
    std::uint16_t bound_port(std::string_view listener_name) const;

    void stop();
    bool shutting_down() const;
    std::size_t active_connections() const;
    const std::shared_ptr<tls_context>& tls() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

// parse_listen_address - an IPv4 or IPv6 literal, IPv6 optionally in brackets.
// Errors: errc::invalid_argument.
result<asio::ip::address> parse_listen_address(std::string_view text);

// peer_limit_key - the key per-IP limits count by: the IPv4 address (also for
// IPv4-mapped IPv6), or the IPv6 /64 prefix ("2001:db8:1:2::/64").
std::string peer_limit_key(const asio::ip::address& a);

}  // namespace polder::net
