// polder/net/connection.hpp - what a session knows about its connection:
// listener configuration, limits, identity, and the server's shutdown signal.
//
// SECURITY: `loopback` is derived from the peer address the kernel reports
// (never from client data); services use it to allow plaintext auth only on
// loopback in development.
//
// STANDARDS: none (plain data types).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/net/proxy_protocol.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace polder::net {

enum class tls_mode { none, implicit, starttls };  // starttls: plain until the session upgrades

// refusal_hook - the one line (terminator included, e.g. "421 4.7.0 Too many
// connections\r\n") written to a connection refused because of a limit
// ("per_ip", "total", "shutting_down"). The server writes it without waiting
// (a fresh socket's send buffer always takes one short line) and closes. An
// empty result writes nothing. Not used for implicit-TLS listeners: plaintext
// there would be garbage to the client.
struct connection_info;
using refusal_hook = std::function<std::string(const connection_info&, std::string_view reason)>;

struct listener_config {
    std::string name;                   // metrics label and log field: "imap", "submission", ...
    std::string address = "127.0.0.1"; // IPv4 or IPv6 literal ("::1", "[::1]", "0.0.0.0", "::")
    std::uint16_t port = 0;             // 0 binds an ephemeral port; see server::bound_port
    tls_mode tls = tls_mode::none;
    refusal_hook on_refused = {};       // optional
    // per_ip_limit - false for the admin port: health checks and metrics scrapes from a
    // monitoring host must not take the per-IP slots of the service's clients on that
    // host, nor be refused when clients fill them (max_connections still applies).
    bool per_ip_limit = true;
    // proxy_protocol - whether peers in limits::proxy_from must begin with a PROXY
    // protocol header naming the client (false for the admin port).
    bool proxy_protocol = true;
};

struct limits {
    std::size_t max_connections = 10000;
    std::size_t max_connections_per_ip = 50;  // IPv6 peers count per /64 (one site or host)
    std::chrono::seconds idle_timeout{300};   // handed to sessions in connection_info
    std::chrono::seconds shutdown_grace{10};  // after stop(), sessions still open are force-closed
    // Load balancers: a connection from one of these must begin with a PROXY protocol
    // header (v1 or v2, proxy_protocol.hpp) within proxy_header_timeout, and counts as
    // the client's it names (limits, logs, loopback); others connect directly as before.
    std::vector<ip_network> proxy_from;
    std::chrono::milliseconds proxy_header_timeout{5000};
};

// connection_control - per-connection shutdown notification, shared between
// the server and the session. Thread-safe.
class connection_control : public std::enable_shared_from_this<connection_control> {
public:
    connection_control(asio::any_io_executor session_executor, std::shared_ptr<const std::atomic<bool>> stopping);

    // shutting_down - the server stopped accepting; finish the current command,
    // say goodbye (IMAP "* BYE", SMTP "421") and end.
    bool shutting_down() const noexcept { return stopping_->load(std::memory_order_acquire); }

    // on_shutdown - cb runs once on the session's executor when the server
    // stops (at once, posted, if it already has). Typical use: wake a session
    // idling in a read, e.g. [&s]{ s->cancel(); }.
    void on_shutdown(std::function<void()> cb);

    // Used by the server.
    void notify_shutdown();
    void force_close();  // terminal cancellation of the session coroutine
    asio::cancellation_slot slot() { return signal_.slot(); }
    const asio::any_io_executor& executor() const { return executor_; }

private:
    asio::any_io_executor executor_;
    std::shared_ptr<const std::atomic<bool>> stopping_;
    std::mutex mutex_;
    std::vector<std::function<void()>> callbacks_;
    bool notified_ = false;
    asio::cancellation_signal signal_;  // touched only on executor_
};

struct connection_info {
    std::uint64_t id = 0;  // unique in the process; log it as `conn`
    std::string listener;
    std::string peer_address;  // textual, IPv4-mapped IPv6 shown as IPv4
    std::uint16_t peer_port = 0;
    std::string proxy_address;  // the load balancer's, when a PROXY header named the peer
    bool loopback = false;      // the peer (the client a PROXY header named) is on loopback
    tls_mode tls = tls_mode::none;
    std::chrono::steady_clock::duration idle_timeout{std::chrono::seconds(300)};
    std::shared_ptr<connection_control> control;  // null only in hand-made infos (tests)

    bool shutting_down() const noexcept { return control && control->shutting_down(); }
};

}  // namespace polder::net
