// polder/db/notifier.hpp - PostgreSQL LISTEN/NOTIFY delivered to coroutines.
//
//   db::notifier n(io.get_executor(), options);
//   n.start();
//   auto sub = co_await n.listen("mailbox_42", [](std::string payload) { ... });
//   ...                          // callbacks run on the listening coroutine's executor
//   // in a transaction elsewhere (any process, any host):
//   db::notify(tx, "mailbox_42", "12");
//
// One notifier per process owns ONE listening connection and fans its
// notifications out to any number of subscriptions. Each distinct channel is
// LISTENed once and UNLISTENed when its last subscription goes away. Each
// callback is posted to the executor given for its subscription; a dropped
// subscription gets no further callbacks (a callback already running on a
// multi-threaded executor may still finish).
//
// The connection lives on a dedicated thread using libpq's non-blocking API
// and poll(2) on its socket and an eventfd, so stop() returns promptly even
// while connecting or waiting out a backoff. When the connection breaks (server
// restart, pg_terminate_backend, network) it reconnects with capped
// exponential backoff and LISTENs all channels again; notifications sent while
// it was away are lost, so every subscription that was listening before gets
// its on_resync callback once the channels are listened again - re-read the
// state you were watching there. TCP keepalives detect a silently dead peer.
//
// SECURITY: channel names are validated (1..63 bytes, no NUL) and sent as
// quoted identifiers ("..." with " doubled), so no channel name can inject
// SQL; payloads are bounded by PostgreSQL (< 8000 bytes) and checked in
// notify(). Payloads are visible to every role that can LISTEN on the
// channel: never put secrets in them.
// STANDARDS: PostgreSQL 15 manual: LISTEN, NOTIFY, pg_notify(), 34.9
// "Asynchronous Notification" (libpq).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/db/connection.hpp"

#include <pqxx/transaction_base>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace polder::db {

// PostgreSQL identifiers are at most NAMEDATALEN-1 = 63 bytes (longer ones are
// silently truncated, which would merge channels, so they are refused).
inline constexpr std::size_t max_channel_length = 63;
// NOTIFY payloads must be shorter than 8000 bytes (PostgreSQL default build).
inline constexpr std::size_t max_payload_length = 7999;

// valid_channel - 1..63 bytes, no NUL.
bool valid_channel(std::string_view channel) noexcept;
// quote_identifier - "name" with every " doubled (throws std::invalid_argument on NUL).
std::string quote_identifier(std::string_view name);

namespace detail {
struct notifier_state;
}

// subscription - RAII: destroying it (or reset()) unsubscribes.
class subscription {
public:
    subscription() = default;
    subscription(subscription&&) noexcept;
    subscription& operator=(subscription&&) noexcept;
    ~subscription();
    void reset() noexcept;
    explicit operator bool() const noexcept { return id_ != 0; }
    // listening - true while the channel is LISTENed on a live connection.
    bool listening() const noexcept;

private:
    friend class notifier;
    subscription(std::weak_ptr<detail::notifier_state> state, std::uint64_t id) : state_(std::move(state)), id_(id) {}
    std::weak_ptr<detail::notifier_state> state_;
    std::uint64_t id_ = 0;
};

class notifier {
public:
    // ex: the executor used for callbacks of subscriptions given a null executor.
    notifier(asio::any_io_executor ex, connection_options options);
    ~notifier();  // stop()
    notifier(const notifier&) = delete;
    notifier& operator=(const notifier&) = delete;

    using callback = std::function<void(std::string payload)>;

    // subscribe - on_notify(payload) is posted to `ex` for every NOTIFY on
    // `channel` once the LISTEN is in effect (asynchronously, shortly after
    // this returns); on_resync() (optional) after a reconnection, see above.
    // Throws std::invalid_argument for an invalid channel or a null callback.
    // May be called before start().
    [[nodiscard]] subscription subscribe(std::string channel, asio::any_io_executor ex, callback on_notify,
                                         std::function<void()> on_resync = {});

    // listen - subscribe() on the calling coroutine's executor, completing
    // only once the LISTEN is in effect, so a NOTIFY committed after it
    // returns is guaranteed to be delivered (the race-free way to "subscribe,
    // then read the current state"). Waits while the database is unreachable;
    // throws boost::system::system_error (errc::unavailable) if the notifier
    // stops first.
    awaitable<subscription> listen(std::string channel, callback on_notify, std::function<void()> on_resync = {});

    // start - starts the listening thread (idempotent). stop - closes the
    // connection and joins the thread promptly (idempotent; no callbacks are
    // posted after it returns). A stopped notifier cannot be started again.
    void start();
    void stop();

    bool connected() const noexcept;         // the listening connection is up
    std::uint64_t connections_made() const noexcept;  // successful (re)connections so far

private:
    std::shared_ptr<detail::notifier_state> state_;
};

// notify - SELECT pg_notify($1, $2) in the transaction: delivered to every
// listener when (and only if) the transaction commits. Throws
// std::invalid_argument for an invalid channel, a payload of 8000 bytes or
// more, or a NUL byte in the payload.
void notify(pqxx::transaction_base& tx, std::string_view channel, std::string_view payload);

}  // namespace polder::db
