// harness.hpp - a real loopback server (net::runtime + net::server +
// http::server on an ephemeral port) and a blocking raw-socket client whose
// every read has a timeout, so a misbehaving server fails a test instead of
// hanging it.
#pragma once

#include "polder/http/server.hpp"
#include "polder/log/log.hpp"
#include "polder/net/net.hpp"

#include <boost/beast/http.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace polder::http::test {

namespace bhttp = boost::beast::http;

class test_server {
public:
    explicit test_server(router routes, server_options options = {}, std::shared_ptr<net::tls_context> tls = {});
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const { return port_; }
    http::server& http() { return *http_; }
    net::server& net() { return *net_; }

private:
    net::runtime rt_{2, false};
    std::unique_ptr<net::server> net_;
    std::shared_ptr<http::server> http_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

class raw_client {
public:
    explicit raw_client(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    ~raw_client();
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    void send(std::string_view bytes);
    // read_response - the next response (an interim 1xx is a response of its own).
    // Throws std::runtime_error on timeout or when the server closes first.
    bhttp::response<bhttp::string_body> read_response(bool head_request = false);
    // read_streamed - the next response, its body handed to `sink` piece by
    // piece (never held whole); returns the head.
    bhttp::response_header<> read_streamed(const std::function<void(std::string_view)>& sink);
    // closed_by_server - true when the server ends the connection (EOF or reset)
    // within the timeout, with no further bytes.
    bool closed_by_server();
    // drained_until_closed - like closed_by_server, but any bytes the server
    // sends first (a TLS alert, say) are read and dropped.
    bool drained_until_closed();
    void shutdown_write();

private:
    bool fill();   // false on EOF
    template <class Parser>
    void pump(Parser& p);

    int fd_ = -1;
    std::string buffer_;
};

// log_capture - collects log lines while alive.
class log_capture {
public:
    log_capture();
    ~log_capture();
    std::vector<std::string> lines() const;
    std::vector<std::string> lines_with(std::string_view needle) const;

private:
    std::function<std::vector<std::string>()> reader_;
};

std::string header_value(const bhttp::response_header<>& h, std::string_view name);

}  // namespace polder::http::test
