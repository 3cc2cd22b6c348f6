// polder/auth/login.hpp - account login: address + password or app password,
// with throttling and an audit event for every attempt.
//
// A login runs in three steps: (1) one transaction checks the throttle and loads
// the account and, when the secret has the app-password shape, that one app
// password (by its public id); (2) one Argon2id verification, off the database
// thread (authenticator) ; (3) one transaction records the outcome: audit event,
// failure counters or their reset, last_used_at, an upgraded hash when the
// configured cost changed.
//
// Throttling (directory.auth_failures, shared by every replica): failures are
// counted per tried address (whether or not it exists) and per client IP (IPv6
// by /64) in a fixed window of failure_window_seconds; reaching
// max_failures_per_account / max_failures_per_ip locks that key for
// lockout_seconds (0 for a limit switches that limit off). A locked login is
// refused with errc::throttled BEFORE any password check, so a locked account
// cannot be brute-forced and a throttled client costs no Argon2 time. A success
// resets only the account's own counter: never the IP counter, so one valid login
// from a shared address (NAT) cannot wipe the failures other accounts' guessing
// left on that IP. Concurrent attempts that passed step 1 together may exceed a
// limit by at most their number before the lock applies.
//
// SECURITY: unknown, disabled and password-less accounts and unknown app
// passwords still cost one Argon2id verification (against a dummy hash), so
// response time does not reveal which addresses exist; all of these return the
// same errc::auth_failed. The audit event records the reason; the client never
// learns it. Secrets are never logged or audited.
// STANDARDS: RFC 9106 (Argon2id); OWASP Authentication Cheat Sheet (generic
// failure responses, account lockout).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/config/config.hpp"
#include "polder/core/error.hpp"
#include "polder/db/db.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::auth {

enum class credential_kind { password, app_password };

// principal - who logged in.
struct principal {
    std::int64_t account_id = 0;
    std::int64_t org_id = 0;
    std::string address;
    std::string display_name;
    std::optional<std::int64_t> app_password_id;   // set when an app password was used
    credential_kind credential = credential_kind::password;
};

// authenticator - logins for services: database work on the db::pool, Argon2id
// on its own small thread pool, so neither an I/O thread nor a database
// connection waits for hashing.
class authenticator {
public:
    // hash_threads 0 = one per CPU.
    authenticator(db::pool& pool, config::auth_settings settings, unsigned hash_threads = 0);
    ~authenticator();
    authenticator(const authenticator&) = delete;
    authenticator& operator=(const authenticator&) = delete;

    // login - address is matched case-insensitively (normalised like polderctl
    // does); secret is the account password or an app password; remote_ip is the
    // client address ("" if unknown); service names the caller in the audit trail
    // ("imap", "smtp", "caldav"...).
    // Errors: errc::throttled, errc::auth_failed, errc::unavailable (database
    // unreachable), errc::internal (details in the log).
    awaitable<result<principal>> login(std::string address, std::string secret, std::string remote_ip,
                                       std::string service);

private:
    db::pool& pool_;
    config::auth_settings settings_;
    asio::thread_pool hashers_;
};

// login_sync - the same login on a connection the caller owns (polderctl, tests);
// hashing runs on the calling thread. Same errors as authenticator::login.
[[nodiscard]] result<principal> login_sync(pqxx::connection& conn, const config::auth_settings& settings,
                                           std::string_view address, std::string_view secret,
                                           std::string_view remote_ip, std::string_view service);

}  // namespace polder::auth
