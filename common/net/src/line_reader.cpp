// line_reader.cpp - CRLF lines and exact byte counts over a stream.
//
// Buffer layout: buf_[start_, end_) holds unread bytes; the line returned last
// stays in place (its view must remain valid) until the next call consumes it
// (pending_consume_). scanned_ remembers how far the LF search got, so a long
// line arriving in small fragments is scanned once, not once per fragment.
//
// SECURITY: the buffer never grows beyond max_line + 2 for lines (a longer
// line is dropped while it streams in) nor beyond chunk_capacity for
// read_exact, whatever the client sends or declares.
//
// STANDARDS: RFC 5321 section 2.3.8 (CRLF, bare LF), RFC 3030, RFC 9051 4.3.
#include "polder/net/line_reader.hpp"

#include "polder/net/stream.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace polder::net {

using boost::system::error_code;

line_reader::line_reader(stream& s, std::size_t max_line) : stream_(s), max_line_(max_line) {}

void line_reader::consume_pending() {
    start_ += pending_consume_;
    pending_consume_ = 0;
    scanned_ = 0;
    if (start_ == end_) start_ = end_ = 0;
}

void line_reader::maybe_shrink() {
    if (start_ == end_ && pending_consume_ == 0 && capacity_ > shrink_above) {
        buf_.reset();
        capacity_ = 0;
        start_ = end_ = scanned_ = 0;
    }
}

void line_reader::discard_buffer() {
    pending_consume_ = 0;
    start_ = end_ = scanned_ = 0;
    maybe_shrink();
}

// reserve_free - at least want_free writable bytes after end_, by compacting
// first and growing (doubling, at least initial_capacity) only if needed.
void line_reader::reserve_free(std::size_t want_free) {
    if (capacity_ - end_ >= want_free) return;
    const std::size_t used = end_ - start_;
    if (capacity_ - used >= want_free) {
        std::memmove(buf_.get(), buf_.get() + start_, used);
        start_ = 0;
        end_ = used;
        return;
    }
    std::size_t cap = std::max(initial_capacity, capacity_ * 2);
    while (cap - used < want_free) cap *= 2;
    // Do not let doubling overshoot what a maximal line needs.
    const std::size_t line_cap = max_line_ > std::numeric_limits<std::size_t>::max() / 2 ? max_line_ : max_line_ + 2;
    if (cap > line_cap && line_cap >= used + want_free && line_cap >= initial_capacity) cap = line_cap;
    auto fresh = std::make_unique_for_overwrite<char[]>(cap);
    if (used) std::memcpy(fresh.get(), buf_.get() + start_, used);
    buf_ = std::move(fresh);
    capacity_ = cap;
    start_ = 0;
    end_ = used;
}

awaitable<result<std::size_t>> line_reader::fill(std::size_t want_free) {
    reserve_free(std::max<std::size_t>(want_free, 1));
    auto r = co_await stream_.read_some(asio::buffer(buf_.get() + end_, capacity_ - end_));
    if (r) end_ += *r;
    co_return r;
}

awaitable<result<line_reader::line>> line_reader::read_line() {
    consume_pending();
    maybe_shrink();
    const std::size_t line_cap =
        max_line_ > std::numeric_limits<std::size_t>::max() - 2 ? std::numeric_limits<std::size_t>::max() : max_line_ + 2;
    bool discarding = false;  // inside an over-long line: drop bytes until its LF
    for (;;) {
        if (discarding) {
            const char* base = buf_.get() + start_;
            const void* lf = end_ > start_ ? std::memchr(base, '\n', end_ - start_) : nullptr;
            if (lf) {
                start_ += static_cast<std::size_t>(static_cast<const char*>(lf) - base) + 1;
                scanned_ = 0;
                if (start_ == end_) start_ = end_ = 0;
                co_return error_code(errc::limit_exceeded);
            }
            start_ = end_ = scanned_ = 0;
        } else {
            const char* base = buf_.get() + start_;
            const std::size_t avail = end_ - start_;
            const void* lf = avail > scanned_ ? std::memchr(base + scanned_, '\n', avail - scanned_) : nullptr;
            if (lf) {
                const std::size_t len = static_cast<std::size_t>(static_cast<const char*>(lf) - base);
                const bool crlf = len > 0 && base[len - 1] == '\r';
                const std::size_t text_len = crlf ? len - 1 : len;
                scanned_ = 0;
                if (text_len > max_line_) {
                    start_ += len + 1;
                    if (start_ == end_) start_ = end_ = 0;
                    co_return error_code(errc::limit_exceeded);
                }
                pending_consume_ = len + 1;
                co_return line{std::string_view(base, text_len), !crlf};
            }
            scanned_ = avail;
            // max_line text plus a CR may still be waiting for its LF; one byte more cannot.
            if (avail >= line_cap) {
                discarding = true;
                start_ = end_ = scanned_ = 0;
            }
        }
        const std::size_t used = end_ - start_;
        const std::size_t want = discarding ? initial_capacity : std::min<std::size_t>(512, line_cap - used);
        auto r = co_await fill(want);
        if (!r) co_return r.error();
    }
}

awaitable<result<void>> line_reader::read_exact(std::size_t n, std::function<result<void>(std::string_view)> sink) {
    consume_pending();
    error_code sink_error;
    auto deliver = [&](const char* p, std::size_t len) {
        if (sink_error || len == 0) return;
        auto r = sink(std::string_view(p, len));
        if (!r) sink_error = r.error();
    };
    std::size_t remaining = n;
    const std::size_t from_buffer = std::min(remaining, end_ - start_);
    if (from_buffer) {
        deliver(buf_.get() + start_, from_buffer);
        start_ += from_buffer;
        remaining -= from_buffer;
        if (start_ == end_) start_ = end_ = 0;
    }
    // The buffer is empty now (or the request is satisfied): read straight into
    // it, never more than is still owed, so nothing after the literal is consumed.
    while (remaining > 0) {
        const std::size_t want = std::min(remaining, chunk_capacity);
        if (capacity_ < want) {
            buf_ = std::make_unique_for_overwrite<char[]>(want);
            capacity_ = want;
        }
        auto r = co_await stream_.read_some(asio::buffer(buf_.get(), want));
        if (!r) {
            maybe_shrink();
            co_return r.error();
        }
        deliver(buf_.get(), *r);
        remaining -= *r;
    }
    maybe_shrink();
    if (sink_error) co_return sink_error;
    co_return result<void>{};
}

awaitable<result<std::string>> line_reader::read_exact(std::size_t n) {
    std::string out;
    out.reserve(std::min(n, chunk_capacity));
    auto r = co_await read_exact(n, [&out](std::string_view chunk) -> result<void> {
        out.append(chunk);
        return {};
    });
    if (!r) co_return r.error();
    co_return out;
}

}  // namespace polder::net
