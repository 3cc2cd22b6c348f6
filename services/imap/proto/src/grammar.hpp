// grammar.hpp - the IMAP command grammar over a framed command (internal).
//
// The framer (parser.cpp) collects a command as `text`: every line without its CRLF, with
// the octets of each literal placed right after the literal's "{n}" header (APPEND message
// data is kept aside or streamed instead). The grammar then parses that text by recursive
// descent into typed arguments. It can also run on an unfinished command: reaching a
// literal whose data has not arrived is reported as `incomplete` (with what the literal is
// for), not as an error.
//
// SECURITY: the grammar never reads past `text`; a literal is entered only at a position
// the framer registered (so "{5}" in the middle of a line is a syntax error, not a
// literal); nesting is bounded by parser_options::max_depth.
// STANDARDS: RFC 9051 section 9 and the extension grammars listed in command.hpp.
#pragma once

#include "polder/imap/proto/command.hpp"
#include "polder/imap/proto/parser.hpp"
#include "polder/imap/proto/response_code.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::imap::proto::detail {

enum class slot_storage { inline_text, external, streamed };

struct literal_slot {
    std::size_t header_pos = 0;   // offset of "{" (or "~" of "~{") in text
    std::size_t data_pos = 0;     // offset where the data starts (inline) or would start
    std::uint64_t size = 0;
    bool binary = false;
    slot_storage storage = slot_storage::inline_text;
    std::size_t external_index = 0;
    bool complete = false;
    bool has_nul = false;         // a NUL octet arrived (only allowed in literal8)
};

struct framed_command {
    std::string text;
    std::vector<literal_slot> literals;
    std::vector<std::string> external;
    void clear() {
        text.clear();
        literals.clear();
        external.clear();
    }
};

// append_progress - lets the APPEND grammar resume after the last complete message, so an
// APPEND with many messages is parsed in linear time.
struct append_progress {
    bool started = false;
    std::size_t pos = 0;
    std::size_t literal = 0;
    append_args args;
    void clear() {
        started = false;
        pos = 0;
        literal = 0;
        args = append_args{};
    }
};

struct pending_literal {
    std::size_t literal_index = 0;
    bool message_data = false;
    std::size_t message_index = 0;
    std::string mailbox;
    std::vector<std::string> flags;
    std::optional<date_time> internal_date;
};

struct grammar_outcome {
    enum class status { complete, incomplete, error };
    status st = status::error;
    command cmd;
    pending_literal pending;
    std::string reason;
    std::optional<response_code> code;
};

// run_grammar - parse f.text. `progress` is used (and updated) for APPEND commands.
grammar_outcome run_grammar(framed_command& f, const parser_options& options, append_progress* progress);

struct command_head {
    std::optional<std::string> tag;
    std::optional<command_kind> kind;
    bool uid = false;
};
// scan_head - the tag and verb at the start of a (possibly partial) command.
command_head scan_head(std::string_view text);

}  // namespace polder::imap::proto::detail
