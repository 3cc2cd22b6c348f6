// parser.cpp - incremental framing of IMAP commands: lines, literals, limits, resync.
//
// The framer accumulates one command (lines without CRLF, literal data inline after the
// "{n}" header, APPEND message data aside or streamed) and hands it to the grammar when
// the last line ends. At each literal header it decides, before any literal octet is
// accepted, whether the literal is allowed (size limits, LITERAL+/- rules, APPEND
// APPENDLIMIT, the command so far being valid).
//
// SECURITY: memory per command is bounded by max_command_size plus, in buffered APPEND
// mode, max_append_size per message (reserved lazily, never on the client's word alone);
// a too-long line is dropped as it arrives, not stored; discarding after an error keeps at
// most 32 octets of state. Work is linear except the bounded re-validation at synchronizing
// literals (see parser.hpp).
// STANDARDS: RFC 9051 sections 2.2.1, 4.3, 7.5 (command continuation), 9; RFC 7888
// (LITERAL+ / LITERAL-); RFC 7889 (APPENDLIMIT); RFC 3516 (literal8); RFC 2177 (DONE).
#include "polder/imap/proto/parser.hpp"

#include "grammar.hpp"

#include "chars.hpp"

#include <algorithm>
#include <deque>

namespace polder::imap::proto {

namespace detail {

enum class mode {
    command,           // reading command lines
    literal_decision,  // a literal_request is waiting for accept/reject
    literal_inline,    // literal data into the command text
    literal_external,  // APPEND message data into framed_command::external
    literal_stream,    // APPEND message data out as literal_data events
    skip,              // dropping the octets of a refused non-synchronizing literal
    discard_line,      // dropping the rest of a refused command line
    continuation,      // one SASL line
    idle,              // the DONE line
};

struct literal_header {
    std::size_t pos = 0;  // offset in the line of "{" or "~"
    std::uint64_t size = 0;
    bool binary = false;
    bool non_sync = false;
    bool overflow = false;
};

// find_literal_header - "{n}", "{n+}", "~{n}" or "~{n+}" at the very end of a line.
std::optional<literal_header> find_literal_header(std::string_view line) {
    if (line.empty() || line.back() != '}') return std::nullopt;
    literal_header h;
    std::size_t j = line.size() - 1;
    if (j > 0 && line[j - 1] == '+') {
        h.non_sync = true;
        --j;
    }
    std::size_t k = j;
    while (k > 0 && is_digit(static_cast<unsigned char>(line[k - 1]))) --k;
    if (k == j || k == 0 || line[k - 1] != '{') return std::nullopt;
    h.pos = k - 1;
    if (h.pos > 0 && line[h.pos - 1] == '~') {
        h.binary = true;
        --h.pos;
    }
    constexpr std::uint64_t max = static_cast<std::uint64_t>(INT64_MAX);  // number64
    for (std::size_t i = k; i < j; ++i) {
        unsigned d = static_cast<unsigned>(line[i] - '0');
        if (h.size > (max - d) / 10) {
            h.overflow = true;
            h.size = max;
            break;
        }
        h.size = h.size * 10 + d;
    }
    return h;
}

constexpr std::size_t tail_keep = 32;
constexpr std::uint64_t literal_minus_max = 4096;  // RFC 7888 section 4

struct parser_state {
    parser_options opt;
    framed_command f;
    append_progress progress;
    mode m = mode::command;
    std::size_t line_start = 0;
    std::size_t validation_work = 0;
    std::uint64_t buffered_append = 0;   // message octets held for this command

    // current literal
    std::size_t slot = 0;
    std::uint64_t remaining = 0;
    bool message_data = false;
    std::size_t message_index = 0;
    literal_begin begin_info;
    literal_request request;

    std::uint64_t skip_remaining = 0;
    std::string tail;
    std::string line;        // continuation / idle line
    bool line_too_long = false;

    std::deque<parse_event> pending;   // events ready without input (literal_begin/end)

    explicit parser_state(parser_options o) : opt(o) {}

    void reset_command() {
        f.clear();
        progress.clear();
        line_start = 0;
        validation_work = 0;
        buffered_append = 0;
        message_data = false;
        remaining = 0;
    }

    parse_error make_error(std::string reason, std::optional<response_code> code = std::nullopt,
                           response_status status = response_status::bad, std::string_view head_text = {}) {
        parse_error e;
        command_head h = scan_head(head_text.empty() ? std::string_view(f.text) : head_text);
        e.tag = h.tag;
        e.kind = h.kind;
        e.status = status;
        e.code = std::move(code);
        e.reason = std::move(reason);
        return e;
    }

    void keep_tail(std::string_view bytes) {
        if (bytes.size() >= tail_keep) {
            tail.assign(bytes.substr(bytes.size() - tail_keep));
        } else {
            tail += bytes;
            if (tail.size() > tail_keep) tail.erase(0, tail.size() - tail_keep);
        }
    }

    // refuse_line - an error in the middle of a line: drop the rest of it.
    parse_event refuse_line(parse_error e, std::string_view seen_of_line) {
        tail.clear();
        keep_tail(seen_of_line);
        reset_command();
        m = mode::discard_line;
        return e;
    }

    // refuse_literal - an error at a literal header: a non-synchronizing literal's octets
    // are coming anyway and must be dropped; after a synchronizing one the client waits.
    parse_event refuse_literal(parse_error e, const literal_header& h) {
        reset_command();
        if (h.non_sync) {
            if (h.overflow) {
                e.close_connection = true;
                tail.clear();
                m = mode::discard_line;
            } else {
                if (h.size > opt.max_discard) e.close_connection = true;
                skip_remaining = h.size;
                m = mode::skip;
            }
        } else {
            m = mode::command;
        }
        return e;
    }

    // note_nul - message data that is not literal8 must not contain NUL (CHAR8); the
    // grammar refuses the command when the whole literal has arrived.
    void note_nul(std::string_view bytes) {
        literal_slot& s = f.literals[slot];
        if (!s.binary && !s.has_nul && bytes.find('\0') != std::string_view::npos) s.has_nul = true;
    }

    void finish_literal() {
        f.literals[slot].complete = true;
        m = mode::command;
        line_start = f.text.size();
    }

    // start_literal - the literal was accepted (or needs no acceptance). Streamed APPEND
    // data queues literal_begin (and literal_end at once for an empty literal).
    void start_literal() {
        literal_slot& s = f.literals[slot];
        remaining = s.size;
        if (message_data && opt.stream_append) {
            s.storage = slot_storage::streamed;
            m = mode::literal_stream;
            pending.push_back(begin_info);
            if (remaining == 0) {
                finish_literal();
                pending.push_back(literal_end{message_index});
            }
            return;
        }
        if (message_data) {
            s.storage = slot_storage::external;
            s.external_index = f.external.size();
            f.external.emplace_back();
            f.external.back().reserve(static_cast<std::size_t>(std::min<std::uint64_t>(s.size, 64 * 1024)));
            m = mode::literal_external;
        } else {
            s.storage = slot_storage::inline_text;
            m = mode::literal_inline;
        }
        if (remaining == 0) finish_literal();
    }

    std::optional<parse_event> take_pending() {
        if (pending.empty()) return std::nullopt;
        parse_event ev = std::move(pending.front());
        pending.pop_front();
        return ev;
    }

    std::optional<parse_event> on_literal_header(const literal_header& h) {
        if (h.overflow) return refuse_literal(make_error("Literal size is too large", response_code::of(code_kind::toobig)), h);
        if (f.literals.size() >= opt.max_literals)
            return refuse_literal(make_error("Too many literals in one command"), h);
        if (h.non_sync) {
            if (opt.non_sync == non_sync_literals::none)
                return refuse_literal(make_error("Non-synchronizing literals are not supported"), h);
            if (opt.non_sync == non_sync_literals::minus && h.size > literal_minus_max)
                return refuse_literal(
                    make_error("Non-synchronizing literals are limited to 4096 octets (LITERAL-)",
                               response_code::of(code_kind::toobig)),
                    h);
        }
        command_head head = scan_head(f.text);
        if (!head.tag) return refuse_literal(make_error("Missing or invalid tag"), h);
        if (!head.kind) return refuse_literal(make_error(head.uid ? "Unknown UID command" : "Unknown command"), h);

        literal_slot s;
        s.header_pos = line_start + h.pos;
        s.data_pos = f.text.size();
        s.size = h.size;
        s.binary = h.binary;
        slot = f.literals.size();
        f.literals.push_back(s);

        message_data = false;
        grammar_outcome outcome;
        bool checked = false;
        if (*head.kind == command_kind::append) {
            outcome = run_grammar(f, opt, &progress);
            checked = true;
        } else if (!h.non_sync && validation_work + f.text.size() <= 8 * opt.max_command_size) {
            validation_work += f.text.size();
            outcome = run_grammar(f, opt, nullptr);
            checked = true;
        }
        if (checked) {
            if (outcome.st == grammar_outcome::status::error) return refuse_literal(make_error(outcome.reason), h);
            if (outcome.st == grammar_outcome::status::complete || outcome.pending.literal_index != slot)
                return refuse_literal(make_error("Unexpected literal"), h);
            message_data = outcome.pending.message_data;
        }

        if (message_data) {
            if (h.size > opt.max_append_size)
                return refuse_literal(make_error("Message is larger than the APPENDLIMIT",
                                                 response_code::of(code_kind::toobig), response_status::no),
                                      h);
            if (!opt.stream_append) {
                if (h.size > opt.max_append_total - std::min(buffered_append, opt.max_append_total))
                    return refuse_literal(make_error("APPEND is larger than the server holds in one command",
                                                     response_code::of(code_kind::limit), response_status::no),
                                          h);
                buffered_append += h.size;
            }
            message_index = outcome.pending.message_index;
            begin_info = literal_begin{};
            begin_info.tag = *head.tag;
            begin_info.mailbox = outcome.pending.mailbox;
            begin_info.message_index = message_index;
            begin_info.size = h.size;
            begin_info.binary = h.binary;
            begin_info.flags = outcome.pending.flags;
            begin_info.internal_date = outcome.pending.internal_date;
        } else if (h.size > opt.max_command_size || f.text.size() + h.size > opt.max_command_size) {
            return refuse_literal(make_error("Literal is too large", response_code::of(code_kind::toobig)), h);
        }

        if (!h.non_sync) {
            request = literal_request{};
            request.tag = *head.tag;
            request.kind = *head.kind;
            request.uid = head.uid;
            request.size = h.size;
            request.binary = h.binary;
            request.message_data = message_data;
            request.message_index = message_index;
            if (message_data) request.mailbox = begin_info.mailbox;
            m = mode::literal_decision;
            return parse_event{request};
        }
        start_literal();
        return take_pending();
    }

    std::optional<parse_event> on_line_end() {
        if (f.text.empty() && f.literals.empty()) return std::nullopt;  // empty lines are ignored
        std::string_view line = std::string_view(f.text).substr(line_start);
        if (auto h = find_literal_header(line)) return on_literal_header(*h);
        grammar_outcome outcome = run_grammar(f, opt, &progress);
        if (outcome.st == grammar_outcome::status::complete) {
            reset_command();
            return parse_event{std::move(outcome.cmd)};
        }
        parse_error e = make_error(outcome.st == grammar_outcome::status::error ? outcome.reason : "Incomplete command");
        reset_command();
        return e;
    }

    feed_result feed(std::string_view in) {
        if (auto ev = take_pending()) return {std::move(*ev), 0};
        if (m == mode::literal_decision) return {request, 0};
        std::size_t used = 0;
        while (used < in.size()) {
            std::string_view rest = in.substr(used);
            switch (m) {
            case mode::command: {
                std::size_t lf = rest.find('\n');
                std::string_view chunk = lf == std::string_view::npos ? rest : rest.substr(0, lf);
                // +1: the CR of the CRLF is stored until the line ends
                if (f.text.size() + chunk.size() > opt.max_command_size + 1) {
                    std::string seen = f.text.substr(line_start);
                    seen += chunk;
                    used += chunk.size();
                    // the tag may be in this very chunk: look at the start of the command
                    std::string head = f.text.substr(0, 256);
                    head += chunk.substr(0, 256 - head.size());
                    parse_error e = make_error("Command is too long", response_code::of(code_kind::toobig),
                                               response_status::bad, head);
                    return {refuse_line(std::move(e), seen), used};
                }
                f.text += chunk;
                used += chunk.size();
                if (lf == std::string_view::npos) break;
                ++used;
                if (f.text.size() > line_start && f.text.back() == '\r') f.text.pop_back();
                if (auto ev = on_line_end()) return {std::move(*ev), used};
                break;
            }
            case mode::literal_inline:
            case mode::literal_external: {
                std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, rest.size()));
                if (m == mode::literal_inline) {
                    f.text.append(rest.substr(0, n));
                } else {
                    note_nul(rest.substr(0, n));
                    f.external[f.literals[slot].external_index].append(rest.substr(0, n));
                }
                used += n;
                remaining -= n;
                if (remaining == 0) finish_literal();
                break;
            }
            case mode::literal_stream: {
                std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, rest.size()));
                note_nul(rest.substr(0, n));
                literal_data d{rest.substr(0, n), message_index};
                used += n;
                remaining -= n;
                if (remaining == 0) {
                    finish_literal();
                    pending.push_back(literal_end{message_index});
                }
                return {d, used};
            }
            case mode::skip: {
                std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_remaining, rest.size()));
                used += n;
                skip_remaining -= n;
                if (skip_remaining == 0) {
                    tail.clear();
                    m = mode::discard_line;
                }
                break;
            }
            case mode::discard_line: {
                std::size_t lf = rest.find('\n');
                std::string_view chunk = lf == std::string_view::npos ? rest : rest.substr(0, lf);
                keep_tail(chunk);
                used += chunk.size();
                if (lf == std::string_view::npos) break;
                ++used;
                if (!tail.empty() && tail.back() == '\r') tail.pop_back();
                auto h = find_literal_header(tail);
                tail.clear();
                if (h && h->non_sync && !h->overflow) {
                    skip_remaining = h->size;
                    m = h->size == 0 ? mode::discard_line : mode::skip;
                } else {
                    m = mode::command;
                }
                break;
            }
            case mode::continuation:
            case mode::idle: {
                std::size_t lf = rest.find('\n');
                std::string_view chunk = lf == std::string_view::npos ? rest : rest.substr(0, lf);
                if (!line_too_long) {
                    if (line.size() + chunk.size() > opt.max_command_size + 1) {
                        line_too_long = true;
                        line.clear();
                    } else {
                        line += chunk;
                    }
                }
                used += chunk.size();
                if (lf == std::string_view::npos) break;
                ++used;
                if (!line.empty() && line.back() == '\r') line.pop_back();
                parse_event ev;
                if (m == mode::continuation) {
                    ev = continuation_line{line_too_long ? std::string() : std::move(line), line_too_long};
                } else {
                    ev = idle_done{!line_too_long && iequal(line, "DONE")};
                }
                line.clear();
                line_too_long = false;
                m = mode::command;
                return {std::move(ev), used};
            }
            case mode::literal_decision: return {request, used};
            }
        }
        return {need_more{}, used};
    }
};

}  // namespace detail

command_parser::command_parser(parser_options options) : s_(std::make_unique<detail::parser_state>(options)) {}
command_parser::~command_parser() = default;
command_parser::command_parser(command_parser&&) noexcept = default;
command_parser& command_parser::operator=(command_parser&&) noexcept = default;

feed_result command_parser::feed(std::string_view input) { return s_->feed(input); }

bool command_parser::has_pending_event() const noexcept { return !s_->pending.empty(); }

void command_parser::accept_literal() {
    if (s_->m != detail::mode::literal_decision) return;
    s_->start_literal();
}

void command_parser::reject_literal() {
    if (s_->m != detail::mode::literal_decision) return;
    s_->reset_command();
    s_->m = detail::mode::command;
}

void command_parser::expect_continuation_line() {
    s_->m = detail::mode::continuation;
    s_->line.clear();
    s_->line_too_long = false;
}

void command_parser::expect_idle_done() {
    s_->m = detail::mode::idle;
    s_->line.clear();
    s_->line_too_long = false;
}

bool command_parser::at_command_boundary() const noexcept {
    return s_->m == detail::mode::command && s_->f.text.empty() && s_->f.literals.empty() && s_->pending.empty();
}

bool command_parser::awaiting_literal_decision() const noexcept { return s_->m == detail::mode::literal_decision; }

const parser_options& command_parser::options() const noexcept { return s_->opt; }
void command_parser::set_utf8(bool on) noexcept { s_->opt.utf8 = on; }
void command_parser::set_non_sync(non_sync_literals mode) noexcept { s_->opt.non_sync = mode; }

std::variant<command, parse_error> parse_command_text(std::string_view wire, const parser_options& options) {
    parser_options o = options;
    o.stream_append = false;
    command_parser p(o);
    while (!wire.empty() || p.has_pending_event()) {
        auto r = p.feed(wire);
        wire.remove_prefix(r.consumed);
        if (auto* c = std::get_if<command>(&r.event)) return std::move(*c);
        if (auto* e = std::get_if<parse_error>(&r.event)) return std::move(*e);
        if (std::holds_alternative<literal_request>(r.event)) p.accept_literal();
        else if (std::holds_alternative<need_more>(r.event)) break;
    }
    parse_error e;
    e.reason = "Incomplete command";
    return e;
}

}  // namespace polder::imap::proto
