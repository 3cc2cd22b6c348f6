// test_parser_literals.cpp - literal handling of the IMAP command parser: synchronizing
// literals and their continuation decision, non-synchronizing literals (LITERAL+ and
// LITERAL-), literal8, size limits refused before data is sent, APPEND streaming, resync
// after errors (including discarding announced literal octets), line modes for
// AUTHENTICATE and IDLE, and where the parser stops for STARTTLS/COMPRESS. Every input is
// fed at fragment sizes 1, 2, 5 and 100.
//
// SECURITY: the limits tested here are what keeps a client from making the server
// buffer or read unbounded data.
// STANDARDS: RFC 9051 4.3 and 7.5, RFC 7888, RFC 7889, RFC 3516, RFC 2177, RFC 4959.
#include "drive.hpp"

#include "polder/imap/proto/parser.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace polder::imap::proto;
using namespace polder::imap::proto::test;
using namespace std::string_literals;

TEST_CASE("imap parser asks before reading a synchronizing literal and continues after acceptance") {
    run r = drive_all("a1 LOGIN {4}\r\nfred {6}\r\nsecret\r\n");
    REQUIRE(r.requests.size() == 2);
    CHECK(r.requests[0].tag == "a1");
    CHECK(r.requests[0].kind == command_kind::login);
    CHECK(r.requests[0].size == 4);
    CHECK_FALSE(r.requests[0].message_data);
    CHECK(r.requests[1].size == 6);
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].get<login_args>().user == "fred");
    CHECK(r.commands[0].get<login_args>().password == "secret");
}

TEST_CASE("imap parser returns the same literal request until the session decides") {
    command_parser p;
    auto r1 = p.feed("a1 LOGIN {4}\r\nfred x\r\n");
    REQUIRE(std::holds_alternative<literal_request>(r1.event));
    CHECK(r1.consumed == 14);
    CHECK(p.awaiting_literal_decision());
    auto r2 = p.feed("fred x\r\n");
    CHECK(std::holds_alternative<literal_request>(r2.event));
    CHECK(r2.consumed == 0);
    p.accept_literal();
    auto r3 = p.feed("fred x\r\n");
    REQUIRE(std::holds_alternative<command>(r3.event));
    CHECK(r3.consumed == 8);
}

TEST_CASE("imap parser drops the command when the session rejects a literal") {
    auto reject = [](const literal_request&) { return false; };
    run r = drive_all("a1 APPEND Nowhere {5}\r\na2 NOOP\r\n", {}, reject);
    REQUIRE(r.requests.size() == 1);
    CHECK(r.requests[0].message_data);
    CHECK(r.requests[0].mailbox == "Nowhere");
    CHECK(r.errors.empty());
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a2");
}

TEST_CASE("imap parser tells APPEND message literals from mailbox literals") {
    run r = drive_all("a1 APPEND {7}\r\nArchive (\\Seen) {3}\r\nabc\r\n");
    REQUIRE(r.requests.size() == 2);
    CHECK_FALSE(r.requests[0].message_data);
    CHECK(r.requests[1].message_data);
    CHECK(r.requests[1].message_index == 0);
    CHECK(r.requests[1].mailbox == "Archive");
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].get<append_args>().messages[0].data == "abc");
}

TEST_CASE("imap parser refuses a synchronizing literal larger than the command limit before it is sent") {
    parser_options o;
    o.max_command_size = 100;
    run r = drive_all("a1 LOGIN {1000}\r\na2 NOOP\r\n", o);
    CHECK(r.requests.empty());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].tag == std::optional<std::string>("a1"));
    CHECK(r.errors[0].status == response_status::bad);
    REQUIRE(r.errors[0].code);
    CHECK(r.errors[0].code->kind == code_kind::toobig);
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a2");
}

TEST_CASE("imap parser rejects a literal larger than APPENDLIMIT with NO [TOOBIG] before it is sent") {
    parser_options o;
    o.max_append_size = 10;
    run r = drive_all("a1 APPEND INBOX {11}\r\na2 APPEND INBOX {10}\r\n0123456789\r\n", o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].status == response_status::no);
    REQUIRE(r.errors[0].code);
    CHECK(r.errors[0].code->kind == code_kind::toobig);
    CHECK(r.errors[0].tag == std::optional<std::string>("a1"));
    REQUIRE(r.requests.size() == 1);
    CHECK(r.requests[0].tag == "a2");
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].get<append_args>().messages[0].data == "0123456789");
}

TEST_CASE("imap parser discards a refused non-synchronizing literal and resyncs after it") {
    parser_options o;
    o.max_append_size = 10;
    std::string input = "a1 APPEND INBOX {11+}\r\n0123456789A (\\Seen) {3+}\r\nabc\r\na2 NOOP\r\n";
    run r = drive_all(input, o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].status == response_status::no);
    CHECK_FALSE(r.errors[0].close_connection);
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a2");
}

TEST_CASE("imap parser enforces LITERAL- for non-synchronizing literals over 4096 octets") {
    parser_options o;
    o.non_sync = non_sync_literals::minus;
    std::string ok = "a1 LOGIN {4096+}\r\n" + std::string(4096, 'u') + " p\r\n";
    run good = drive_all(ok, o);
    CHECK(good.errors.empty());
    REQUIRE(good.commands.size() == 1);
    CHECK(good.commands[0].get<login_args>().user.size() == 4096);

    std::string big = "a1 LOGIN {4097+}\r\n" + std::string(4097, 'u') + " p\r\na2 NOOP\r\n";
    run bad = drive_all(big, o);
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].status == response_status::bad);
    REQUIRE(bad.errors[0].code);
    CHECK(bad.errors[0].code->kind == code_kind::toobig);
    REQUIRE(bad.commands.size() == 1);
    CHECK(bad.commands[0].tag == "a2");
}

TEST_CASE("imap parser refuses non-synchronizing literals when neither LITERAL+ nor LITERAL- is on") {
    parser_options o;
    o.non_sync = non_sync_literals::none;
    run r = drive_all("a1 LOGIN {4+}\r\nfred x\r\na2 NOOP\r\n", o);
    REQUIRE(r.errors.size() == 1);
    CHECK_THAT(r.errors[0].reason, Catch::Contains("Non-synchronizing"));
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a2");
}

TEST_CASE("imap parser suggests closing when resync would discard more than max_discard") {
    parser_options o;
    o.max_append_size = 10;
    o.max_discard = 1000;
    run r = drive("a1 APPEND INBOX {999999+}\r\n", 5, o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].close_connection);
    run overflow = drive("a1 LOGIN {99999999999999999999999+}\r\n", 5, o);
    REQUIRE(overflow.errors.size() == 1);
    CHECK(overflow.errors[0].close_connection);
}

TEST_CASE("imap parser refuses a synchronizing literal for an invalid command before the client sends it") {
    run r = drive_all("a1 FETCH x {5}\r\na2 FOO {5}\r\na3 NOOP\r\n");
    CHECK(r.requests.empty());
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0].tag == std::optional<std::string>("a1"));
    CHECK_THAT(r.errors[0].reason, Catch::Contains("sequence set"));
    CHECK(r.errors[1].tag == std::optional<std::string>("a2"));
    CHECK_THAT(r.errors[1].reason, Catch::Contains("Unknown command"));
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a3");
}

TEST_CASE("imap parser keeps literal octets verbatim, CRLF and braces included") {
    run r = drive_all("a1 LOGIN {9}\r\nfo\r\n{3}x\r {2}\r\n\r\n\r\n");
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].get<login_args>().user == "fo\r\n{3}x\r");
    CHECK(r.commands[0].get<login_args>().password == "\r\n");
}

TEST_CASE("imap parser streams APPEND message data to the session when asked to") {
    parser_options o;
    o.stream_append = true;
    run r = drive_all("a1 APPEND INBOX (\\Seen) {10+}\r\n0123456789 {3}\r\nabc UTF8 (~{0+}\r\n)\r\n", o);
    REQUIRE(r.begins.size() == 3);
    CHECK(r.begins[0].mailbox == "INBOX");
    CHECK(r.begins[0].message_index == 0);
    CHECK(r.begins[0].size == 10);
    CHECK(r.begins[0].flags == std::vector<std::string>{"\\Seen"});
    CHECK(r.begins[1].message_index == 1);
    CHECK(r.begins[2].binary);
    REQUIRE(r.streamed.size() == 3);
    CHECK(r.streamed[0] == "0123456789");
    CHECK(r.streamed[1] == "abc");
    CHECK(r.streamed[2].empty());
    CHECK(r.log == std::vector<std::string>{"begin 0 10", "end 0", "request a1 3 message 1", "begin 1 3", "end 1",
                                            "begin 2 0", "end 2",
                                            "command a1 APPEND INBOX (\\Seen) {10} {3} UTF8 (~{0})\r\n"});
    REQUIRE(r.commands.size() == 1);
    const auto& msgs = r.commands[0].get<append_args>().messages;
    REQUIRE(msgs.size() == 3);
    for (const auto& m : msgs) {
        CHECK(m.streamed);
        CHECK(m.data.empty());
    }
    CHECK(msgs[0].size == 10);
    CHECK(msgs[2].utf8);
}

TEST_CASE("imap parser hands out streamed literal data as views into the fed buffer") {
    parser_options o;
    o.stream_append = true;
    command_parser p(o);
    std::string input = "a1 APPEND INBOX {5+}\r\nhello\r\n";
    auto r1 = p.feed(input);
    REQUIRE(std::holds_alternative<literal_begin>(r1.event));
    std::string_view rest = std::string_view(input).substr(r1.consumed);
    auto r2 = p.feed(rest);
    REQUIRE(std::holds_alternative<literal_data>(r2.event));
    auto bytes = std::get<literal_data>(r2.event).bytes;
    CHECK(bytes == "hello");
    CHECK(bytes.data() == rest.data());
    CHECK(p.has_pending_event());
    auto r3 = p.feed(rest.substr(r2.consumed));
    CHECK(std::holds_alternative<literal_end>(r3.event));
    CHECK(r3.consumed == 0);
    auto r4 = p.feed(rest.substr(r2.consumed));
    CHECK(std::holds_alternative<command>(r4.event));
}

TEST_CASE("imap parser buffers a large APPEND message intact") {
    std::string message;
    for (int i = 0; message.size() < 200000; ++i) message += "Line " + std::to_string(i) + " of the message\r\n";
    std::string input = "a1 APPEND INBOX {" + std::to_string(message.size()) + "+}\r\n" + message + "\r\n";
    for (std::size_t f : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        run r = drive(input, f);
        REQUIRE(r.commands.size() == 1);
        CHECK(r.commands[0].get<append_args>().messages[0].data == message);
    }
}

TEST_CASE("imap parser drops a line longer than the limit and resyncs") {
    parser_options o;
    o.max_command_size = 1000;
    std::string input = "a1 LOGIN " + std::string(5000, 'x') + " y\r\na2 NOOP\r\n";
    run r = drive_all(input, o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].tag == std::optional<std::string>("a1"));
    REQUIRE(r.errors[0].code);
    CHECK(r.errors[0].code->kind == code_kind::toobig);
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a2");
}

TEST_CASE("imap parser skips a non-synchronizing literal announced on a dropped line") {
    parser_options o;
    o.max_command_size = 64;
    std::string input = "a1 LOGIN " + std::string(100, 'x') + " {5+}\r\nhe\r\nlo\r\na2 NOOP\r\n";
    run r = drive_all(input, o);
    REQUIRE(r.errors.size() == 1);
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a2");

    run chain = drive_all("a1 FOO {3+}\r\nabc {4+}\r\ndefg\r\na2 NOOP\r\n");
    REQUIRE(chain.errors.size() == 1);
    CHECK_THAT(chain.errors[0].reason, Catch::Contains("Unknown command"));
    REQUIRE(chain.commands.size() == 1);
    CHECK(chain.commands[0].tag == "a2");

    // a synchronizing literal on a dropped line ends the command: the client waits for "+"
    run sync = drive_all("a1 FOO {3+}\r\nabc {4}\r\na2 NOOP\r\n");
    REQUIRE(sync.errors.size() == 1);
    REQUIRE(sync.commands.size() == 1);
    CHECK(sync.commands[0].tag == "a2");
}

TEST_CASE("imap parser limits the number of literals in one command") {
    parser_options o;
    o.max_literals = 2;
    run r = drive_all("a1 LOGIN {1+}\r\na {1+}\r\nb\r\na2 APPEND INBOX {1+}\r\nx {1+}\r\ny {1+}\r\nz\r\na3 NOOP\r\n", o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].tag == std::optional<std::string>("a2"));
    REQUIRE(r.commands.size() == 2);
    CHECK(r.commands[0].tag == "a1");
    CHECK(r.commands[1].tag == "a3");
}

TEST_CASE("imap parser refuses NUL in an ordinary literal but accepts it in literal8") {
    run r = drive_all("a1 LOGIN {3+}\r\na\0b x\r\na2 APPEND INBOX ~{3+}\r\na\0b\r\na3 APPEND INBOX {3+}\r\na\0b\r\n"s);
    REQUIRE(r.errors.size() == 2);
    CHECK_THAT(r.errors[0].reason, Catch::Contains("NUL"));
    CHECK(r.errors[1].tag == std::optional<std::string>("a3"));
    CHECK_THAT(r.errors[1].reason, Catch::Contains("literal8"));
    parser_options streaming;
    streaming.stream_append = true;
    run s = drive_all("a1 APPEND INBOX {3+}\r\na\0b\r\na2 APPEND INBOX ~{3+}\r\na\0b\r\n"s, streaming);
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0].tag == std::optional<std::string>("a1"));
    REQUIRE(s.commands.size() == 1);
    CHECK(s.streamed.back() == "a\0b"s);
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].get<append_args>().messages[0].data == std::string("a\0b", 3));
    CHECK(r.commands[0].get<append_args>().messages[0].binary);
}

TEST_CASE("imap parser accepts bare LF line ends and ignores empty lines") {
    run r = drive_all("\r\n\r\na1 NOOP\na2 LOGIN {1}\nx y\r\n");
    CHECK(r.errors.empty());
    REQUIRE(r.commands.size() == 2);
    CHECK(r.commands[1].get<login_args>().user == "x");
}

TEST_CASE("imap parser reads AUTHENTICATE continuation lines when the session asks") {
    auto after = [](command_parser& p, const command& c) {
        if (c.kind == command_kind::authenticate) p.expect_continuation_line();
    };
    run r = drive_all("a1 AUTHENTICATE PLAIN\r\nAGZyZWQAc2VjcmV0\r\na2 AUTHENTICATE PLAIN\r\n*\r\na3 NOOP\r\n", {}, nullptr,
                      after);
    REQUIRE(r.lines.size() == 2);
    CHECK(r.lines[0].text == "AGZyZWQAc2VjcmV0");
    CHECK(r.lines[1].text == "*");
    REQUIRE(r.commands.size() == 3);
    CHECK(r.commands[2].tag == "a3");

    parser_options o;
    o.max_command_size = 100;
    run longline = drive_all("a1 AUTHENTICATE PLAIN\r\n" + std::string(500, 'A') + "\r\na2 NOOP\r\n", o, nullptr, after);
    REQUIRE(longline.lines.size() == 1);
    CHECK(longline.lines[0].too_long);
    CHECK(longline.lines[0].text.empty());
    REQUIRE(longline.commands.size() == 2);
}

TEST_CASE("imap parser recognizes DONE after IDLE") {
    auto after = [](command_parser& p, const command& c) {
        if (c.kind == command_kind::idle) p.expect_idle_done();
    };
    run r = drive_all("a1 IDLE\r\ndone\r\na2 IDLE\r\nDONX\r\na3 NOOP\r\n", {}, nullptr, after);
    REQUIRE(r.dones.size() == 2);
    CHECK(r.dones[0].done);
    CHECK_FALSE(r.dones[1].done);
    REQUIRE(r.commands.size() == 3);
}

TEST_CASE("imap parser stops right after STARTTLS so pipelined bytes stay with the session") {
    command_parser p;
    std::string input = "a1 STARTTLS\r\na2 LOGIN fred secret\r\n";
    auto r = p.feed(input);
    REQUIRE(std::holds_alternative<command>(r.event));
    CHECK(std::get<command>(r.event).kind == command_kind::starttls);
    CHECK(r.consumed == 13);
    CHECK(p.at_command_boundary());
    CHECK(input.size() - r.consumed > 0);  // the session sees injected plaintext and refuses it
}

TEST_CASE("imap parser switches to UTF-8 mailbox names after ENABLE") {
    command_parser p;
    auto r1 = p.feed("a1 SELECT &AOk-\r\n");
    CHECK(std::get<command>(r1.event).get<select_args>().mailbox == "\xc3\xa9");
    p.set_utf8(true);
    auto r2 = p.feed("a2 SELECT &AOk-\r\n");
    CHECK(std::get<command>(r2.event).get<select_args>().mailbox == "&AOk-");
    auto r3 = p.feed("a3 SELECT \"\xff\"\r\n");
    REQUIRE(std::holds_alternative<parse_error>(r3.event));
    CHECK_THAT(std::get<parse_error>(r3.event).reason, Catch::Contains("UTF-8"));
}

TEST_CASE("imap parser reports the tag of an error even when the line is cut short") {
    parser_options o;
    o.max_command_size = 20;
    run r = drive_all("tag123 SEARCH " + std::string(100, 'X') + "\r\n", o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].tag == std::optional<std::string>("tag123"));
    CHECK(r.errors[0].kind == std::optional<command_kind>(command_kind::search));
}

TEST_CASE("imap parse_command_text parses one complete command and reports incomplete input") {
    auto ok = parse_command_text("a1 LOGIN {4}\r\nfred x\r\n");
    REQUIRE(std::holds_alternative<command>(ok));
    auto partial = parse_command_text("a1 LOGIN {4}\r\nfr");
    REQUIRE(std::holds_alternative<parse_error>(partial));
    CHECK(std::get<parse_error>(partial).reason == "Incomplete command");
}

TEST_CASE("imap parser caps the message data one buffered APPEND may hold") {
    parser_options o;
    o.max_append_total = 10;
    run r = drive_all("a1 APPEND INBOX {6+}\r\nabcdef {6+}\r\nghijkl\r\na2 NOOP\r\n", o);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].status == response_status::no);
    REQUIRE(r.errors[0].code);
    CHECK(r.errors[0].code->kind == code_kind::limit);
    REQUIRE(r.commands.size() == 1);
    CHECK(r.commands[0].tag == "a2");
    o.stream_append = true;  // streamed data is not held, so no cap applies
    run s = drive_all("a1 APPEND INBOX {6+}\r\nabcdef {6+}\r\nghijkl\r\n", o);
    CHECK(s.errors.empty());
    CHECK(s.streamed == std::vector<std::string>{"abcdef", "ghijkl"});
}
