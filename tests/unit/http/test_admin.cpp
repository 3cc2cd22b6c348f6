// test_admin.cpp - the admin listener: /healthz and /metrics over loopback.
#include <catch2/catch.hpp>

#include "harness.hpp"

#include "polder/http/admin_server.hpp"
#include "polder/metrics/metrics.hpp"

#include <atomic>

using namespace polder;
using namespace polder::http;
using namespace polder::http::test;
using namespace std::chrono_literals;

namespace {

// A runtime + net::server with an admin listener on an ephemeral port.
class admin_fixture {
public:
    explicit admin_fixture(admin_server::health_check check, std::chrono::steady_clock::duration timeout = 5s)
        : admin_("admintest", std::move(check), timeout) {
        net::limits l;
        l.shutdown_grace = std::chrono::seconds(1);
        net_ = std::make_unique<net::server>(rt_, l, nullptr);
        auto ok = admin_.listen(*net_, "127.0.0.1", 0);
        if (!ok) throw std::runtime_error("admin listen failed: " + ok.error().message());
        port_ = net_->bound_port("admin");
        thread_ = std::thread([this] { rt_.run(); });
    }
    ~admin_fixture() {
        rt_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return port_; }

private:
    net::runtime rt_{1, false};
    admin_server admin_;
    std::unique_ptr<net::server> net_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

bhttp::response<bhttp::string_body> fetch(std::uint16_t port, std::string_view method, std::string_view path) {
    raw_client c(port);
    c.send(std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    return c.read_response(method == "HEAD");
}

}  // namespace

TEST_CASE("admin healthz answers ok while the health check passes") {
    std::atomic<int> calls{0};
    admin_fixture a([&calls]() -> awaitable<bool> {
        ++calls;
        co_return true;
    });
    auto res = fetch(a.port(), "GET", "/healthz");
    CHECK(res.result_int() == 200);
    CHECK(res.body() == "ok\n");
    CHECK(calls.load() == 1);
    CHECK(fetch(a.port(), "HEAD", "/healthz").result_int() == 200);
}

TEST_CASE("admin healthz answers 503 when the health check fails, throws or hangs") {
    SECTION("returns false") {
        admin_fixture a([]() -> awaitable<bool> { co_return false; });
        auto res = fetch(a.port(), "GET", "/healthz");
        CHECK(res.result_int() == 503);
        CHECK(res.body() == "unavailable\n");
    }
    SECTION("throws") {
        admin_fixture a([]() -> awaitable<bool> {
            throw std::runtime_error("database down");
            co_return true;
        });
        const auto start = std::chrono::steady_clock::now();
        CHECK(fetch(a.port(), "GET", "/healthz").result_int() == 503);
        CHECK(std::chrono::steady_clock::now() - start < 2s);   // not held until the 5 s timeout
    }
    SECTION("takes longer than the timeout") {
        admin_fixture a(
            []() -> awaitable<bool> {
                asio::steady_timer t(co_await asio::this_coro::executor, 10s);
                co_await t.async_wait(use_awaitable);
                co_return true;
            },
            200ms);
        const auto start = std::chrono::steady_clock::now();
        CHECK(fetch(a.port(), "GET", "/healthz").result_int() == 503);
        CHECK(std::chrono::steady_clock::now() - start < 5s);
    }
}

TEST_CASE("admin metrics renders the global registry in the Prometheus text format") {
    metrics::registry::global()
        .counter_("polder_admintest_probe_total", "A counter only this test sets", {{"kind", "probe"}})
        .inc(7);
    admin_fixture a([]() -> awaitable<bool> { co_return true; });
    fetch(a.port(), "GET", "/healthz");
    auto res = fetch(a.port(), "GET", "/metrics");
    REQUIRE(res.result_int() == 200);
    CHECK(header_value(res.base(), "Content-Type") == "text/plain; version=0.0.4");
    const auto& body = res.body();
    CHECK(body.find("# TYPE polder_admintest_probe_total counter") != std::string::npos);
    CHECK(body.find("polder_admintest_probe_total{kind=\"probe\"} 7") != std::string::npos);
    // The admin listener's own request (the healthz above) is counted.
    CHECK(body.find("polder_http_requests_total{method=\"GET\",service=\"admintest-admin\",status_class=\"2xx\"}") !=
          std::string::npos);
    CHECK(body.find("# TYPE polder_http_request_duration_seconds histogram") != std::string::npos);
}

TEST_CASE("admin listener answers 404 to anything else") {
    admin_fixture a([]() -> awaitable<bool> { co_return true; });
    CHECK(fetch(a.port(), "GET", "/").result_int() == 404);
    CHECK(fetch(a.port(), "GET", "/healthz/x").result_int() == 404);
    CHECK(fetch(a.port(), "GET", "/metricsx").result_int() == 404);
    CHECK(fetch(a.port(), "POST", "/healthz").result_int() == 404);
    CHECK(fetch(a.port(), "DELETE", "/metrics").result_int() == 404);
}
