// polder/service/http_login.hpp - HTTP Basic login for the DAV services (polder-webdavd,
// polder-caldavd): the TLS rule, the challenge, the authenticator's answers mapped to
// HTTP, and a short cache of successful logins so that a sync client's hundreds of
// requests cost one Argon2id verification.
//
//   service::http_login login(auth, {.realm = "Polder files", .service = "webdav",
//                                    .allow_plaintext_on_loopback = ...});
//   http::response refusal;
//   auto who = co_await login.check(req, refusal);   // nullopt: send `refusal`
//
// SECURITY: credentials are refused over plain HTTP unless the peer is loopback and
// allow_plaintext_on_loopback is set (403); a missing, malformed or wrong password is
// 401 with a challenge; throttling (errc::throttled) is 429 with Retry-After, a database
// outage 503. The cache (auth::login_cache, shared with polder-imapd) holds only
// successful logins, keyed by HMAC-SHA256 of user and password under a per-process random
// key, for 60 seconds and at most 10,000 entries; a changed or revoked password therefore
// stops working within a minute.
// STANDARDS: RFC 7617 (Basic), RFC 6585 4 (429), RFC 9110 10.2.3 (Retry-After).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/auth/login.hpp"
#include "polder/auth/login_cache.hpp"
#include "polder/http/request.hpp"
#include "polder/http/response.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace polder::service {

class http_login {
public:
    struct options {
        std::string realm;     // shown by clients in the password prompt
        std::string service;   // recorded with each login ("webdav", "caldav")
        bool allow_plaintext_on_loopback = false;
    };

    http_login(auth::authenticator& auth, options opts);

    // check - the logged-in principal, or nullopt with `refusal` set to the answer.
    awaitable<std::optional<auth::principal>> check(http::request& req, http::response& refusal);

private:
    auth::authenticator& auth_;
    options opts_;
    auth::login_cache cache_;
};

}  // namespace polder::service
