// test_smtpd.cpp - the pure parts of polder-smtpd: the byte input (command lines, DATA up
// to its end marker with the pipelined rest kept, BDAT chunks) at fragment sizes 1, 2, 5
// and 100 over an in-memory stream; trace fields; routes; backoff; the RFC 3464 DSN.
//
// SECURITY: header injection through the EHLO name or the sender is impossible; smuggled
// end markers inside DATA are content, and what follows the real end stays a command.
// STANDARDS: RFC 5321 (2.3.8, 4.4, 4.5.2, 4.5.4.1), RFC 3848, RFC 3030, RFC 3464.
#include "input.hpp"
#include "queue.hpp"
#include "trace.hpp"

#include "polder/net/memory_stream.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>

using namespace polder;
using namespace polder::smtpd;
using namespace std::chrono_literals;

namespace {

template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
    auto fut = asio::co_spawn(io, std::move(a), asio::use_future);
    io.restart();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (fut.wait_for(0s) != std::future_status::ready && std::chrono::steady_clock::now() < deadline) {
        io.run_for(20ms);
        if (io.stopped()) io.restart();
    }
    REQUIRE(fut.wait_for(0s) == std::future_status::ready);
    return fut.get();
}

struct read_outcome {
    std::string content;
    bool data_ok = false;
    std::string next_line;
    std::optional<smtp::reply> error;
};

// data_then_line - read one DATA body, then the next command line.
awaitable<read_outcome> data_then_line(net::stream& s, std::uint64_t max) {
    input in(s);
    read_outcome out;
    smtp::data_reader r(max);
    auto d = co_await in.read_data(r, [&](std::string_view b) { out.content += b; });
    out.data_ok = static_cast<bool>(d);
    out.error = r.error_reply();
    auto l = co_await in.read_line(510);
    if (l) out.next_line = std::string(l->text);
    co_return out;
}

}  // namespace

TEST_CASE("smtpd input returns command lines and reports bare LF at every fragment size") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "EHLO a.example\r\nNOOP\nQUIT\r\n", frag);
    s.feed_eof();
    auto lines = run(io, [&]() -> awaitable<std::vector<std::pair<std::string, bool>>> {
        input in(s);
        std::vector<std::pair<std::string, bool>> out;
        for (;;) {
            auto l = co_await in.read_line(510);
            if (!l) break;
            out.emplace_back(std::string(l->text), l->bare_lf);
        }
        co_return out;
    }());
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == std::pair<std::string, bool>{"EHLO a.example", false});
    CHECK(lines[1] == std::pair<std::string, bool>{"NOOP", true});
    CHECK(lines[2] == std::pair<std::string, bool>{"QUIT", false});
}

TEST_CASE("smtpd input discards an over-long line through its LF and stays in step") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), std::string(2000, 'A') + "\r\nNOOP\r\n", frag);
    s.feed_eof();
    auto result = run(io, [&]() -> awaitable<std::pair<bool, std::string>> {
        input in(s);
        auto first = co_await in.read_line(510);
        const bool too_long = !first && is(first.error(), errc::limit_exceeded);
        auto second = co_await in.read_line(510);
        co_return std::pair{too_long, second ? std::string(second->text) : std::string("<error>")};
    }());
    CHECK(result.first);
    CHECK(result.second == "NOOP");
}

TEST_CASE("smtpd input ends DATA only at CRLF.CRLF and keeps the pipelined command") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n", frag);
    s.feed_eof();
    auto out = run(io, data_then_line(s, 1024));
    CHECK(out.data_ok);
    CHECK_FALSE(out.error);
    CHECK(out.content == "Subject: x\r\n\r\n.dot\r\nbody\r\n");
    CHECK(out.next_line == "QUIT");
}

TEST_CASE("smtpd input treats a smuggled end marker as content and refuses the message") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "a\n.\nMAIL FROM:<evil@x.example>\r\n.\r\nNOOP\r\n", frag);
    s.feed_eof();
    auto out = run(io, data_then_line(s, 1024));
    REQUIRE(out.error);
    CHECK(out.error->code == 550);
    CHECK(out.error->enhanced == "5.6.0");
    CHECK(out.next_line == "NOOP");   // the smuggled MAIL was never a command
}

TEST_CASE("smtpd input reads a message over the size limit to its end and refuses it") {
    const std::size_t frag = GENERATE(1, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), std::string(300, 'x') + "\r\n.\r\nRSET\r\n", frag);
    s.feed_eof();
    auto out = run(io, data_then_line(s, 100));
    REQUIRE(out.error);
    CHECK(out.error->code == 552);
    CHECK(out.next_line == "RSET");
    CHECK(out.content.size() <= 100);
}

TEST_CASE("smtpd input reads BDAT chunks of exact size and skips refused ones") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "0123456789skipmeNOOP\r\n", frag);
    s.feed_eof();
    auto out = run(io, [&]() -> awaitable<std::pair<std::string, std::string>> {
        input in(s);
        smtp::bdat_reader r(1000, true);
        std::string content;
        r.begin_chunk(10);
        co_await in.read_chunk(r, [&](std::string_view b) { content += b; });
        co_await in.skip(6);
        auto l = co_await in.read_line(510);
        co_return std::pair{content, l ? std::string(l->text) : std::string("<error>")};
    }());
    CHECK(out.first == "0123456789");
    CHECK(out.second == "NOOP");
}

TEST_CASE("Received field follows RFC 5321 4.4 and cannot be used to inject header fields") {
    trace_info t;
    t.helo = "evil\r\nBcc: victim@example.org";
    t.peer_address = "192.0.2.7";
    t.hostname = "mx.example.org";
    t.tls = true;
    t.tls_description = "TLSv1.3 (TLS_AES_256_GCM_SHA384)";
    t.authenticated = true;
    t.id = "0123ABCD";
    t.for_recipient = "anna@example.org";
    t.when = 0;
    const auto f = received_field(t);
    CHECK(f.rfind("Received: from evil??Bcc:?victim@example.org ([192.0.2.7])\r\n", 0) == 0);
    CHECK(f.find("\r\nBcc") == std::string::npos);
    CHECK(f.find("\tby mx.example.org (Polder)\r\n") != std::string::npos);
    CHECK(f.find("(using TLSv1.3 ?TLS_AES_256_GCM_SHA384?)") != std::string::npos);
    CHECK(f.find("\twith ESMTPSA id 0123ABCD\r\n\tfor <anna@example.org>;\r\n\tThu, 01 Jan 1970 00:00:00 +0000\r\n") !=
          std::string::npos);
}

TEST_CASE("with protocol names follow RFC 3848 and RFC 6531") {
    trace_info t;
    t.esmtp = false;
    CHECK(with_protocol(t) == "SMTP");
    t.esmtp = true;
    CHECK(with_protocol(t) == "ESMTP");
    t.tls = true;
    CHECK(with_protocol(t) == "ESMTPS");
    t.authenticated = true;
    CHECK(with_protocol(t) == "ESMTPSA");
    t.smtputf8 = true;
    CHECK(with_protocol(t) == "UTF8SMTPSA");
}

TEST_CASE("Return-Path carries the reverse-path, empty for the null sender") {
    CHECK(return_path_field(std::string("a@example.org")) == "Return-Path: <a@example.org>\r\n");
    CHECK(return_path_field(std::nullopt) == "Return-Path: <>\r\n");
}

TEST_CASE("routes parse domain=host:port entries and match domains case-insensitively") {
    auto routes = parse_routes("Example.org=127.0.0.1:2526, other.example=mx.other.example:25,broken");
    REQUIRE(routes.size() == 2);
    CHECK(routes[0].domain == "example.org");
    CHECK(routes[0].host == "127.0.0.1");
    CHECK(routes[0].port == 2526);
    REQUIRE(find_route(routes, "EXAMPLE.ORG"));
    CHECK(find_route(routes, "other.example")->host == "mx.other.example");
    CHECK_FALSE(find_route(routes, "nowhere.example"));
}

TEST_CASE("retry backoff doubles from the base and stops at four hours") {
    CHECK(backoff_seconds(300, 0) == 300);
    CHECK(backoff_seconds(300, 1) == 600);
    CHECK(backoff_seconds(300, 3) == 2400);
    CHECK(backoff_seconds(300, 50) == 4 * 3600);
    CHECK(backoff_seconds(0, 0) == 1);
}

TEST_CASE("a DSN is a multipart/report with one delivery-status block per failed recipient") {
    const std::string original = "Subject: hello\r\nFrom: <a@example.org>\r\n\r\nsecret body\r\n";
    std::vector<failed_recipient> failed{{"x@remote.example", std::string("rfc822;X@remote.example"), "5.1.1",
                                          "550 5.1.1 No such user", true}};
    const auto dsn = build_dsn("mx.example.org", "a@example.org", std::string("env+id"), false, original, failed, 0,
                               60, "Q1");
    CHECK(dsn.find("Content-Type: multipart/report; report-type=delivery-status;") != std::string::npos);
    CHECK(dsn.find("Auto-Submitted: auto-replied\r\n") != std::string::npos);
    CHECK(dsn.find("Reporting-MTA: dns; mx.example.org\r\n") != std::string::npos);
    CHECK(dsn.find("Original-Envelope-Id: env+2Bid\r\n") != std::string::npos);   // xtext (RFC 3461 4.4)
    CHECK(dsn.find("Original-Recipient: rfc822;X@remote.example\r\n") != std::string::npos);
    CHECK(dsn.find("Final-Recipient: rfc822; x@remote.example\r\nAction: failed\r\nStatus: 5.1.1\r\n") !=
          std::string::npos);
    CHECK(dsn.find("Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n") != std::string::npos);
    CHECK(dsn.find("Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\n") != std::string::npos);
    CHECK(dsn.find("secret body") == std::string::npos);   // RET=HDRS: headers only
    const auto full = build_dsn("mx.example.org", "a@example.org", std::nullopt, true, original, failed, 0, 60, "Q2");
    CHECK(full.find("Content-Type: message/rfc822\r\n\r\nSubject: hello") != std::string::npos);
    CHECK(full.find("secret body") != std::string::npos);
}
