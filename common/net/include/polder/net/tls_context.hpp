// polder/net/tls_context.hpp - the server's TLS certificate and settings,
// reloadable at run time (SIGHUP) without dropping connections.
//
// SECURITY: TLS 1.2 is the minimum; TLS 1.2 cipher suites are restricted to
// ECDHE/DHE with AEAD ciphers (Mozilla "intermediate"), the server's cipher
// order is preferred, compression and renegotiation are off. The private key
// is checked against the certificate at load. A world-readable key file is
// logged as a warning. A failed reload keeps serving the previous certificate.
// Buffers of idle connections are released (SSL_MODE_RELEASE_BUFFERS), which
// matters for thousands of idle IMAP connections.
//
// STANDARDS: RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2), RFC 7525 / BCP 195
// (recommendations for secure use of TLS), PEM (RFC 7468).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace polder::net {

class tls_context {
public:
    // load - reads the PEM certificate chain (leaf first) and the PEM private key.
    // Errors: the OpenSSL/system error of reading either file (logged with the
    // file name), errc::invalid_argument when the key does not match the certificate.
    static result<std::shared_ptr<tls_context>> load(std::string cert_file, std::string key_file);

    // reload - reads the same files again and, only if that succeeds, swaps the
    // context atomically: handshakes that start afterwards use the new
    // certificate, established connections keep theirs. Same errors as load().
    result<void> reload();

    // current - the context for a new handshake; keep the shared_ptr for the
    // connection's lifetime.
    std::shared_ptr<asio::ssl::context> current() const;

    const std::string& cert_file() const { return cert_file_; }
    const std::string& key_file() const { return key_file_; }

    tls_context(std::string cert_file, std::string key_file, std::shared_ptr<asio::ssl::context> ctx);

private:
    std::string cert_file_;
    std::string key_file_;
    mutable std::mutex mutex_;
    std::shared_ptr<asio::ssl::context> ctx_;
};

}  // namespace polder::net
