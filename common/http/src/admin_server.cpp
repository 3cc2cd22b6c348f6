// admin_server.cpp - /healthz and /metrics on the loopback admin listener.
//
// SECURITY: the health callback is bounded by a timeout and its exceptions are
// contained (logged, answered 503); only GET/HEAD on two exact paths answer.
// STANDARDS: RFC 9110 9.3.1, 9.3.2, 15.3.1, 15.5.5, 15.6.4; Prometheus text 0.0.4.
#include "polder/http/admin_server.hpp"

#include "polder/log/log.hpp"
#include "polder/metrics/metrics.hpp"

#include <variant>

namespace polder::http {

namespace {

// guarded - the check with its exceptions turned into "unhealthy": an
// exception must end the wait at once, and `||` would otherwise keep waiting
// for the timer (it completes on the first success).
awaitable<bool> guarded(const admin_server::health_check& check, const std::string& service) {
    try {
        co_return co_await check();
    } catch (const std::exception& e) {
        log::warn("http.health_error", {{"service", service}, {"error", e.what()}});
    } catch (...) {
        log::warn("http.health_error", {{"service", service}, {"error", "unknown exception"}});
    }
    co_return false;
}

awaitable<bool> run_health_check(const admin_server::health_check& check,
                                 std::chrono::steady_clock::duration timeout, const std::string& service) {
    using namespace asio::experimental::awaitable_operators;
    if (!check) co_return true;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(timeout);
    auto outcome = co_await (guarded(check, service) || timer.async_wait(use_awaitable));
    if (outcome.index() == 1) {
        log::warn("http.health_timeout", {{"service", service}});
        co_return false;
    }
    co_return std::get<0>(outcome);
}

}  // namespace

admin_server::admin_server(std::string service, health_check check,
                           std::chrono::steady_clock::duration health_timeout) {
    auto shared_check = std::make_shared<health_check>(std::move(check));
    router routes;
    routes.add("*", "/",
               [shared_check, health_timeout, service](request& req) -> awaitable<response> {
                   const bool get = req.method() == verb::get || req.method() == verb::head;
                   if (get && req.path() == "/healthz") {
                       const bool ok = co_await run_health_check(*shared_check, health_timeout, service);
                       auto res = ok ? text_response(status::ok, "ok\n")
                                     : text_response(status::service_unavailable, "unavailable\n");
                       res.headers.set(field::cache_control, "no-store");
                       co_return res;
                   }
                   if (get && req.path() == "/metrics") {
                       auto res = text_response(status::ok, metrics::registry::global().render(),
                                                prometheus_content_type);
                       res.headers.set(field::cache_control, "no-store");
                       co_return res;
                   }
                   co_return error_response(status::not_found, "not found");
               },
               {.max_body = 0});

    server_options opt;
    opt.service = service + "-admin";
    opt.head.max_header_bytes = 8 * 1024;
    opt.head.max_header_fields = 50;
    opt.max_body_bytes = 0;
    opt.header_timeout = std::chrono::seconds(10);
    opt.body_read_timeout = std::chrono::seconds(10);
    opt.write_timeout = std::chrono::seconds(30);
    opt.idle_timeout = std::chrono::seconds(30);
    // Scrapes every few seconds would drown the service's own access lines;
    // the requests are still counted in polder_http_requests_total.
    opt.access_log = false;
    http_ = std::make_shared<server>(std::move(routes), std::move(opt));
}

net::handler admin_server::handler() { return http_->handler(); }

result<void> admin_server::listen(net::server& srv, std::string address, std::uint16_t port, std::string name) {
    net::listener_config cfg;
    cfg.name = std::move(name);
    cfg.address = std::move(address);
    cfg.port = port;
    cfg.tls = net::tls_mode::none;
    cfg.proxy_protocol = false;   // monitoring connects directly, never through the balancer
    cfg.per_ip_limit = false;
    return srv.listen(cfg, handler());
}

}  // namespace polder::http
