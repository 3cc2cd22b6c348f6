// test_log.cpp - log line formats and, above all, escaping of hostile values.
//
// SECURITY: these tests pin down that client-supplied text cannot split a log
// line or forge a field in either format.
// STANDARDS: logfmt, RFC 8259 (JSON), RFC 3339 timestamps.
#include <catch2/catch.hpp>

#include "polder/log/log.hpp"

#include <nlohmann/json.hpp>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace plog = polder::log;
using plog::field;

namespace {

// 2024-02-29T13:45:07.089Z
const auto fixed_time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1709214307089));

std::string text(std::string_view event, std::initializer_list<field> f, plog::level l = plog::level::info) {
    return plog::format_line(plog::format::text, fixed_time, l, event, std::span<const field>(f.begin(), f.size()));
}

std::string json(std::string_view event, std::initializer_list<field> f, plog::level l = plog::level::info) {
    return plog::format_line(plog::format::json, fixed_time, l, event, std::span<const field>(f.begin(), f.size()));
}

// capture - routes log output into a vector for the lifetime of the object.
struct capture {
    std::mutex m;
    std::vector<std::string> lines;
    capture() {
        plog::set_sink([this](std::string_view l) {
            std::lock_guard lock(m);
            lines.emplace_back(l);
        });
    }
    ~capture() {
        plog::set_sink({});
        plog::init(plog::level::info, plog::format::text);
    }
};

}  // namespace

TEST_CASE("text log line has timestamp, level, event and bare fields") {
    CHECK(text("imap.login", {{"conn", std::uint64_t{42}}, {"user", "demo@example.test"}, {"ok", true}}) ==
          "ts=2024-02-29T13:45:07.089Z level=info event=imap.login conn=42 user=demo@example.test ok=true\n");
}

TEST_CASE("text log quotes values with spaces, quotes, equals signs and empty values") {
    CHECK(text("e", {{"a", "two words"}, {"b", "say \"hi\""}, {"c", "k=v"}, {"d", ""}, {"e", "back\\slash"}}) ==
          "ts=2024-02-29T13:45:07.089Z level=info event=e a=\"two words\" b=\"say \\\"hi\\\"\" c=\"k=v\" d=\"\" "
          "e=\"back\\\\slash\"\n");
}

TEST_CASE("text log escapes CR and LF so a client cannot start a forged line") {
    std::string evil = "x\r\nts=2024-01-01T00:00:00.000Z level=error event=admin.login user=root";
    std::string line = text("smtp.helo", {{"helo", evil}});
    CHECK(line ==
          "ts=2024-02-29T13:45:07.089Z level=info event=smtp.helo helo=\"x\\r\\nts=2024-01-01T00:00:00.000Z "
          "level=error event=admin.login user=root\"\n");
    CHECK(std::count(line.begin(), line.end(), '\n') == 1);
}

TEST_CASE("text log escapes control characters, DEL and line separators") {
    std::string v = std::string("a\tb\x1b[31mc\x7f") + std::string(1, '\0') + "d" + "\xE2\x80\xA8" + "e";
    CHECK(text("e", {{"v", v}}) ==
          "ts=2024-02-29T13:45:07.089Z level=info event=e v=\"a\\tb\\u001b[31mc\\u007f\\u0000d\\u2028e\"\n");
}

TEST_CASE("text log keeps valid UTF-8 and escapes invalid bytes as hex") {
    CHECK(text("e", {{"name", "Jos\xC3\xA9"}}) == "ts=2024-02-29T13:45:07.089Z level=info event=e name=\"Jos\xC3\xA9\"\n");
    // a lone continuation byte, an overlong '/' and a truncated sequence
    CHECK(text("e", {{"v", "a\x80" "b\xC0\xAF" "c\xE2\x82"}}) ==
          "ts=2024-02-29T13:45:07.089Z level=info event=e v=\"a\\x80b\\xc0\\xafc\\xe2\\x82\"\n");
}

TEST_CASE("log keys outside the safe set are sanitized") {
    CHECK(text("e", {{"bad key=\"x", 1}, {"", 2}}) ==
          "ts=2024-02-29T13:45:07.089Z level=info event=e bad_key__x=1 _=2\n");
}

TEST_CASE("an event name is escaped like any value") {
    CHECK(text("a b\nc", {}) == "ts=2024-02-29T13:45:07.089Z level=info event=\"a b\\nc\"\n");
}

TEST_CASE("numbers, booleans, doubles, chars and error codes render as expected") {
    CHECK(text("e", {{"i", -7}, {"u", 18446744073709551615ull}, {"d", 0.25}, {"n", 1.0 / 0.0}, {"c", 'x'},
                     {"err", boost::system::error_code(ECONNRESET, boost::system::system_category())}}) ==
          "ts=2024-02-29T13:45:07.089Z level=info event=e i=-7 u=18446744073709551615 d=0.25 n=+Inf c=x "
          "err=\"Connection reset by peer\"\n");
}

TEST_CASE("json log line is one valid object with typed values") {
    std::string line = json("db.retry", {{"attempt", 2}, {"ok", false}, {"wait", 0.5}, {"who", "a\"b"}},
                            plog::level::warn);
    CHECK(line ==
          "{\"ts\":\"2024-02-29T13:45:07.089Z\",\"level\":\"warn\",\"event\":\"db.retry\",\"attempt\":2,\"ok\":false,"
          "\"wait\":0.5,\"who\":\"a\\\"b\"}\n");
    auto j = nlohmann::json::parse(line);
    CHECK(j["attempt"] == 2);
    CHECK(j["ok"] == false);
    CHECK(j["who"] == "a\"b");
}

TEST_CASE("json log escapes control characters and replaces invalid UTF-8 so the output stays valid JSON") {
    std::string v = "l1\r\nl2\x01\x7f\xff\xE2\x80\xA9 end";
    std::string line = json("e", {{"v", v}, {"inf", -1.0 / 0.0}});
    CHECK(line ==
          "{\"ts\":\"2024-02-29T13:45:07.089Z\",\"level\":\"info\",\"event\":\"e\","
          "\"v\":\"l1\\r\\nl2\\u0001\\u007f\\ufffd\\u2029 end\",\"inf\":\"-Inf\"}\n");
    auto j = nlohmann::json::parse(line);  // throws if invalid
    CHECK(j["v"] == "l1\r\nl2\x01\x7f\xEF\xBF\xBD\xE2\x80\xA9 end");
    CHECK(std::count(line.begin(), line.end(), '\n') == 1);
}

TEST_CASE("a very long value is truncated at a UTF-8 boundary and marked") {
    std::string v(plog::max_value_bytes - 1, 'a');
    v += "\xC3\xA9";  // é straddles the limit
    v += std::string(100, 'b');
    std::string line = text("e", {{"v", v}});
    std::string expected = "ts=2024-02-29T13:45:07.089Z level=info event=e v=\"" +
                           std::string(plog::max_value_bytes - 1, 'a') + "...[truncated]\"\n";
    CHECK(line == expected);
    std::string j = json("e", {{"v", v}});
    CHECK(nlohmann::json::parse(j)["v"] == std::string(plog::max_value_bytes - 1, 'a') + "...[truncated]");
}

TEST_CASE("parse_level and parse_format accept the documented names only") {
    CHECK(plog::parse_level("debug") == plog::level::debug);
    CHECK(plog::parse_level("info") == plog::level::info);
    CHECK(plog::parse_level("warn") == plog::level::warn);
    CHECK(plog::parse_level("warning") == plog::level::warn);
    CHECK(plog::parse_level("error") == plog::level::error);
    CHECK_FALSE(plog::parse_level("INFO").has_value());
    CHECK_FALSE(plog::parse_level("").has_value());
    CHECK(plog::parse_format("text") == plog::format::text);
    CHECK(plog::parse_format("json") == plog::format::json);
    CHECK_FALSE(plog::parse_format("xml").has_value());
}

TEST_CASE("lines below the minimum level are not written") {
    capture cap;
    plog::init(plog::level::warn, plog::format::text);
    CHECK_FALSE(plog::enabled(plog::level::info));
    CHECK(plog::enabled(plog::level::error));
    plog::debug("a.debug");
    plog::info("a.info", {{"k", 1}});
    plog::warn("a.warn", {{"k", 2}});
    plog::error("a.error");
    REQUIRE(cap.lines.size() == 2);
    CHECK(cap.lines[0].find("level=warn event=a.warn k=2\n") != std::string::npos);
    CHECK(cap.lines[1].find("level=error event=a.error\n") != std::string::npos);
}

TEST_CASE("the json format is used after init selects it") {
    capture cap;
    plog::init(plog::level::debug, plog::format::json);
    plog::debug("x.y", {{"conn", 7}});
    REQUIRE(cap.lines.size() == 1);
    auto j = nlohmann::json::parse(cap.lines[0]);
    CHECK(j["level"] == "debug");
    CHECK(j["event"] == "x.y");
    CHECK(j["conn"] == 7);
}

TEST_CASE("lines written from many threads never interleave") {
    capture cap;
    plog::init(plog::level::info, plog::format::text);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t] {
            for (int i = 0; i < 200; ++i) plog::info("t.line", {{"thread", t}, {"i", i}, {"pad", std::string(300, 'p')}});
        });
    }
    for (auto& th : threads) th.join();
    REQUIRE(cap.lines.size() == 800);
    for (const auto& l : cap.lines) {
        CHECK(l.back() == '\n');
        CHECK(std::count(l.begin(), l.end(), '\n') == 1);
        CHECK(l.find("event=t.line thread=") != std::string::npos);
    }
}
