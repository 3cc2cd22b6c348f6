// polder/net/line_reader.hpp - buffered reading of lines and exact byte
// counts (IMAP literals, SMTP BDAT chunks) over a stream.
//
// Lines end with CRLF; a bare LF also ends a line and is reported (SMTP must
// reject bare LF, RFC 5321 section 2.3.8; IMAP may tolerate it). A CR not
// followed by LF is part of the line's text. The terminator is not part of
// `text`, and max_line limits the text (terminator excluded).
//
// Memory: nothing is allocated until the first read; the buffer starts small
// (1 KiB), grows on demand up to max_line + 2 for lines and up to 64 KiB while
// streaming read_exact, and is released again when it is empty and larger
// than 16 KiB. So 10,000 idle connections hold about 1 KiB each here.
//
// SECURITY: a line longer than max_line is never buffered whole: the reader
// discards it through its terminator and only then returns
// errc::limit_exceeded, so the session can reply and continue in sync with the
// client. read_exact never allocates the client-declared size up front;
// callers must check n against their own limit (APPENDLIMIT, message size)
// before calling. buffered() exposes read-ahead so a session can refuse
// pipelined bytes before STARTTLS (CVE-2011-0411).
//
// STANDARDS: RFC 5321 section 2.3.8 and 4.5.3.1 (lines, limits), RFC 3030
// (BDAT), RFC 9051 section 4.3 (literals), RFC 7888 (non-synchronizing literals).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace polder::net {

class stream;

class line_reader {
public:
    line_reader(stream& s, std::size_t max_line);

    struct line {
        std::string_view text;  // without the terminator; valid until the next call on this reader
        bool bare_lf = false;   // ended with LF not preceded by CR

        // For test frameworks that print a result<line> (Catch2 REQUIRE(l)).
        friend std::ostream& operator<<(std::ostream& os, const line& l) {
            return os << '"' << l.text << '"' << (l.bare_lf ? " (bare LF)" : "");
        }
    };

    // read_line - the next line. Errors: errc::limit_exceeded (the line was
    // longer than max_line and has been discarded through its terminator),
    // asio::error::eof (peer closed; a partial last line stays in buffered()),
    // and the stream's errors (errc::timeout, ...).
    awaitable<result<line>> read_line();

    // read_exact - exactly n bytes passed to sink in chunks as they arrive
    // (buffered bytes first). If sink returns an error the remaining bytes are
    // still read and dropped, so the protocol stays in sync, and that error is
    // returned. Errors: the sink's, asio::error::eof before n bytes, stream errors.
    awaitable<result<void>> read_exact(std::size_t n, std::function<result<void>(std::string_view chunk)> sink);
    // read_exact - exactly n bytes as a string (for small literals; check n first).
    awaitable<result<std::string>> read_exact(std::size_t n);

    std::size_t buffered() const { return end_ - start_ - pending_consume_; }
    void discard_buffer();
    std::size_t max_line() const { return max_line_; }
    void set_max_line(std::size_t n) { max_line_ = n; }
    std::size_t capacity() const { return capacity_; }  // for tests of the memory policy

    static constexpr std::size_t initial_capacity = 1024;
    static constexpr std::size_t chunk_capacity = 64 * 1024;
    static constexpr std::size_t shrink_above = 16 * 1024;

private:
    awaitable<result<std::size_t>> fill(std::size_t want_free);
    void consume_pending();
    void reserve_free(std::size_t want_free);
    void maybe_shrink();

    stream& stream_;
    std::size_t max_line_;
    std::unique_ptr<char[]> buf_;
    std::size_t capacity_ = 0;
    std::size_t start_ = 0;  // first unread byte
    std::size_t end_ = 0;    // one past the last buffered byte
    std::size_t pending_consume_ = 0;  // bytes of the last returned line, dropped on the next call
    std::size_t scanned_ = 0;          // bytes from start_ already searched for LF
};

}  // namespace polder::net
