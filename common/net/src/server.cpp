// server.cpp - listeners, accept loops, limits, sessions and graceful stop.
//
// Bookkeeping (sessions, per-IP counts) sits behind one mutex: it is touched
// once when a connection opens and once when it closes, never per byte.
// Every session runs on its own strand; its connection_control carries the
// cancellation signal the server uses to force it closed after the grace.
//
// SECURITY: limits are checked before any coroutine or buffer exists for the
// connection; a refused connection costs one non-blocking send and a close. A connection
// from a load balancer (limits::proxy_from) first has its PROXY header read, at most
// max_proxy_header octets within proxy_header_timeout and never a byte past it (the
// header is peeked at, then exactly its length read); its limits are then the client's.
// Such pending connections count against max_connections too.
// Exceptions escaping a session are caught here, logged with the conn id and
// end only that connection.
//
// STANDARDS: RFC 4291 (IPv6 /64 prefixes), RFC 4038 (IPv4-mapped addresses), the PROXY
// protocol versions 1 and 2 (haproxy.org doc/proxy-protocol.txt).
#include "polder/net/server.hpp"

#include "polder/log/log.hpp"
#include "polder/metrics/metrics.hpp"
#include "polder/net/tls_context.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace polder::net {

using boost::system::error_code;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

// ---- connection_control -----------------------------------------------------

connection_control::connection_control(asio::any_io_executor session_executor,
                                       std::shared_ptr<const std::atomic<bool>> stopping)
    : executor_(std::move(session_executor)), stopping_(std::move(stopping)) {}

void connection_control::on_shutdown(std::function<void()> cb) {
    std::lock_guard lock(mutex_);
    if (notified_) asio::post(executor_, std::move(cb));
    else callbacks_.push_back(std::move(cb));
}

void connection_control::notify_shutdown() {
    std::vector<std::function<void()>> cbs;
    {
        std::lock_guard lock(mutex_);
        if (notified_) return;
        notified_ = true;
        cbs.swap(callbacks_);
    }
    for (auto& cb : cbs) {
        asio::post(executor_, [cb = std::move(cb)] {
            try {
                cb();
            } catch (const std::exception& e) {
                log::error("conn.shutdown_callback_failed", {{"error", e.what()}});
            }
        });
    }
}

void connection_control::force_close() {
    // The signal may only be emitted on the session's executor.
    asio::post(executor_, [self = shared_from_this()] { self->signal_.emit(asio::cancellation_type::terminal); });
}

// ---- helpers -------------------------------------------------------------------

result<asio::ip::address> parse_listen_address(std::string_view text) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    error_code ec;
    auto a = asio::ip::make_address(std::string(text), ec);
    if (ec) return error_code(errc::invalid_argument);
    return a;
}

namespace {

std::string_view tls_mode_name(tls_mode m) {
    switch (m) {
        case tls_mode::none: return "none";
        case tls_mode::implicit: return "implicit";
        case tls_mode::starttls: return "starttls";
    }
    return "unknown";
}

bool transient_accept_error(const error_code& ec) {
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory ||
           ec == boost::system::errc::too_many_files_open_in_system;
}

std::atomic<std::uint64_t> next_connection_id{1};

}  // namespace

std::string peer_limit_key(const asio::ip::address& address) {
    auto a = unmapped(address);
    if (a.is_v4()) return a.to_string();
    auto bytes = a.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return asio::ip::address_v6(bytes).to_string() + "/64";
}

// ---- server::impl --------------------------------------------------------------

struct listener_state {
    listener_config cfg;
    handler h;
    tcp::acceptor acceptor;
    std::uint16_t port = 0;
    metrics::gauge* active = nullptr;
    metrics::counter* total = nullptr;

    listener_state(listener_config c, handler hd, asio::any_io_executor ex)
        : cfg(std::move(c)), h(std::move(hd)), acceptor(ex) {}
};

struct server::impl : std::enable_shared_from_this<impl> {
    runtime& rt;
    limits lim;
    std::shared_ptr<tls_context> tls;
    std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
    asio::strand<asio::io_context::executor_type> strand;  // grace timer

    mutable std::mutex mu;
    std::vector<std::unique_ptr<listener_state>> listeners;
    std::unordered_map<std::string, std::size_t> per_ip;
    std::unordered_map<std::uint64_t, std::shared_ptr<connection_control>> sessions;
    std::size_t pending_proxy = 0;   // connections whose PROXY header is being read
    std::unique_ptr<asio::steady_timer> grace_timer;  // only on strand

    impl(runtime& r, limits l, std::shared_ptr<tls_context> t)
        : rt(r), lim(l), tls(std::move(t)), strand(asio::make_strand(r.io())) {}

    awaitable<void> accept_loop(listener_state* ls);
    void accepted(listener_state* ls, tcp::socket sock);
    awaitable<void> read_proxy_header(listener_state* ls, tcp::socket sock, asio::ip::address balancer,
                                      std::uint16_t balancer_port);
    // admit - the connection of `peer` (the client a PROXY header named, if `via` is the
    // balancer's address), under the limits; its session starts, or it is refused.
    void admit(listener_state* ls, tcp::socket sock, const asio::ip::address& peer, std::uint16_t port,
               std::string via = {});
    void refuse(listener_state* ls, tcp::socket& sock, const connection_info& info, std::string_view reason);
    awaitable<void> run_session(listener_state* ls, tcp::socket sock, connection_info info);
    void session_ended(std::uint64_t id, const std::string& key, listener_state* ls);
    void stop();
    void force_close_all();
};

awaitable<void> server::impl::accept_loop(listener_state* ls) {
    auto self = shared_from_this();
    for (;;) {
        asio::any_io_executor session_strand = asio::make_strand(rt.io());
        auto [ec, sock] = co_await ls->acceptor.async_accept(session_strand, use_tuple);
        if (ec) {
            if (stopping->load() || ec == asio::error::operation_aborted || !ls->acceptor.is_open()) co_return;
            log::warn("server.accept_failed", {{"listener", ls->cfg.name}, {"error", ec}});
            if (transient_accept_error(ec)) {
                // Out of descriptors or memory: wait for sessions to end instead of spinning.
                asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(250));
                co_await pause.async_wait(use_tuple);
            }
            continue;
        }
        accepted(ls, std::move(sock));
    }
}

void server::impl::accepted(listener_state* ls, tcp::socket sock) {
    error_code ec;
    auto ep = sock.remote_endpoint(ec);
    if (ec) return;  // the peer is already gone
    const auto addr = unmapped(ep.address());
    if (ls->cfg.proxy_protocol &&
        std::any_of(lim.proxy_from.begin(), lim.proxy_from.end(), [&](const ip_network& n) { return n.contains(addr); })) {
        std::string_view refusal;
        {
            std::lock_guard lock(mu);
            if (stopping->load()) refusal = "shutting_down";
            else if (sessions.size() + pending_proxy >= lim.max_connections) refusal = "total";
            else ++pending_proxy;
        }
        if (!refusal.empty()) {
            connection_info info;
            info.listener = ls->cfg.name;
            info.peer_address = addr.to_string();
            refuse(ls, sock, info, refusal);
            return;
        }
        auto ex = sock.get_executor();
        asio::co_spawn(ex, read_proxy_header(ls, std::move(sock), addr, ep.port()), asio::detached);
        return;
    }
    admit(ls, std::move(sock), addr, ep.port());
}

void server::impl::admit(listener_state* ls, tcp::socket sock, const asio::ip::address& addr, std::uint16_t port,
                         std::string via) {
    connection_info info;
    info.id = next_connection_id.fetch_add(1, std::memory_order_relaxed);
    info.listener = ls->cfg.name;
    info.peer_address = addr.to_string();
    info.peer_port = port;
    info.proxy_address = std::move(via);
    info.loopback = addr.is_loopback();
    info.tls = ls->cfg.tls;
    info.idle_timeout = lim.idle_timeout;
    error_code ec;
    // An empty key: the listener does not count per peer (listener_config::per_ip_limit).
    std::string key = ls->cfg.per_ip_limit ? peer_limit_key(addr) : std::string();
    std::string_view refusal;
    std::shared_ptr<connection_control> ctrl;
    {
        std::lock_guard lock(mu);
        auto it = per_ip.find(key);
        std::size_t from_peer = it == per_ip.end() ? 0 : it->second;
        if (stopping->load()) refusal = "shutting_down";
        else if (sessions.size() >= lim.max_connections) refusal = "total";
        else if (!key.empty() && from_peer >= lim.max_connections_per_ip) refusal = "per_ip";
        else {
            if (!key.empty()) ++per_ip[key];
            ctrl = std::make_shared<connection_control>(sock.get_executor(), stopping);
            sessions.emplace(info.id, ctrl);
        }
    }
    if (!refusal.empty()) {
        refuse(ls, sock, info, refusal);
        return;
    }
    ls->active->inc();
    ls->total->inc();
    sock.set_option(tcp::no_delay(true), ec);
    sock.set_option(asio::socket_base::keep_alive(true), ec);  // finds dead idle clients eventually
    info.control = ctrl;

    auto ex = sock.get_executor();
    const auto id = info.id;
    asio::co_spawn(ex, run_session(ls, std::move(sock), std::move(info)),
                   asio::bind_cancellation_slot(ctrl->slot(), [self = shared_from_this(), id, key = std::move(key),
                                                               ls](std::exception_ptr) {
                       // run_session catches everything; nothing to rethrow here.
                       self->session_ended(id, key, ls);
                   }));
}

awaitable<void> server::impl::read_proxy_header(listener_state* ls, tcp::socket sock, asio::ip::address balancer,
                                                std::uint16_t balancer_port) {
    auto self = shared_from_this();
    std::string why;
    proxy_parse p;
    try {
        std::array<std::uint8_t, max_proxy_header> buf;
        const auto deadline = std::chrono::steady_clock::now() + lim.proxy_header_timeout;
        asio::steady_timer timer(sock.get_executor());
        for (;;) {
            timer.expires_at(deadline);
            auto r = co_await (sock.async_wait(tcp::socket::wait_read, use_tuple) || timer.async_wait(use_tuple));
            if (r.index() == 1) {
                why = "no complete PROXY header within the timeout";
                break;
            }
            if (auto [wec] = std::get<0>(r); wec) {
                why = wec.message();
                break;
            }
            // Peek: the client's own bytes may follow the header in the same segment.
            error_code ec;
            const std::size_t n = sock.receive(asio::buffer(buf), tcp::socket::message_peek, ec);
            if (ec || n == 0) {
                why = ec ? ec.message() : "closed before a PROXY header";
                break;
            }
            p = parse_proxy_header(std::span<const std::uint8_t>(buf.data(), n));
            if (p.st == proxy_parse::state::complete) {
                asio::read(sock, asio::buffer(buf.data(), p.length), ec);   // arrived already: exactly the header
                if (ec) why = ec.message();
                break;
            }
            if (p.st == proxy_parse::state::invalid) {
                why = p.error;
                break;
            }
            // A header split over segments (the protocol asks senders not to): look again soon.
            if (std::chrono::steady_clock::now() >= deadline) {
                why = "no complete PROXY header within the timeout";
                break;
            }
            timer.expires_after(std::chrono::milliseconds(5));
            co_await timer.async_wait(use_tuple);
        }
    } catch (const std::exception& e) {
        why = e.what();
    }
    {
        std::lock_guard lock(mu);
        --pending_proxy;
    }
    if (!why.empty()) {
        metrics::registry::global()
            .counter_("polder_proxy_header_errors_total", "Connections from a load balancer closed for a bad or missing PROXY header",
                      {{"listener", ls->cfg.name}})
            .inc();
        log::warn("conn.proxy_header_invalid",
                  {{"listener", ls->cfg.name}, {"peer", balancer.to_string()}, {"port", balancer_port}, {"error", why}});
        error_code ec;
        sock.close(ec);
        co_return;
    }
    if (p.header.proxied)
        admit(ls, std::move(sock), p.header.source, p.header.source_port, balancer.to_string());
    else
        admit(ls, std::move(sock), balancer, balancer_port);   // LOCAL, UNKNOWN: the balancer itself
}

void server::impl::refuse(listener_state* ls, tcp::socket& sock, const connection_info& info,
                          std::string_view reason) {
    metrics::registry::global()
        .counter_("polder_connections_refused_total", "Connections refused because of a limit or shutdown",
                  {{"listener", ls->cfg.name}, {"reason", std::string(reason)}})
        .inc();
    log::info("conn.refused", {{"listener", info.listener}, {"peer", info.peer_address}, {"reason", reason}});
    error_code ec;
    if (ls->cfg.on_refused && ls->cfg.tls != tls_mode::implicit) {
        std::string line;
        try {
            line = ls->cfg.on_refused(info, reason);
        } catch (const std::exception& e) {
            log::error("conn.refusal_hook_failed", {{"listener", info.listener}, {"error", e.what()}});
        }
        if (!line.empty()) {
            // Never wait for a refused client: one short line fits the fresh send buffer.
            sock.non_blocking(true, ec);
            sock.send(asio::buffer(line), 0, ec);
        }
    }
    sock.shutdown(tcp::socket::shutdown_send, ec);
    sock.close(ec);
}

awaitable<void> server::impl::run_session(listener_state* ls, tcp::socket sock, connection_info info) {
    const auto started = std::chrono::steady_clock::now();
    const auto id = info.id;
    if (info.proxy_address.empty())
        log::info("conn.open", {{"conn", id},
                                {"listener", info.listener},
                                {"peer", info.peer_address},
                                {"port", info.peer_port},
                                {"tls", tls_mode_name(info.tls)}});
    else
        log::info("conn.open", {{"conn", id},
                                {"listener", info.listener},
                                {"peer", info.peer_address},
                                {"port", info.peer_port},
                                {"via", info.proxy_address},
                                {"tls", tls_mode_name(info.tls)}});
    std::string_view outcome = "closed";
    try {
        co_await ls->h(std::move(sock), std::move(info));
    } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::operation_aborted) {
            outcome = "aborted";  // forced shutdown cancelled the session
        } else {
            outcome = "error";
            log::error("conn.exception", {{"conn", id}, {"error", e.what()}});
        }
    } catch (const std::exception& e) {
        outcome = "error";
        log::error("conn.exception", {{"conn", id}, {"error", e.what()}});
    } catch (...) {
        outcome = "error";
        log::error("conn.exception", {{"conn", id}, {"error", "unknown exception"}});
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::info("conn.close", {{"conn", id}, {"outcome", outcome}, {"seconds", seconds}});
}

void server::impl::session_ended(std::uint64_t id, const std::string& key, listener_state* ls) {
    bool last = false;
    {
        std::lock_guard lock(mu);
        sessions.erase(id);
        if (key.empty()) {
            // not counted per peer
        } else if (auto it = per_ip.find(key); it != per_ip.end() && --it->second == 0) {
            per_ip.erase(it);
        }
        last = stopping->load() && sessions.empty();
    }
    ls->active->dec();
    if (last) {
        // Let run() return now instead of when the grace timer would fire.
        asio::post(strand, [self = shared_from_this()] {
            if (self->grace_timer) self->grace_timer->cancel();
        });
    }
}

void server::impl::stop() {
    if (stopping->exchange(true)) return;
    std::vector<std::shared_ptr<connection_control>> open;
    {
        std::lock_guard lock(mu);
        for (auto& ls : listeners) {
            asio::post(ls->acceptor.get_executor(), [self = shared_from_this(), a = &ls->acceptor] {
                error_code ignored;
                a->close(ignored);
            });
        }
        open.reserve(sessions.size());
        for (auto& [id, c] : sessions) open.push_back(c);
    }
    log::info("server.stopping", {{"sessions", open.size()}, {"grace_seconds", lim.shutdown_grace.count()}});
    for (auto& c : open) c->notify_shutdown();
    if (open.empty()) return;
    asio::post(strand, [self = shared_from_this()] {
        {
            std::lock_guard lock(self->mu);
            if (self->sessions.empty()) return;  // ended meanwhile: no timer to keep run() waiting
        }
        self->grace_timer = std::make_unique<asio::steady_timer>(self->strand, self->lim.shutdown_grace);
        self->grace_timer->async_wait([self](const error_code& ec) {
            if (!ec) self->force_close_all();
        });
    });
}

void server::impl::force_close_all() {
    std::vector<std::shared_ptr<connection_control>> open;
    {
        std::lock_guard lock(mu);
        for (auto& [id, c] : sessions) open.push_back(c);
    }
    if (open.empty()) return;
    log::warn("server.force_close", {{"sessions", open.size()}});
    for (auto& c : open) c->force_close();
}

// ---- server ----------------------------------------------------------------------

server::server(runtime& rt, limits lim, std::shared_ptr<tls_context> tls)
    : impl_(std::make_shared<impl>(rt, lim, std::move(tls))) {
    std::weak_ptr<impl> weak = impl_;
    rt.on_stop([weak] {
        if (auto s = weak.lock()) s->stop();
    });
    if (impl_->tls) {
        std::weak_ptr<tls_context> weak_tls = impl_->tls;
        rt.on_reload([weak_tls] {
            if (auto t = weak_tls.lock()) (void)t->reload();  // reload() logs its own outcome
        });
    }
    rt.extend_stop_deadline(lim.shutdown_grace + std::chrono::seconds(5));
}

server::~server() { impl_->stop(); }

result<void> server::listen(const listener_config& cfg, handler h) {
    auto fail = [&](error_code ec, std::string_view why) -> result<void> {
        log::error("server.listen_failed", {{"listener", cfg.name},
                                            {"address", cfg.address},
                                            {"port", cfg.port},
                                            {"reason", why},
                                            {"error", ec}});
        return ec;
    };
    if (cfg.name.empty()) return fail(errc::invalid_argument, "listener name is empty");
    if (!h) return fail(errc::invalid_argument, "no handler");
    if (cfg.tls == tls_mode::implicit && !impl_->tls) return fail(errc::invalid_argument, "implicit TLS needs a certificate");
    auto addr = parse_listen_address(cfg.address);
    if (!addr) return fail(addr.error(), "address is not an IPv4 or IPv6 literal");
    {
        std::lock_guard lock(impl_->mu);
        if (impl_->stopping->load()) return fail(errc::unavailable, "server is stopping");
        for (auto& ls : impl_->listeners) {
            if (ls->cfg.name == cfg.name) return fail(errc::invalid_argument, "duplicate listener name");
        }
    }

    auto ls = std::make_unique<listener_state>(cfg, std::move(h), asio::make_strand(impl_->rt.io()));
    tcp::endpoint ep(*addr, cfg.port);
    error_code ec;
    ls->acceptor.open(ep.protocol(), ec);
    if (ec) return fail(ec, "socket");
    if (addr->is_v6() && addr->is_unspecified()) {
        ls->acceptor.set_option(asio::ip::v6_only(false), ec);  // "::" serves IPv4 too
    }
    ls->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    ls->acceptor.bind(ep, ec);
    if (ec) return fail(ec, "bind");
    ls->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(ec, "listen");
    ls->port = ls->acceptor.local_endpoint(ec).port();

    auto& reg = metrics::registry::global();
    ls->active = &reg.gauge_("polder_connections_active", "Open connections", {{"listener", cfg.name}});
    ls->total = &reg.counter_("polder_connections_total", "Accepted connections", {{"listener", cfg.name}});

    listener_state* raw = ls.get();
    {
        std::lock_guard lock(impl_->mu);
        if (impl_->stopping->load()) return fail(errc::unavailable, "server is stopping");
        impl_->listeners.push_back(std::move(ls));
    }
    log::info("server.listening",
              {{"listener", cfg.name}, {"address", addr->to_string()}, {"port", raw->port}, {"tls", tls_mode_name(cfg.tls)}});
    asio::co_spawn(raw->acceptor.get_executor(), impl_->accept_loop(raw), [name = cfg.name](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("server.accept_loop_failed", {{"listener", name}, {"error", ex.what()}});
        } catch (...) {
            log::error("server.accept_loop_failed", {{"listener", name}});
        }
    });
    return {};
}

std::uint16_t server::bound_port(std::string_view listener_name) const {
    std::lock_guard lock(impl_->mu);
    for (auto& ls : impl_->listeners) {
        if (ls->cfg.name == listener_name) return ls->port;
    }
    return 0;
}

void server::stop() { impl_->stop(); }
bool server::shutting_down() const { return impl_->stopping->load(); }

std::size_t server::active_connections() const {
    std::lock_guard lock(impl_->mu);
    return impl_->sessions.size();
}

const std::shared_ptr<tls_context>& server::tls() const { return impl_->tls; }

}  // namespace polder::net
