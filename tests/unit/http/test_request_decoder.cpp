// test_request_decoder.cpp - the request decoder at every fragment size, its
// limits and its framing rules.
#include <catch2/catch.hpp>

#include "polder/http/request_decoder.hpp"

#include <array>
#include <string>
#include <vector>

using namespace polder::http;
using state = request_decoder::state;

namespace {

struct decoded {
    std::vector<std::string> targets;
    std::vector<std::string> bodies;
    std::vector<std::size_t> pieces;   // number of body pieces per message
    state last = state::head;
    request_problem problem;
};

// Feed `wire` `fragment` bytes at a time, like a socket delivering it in
// pieces, decoding pipelined messages one after the other.
decoded decode(std::string_view wire, std::size_t fragment, head_limits limits = {}, std::size_t out_size = 7) {
    decoded result;
    std::string buffer;
    std::size_t offered = 0;
    auto dec = std::make_unique<request_decoder>(limits);
    std::string body;
    std::size_t pieces = 0;
    std::vector<char> out(out_size);
    for (int guard = 0; guard < 1000000; ++guard) {
        bool progressed = false;
        if (dec->current() == state::head) {
            const auto used = dec->feed_head(buffer);
            buffer.erase(0, used);
            if (dec->current() != state::head || used > 0) progressed = true;
        }
        while (dec->current() == state::body && !buffer.empty()) {
            const auto p = dec->feed_body(buffer, out);
            buffer.erase(0, p.consumed);
            if (p.produced) {
                body.append(out.data(), p.produced);
                ++pieces;
            }
            if (p.consumed == 0 && p.produced == 0) break;
            progressed = true;
        }
        if (dec->current() == state::failed) {
            result.last = state::failed;
            result.problem = dec->problem();
            return result;
        }
        if (dec->current() == state::complete) {
            result.targets.emplace_back(dec->head().target());
            result.bodies.push_back(body);
            result.pieces.push_back(pieces);
            body.clear();
            pieces = 0;
            dec = std::make_unique<request_decoder>(limits);
            result.last = state::complete;
            continue;
        }
        if (offered < wire.size()) {
            const auto n = std::min(fragment, wire.size() - offered);
            buffer.append(wire.substr(offered, n));
            offered += n;
        } else if (!progressed) {
            result.last = dec->current();
            return result;
        }
    }
    FAIL("decoder made no progress");
    return result;
}

const std::size_t fragment_sizes[] = {1, 2, 5, 100, 100000};

}  // namespace

TEST_CASE("request decoder decodes pipelined requests with chunked and sized bodies at every fragment size") {
    const std::string wire =
        "POST /cal/a?x=1 HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
        "PUT /files/b HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\n\r\nhello again"
        "GET /c HTTP/1.1\r\nHost: example.test\r\n\r\n";
    for (auto f : fragment_sizes) {
        INFO("fragment " << f);
        auto d = decode(wire, f);
        REQUIRE(d.targets == std::vector<std::string>{"/cal/a?x=1", "/files/b", "/c"});
        CHECK(d.bodies == std::vector<std::string>{"hello, world", "hello again", ""});
        CHECK(d.pieces[0] >= 2);   // streamed in pieces, never whole
        CHECK(d.last == state::head);
    }
}

TEST_CASE("request decoder exposes the head, path, query and framing") {
    request_decoder d;
    const std::string head =
        "PUT http://example.test/files/a%20b?v=2 HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\n"
        "Expect: 100-continue\r\n\r\n";
    CHECK(d.feed_head(head) == head.size());
    REQUIRE(d.current() == state::body);
    CHECK(d.path() == "/files/a%20b");
    CHECK(d.query() == "v=2");
    CHECK(d.has_body());
    CHECK_FALSE(d.chunked());
    CHECK(d.content_length() == 3u);
    CHECK(d.expect_continue());
    CHECK(d.keep_alive());
    std::array<char, 8> out{};
    auto p = d.feed_body("abcGET", out);
    CHECK(p.consumed == 3);
    CHECK(p.produced == 3);
    CHECK(d.current() == state::complete);
}

TEST_CASE("request decoder ignores 100-continue in HTTP/1.0 and without a body") {
    request_decoder a;
    a.feed_head("PUT /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    REQUIRE(a.current() == state::body);
    CHECK_FALSE(a.expect_continue());
    CHECK_FALSE(a.keep_alive());
    request_decoder b;
    b.feed_head("GET /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n");
    REQUIRE(b.current() == state::complete);
    CHECK_FALSE(b.expect_continue());
}

TEST_CASE("request decoder refuses heads with the right status at every fragment size") {
    struct row {
        std::string wire;
        unsigned status;
    };
    const row rows[] = {
        {"GARBAGE\r\n\r\n", 400},
        {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n\r\n", 400},                                         // no Host
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},                   // two Hosts
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        {"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
        {"GET noslash HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},                              // * only for OPTIONS
        {"CONNECT example.test:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nBad Field: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", 400},                 // control char in a value
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", 400},           // obs-fold
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tfolded\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},                          // space before the first field
        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},                            // HTTP/2 prior knowledge
        {"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400},
        // Request smuggling: every ambiguous framing is refused.
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
        {"PUT / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\nContent-Length: 1\r\n\r\n", 417},
    };
    for (const auto& r : rows) {
        for (auto f : fragment_sizes) {
            INFO(r.wire << " fragment " << f);
            auto d = decode(r.wire, f);
            REQUIRE(d.last == state::failed);
            CHECK(d.problem.status == r.status);
            CHECK_FALSE(d.problem.reason.empty());
        }
    }
}

TEST_CASE("request decoder answers 431 for a head over the byte limit or with too many fields") {
    const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(64 * 1024, 'x') + "\r\n\r\n";
    for (auto f : {std::size_t{1000}, std::size_t{65536}, std::size_t{1000000}}) {
        auto d = decode(big, f);
        REQUIRE(d.last == state::failed);
        CHECK(d.problem.status == 431);
    }
    std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    many += "\r\n";
    auto d = decode(many, 100000);
    REQUIRE(d.last == state::failed);
    CHECK(d.problem.status == 431);
    auto ok = decode(many, 100000, {.max_header_bytes = 16384, .max_header_fields = 200});
    CHECK(ok.last == state::head);
    CHECK(ok.targets.size() == 1);
}

TEST_CASE("request decoder rejects malformed chunked framing") {
    const std::string rows[] = {
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
    };
    for (const auto& w : rows) {
        for (auto f : fragment_sizes) {
            INFO(w << " fragment " << f);
            auto d = decode(w, f);
            REQUIRE(d.last == state::failed);
            CHECK(d.problem.status == 400);
        }
    }
}

TEST_CASE("request decoder continues a head whose request line was consumed early") {
    request_decoder d;
    std::string buffer = "GET /x HTTP/1.1\r\n";
    buffer.erase(0, d.feed_head(buffer));
    REQUIRE(d.current() == state::head);
    buffer += "Host: test\r\n";
    buffer.erase(0, d.feed_head(buffer));
    REQUIRE(d.current() == state::head);
    buffer += "\r\n";
    buffer.erase(0, d.feed_head(buffer));
    REQUIRE(d.current() == state::complete);
    CHECK(d.head().target() == "/x");
    CHECK(buffer.empty());
    // Folding right after a consumed request line is still seen.
    request_decoder f;
    std::string b2 = "GET /x HTTP/1.1\r\n";
    b2.erase(0, f.feed_head(b2));
    b2 += " Host: test\r\n\r\n";
    f.feed_head(b2);
    CHECK(f.current() == state::failed);
}

TEST_CASE("request decoder waits for the rest of an incomplete message") {
    auto d = decode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", 3);
    CHECK(d.last == state::body);
    auto h = decode("GET / HTTP/1.1\r\nHost: a\r\n", 1);
    CHECK(h.last == state::head);
}
