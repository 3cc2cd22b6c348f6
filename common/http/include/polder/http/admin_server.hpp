// polder/http/admin_server.hpp - the loopback admin listener every service runs.
//
//   http::admin_server admin("imap", [&]() -> awaitable<bool> { co_return co_await db_ok(); });
//   admin.listen(net_server, cfg.imap.common.admin_address, cfg.imap.common.admin_port);
//
//   GET /healthz → 200 "ok\n" when the health callback says true within the
//                  timeout; 503 "unavailable\n" when it says false, throws or
//                  takes too long (load balancers and `scripts/dev up --detach`
//                  poll this).
//   GET /metrics → metrics::registry::global().render(),
//                  Content-Type: text/plain; version=0.0.4 (Prometheus).
//   (HEAD works on both.) Anything else → 404.
//
// SECURITY: plain HTTP, meant for 127.0.0.1 (the default address); metrics
// contain no client data beyond bounded labels. No request bodies are accepted
// (max body 0), heads are limited to 8 KiB, idle connections close after 30 s.
// STANDARDS: RFC 9110 (GET/HEAD, 200/404/503), Prometheus text exposition 0.0.4.
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"
#include "polder/http/server.hpp"
#include "polder/net/server.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace polder::http {

class admin_server {
public:
    using health_check = std::function<awaitable<bool>()>;

    // service: names the metrics series (`<service>-admin`) and log lines.
    admin_server(std::string service, health_check check,
                 std::chrono::steady_clock::duration health_timeout = std::chrono::seconds(5));

    // handler - for a plain (tls_mode::none) net::server listener.
    net::handler handler();

    // listen - add a plain-HTTP listener named `name` on address:port (port 0 =
    // ephemeral; see net::server::bound_port). Errors: as net::server::listen.
    result<void> listen(net::server& srv, std::string address = "127.0.0.1", std::uint16_t port = 0,
                        std::string name = "admin");

    const std::shared_ptr<server>& http() const { return http_; }

private:
    std::shared_ptr<server> http_;
};

// Content type of /metrics (Prometheus text format 0.0.4).
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4";

}  // namespace polder::http
