// login.cpp - account login with throttling and audit (design in
// polder/auth/login.hpp).
//
// SECURITY: the throttle is checked before anything else and a throttled
// attempt never reaches Argon2; failure paths verify against a dummy hash so
// they take as long as a real check; the reason for a failure goes to the audit
// trail and the log, never to the client; secrets are never logged. Database
// work is parameterized and retried by db::transact on serialization failures
// (each step is idempotent within its transaction).
// STANDARDS: RFC 9106 (Argon2id).
#include "polder/auth/login.hpp"

#include "polder/auth/address.hpp"
#include "polder/auth/app_password.hpp"
#include "polder/auth/audit.hpp"
#include "polder/auth/names.hpp"
#include "polder/auth/password.hpp"
#include "polder/log/log.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>

namespace polder::auth {
namespace {

using json = nlohmann::json;

// dummy_hash - a valid hash with the configured cost that no secret will match
// (its password is random and forgotten); computed once per parameter set.
const std::string& dummy_hash(const config::auth_settings& s) {
    static std::mutex mutex;
    static std::map<std::tuple<unsigned, unsigned, unsigned>, std::string> cache;
    std::lock_guard lock(mutex);
    auto key = std::make_tuple(s.argon2_memory_kib, s.argon2_iterations, s.argon2_parallelism);
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, hash_password(generate_password(), s)).first;
    return it->second;
}

// The normalised identity of an attempt; fixed before any database work.
struct attempt {
    std::string address;       // normalised when valid, else a bounded lower-case copy
    bool address_valid = false;
    std::string ip_key;        // throttle key for the client address
    std::string remote_ip;
    std::string service;
};

attempt make_attempt(std::string_view address, std::string_view remote_ip, std::string_view service) {
    attempt a;
    auto parsed = parse_address(trim(address));
    if (parsed) {
        a.address = parsed->str();
        a.address_valid = true;
    } else {
        // The account-scope key for garbage is still bounded text, so repeated
        // guessing at one malformed name is throttled like any other.
        std::string raw = to_lower_ascii(address.substr(0, std::min<std::size_t>(address.size(), 254)));
        a.address = raw.empty() ? "(empty)" : raw;
    }
    a.ip_key = throttle_ip_key(remote_ip);
    a.remote_ip = std::string(remote_ip.substr(0, std::min<std::size_t>(remote_ip.size(), 64)));
    a.service = std::string(service.substr(0, std::min<std::size_t>(service.size(), 32)));
    return a;
}

// What step 1 found.
struct plan {
    bool throttled = false;
    std::optional<principal> candidate;   // the account (and app password) the secret would open
    std::string hash;                     // what to verify against (a dummy when there is nothing real)
    std::string secret;                   // the secret in the form the hash was made from
    std::string reason;                   // non-empty: fails whatever the verification says
    bool verify = true;                   // false: fail without hashing (over-long or empty input)
};

bool throttle_enabled(unsigned limit) { return limit > 0; }

plan prepare(pqxx::work& tx, const attempt& a, std::string_view secret, const config::auth_settings& s) {
    plan p;
    // 1. throttle, before anything else
    auto locked = tx.exec_params(
        "SELECT scope FROM directory.auth_failures"
        " WHERE ((scope = 'account' AND key = $1 AND $3) OR (scope = 'ip' AND key = $2 AND $4))"
        " AND locked_until > now() ORDER BY scope",
        a.address, a.ip_key, throttle_enabled(s.max_failures_per_account), throttle_enabled(s.max_failures_per_ip));
    if (!locked.empty()) {
        p.throttled = true;
        audit(tx, "auth.login.throttled", std::nullopt, std::nullopt, a.address, a.remote_ip,
              {{"service", a.service}, {"address", a.address}, {"scope", locked[0][0].as<std::string>()}});
        return p;
    }
    p.hash = dummy_hash(s);
    if (secret.empty() || secret.size() > max_password_bytes) {
        p.reason = secret.empty() ? "empty_secret" : "secret_too_long";
        p.verify = false;
        return p;
    }
    p.secret = std::string(secret);
    if (!a.address_valid) {
        p.reason = "malformed_address";
        return p;
    }
    auto acc = tx.exec_params(
        "SELECT id, org_id, address, display_name, disabled, password_hash FROM directory.accounts WHERE address = $1",
        a.address);
    if (acc.empty()) {
        p.reason = "unknown_account";
        return p;
    }
    principal who;
    who.account_id = acc[0][0].as<std::int64_t>();
    who.org_id = acc[0][1].as<std::int64_t>();
    who.address = acc[0][2].as<std::string>();
    who.display_name = acc[0][3].as<std::string>();
    const bool disabled = acc[0][4].as<bool>();

    if (auto token = parse_app_password(secret)) {
        who.credential = credential_kind::app_password;
        p.secret = token->canonical;
        auto ap = tx.exec_params(
            "SELECT id, hash FROM directory.app_passwords"
            " WHERE public_id = $1 AND account_id = $2 AND revoked_at IS NULL",
            token->public_id, who.account_id);
        if (ap.empty()) {
            p.reason = "unknown_app_password";
        } else {
            who.app_password_id = ap[0][0].as<std::int64_t>();
            p.hash = ap[0][1].as<std::string>();
        }
    } else if (acc[0][5].is_null()) {
        p.reason = "no_password";
    } else {
        p.hash = acc[0][5].as<std::string>();
    }
    if (disabled) {
        p.reason = "account_disabled";
        p.hash = dummy_hash(s);   // verify nothing real: the answer must not depend on the secret
    }
    p.candidate = std::move(who);
    return p;
}

void record_failure(pqxx::work& tx, std::string_view scope, const std::string& key, unsigned limit,
                    const config::auth_settings& s) {
    if (!throttle_enabled(limit)) return;
    tx.exec_params(
        "INSERT INTO directory.auth_failures AS f (scope, key, failures, window_start, locked_until)"
        " VALUES ($1, $2, 1, now(), CASE WHEN 1 >= $3::int THEN now() + $5::int * interval '1 second' END)"
        " ON CONFLICT (scope, key) DO UPDATE SET"
        "  failures = CASE WHEN f.window_start <= now() - $4::int * interval '1 second' THEN 1"
        "                  ELSE f.failures + 1 END,"
        "  window_start = CASE WHEN f.window_start <= now() - $4::int * interval '1 second' THEN now()"
        "                      ELSE f.window_start END,"
        "  locked_until = CASE WHEN (CASE WHEN f.window_start <= now() - $4::int * interval '1 second' THEN 1"
        "                                 ELSE f.failures + 1 END) >= $3::int"
        "                      THEN now() + $5::int * interval '1 second' ELSE f.locked_until END",
        std::string(scope), key, static_cast<long>(limit), static_cast<long>(s.failure_window_seconds),
        static_cast<long>(s.lockout_seconds));
}

// collect_garbage - now and then, drop counters whose window and lock are over,
// so the table stays as small as the set of recent offenders.
void collect_garbage(pqxx::work& tx, const config::auth_settings& s) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    if (rng() % 64 != 0) return;
    tx.exec_params(
        "DELETE FROM directory.auth_failures WHERE ctid IN (SELECT ctid FROM directory.auth_failures"
        " WHERE window_start < now() - $1::int * interval '1 second'"
        " AND (locked_until IS NULL OR locked_until < now()) LIMIT 1000)",
        static_cast<long>(s.failure_window_seconds));
}

result<principal> complete(pqxx::work& tx, const attempt& a, const plan& p, bool verified,
                           const config::auth_settings& s) {
    const bool ok = verified && p.reason.empty() && p.candidate.has_value();
    if (ok) {
        const principal& who = *p.candidate;
        if (throttle_enabled(s.max_failures_per_account))
            tx.exec_params("DELETE FROM directory.auth_failures WHERE scope = 'account' AND key = $1", a.address);
        if (who.app_password_id) {
            tx.exec_params("UPDATE directory.app_passwords SET last_used_at = now() WHERE id = $1",
                           *who.app_password_id);
        }
        // The configured cost changed since this hash was made: upgrade it now
        // that the secret is known to be right.
        if (needs_rehash(p.hash, s)) {
            if (who.app_password_id)
                tx.exec_params("UPDATE directory.app_passwords SET hash = $2 WHERE id = $1", *who.app_password_id,
                               hash_password(p.secret, s));
            else
                tx.exec_params("UPDATE directory.accounts SET password_hash = $2 WHERE id = $1 AND password_hash = $3",
                               who.account_id, hash_password(p.secret, s), p.hash);
        }
        json d{{"service", a.service},
               {"credential", who.app_password_id ? "app_password" : "password"}};
        if (who.app_password_id) d["app_password_id"] = *who.app_password_id;
        audit(tx, "auth.login.success", who.org_id, who.account_id, who.address, a.remote_ip, d);
        return who;
    }
    const std::string reason = p.reason.empty() ? "bad_password" : p.reason;
    record_failure(tx, "account", a.address, s.max_failures_per_account, s);
    record_failure(tx, "ip", a.ip_key, s.max_failures_per_ip, s);
    collect_garbage(tx, s);
    json d{{"service", a.service}, {"address", a.address}, {"reason", reason}};
    if (p.candidate && p.candidate->app_password_id) d["app_password_id"] = *p.candidate->app_password_id;
    audit(tx, "auth.login.failure", p.candidate ? std::optional<std::int64_t>(p.candidate->org_id) : std::nullopt,
          p.candidate ? std::optional<std::int64_t>(p.candidate->account_id) : std::nullopt, a.address, a.remote_ip,
          d);
    return errc::auth_failed;
}

void log_outcome(const attempt& a, const result<principal>& r) {
    if (r) {
        log::info("auth.login", {{"service", a.service}, {"user", a.address}, {"remote_ip", a.remote_ip},
                                 {"ok", true},
                                 {"credential", r->app_password_id ? "app_password" : "password"}});
    } else {
        log::warn("auth.login", {{"service", a.service}, {"user", a.address}, {"remote_ip", a.remote_ip},
                                 {"ok", false}, {"error", r.error()}});
    }
}

result<principal> database_failure(const attempt& a, const std::exception& e) {
    boost::system::error_code ec = db::translate(e);
    const bool unavailable = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
                             dynamic_cast<const db::connect_error*>(&e) != nullptr || is(ec, errc::unavailable);
    log::error("auth.login.error", {{"service", a.service}, {"user", a.address}, {"error", e.what()}});
    return unavailable ? errc::unavailable : errc::internal;
}

}  // namespace

authenticator::authenticator(db::pool& pool, config::auth_settings settings, unsigned hash_threads)
    : pool_(pool),
      settings_(settings),
      hashers_(hash_threads != 0 ? hash_threads : std::max(1u, std::thread::hardware_concurrency())) {
    (void)dummy_hash(settings_);   // pay for it at start-up, not in the first login
}

authenticator::~authenticator() {
    hashers_.join();
}

awaitable<result<principal>> authenticator::login(std::string address, std::string secret, std::string remote_ip,
                                                  std::string service) {
    const attempt a = make_attempt(address, remote_ip, service);
    result<principal> outcome = errc::internal;
    try {
        plan p = co_await pool_.transact([&](pqxx::work& tx) { return prepare(tx, a, secret, settings_); });
        if (p.throttled) {
            outcome = errc::throttled;
        } else {
            bool verified = false;
            if (p.verify) {
                verified = co_await asio::co_spawn(
                    hashers_.get_executor(),
                    [&]() -> awaitable<bool> { co_return verify_password(p.secret, p.hash); },
                    use_awaitable);
            }
            outcome = co_await pool_.transact([&](pqxx::work& tx) { return complete(tx, a, p, verified, settings_); });
        }
    } catch (const std::exception& e) {
        outcome = database_failure(a, e);
    }
    log_outcome(a, outcome);
    co_return outcome;
}

result<principal> login_sync(pqxx::connection& conn, const config::auth_settings& settings, std::string_view address,
                             std::string_view secret, std::string_view remote_ip, std::string_view service) {
    const attempt a = make_attempt(address, remote_ip, service);
    result<principal> outcome = errc::internal;
    try {
        plan p = db::transact(conn, [&](pqxx::work& tx) { return prepare(tx, a, secret, settings); });
        if (p.throttled) {
            outcome = errc::throttled;
        } else {
            const bool verified = p.verify && verify_password(p.secret, p.hash);
            outcome = db::transact(conn, [&](pqxx::work& tx) { return complete(tx, a, p, verified, settings); });
        }
    } catch (const std::exception& e) {
        outcome = database_failure(a, e);
    }
    log_outcome(a, outcome);
    return outcome;
}

}  // namespace polder::auth
