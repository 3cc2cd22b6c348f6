// test_line_reader.cpp - line_reader and memory_stream, every input fed at
// fragment sizes 1, 2, 5 and 100 bytes (network bytes arrive split anywhere).
//
// SECURITY: over-long lines are dropped without buffering them whole and the
// reader stays in sync; read-ahead is visible for STARTTLS injection checks.
// STANDARDS: RFC 5321 2.3.8 (CRLF, bare LF), RFC 3030 (BDAT), RFC 9051 4.3 (literals).
#include "net_test_util.hpp"

#include "polder/net/line_reader.hpp"
#include "polder/net/memory_stream.hpp"

#include <vector>

using namespace polder;
using namespace polder::net_test;
using boost::system::error_code;

namespace {

struct line_result {
    std::string text;
    bool bare_lf = false;
    error_code ec;
};

// read_all_lines - every read_line outcome until eof (eof included as the last entry).
awaitable<std::vector<line_result>> read_all_lines(net::line_reader& r) {
    std::vector<line_result> out;
    for (int guard = 0; guard < 1000; ++guard) {
        auto l = co_await r.read_line();
        if (l) {
            out.push_back({std::string(l->text), l->bare_lf, {}});
        } else {
            out.push_back({{}, false, l.error()});
            if (l.error() == asio::error::eof) break;
        }
    }
    co_return out;
}

}  // namespace

TEST_CASE("line reader returns CRLF lines at every fragment size") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "HELO client.example\r\nMAIL FROM:<a@b>\r\n\r\nlast\r\n", frag);
    s.feed_eof();
    net::line_reader r(s, 512);
    auto lines = run_coro(io, read_all_lines(r));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].text == "HELO client.example");
    CHECK(lines[1].text == "MAIL FROM:<a@b>");
    CHECK(lines[2].text.empty());
    CHECK(lines[3].text == "last");
    for (int i = 0; i < 4; ++i) {
        CHECK_FALSE(lines[i].bare_lf);
        CHECK_FALSE(lines[i].ec);
    }
    CHECK(lines[4].ec == asio::error::eof);
    CHECK(r.buffered() == 0);
}

TEST_CASE("line reader reports a bare LF and keeps a lone CR in the text") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "a\nb\r\nc\r\r\nd\re\n", frag);
    s.feed_eof();
    net::line_reader r(s, 512);
    auto lines = run_coro(io, read_all_lines(r));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].text == "a");
    CHECK(lines[0].bare_lf);
    CHECK(lines[1].text == "b");
    CHECK_FALSE(lines[1].bare_lf);
    CHECK(lines[2].text == "c\r");
    CHECK_FALSE(lines[2].bare_lf);
    CHECK(lines[3].text == "d\re");
    CHECK(lines[3].bare_lf);
    CHECK(lines[4].ec == asio::error::eof);
}

TEST_CASE("line reader rejects a line longer than the limit and then continues") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    std::string input = "short\r\n" + std::string(25, 'x') + "\r\nafter\r\n" + std::string(10, 'y') + "\r\n" +
                        std::string(11, 'z') + "\r\n" + std::string(10, 'w') + "\n" + std::string(11, 'v') + "\nend\r\n";
    net::memory_stream s(io.get_executor(), input, frag);
    s.feed_eof();
    net::line_reader r(s, 10);
    auto lines = run_coro(io, read_all_lines(r));
    REQUIRE(lines.size() == 9);
    CHECK(lines[0].text == "short");
    CHECK(is(lines[1].ec, errc::limit_exceeded));
    CHECK(lines[2].text == "after");
    CHECK(lines[3].text == std::string(10, 'y'));  // exactly the limit is fine
    CHECK(is(lines[4].ec, errc::limit_exceeded));  // one more is not
    CHECK(lines[5].text == std::string(10, 'w'));
    CHECK(lines[5].bare_lf);
    CHECK(is(lines[6].ec, errc::limit_exceeded));
    CHECK(lines[7].text == "end");
    CHECK(lines[8].ec == asio::error::eof);
}

TEST_CASE("line reader never buffers much more than the limit of an over-long line") {
    const std::size_t frag = GENERATE(5, 100, 70000);
    asio::io_context io;
    const std::size_t limit = 4000;
    net::memory_stream s(io.get_executor(), std::string(200000, 'x') + "\r\nok\r\n", frag);
    s.feed_eof();
    net::line_reader r(s, limit);
    std::size_t max_capacity = 0;
    auto lines = run_coro(io, [&]() -> awaitable<std::vector<line_result>> {
        std::vector<line_result> out;
        for (;;) {
            auto l = co_await r.read_line();
            max_capacity = std::max(max_capacity, r.capacity());
            if (l) out.push_back({std::string(l->text), l->bare_lf, {}});
            else out.push_back({{}, false, l.error()});
            if (!l && l.error() == asio::error::eof) break;
        }
        co_return out;
    }());
    REQUIRE(lines.size() == 3);
    CHECK(is(lines[0].ec, errc::limit_exceeded));
    CHECK(lines[1].text == "ok");
    CHECK(max_capacity <= limit + 2);
}

TEST_CASE("line reader reports eof in the middle of a line and keeps the partial bytes") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "abc\r\npartial", frag);
    s.feed_eof();
    net::line_reader r(s, 100);
    auto lines = run_coro(io, read_all_lines(r));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].text == "abc");
    CHECK(lines[1].ec == asio::error::eof);
    CHECK(r.buffered() == 7);
}

TEST_CASE("line reader reports eof inside an over-long line") {
    asio::io_context io;
    net::memory_stream s(io.get_executor(), std::string(100, 'x'), 7);
    s.feed_eof();
    net::line_reader r(s, 10);
    auto lines = run_coro(io, read_all_lines(r));
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].ec == asio::error::eof);
}

TEST_CASE("read_exact streams a literal in chunks and leaves what follows for read_line") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "A1 APPEND INBOX {11}\r\nhello world tail\r\n", frag);
    s.feed_eof();
    net::line_reader r(s, 100);
    std::vector<std::string> chunks;
    run_coro(io, [&]() -> awaitable<void> {
        auto cmd = co_await r.read_line();
        REQUIRE(cmd);
        CHECK(cmd->text == "A1 APPEND INBOX {11}");
        auto res = co_await r.read_exact(11, [&](std::string_view c) -> result<void> {
            chunks.emplace_back(c);
            return {};
        });
        CHECK(res);
        auto rest = co_await r.read_line();
        REQUIRE(rest);
        CHECK(rest->text == " tail");
        auto end = co_await r.read_line();
        CHECK(end.error() == asio::error::eof);
    }());
    std::string joined;
    for (auto& c : chunks) {
        CHECK_FALSE(c.empty());
        joined += c;
    }
    CHECK(joined == "hello world");
    if (frag == 1) CHECK(chunks.size() == 11);  // streamed as it arrived, never gathered first
}

TEST_CASE("read_exact with a failing sink still consumes the bytes and returns the sink's error") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "0123456789NEXT\r\n", frag);
    s.feed_eof();
    net::line_reader r(s, 100);
    std::string seen;
    run_coro(io, [&]() -> awaitable<void> {
        auto res = co_await r.read_exact(10, [&](std::string_view c) -> result<void> {
            seen += c;
            if (seen.size() >= 3) return error_code(errc::quota_exceeded);
            return {};
        });
        CHECK(is(res.error(), errc::quota_exceeded));
        auto next = co_await r.read_line();
        REQUIRE(next);
        CHECK(next->text == "NEXT");
    }());
    CHECK(seen.size() >= 3);
    if (frag < 10) CHECK(seen.size() < 10);  // later chunks were dropped, not delivered
}

TEST_CASE("read_exact returns eof when the peer closes before all bytes arrived") {
    const std::size_t frag = GENERATE(1, 2, 5, 100);
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "only-this", frag);
    s.feed_eof();
    net::line_reader r(s, 100);
    auto res = run_coro(io, r.read_exact(50));
    CHECK(res.error() == asio::error::eof);
}

TEST_CASE("read_exact of a large body reads in bounded chunks and releases the buffer") {
    const std::size_t frag = GENERATE(100, 100000);
    asio::io_context io;
    std::string body(300000, 'b');
    body[12345] = 'X';
    net::memory_stream s(io.get_executor(), "BDAT 300000 LAST\r\n" + body + "QUIT\r\n", frag);
    s.feed_eof();
    net::line_reader r(s, 512);
    std::size_t largest_chunk = 0;
    std::string got;
    run_coro(io, [&]() -> awaitable<void> {
        auto cmd = co_await r.read_line();
        REQUIRE(cmd);
        auto res = co_await r.read_exact(body.size(), [&](std::string_view c) -> result<void> {
            largest_chunk = std::max(largest_chunk, c.size());
            got += c;
            return {};
        });
        CHECK(res);
        CHECK(r.capacity() <= net::line_reader::shrink_above);
        auto quit = co_await r.read_line();
        REQUIRE(quit);
        CHECK(quit->text == "QUIT");
    }());
    CHECK(got == body);
    CHECK(largest_chunk <= net::line_reader::chunk_capacity);
}

TEST_CASE("buffered shows pipelined bytes after a STARTTLS command") {
    asio::io_context io;
    SECTION("with a command injected behind STARTTLS") {
        net::memory_stream s(io.get_executor(), "STARTTLS\r\nMAIL FROM:<evil>\r\n");
        net::line_reader r(s, 512);
        auto l = run_coro(io, r.read_line());
        REQUIRE(l);
        CHECK(l->text == "STARTTLS");
        CHECK(r.buffered() == 18);
        r.discard_buffer();
        CHECK(r.buffered() == 0);
    }
    SECTION("without pipelining") {
        net::memory_stream s(io.get_executor(), "STARTTLS\r\n");
        net::line_reader r(s, 512);
        auto l = run_coro(io, r.read_line());
        REQUIRE(l);
        CHECK(r.buffered() == 0);
    }
}

TEST_CASE("line reader starts without a buffer and keeps an idle one small") {
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "a1 NOOP\r\n");
    net::line_reader r(s, 65536);
    CHECK(r.capacity() == 0);
    auto l = run_coro(io, r.read_line());
    REQUIRE(l);
    CHECK(r.capacity() == net::line_reader::initial_capacity);
}

TEST_CASE("line reader passes a stream timeout through") {
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "no end of line");
    s.set_timeout(50ms);
    net::line_reader r(s, 100);
    auto start = std::chrono::steady_clock::now();
    auto l = run_coro(io, r.read_line());
    CHECK(is(l.error(), errc::timeout));
    CHECK(std::chrono::steady_clock::now() - start >= 45ms);
}

TEST_CASE("memory stream delivers input in fragments and waits for more") {
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "abcdefg", 3);
    std::vector<std::string> reads;
    run_coro(io, [&]() -> awaitable<void> {
        char buf[16];
        for (int i = 0; i < 3; ++i) {
            auto n = co_await s.read_some(asio::buffer(buf));
            REQUIRE(n);
            reads.emplace_back(buf, *n);
        }
        // Nothing buffered: the read waits until the test side feeds more.
        asio::steady_timer later(co_await asio::this_coro::executor, 20ms);
        later.async_wait([&](error_code) { s.feed("xy"); });
        auto n = co_await s.read_some(asio::buffer(buf));
        REQUIRE(n);
        reads.emplace_back(buf, *n);
        s.feed_eof();
        auto e = co_await s.read_some(asio::buffer(buf));
        CHECK(e.error() == asio::error::eof);
    }());
    CHECK(reads == std::vector<std::string>{"abc", "def", "g", "xy"});
}

TEST_CASE("memory stream captures output and lets the test read replies interactively") {
    asio::io_context io;
    net::memory_stream s(io.get_executor());
    std::string greeting, reply;
    run_coro(io, [&]() -> awaitable<void> {
        // a tiny session: greet, then answer each line with "ok <line>"
        asio::co_spawn(
            co_await asio::this_coro::executor,
            [&]() -> awaitable<void> {
                net::line_reader r(s, 100);
                (void)co_await s.write("* OK ready\r\n");
                for (;;) {
                    auto l = co_await r.read_line();
                    if (!l) break;
                    (void)co_await s.write("ok " + std::string(l->text) + "\r\n");
                }
                s.close();
            },
            asio::detached);
        auto g = co_await s.client_read_until("\r\n");
        REQUIRE(g);
        greeting = *g;
        s.feed("ping\r\n");
        auto r = co_await s.client_read_until("\r\n");
        REQUIRE(r);
        reply = *r;
        s.feed_eof();
        auto end = co_await s.client_read_until("\r\n", 1s);
        CHECK(end.error() == asio::error::eof);
    }());
    CHECK(greeting == "* OK ready\r\n");
    CHECK(reply == "ok ping\r\n");
    CHECK(s.output() == "* OK ready\r\nok ping\r\n");
    CHECK(s.closed());
}

TEST_CASE("memory stream records STARTTLS and can simulate failures") {
    asio::io_context io;
    net::memory_stream s(io.get_executor());
    run_coro(io, [&]() -> awaitable<void> {
        (void)co_await s.write("220 go ahead\r\n");
        auto t = co_await s.start_tls();
        CHECK(t);
        CHECK(s.tls_active());
        auto again = co_await s.start_tls();
        CHECK(is(again.error(), errc::invalid_argument));
        (void)co_await s.write("secret\r\n");
    }());
    CHECK(s.tls_upgrades() == 1);
    CHECK(s.output_before_tls() == 14);

    net::memory_stream f(io.get_executor());
    f.fail_start_tls(asio::ssl::error::stream_truncated);
    auto r = run_coro(io, f.start_tls());
    CHECK(r.error() == asio::ssl::error::stream_truncated);
    CHECK(f.closed());

    net::memory_stream w(io.get_executor());
    w.fail_writes(asio::error::broken_pipe);
    auto wr = run_coro(io, w.write("x"));
    CHECK(wr.error() == asio::error::broken_pipe);
}

TEST_CASE("memory stream cancel wakes a waiting read with operation_aborted") {
    asio::io_context io;
    net::memory_stream s(io.get_executor());
    auto r = run_coro(io, [&]() -> awaitable<result<std::size_t>> {
        asio::steady_timer later(co_await asio::this_coro::executor, 20ms);
        later.async_wait([&](error_code) { s.cancel(); });
        char buf[8];
        co_return co_await s.read_some(asio::buffer(buf));
    }());
    CHECK(r.error() == asio::error::operation_aborted);
}

TEST_CASE("memory stream cancel without a pending read aborts the next read once") {
    asio::io_context io;
    net::memory_stream s(io.get_executor(), "data");
    s.cancel();
    char buf[8];
    auto first = run_coro(io, s.read_some(asio::buffer(buf)));
    CHECK(first.error() == asio::error::operation_aborted);
    auto second = run_coro(io, s.read_some(asio::buffer(buf)));
    REQUIRE(second.has_value());
    CHECK(*second == 4);
}
