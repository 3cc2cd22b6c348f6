// tcp_stream.cpp - the stream over a TCP socket, optionally upgraded to TLS.
//
// Each operation with a timeout races the operation against a steady_timer
// (awaitable operator ||): whichever finishes first cancels the other through
// per-operation cancellation, so a concurrent read and write each keep their
// own deadline and the server's forced shutdown (cancellation of the session
// coroutine) still reaches the pending operation.
//
// SECURITY: the TLS handshake reads straight from the socket; nothing read in
// plaintext is ever fed into the TLS engine. The handshake has the same
// timeout as any read, so a client cannot hold a slot by stalling it.
//
// STANDARDS: RFC 3207, RFC 8314, RFC 8446 (close_notify, section 6.1).
#include "polder/net/stream.hpp"

#include "polder/net/tls_context.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

namespace polder::net {

using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;

stream::~stream() = default;

awaitable<void> stream::shutdown() {
    close();
    co_return;
}

std::string stream::tls_description() const { return {}; }

namespace {

using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

class tcp_stream final : public stream {
public:
    tcp_stream(tcp::socket sock, std::shared_ptr<tls_context> tls) : sock_(std::move(sock)), tls_(std::move(tls)) {}

    ~tcp_stream() override {
        error_code ignored;
        sock_.close(ignored);
    }

    awaitable<result<std::size_t>> read_some(asio::mutable_buffer buf) override {
        if (buf.size() == 0) co_return std::size_t{0};
        if (!sock_.is_open()) co_return error_code(asio::error::not_connected);
        if (cancel_requested_) {
            cancel_requested_ = false;
            co_return error_code(asio::error::operation_aborted);
        }
        auto op = ssl_ ? ssl_->async_read_some(buf, use_tuple) : sock_.async_read_some(buf, use_tuple);
        error_code ec;
        std::size_t n = 0;
        if (timeout_ == clock::duration::zero()) {
            std::tie(ec, n) = co_await std::move(op);
        } else {
            asio::steady_timer timer(sock_.get_executor(), timeout_);
            auto r = co_await (std::move(op) || timer.async_wait(use_tuple));
            if (r.index() == 1) {
                auto [tec] = std::get<1>(r);
                // The timer also ends early when the whole coroutine is cancelled.
                co_return tec ? error_code(asio::error::operation_aborted) : error_code(errc::timeout);
            }
            std::tie(ec, n) = std::get<0>(r);
        }
        if (ec == asio::error::operation_aborted) cancel_requested_ = false;  // this read took the cancel
        if (!ec) quick_ack();
        if (ec) {
            // A TLS peer that closes without close_notify: for line protocols
            // that is an ordinary end of connection (they frame their own data).
            if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
            co_return ec;
        }
        co_return n;
    }

    // quick_ack - acknowledge what arrives next at once. Linux delays an ACK up to 40 ms
    // while the server has nothing to send, and a client with Nagle's algorithm on (most:
    // Python's imaplib, Java) holds its next small write until that ACK. imaplib sends an
    // APPEND literal and its closing CRLF in two writes, so every APPEND stalled 40 ms
    // (measured with strace: 41.5 ms between the literal and the CRLF). The kernel resets
    // the mode by itself, so it is re-armed after every read; a failure only costs speed.
    void quick_ack() {
#ifdef TCP_QUICKACK
        int one = 1;
        ::setsockopt(sock_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#endif
    }

    awaitable<result<void>> write(std::string_view bytes) override {
        if (!sock_.is_open()) co_return error_code(asio::error::not_connected);
        if (bytes.empty()) co_return result<void>{};
        auto buf = asio::buffer(bytes.data(), bytes.size());
        auto op = ssl_ ? asio::async_write(*ssl_, buf, use_tuple) : asio::async_write(sock_, buf, use_tuple);
        error_code ec;
        if (timeout_ == clock::duration::zero()) {
            std::tie(ec, std::ignore) = co_await std::move(op);
        } else {
            asio::steady_timer timer(sock_.get_executor(), timeout_);
            auto r = co_await (std::move(op) || timer.async_wait(use_tuple));
            if (r.index() == 1) {
                auto [tec] = std::get<1>(r);
                close();  // a partly written record or line cannot be resumed
                co_return tec ? error_code(asio::error::operation_aborted) : error_code(errc::timeout);
            }
            std::tie(ec, std::ignore) = std::get<0>(r);
        }
        if (ec) co_return ec;
        co_return result<void>{};
    }

    awaitable<result<void>> start_tls() override {
        if (ssl_) co_return error_code(errc::invalid_argument);
        if (!tls_) co_return error_code(errc::unavailable);
        if (!sock_.is_open()) co_return error_code(asio::error::not_connected);
        ssl_ctx_ = tls_->current();
        ssl_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(sock_, *ssl_ctx_);
        auto op = ssl_->async_handshake(asio::ssl::stream_base::server, use_tuple);
        error_code ec;
        if (timeout_ == clock::duration::zero()) {
            std::tie(ec) = co_await std::move(op);
        } else {
            asio::steady_timer timer(sock_.get_executor(), timeout_);
            auto r = co_await (std::move(op) || timer.async_wait(use_tuple));
            if (r.index() == 1) {
                auto [tec] = std::get<1>(r);
                ec = tec ? error_code(asio::error::operation_aborted) : error_code(errc::timeout);
            } else {
                std::tie(ec) = std::get<0>(r);
            }
        }
        if (ec) {
            close();
            co_return ec;
        }
        handshake_done_ = true;
        co_return result<void>{};
    }

    bool tls_active() const override { return ssl_ && handshake_done_; }

    void set_timeout(clock::duration d) override { timeout_ = d < clock::duration::zero() ? clock::duration::zero() : d; }

    void cancel() override {
        cancel_requested_ = true;  // consumed by the read it aborts, or by the next read
        error_code ignored;
        sock_.cancel(ignored);
    }

    void close() override {
        error_code ignored;
        sock_.close(ignored);
    }

    awaitable<void> shutdown() override {
        if (tls_active() && sock_.is_open()) {
            // close_notify, but never wait long for the peer's answer.
            asio::steady_timer timer(sock_.get_executor(), std::chrono::seconds(1));
            co_await (ssl_->async_shutdown(use_tuple) || timer.async_wait(use_tuple));
        }
        close();
    }

    std::string tls_description() const override {
        if (!tls_active()) return {};
        SSL* ssl = const_cast<asio::ssl::stream<tcp::socket&>&>(*ssl_).native_handle();
        std::string d = SSL_get_version(ssl);
        if (const char* c = SSL_get_cipher_name(ssl)) {
            d += ' ';
            d += c;
        }
        return d;
    }

private:
    tcp::socket sock_;
    std::shared_ptr<tls_context> tls_;
    std::shared_ptr<asio::ssl::context> ssl_ctx_;  // the context this connection's handshake used
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> ssl_;
    bool handshake_done_ = false;
    bool cancel_requested_ = false;
    clock::duration timeout_{};
};

}  // namespace

std::unique_ptr<stream> make_tcp_stream(asio::ip::tcp::socket sock, std::shared_ptr<tls_context> tls) {
    return std::make_unique<tcp_stream>(std::move(sock), std::move(tls));
}

std::unique_ptr<stream> make_tcp_stream(asio::ip::tcp::socket sock, std::shared_ptr<tls_context> tls,
                                        const connection_info& info) {
    auto s = std::make_unique<tcp_stream>(std::move(sock), std::move(tls));
    s->set_timeout(info.idle_timeout);
    return s;
}

}  // namespace polder::net
