// client_stream.hpp - the client side of an outbound SMTP connection as a net::stream:
// plain TCP that can be upgraded with STARTTLS (TLS client handshake), with a timeout on
// every operation. net::make_tcp_stream only does the server side of TLS.
//
// SECURITY: two modes. Opportunistic TLS (RFC 7435, the default for MX hosts and routes):
// the certificate is not verified, because MX delivery has no way to know which name to
// expect without DANE/MTA-STS; TLS still defeats passive eavesdropping. Verified TLS
// (tls_check.verify: the smarthost by default, MX hosts with smtp.mx_tls_verify): the chain
// must lead to a CA of tls_check.ca_file (or the system store) and the certificate must
// name the host we connected to (RFC 6125: DNS-ID, or an IP-ID for address literals,
// OpenSSL's X509_check_host); a failure ends the handshake and verify_error() says why.
// TLS 1.2 is the minimum; SNI is sent for host names. A timed-out operation closes the
// connection (no half-finished TLS record is ever continued).
// STANDARDS: RFC 3207 (STARTTLS), RFC 7435 (opportunistic security), RFC 6125 (service
// identity), RFC 5280 (path validation, OpenSSL's), RFC 8446, RFC 6066 section 3 (SNI),
// RFC 5321 section 4.5.3.2 (client timeouts).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/net/stream.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace polder::smtpd {

// tls_check - how start_tls treats the server's certificate.
struct tls_check {
    bool verify = false;     // false: opportunistic (RFC 7435)
    std::string ca_file;     // PEM CA certificates; empty = the system store
};

// prepare_verification - loads the CA certificates for verified TLS now: the service
// calls it at start, before it drops root, so a CA file only root may read still works
// and a broken file stops the start instead of deferring mail later. "" when ready, else why.
std::string prepare_verification(const std::string& ca_file);

class client_stream final : public net::stream {
public:
    client_stream(asio::ip::tcp::socket sock, std::string server_name, const tls_check& check = {});

    // verify_error - why the last handshake's certificate check failed ("" if it did not).
    const std::string& verify_error() const { return verify_error_; }

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
    // Declared (so constructed) before ctx_: the constructor's context_for() fills it in.
    std::string setup_error_;    // the CA file could not be loaded: every handshake fails
    std::shared_ptr<asio::ssl::context> ctx_;
    asio::ssl::stream<asio::ip::tcp::socket> ssl_;
    std::string server_name_;
    bool verify_ = false;
    std::string verify_error_;
    bool tls_ = false;
    std::chrono::steady_clock::duration timeout_ = std::chrono::minutes(5);
};

}  // namespace polder::smtpd
