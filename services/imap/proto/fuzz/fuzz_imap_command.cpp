// fuzz_imap_command.cpp - libFuzzer target for the incremental IMAP command parser.
//
// The first input octet chooses the fragment size and the parser options; the rest is a
// client byte stream. Every literal request is accepted or rejected (alternately, from
// the control octet), AUTHENTICATE and IDLE switch the parser into their line modes, and
// every parsed command must survive a round trip: format_command() output parses back to
// an equal command. A failed round trip aborts (a grammar bug), anything else must simply
// not crash or leak.
//
// SECURITY: exercises the network-facing parser under ASan/UBSan.
// STANDARDS: RFC 9051, RFC 3501 and the extensions of command.hpp.
#include "polder/imap/proto/parser.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace polder::imap::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t control = data[0];
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    static constexpr std::size_t fragments[] = {1, 2, 3, 5, 7, 16, 100, 4096};
    const std::size_t fragment = fragments[control & 7];
    parser_options options;
    options.max_command_size = 2048;
    options.max_append_size = 4096;
    options.max_literals = 64;
    options.max_depth = 16;
    options.stream_append = (control & 0x08) != 0;
    options.utf8 = (control & 0x10) != 0;
    options.non_sync = (control & 0x20) ? non_sync_literals::minus : non_sync_literals::plus;
    options.max_discard = 1 << 20;
    const bool reject_some = (control & 0x40) != 0;

    command_parser parser(options);
    std::size_t literal_counter = 0;
    std::size_t streamed = 0;
    std::size_t guard = 0;
    while (!input.empty() || parser.has_pending_event()) {
        if (++guard > 10 * size + 100) std::abort();  // the parser must always make progress
        std::string_view piece = input.substr(0, fragment);
        feed_result r = parser.feed(piece);
        input.remove_prefix(r.consumed);
        if (std::holds_alternative<literal_request>(r.event)) {
            if (reject_some && (literal_counter++ & 1)) parser.reject_literal();
            else parser.accept_literal();
        } else if (auto* d = std::get_if<literal_data>(&r.event)) {
            streamed += d->bytes.size();
        } else if (auto* c = std::get_if<command>(&r.event)) {
            if (c->kind == command_kind::authenticate && (control & 0x80)) parser.expect_continuation_line();
            if (c->kind == command_kind::idle && (control & 0x80)) parser.expect_idle_done();
            bool streamed_data = false;
            if (const auto* a = std::get_if<append_args>(&c->args))
                for (const auto& m : a->messages) streamed_data = streamed_data || m.streamed;
            if (!streamed_data) {
                format_options fo;
                fo.utf8 = options.utf8;
                std::string again = format_command(*c, fo);
                parser_options po = options;
                po.max_command_size = 1 << 20;
                po.max_append_size = 1 << 20;
                auto back = parse_command_text(again, po);
                auto* c2 = std::get_if<command>(&back);
                if (!c2 || !(*c2 == *c)) std::abort();
            }
            format_options redacted;
            redacted.redact_secrets = true;
            (void)format_command(*c, redacted);
        } else if (std::holds_alternative<need_more>(r.event) && r.consumed == 0 && !piece.empty()) {
            std::abort();  // need_more without consuming anything would loop forever
        }
    }
    (void)streamed;
    return 0;
}
