// polder/blob/sha256.hpp - incremental SHA-256 (OpenSSL EVP underneath).
//
// What it does: hashes a stream fed in pieces; finish() yields the blob_id.
//
// SECURITY: uses the OpenSSL 3 default provider's SHA-256; nothing secret is hashed here.
//
// STANDARDS: FIPS 180-4.
#pragma once

#include "polder/blob/blob_id.hpp"

#include <memory>
#include <span>
#include <string_view>

namespace polder::blob {

class sha256 {
 public:
    sha256();                 // throws std::bad_alloc / std::runtime_error if OpenSSL cannot set up
    ~sha256();
    sha256(sha256&&) noexcept;
    sha256& operator=(sha256&&) noexcept;

    void update(std::span<const std::byte> data);
    void update(std::string_view data);
    blob_id finish();         // the digest; the object is reset and may hash again

    static blob_id of(std::span<const std::byte> data);
    static blob_id of(std::string_view data);

 private:
    struct ctx_deleter { void operator()(void*) const noexcept; };
    std::unique_ptr<void, ctx_deleter> ctx_;
};

}  // namespace polder::blob
