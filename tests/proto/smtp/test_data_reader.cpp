// test_data_reader.cpp - the DATA and BDAT readers at every fragment size, the SMTP
// smuggling vectors, dot-unstuffing and the size limit.
#include <catch2/catch.hpp>

#include "polder/smtp/proto/data_reader.hpp"

#include <string>
#include <vector>

using namespace polder::smtp;

namespace {

struct outcome {
    std::size_t consumed = 0;
    bool done = false;
    content_status status = content_status::ok;
    std::string out;
    std::uint64_t size = 0;
};

outcome feed_in_steps(std::string_view in, std::size_t step, std::uint64_t max = 1u << 20) {
    data_reader r(max);
    outcome o;
    while (o.consumed < in.size() && !r.done()) {
        const std::string_view piece = in.substr(o.consumed, step);
        const std::size_t used = r.feed(piece, [&](std::string_view b) {
            REQUIRE_FALSE(b.empty());
            o.out.append(b);
        });
        REQUIRE(used <= piece.size());
        if (!r.done()) REQUIRE(used == piece.size());   // only the end marker stops early
        o.consumed += used;
    }
    o.done = r.done();
    o.status = r.status();
    o.size = r.size();
    return o;
}

// The reference model for well-formed input: the data ends at the first CRLF.CRLF; each
// line loses one leading dot.
std::string unstuff_reference(std::string_view raw_before_terminator) {
    std::string out;
    std::size_t pos = 0;
    while (pos < raw_before_terminator.size()) {
        std::size_t end = raw_before_terminator.find("\r\n", pos);
        REQUIRE(end != std::string_view::npos);
        std::string_view line = raw_before_terminator.substr(pos, end - pos);
        if (!line.empty() && line.front() == '.') line.remove_prefix(1);
        out.append(line);
        out += "\r\n";
        pos = end + 2;
    }
    return out;
}

void check_every_fragment_size(const std::string& in, const std::string& expected_out, std::size_t expected_consumed,
                               content_status expected_status) {
    for (std::size_t step = 1; step <= in.size() + 1; ++step) {
        INFO("fragment size " << step);
        const auto o = feed_in_steps(in, step);
        CHECK(o.done);
        CHECK(o.consumed == expected_consumed);
        CHECK(o.status == expected_status);
        if (expected_status == content_status::ok) CHECK(o.out == expected_out);
    }
}

}  // namespace

TEST_CASE("data reader gives the same result for well-formed messages at every fragment size") {
    const std::vector<std::string> messages = {
        ".\r\n",
        "\r\n.\r\n",
        "Subject: hi\r\n\r\nHello\r\n.\r\n",
        "Subject: dots\r\n\r\n..leading dot\r\n...two\r\n.x dropped dot\r\n..\r\n.\r\n",
        "A\r\n\r\n\r\n.\r\n",
        "From: a@b\r\nSubject: long\r\n\r\n" + std::string(3000, 'x') + "\r\n" + std::string(70000, 'y') + "\r\n.\r\n",
        "line with . inside\r\nand a final . \r\n.\r\n",
    };
    for (const auto& m : messages) {
        INFO("message of " << m.size() << " octets");
        const std::size_t consumed = m.size();
        const std::string expected = unstuff_reference(std::string_view(m).substr(0, m.size() - 3));
        if (m.size() < 1000) {
            check_every_fragment_size(m, expected, consumed, content_status::ok);
        } else {
            for (std::size_t step : {1u, 2u, 3u, 5u, 7u, 100u, 4096u, 65536u, 1000000u}) {
                const auto o = feed_in_steps(m, step);
                CHECK(o.done);
                CHECK(o.consumed == consumed);
                CHECK(o.out == expected);
            }
        }
    }
}

TEST_CASE("data reader unstuffs dots exactly as RFC 5321 section 4.5.2 says") {
    const auto o = feed_in_steps("..\r\n...\r\n.a\r\n..b\r\na.\r\n.\r\n", 100);
    CHECK(o.out == ".\r\n..\r\na\r\n.b\r\na.\r\n");
    CHECK(o.size == o.out.size());
}

TEST_CASE("data reader leaves pipelined commands after the end marker untouched") {
    const std::string in = "Hi\r\n.\r\nQUIT\r\n";
    for (std::size_t step = 1; step <= in.size(); ++step) {
        const auto o = feed_in_steps(in, step);
        CHECK(o.done);
        CHECK(o.consumed == 7);
        CHECK(o.out == "Hi\r\n");
    }
}

TEST_CASE("data reader never ends data at a bare LF or bare CR variant of the end marker") {
    // Each vector: the smuggling attempt, then the real end, then what a vulnerable server
    // would have read as the next command. The reader must end only at the real CRLF.CRLF
    // and refuse the message.
    struct vec { const char* name; std::string data; };
    const std::string tail = "RCPT TO:<victim@example.org>\r\nDATA\r\nsmuggled\r\n.\r\n";
    const vec vectors[] = {
        {"LF . LF", "Subject: a\r\n\r\nx\n.\n" + tail},
        {"CRLF . LF", "Subject: a\r\n\r\nx\r\n.\n" + tail},
        {"LF . CRLF", "Subject: a\r\n\r\nx\n.\r\n" + tail},
        {"CR . CR", "Subject: a\r\n\r\nx\r.\r" + tail},
        {"CRLF . CR", "Subject: a\r\n\r\nx\r\n.\r" + tail},
        {"CR . CRLF", "Subject: a\r\n\r\nx\r.\r\n" + tail},
        {"LF . CR", "Subject: a\r\n\r\nx\n.\r" + tail},
        {"CR . LF", "Subject: a\r\n\r\nx\r.\n" + tail},
        {"CRLF . CR CRLF", "Subject: a\r\n\r\nx\r\n.\r\r\n" + tail},
        {"LF LF . LF", "Subject: a\r\n\r\nx\n\n.\n" + tail},
        {"CR CR . CR CR", "Subject: a\r\n\r\nx\r\r.\r\r" + tail},
        {"bare LF first octet", "\n.\n" + tail},
        {"bare CR first octet", "\r.\r" + tail},
        {"dot LF at start", ".\n" + tail},
        {"dot CR at start", ".\r" + tail},
        {"bare LF mid-line", "Subject: a\r\n\r\nab\ncd\r\n" + tail},
        {"bare CR mid-line", "Subject: a\r\n\r\nab\rcd\r\n" + tail},
        {"NUL around dot", std::string("x\r\n.\0\r\n", 7) + tail},
    };
    for (const auto& v : vectors) {
        INFO(v.name);
        const std::string& in = v.data;
        // The first genuine CRLF.CRLF of the stream.
        const std::size_t real_end = ("\r\n" + in).find("\r\n.\r\n") + 3;
        REQUIRE(real_end == in.size());   // the only genuine end is the one inside `tail`
        for (std::size_t step = 1; step <= in.size(); ++step) {
            INFO("fragment size " << step);
            const auto o = feed_in_steps(in, step);
            CHECK(o.done);
            CHECK(o.consumed == real_end);
            const bool nul_only = std::string_view(v.name) == "NUL around dot";
            CHECK(o.status == (nul_only ? content_status::ok : content_status::bare_line_ending));
        }
    }
}

TEST_CASE("data reader refuses bare LF with 550 and keeps reading to the real end") {
    data_reader r(1000);
    std::string out;
    const std::string in = "a\nb\r\n.\r\nNOOP\r\n";
    const std::size_t used = r.feed(in, [&](std::string_view b) { out.append(b); });
    CHECK(r.done());
    CHECK(used == in.size() - 6);
    CHECK(r.status() == content_status::bare_line_ending);
    REQUIRE(r.error_reply());
    CHECK(r.error_reply()->code == 550);
    CHECK(r.error_reply()->enhanced == "5.6.0");
    CHECK(out.empty());   // nothing of a refused message reached the sink in this single feed
}

TEST_CASE("data reader enforces the size limit while streaming") {
    const std::string body(100, 'z');
    const std::string in = body + "\r\n.\r\n";   // 102 content octets
    for (std::size_t step : {1u, 3u, 50u, 1000u}) {
        {
            data_reader r(102);
            std::string out;
            std::size_t used = 0;
            while (!r.done()) used += r.feed(std::string_view(in).substr(used, step), [&](std::string_view b) { out.append(b); });
            CHECK(r.status() == content_status::ok);
            CHECK(out == body + "\r\n");
        }
        {
            data_reader r(101);
            std::string out;
            std::size_t used = 0;
            while (!r.done()) used += r.feed(std::string_view(in).substr(used, step), [&](std::string_view b) { out.append(b); });
            CHECK(used == in.size());
            CHECK(r.status() == content_status::too_large);
            CHECK(r.size() == 102);
            CHECK(out.size() <= 101);
            REQUIRE(r.error_reply());
            CHECK(r.error_reply()->code == 552);
            CHECK(r.error_reply()->enhanced == "5.3.4");
        }
    }
}

TEST_CASE("data reader reports bare line endings before size when both happen") {
    data_reader r(3);
    r.feed("abcdef\n\r\n.\r\n", [](std::string_view) {});
    CHECK(r.done());
    CHECK(r.status() == content_status::bare_line_ending);
}

TEST_CASE("data reader streams a large message in bounded pieces") {
    const std::string line(998, 'q');
    std::string in;
    for (int i = 0; i < 300; ++i) in += line + "\r\n";
    in += ".\r\n";
    data_reader r(1u << 30);
    std::size_t largest = 0, total = 0;
    r.feed(in, [&](std::string_view b) {
        largest = std::max(largest, b.size());
        total += b.size();
    });
    CHECK(r.done());
    CHECK(total == in.size() - 3);
    CHECK(largest <= 64 * 1024 + 1000);
}

TEST_CASE("bdat reader consumes exact chunk sizes and leaves the next command") {
    bdat_reader b(1000, true);
    std::string out;
    const std::string wire = "Subject: x\r\n\r\nbodyNOOP\r\n";
    b.begin_chunk(18);
    std::size_t used = 0;
    for (std::size_t step = 1; !b.chunk_done(); )
        used += b.feed(std::string_view(wire).substr(used, step), [&](std::string_view c) { out.append(c); });
    CHECK(used == 18);
    CHECK(out == "Subject: x\r\n\r\nbody");
    b.finish();
    CHECK(b.status() == content_status::ok);
    CHECK(b.size() == 18);
}

TEST_CASE("bdat reader applies the bare CR/LF policy across chunk boundaries") {
    SECTION("CR at the end of one chunk and LF at the start of the next is a CRLF") {
        bdat_reader b(1000, true);
        b.begin_chunk(3);
        b.feed("ab\r", [](std::string_view) {});
        b.begin_chunk(3);
        b.feed("\ncd", [](std::string_view) {});
        b.finish();
        CHECK(b.status() == content_status::ok);
    }
    SECTION("a bare LF is refused") {
        bdat_reader b(1000, true);
        b.begin_chunk(4);
        b.feed("a\n.\n", [](std::string_view) {});
        b.finish();
        CHECK(b.status() == content_status::bare_line_ending);
        CHECK(b.error_reply()->code == 550);
    }
    SECTION("a CR at the very end of the message is bare") {
        bdat_reader b(1000, true);
        b.begin_chunk(2);
        b.feed("a\r", [](std::string_view) {});
        CHECK(b.status() == content_status::ok);
        b.finish();
        CHECK(b.status() == content_status::bare_line_ending);
    }
    SECTION("BODY=BINARYMIME content may contain any octet") {
        bdat_reader b(1000, false);
        std::string out;
        b.begin_chunk(6);
        b.feed(std::string_view("\n\r\0\xff.\n", 6), [&](std::string_view c) { out.append(c); });
        b.finish();
        CHECK(b.status() == content_status::ok);
        CHECK(out == std::string("\n\r\0\xff.\n", 6));
    }
}

TEST_CASE("bdat reader enforces the size limit over all chunks") {
    bdat_reader b(5, true);
    std::string out;
    b.begin_chunk(3);
    b.feed("abc", [&](std::string_view c) { out.append(c); });
    b.begin_chunk(3);
    CHECK(b.feed("defgh", [&](std::string_view c) { out.append(c); }) == 3);
    CHECK(b.chunk_done());
    CHECK(b.status() == content_status::too_large);
    CHECK(out == "abc");
    CHECK(b.error_reply()->code == 552);
}

TEST_CASE("data reader fed line by line gives the same result as fed byte by byte") {
    const std::vector<std::string> inputs = {
        "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\n",
        "a\n.\nb\r\n.\r\n",
        "a\r.\rb\r\n.\r\n",
        "a\r\n.\r\r\n.\r\n",
    };
    for (const auto& in : inputs) {
        INFO(in);
        const auto bytes = feed_in_steps(in, 1);
        data_reader lines(1u << 20);
        std::string out;
        std::size_t pos = 0;
        while (!lines.done() && pos < in.size()) {
            std::size_t nl = in.find('\n', pos);
            REQUIRE(nl != std::string::npos);
            std::string_view text(in.data() + pos, nl - pos);
            bool bare_lf = true;
            if (!text.empty() && text.back() == '\r') {
                text.remove_suffix(1);
                bare_lf = false;
            }
            lines.feed_line(text, bare_lf, [&](std::string_view b) { out.append(b); });
            pos = nl + 1;
        }
        CHECK(lines.done() == bytes.done);
        CHECK(pos == bytes.consumed);
        CHECK(lines.status() == bytes.status);
        if (bytes.status == content_status::ok) CHECK(out == bytes.out);
    }
}
