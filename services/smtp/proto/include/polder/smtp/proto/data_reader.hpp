// polder/smtp/proto/data_reader.hpp - incremental readers for message content after DATA
// (dot-stuffed, ends with CRLF.CRLF) and after BDAT (exact octet counts).
//
// SECURITY - one policy against SMTP smuggling (CVE-2023-51764/51765/51766): REJECT.
// - DATA ends ONLY at "<CRLF>.<CRLF>" (or ".<CRLF>" as the very first line). "\n.\n",
//   "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r" and every other variant are not an end.
// - Any bare LF (LF not preceded by CR) or bare CR (CR not followed by LF) anywhere in
//   the data marks the message refused: 550 5.6.0. The reader still consumes up to the
//   real CRLF.CRLF so the session stays in step with the client. Emission to the sink
//   stops at the first offending octet; content already streamed out before it must be
//   discarded by the server (status() != ok), so no "smuggled" message is ever stored or
//   relayed, and the bytes after a fake end marker are never taken for commands.
//   (Normalizing instead would store a message other than the one sent; refusing is what
//   Postfix 3.9 smtpd_forbid_bare_newline and Exim do, and legitimate clients send CRLF.)
// - The size limit is enforced while streaming: past max_size the reader keeps consuming
//   but stops emitting and reports 552 5.3.4. Memory use is bounded (a 64 KiB output
//   buffer) whatever the message size.
// - BDAT content is counted exactly; the same bare CR/LF policy applies unless the
//   transaction is BODY=BINARYMIME (binary content legitimately contains any octet), so a
//   message received by BDAT cannot smuggle through us when we relay it with DATA.
// If a message is both over size and contains a bare CR/LF, the bare CR/LF is reported.
// Lines longer than 1000 octets (RFC 5321 §4.5.3.1.6) are accepted: real mail has them.
// STANDARDS: RFC 5321 §4.1.1.4 (DATA), §4.5.2 (transparency: dot-stuffing), §2.3.8 (lines
// end with CRLF; bare CR/LF must not be sent); RFC 1870 (552 5.3.4); RFC 3030 (BDAT
// chunk-size octets, no dot-stuffing, BINARYMIME); RFC 3463.
#pragma once

#include "polder/smtp/proto/reply.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace polder::smtp {

// Receives message content in order, in pieces of any size (never empty).
using content_sink = std::function<void(std::string_view)>;

enum class content_status {
    ok,                 // nothing wrong (so far)
    too_large,          // exceeded max_size: 552 5.3.4
    bare_line_ending,   // bare LF or bare CR: 550 5.6.0
};

class data_reader {
public:
    explicit data_reader(std::uint64_t max_size);

    // feed - consume input up to and including the end marker; unstuffed content goes to
    // `out` while the message is acceptable. Returns the octets consumed: when done()
    // becomes true the rest of `input` is the next pipelined command.
    std::size_t feed(std::string_view input, const content_sink& out);

    // feed_line - for callers that read lines (net::line_reader): `text` is one line
    // without its line end, bare_lf says it ended in a lone LF. Exactly the same as
    // feed(text + (bare_lf ? "\n" : "\r\n")). A bare CR inside `text` is still caught.
    void feed_line(std::string_view text, bool bare_lf, const content_sink& out);

    bool done() const noexcept { return state_ == state::done; }
    content_status status() const noexcept;
    // error_reply - the reply that refuses the message, or nullopt when it is acceptable.
    std::optional<reply> error_reply() const;
    std::uint64_t size() const noexcept { return size_; }   // content octets seen (also past the limit)

private:
    enum class state { line_start, dot, dot_cr, mid, cr, done };
    void emit(std::string_view bytes);
    void flush(const content_sink& out);

    std::uint64_t max_size_;
    std::uint64_t size_ = 0;
    state state_ = state::line_start;
    bool bare_ = false;
    bool too_large_ = false;
    std::string buffer_;
};

class bdat_reader {
public:
    // check_line_endings: false for BODY=BINARYMIME.
    bdat_reader(std::uint64_t max_size, bool check_line_endings);

    // begin_chunk - a BDAT command announced `size` octets.
    void begin_chunk(std::uint64_t size) noexcept { remaining_ = size; }
    // feed - consume at most the rest of the current chunk; returns the octets consumed.
    std::size_t feed(std::string_view input, const content_sink& out);
    bool chunk_done() const noexcept { return remaining_ == 0; }
    std::uint64_t remaining() const noexcept { return remaining_; }
    // finish - after the LAST chunk: a CR at the very end is a bare CR.
    void finish() noexcept;

    content_status status() const noexcept;
    std::optional<reply> error_reply() const;
    std::uint64_t size() const noexcept { return size_; }

private:
    std::uint64_t max_size_;
    bool check_;
    std::uint64_t remaining_ = 0;
    std::uint64_t size_ = 0;
    bool pending_cr_ = false;
    bool bare_ = false;
    bool too_large_ = false;
};

}  // namespace polder::smtp
