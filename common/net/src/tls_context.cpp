// tls_context.cpp - building and atomically swapping the server TLS context.
//
// SECURITY: see tls_context.hpp. The new context is built completely (chain,
// key, key check) before it replaces the old one, so a half-written
// certificate file during renewal never takes the service down.
//
// STANDARDS: RFC 8446, RFC 5246, BCP 195 (RFC 7525 / RFC 9325).
#include "polder/net/tls_context.hpp"

#include "polder/log/log.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <ctime>

namespace polder::net {

namespace {

// Mozilla "intermediate" TLS 1.2 suites: forward secrecy and AEAD only.
// TLS 1.3 suites are OpenSSL's defaults (all AEAD).
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

std::string subject_of(SSL_CTX* ctx) {
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (!cert) return {};
    char buf[512];
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
}

std::string not_after_of(SSL_CTX* ctx, bool& expired) {
    expired = false;
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (!cert) return {};
    const ASN1_TIME* t = X509_get0_notAfter(cert);
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
    expired = X509_cmp_current_time(t) < 0;
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void warn_if_key_world_readable(const std::string& key_file) {
    struct stat st {};
    if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH)) {
        log::warn("tls.key_world_readable", {{"file", key_file}, {"hint", "chmod 0640 or 0600"}});
    }
}

result<std::shared_ptr<asio::ssl::context>> build(const std::string& cert_file, const std::string& key_file) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                    SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_dh_auto(native, 1);
    if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) {
        log::error("tls.load_failed", {{"reason", "cipher list rejected by OpenSSL"}});
        return errc::internal;
    }
    static const unsigned char sid_ctx[] = "polder";
    SSL_CTX_set_session_id_context(native, sid_ctx, sizeof sid_ctx - 1);

    // Key first: OpenSSL then drops (rather than fails on) a key that does not
    // match the certificate, and check_private_key below reports it clearly.
    boost::system::error_code ec;
    ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
    if (ec) {
        log::error("tls.load_failed", {{"file", key_file}, {"error", ec}});
        return ec;
    }
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec) {
        log::error("tls.load_failed", {{"file", cert_file}, {"error", ec}});
        return ec;
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        log::error("tls.load_failed",
                   {{"cert", cert_file}, {"key", key_file}, {"reason", "private key does not match certificate"}});
        return errc::invalid_argument;
    }
    warn_if_key_world_readable(key_file);
    bool expired = false;
    std::string not_after = not_after_of(native, expired);
    log::write(expired ? log::level::warn : log::level::info, expired ? "tls.cert_expired" : "tls.loaded",
               {{"cert", cert_file}, {"subject", subject_of(native)}, {"not_after", not_after}});
    return ctx;
}

}  // namespace

tls_context::tls_context(std::string cert_file, std::string key_file, std::shared_ptr<asio::ssl::context> ctx)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), ctx_(std::move(ctx)) {}

result<std::shared_ptr<tls_context>> tls_context::load(std::string cert_file, std::string key_file) {
    auto ctx = build(cert_file, key_file);
    if (!ctx) return ctx.error();
    return std::make_shared<tls_context>(std::move(cert_file), std::move(key_file), std::move(*ctx));
}

result<void> tls_context::reload() {
    auto ctx = build(cert_file_, key_file_);
    if (!ctx) {
        log::warn("tls.reload_failed", {{"cert", cert_file_}, {"error", ctx.error()}, {"keeping", "previous certificate"}});
        return ctx.error();
    }
    std::lock_guard lock(mutex_);
    ctx_ = std::move(*ctx);
    return {};
}

std::shared_ptr<asio::ssl::context> tls_context::current() const {
    std::lock_guard lock(mutex_);
    return ctx_;
}

}  // namespace polder::net
