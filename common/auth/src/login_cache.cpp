// login_cache.cpp - the short cache of successful logins (see the header for SECURITY).
// STANDARDS: RFC 2104 (HMAC), FIPS 180-4 (SHA-256).
#include "polder/auth/login_cache.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace polder::auth {

login_cache::login_cache() : login_cache(options{}) {}

login_cache::login_cache(options opts) : opts_(opts) {
    if (RAND_bytes(hmac_key_.data(), static_cast<int>(hmac_key_.size())) != 1)
        throw std::runtime_error("login_cache: no random bytes for the HMAC key");
}

std::string login_cache::key(std::string_view address, std::string_view secret) const {
    // The address's length first: with a mere separator, ("a", "b\0c") and ("a\0b", "c")
    // would be the same input.
    std::string data = std::to_string(address.size());
    data.reserve(data.size() + 1 + address.size() + secret.size());
    data.push_back(':');
    data.append(address);
    data.append(secret);
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &len))
        throw std::runtime_error("login_cache: HMAC failed");
    OPENSSL_cleanse(data.data(), data.size());
    return std::string(reinterpret_cast<const char*>(mac.data()), len);
}

std::optional<principal> login_cache::find(std::string_view address, std::string_view secret) {
    auto k = key(address, secret);
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    auto it = entries_.find(k);
    if (it == entries_.end()) return std::nullopt;
    if (it->second.expires <= now) {
        entries_.erase(it);
        return std::nullopt;
    }
    return it->second.who;
}

void login_cache::insert(std::string_view address, std::string_view secret, const principal& who) {
    if (opts_.max_entries == 0 || opts_.lifetime.count() <= 0) return;
    auto k = key(address, secret);
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (entries_.size() >= opts_.max_entries && !entries_.count(k)) {
        std::erase_if(entries_, [now](const auto& e) { return e.second.expires <= now; });
        if (entries_.size() >= opts_.max_entries) entries_.clear();
    }
    entries_[k] = entry{who, now + opts_.lifetime};
}

std::size_t login_cache::size() {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace polder::auth
