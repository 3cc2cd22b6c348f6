// http_login.cpp - HTTP Basic login shared by polder-webdavd and polder-caldavd.
// SECURITY and STANDARDS: see the header.
#include "polder/service/http_login.hpp"

#include "polder/http/basic_auth.hpp"

namespace polder::service {

using http::field;
using http::status;

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
    if (auto cached = cache_.find(creds->user_id, creds->password)) co_return std::move(*cached);
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
    cache_.insert(creds->user_id, creds->password, *who);
    co_return *who;
}

}  // namespace polder::service
