// data_reader.cpp - DATA (dot-stuffed) and BDAT (counted) content readers.
//
// SECURITY: a byte-level state machine whose only end condition is CRLF "." CRLF; every
// bare CR or LF refuses the message (see data_reader.hpp). Output is buffered in at most
// 64 KiB; input of any size and any fragmentation gives the same result.
// STANDARDS: RFC 5321 §4.1.1.4, §4.5.2, §2.3.8; RFC 1870; RFC 3030.
#include "polder/smtp/proto/data_reader.hpp"

#include <algorithm>

namespace polder::smtp {
namespace {
constexpr std::size_t flush_threshold = 64 * 1024;
}

data_reader::data_reader(std::uint64_t max_size) : max_size_(max_size) { buffer_.reserve(4096); }

void data_reader::emit(std::string_view bytes) {
    size_ += bytes.size();
    if (size_ > max_size_) too_large_ = true;
    if (!bare_ && !too_large_) buffer_.append(bytes);
}

void data_reader::flush(const content_sink& out) {
    if (!buffer_.empty() && !bare_ && !too_large_) out(buffer_);
    buffer_.clear();
}

std::size_t data_reader::feed(std::string_view in, const content_sink& out) {
    std::size_t i = 0;
    const std::size_t n = in.size();
    while (i < n && state_ != state::done) {
        const char c = in[i];
        switch (state_) {
        case state::line_start:
            ++i;
            if (c == '.') state_ = state::dot;          // dropped: stuffing or the terminator
            else if (c == '\r') state_ = state::cr;     // held until we know it is a CRLF
            else if (c == '\n') { bare_ = true; state_ = state::mid; }
            else { emit({&in[i - 1], 1}); state_ = state::mid; }
            break;
        case state::dot:
            ++i;
            if (c == '\r') state_ = state::dot_cr;
            else if (c == '\n') { bare_ = true; state_ = state::mid; }   // ".\n" never ends data
            else { emit({&in[i - 1], 1}); state_ = state::mid; }         // RFC 5321 §4.5.2: drop the first dot
            break;
        case state::dot_cr:
            if (c == '\n') {
                ++i;
                state_ = state::done;
                break;
            }
            bare_ = true;               // ".\r" followed by anything else: a bare CR
            emit("\r");
            state_ = state::mid;        // reprocess c as mid-line content
            break;
        case state::mid: {
            // Fast path: copy the run up to the next CR or LF in one piece.
            std::size_t j = i;
            while (j < n && in[j] != '\r' && in[j] != '\n') ++j;
            if (j > i) emit(in.substr(i, j - i));
            i = j;
            if (i == n) break;
            if (in[i] == '\r') state_ = state::cr;
            else bare_ = true;          // bare LF: stays mid-line, never starts a new line
            ++i;
            break;
        }
        case state::cr:
            if (c == '\n') {
                ++i;
                emit("\r\n");
                state_ = state::line_start;
            } else {
                bare_ = true;           // the held CR was bare; c is reprocessed mid-line
                emit("\r");
                state_ = state::mid;
            }
            break;
        case state::done:
            break;
        }
        if (buffer_.size() >= flush_threshold) flush(out);
    }
    flush(out);
    return i;
}

void data_reader::feed_line(std::string_view text, bool bare_lf, const content_sink& out) {
    // Lines are small next to the 64 KiB buffer, so the two feeds cost one flush each at most.
    feed(text, out);
    feed(bare_lf ? std::string_view("\n") : std::string_view("\r\n"), out);
}

content_status data_reader::status() const noexcept {
    if (bare_) return content_status::bare_line_ending;
    if (too_large_) return content_status::too_large;
    return content_status::ok;
}

std::optional<reply> data_reader::error_reply() const {
    switch (status()) {
    case content_status::bare_line_ending: return replies::bare_line_ending();
    case content_status::too_large: return replies::message_too_big(max_size_);
    case content_status::ok: break;
    }
    return std::nullopt;
}

bdat_reader::bdat_reader(std::uint64_t max_size, bool check_line_endings)
    : max_size_(max_size), check_(check_line_endings) {}

std::size_t bdat_reader::feed(std::string_view in, const content_sink& out) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
    const std::string_view chunk = in.substr(0, take);
    remaining_ -= take;
    if (check_ && !bare_) {
        for (std::size_t i = 0; i < chunk.size(); ++i) {
            const char c = chunk[i];
            if (pending_cr_) {
                pending_cr_ = false;
                if (c != '\n') { bare_ = true; break; }
                continue;
            }
            if (c == '\r') pending_cr_ = true;
            else if (c == '\n') { bare_ = true; break; }
        }
    }
    size_ += take;
    if (size_ > max_size_) too_large_ = true;
    if (!chunk.empty() && !bare_ && !too_large_) out(chunk);
    return take;
}

void bdat_reader::finish() noexcept {
    if (check_ && pending_cr_) bare_ = true;
    pending_cr_ = false;
}

content_status bdat_reader::status() const noexcept {
    if (bare_) return content_status::bare_line_ending;
    if (too_large_) return content_status::too_large;
    return content_status::ok;
}

std::optional<reply> bdat_reader::error_reply() const {
    switch (status()) {
    case content_status::bare_line_ending: return replies::bare_line_ending();
    case content_status::too_large: return replies::message_too_big(max_size_);
    case content_status::ok: break;
    }
    return std::nullopt;
}

}  // namespace polder::smtp
