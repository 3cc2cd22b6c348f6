// deflate_stream.cpp - raw DEFLATE over another stream (zlib), for IMAP COMPRESS.
//
// One read and one write may be outstanding at once (IDLE): the inflate and deflate
// states are separate and each is touched only by its own operation.
//
// SECURITY: see the header: inflate output is bounded by the caller's buffer; corrupt
// input ends the stream with protocol_error; no STARTTLS after compression.
// STANDARDS: RFC 4978 section 4 (raw deflate, Z_SYNC_FLUSH after each response), RFC 1951.
#include "polder/net/deflate_stream.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <new>
#include <stdexcept>

namespace polder::net {

namespace {

using boost::system::error_code;

class deflate_stream final : public stream {
public:
    deflate_stream(std::unique_ptr<stream> inner, std::string already_read)
        : inner_(std::move(inner)), pending_(std::move(already_read)) {
        // windowBits -15: raw deflate with the largest window, what RFC 4978 peers send.
        if (inflateInit2(&in_z_, -15) != Z_OK) throw std::bad_alloc();
        if (deflateInit2(&out_z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            inflateEnd(&in_z_);
            throw std::bad_alloc();
        }
        if (!pending_.empty()) {
            in_z_.next_in = reinterpret_cast<Bytef*>(pending_.data());
            in_z_.avail_in = static_cast<uInt>(pending_.size());
            pending_in_use_ = true;
        }
    }

    ~deflate_stream() override {
        inflateEnd(&in_z_);
        deflateEnd(&out_z_);
    }

    awaitable<result<std::size_t>> read_some(asio::mutable_buffer buf) override {
        if (buf.size() == 0) co_return std::size_t{0};
        if (ended_) co_return error_code(asio::error::eof);
        for (;;) {
            // Inflate first, also with no new input: zlib may hold output that did not
            // fit the caller's previous buffer.
            in_z_.next_out = static_cast<Bytef*>(buf.data());
            in_z_.avail_out = static_cast<uInt>(std::min<std::size_t>(buf.size(), 1u << 30));
            const auto room = in_z_.avail_out;
            const int rc = inflate(&in_z_, Z_SYNC_FLUSH);
            const std::size_t produced = room - in_z_.avail_out;
            if (in_z_.avail_in == 0 && pending_in_use_) {
                pending_.clear();
                pending_.shrink_to_fit();
                pending_in_use_ = false;
            }
            if (rc == Z_STREAM_END) {
                // The peer ended the deflate stream: nothing can follow in this session.
                ended_ = true;
                if (produced > 0) co_return produced;
                co_return error_code(asio::error::eof);
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) co_return error_code(errc::protocol_error);
            if (produced > 0) co_return produced;
            if (in_z_.avail_in != 0) continue;   // input left but no output yet: keep going
            auto n = co_await inner_->read_some(asio::buffer(raw_));
            if (!n) co_return n.error();
            in_z_.next_in = reinterpret_cast<Bytef*>(raw_.data());
            in_z_.avail_in = static_cast<uInt>(*n);
        }
    }

    awaitable<result<void>> write(std::string_view bytes) override {
        out_.clear();
        out_z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
        out_z_.avail_in = static_cast<uInt>(bytes.size());
        // Deflate output is at most slightly larger than its input; grow in steps until
        // zlib has flushed everything (avail_out left over after Z_SYNC_FLUSH).
        for (;;) {
            const std::size_t old = out_.size();
            const std::size_t step = std::max<std::size_t>(bytes.size() / 2 + 64, 4096);
            out_.resize(old + step);
            out_z_.next_out = reinterpret_cast<Bytef*>(out_.data() + old);
            out_z_.avail_out = static_cast<uInt>(step);
            const int rc = deflate(&out_z_, Z_SYNC_FLUSH);
            if (rc != Z_OK && rc != Z_BUF_ERROR) co_return error_code(errc::internal);
            out_.resize(old + step - out_z_.avail_out);
            if (out_z_.avail_out != 0 && out_z_.avail_in == 0) break;
        }
        auto r = co_await inner_->write(out_);
        if (out_.capacity() > (1u << 20)) std::string().swap(out_);   // don't keep a FETCH-sized buffer
        co_return r;
    }

    awaitable<result<void>> start_tls() override { co_return error_code(errc::invalid_argument); }
    bool tls_active() const override { return inner_->tls_active(); }
    void set_timeout(std::chrono::steady_clock::duration d) override { inner_->set_timeout(d); }
    void cancel() override { inner_->cancel(); }
    void close() override { inner_->close(); }
    awaitable<void> shutdown() override { co_await inner_->shutdown(); }
    std::string tls_description() const override { return inner_->tls_description(); }

private:
    std::unique_ptr<stream> inner_;
    std::string pending_;
    bool pending_in_use_ = false;
    bool ended_ = false;
    z_stream in_z_{};
    z_stream out_z_{};
    std::array<char, 16384> raw_{};
    std::string out_;
};

}  // namespace

std::unique_ptr<stream> make_deflate_stream(std::unique_ptr<stream> inner, std::string already_read) {
    return std::make_unique<deflate_stream>(std::move(inner), std::move(already_read));
}

}  // namespace polder::net
