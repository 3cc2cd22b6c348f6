// polder/imap/proto/parser.hpp - the incremental IMAP command parser.
//
// The session feeds whatever bytes arrived (any fragmentation) and gets back one event at
// a time plus how many bytes were consumed (habit: Dovecot's imap-parser returning "need
// more", a command, or an error). The parser never consumes past the end of a command, so
// bytes pipelined after STARTTLS or COMPRESS stay with the caller (who must reject or
// decompress them).
//
//   for (;;) {                                     // once per read from the stream
//       while (!input.empty() || parser.has_pending_event()) {
//           auto [ev, used] = parser.feed(input);
//           input.remove_prefix(used);
//           if (std::holds_alternative<need_more>(ev)) break;
//           ... visit ev ...
//       }
//   }
//
// Literals. A synchronizing literal "{n}" produces literal_request: the session decides
// (APPEND: does the mailbox exist, is there quota) and calls accept_literal() and writes
// "+ OK" or calls reject_literal() and writes its own tagged NO/BAD; the client then sends
// the literal or gives up the command. Size limits are checked BEFORE the request is
// returned: a literal over a limit yields an error event instead (APPEND message data
// over max_append_size: NO [TOOBIG]; other literals over what is left of
// max_command_size: BAD [TOOBIG]). A non-synchronizing literal "{n+}" (LITERAL+, or
// LITERAL- up to 4096 octets) needs no decision; if it breaks a limit the parser reports
// the error at once and silently discards its octets and the rest of the command.
//
// APPEND message data. With parser_options::stream_append = false the data is collected
// in append_message::data (bounded by max_append_size). With stream_append = true every
// APPEND message literal is announced by literal_begin, delivered as literal_data events
// (string_views into the caller's input: zero copy, any chunk size) and closed by
// literal_end; the final command then carries sizes only (append_message::streamed). This
// is the interface for writing 50 MiB messages straight into a blob without holding them.
// Both modes return exactly one command event per command. If an error event ends the
// command instead, data already streamed for it must be discarded by the session.
//
// After an error event the parser resynchronizes by itself: it drops the rest of the
// command line, including the octets of any non-synchronizing literal announced on it,
// and parses the next line as a new command. A synchronizing literal announced on a
// dropped line ends the command (the client waits for a "+" that never comes and reads the
// tagged BAD instead).
//
// SECURITY: every input is bounded: command size (max_command_size, excluding APPEND
// message data), APPEND message size (max_append_size), literals per command, nesting
// depth. Work is linear in the input: no command is ever parsed twice except that a
// synchronizing literal re-checks the command so far (bounded to 8 x max_command_size of
// work per command) so malformed commands are refused before the client sends data.
// Error reasons never echo client bytes except a short, printable command verb.
// STANDARDS: RFC 9051 sections 2.2, 4.3, 5.4, 7.5, 9; RFC 3501; RFC 7888 (LITERAL+,
// LITERAL-: "{n+}", at most 4096 octets under LITERAL-); RFC 7889 (APPENDLIMIT, TOOBIG);
// RFC 3516 (literal8 "~{n}"); RFC 2177 (IDLE/DONE); RFC 4959 and 9051 6.2.2 (SASL lines).
#pragma once

#include "polder/imap/proto/command.hpp"
#include "polder/imap/proto/response_code.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace polder::imap::proto {

enum class non_sync_literals {
    none,   // "{n+}" is refused: server advertises neither LITERAL+ nor LITERAL- nor IMAP4rev2
    minus,  // LITERAL- (and IMAP4rev2): "{n+}" allowed up to 4096 octets
    plus,   // LITERAL+: "{n+}" of any size within the limits
};

struct parser_options {
    // One command: all line text plus every literal that is not APPEND message data.
    // Default per RFC 2683 ("at least 8000 octets") and Dovecot's 64 KiB; from
    // imap.max_line_length.
    std::size_t max_command_size = 65536;
    // One APPEND message literal (the APPENDLIMIT value); from imap.max_literal_size.
    std::uint64_t max_append_size = 50ull * 1024 * 1024;
    // All message data of one APPEND held in memory when stream_append is off (MULTIAPPEND
    // would otherwise multiply max_append_size by max_literals). Over it: NO [LIMIT].
    std::uint64_t max_append_total = 100ull * 1024 * 1024;
    // Literals in one command (MULTIAPPEND of many messages is the legitimate high end).
    std::size_t max_literals = 1000;
    // Parenthesis nesting: SEARCH (a (b ...)), LIST/STATUS/ID lists.
    unsigned max_depth = 32;
    non_sync_literals non_sync = non_sync_literals::plus;
    // UTF-8 mode (ENABLE IMAP4rev2 or UTF8=ACCEPT): mailbox names are UTF-8, no mUTF-7.
    bool utf8 = false;
    bool stream_append = false;
    // An error that would need more than this many octets discarded to resynchronize
    // (a huge non-synchronizing literal) sets parse_error::close_connection.
    std::uint64_t max_discard = 50ull * 1024 * 1024;
};

// --------------------------------------------------------------------- events

struct need_more {};   // everything given was consumed (or nothing is pending)

// literal_request - a synchronizing literal was announced; call accept_literal() and send
// "+ ..." or reject_literal() and send a tagged NO/BAD.
struct literal_request {
    std::string tag;
    command_kind kind = command_kind::noop;
    bool uid = false;
    std::uint64_t size = 0;
    bool binary = false;          // literal8
    bool message_data = false;    // APPEND message data (check mailbox, quota, APPENDLIMIT)
    std::size_t message_index = 0;
    std::string mailbox;          // APPEND: the destination (UTF-8) when message_data
};

// literal_begin / literal_data / literal_end - streamed APPEND message data (stream_append).
struct literal_begin {
    std::string tag;
    std::string mailbox;
    std::size_t message_index = 0;
    std::uint64_t size = 0;
    bool binary = false;
    std::vector<std::string> flags;
    std::optional<date_time> internal_date;
};
struct literal_data {
    std::string_view bytes;   // view into the fed input; valid while that buffer is
    std::size_t message_index = 0;
};
struct literal_end {
    std::size_t message_index = 0;
};

// continuation_line - a client line read after expect_continuation_line() (AUTHENTICATE
// responses: base64, or "*" to cancel), without CRLF.
struct continuation_line {
    std::string text;
    bool too_long = false;   // the line exceeded max_command_size and was truncated to empty
};

// idle_done - the line ending IDLE. `done` is false when it was something else than DONE
// (RFC 2177: answer BAD; the IDLE ends either way).
struct idle_done {
    bool done = true;
};

struct parse_error {
    std::optional<std::string> tag;    // nullopt: answer with an untagged "* BAD"
    std::optional<command_kind> kind;  // when the verb was recognized
    response_status status = response_status::bad;
    std::optional<response_code> code; // TOOBIG for size limits, else none
    std::string reason;                // safe to send (printable ASCII)
    bool close_connection = false;     // resync would discard more than max_discard
};

using parse_event = std::variant<need_more, command, literal_request, literal_begin, literal_data, literal_end,
                                 continuation_line, idle_done, parse_error>;

struct feed_result {
    parse_event event;
    std::size_t consumed = 0;
};

namespace detail {
struct parser_state;
}

class command_parser {
public:
    explicit command_parser(parser_options options = {});
    ~command_parser();
    command_parser(command_parser&&) noexcept;
    command_parser& operator=(command_parser&&) noexcept;
    command_parser(const command_parser&) = delete;
    command_parser& operator=(const command_parser&) = delete;

    // feed - consume a prefix of `input` up to the next event. Calling feed while a
    // literal_request is undecided returns the same request again and consumes nothing.
    feed_result feed(std::string_view input);

    // has_pending_event - an event is ready without more input (literal_begin after
    // accept_literal, literal_end after the last chunk): call feed even with no input.
    bool has_pending_event() const noexcept;

    void accept_literal();   // after literal_request: the session sent "+"
    void reject_literal();   // after literal_request: the session sent NO/BAD; command dropped

    // expect_continuation_line - the next line is SASL data (after "+ <challenge>").
    void expect_continuation_line();
    // expect_idle_done - the next line should be DONE (after "+ idling").
    void expect_idle_done();

    // at_command_boundary - no partial command is buffered (STARTTLS and COMPRESS
    // additionally require the caller's input to be empty).
    bool at_command_boundary() const noexcept;
    bool awaiting_literal_decision() const noexcept;

    const parser_options& options() const noexcept;
    // Changes take effect from the next command (ENABLE UTF8=ACCEPT/IMAP4rev2 -> utf8,
    // capability changes -> non_sync).
    void set_utf8(bool on) noexcept;
    void set_non_sync(non_sync_literals mode) noexcept;

private:
    std::unique_ptr<detail::parser_state> s_;
};

// parse_command_text - parse one complete command given as wire text (literals inline,
// every synchronizing literal treated as accepted). For tests, tools and the fuzzer.
// Returns the command or the first error.
std::variant<command, parse_error> parse_command_text(std::string_view wire, const parser_options& options = {});

}  // namespace polder::imap::proto
