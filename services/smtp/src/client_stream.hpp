// client_stream.hpp - the client side of an outbound SMTP connection as a net::stream:
// plain TCP that can be upgraded with STARTTLS (TLS client handshake), with a timeout on
// every operation. net::make_tcp_stream only does the server side of TLS.
//
// SECURITY: opportunistic TLS (RFC 7435): the certificate is not verified, because MX
// delivery has no way to know which name to expect without DANE/MTA-STS; TLS still defeats
// passive eavesdropping. TLS 1.2 is the minimum; SNI is sent for host names. A timed-out
// operation closes the connection (no half-finished TLS record is ever continued).
// STANDARDS: RFC 3207 (STARTTLS), RFC 7435 (opportunistic security), RFC 8446, RFC 6066
// section 3 (SNI), RFC 5321 section 4.5.3.2 (client timeouts).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/net/stream.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace polder::smtpd {

class client_stream final : public net::stream {
public:
    client_stream(asio::ip::tcp::socket sock, std::string server_name);

    awaitable<result<std::size_t>> read_some(asio::mutable_buffer b) override;
    awaitable<result<void>> write(std::string_view bytes) override;
    // start_tls - the CLIENT handshake. Errors: errc::invalid_argument (already TLS),
    // errc::timeout, the TLS error.
    awaitable<result<void>> start_tls() override;
    bool tls_active() const override { return tls_; }
    void set_timeout(std::chrono::steady_clock::duration d) override { timeout_ = d; }
    void cancel() override;
    void close() override;
    std::string tls_description() const override;

private:
    std::shared_ptr<asio::ssl::context> ctx_;
    asio::ssl::stream<asio::ip::tcp::socket> ssl_;
    std::string server_name_;
    bool tls_ = false;
    std::chrono::steady_clock::duration timeout_ = std::chrono::minutes(5);
};

}  // namespace polder::smtpd
