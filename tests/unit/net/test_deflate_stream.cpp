// test_deflate_stream.cpp - the DEFLATE stream of IMAP COMPRESS over an in-memory
// stream: what it writes inflates back with plain zlib after every write (sync flush),
// what it reads is inflated at every fragment size, pipelined bytes come first, corrupt
// input is a protocol error, and one read never returns more than the caller's buffer.
// SECURITY: the decompression-bomb bound is tested here. STANDARDS: RFC 4978, RFC 1951.
#include "net_test_util.hpp"

#include "polder/net/deflate_stream.hpp"
#include "polder/net/memory_stream.hpp"

#include <zlib.h>

using namespace polder;
using polder::net_test::run_coro;

namespace {

// raw_deflate - what a client's zlib sends: raw deflate, sync-flushed.
std::string raw_deflate(std::string_view text) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, text.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    return out;
}

// inflater - the client's side of the server's output.
struct inflater {
    z_stream z{};
    inflater() { REQUIRE(inflateInit2(&z, -15) == Z_OK); }
    ~inflater() { inflateEnd(&z); }
    std::string operator()(std::string_view data) {
        std::string out;
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
        z.avail_in = static_cast<uInt>(data.size());
        char buf[4096];
        do {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            int rc = inflate(&z, Z_SYNC_FLUSH);
            REQUIRE((rc == Z_OK || rc == Z_BUF_ERROR));
            out.append(buf, sizeof buf - z.avail_out);
        } while (z.avail_out == 0 || z.avail_in != 0);
        return out;
    }
};

asio::awaitable<std::string> read_all(net::stream& s, std::size_t chunk) {
    std::string got;
    std::vector<char> buf(chunk);
    for (;;) {
        auto n = co_await s.read_some(asio::buffer(buf));
        if (!n) break;
        REQUIRE(*n <= chunk);
        got.append(buf.data(), *n);
    }
    co_return got;
}

}  // namespace

TEST_CASE("each write is flushed so the client can inflate it at once") {
    asio::io_context io;
    auto mem = std::make_unique<net::memory_stream>(io.get_executor());
    auto* raw = mem.get();
    auto s = net::make_deflate_stream(std::move(mem));
    inflater client;
    std::size_t seen = 0;
    const std::vector<std::string> lines{"* OK first response\r\n", "a1 OK FETCH completed\r\n",
                                         std::string(100000, 'x') + "\r\n"};
    for (const auto& line : lines) {
        auto r = run_coro(io, s->write(line));
        REQUIRE(r);
        auto fresh = raw->output().substr(seen);
        seen = raw->output().size();
        CHECK(client(fresh) == line);
    }
    CHECK(raw->output().size() < 100000);   // it really compressed
}

TEST_CASE("compressed input is inflated whatever the fragment size") {
    std::string text;
    for (int i = 0; i < 2000; ++i) text += "a" + std::to_string(i) + " UID FETCH 1:* (FLAGS)\r\n";
    auto wire = raw_deflate(text);
    for (std::size_t frag : {1, 2, 5, 100, 100000}) {
        asio::io_context io;
        auto mem = std::make_unique<net::memory_stream>(io.get_executor(), wire, frag);
        mem->feed_eof();
        auto s = net::make_deflate_stream(std::move(mem));
        CHECK(run_coro(io, read_all(*s, 7)) == text);
    }
}

TEST_CASE("bytes read before compression started are inflated first") {
    auto wire = raw_deflate("a2 NOOP\r\na3 LOGOUT\r\n");
    asio::io_context io;
    auto mem = std::make_unique<net::memory_stream>(io.get_executor(), wire.substr(5));
    mem->feed_eof();
    auto s = net::make_deflate_stream(std::move(mem), wire.substr(0, 5));
    CHECK(run_coro(io, read_all(*s, 4096)) == "a2 NOOP\r\na3 LOGOUT\r\n");
}

TEST_CASE("corrupt compressed input is a protocol error") {
    asio::io_context io;
    auto mem = std::make_unique<net::memory_stream>(io.get_executor(), std::string("\xff\xff\xff\xff garbage", 12));
    mem->feed_eof();
    auto s = net::make_deflate_stream(std::move(mem));
    std::array<char, 1024> buf;
    auto n = run_coro(io, s->read_some(asio::buffer(buf)));
    REQUIRE_FALSE(n);
    CHECK(is(n.error(), errc::protocol_error));
}

TEST_CASE("a decompression bomb never yields more than the read buffer at once") {
    auto wire = raw_deflate(std::string(20u << 20, '\0'));   // 20 MiB of zeros, ~20 KiB on the wire
    CHECK(wire.size() < 100000);
    asio::io_context io;
    auto mem = std::make_unique<net::memory_stream>(io.get_executor(), wire);
    mem->feed_eof();
    auto s = net::make_deflate_stream(std::move(mem));
    auto got = run_coro(io, read_all(*s, 16384));
    CHECK(got.size() == (20u << 20));
}

TEST_CASE("STARTTLS is refused once compression is active") {
    asio::io_context io;
    auto s = net::make_deflate_stream(std::make_unique<net::memory_stream>(io.get_executor()));
    auto r = run_coro(io, s->start_tls());
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::invalid_argument));
}
