// client_stream.cpp - see client_stream.hpp.
// SECURITY: opportunistic TLS, bounded by timeouts. STANDARDS: RFC 3207, RFC 7435.
#include "client_stream.hpp"

#include <openssl/ssl.h>

namespace polder::smtpd {

namespace {

using namespace asio::experimental::awaitable_operators;

std::shared_ptr<asio::ssl::context> client_context() {
    static const std::shared_ptr<asio::ssl::context> ctx = [] {
        auto c = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        c->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression);
        c->set_verify_mode(asio::ssl::verify_none);   // opportunistic: see the header
        return c;
    }();
    return ctx;
}

bool is_ip_literal(const std::string& s) {
    boost::system::error_code ec;
    asio::ip::make_address(s, ec);
    return !ec;
}

}  // namespace

client_stream::client_stream(asio::ip::tcp::socket sock, std::string server_name)
    : ctx_(client_context()), ssl_(std::move(sock), *ctx_), server_name_(std::move(server_name)) {}

awaitable<result<std::size_t>> client_stream::read_some(asio::mutable_buffer b) {
    asio::steady_timer t(co_await asio::this_coro::executor, timeout_);
    std::variant<std::tuple<boost::system::error_code, std::size_t>, std::tuple<boost::system::error_code>> r;
    if (tls_) r = co_await (ssl_.async_read_some(b, use_tuple) || t.async_wait(use_tuple));
    else r = co_await (ssl_.next_layer().async_read_some(b, use_tuple) || t.async_wait(use_tuple));
    if (r.index() == 1) {
        close();
        co_return make_error_code(errc::timeout);
    }
    auto [ec, n] = std::get<0>(r);
    if (ec) co_return ec;
    co_return n;
}

awaitable<result<void>> client_stream::write(std::string_view bytes) {
    asio::steady_timer t(co_await asio::this_coro::executor, timeout_);
    std::variant<std::tuple<boost::system::error_code, std::size_t>, std::tuple<boost::system::error_code>> r;
    if (tls_) r = co_await (asio::async_write(ssl_, asio::buffer(bytes), use_tuple) || t.async_wait(use_tuple));
    else
        r = co_await (asio::async_write(ssl_.next_layer(), asio::buffer(bytes), use_tuple) ||
                      t.async_wait(use_tuple));
    if (r.index() == 1) {
        close();
        co_return make_error_code(errc::timeout);
    }
    if (auto ec = std::get<0>(std::get<0>(r))) co_return ec;
    co_return result<void>{};
}

awaitable<result<void>> client_stream::start_tls() {
    if (tls_) co_return make_error_code(errc::invalid_argument);
    if (!server_name_.empty() && !is_ip_literal(server_name_))
        SSL_set_tlsext_host_name(ssl_.native_handle(), server_name_.c_str());
    asio::steady_timer t(co_await asio::this_coro::executor, timeout_);
    auto r = co_await (ssl_.async_handshake(asio::ssl::stream_base::client, use_tuple) || t.async_wait(use_tuple));
    if (r.index() == 1) {
        close();
        co_return make_error_code(errc::timeout);
    }
    if (auto ec = std::get<0>(std::get<0>(r))) {
        close();
        co_return ec;
    }
    tls_ = true;
    co_return result<void>{};
}

void client_stream::cancel() {
    boost::system::error_code ignored;
    ssl_.next_layer().cancel(ignored);
}

void client_stream::close() {
    boost::system::error_code ignored;
    ssl_.next_layer().close(ignored);
}

std::string client_stream::tls_description() const {
    if (!tls_) return {};
    auto* ssl = const_cast<asio::ssl::stream<asio::ip::tcp::socket>&>(ssl_).native_handle();
    return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

}  // namespace polder::smtpd
