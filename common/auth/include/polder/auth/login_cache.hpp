// polder/auth/login_cache.hpp - successful logins kept briefly in memory, so that a client
// which logs in again and again (an IMAP client opening a connection per folder, a sync
// tool, a DAV client's every request) costs one Argon2id verification per minute rather
// than one per login. Like Dovecot's auth_cache.
//
//   auth::login_cache cache;                      // 60 s, at most 10,000 entries
//   if (auto who = cache.find(address, secret)) ... // no Argon2id, no database
//   auto who = co_await authenticator.login(...);
//   if (who) cache.insert(address, secret, *who);
//
// SECURITY: only successful logins are inserted (callers insert after
// authenticator::login succeeded); a failed login is never cached, so every wrong
// password still goes through throttling, the audit trail and a full verification. The
// key is HMAC-SHA256 under a per-process random key of length(address) ":" address
// secret: the table holds no password and no unsalted hash of one, and a memory dump
// cannot be used to test guesses offline without the key. An entry lives `lifetime`
// (default 60 s): a changed password, a disabled account or a revoked app password stops
// working within that time (there is no change notification for accounts to invalidate
// earlier). A cache hit skips the login's audit event and throttle check (the secret is
// known to be right). Bounded: at most `max_entries`; when full, expired entries go,
// then everything.
// STANDARDS: RFC 2104 (HMAC), FIPS 180-4 (SHA-256).
#pragma once

#include "polder/auth/login.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace polder::auth {

class login_cache {
public:
    struct options {
        std::chrono::seconds lifetime{60};
        std::size_t max_entries = 10000;
    };

    login_cache();
    explicit login_cache(options opts);
    login_cache(const login_cache&) = delete;
    login_cache& operator=(const login_cache&) = delete;

    // find - who logged in with exactly this address and secret within the lifetime.
    std::optional<principal> find(std::string_view address, std::string_view secret);
    // insert - after a successful login only.
    void insert(std::string_view address, std::string_view secret, const principal& who);
    std::size_t size();

private:
    struct entry {
        principal who;
        std::chrono::steady_clock::time_point expires;
    };
    std::string key(std::string_view address, std::string_view secret) const;

    options opts_;
    std::array<unsigned char, 32> hmac_key_{};
    std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;
};

}  // namespace polder::auth
