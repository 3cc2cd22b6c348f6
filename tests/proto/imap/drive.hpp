// drive.hpp - test helper: feed a client byte stream to the IMAP command parser in
// fragments of a fixed size and record every event in a fragment-independent form.
//
// SECURITY: test code only.
// STANDARDS: exercises RFC 9051 command framing (see parser.hpp).
#pragma once

#include "polder/imap/proto/parser.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::imap::proto::test {

inline constexpr std::size_t fragment_sizes[] = {1, 2, 5, 100};

// run - everything the parser produced for one input.
struct run {
    std::vector<std::string> log;          // one line per event; literal data coalesced
    std::vector<command> commands;
    std::vector<parse_error> errors;
    std::vector<literal_request> requests;
    std::vector<literal_begin> begins;
    std::vector<std::string> streamed;     // per streamed message: all its data
    std::vector<continuation_line> lines;
    std::vector<idle_done> dones;
    std::size_t first_command_consumed = 0;  // octets consumed up to the first command
};

// decide - called for every literal_request: true accepts, false rejects.
using decide_fn = std::function<bool(const literal_request&)>;
// after_command - lets a test switch the parser into a line mode (IDLE, AUTHENTICATE).
using after_fn = std::function<void(command_parser&, const command&)>;

inline std::string describe(const parse_error& e) {
    std::string s = "error " + (e.tag ? *e.tag : std::string("*")) + " ";
    s += e.status == response_status::no ? "NO" : "BAD";
    if (e.code) s += " " + format_response_code(*e.code);
    s += " " + e.reason;
    if (e.close_connection) s += " [close]";
    return s;
}

inline run drive(std::string_view input, std::size_t fragment, parser_options options = {},
                 decide_fn decide = nullptr, after_fn after = nullptr) {
    command_parser p(options);
    run r;
    std::size_t total = 0;
    std::size_t offset = 0;
    std::size_t guard = 0;
    while (offset < input.size() || p.has_pending_event()) {
        REQUIRE(++guard < 20 * input.size() + 100);
        std::string_view piece = input.substr(offset, fragment);
        feed_result fr = p.feed(piece);
        REQUIRE(fr.consumed <= piece.size());
        offset += fr.consumed;
        total += fr.consumed;
        std::visit(
            [&](auto& ev) {
                using T = std::decay_t<decltype(ev)>;
                if constexpr (std::is_same_v<T, need_more>) {
                    REQUIRE((fr.consumed == piece.size()));
                } else if constexpr (std::is_same_v<T, command>) {
                    if (r.commands.empty()) r.first_command_consumed = total;
                    r.log.push_back("command " + format_command(ev));
                    r.commands.push_back(ev);
                    if (after) after(p, ev);
                } else if constexpr (std::is_same_v<T, parse_error>) {
                    r.log.push_back(describe(ev));
                    r.errors.push_back(ev);
                } else if constexpr (std::is_same_v<T, literal_request>) {
                    r.log.push_back("request " + ev.tag + " " + std::to_string(ev.size) +
                                    (ev.message_data ? " message " + std::to_string(ev.message_index) : ""));
                    r.requests.push_back(ev);
                    if (!decide || decide(ev)) p.accept_literal();
                    else p.reject_literal();
                } else if constexpr (std::is_same_v<T, literal_begin>) {
                    r.log.push_back("begin " + std::to_string(ev.message_index) + " " + std::to_string(ev.size));
                    r.begins.push_back(ev);
                    r.streamed.emplace_back();
                } else if constexpr (std::is_same_v<T, literal_data>) {
                    REQUIRE(!r.streamed.empty());
                    r.streamed.back() += ev.bytes;
                } else if constexpr (std::is_same_v<T, literal_end>) {
                    r.log.push_back("end " + std::to_string(ev.message_index));
                } else if constexpr (std::is_same_v<T, continuation_line>) {
                    r.log.push_back("line " + ev.text);
                    r.lines.push_back(ev);
                } else if constexpr (std::is_same_v<T, idle_done>) {
                    r.log.push_back(ev.done ? "done" : "not done");
                    r.dones.push_back(ev);
                }
            },
            fr.event);
    }
    return r;
}

// drive_all - drive at every fragment size, require identical logs, return the first run.
inline run drive_all(std::string_view input, parser_options options = {}, decide_fn decide = nullptr,
                     after_fn after = nullptr) {
    run first = drive(input, input.size() + 1, options, decide, after);
    for (std::size_t f : fragment_sizes) {
        INFO("fragment size " << f);
        run r = drive(input, f, options, decide, after);
        CHECK(r.log == first.log);
        CHECK(r.streamed == first.streamed);
    }
    return first;
}

}  // namespace polder::imap::proto::test
