// test_server.cpp - the server, TCP/TLS streams, tls_context and runtime over
// real loopback connections. Servers bind port 0; clients are Asio
// coroutines on the test thread's own io_context, each bounded by a deadline.
//
// SECURITY: covers per-IP and total connection limits, idle timeouts,
// STARTTLS (including command injection before the handshake), TLS >= 1.2,
// certificate reload, forced close after the shutdown grace, and the
// per-connection exception boundary.
// STANDARDS: RFC 3207 / RFC 8314 (STARTTLS, implicit TLS), RFC 8446.
#include "net_test_util.hpp"

#include "polder/log/log.hpp"
#include "polder/metrics/metrics.hpp"
#include "polder/net/net.hpp"

#include <openssl/ssl.h>

#include <csignal>
#include <fstream>
#include <mutex>

using namespace polder;
using namespace polder::net_test;
using boost::system::error_code;
namespace plog = polder::log;

namespace {

const bool quiet_logs = [] {
    plog::init(plog::level::warn, plog::format::text);
    return true;
}();

// running_server - runtime + server; run() on a background thread; stopped and
// joined at scope end even when an assertion fails.
struct running_server {
    net::runtime rt;
    net::server srv;
    std::thread thread;

    explicit running_server(net::limits lim, std::shared_ptr<net::tls_context> tls = nullptr, unsigned threads = 2)
        : rt(threads, false), srv(rt, lim, std::move(tls)) {}
    void start() {
        thread = std::thread([this] { rt.run(); });
    }
    // join - waits for run() to return; false if it did not within the timeout.
    bool join(std::chrono::milliseconds timeout = 15000ms) {
        auto done = std::make_shared<std::promise<void>>();
        auto fut = done->get_future();
        std::thread waiter([this, done] {
            if (thread.joinable()) thread.join();
            done->set_value();
        });
        bool ok = fut.wait_for(timeout) == std::future_status::ready;
        if (ok) waiter.join();
        else waiter.detach();  // the test fails; the process ends soon after
        return ok;
    }
    ~running_server() {
        rt.stop();
        if (thread.joinable()) thread.join();
    }
};

std::uint64_t counter_value(const std::string& name, metrics::labels l) {
    return metrics::registry::global().counter_(name, "", std::move(l)).value();
}

// echo_session - greets, echoes lines ("echo <line>"), QUIT ends; on a
// timeout it says so; between commands it honours shutting_down().
awaitable<void> echo_session(asio::ip::tcp::socket sock, net::connection_info info,
                             std::shared_ptr<net::tls_context> tls) {
    auto s = net::make_tcp_stream(std::move(sock), tls, info);
    if (info.tls == net::tls_mode::implicit) {
        if (!co_await s->start_tls()) co_return;
    }
    (void)co_await s->write("hello " + info.listener + " " + info.peer_address + (info.loopback ? " loopback" : "") +
                            "\r\n");
    net::line_reader r(*s, 1000);
    for (;;) {
        auto l = co_await r.read_line();
        if (!l) {
            if (is(l.error(), errc::timeout)) (void)co_await s->write("timeout\r\n");
            if (is(l.error(), errc::limit_exceeded)) {
                (void)co_await s->write("too long\r\n");
                continue;
            }
            break;
        }
        std::string text(l->text);
        if (text == "QUIT") {
            (void)co_await s->write("bye\r\n");
            break;
        }
        if (text == "STARTTLS") {
            if (r.buffered() != 0) {
                (void)co_await s->write("refused: pipelined after STARTTLS\r\n");
                break;
            }
            (void)co_await s->write("go\r\n");
            if (!co_await s->start_tls()) break;
            continue;
        }
        if (text == "SLOW") {
            asio::steady_timer t(co_await asio::this_coro::executor, 500ms);
            co_await t.async_wait(use_tuple);
            (void)co_await s->write("done\r\n");
        } else if (text == "BOOM") {
            throw std::runtime_error("session bug on purpose");
        } else {
            (void)co_await s->write("echo " + text + (s->tls_active() ? " tls" : "") + "\r\n");
        }
        if (info.shutting_down()) {
            (void)co_await s->write("bye shutting down\r\n");
            break;
        }
    }
    co_await s->shutdown();
}

net::handler echo_handler(std::shared_ptr<net::tls_context> tls = nullptr) {
    return [tls](asio::ip::tcp::socket sock, net::connection_info info) {
        return echo_session(std::move(sock), std::move(info), tls);
    };
}

struct log_capture {
    std::mutex m;
    std::vector<std::string> lines;
    log_capture() {
        plog::set_sink([this](std::string_view l) {
            std::lock_guard lock(m);
            lines.emplace_back(l);
        });
    }
    ~log_capture() { plog::set_sink({}); }
    bool contains(std::string_view needle) {
        std::lock_guard lock(m);
        for (auto& l : lines)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

}  // namespace

TEST_CASE("server accepts a connection and echoes lines sent in fragments") {
    running_server rs(net::limits{});
    REQUIRE(rs.srv.listen({.name = "t_echo", .address = "127.0.0.1", .port = 0}, echo_handler()));
    const auto port = rs.srv.bound_port("t_echo");
    REQUIRE(port != 0);
    CHECK(rs.srv.bound_port("nonexistent") == 0);
    rs.start();

    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        auto sock = co_await connect("127.0.0.1", port);
        REQUIRE(sock.has_value());
        std::string buf;
        auto greet = co_await read_line(*sock, buf);
        REQUIRE(greet);
        CHECK(*greet == "hello t_echo 127.0.0.1 loopback");
        co_await write_all(*sock, "one\r\ntw");
        asio::steady_timer pause(co_await asio::this_coro::executor, 30ms);
        co_await pause.async_wait(use_tuple);
        co_await write_all(*sock, "o\r\n" + std::string(1500, 'x') + "\r\nthree\n");
        auto l1 = co_await read_line(*sock, buf);
        CHECK(l1.value() == "echo one");
        auto l2 = co_await read_line(*sock, buf);
        CHECK(l2.value() == "echo two");
        { auto l_ = co_await line(*sock, buf); CHECK(l_ == "too long"); }
        { auto l_ = co_await line(*sock, buf); CHECK(l_ == "echo three"); }
        co_await write_all(*sock, "QUIT\r\n");
        { auto l_ = co_await line(*sock, buf); CHECK(l_ == "bye"); }
        auto end = co_await read_line(*sock, buf);
        CHECK(end.error() == asio::error::eof);
    }());
    CHECK(wait_until([&] { return rs.srv.active_connections() == 0; }));
    CHECK(counter_value("polder_connections_total", {{"listener", "t_echo"}}) == 1);
    CHECK(metrics::registry::global().render().find("polder_connections_active{listener=\"t_echo\"} 0\n") !=
          std::string::npos);
}

TEST_CASE("server refuses the connection over the per-IP limit with the listener's refusal line") {
    net::limits lim;
    lim.max_connections_per_ip = 2;
    running_server rs(lim);
    net::listener_config cfg{.name = "t_perip", .address = "127.0.0.1", .port = 0};
    cfg.on_refused = [](const net::connection_info& info, std::string_view reason) {
        return "421 too many connections (" + std::string(reason) + ")\r\n";
    };
    REQUIRE(rs.srv.listen(cfg, echo_handler()));
    const auto port = rs.srv.bound_port("t_perip");
    rs.start();

    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string b1, b2, b3, b4;
        auto c1 = co_await connect("127.0.0.1", port);
        auto c2 = co_await connect("127.0.0.1", port);
        REQUIRE((c1 && c2));
        { auto l_ = co_await line(*c1, b1); CHECK(l_.starts_with("hello")); }
        { auto l_ = co_await line(*c2, b2); CHECK(l_.starts_with("hello")); }
        auto c3 = co_await connect("127.0.0.1", port);
        REQUIRE(c3.has_value());
        { auto l_ = co_await line(*c3, b3); CHECK(l_ == "421 too many connections (per_ip)"); }
        { auto l_ = co_await line(*c3, b3); CHECK(l_ == "!eof"); }

        // Once one of the two leaves, there is room again.
        co_await write_all(*c1, "QUIT\r\n");
        { auto l_ = co_await line(*c1, b1); CHECK(l_ == "bye"); }
        c1->close();
        for (int i = 0; i < 200 && rs.srv.active_connections() != 1; ++i) {
            asio::steady_timer t(co_await asio::this_coro::executor, 10ms);
            co_await t.async_wait(use_tuple);
        }
        auto c4 = co_await connect("127.0.0.1", port);
        REQUIRE(c4.has_value());
        { auto l_ = co_await line(*c4, b4); CHECK(l_.starts_with("hello")); }
    }());
    CHECK(counter_value("polder_connections_refused_total", {{"listener", "t_perip"}, {"reason", "per_ip"}}) == 1);
    CHECK(counter_value("polder_connections_total", {{"listener", "t_perip"}}) == 3);
}

TEST_CASE("a listener without the per-IP limit (the admin port) neither counts nor is refused by it") {
    net::limits lim;
    lim.max_connections_per_ip = 1;
    running_server rs(lim);
    net::listener_config svc{.name = "t_svc", .address = "127.0.0.1", .port = 0};
    net::listener_config adm{.name = "t_adm", .address = "127.0.0.1", .port = 0};
    adm.per_ip_limit = false;
    REQUIRE(rs.srv.listen(svc, echo_handler()));
    REQUIRE(rs.srv.listen(adm, echo_handler()));
    const auto svc_port = rs.srv.bound_port("t_svc");
    const auto adm_port = rs.srv.bound_port("t_adm");
    rs.start();

    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string b1, b2, b3, b4;
        auto a1 = co_await connect("127.0.0.1", adm_port);   // admin connections first
        auto a2 = co_await connect("127.0.0.1", adm_port);
        REQUIRE((a1 && a2));
        { auto l_ = co_await line(*a1, b1); CHECK(l_.starts_with("hello")); }
        { auto l_ = co_await line(*a2, b2); CHECK(l_.starts_with("hello")); }
        auto c1 = co_await connect("127.0.0.1", svc_port);   // the client's one slot is free
        REQUIRE(c1.has_value());
        { auto l_ = co_await line(*c1, b3); CHECK(l_.starts_with("hello")); }
        auto a3 = co_await connect("127.0.0.1", adm_port);   // and the slot taken blocks no check
        REQUIRE(a3.has_value());
        { auto l_ = co_await line(*a3, b4); CHECK(l_.starts_with("hello")); }
    }());
    CHECK(counter_value("polder_connections_refused_total", {{"listener", "t_adm"}, {"reason", "per_ip"}}) == 0);
    CHECK(counter_value("polder_connections_refused_total", {{"listener", "t_svc"}, {"reason", "per_ip"}}) == 0);
}

TEST_CASE("server refuses connections over the total limit") {
    net::limits lim;
    lim.max_connections = 1;
    running_server rs(lim);
    REQUIRE(rs.srv.listen({.name = "t_total", .address = "127.0.0.1", .port = 0}, echo_handler()));
    const auto port = rs.srv.bound_port("t_total");
    rs.start();
    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string b1, b2;
        auto c1 = co_await connect("127.0.0.1", port);
        REQUIRE(c1.has_value());
        { auto l_ = co_await line(*c1, b1); CHECK(l_.starts_with("hello")); }
        auto c2 = co_await connect("127.0.0.1", port);
        REQUIRE(c2.has_value());
        // No refusal hook: closed without a word.
        { auto l_ = co_await line(*c2, b2); CHECK(l_ == "!eof"); }
    }());
    CHECK(counter_value("polder_connections_refused_total", {{"listener", "t_total"}, {"reason", "total"}}) == 1);
}

TEST_CASE("an idle session times out and can still say goodbye") {
    net::limits lim;
    lim.idle_timeout = std::chrono::seconds(1);
    running_server rs(lim);
    REQUIRE(rs.srv.listen({.name = "t_idle", .address = "127.0.0.1", .port = 0}, echo_handler()));
    const auto port = rs.srv.bound_port("t_idle");
    rs.start();
    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string buf;
        auto c = co_await connect("127.0.0.1", port);
        REQUIRE(c.has_value());
        { auto l_ = co_await line(*c, buf); CHECK(l_.starts_with("hello")); }
        auto start = std::chrono::steady_clock::now();
        auto t = co_await read_line(*c, buf, 4000ms);
        CHECK(t.value() == "timeout");
        CHECK(std::chrono::steady_clock::now() - start >= 900ms);
        { auto l_ = co_await line(*c, buf); CHECK(l_ == "!eof"); }
    }());
}

TEST_CASE("STARTTLS upgrades a plain connection and refuses commands pipelined before the handshake") {
    temp_dir dir;
    write_self_signed(dir.path / "cert.pem", dir.path / "key.pem", "polder-starttls");
    auto tls = net::tls_context::load(dir.path / "cert.pem", dir.path / "key.pem");
    REQUIRE(tls);
    running_server rs(net::limits{}, *tls);
    REQUIRE(rs.srv.listen({.name = "t_starttls", .address = "127.0.0.1", .port = 0, .tls = net::tls_mode::starttls},
                          echo_handler(*tls)));
    const auto port = rs.srv.bound_port("t_starttls");
    rs.start();

    asio::io_context io;
    SECTION("a clean upgrade") {
        run_coro(io, [&]() -> awaitable<void> {
            std::string buf;
            auto c = co_await connect("127.0.0.1", port);
            REQUIRE(c.has_value());
            { auto l_ = co_await line(*c, buf); CHECK(l_.starts_with("hello t_starttls")); }
            co_await write_all(*c, "plain\r\n");
            { auto l_ = co_await line(*c, buf); CHECK(l_ == "echo plain"); }
            co_await write_all(*c, "STARTTLS\r\n");
            { auto l_ = co_await line(*c, buf); CHECK(l_ == "go"); }
            REQUIRE(buf.empty());
            asio::ssl::context cctx(asio::ssl::context::tls_client);
            cctx.set_verify_mode(asio::ssl::verify_none);
            asio::ssl::stream<asio::ip::tcp::socket&> tls_client(*c, cctx);
            auto [hec] = co_await tls_client.async_handshake(asio::ssl::stream_base::client, use_tuple);
            REQUIRE_FALSE(hec);
            CHECK(peer_common_name(tls_client.native_handle()) == "polder-starttls");
            CHECK(SSL_version(tls_client.native_handle()) >= TLS1_2_VERSION);
            co_await write_all(tls_client, "secret\r\n");
            { auto l_ = co_await line(tls_client, buf); CHECK(l_ == "echo secret tls"); }
            co_await write_all(tls_client, "QUIT\r\n");
            { auto l_ = co_await line(tls_client, buf); CHECK(l_ == "bye"); }
        }());
    }
    SECTION("a command injected behind STARTTLS") {
        run_coro(io, [&]() -> awaitable<void> {
            std::string buf;
            auto c = co_await connect("127.0.0.1", port);
            REQUIRE(c.has_value());
            { auto l_ = co_await line(*c, buf); CHECK(l_.starts_with("hello")); }
            co_await write_all(*c, "STARTTLS\r\nMAIL FROM:<evil@example.test>\r\n");
            { auto l_ = co_await line(*c, buf); CHECK(l_ == "refused: pipelined after STARTTLS"); }
        }());
    }
}

TEST_CASE("tls context uses TLS 1.2 as the minimum and prefers the server's ciphers") {
    temp_dir dir;
    write_self_signed(dir.path / "cert.pem", dir.path / "key.pem", "polder-min");
    auto tls = net::tls_context::load(dir.path / "cert.pem", dir.path / "key.pem");
    REQUIRE(tls);
    SSL_CTX* native = (*tls)->current()->native_handle();
    CHECK(SSL_CTX_get_min_proto_version(native) == TLS1_2_VERSION);
    CHECK((SSL_CTX_get_options(native) & SSL_OP_CIPHER_SERVER_PREFERENCE) != 0);
    CHECK((SSL_CTX_get_options(native) & SSL_OP_NO_COMPRESSION) != 0);
    CHECK((SSL_CTX_get_options(native) & SSL_OP_NO_RENEGOTIATION) != 0);

    running_server rs(net::limits{}, *tls);
    REQUIRE(rs.srv.listen({.name = "t_tls11", .address = "127.0.0.1", .port = 0, .tls = net::tls_mode::implicit},
                          echo_handler(*tls)));
    const auto port = rs.srv.bound_port("t_tls11");
    rs.start();
    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        auto c = co_await connect("127.0.0.1", port);
        REQUIRE(c.has_value());
        asio::ssl::context cctx(asio::ssl::context::tls_client);
        cctx.set_verify_mode(asio::ssl::verify_none);
        SSL_CTX_set_security_level(cctx.native_handle(), 0);  // the client would allow it; the server must not
        SSL_CTX_set_min_proto_version(cctx.native_handle(), TLS1_VERSION);
        SSL_CTX_set_max_proto_version(cctx.native_handle(), TLS1_1_VERSION);
        SSL_CTX_set_cipher_list(cctx.native_handle(), "ALL:@SECLEVEL=0");
        asio::ssl::stream<asio::ip::tcp::socket&> tls_client(*c, cctx);
        auto [hec] = co_await tls_client.async_handshake(asio::ssl::stream_base::client, use_tuple);
        CHECK(hec);
    }());
}

TEST_CASE("tls context reports unreadable or mismatched files and keeps the old certificate on a failed reload") {
    temp_dir dir;
    write_self_signed(dir.path / "a.pem", dir.path / "a.key", "polder-a");
    write_self_signed(dir.path / "b.pem", dir.path / "b.key", "polder-b");
    CHECK_FALSE(net::tls_context::load(dir.path / "missing.pem", dir.path / "a.key"));
    CHECK_FALSE(net::tls_context::load(dir.path / "a.pem", dir.path / "missing.key"));
    auto mismatch = net::tls_context::load(dir.path / "a.pem", dir.path / "b.key");
    REQUIRE_FALSE(mismatch);
    CHECK(is(mismatch.error(), errc::invalid_argument));

    auto tls = net::tls_context::load(dir.path / "a.pem", dir.path / "a.key");
    REQUIRE(tls);
    auto before = (*tls)->current();
    std::ofstream(dir.path / "a.pem") << "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    CHECK_FALSE((*tls)->reload());
    CHECK((*tls)->current() == before);
}

TEST_CASE("implicit TLS serves a reloaded certificate to new connections while old ones continue") {
    temp_dir dir;
    const auto cert = dir.path / "cert.pem", key = dir.path / "key.pem";
    write_self_signed(cert, key, "polder-one");
    auto tls = net::tls_context::load(cert, key);
    REQUIRE(tls);
    running_server rs(net::limits{}, *tls);
    REQUIRE(rs.srv.listen({.name = "t_reload", .address = "127.0.0.1", .port = 0, .tls = net::tls_mode::implicit},
                          echo_handler(*tls)));
    const auto port = rs.srv.bound_port("t_reload");
    rs.start();

    asio::io_context io;
    asio::ssl::context cctx(asio::ssl::context::tls_client);
    cctx.set_verify_mode(asio::ssl::verify_none);
    run_coro(io, [&]() -> awaitable<void> {
        std::string b1, b2;
        auto s1 = co_await connect("127.0.0.1", port);
        REQUIRE(s1.has_value());
        asio::ssl::stream<asio::ip::tcp::socket&> t1(*s1, cctx);
        auto [h1] = co_await t1.async_handshake(asio::ssl::stream_base::client, use_tuple);
        REQUIRE_FALSE(h1);
        CHECK(peer_common_name(t1.native_handle()) == "polder-one");
        { auto l_ = co_await line(t1, b1); CHECK(l_.starts_with("hello t_reload")); }

        write_self_signed(cert, key, "polder-two");
        rs.rt.reload();  // what SIGHUP does; the server registered the reload

        auto s2 = co_await connect("127.0.0.1", port);
        REQUIRE(s2.has_value());
        asio::ssl::stream<asio::ip::tcp::socket&> t2(*s2, cctx);
        auto [h2] = co_await t2.async_handshake(asio::ssl::stream_base::client, use_tuple);
        REQUIRE_FALSE(h2);
        CHECK(peer_common_name(t2.native_handle()) == "polder-two");
        { auto l_ = co_await line(t2, b2); CHECK(l_.starts_with("hello")); }

        // The first connection keeps working on its original session.
        co_await write_all(t1, "still here\r\n");
        { auto l_ = co_await line(t1, b1); CHECK(l_ == "echo still here tls"); }
        CHECK(peer_common_name(t1.native_handle()) == "polder-one");
    }());
}

TEST_CASE("a failed TLS handshake ends only that connection") {
    temp_dir dir;
    write_self_signed(dir.path / "cert.pem", dir.path / "key.pem", "polder-hs");
    auto tls = net::tls_context::load(dir.path / "cert.pem", dir.path / "key.pem");
    REQUIRE(tls);
    running_server rs(net::limits{}, *tls);
    REQUIRE(rs.srv.listen({.name = "t_badhs", .address = "127.0.0.1", .port = 0, .tls = net::tls_mode::implicit},
                          echo_handler(*tls)));
    const auto port = rs.srv.bound_port("t_badhs");
    rs.start();
    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string buf;
        auto c = co_await connect("127.0.0.1", port);
        REQUIRE(c.has_value());
        co_await write_all(*c, "EHLO this is not TLS\r\n");
        auto r = co_await read_line(*c, buf);
        CHECK(r.has_error());  // closed (possibly after a TLS alert), never an echo
    }());
    CHECK(wait_until([&] { return rs.srv.active_connections() == 0; }));
}

TEST_CASE("graceful stop lets an active session finish and refuses new connections") {
    running_server rs(net::limits{});
    REQUIRE(rs.srv.listen({.name = "t_graceful", .address = "127.0.0.1", .port = 0}, echo_handler()));
    const auto port = rs.srv.bound_port("t_graceful");
    rs.start();
    asio::io_context io;
    std::chrono::steady_clock::time_point stop_at;
    run_coro(io, [&]() -> awaitable<void> {
        std::string buf;
        auto c = co_await connect("127.0.0.1", port);
        REQUIRE(c.has_value());
        { auto l_ = co_await line(*c, buf); CHECK(l_.starts_with("hello")); }
        co_await write_all(*c, "SLOW\r\n");
        asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
        co_await t.async_wait(use_tuple);
        stop_at = std::chrono::steady_clock::now();
        rs.rt.stop();
        // The command in progress completes, then the session says goodbye.
        { auto l_ = co_await line(*c, buf); CHECK(l_ == "done"); }
        { auto l_ = co_await line(*c, buf); CHECK(l_ == "bye shutting down"); }
        { auto l_ = co_await line(*c, buf); CHECK(l_ == "!eof"); }
        CHECK(rs.srv.shutting_down());
        auto late = co_await connect("127.0.0.1", port);
        CHECK(late.error() == asio::error::connection_refused);
    }());
    REQUIRE(rs.join());
    // Well inside the 10 s grace: run() returned because the session ended.
    CHECK(std::chrono::steady_clock::now() - stop_at < 5s);
    CHECK(rs.srv.active_connections() == 0);
}

TEST_CASE("sessions still open after the grace period are force-closed and run returns") {
    net::limits lim;
    lim.shutdown_grace = std::chrono::seconds(1);
    running_server rs(lim);
    // This session ignores shutting_down(): it just waits for input.
    REQUIRE(rs.srv.listen({.name = "t_force", .address = "127.0.0.1", .port = 0},
                          [](asio::ip::tcp::socket sock, net::connection_info info) -> awaitable<void> {
                              auto s = net::make_tcp_stream(std::move(sock), nullptr, info);
                              (void)co_await s->write("hello\r\n");
                              net::line_reader r(*s, 100);
                              for (;;) {
                                  auto l = co_await r.read_line();
                                  if (!l) co_return;
                              }
                          }));
    const auto port = rs.srv.bound_port("t_force");
    rs.start();
    asio::io_context io;
    std::chrono::steady_clock::time_point stop_at;
    run_coro(io, [&]() -> awaitable<void> {
        std::string buf;
        auto c = co_await connect("127.0.0.1", port);
        REQUIRE(c.has_value());
        { auto l_ = co_await line(*c, buf); CHECK(l_ == "hello"); }
        stop_at = std::chrono::steady_clock::now();
        rs.rt.stop();
        auto r = co_await read_line(*c, buf, 5000ms);
        CHECK(r.error() == asio::error::eof);
        CHECK(std::chrono::steady_clock::now() - stop_at >= 900ms);
    }());
    REQUIRE(rs.join());
    CHECK(std::chrono::steady_clock::now() - stop_at < 5s);
}

TEST_CASE("a session waiting for input is woken by its on_shutdown callback") {
    running_server rs(net::limits{});
    REQUIRE(rs.srv.listen({.name = "t_wake", .address = "127.0.0.1", .port = 0},
                          [](asio::ip::tcp::socket sock, net::connection_info info) -> awaitable<void> {
                              auto s = net::make_tcp_stream(std::move(sock), nullptr, info);
                              info.control->on_shutdown([st = s.get()] { st->cancel(); });
                              (void)co_await s->write("* OK idle\r\n");
                              net::line_reader r(*s, 100);
                              auto l = co_await r.read_line();
                              if (!l && info.shutting_down()) (void)co_await s->write("* BYE shutting down\r\n");
                          }));
    const auto port = rs.srv.bound_port("t_wake");
    rs.start();
    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string buf;
        auto c = co_await connect("127.0.0.1", port);
        REQUIRE(c.has_value());
        { auto l_ = co_await line(*c, buf); CHECK(l_ == "* OK idle"); }
        auto start = std::chrono::steady_clock::now();
        rs.rt.stop();
        { auto l_ = co_await line(*c, buf); CHECK(l_ == "* BYE shutting down"); }
        CHECK(std::chrono::steady_clock::now() - start < 2s);
    }());
    REQUIRE(rs.join(5000ms));
}

TEST_CASE("an exception in one session is logged and ends only that connection") {
    log_capture logs;
    running_server rs(net::limits{});
    REQUIRE(rs.srv.listen({.name = "t_boom", .address = "127.0.0.1", .port = 0}, echo_handler()));
    const auto port = rs.srv.bound_port("t_boom");
    rs.start();
    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string b1, b2;
        auto c1 = co_await connect("127.0.0.1", port);
        auto c2 = co_await connect("127.0.0.1", port);
        REQUIRE((c1 && c2));
        { auto l_ = co_await line(*c1, b1); CHECK(l_.starts_with("hello")); }
        { auto l_ = co_await line(*c2, b2); CHECK(l_.starts_with("hello")); }
        co_await write_all(*c1, "BOOM\r\n");
        { auto l_ = co_await line(*c1, b1); CHECK(l_ == "!eof"); }
        co_await write_all(*c2, "still fine\r\n");
        { auto l_ = co_await line(*c2, b2); CHECK(l_ == "echo still fine"); }
    }());
    CHECK(wait_until([&] { return logs.contains("event=conn.exception"); }));
    CHECK(logs.contains("error=\"session bug on purpose\""));
}

TEST_CASE("listen accepts IPv6 literals and reports bad addresses and duplicates") {
    running_server rs(net::limits{});
    auto v6 = rs.srv.listen({.name = "t_v6", .address = "::1", .port = 0}, echo_handler());
    if (!v6 && v6.error() == boost::system::errc::address_not_available) {
        WARN("no IPv6 loopback on this machine; IPv6 part skipped");
    } else {
        REQUIRE(v6);
    }
    REQUIRE(rs.srv.listen({.name = "t_v6b", .address = "[::1]", .port = 0}, echo_handler()).has_value() == v6.has_value());
    CHECK(is(rs.srv.listen({.name = "t_bad", .address = "localhost", .port = 0}, echo_handler()).error(),
             errc::invalid_argument));
    CHECK(is(rs.srv.listen({.name = "t_bad2", .address = "300.1.1.1", .port = 0}, echo_handler()).error(),
             errc::invalid_argument));
    CHECK(is(rs.srv.listen({.name = "", .address = "127.0.0.1", .port = 0}, echo_handler()).error(),
             errc::invalid_argument));
    CHECK(is(rs.srv.listen({.name = "t_imp", .address = "127.0.0.1", .port = 0, .tls = net::tls_mode::implicit},
                           echo_handler())
                 .error(),
             errc::invalid_argument));  // implicit TLS without a certificate
    REQUIRE(rs.srv.listen({.name = "t_v4", .address = "127.0.0.1", .port = 0}, echo_handler()));
    CHECK(is(rs.srv.listen({.name = "t_v4", .address = "127.0.0.1", .port = 0}, echo_handler()).error(),
             errc::invalid_argument));
    auto taken = rs.srv.listen({.name = "t_v4_again", .address = "127.0.0.1", .port = rs.srv.bound_port("t_v4")},
                               echo_handler());
    CHECK(taken.error() == asio::error::address_in_use);
    rs.start();
    if (v6) {
        asio::io_context io;
        run_coro(io, [&]() -> awaitable<void> {
            std::string buf;
            auto c = co_await connect("::1", rs.srv.bound_port("t_v6"));
            REQUIRE(c.has_value());
            { auto l_ = co_await line(*c, buf); CHECK(l_ == "hello t_v6 ::1 loopback"); }
        }());
    }
}

TEST_CASE("listen after stop is refused") {
    running_server rs(net::limits{});
    rs.srv.stop();
    CHECK(rs.srv.shutting_down());
    CHECK(is(rs.srv.listen({.name = "t_late", .address = "127.0.0.1", .port = 0}, echo_handler()).error(),
             errc::unavailable));
}

TEST_CASE("per-IP limits count IPv4-mapped peers as IPv4 and IPv6 peers per /64") {
    CHECK(net::peer_limit_key(asio::ip::make_address("192.0.2.7")) == "192.0.2.7");
    CHECK(net::peer_limit_key(asio::ip::make_address("::ffff:192.0.2.7")) == "192.0.2.7");
    CHECK(net::peer_limit_key(asio::ip::make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")) == "2001:db8:1:2::/64");
    CHECK(net::peer_limit_key(asio::ip::make_address("2001:db8:1:2::1")) ==
          net::peer_limit_key(asio::ip::make_address("2001:db8:1:2:ffff::9")));
    CHECK(net::peer_limit_key(asio::ip::make_address("2001:db8:1:3::1")) != "2001:db8:1:2::/64");
    CHECK(net::parse_listen_address("[::]").value().is_unspecified());
    CHECK(net::parse_listen_address("0.0.0.0").value().is_v4());
    CHECK(is(net::parse_listen_address("").error(), errc::invalid_argument));
    CHECK(is(net::parse_listen_address("example.org").error(), errc::invalid_argument));
}

TEST_CASE("runtime runs reload callbacks on SIGHUP and stops on SIGTERM") {
    net::runtime rt(1, true);
    std::atomic<int> reloads{0}, stops{0};
    rt.on_reload([&] { ++reloads; });
    rt.on_stop([&] { ++stops; });
    std::thread t([&] { rt.run(); });
    // Give run() a moment to start; signals are already registered either way.
    std::this_thread::sleep_for(50ms);
    std::raise(SIGHUP);
    CHECK(wait_until([&] { return reloads.load() == 1; }));
    std::raise(SIGTERM);
    t.join();
    CHECK(stops.load() == 1);
    CHECK(rt.stopping());
}

TEST_CASE("runtime run returns at the stop deadline even if some work never ends") {
    net::runtime rt(2, false);
    rt.set_stop_deadline(300ms);
    asio::steady_timer forever(rt.io(), std::chrono::hours(1));
    forever.async_wait([](error_code) {});
    rt.stop();  // before run(): the stop is processed once run() starts
    auto start = std::chrono::steady_clock::now();
    rt.run();
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 250ms);
    CHECK(took < 5s);
}

TEST_CASE("runtime survives an exception thrown by a handler") {
    log_capture logs;
    net::runtime rt(1, false);
    std::atomic<bool> after{false};
    asio::post(rt.io(), [] { throw std::runtime_error("handler exploded"); });
    asio::post(rt.io(), [&] {
        after = true;
        rt.stop();
    });
    rt.run();
    CHECK(after.load());
    CHECK(logs.contains("handler exploded"));
}

TEST_CASE("a load balancer's PROXY header names the client: limits, loopback and the bytes after it") {
    net::limits lim;
    lim.max_connections_per_ip = 1;
    lim.proxy_from = net::parse_networks("127.0.0.1/32").value();
    lim.proxy_header_timeout = 300ms;
    running_server rs(lim);
    REQUIRE(rs.srv.listen({.name = "t_proxy", .address = "127.0.0.1", .port = 0}, echo_handler()));
    net::listener_config direct{.name = "t_proxy_admin", .address = "127.0.0.1", .port = 0};
    direct.proxy_protocol = false;
    REQUIRE(rs.srv.listen(direct, echo_handler()));
    const auto port = rs.srv.bound_port("t_proxy");
    const auto direct_port = rs.srv.bound_port("t_proxy_admin");
    rs.start();
    log_capture logs;
    asio::io_context io;
    run_coro(io, [&]() -> awaitable<void> {
        std::string b1, b2, b3, b4, b5, b6, b7, b8;
        // v1, with the client's first line in the same segment: kept for the session.
        auto c1 = co_await connect("127.0.0.1", port);
        REQUIRE(c1.has_value());
        co_await write_all(*c1, "PROXY TCP4 203.0.113.7 127.0.0.1 56324 143\r\nfirst\r\n");
        { auto l_ = co_await line(*c1, b1); CHECK(l_ == "hello t_proxy 203.0.113.7"); }
        { auto l_ = co_await line(*c1, b1); CHECK(l_ == "echo first"); }
        // The per-IP limit (1) is the client's: another client through the same balancer
        // gets in (v2, IPv6), the same client again does not.
        const std::string v2 = std::string("\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24", 16) +
                               std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x07" +
                               std::string(15, '\0') + "\x01" + std::string("\x01\xbb\x00\x8f", 4);
        auto c2 = co_await connect("127.0.0.1", port);
        REQUIRE(c2.has_value());
        co_await write_all(*c2, v2);
        { auto l_ = co_await line(*c2, b2); CHECK(l_ == "hello t_proxy 2001:db8::7"); }
        auto c3 = co_await connect("127.0.0.1", port);
        REQUIRE(c3.has_value());
        co_await write_all(*c3, "PROXY TCP4 203.0.113.7 127.0.0.1 56325 143\r\n");
        { auto l_ = co_await line(*c3, b3); CHECK(l_ == "!eof"); }
        // A client on the balancer's own host is loopback; LOCAL is the balancer itself.
        auto c4 = co_await connect("127.0.0.1", port);
        REQUIRE(c4.has_value());
        co_await write_all(*c4, "PROXY TCP4 127.0.0.1 127.0.0.1 40000 143\r\n");
        { auto l_ = co_await line(*c4, b4); CHECK(l_ == "hello t_proxy 127.0.0.1 loopback"); }
        c4->close();
        // No header, a bad one, or none within the timeout: closed without a word (a
        // reset, as what the balancer sent is left unread).
        auto c5 = co_await connect("127.0.0.1", port);
        REQUIRE(c5.has_value());
        co_await write_all(*c5, "a001 LOGIN anna secret\r\n");
        { auto l_ = co_await line(*c5, b5); CHECK((l_ == "!eof" || l_ == "!Connection reset by peer")); }
        auto c6 = co_await connect("127.0.0.1", port);
        REQUIRE(c6.has_value());
        co_await write_all(*c6, "PROXY TCP4 203.0.113.");   // and then nothing
        { auto l_ = co_await line(*c6, b6, 3000ms); CHECK((l_ == "!eof" || l_ == "!Connection reset by peer")); }
        // A listener without the PROXY protocol (the admin port) takes the balancer as it is.
        auto c7 = co_await connect("127.0.0.1", direct_port);
        REQUIRE(c7.has_value());
        { auto l_ = co_await line(*c7, b7); CHECK(l_ == "hello t_proxy_admin 127.0.0.1 loopback"); }
        // The first client is still served.
        co_await write_all(*c1, "again\r\n");
        { auto l_ = co_await line(*c1, b8); CHECK(l_ == "echo again"); }
    }());
    CHECK(counter_value("polder_connections_refused_total", {{"listener", "t_proxy"}, {"reason", "per_ip"}}) == 1);
    CHECK(counter_value("polder_proxy_header_errors_total", {{"listener", "t_proxy"}}) == 2);
    CHECK(logs.contains("no complete PROXY header within the timeout"));
    CHECK(logs.contains("not a PROXY protocol header"));
}
