// input.hpp - the SMTP session's byte input: command lines, DATA content up to its end
// marker, and BDAT chunks of exact size, from one buffer over a net::stream.
//
// Why not net::line_reader: DATA must be fed byte-exactly to smtp::data_reader, which
// decides where the content ends (only at CRLF.CRLF) and leaves the rest for the next
// pipelined command. A line reader that drops an over-long line cannot say how that line
// ended, which is exactly the ambiguity SMTP smuggling exploits; here DATA never goes
// through a line splitter at all.
//
// SECURITY: memory per connection is bounded: a command line is buffered up to max + 2
// octets (an over-long line is discarded through its LF and reported), DATA and BDAT are
// streamed through a buffer of at most read_chunk octets. buffered() exposes read-ahead so
// the session can refuse pipelined plaintext before STARTTLS (CVE-2011-0411).
// STANDARDS: RFC 5321 section 2.3.8 (line endings), 4.5.3.1.4 (command line length),
// RFC 3030 (BDAT chunks of exact size).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"
#include "polder/net/stream.hpp"
#include "polder/smtp/proto/data_reader.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace polder::smtpd {

class input {
public:
    explicit input(net::stream& s) : stream_(s) {}

    struct line {
        std::string_view text;   // without its terminator; valid until the next call
        bool bare_lf = false;    // ended with LF not preceded by CR
    };

    // read_line - the next line of at most max octets (terminator excluded). Errors:
    // errc::limit_exceeded (longer; discarded through its LF), asio::error::eof, stream errors.
    awaitable<result<line>> read_line(std::size_t max);
    // read_data - feed the DATA content to r until r.done(). Stream errors, eof.
    awaitable<result<void>> read_data(smtp::data_reader& r, const smtp::content_sink& sink);
    // read_chunk - feed the current BDAT chunk to r until r.chunk_done().
    awaitable<result<void>> read_chunk(smtp::bdat_reader& r, const smtp::content_sink& sink);
    // skip - read and drop n octets (a refused BDAT chunk).
    awaitable<result<void>> skip(std::uint64_t n);

    std::size_t buffered() const noexcept { return buf_.size() - pos_ - pending_; }
    void discard_buffer() noexcept;

    static constexpr std::size_t read_chunk_size = 16 * 1024;

private:
    void consume_pending() noexcept;
    awaitable<result<std::size_t>> fill(std::size_t want);
    std::string_view available() const noexcept { return std::string_view(buf_).substr(pos_); }
    void consume(std::size_t n) noexcept;

    net::stream& stream_;
    std::string buf_;
    std::size_t pos_ = 0;       // first unread octet
    std::size_t pending_ = 0;   // octets of the last returned line, dropped on the next call
};

}  // namespace polder::smtpd
