// test_server.cpp - the HTTP server against a real loopback connection.
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "self_signed.hpp"

#include "polder/http/server.hpp"
#include "polder/metrics/metrics.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>

using namespace polder;
using namespace polder::http;
using namespace polder::http::test;
using namespace std::chrono_literals;

namespace {

std::string get(std::string_view path, std::string_view extra = {}) {
    return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

handler echo_path() {
    return [](request& req) -> awaitable<response> {
        co_return text_response(status::ok, std::string(req.path()) + " conn=" + std::to_string(req.connection().id));
    };
}

// A body of `size` bytes whose byte i is i % 251: checkable without storing it.
char pattern(std::uint64_t i) { return static_cast<char>(i % 251); }

std::unique_ptr<body_source> pattern_source(std::uint64_t size, std::size_t step) {
    auto offset = std::make_shared<std::uint64_t>(0);
    return make_body_source([offset, size, step](std::span<char> buf) -> awaitable<result<std::size_t>> {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>({buf.size(), step, size - *offset}));
        for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(*offset + i);
        *offset += n;
        co_return n;
    });
}

long rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

}  // namespace

TEST_CASE("http server keeps a connection alive for three requests") {
    router r;
    r.add("GET", "/", echo_path());
    test_server s(std::move(r));
    raw_client c(s.port());
    std::string conn;
    for (auto path : {"/one", "/two", "/three"}) {
        c.send(get(path));
        auto res = c.read_response();
        REQUIRE(res.result_int() == 200);
        CHECK(res.keep_alive());
        CHECK(res.body().rfind(path, 0) == 0);
        const auto this_conn = res.body().substr(res.body().find("conn="));
        if (conn.empty()) conn = this_conn;
        CHECK(this_conn == conn);   // one connection served all three
        CHECK_FALSE(header_value(res.base(), "X-Request-Id").empty());
        CHECK_FALSE(header_value(res.base(), "Date").empty());
    }
}

TEST_CASE("http server answers pipelined requests in order") {
    router r;
    // Later requests finish their work sooner: the answers must still come in
    // request order.
    r.add("GET", "/slow", [](request& req) -> awaitable<response> {
        const int n = std::stoi(std::string(req.path().substr(6)));
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(50 * (5 - n)));
        co_await t.async_wait(use_awaitable);
        co_return text_response(status::ok, "slow " + std::to_string(n));
    });
    r.add("POST", "/echo", [](request& req) -> awaitable<response> {
        auto body = co_await req.read_body();
        co_return text_response(status::ok, "echo " + body.value());
    });
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send(get("/slow/1") + get("/slow/2") +
           "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello" + get("/slow/3") + get("/slow/4"));
    const char* expect[] = {"slow 1", "slow 2", "echo hello", "slow 3", "slow 4"};
    for (auto e : expect) {
        auto res = c.read_response();
        REQUIRE(res.result_int() == 200);
        CHECK(res.body() == e);
    }
}

TEST_CASE("http server streams a chunked request body to the handler in pieces") {
    std::promise<void> first_piece;
    auto first = first_piece.get_future();
    router r;
    r.add(
        "PUT", "/upload",
        [&first_piece](request& req) -> awaitable<response> {
            std::array<char, 4096> buf;
            std::string all;
            std::size_t pieces = 0;
            for (;;) {
                auto n = co_await req.read_some(buf);
                if (!n) co_return error_response(status_for_body_error(n.error()), "read failed");
                if (*n == 0) break;
                if (pieces++ == 0) first_piece.set_value();
                all.append(buf.data(), *n);
            }
            co_return text_response(status::ok, std::to_string(all.size()) + " " + std::to_string(pieces) + " " +
                                                    all.substr(0, 5) + all.substr(all.size() - 3));
        },
        {.max_body = 1 << 20});
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("PUT /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    // The handler sees the first piece while the rest has not even been sent.
    REQUIRE(first.wait_for(10s) == std::future_status::ready);
    const std::string block(10000, 'x');
    for (int i = 0; i < 3; ++i) c.send("2710\r\n" + block + "\r\n");
    c.send("3;ext=1\r\nend\r\n0\r\n\r\n");
    auto res = c.read_response();
    REQUIRE(res.result_int() == 200);
    const auto& b = res.body();
    CHECK(b.substr(0, b.find(' ')) == "30008");
    const auto pieces = std::stoul(b.substr(b.find(' ') + 1));
    CHECK(pieces >= 4);
    CHECK(b.substr(b.rfind(' ') + 1) == "helloend");
    CHECK(res.keep_alive());
}

TEST_CASE("http server streams a 50 MiB response while its buffers stay bounded") {
    static constexpr std::uint64_t size = 50ull << 20;
    router r;
    r.add("GET", "/big", [](request&) -> awaitable<response> {
        co_return stream_response(status::ok, pattern_source(size, 256 * 1024), size);
    });
    r.add("GET", "/big-chunked", [](request&) -> awaitable<response> {
        co_return stream_response(status::ok, pattern_source(size, 256 * 1024), std::nullopt);
    });
    test_server s(std::move(r));
    raw_client c(s.port());
    const long rss_before = rss_kib();

    for (std::string path : {"/big", "/big-chunked"}) {
        INFO(path);
        c.send(get(path));
        std::uint64_t received = 0;
        bool pattern_ok = true;
        bool paused = false;
        auto head = c.read_streamed([&](std::string_view piece) {
            for (std::size_t i = 0; i < piece.size() && pattern_ok; ++i)
                pattern_ok = piece[i] == pattern(received + i);
            received += piece.size();
            if (!paused && received > (10u << 20)) {
                // A slow client: the server must wait, not buffer ahead.
                paused = true;
                std::this_thread::sleep_for(300ms);
            }
        });
        CHECK(head.result_int() == 200);
        CHECK(received == size);
        CHECK(pattern_ok);
        if (path == "/big")
            CHECK(header_value(head, "Content-Length") == std::to_string(size));
        else
            CHECK(header_value(head, "Transfer-Encoding") == "chunked");
    }
    // What this layer held at most: the read buffer (16 KiB head limit + 64 KiB
    // read size) and one 256 KiB response chunk - not the 50 MiB.
    const auto stats = s.http().buffered();
    INFO("peak buffered bytes " << stats.peak);
    CHECK(stats.peak <= 16 * 1024 + 64 * 1024 + 256 * 1024 + 1024);
    CHECK(stats.peak >= 256 * 1024);   // the chunk buffer was counted: the probe works
    const long rss_after = rss_kib();
    INFO("RSS grew by " << (rss_after - rss_before) << " KiB");
    CHECK(rss_after - rss_before < 32 * 1024);
}

// A source over an open descriptor: file() offers it as a range (sendfile), read()
// preads it (the fallback). `announce` is the length file() claims.
class fd_source final : public body_source {
public:
    fd_source(int fd, std::uint64_t offset, std::uint64_t announce) : fd_(fd), at_(offset), announce_(announce) {}
    ~fd_source() override { ::close(fd_); }
    awaitable<result<std::size_t>> read(std::span<char> buf) override {
        ++reads;
        const ssize_t n = ::read(fd_, buf.data(), buf.size());
        if (n < 0) co_return boost::system::error_code(errno, boost::system::system_category());
        co_return static_cast<std::size_t>(n);
    }
    std::optional<file_range> file() const override { return file_range{fd_, at_, announce_}; }
    static inline std::atomic<int> reads{0};

private:
    int fd_;
    std::uint64_t at_;
    std::uint64_t announce_;
};

std::uint64_t sendfile_bytes(std::string_view service) {
    const auto text = metrics::registry::global().render();
    const auto key = "polder_http_sendfile_bytes_total{service=\"" + std::string(service) + "\"} ";
    const auto at = text.find(key);
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + key.size()));
}

TEST_CASE("http server sends a file range with sendfile, and through read() when the descriptor cannot") {
    static constexpr std::uint64_t size = 20ull << 20;
    char name[] = "/tmp/polder-sendfile-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::unlink(name);
    {
        std::string block(1 << 20, '\0');
        for (std::uint64_t at = 0; at < size; at += block.size()) {
            for (std::size_t i = 0; i < block.size(); ++i) block[i] = pattern(at + i);
            REQUIRE(::write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size()));
        }
    }
    router r;
    // The file from offset 1000: its own descriptor, so the sources do not share one.
    r.add("GET", "/file", [&](request&) -> awaitable<response> {
        const int own = ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY);
        co_return stream_response(status::ok, std::make_unique<fd_source>(own, 1000, size - 1000), size - 1000);
    });
    // A pipe: sendfile(2) with an offset refuses it (ESPIPE) before any byte goes.
    r.add("GET", "/pipe", [](request&) -> awaitable<response> {
        int p[2];
        if (::pipe(p) != 0) co_return error_response(status::internal_server_error, "pipe");
        const std::string text = "through the buffer\n";
        (void)!::write(p[1], text.data(), text.size());
        ::close(p[1]);
        co_return stream_response(status::ok, std::make_unique<fd_source>(p[0], 0, text.size()), text.size());
    });
    // A range claimed longer than the file: the session must not send a short body.
    r.add("GET", "/short", [&](request&) -> awaitable<response> {
        const int own = ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDONLY);
        co_return stream_response(status::ok, std::make_unique<fd_source>(own, size - 10, 20), 20);
    });
    server_options o;
    o.service = "sendfiletest";
    test_server s(std::move(r), o);

    {
        raw_client c(s.port());
        c.send(get("/file"));
        std::uint64_t received = 0;
        bool pattern_ok = true;
        bool paused = false;
        auto head = c.read_streamed([&](std::string_view piece) {
            for (std::size_t i = 0; i < piece.size() && pattern_ok; ++i) pattern_ok = piece[i] == pattern(1000 + received + i);
            received += piece.size();
            if (!paused && received > (4u << 20)) {
                paused = true;   // the socket fills: the session waits for it to drain
                std::this_thread::sleep_for(300ms);
            }
        });
        CHECK(head.result_int() == 200);
        CHECK(received == size - 1000);
        CHECK(pattern_ok);
        CHECK(sendfile_bytes("sendfiletest") == size - 1000);
        // The connection stays usable after a sendfile body.
        fd_source::reads = 0;
        c.send(get("/pipe"));
        auto res = c.read_response();
        CHECK(res.result_int() == 200);
        CHECK(res.body() == "through the buffer\n");
        CHECK(fd_source::reads > 0);
        CHECK(sendfile_bytes("sendfiletest") == size - 1000);
        // What this layer buffered for the 20 MiB: nothing beyond the read buffer.
        CHECK(s.http().buffered().peak < 16 * 1024 + 64 * 1024 + 256 * 1024 + 1024);
    }
    {
        raw_client c(s.port());
        c.send(get("/short"));
        std::uint64_t received = 0;
        // The 10 bytes the file has, then the end of the connection: never a response
        // that looks complete.
        CHECK_THROWS(c.read_streamed([&](std::string_view piece) { received += piece.size(); }));
        CHECK(received == 10);
        CHECK(c.closed_by_server());
    }
    ::close(fd);
}

TEST_CASE("http server answers 431 to a 64 KiB header and closes") {
    router r;
    r.add("GET", "/", echo_path());
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send(get("/", "X-Huge: " + std::string(64 * 1024, 'a') + "\r\n"));
    auto res = c.read_response();
    CHECK(res.result_int() == 431);
    CHECK_FALSE(res.keep_alive());
    CHECK(c.closed_by_server());
}

TEST_CASE("http server answers 431 to too many header fields") {
    router r;
    r.add("GET", "/", echo_path());
    server_options o;
    o.head.max_header_fields = 10;
    test_server s(std::move(r), o);
    raw_client c(s.port());
    std::string extra;
    for (int i = 0; i < 11; ++i) extra += "X-" + std::to_string(i) + ": v\r\n";
    c.send(get("/", extra));
    CHECK(c.read_response().result_int() == 431);
}

TEST_CASE("http server answers 413 to a Content-Length over the route limit without calling the handler") {
    std::atomic<bool> called{false};
    router r;
    r.add(
        "PUT", "/small",
        [&called](request& req) -> awaitable<response> {
            called = true;
            co_return text_response(status::ok, "ok");
        },
        {.max_body = 1000});
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("PUT /small HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
    auto res = c.read_response();
    CHECK(res.result_int() == 413);
    CHECK_FALSE(res.keep_alive());
    CHECK_FALSE(called.load());
    CHECK(c.closed_by_server());
}

TEST_CASE("http server answers 413 when a chunked body grows past the limit") {
    router r;
    r.add(
        "PUT", "/small",
        [](request& req) -> awaitable<response> {
            auto body = co_await req.read_body();
            // Even a handler that ignores the error cannot turn it into a success.
            co_return text_response(status::ok, body ? "read" : "ignored");
        },
        {.max_body = 1000});
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("PUT /small HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; ++i) c.send("200\r\n" + std::string(512, 'y') + "\r\n");
    auto res = c.read_response();
    CHECK(res.result_int() == 413);
    CHECK_FALSE(res.keep_alive());
}

TEST_CASE("a handler may lower the body limit for one request") {
    router r;
    r.add(
        "PUT", "/quota",
        [](request& req) -> awaitable<response> {
            req.set_body_limit(10);
            auto body = co_await req.read_body();
            if (!body) co_return error_response(status::insufficient_storage, "over quota");
            co_return text_response(status::ok, *body);
        },
        {.max_body = 1000});
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("PUT /quota HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nsmall");
    auto ok = c.read_response();
    CHECK(ok.result_int() == 200);
    CHECK(ok.body() == "small");
    c.send("PUT /quota HTTP/1.1\r\nHost: test\r\nContent-Length: 50\r\n\r\n" + std::string(50, 'z'));
    auto refused = c.read_response();
    CHECK(refused.result_int() == 507);   // the handler's own 4xx/5xx stands
    CHECK_FALSE(refused.keep_alive());
}

TEST_CASE("http server answers 400 to garbage and closes") {
    router r;
    r.add("GET", "/", echo_path());
    test_server s(std::move(r));
    for (const std::string& garbage : std::vector<std::string>{"GARBAGE\r\n\r\n", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 \r\n\r\n", 17),
                                "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
        raw_client c(s.port());
        c.send(garbage);
        auto res = c.read_response();
        CHECK(res.result_int() == 400);
        CHECK_FALSE(res.body().empty());
        CHECK_FALSE(res.keep_alive());
        CHECK(c.closed_by_server());
    }
}

TEST_CASE("http server closes the connection after a malformed chunked body") {
    router r;
    r.add("POST", "/", [](request& req) -> awaitable<response> {
        auto body = co_await req.read_body();
        co_return text_response(status::ok, body ? *body : "failed");
    });
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
    auto res = c.read_response();
    CHECK(res.result_int() == 400);
    CHECK(c.closed_by_server());
}

TEST_CASE("http server sends 100 Continue only when the handler reads the body") {
    router r;
    r.add("PUT", "/upload", [](request& req) -> awaitable<response> {
        auto body = co_await req.read_body();
        co_return text_response(status::created, "got " + body.value());
    });
    r.add("PUT", "/refuse", [](request&) -> awaitable<response> {
        co_return error_response(status::forbidden, "no");
    });
    test_server s(std::move(r));
    {
        raw_client c(s.port());
        c.send("PUT /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
        auto interim = c.read_response();
        REQUIRE(interim.result_int() == 100);
        c.send("hello world");
        auto res = c.read_response();
        CHECK(res.result_int() == 201);
        CHECK(res.body() == "got hello world");
        CHECK(res.keep_alive());
    }
    {
        raw_client c(s.port());
        c.send("PUT /refuse HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n");
        auto res = c.read_response();
        CHECK(res.result_int() == 403);   // no 100 first: the body was never wanted
        CHECK_FALSE(res.keep_alive());
    }
    {
        raw_client c(s.port());
        c.send("PUT /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\nExpect: 100-continue-please\r\n\r\n");
        CHECK(c.read_response().result_int() == 417);
    }
}

TEST_CASE("http server drains a small unread body and keeps the connection") {
    router r;
    r.add("POST", "/ignore", [](request&) -> awaitable<response> { co_return text_response(status::ok, "ignored"); });
    r.add("GET", "/", echo_path());
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("POST /ignore HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'q') + get("/after"));
    auto first = c.read_response();
    CHECK(first.result_int() == 200);
    CHECK(first.keep_alive());
    auto second = c.read_response();
    CHECK(second.result_int() == 200);
    CHECK(second.body().rfind("/after", 0) == 0);
}

TEST_CASE("http server turns a handler exception into a 500, logs it with the request id and keeps going") {
    router r;
    r.add("GET", "/throw", [](request&) -> awaitable<response> {
        throw std::runtime_error("secret database detail");
        co_return text_response(status::ok, "unreachable");
    });
    r.add("GET", "/", echo_path());
    log_capture logs;
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send(get("/throw"));
    auto res = c.read_response();
    CHECK(res.result_int() == 500);
    CHECK(res.body() == "internal server error\n");
    CHECK(res.body().find("secret") == std::string::npos);
    const auto id = header_value(res.base(), "X-Request-Id");
    REQUIRE_FALSE(id.empty());
    const auto errors = logs.lines_with("http.handler_error");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("req=" + id) != std::string::npos);
    CHECK(errors[0].find("secret database detail") != std::string::npos);
    c.send(get("/still-alive"));
    CHECK(c.read_response().result_int() == 200);
}

TEST_CASE("http server answers 404 for unknown paths and 405 with Allow for unknown methods") {
    router r;
    r.add("GET", "/files", echo_path());
    r.add("PUT", "/files", echo_path());
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send(get("/nothing"));
    auto nf = c.read_response();
    CHECK(nf.result_int() == 404);
    CHECK(nf.keep_alive());
    c.send("DELETE /files/x HTTP/1.1\r\nHost: test\r\n\r\n");
    auto na = c.read_response();
    CHECK(na.result_int() == 405);
    CHECK(header_value(na.base(), "Allow") == "GET, HEAD, PUT");
}

TEST_CASE("http server answers HEAD with the length but without a body") {
    router r;
    r.add("GET", "/doc", [](request&) -> awaitable<response> { co_return text_response(status::ok, "twelve bytes"); });
    r.add("GET", "/file", [](request& req) -> awaitable<response> {
        co_return stream_response(status::ok, pattern_source(1000, 100), 1000);
    });
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("HEAD /doc HTTP/1.1\r\nHost: test\r\n\r\n");
    auto a = c.read_response(true);
    CHECK(a.result_int() == 200);
    CHECK(header_value(a.base(), "Content-Length") == "12");
    c.send("HEAD /file HTTP/1.1\r\nHost: test\r\n\r\n");
    auto b = c.read_response(true);
    CHECK(header_value(b.base(), "Content-Length") == "1000");
    // Had a body been sent, this response would be read from the middle of it.
    c.send(get("/doc"));
    auto g = c.read_response();
    CHECK(g.result_int() == 200);
    CHECK(g.body() == "twelve bytes");
}

TEST_CASE("http server ends an unknown-length body to an HTTP/1.0 client by closing") {
    router r;
    r.add("GET", "/stream", [](request&) -> awaitable<response> {
        co_return stream_response(status::ok, pattern_source(5000, 700), std::nullopt);
    });
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("GET /stream HTTP/1.0\r\n\r\n");
    auto res = c.read_response();
    CHECK(res.result_int() == 200);
    CHECK(res.body().size() == 5000);
    CHECK(header_value(res.base(), "Transfer-Encoding").empty());
    CHECK(c.closed_by_server());
}

TEST_CASE("http server keeps an HTTP/1.0 keep-alive connection open") {
    router r;
    r.add("GET", "/", echo_path());
    test_server s(std::move(r));
    raw_client c(s.port());
    c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto a = c.read_response();
    CHECK(header_value(a.base(), "Connection") == "keep-alive");
    c.send("GET /b HTTP/1.0\r\n\r\n");
    auto b = c.read_response();
    CHECK(b.body().rfind("/b", 0) == 0);
    CHECK(c.closed_by_server());
}

TEST_CASE("http server closes an idle keep-alive connection after the idle timeout") {
    router r;
    r.add("GET", "/", echo_path());
    server_options o;
    o.idle_timeout = 300ms;
    test_server s(std::move(r), o);
    raw_client c(s.port(), 5s);
    c.send(get("/"));
    CHECK(c.read_response().result_int() == 200);
    const auto start = std::chrono::steady_clock::now();
    CHECK(c.closed_by_server());
    CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("http server drops a client whose head trickles in past the header timeout") {
    router r;
    r.add("GET", "/", echo_path());
    server_options o;
    o.header_timeout = 300ms;
    test_server s(std::move(r), o);
    raw_client c(s.port(), 5s);
    c.send("GET / HTTP/1.1\r\n");
    std::this_thread::sleep_for(150ms);
    c.send("Host: test\r\n");
    CHECK(c.closed_by_server());
}

TEST_CASE("http server closes idle connections when the net server stops") {
    router r;
    r.add("GET", "/", echo_path());
    test_server s(std::move(r));
    raw_client c(s.port(), 5s);
    c.send(get("/"));
    CHECK(c.read_response().result_int() == 200);
    const auto start = std::chrono::steady_clock::now();
    s.net().stop();
    CHECK(c.closed_by_server());
    CHECK(std::chrono::steady_clock::now() - start < 900ms);   // woken, not force-closed after the grace period
}

TEST_CASE("http server writes one access line per request with conn and request id") {
    router r;
    r.add("GET", "/", [](request& req) -> awaitable<response> {
        req.set_user("alice@example.test");
        co_return text_response(status::ok, "hi");
    });
    log_capture logs;
    server_options o;
    o.service = "accesslog";
    test_server s(std::move(r), o);
    raw_client c(s.port());
    std::vector<std::string> ids;
    for (int i = 0; i < 2; ++i) {
        c.send(get("/p?secret=token"));
        ids.push_back(header_value(c.read_response().base(), "X-Request-Id"));
    }
    std::this_thread::sleep_for(50ms);
    const auto lines = logs.lines_with("event=http.access");
    REQUIRE(lines.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(lines[i].find("req=" + ids[i]) != std::string::npos);
        CHECK(lines[i].find("conn=") != std::string::npos);
        CHECK(lines[i].find("status=200") != std::string::npos);
        CHECK(lines[i].find("user=alice@example.test") != std::string::npos);
        CHECK(lines[i].find("secret=token") == std::string::npos);   // the query is not logged
    }
}

TEST_CASE("http server counts requests by status class and observes their duration") {
    router r;
    r.add("GET", "/", echo_path());
    server_options o;
    o.service = "countingtest";
    test_server s(std::move(r), o);
    raw_client c(s.port());
    c.send(get("/a") + get("/b") + "PROPFIND /c HTTP/1.1\r\nHost: test\r\n\r\n" + "BREW /d HTTP/1.1\r\nHost: test\r\n\r\n");
    for (int i = 0; i < 4; ++i) c.read_response();
    std::this_thread::sleep_for(50ms);
    const auto text = metrics::registry::global().render();
    CHECK(text.find("polder_http_requests_total{method=\"GET\",service=\"countingtest\",status_class=\"2xx\"} 2") !=
          std::string::npos);
    CHECK(text.find("polder_http_requests_total{method=\"PROPFIND\",service=\"countingtest\",status_class=\"4xx\"} 1") !=
          std::string::npos);
    // Unknown methods share one series: clients cannot create new ones.
    CHECK(text.find("polder_http_requests_total{method=\"OTHER\",service=\"countingtest\",status_class=\"4xx\"} 1") !=
          std::string::npos);
    CHECK(text.find("polder_http_request_duration_seconds_count{service=\"countingtest\"} 4") != std::string::npos);
}

TEST_CASE("http server completes a TLS handshake with a self-signed certificate and serves a request") {
    self_signed cert;
    auto tls = net::tls_context::load(cert.cert_file.string(), cert.key_file.string());
    REQUIRE(tls.has_value());
    router r;
    r.add("GET", "/", [](request& req) -> awaitable<response> {
        co_return text_response(status::ok, req.secure() ? "secure" : "plain");
    });
    test_server s(std::move(r), {}, *tls);

    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(cert.cert_file.string());
    ctx.set_verify_mode(asio::ssl::verify_peer);
    std::string body;
    int status_code = 0;
    std::string failure;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            asio::ssl::stream<boost::beast::tcp_stream> stream(co_await asio::this_coro::executor, ctx);
            stream.set_verify_callback(asio::ssl::host_name_verification("localhost"));
            co_await boost::beast::get_lowest_layer(stream).async_connect(
                asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port()), use_awaitable);
            co_await stream.async_handshake(asio::ssl::stream_base::client, use_awaitable);
            for (int i = 0; i < 2; ++i) {   // keep-alive over TLS too
                boost::beast::http::request<boost::beast::http::empty_body> req{boost::beast::http::verb::get, "/", 11};
                req.set(boost::beast::http::field::host, "localhost");
                co_await boost::beast::http::async_write(stream, req, use_awaitable);
                boost::beast::flat_buffer buf;
                boost::beast::http::response<boost::beast::http::string_body> res;
                co_await boost::beast::http::async_read(stream, buf, res, use_awaitable);
                status_code = res.result_int();
                body = res.body();
            }
        },
        [&](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                failure = ex.what();
            }
        });
    io.run_for(20s);
    INFO(failure);
    CHECK(failure.empty());
    CHECK(status_code == 200);
    CHECK(body == "secure");
}

TEST_CASE("http server drops a plaintext client on a TLS listener") {
    self_signed cert;
    auto tls = net::tls_context::load(cert.cert_file.string(), cert.key_file.string());
    REQUIRE(tls.has_value());
    router r;
    r.add("GET", "/", echo_path());
    test_server s(std::move(r), {}, *tls);
    raw_client c(s.port(), 5s);
    c.send(get("/"));
    CHECK(c.drained_until_closed());
}
