// notifier.cpp - the LISTEN/NOTIFY bridge: one libpq connection on a
// dedicated thread, fanned out to subscriptions on their executors.
//
// The thread only ever blocks in poll(2) on two descriptors: the connection's
// socket and an eventfd that subscribe()/unsubscribe/stop() write to. libpq
// is used in non-blocking mode throughout (PQconnectStart/PQconnectPoll,
// PQsendQuery/PQconsumeInput), so stop() is prompt in every state, including
// while a connection attempt hangs on an unresponsive host.
//
// SECURITY: channel names reach SQL only as quoted identifiers built by
// quote_identifier() after validation; payloads only as bound parameters
// (notify()). Connection failures are logged without the password.
// STANDARDS: PostgreSQL 15 manual: LISTEN, UNLISTEN, NOTIFY, pg_notify(),
// 34.2 (non-blocking connection: PQconnectStart/PQconnectPoll), 34.9
// (asynchronous notification: PQconsumeInput, PQnotifies).
#include "polder/db/notifier.hpp"
#include "polder/db/prepared.hpp"

#include "polder/core/error.hpp"
#include "polder/log/log.hpp"
#include "polder/metrics/metrics.hpp"
#include "util.hpp"

#include <boost/system/system_error.hpp>
#include <libpq-fe.h>
#include <pqxx/transaction_base>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace polder::db {

bool valid_channel(std::string_view channel) noexcept {
    return !channel.empty() && channel.size() <= max_channel_length && channel.find('\0') == std::string_view::npos;
}

std::string quote_identifier(std::string_view name) {
    if (name.find('\0') != std::string_view::npos) throw std::invalid_argument("identifier contains a NUL byte");
    std::string out;
    out.reserve(name.size() + 2);
    out += '"';
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

void notify(pqxx::transaction_base& tx, std::string_view channel, std::string_view payload) {
    if (!valid_channel(channel))
        throw std::invalid_argument("db::notify: channel must be 1 to 63 bytes without NUL");
    if (payload.size() > max_payload_length)
        throw std::invalid_argument("db::notify: payload must be shorter than 8000 bytes");
    if (payload.find('\0') != std::string_view::npos)
        throw std::invalid_argument("db::notify: payload contains a NUL byte");
    exec_cached(tx, "SELECT pg_notify($1, $2)", std::string(channel), std::string(payload));
}

namespace detail {

namespace {

metrics::counter& notifications_metric() {
    static auto& c = metrics::registry::global().counter_("polder_db_notifications_total",
                                                          "NOTIFY messages received by the process's listener");
    return c;
}
metrics::counter& listener_reconnects_metric() {
    static auto& c = metrics::registry::global().counter_(
        "polder_db_listener_connections_total", "Connections made by the LISTEN/NOTIFY listener");
    return c;
}

// Reconnection backoff: immediate on the first try after a break (a
// terminated backend or a restarted server is usually back at once), then
// 100 ms doubling up to 10 s, with jitter so replicas do not stampede.
std::chrono::milliseconds reconnect_delay(int failures) {
    if (failures <= 0) return std::chrono::milliseconds(0);
    thread_local std::mt19937 rng{std::random_device{}()};
    const long cap = std::min(10000L, 100L << std::min(failures - 1, 10));
    std::uniform_int_distribution<long> pick(cap / 2, cap);
    return std::chrono::milliseconds(pick(rng));
}

}  // namespace

struct subscriber {
    std::string channel;
    asio::any_io_executor executor;
    notifier::callback on_notify;
    std::function<void()> on_resync;
    std::function<void(std::exception_ptr)> on_ready;  // listen(): completes once
    std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
    bool listening = false;
};

struct notifier_state : std::enable_shared_from_this<notifier_state> {
    asio::any_io_executor default_executor;
    connection_options options;
    std::string conninfo;

    mutable std::mutex mutex;
    std::map<std::uint64_t, subscriber> subscribers;
    std::set<std::string> listened;  // LISTENed on the current connection
    std::uint64_t next_id = 1;
    bool started = false;
    bool stopping = false;
    std::thread thread;
    std::mutex stop_mutex;

    int wake_fd = -1;
    std::atomic<bool> connected{false};
    std::atomic<std::uint64_t> connections{0};

    ~notifier_state() {
        if (wake_fd >= 0) ::close(wake_fd);
    }

    void wake() noexcept {
        std::uint64_t one = 1;
        // EAGAIN means the counter is already non-zero: the thread wakes anyway.
        [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
    }
    void drain_wake() noexcept {
        std::uint64_t value;
        [[maybe_unused]] auto n = ::read(wake_fd, &value, sizeof value);
    }
    bool stop_requested() const {
        std::lock_guard lock(mutex);
        return stopping;
    }

    void run();
    PGconn* open_connection();
    enum class outcome { ok, failed, stopped };
    outcome wait_socket(PGconn* c, short events, std::optional<std::chrono::steady_clock::time_point> deadline,
                        bool& socket_ready);
    outcome execute(PGconn* c, const std::string& sql, std::string& error);
    outcome consume(PGconn* c, std::string& error);
    outcome sync_channels(PGconn* c, bool after_reconnect, std::string& error);
    void dispatch(PGconn* c);
    void wait_backoff(std::chrono::milliseconds d);
    void connection_lost();
    void fail_waiters();
};

// wait_socket - poll the connection's socket for `events` and the eventfd.
// socket_ready tells whether the socket (rather than a wake-up) fired.
notifier_state::outcome notifier_state::wait_socket(PGconn* c, short events,
                                                    std::optional<std::chrono::steady_clock::time_point> deadline,
                                                    bool& socket_ready) {
    socket_ready = false;
    for (;;) {
        if (stop_requested()) return outcome::stopped;
        int timeout_ms = -1;
        if (deadline) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline -
                                                                              std::chrono::steady_clock::now());
            if (left.count() <= 0) return outcome::failed;
            timeout_ms = static_cast<int>(std::min<long>(left.count() + 1, 60000));
        }
        pollfd fds[2] = {{PQsocket(c), events, 0}, {wake_fd, POLLIN, 0}};
        if (fds[0].fd < 0) return outcome::failed;
        int n = ::poll(fds, 2, timeout_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            return outcome::failed;
        }
        if (n == 0) continue;  // deadline re-checked above
        if (fds[1].revents & POLLIN) {
            // A wake-up: stop, or the subscriptions changed. The caller
            // decides; the socket may be ready too.
            drain_wake();
            socket_ready = (fds[0].revents & (events | POLLERR | POLLHUP)) != 0;
            return outcome::ok;
        }
        if (fds[0].revents) {
            socket_ready = true;
            return outcome::ok;
        }
    }
}

PGconn* notifier_state::open_connection() {
    PGconn* c = PQconnectStart(conninfo.c_str());
    if (!c) {
        log::warn("db.listen.connect_failed", {{"target", describe_target(options)}, {"error", "out of memory"}});
        return nullptr;
    }
    auto fail = [&](std::string_view reason) -> PGconn* {
        std::string why = reason.empty() ? one_line(PQerrorMessage(c)) : std::string(reason);
        log::warn("db.listen.connect_failed", {{"target", describe_target(options)}, {"error", why}});
        PQfinish(c);
        return nullptr;
    };
    if (PQstatus(c) == CONNECTION_BAD) return fail({});
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (options.connect_timeout_seconds > 0)
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.connect_timeout_seconds);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK) break;
        if (st == PGRES_POLLING_FAILED) return fail({});
        bool ready = false;
        auto r = wait_socket(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline, ready);
        if (r == outcome::stopped) {
            PQfinish(c);
            return nullptr;
        }
        if (r == outcome::failed) return fail("timeout expired");
        if (!ready) continue;  // woken for a subscription change: keep connecting
        st = PQconnectPoll(c);
    }
    if (PQsetnonblocking(c, 1) != 0) return fail({});
    // libpq's default notice processor writes to stderr, outside the log
    // format; server notices (and a FATAL arriving between queries) go to
    // the structured log instead.
    PQsetNoticeProcessor(
        c,
        [](void*, const char* message) {
            std::string_view m = message ? message : "";
            log::write(m.starts_with("NOTICE") || m.starts_with("DEBUG") ? log::level::debug : log::level::warn,
                       "db.listen.notice", {{"message", one_line(m)}});
        },
        nullptr);
    return c;
}

// consume - read what the server sent; a failure means the connection is gone.
notifier_state::outcome notifier_state::consume(PGconn* c, std::string& error) {
    if (!PQconsumeInput(c) || PQstatus(c) == CONNECTION_BAD) {
        error = one_line(PQerrorMessage(c));
        if (error.empty()) error = "connection closed";
        return outcome::failed;
    }
    dispatch(c);
    return outcome::ok;
}

// execute - one command string on the non-blocking connection; notifications
// that arrive meanwhile are dispatched as usual.
notifier_state::outcome notifier_state::execute(PGconn* c, const std::string& sql, std::string& error) {
    if (!PQsendQuery(c, sql.c_str())) {
        error = one_line(PQerrorMessage(c));
        return outcome::failed;
    }
    // Flush the query out (non-blocking sends may be partial).
    for (;;) {
        int f = PQflush(c);
        if (f == 0) break;
        if (f < 0) {
            error = one_line(PQerrorMessage(c));
            return outcome::failed;
        }
        bool ready = false;
        auto r = wait_socket(c, POLLOUT | POLLIN, std::nullopt, ready);
        if (r != outcome::ok) return r;
        if (ready && consume(c, error) != outcome::ok) return outcome::failed;
    }
    bool failed_command = false;
    for (;;) {
        while (PQisBusy(c)) {
            bool ready = false;
            auto r = wait_socket(c, POLLIN, std::nullopt, ready);
            if (r != outcome::ok) return r;
            if (ready && consume(c, error) != outcome::ok) return outcome::failed;
        }
        PGresult* res = PQgetResult(c);
        if (!res) break;
        auto status = PQresultStatus(res);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && !failed_command) {
            failed_command = true;
            error = one_line(PQresultErrorMessage(res));
        }
        PQclear(res);
    }
    if (PQstatus(c) == CONNECTION_BAD) {
        if (error.empty()) error = one_line(PQerrorMessage(c));
        return outcome::failed;
    }
    return failed_command ? outcome::failed : outcome::ok;
}

// sync_channels - LISTEN every channel somebody subscribed to and UNLISTEN
// the ones nobody wants any more, in one round trip; then tell the
// subscriptions (ready / resync callbacks).
notifier_state::outcome notifier_state::sync_channels(PGconn* c, bool after_reconnect, std::string& error) {
    std::set<std::string> wanted;
    std::string sql;
    {
        std::lock_guard lock(mutex);
        for (const auto& [id, s] : subscribers) wanted.insert(s.channel);
        for (const auto& ch : wanted)
            if (!listened.contains(ch)) sql += "LISTEN " + quote_identifier(ch) + ";";
        for (const auto& ch : listened)
            if (!wanted.contains(ch)) sql += "UNLISTEN " + quote_identifier(ch) + ";";
    }
    if (!sql.empty()) {
        auto r = execute(c, sql, error);
        if (r != outcome::ok) return r;
    }
    std::vector<std::function<void()>> posts;
    {
        std::lock_guard lock(mutex);
        listened = wanted;
        for (auto& [id, s] : subscribers) {
            if (!listened.contains(s.channel) || s.listening) continue;
            s.listening = true;
            if (s.on_ready) {
                posts.push_back([f = std::move(s.on_ready)] { f(nullptr); });
                s.on_ready = nullptr;
            } else if (after_reconnect && s.on_resync) {
                posts.push_back([ex = s.executor, alive = s.alive, f = s.on_resync] {
                    asio::post(ex, [alive, f] {
                        if (*alive) f();
                    });
                });
            }
        }
    }
    for (auto& p : posts) p();
    // execute() drained the wake-ups that arrived during its round trip: a subscription
    // added meanwhile (its channel not listened yet) would otherwise wait, never ready,
    // for some later unrelated wake-up. Wake the loop so it goes round again.
    bool missed = false;
    {
        std::lock_guard lock(mutex);
        for (const auto& [id, s] : subscribers)
            if (!listened.contains(s.channel)) missed = true;
    }
    if (missed) wake();
    return outcome::ok;
}

void notifier_state::dispatch(PGconn* c) {
    while (PGnotify* n = PQnotifies(c)) {
        std::string channel = n->relname ? n->relname : "";
        std::string payload = n->extra ? n->extra : "";
        PQfreemem(n);
        notifications_metric().inc();
        std::lock_guard lock(mutex);
        for (const auto& [id, s] : subscribers) {
            if (s.channel != channel) continue;
            asio::post(s.executor, [alive = s.alive, f = s.on_notify, payload] {
                if (*alive) f(payload);
            });
        }
    }
}

void notifier_state::wait_backoff(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    for (;;) {
        if (stop_requested()) return;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        pollfd fd{wake_fd, POLLIN, 0};
        int n = ::poll(&fd, 1, static_cast<int>(left.count()) + 1);
        if (n > 0) drain_wake();  // a subscription change does not end the backoff; stop does (checked above)
    }
}

void notifier_state::connection_lost() {
    connected = false;
    std::lock_guard lock(mutex);
    listened.clear();
    for (auto& [id, s] : subscribers) s.listening = false;
}

void notifier_state::fail_waiters() {
    std::vector<std::function<void(std::exception_ptr)>> waiters;
    {
        std::lock_guard lock(mutex);
        for (auto& [id, s] : subscribers)
            if (s.on_ready) {
                waiters.push_back(std::move(s.on_ready));
                s.on_ready = nullptr;
            }
    }
    auto error = std::make_exception_ptr(
        boost::system::system_error(make_error_code(errc::unavailable), "database notifier stopped"));
    for (auto& w : waiters) w(error);
}

void notifier_state::run() {
    int failures = 0;
    bool had_connection = false;
    while (!stop_requested()) {
        PGconn* c = open_connection();
        if (!c) {
            if (stop_requested()) break;
            ++failures;
            wait_backoff(reconnect_delay(failures));
            continue;
        }
        failures = 0;
        connected = true;
        connections.fetch_add(1);
        listener_reconnects_metric().inc();
        log::info("db.listen.connected", {{"target", describe_target(options)}, {"backend_pid", PQbackendPID(c)}});

        std::string error;
        auto r = sync_channels(c, had_connection, error);
        had_connection = true;
        while (r == outcome::ok) {
            bool ready = false;
            r = wait_socket(c, POLLIN, std::nullopt, ready);
            if (r != outcome::ok) break;
            if (ready) {
                r = consume(c, error);
                if (r != outcome::ok) break;
            }
            r = sync_channels(c, false, error);
        }
        PQfinish(c);
        connection_lost();
        if (r == outcome::stopped || stop_requested()) break;
        log::warn("db.listen.disconnected", {{"target", describe_target(options)}, {"error", error}});
        // First retry at once; further failures back off in open_connection's loop.
    }
    connected = false;
    fail_waiters();
}

}  // namespace detail

// ---- subscription ------------------------------------------------------------

subscription::subscription(subscription&& o) noexcept : state_(std::move(o.state_)), id_(o.id_) { o.id_ = 0; }

subscription& subscription::operator=(subscription&& o) noexcept {
    if (this != &o) {
        reset();
        state_ = std::move(o.state_);
        id_ = o.id_;
        o.id_ = 0;
    }
    return *this;
}

subscription::~subscription() { reset(); }

void subscription::reset() noexcept {
    if (id_ == 0) return;
    if (auto state = state_.lock()) {
        bool wake = false;
        {
            std::lock_guard lock(state->mutex);
            auto it = state->subscribers.find(id_);
            if (it != state->subscribers.end()) {
                *it->second.alive = false;
                const std::string channel = it->second.channel;
                state->subscribers.erase(it);
                wake = std::none_of(state->subscribers.begin(), state->subscribers.end(),
                                    [&](const auto& e) { return e.second.channel == channel; });
            }
        }
        if (wake) state->wake();  // the last one on this channel: UNLISTEN it
    }
    state_.reset();
    id_ = 0;
}

bool subscription::listening() const noexcept {
    auto state = state_.lock();
    if (!state || id_ == 0) return false;
    std::lock_guard lock(state->mutex);
    auto it = state->subscribers.find(id_);
    return it != state->subscribers.end() && it->second.listening && state->connected;
}

// ---- notifier ----------------------------------------------------------------

notifier::notifier(asio::any_io_executor ex, connection_options options)
    : state_(std::make_shared<detail::notifier_state>()) {
    state_->default_executor = std::move(ex);
    // Keepalives: a listener is idle for hours; without them a peer that
    // vanished (failover, a dropped NAT entry) would never be noticed.
    state_->conninfo = connection_string(options) +
                       " keepalives='1' keepalives_idle='30' keepalives_interval='10' keepalives_count='3'";
    state_->options = std::move(options);
    state_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (state_->wake_fd < 0) throw std::system_error(errno, std::generic_category(), "db::notifier: eventfd");
}

notifier::~notifier() { stop(); }

namespace {

void check_subscription(std::string_view channel, const notifier::callback& on_notify) {
    if (!valid_channel(channel))
        throw std::invalid_argument("db::notifier: channel must be 1 to 63 bytes without NUL");
    if (!on_notify) throw std::invalid_argument("db::notifier: the notification callback is empty");
}

}  // namespace

subscription notifier::subscribe(std::string channel, asio::any_io_executor ex, callback on_notify,
                                 std::function<void()> on_resync) {
    check_subscription(channel, on_notify);
    std::uint64_t id;
    bool wake = false;
    {
        std::lock_guard lock(state_->mutex);
        id = state_->next_id++;
        detail::subscriber s;
        s.channel = std::move(channel);
        s.executor = ex ? std::move(ex) : state_->default_executor;
        s.on_notify = std::move(on_notify);
        s.on_resync = std::move(on_resync);
        s.listening = state_->listened.contains(s.channel) && state_->connected;
        wake = !s.listening;
        state_->subscribers.emplace(id, std::move(s));
    }
    if (wake) state_->wake();
    return subscription(state_, id);
}

awaitable<subscription> notifier::listen(std::string channel, callback on_notify, std::function<void()> on_resync) {
    check_subscription(channel, on_notify);
    auto ex = co_await asio::this_coro::executor;
    subscription result;
    co_await asio::async_initiate<decltype(use_awaitable), void(std::exception_ptr)>(
        [&](auto handler) {
            using handler_type = decltype(handler);
            auto shared = std::make_shared<handler_type>(std::move(handler));
            auto tracked = asio::prefer(asio::get_associated_executor(*shared, ex),
                                        asio::execution::outstanding_work.tracked);
            std::function<void(std::exception_ptr)> ready = [shared, tracked](std::exception_ptr e) {
                asio::post(tracked, [shared, e]() mutable { std::move(*shared)(e); });
            };
            bool stopped;
            bool wake = false;
            {
                std::lock_guard lock(state_->mutex);
                stopped = state_->stopping;
                if (!stopped) {
                    std::uint64_t id = state_->next_id++;
                    detail::subscriber s;
                    s.channel = channel;
                    s.executor = ex;
                    s.on_notify = std::move(on_notify);
                    s.on_resync = std::move(on_resync);
                    s.listening = state_->listened.contains(s.channel) && state_->connected;
                    if (!s.listening) {
                        s.on_ready = ready;
                        wake = true;
                    }
                    state_->subscribers.emplace(id, std::move(s));
                    result = subscription(state_, id);
                }
            }
            if (stopped)
                ready(std::make_exception_ptr(boost::system::system_error(make_error_code(errc::unavailable),
                                                                          "database notifier stopped")));
            else if (!wake)
                ready(nullptr);
            else
                state_->wake();
        },
        use_awaitable);
    co_return result;
}

void notifier::start() {
    std::lock_guard stop_lock(state_->stop_mutex);
    {
        std::lock_guard lock(state_->mutex);
        if (state_->started || state_->stopping) return;
        state_->started = true;
    }
    state_->thread = std::thread([state = state_] { state->run(); });
}

void notifier::stop() {
    std::lock_guard stop_lock(state_->stop_mutex);
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
    }
    state_->wake();
    if (state_->thread.joinable()) {
        if (state_->thread.get_id() == std::this_thread::get_id())
            throw std::logic_error("db::notifier::stop called from the listener thread");
        state_->thread.join();
    } else {
        state_->fail_waiters();  // never started: listen() callers must not hang
    }
}

bool notifier::connected() const noexcept { return state_->connected; }

std::uint64_t notifier::connections_made() const noexcept { return state_->connections; }

}  // namespace polder::db
