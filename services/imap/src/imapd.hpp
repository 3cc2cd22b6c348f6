// imapd.hpp - what every IMAP session of the process shares: settings, the mail store,
// the authenticator with its short cache of successful logins, the one LISTEN/NOTIFY connection, a small thread pool for blob file
// I/O, and the count of logged-in sessions per account.
//
// SECURITY: the per-account session limit (imap.max_sessions_per_account) bounds what one
// stolen or misbehaving credential can hold open; blob reads and writes (which may block
// on disk or fsync) run off the I/O threads.
// STANDARDS: none beyond the sessions' (session.hpp).
#pragma once

#include "polder/auth/login.hpp"
#include "polder/auth/login_cache.hpp"
#include "polder/config/config.hpp"
#include "polder/db/notifier.hpp"
#include "polder/mailstore/mailstore.hpp"
#include "polder/mailstore/message_cache.hpp"
#include "polder/service/service.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace polder::imap {

class imapd {
public:
    explicit imapd(service::context& ctx);
    ~imapd();

    const config::settings& settings;
    mailstore::mail_store store;
    // Flag STOREs and APPENDs of concurrent sessions commit together (db/group_commit.hpp,
    // batch_commit): one WAL flush per batch, and the batch's STOREs in one statement
    // (mailstore::run_grouped_writes). One batch at a time: two batches locking mailboxes
    // in crossing orders would wait for PostgreSQL's deadlock_timeout.
    mailstore::write_batches writes;
    auth::authenticator authenticator;
    auth::login_cache login_cache;   // successful logins, 60 s (see login_cache.hpp)
    db::notifier notifier;
    asio::thread_pool blob_io{2};
    // The octets of messages kept in the database (small APPENDs, schema 0109) that this
    // process stored or read lately: a FETCH of them then needs no query, as a FETCH of
    // a message in the blob store is served from the kernel's page cache.
    static constexpr std::size_t message_cache_bytes = 64 * 1024 * 1024;
    mailstore::message_cache message_cache{message_cache_bytes};
    // The lower-cased header text of messages this process searched lately: a repeated
    // SEARCH of header keys (HEADER, SUBJECT, FROM...) in one's own mailbox is then decided
    // here, without a lookup of each message row (mailstore::ops::search_in_memory), as
    // Dovecot answers it from its cache file. About 1 KiB per message.
    static constexpr std::size_t header_cache_bytes = 64 * 1024 * 1024;
    mailstore::header_cache header_cache{header_cache_bytes};
    std::shared_ptr<net::tls_context> tls;
    // When a session's command last began: the housekeeper's rounds wait for a quiet moment.
    std::shared_ptr<mailstore::activity> activity = std::make_shared<mailstore::activity>();

    // acquire_session / release_session - false when the account is at its limit.
    bool acquire_session(std::int64_t account);
    void release_session(std::int64_t account);

    // on_blob_thread - runs f() on the blob I/O pool and resumes the caller on its own
    // executor with the result.
    template <class F>
    auto on_blob_thread(F f) -> awaitable<decltype(f())> {
        co_return co_await asio::co_spawn(blob_io, call(std::move(f)), asio::use_awaitable);
    }

private:
    // call - a coroutine owning f (a coroutine lambda's captures would dangle once co_spawn
    // moved the lambda object).
    template <class F>
    static auto call(F f) -> awaitable<decltype(f())> {
        co_return f();
    }

    std::mutex mutex_;
    std::map<std::int64_t, unsigned> sessions_;
};

// start - creates the shared state and binds the imap (STARTTLS) and imaps (implicit TLS)
// listeners from settings.imap. Errors: the listeners' bind errors.
result<void> start(service::context& ctx);

}  // namespace polder::imap
