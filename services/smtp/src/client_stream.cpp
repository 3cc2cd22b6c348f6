// client_stream.cpp - see client_stream.hpp.
// SECURITY: opportunistic or verified TLS (see the header), bounded by timeouts.
// STANDARDS: RFC 3207, RFC 7435, RFC 6125.
#include "client_stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <mutex>

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

// verifying_context - one context per CA file, made on first use; nullptr (with why) when
// the file cannot be loaded - not cached, so fixing the file helps without a restart.
std::shared_ptr<asio::ssl::context> verifying_context(const std::string& ca_file, std::string& why) {
    static std::mutex m;
    static std::map<std::string, std::shared_ptr<asio::ssl::context>> contexts;
    std::lock_guard lock(m);
    if (auto it = contexts.find(ca_file); it != contexts.end()) return it->second;
    auto c = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    c->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                   asio::ssl::context::no_compression);
    boost::system::error_code ec;
    if (ca_file.empty()) c->set_default_verify_paths(ec);
    else c->load_verify_file(ca_file, ec);
    if (ec) {
        why = "cannot load CA certificates" + (ca_file.empty() ? std::string() : " from " + ca_file) + ": " + ec.message();
        return nullptr;
    }
    c->set_verify_mode(asio::ssl::verify_peer);
    contexts.emplace(ca_file, c);
    return c;
}

bool is_ip_literal(const std::string& s) {
    boost::system::error_code ec;
    asio::ip::make_address(s, ec);
    return !ec;
}

}  // namespace

std::string prepare_verification(const std::string& ca_file) {
    std::string why;
    verifying_context(ca_file, why);
    return why;
}

namespace {

std::shared_ptr<asio::ssl::context> context_for(const tls_check& check, std::string& why) {
    if (!check.verify) return client_context();
    if (auto c = verifying_context(check.ca_file, why)) return c;
    return client_context();   // never used for a handshake: start_tls fails on why
}

}  // namespace

client_stream::client_stream(asio::ip::tcp::socket sock, std::string server_name, const tls_check& check)
    : ctx_(context_for(check, setup_error_)), ssl_(std::move(sock), *ctx_), server_name_(std::move(server_name)),
      verify_(check.verify) {}

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
    verify_error_.clear();
    if (verify_ && !setup_error_.empty()) {
        verify_error_ = setup_error_;
        close();
        co_return make_error_code(errc::invalid_argument);
    }
    const bool literal = is_ip_literal(server_name_);
    if (!server_name_.empty() && !literal) SSL_set_tlsext_host_name(ssl_.native_handle(), server_name_.c_str());
    if (verify_) {
        // The name we connected to must be in the certificate (RFC 6125 6.4: DNS-ID, no
        // partial wildcards; an address literal must match an iPAddress entry).
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.native_handle());
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        const int ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name_.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, server_name_.c_str(), server_name_.size());
        if (ok != 1 || server_name_.empty()) {
            verify_error_ = "cannot check the certificate against the name " + server_name_;
            close();
            co_return make_error_code(errc::invalid_argument);
        }
    }
    asio::steady_timer t(co_await asio::this_coro::executor, timeout_);
    auto r = co_await (ssl_.async_handshake(asio::ssl::stream_base::client, use_tuple) || t.async_wait(use_tuple));
    if (r.index() == 1) {
        close();
        co_return make_error_code(errc::timeout);
    }
    if (auto ec = std::get<0>(std::get<0>(r))) {
        if (verify_) {
            const long v = SSL_get_verify_result(ssl_.native_handle());
            if (v != X509_V_OK) verify_error_ = std::string("certificate verification failed: ") + X509_verify_cert_error_string(v);
        }
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
