// self_signed.cpp - generate a P-256 key and a self-signed X.509 certificate.
#include "self_signed.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>

namespace polder::http::test {

namespace {

template <class T, void (*F)(T*)>
struct deleter {
    void operator()(T* p) const { F(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;

void need(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("self-signed certificate: ") + what);
}

void add_ext(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    need(ext != nullptr, "extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

}  // namespace

self_signed::self_signed() {
    std::random_device rd;
    dir = std::filesystem::temp_directory_path() / ("polder-http-tls-" + std::to_string(rd()));
    std::filesystem::create_directories(dir);
    cert_file = dir / "cert.pem";
    key_file = dir / "key.pem";

    pkey_ptr key(EVP_EC_gen("P-256"));
    need(key != nullptr, "key generation");
    x509_ptr cert(X509_new());
    need(cert != nullptr, "X509_new");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), static_cast<long>(rd() & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1,
                               -1, 0);
    X509_set_issuer_name(cert.get(), name);
    add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    need(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");

    FILE* f = std::fopen(key_file.c_str(), "wb");
    need(f != nullptr, "open key file");
    const bool key_ok = PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    need(key_ok, "write key");
    std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    f = std::fopen(cert_file.c_str(), "wb");
    need(f != nullptr, "open cert file");
    const bool cert_ok = PEM_write_X509(f, cert.get()) == 1;
    std::fclose(f);
    need(cert_ok, "write cert");
}

self_signed::~self_signed() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

}  // namespace polder::http::test
