// input.cpp - see input.hpp.
// SECURITY: bounded buffers, see input.hpp. STANDARDS: RFC 5321, RFC 3030.
#include "input.hpp"

#include <algorithm>
#include <cstring>

namespace polder::smtpd {

void input::consume_pending() noexcept {
    if (pending_) {
        consume(pending_);
        pending_ = 0;
    }
}

void input::consume(std::size_t n) noexcept {
    pos_ += n;
    if (pos_ >= buf_.size()) {
        buf_.clear();
        pos_ = 0;
        // Give back what a large line or chunk needed: idle sessions stay small.
        if (buf_.capacity() > 2 * read_chunk_size) buf_.shrink_to_fit();
    }
}

void input::discard_buffer() noexcept {
    buf_.clear();
    pos_ = 0;
    pending_ = 0;
}

// fill - read at least one more octet into the buffer (up to want).
awaitable<result<std::size_t>> input::fill(std::size_t want) {
    if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
    } else if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
        buf_.erase(0, pos_);
        pos_ = 0;
    }
    const std::size_t old = buf_.size();
    buf_.resize(old + want);
    auto n = co_await stream_.read_some(asio::buffer(buf_.data() + old, want));
    buf_.resize(old + (n ? *n : 0));
    if (!n) co_return n.error();
    co_return *n;
}

awaitable<result<input::line>> input::read_line(std::size_t max) {
    consume_pending();
    std::size_t scanned = 0;
    bool discarding = false;
    for (;;) {
        auto avail = available();
        if (auto lf = avail.find('\n', scanned); lf != std::string_view::npos) {
            if (discarding) {
                consume(lf + 1);
                co_return make_error_code(errc::limit_exceeded);
            }
            const bool crlf = lf > 0 && avail[lf - 1] == '\r';
            const std::size_t text_len = crlf ? lf - 1 : lf;
            if (text_len > max) {
                consume(lf + 1);
                co_return make_error_code(errc::limit_exceeded);
            }
            pending_ = lf + 1;
            co_return line{avail.substr(0, text_len), !crlf};
        }
        scanned = avail.size();
        if (avail.size() > max + 1) {   // max text plus a CR could still be followed by LF
            discarding = true;
            consume(avail.size());
            scanned = 0;
        }
        auto r = co_await fill(std::min<std::size_t>(read_chunk_size, discarding ? read_chunk_size : max + 2));
        if (!r) co_return r.error();
    }
}

awaitable<result<void>> input::read_data(smtp::data_reader& r, const smtp::content_sink& sink) {
    consume_pending();
    for (;;) {
        if (auto avail = available(); !avail.empty()) consume(r.feed(avail, sink));
        if (r.done()) co_return result<void>{};
        auto n = co_await fill(read_chunk_size);
        if (!n) co_return n.error();
    }
}

awaitable<result<void>> input::read_chunk(smtp::bdat_reader& r, const smtp::content_sink& sink) {
    consume_pending();
    for (;;) {
        if (auto avail = available(); !avail.empty() && !r.chunk_done()) consume(r.feed(avail, sink));
        if (r.chunk_done()) co_return result<void>{};
        auto n = co_await fill(static_cast<std::size_t>(std::min<std::uint64_t>(read_chunk_size, r.remaining())));
        if (!n) co_return n.error();
    }
}

awaitable<result<void>> input::skip(std::uint64_t n) {
    consume_pending();
    while (n > 0) {
        auto avail = available();
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, avail.size()));
        consume(take);
        n -= take;
        if (n == 0) break;
        auto r = co_await fill(static_cast<std::size_t>(std::min<std::uint64_t>(read_chunk_size, n)));
        if (!r) co_return r.error();
    }
    co_return result<void>{};
}

}  // namespace polder::smtpd
