// http_login.cpp - HTTP Basic login shared by polder-webdavd and polder-caldavd.
// SECURITY and STANDARDS: see the header.
#include "polder/service/http_login.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/http/basic_auth.hpp"

namespace polder::service {

using http::field;
using http::status;

namespace {
constexpr auto cache_lifetime = std::chrono::seconds(60);
constexpr std::size_t cache_entries = 10000;
}  // namespace

http_login::http_login(auth::authenticator& auth, options opts) : auth_(auth), opts_(std::move(opts)) {}

awaitable<std::optional<auth::principal>> http_login::check(http::request& req, http::response& refusal) {
    const auto& conn = req.connection();
    if (!req.secure() && !(conn.loopback && opts_.allow_plaintext_on_loopback)) {
        refusal = http::error_response(status::forbidden, "credentials are only accepted over TLS");
        co_return std::nullopt;
    }
    auto challenge = [&](std::string_view reason) {
        refusal = http::error_response(status::unauthorized, reason);
        refusal.headers.set(field::www_authenticate, http::basic_challenge(opts_.realm));
    };
    const auto value = req.header(field::authorization);
    if (value.empty()) {
        challenge("authentication required");
        co_return std::nullopt;
    }
    auto creds = http::parse_basic_authorization(value);
    if (!creds) {
        challenge("malformed Basic credentials");
        co_return std::nullopt;
    }
    const std::string key = blob::sha256::of(creds->user_id + std::string(1, '\0') + creds->password).hex();
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        auto it = cache_.find(key);
        if (it != cache_.end()) {
            if (it->second.expires > now) co_return it->second.who;
            cache_.erase(it);
        }
    }
    auto who = co_await auth_.login(creds->user_id, creds->password, conn.peer_address, opts_.service);
    if (!who) {
        if (polder::is(who.error(), errc::throttled)) {
            refusal = http::error_response(status::too_many_requests, "too many failed logins; try again later");
            refusal.headers.set(field::retry_after, "60");
        } else if (polder::is(who.error(), errc::unavailable)) {
            refusal = http::error_response(status::service_unavailable, "service unavailable");
        } else {
            challenge("invalid credentials");
        }
        co_return std::nullopt;
    }
    {
        std::lock_guard lock(mutex_);
        if (cache_.size() >= cache_entries) cache_.clear();
        cache_[key] = {*who, now + cache_lifetime};
    }
    co_return *who;
}

}  // namespace polder::service
