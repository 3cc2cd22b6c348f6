// test_metrics.cpp - metric semantics and the exact Prometheus text rendering.
//
// SECURITY: label values and help texts with quotes, backslashes and newlines
// must not break the exposition format.
// STANDARDS: Prometheus text exposition format 0.0.4.
#include <catch2/catch.hpp>

#include "polder/metrics/metrics.hpp"

#include <thread>
#include <vector>

using namespace polder::metrics;

TEST_CASE("a registry renders counters and gauges with HELP and TYPE lines, sorted") {
    registry r;
    r.counter_("polder_smtp_messages_total", "Messages accepted", {{"listener", "mx"}}).inc(3);
    r.counter_("polder_smtp_messages_total", "Messages accepted", {{"listener", "submission"}}).inc();
    r.gauge_("polder_connections_active", "Open connections", {{"listener", "imap"}}).set(12);
    r.gauge_("polder_queue_length", "Messages waiting").add(-2);
    CHECK(r.render() ==
          "# HELP polder_connections_active Open connections\n"
          "# TYPE polder_connections_active gauge\n"
          "polder_connections_active{listener=\"imap\"} 12\n"
          "# HELP polder_queue_length Messages waiting\n"
          "# TYPE polder_queue_length gauge\n"
          "polder_queue_length -2\n"
          "# HELP polder_smtp_messages_total Messages accepted\n"
          "# TYPE polder_smtp_messages_total counter\n"
          "polder_smtp_messages_total{listener=\"mx\"} 3\n"
          "polder_smtp_messages_total{listener=\"submission\"} 1\n");
}

TEST_CASE("registering the same name and labels returns the same metric") {
    registry r;
    auto& a = r.counter_("x_total", "x", {{"b", "2"}, {"a", "1"}});
    auto& b = r.counter_("x_total", "x", {{"a", "1"}, {"b", "2"}});  // label order does not matter
    CHECK(&a == &b);
    a.inc(2);
    CHECK(b.value() == 2);
    CHECK(r.render() == "# HELP x_total x\n# TYPE x_total counter\nx_total{a=\"1\",b=\"2\"} 2\n");
}

TEST_CASE("label values and help text are escaped") {
    registry r;
    r.counter_("odd_total", "Help with \\ backslash\nand newline", {{"v", "q\"uo\\te\nnl"}}).inc();
    CHECK(r.render() ==
          "# HELP odd_total Help with \\\\ backslash\\nand newline\n"
          "# TYPE odd_total counter\n"
          "odd_total{v=\"q\\\"uo\\\\te\\nnl\"} 1\n");
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count") {
    registry r;
    const double bounds[] = {0.1, 0.5, 1};
    auto& h = r.histogram_("polder_http_request_seconds", "Request latency", {{"class", "2xx"}}, bounds);
    h.observe(0.05);
    h.observe(0.1);  // on the bound: counted in le="0.1"
    h.observe(0.3);
    h.observe(7);
    CHECK(r.render() ==
          "# HELP polder_http_request_seconds Request latency\n"
          "# TYPE polder_http_request_seconds histogram\n"
          "polder_http_request_seconds_bucket{class=\"2xx\",le=\"0.1\"} 2\n"
          "polder_http_request_seconds_bucket{class=\"2xx\",le=\"0.5\"} 3\n"
          "polder_http_request_seconds_bucket{class=\"2xx\",le=\"1\"} 3\n"
          "polder_http_request_seconds_bucket{class=\"2xx\",le=\"+Inf\"} 4\n"
          "polder_http_request_seconds_sum{class=\"2xx\"} 7.45\n"
          "polder_http_request_seconds_count{class=\"2xx\"} 4\n");
}

TEST_CASE("a histogram without labels uses the default latency buckets") {
    registry r;
    auto& h = r.histogram_("lat_seconds", "l");
    h.observe(0.002);
    std::string out = r.render();
    CHECK(out.find("lat_seconds_bucket{le=\"0.001\"} 0\n") != std::string::npos);
    CHECK(out.find("lat_seconds_bucket{le=\"0.0025\"} 1\n") != std::string::npos);
    CHECK(out.find("lat_seconds_bucket{le=\"60\"} 1\n") != std::string::npos);
    CHECK(out.find("lat_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
    CHECK(out.find("lat_seconds_sum 0.002\n") != std::string::npos);
    CHECK(out.find("lat_seconds_count 1\n") != std::string::npos);
    CHECK(std::count(out.begin(), out.end(), '\n') == 2 + latency_buckets.size() + 1 + 2);
}

TEST_CASE("invalid names and label sets are refused at registration") {
    registry r;
    CHECK_THROWS_AS(r.counter_("1bad", "x"), std::invalid_argument);
    CHECK_THROWS_AS(r.counter_("bad-name", "x"), std::invalid_argument);
    CHECK_THROWS_AS(r.counter_("ok_total", "x", {{"bad-label", "v"}}), std::invalid_argument);
    CHECK_THROWS_AS(r.counter_("ok_total", "x", {{"__reserved", "v"}}), std::invalid_argument);
    CHECK_THROWS_AS(r.counter_("ok_total", "x", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
    CHECK_THROWS_AS(r.histogram_("h_seconds", "x", {{"le", "1"}}), std::invalid_argument);
    r.counter_("taken", "x");
    CHECK_THROWS_AS(r.gauge_("taken", "x"), std::logic_error);
    const double unsorted[] = {1, 0.5};
    CHECK_THROWS_AS(r.histogram_("h2_seconds", "x", {}, unsorted), std::invalid_argument);
    CHECK(valid_metric_name("polder:rule_total"));
    CHECK_FALSE(valid_metric_name(""));
}

TEST_CASE("values are formatted as Prometheus expects") {
    CHECK(format_value(1) == "1");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(-3.5) == "-3.5");
    CHECK(format_value(1.0 / 0.0) == "+Inf");
    CHECK(format_value(-1.0 / 0.0) == "-Inf");
    CHECK(format_value(0.0 / 0.0) == "NaN");
}

TEST_CASE("metrics updated from many threads lose no increments") {
    registry r;
    auto& c = r.counter_("c_total", "c");
    auto& g = r.gauge_("g", "g");
    auto& h = r.histogram_("h_seconds", "h");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                c.inc();
                g.inc();
                g.dec();
                g.inc();
                h.observe(0.5);
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(c.value() == 40000);
    CHECK(g.value() == 40000);
    auto s = h.read();
    CHECK(s.count == 40000);
    CHECK(s.sum == Approx(20000.0));
}

TEST_CASE("the global registry is one shared instance") {
    auto& a = registry::global().counter_("polder_test_global_total", "t");
    auto& b = registry::global().counter_("polder_test_global_total", "t");
    CHECK(&a == &b);
}
