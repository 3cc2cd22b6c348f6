// sha256.cpp - incremental SHA-256 over OpenSSL 3 EVP.
//
// SECURITY: EVP digests from the default provider; failures (which only happen when the
// library is broken or out of memory) throw rather than yield a wrong name.
//
// STANDARDS: FIPS 180-4.
#include "polder/blob/sha256.hpp"

#include <openssl/evp.h>

#include <new>
#include <stdexcept>

namespace polder::blob {
namespace {

EVP_MD_CTX* as_ctx(void* p) noexcept { return static_cast<EVP_MD_CTX*>(p); }

void init(EVP_MD_CTX* ctx) {
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
    }
}

}  // namespace

void sha256::ctx_deleter::operator()(void* p) const noexcept { EVP_MD_CTX_free(as_ctx(p)); }

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_) throw std::bad_alloc();
    init(as_ctx(ctx_.get()));
}

sha256::~sha256() = default;
sha256::sha256(sha256&&) noexcept = default;
sha256& sha256::operator=(sha256&&) noexcept = default;

void sha256::update(std::span<const std::byte> data) {
    if (data.empty()) return;
    if (EVP_DigestUpdate(as_ctx(ctx_.get()), data.data(), data.size()) != 1) {
        throw std::runtime_error("OpenSSL: SHA-256 update failed");
    }
}

void sha256::update(std::string_view data) {
    update(std::as_bytes(std::span<const char>(data.data(), data.size())));
}

blob_id sha256::finish() {
    blob_id::bytes_type out{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(as_ctx(ctx_.get()), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
        len != out.size()) {
        throw std::runtime_error("OpenSSL: SHA-256 final failed");
    }
    init(as_ctx(ctx_.get()));
    return blob_id(out);
}

blob_id sha256::of(std::span<const std::byte> data) {
    sha256 h;
    h.update(data);
    return h.finish();
}

blob_id sha256::of(std::string_view data) {
    sha256 h;
    h.update(data);
    return h.finish();
}

}  // namespace polder::blob
