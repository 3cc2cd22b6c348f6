// server.cpp - the HTTP/1.1 connection loop: TLS, keep-alive, pipelining,
// limits, timeouts, 100-continue, streamed bodies (sendfile(2) for file ranges
// on plain connections), access log and metrics.
//
// Shape (habit: Beast's awaitable server example): one coroutine per
// connection owns the stream and its read buffer and sets a deadline before
// every read and write; a request is a function from request to response.
// Expected I/O outcomes are values (use_tuple); exceptions are caught at the
// handler call (→ 500) and at the connection boundary (→ logged, closed).
//
// SECURITY: see server.hpp. In particular: framing problems and body errors
// always close the connection (the byte stream can no longer be trusted to be
// at a message boundary); a request body is never buffered whole by this
// layer; unread bodies are drained only when small; the access log records
// the raw path (truncated), never the query string or credentials.
// STANDARDS: RFC 9110 (HTTP semantics: 10.1.1 Expect, 15.5.14 413, 15.6.1 500),
// RFC 9112 (HTTP/1.1 message syntax, 9.3 persistence, 9.3.2 pipelining, 9.6
// tear-down / lingering close), RFC 6585 5 (431), RFC 8446 (TLS, via OpenSSL),
// Linux sendfile(2).
#include "polder/http/server.hpp"

#include "polder/http/date.hpp"
#include "polder/log/log.hpp"
#include "polder/metrics/metrics.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <sys/sendfile.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <type_traits>

namespace polder::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

// How long, and for how many bytes, a closing connection keeps reading what
// the client still sends, so our last response is not destroyed by a TCP reset
// (RFC 9112 9.6 "lingering close").
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 1024 * 1024;
constexpr auto tls_shutdown_timeout = std::chrono::seconds(2);

// ---------------------------------------------------------------------------
// Shared state: buffer accounting and metrics.

struct server::impl {
    std::atomic<std::uint64_t> buffered{0};
    std::atomic<std::uint64_t> peak{0};
    std::atomic<std::size_t> active{0};

    metrics::histogram* duration = nullptr;
    metrics::gauge* in_flight = nullptr;
    metrics::counter* sendfile_bytes = nullptr;
    std::mutex counters_mutex;
    std::map<std::pair<std::string, char>, metrics::counter*> counters;   // (method label, class digit)

    void add(std::uint64_t n) {
        const auto now = buffered.fetch_add(n, std::memory_order_relaxed) + n;
        auto prev = peak.load(std::memory_order_relaxed);
        while (now > prev && !peak.compare_exchange_weak(prev, now, std::memory_order_relaxed)) {
        }
    }
    void sub(std::uint64_t n) { buffered.fetch_sub(n, std::memory_order_relaxed); }

    metrics::counter& requests(const std::string& service, std::string_view method, unsigned code) {
        const char cls = static_cast<char>('0' + std::min(code / 100, 9u));
        std::lock_guard lock(counters_mutex);
        auto key = std::make_pair(std::string(method), cls);
        auto it = counters.find(key);
        if (it != counters.end()) return *it->second;
        auto& c = metrics::registry::global().counter_(
            "polder_http_requests_total", "HTTP requests answered, by service, method and status class",
            {{"service", service}, {"method", std::string(method)}, {"status_class", std::string(1, cls) + "xx"}});
        counters.emplace(std::move(key), &c);
        return c;
    }
};

namespace {

// buffer_account - this connection's share of server::impl::buffered.
class buffer_account {
public:
    explicit buffer_account(server::impl& impl) : impl_(impl) {}
    ~buffer_account() { set(0); }
    buffer_account(const buffer_account&) = delete;
    buffer_account& operator=(const buffer_account&) = delete;
    void set(std::uint64_t n) {
        if (n > held_)
            impl_.add(n - held_);
        else if (n < held_)
            impl_.sub(held_ - n);
        held_ = n;
    }

private:
    server::impl& impl_;
    std::uint64_t held_ = 0;
};

// Metric label for the method: a fixed set, so a client cannot create series.
std::string_view method_label(std::string_view m) {
    static constexpr std::array<std::string_view, 21> known{
        "GET",  "HEAD", "POST",     "PUT",        "DELETE", "OPTIONS", "PATCH",  "PROPFIND",   "PROPPATCH", "MKCOL",
        "COPY", "MOVE", "LOCK",     "UNLOCK",     "REPORT", "MKCALENDAR", "ACL", "SEARCH", "TRACE", "CONNECT",
        "BIND"};
    for (auto k : known)
        if (k == m) return k;
    return "OTHER";
}

std::string make_request_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::uint64_t v = rng();
    std::string id(16, '0');
    for (int i = 15; i >= 0; --i) {
        id[static_cast<std::size_t>(i)] = hex[v & 15];
        v >>= 4;
    }
    return id;
}

std::string date_now() {
    const auto now = std::chrono::system_clock::now();
    return format_http_date(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

std::string_view reason_for_body_error(const error_code& ec) {
    if (polder::is(ec, errc::limit_exceeded)) return "request body too large";
    if (polder::is(ec, errc::timeout)) return "request body timeout";
    if (polder::is(ec, errc::protocol_error)) return "malformed or incomplete request body";
    return "request body could not be read";
}

std::string truncate(std::string_view s, std::size_t n) {
    return std::string(s.substr(0, n));
}

// Set while the connection waits for its next request, so a server shutdown
// can wake it; shared with the shutdown callback, which may outlive the session.
struct idle_token {
    bool idle = false;
    beast::tcp_stream* stream = nullptr;
};

// ---------------------------------------------------------------------------

template <class Stream>
class session final : public body_channel {
public:
    session(server& srv, server::impl& impl, Stream& stream, const net::connection_info& info, bool secure)
        : srv_(srv),
          impl_(impl),
          opt_(srv.options()),
          stream_(stream),
          info_(info),
          secure_(secure),
          buffer_(std::max<std::size_t>(opt_.head.max_header_bytes, 1024) + std::max<std::size_t>(opt_.read_size, 1024)),
          read_account_(impl),
          chunk_account_(impl),
          body_account_(impl) {}

    awaitable<void> run();
    awaitable<result<std::size_t>> read_body_some(std::span<char> out, std::uint64_t limit) override;

private:
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
    awaitable<error_code> read_more();
    awaitable<bool> handle_one();
    awaitable<error_code> send_continue();
    awaitable<bool> drain(std::uint64_t budget);
    awaitable<error_code> write_response(response& r, const request_decoder* dec, bool head_request,
                                         std::string_view request_id, bool& close, std::uint64_t& bytes_out);
    awaitable<error_code> send_file(const file_range& f, std::uint64_t& sent, bool& unsupported);
    awaitable<void> answer_problem(const request_problem& p, const request_decoder& dec, clock::time_point start);
    awaitable<void> close_connection();
    void finish(std::string_view method, std::string_view path, std::string_view id, unsigned code,
                std::uint64_t in, std::uint64_t out, clock::time_point start, std::string_view user);

    server& srv_;
    server::impl& impl_;
    const server_options& opt_;
    Stream& stream_;
    const net::connection_info& info_;
    bool secure_;
    beast::flat_buffer buffer_;
    buffer_account read_account_;
    buffer_account chunk_account_;
    buffer_account body_account_;
    std::vector<char> chunk_;
    std::shared_ptr<idle_token> idle_ = std::make_shared<idle_token>();

    // Per request.
    request_decoder* dec_ = nullptr;
    bool continue_sent_ = false;
    error_code body_error_;
    std::size_t requests_ = 0;
};

template <class Stream>
awaitable<error_code> session<Stream>::read_more() {
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) co_return errc::limit_exceeded;
    auto mb = buffer_.prepare(std::min(room, std::max<std::size_t>(opt_.read_size, 1024)));
    auto [ec, n] = co_await stream_.async_read_some(mb, use_tuple);
    buffer_.commit(n);
    read_account_.set(buffer_.capacity());
    if (n > 0 && ec == asio::error::eof) ec = {};
    co_return ec;
}

template <class Stream>
awaitable<void> session<Stream>::run() {
    idle_->stream = &lowest();
    if (info_.control) {
        info_.control->on_shutdown([token = std::weak_ptr<idle_token>(idle_)] {
            // Runs on the session's executor: no race with the session itself.
            if (auto t = token.lock(); t && t->idle && t->stream) t->stream->cancel();
        });
    }
    try {
        while (co_await handle_one()) {
        }
        co_await close_connection();
    } catch (const std::exception& e) {
        log::error("http.connection_error", {{"conn", info_.id}, {"error", e.what()}});
    }
    idle_->stream = nullptr;
}

template <class Stream>
awaitable<bool> session<Stream>::handle_one() {
    // Wait for the next request (keep-alive idle time) unless pipelined bytes
    // are already here.
    if (buffer_.size() == 0) {
        if (info_.shutting_down()) co_return false;
        idle_->idle = true;
        lowest().expires_after(opt_.idle_timeout);
        const auto ec = co_await read_more();
        idle_->idle = false;
        if (ec) co_return false;   // idle timeout, client closed, shutdown: nothing to answer
    }

    const auto start = clock::now();
    request_decoder dec(opt_.head);
    // The whole head must arrive by one deadline: slow-header (slowloris)
    // clients are dropped however they trickle.
    lowest().expires_after(opt_.header_timeout);
    for (;;) {
        const auto data = buffer_.cdata();
        const std::size_t used =
            dec.feed_head(std::string_view(static_cast<const char*>(data.data()), data.size()));
        buffer_.consume(used);
        if (dec.current() == request_decoder::state::failed) {
            co_await answer_problem(dec.problem(), dec, start);
            co_return false;
        }
        if (dec.current() != request_decoder::state::head) break;
        const auto ec = co_await read_more();
        if (polder::is(ec, errc::limit_exceeded)) {
            co_await answer_problem({431, "request header fields too large"}, dec, start);
            co_return false;
        }
        if (ec) co_return false;   // timeout (the stream is closed), eof or reset mid-head
    }

    const auto id = make_request_id();
    const bool head_request = dec.head().method() == bhttp::verb::head;
    const std::string_view method = dec.head().method_string();
    auto match = srv_.routes().find(method, dec.path());
    std::uint64_t limit = opt_.max_body_bytes;
    if (match.options && match.options->max_body) limit = *match.options->max_body;

    dec_ = &dec;
    continue_sent_ = false;
    body_error_ = {};
    request req(dec, info_, id, *this, limit, secure_);
    response res;
    bool close = false;

    if (match.status == 404) {
        res = error_response(status::not_found, "not found");
    } else if (match.status == 405) {
        res = error_response(status::method_not_allowed, "method not allowed");
        res.headers.set(field::allow, match.allow);
    } else if (dec.content_length() && *dec.content_length() > limit) {
        // Refused before the handler and before 100 Continue: the client has
        // not sent (or should not send) the body, so the connection must close.
        res = error_response(status::payload_too_large, "request body too large");
        close = true;
    } else {
        impl_.in_flight->inc();
        try {
            res = co_await (*match.target)(req);
        } catch (const std::exception& e) {
            log::error("http.handler_error",
                       {{"conn", info_.id}, {"req", id}, {"method", method}, {"error", e.what()}});
            res = error_response(status::internal_server_error, "internal server error");
        } catch (...) {
            log::error("http.handler_error",
                       {{"conn", info_.id}, {"req", id}, {"method", method}, {"error", "unknown exception"}});
            res = error_response(status::internal_server_error, "internal server error");
        }
        impl_.in_flight->dec();
    }

    ++requests_;
    close = close || res.close || !dec.keep_alive() || info_.shutting_down() ||
            requests_ >= opt_.max_requests_per_connection;

    if (body_error_) {
        // The stream is no longer at a message boundary.
        close = true;
        if (static_cast<unsigned>(res.code) < 400) {
            const auto code = status_for_body_error(body_error_);
            res = error_response(code, reason_for_body_error(body_error_));
        }
    } else if (dec.current() == request_decoder::state::body) {
        if (dec.expect_continue() && !continue_sent_) {
            // We never asked for the body; the client may or may not send it.
            close = true;
        } else if (!close) {
            const auto remaining = dec.content_length() ? *dec.content_length() - dec.body_bytes() : 0;
            if (remaining > opt_.drain_limit) {
                close = true;
            } else {
                const bool drained = co_await drain(opt_.drain_limit);
                if (!drained) close = true;
            }
        }
    }

    std::uint64_t bytes_out = 0;
    const auto wec = co_await write_response(res, &dec, head_request, id, close, bytes_out);
    finish(method, dec.path(), id, static_cast<unsigned>(res.code), dec.body_bytes(), bytes_out, start, req.user());
    dec_ = nullptr;
    if (wec) {
        log::debug("http.write_failed", {{"conn", info_.id}, {"req", id}, {"error", wec}});
        co_return false;
    }
    co_return !close;
}

template <class Stream>
awaitable<error_code> session<Stream>::send_continue() {
    static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
    continue_sent_ = true;
    lowest().expires_after(opt_.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(interim.data(), interim.size()), use_tuple);
    co_return ec;
}

template <class Stream>
awaitable<result<std::size_t>> session<Stream>::read_body_some(std::span<char> out, std::uint64_t limit) {
    if (!dec_) co_return errc::invalid_argument;
    if (body_error_) co_return body_error_;
    auto& dec = *dec_;
    if (dec.current() == request_decoder::state::complete) co_return std::size_t{0};
    if (dec.current() != request_decoder::state::body) co_return errc::protocol_error;
    if (out.empty()) co_return errc::invalid_argument;
    if ((dec.content_length() && *dec.content_length() > limit) || dec.body_bytes() > limit) {
        body_error_ = errc::limit_exceeded;
        co_return body_error_;
    }
    if (dec.expect_continue() && !continue_sent_) {
        if (auto ec = co_await send_continue()) {
            body_error_ = ec;
            co_return ec;
        }
    }
    // Never decode more than one byte past the limit: a chunked body that is
    // too long is refused as soon as that is known.
    const std::uint64_t room = limit - dec.body_bytes();
    if (room < std::numeric_limits<std::uint64_t>::max() && out.size() > room + 1)
        out = out.first(static_cast<std::size_t>(room + 1));

    for (;;) {
        if (buffer_.size() > 0) {
            const auto data = buffer_.cdata();
            const auto p = dec.feed_body(std::string_view(static_cast<const char*>(data.data()), data.size()), out);
            buffer_.consume(p.consumed);
            if (dec.current() == request_decoder::state::failed) {
                log::debug("http.bad_body", {{"conn", info_.id}, {"reason", dec.problem().reason}});
                body_error_ = errc::protocol_error;
                co_return body_error_;
            }
            if (dec.body_bytes() > limit) {
                body_error_ = errc::limit_exceeded;
                co_return body_error_;
            }
            if (p.produced > 0) co_return p.produced;
            if (dec.current() == request_decoder::state::complete) co_return std::size_t{0};
        }
        lowest().expires_after(opt_.body_read_timeout);
        const auto ec = co_await read_more();
        if (ec) {
            if (ec == beast::error::timeout)
                body_error_ = errc::timeout;
            else if (ec == asio::error::eof || polder::is(ec, errc::limit_exceeded))
                body_error_ = errc::protocol_error;   // closed mid-body, or a chunk header longer than the buffer
            else
                body_error_ = ec;
            co_return body_error_;
        }
    }
}

template <class Stream>
awaitable<bool> session<Stream>::drain(std::uint64_t budget) {
    std::array<char, 16 * 1024> scratch;
    const std::uint64_t limit = dec_->body_bytes() + budget;
    for (;;) {
        auto n = co_await read_body_some(scratch, limit);
        if (!n) {
            // A drain failure is ours to absorb: the handler's answer stands.
            body_error_ = {};
            co_return false;
        }
        if (*n == 0) co_return true;
    }
}

template <class Stream>
awaitable<error_code> session<Stream>::write_response(response& r, const request_decoder* dec, bool head_request,
                                                      std::string_view request_id, bool& close,
                                                      std::uint64_t& bytes_out) {
    bhttp::response<bhttp::buffer_body> res;
    static_cast<bhttp::fields&>(res) = std::move(r.headers);
    res.version(11);
    res.result(r.code);
    // Framing belongs to this layer.
    res.erase(field::content_length);
    res.erase(field::transfer_encoding);
    res.erase(field::connection);
    res.set(field::date, date_now());
    if (!request_id.empty()) res.set("X-Request-Id", request_id);

    const unsigned code = static_cast<unsigned>(r.code);
    const bool bodiless_status = code / 100 == 1 || code == 204 || code == 304;
    const bool client11 = !dec || dec->head().version() >= 11;
    enum class framing { none, fixed, chunked, until_close } frame = framing::none;
    std::uint64_t length = 0;

    if (bodiless_status) {
        r.source.reset();
        r.body.clear();
    } else if (r.source) {
        if (r.content_length) {
            frame = framing::fixed;
            length = *r.content_length;
            res.content_length(length);
        } else if (client11) {
            frame = framing::chunked;
            res.chunked(true);
        } else {
            // HTTP/1.0 has no chunked coding: the end of the connection ends the body.
            frame = framing::until_close;
            close = true;
        }
    } else {
        frame = framing::fixed;
        length = head_request && r.content_length && r.body.empty() ? *r.content_length : r.body.size();
        res.content_length(length);
    }
    if (close)
        res.set(field::connection, "close");
    else if (!client11)
        res.set(field::connection, "keep-alive");

    bhttp::response_serializer<bhttp::buffer_body> sr{res};
    lowest().expires_after(opt_.write_timeout);

    if (head_request || bodiless_status || (!r.source && r.body.empty())) {
        auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, use_tuple);
        co_return ec;
    }

    if (!r.source) {
        body_account_.set(r.body.size());
        res.body().data = r.body.data();
        res.body().size = r.body.size();
        res.body().more = false;
        auto [ec, n] = co_await bhttp::async_write(stream_, sr, use_tuple);
        body_account_.set(0);
        if (!ec) bytes_out = r.body.size();
        co_return ec;
    }

    // Streamed body: pull one chunk, write it, repeat. Memory: one chunk.
    if (chunk_.empty()) {
        chunk_.resize(std::max<std::size_t>(opt_.response_chunk_bytes, 4096));
        chunk_account_.set(chunk_.size());
    }
    res.body().data = nullptr;
    res.body().more = true;
    {
        auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, use_tuple);
        if (ec) co_return ec;
    }
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        // A file's range on a plain connection: the kernel copies it from the page cache
        // to the socket. (Through TLS the bytes must pass through OpenSSL: read() below.)
        const auto f = frame == framing::fixed ? r.source->file() : std::nullopt;
        if (f && f->length == length && length > 0) {
            std::uint64_t sent = 0;
            bool unsupported = false;
            const auto ec = co_await send_file(*f, sent, unsupported);
            bytes_out = sent;
            impl_.sendfile_bytes->inc(sent);
            if (!unsupported) {
                if (ec) close = true;
                co_return ec;
            }
            // The file system cannot sendfile and nothing went: the bytes go through read().
        }
    }
    std::uint64_t sent = 0;
    for (;;) {
        result<std::size_t> got = errc::internal;
        try {
            got = co_await r.source->read(std::span<char>(chunk_.data(), chunk_.size()));
        } catch (const std::exception& e) {
            log::error("http.body_source_error", {{"conn", info_.id}, {"req", request_id}, {"error", e.what()}});
            got = errc::internal;
        }
        if (!got) {
            close = true;
            co_return got.error();
        }
        const std::size_t n = *got;
        if (n > chunk_.size() || (frame == framing::fixed && (sent + n > length || (n == 0 && sent != length)))) {
            log::error("http.body_length_mismatch", {{"conn", info_.id},
                                                     {"req", request_id},
                                                     {"announced", length},
                                                     {"produced", sent + n}});
            close = true;
            co_return errc::internal;
        }
        if (n == 0) {
            res.body().data = nullptr;
            res.body().size = 0;
            res.body().more = false;
        } else {
            res.body().data = chunk_.data();
            res.body().size = n;
            res.body().more = true;
        }
        lowest().expires_after(opt_.write_timeout);
        auto [ec, w] = co_await bhttp::async_write(stream_, sr, use_tuple);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec) co_return ec;
        sent += n;
        bytes_out = sent;
        if (n == 0) break;
    }
    co_return error_code{};
}

// send_file - f's bytes to the plain socket with sendfile(2), as fast as the client
// takes them: the socket is non-blocking, and when its buffer is full the coroutine
// waits (write_timeout at most) until it is writable. Each call sends at most 4 MiB,
// and between two calls the coroutine yields (a wait, or a post when the socket took
// everything), so one fast download never keeps the thread from the other
// connections. `unsupported`: sendfile refused the descriptor before any byte went
// (EINVAL, ENOSYS; ESPIPE: not seekable), and the caller may send it another way.
template <class Stream>
awaitable<error_code> session<Stream>::send_file(const file_range& f, std::uint64_t& sent, bool& unsupported) {
    constexpr std::uint64_t max_call = 4u << 20;
    auto& sock = lowest().socket();
    error_code ec;
    sock.native_non_blocking(true, ec);
    if (ec) co_return ec;
    // The deadline of each wait: a timer on this session's strand cancels the wait;
    // `waiting` keeps a late timer from touching the socket after the wait ended.
    const auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    auto waiting = std::make_shared<bool>(false);
    while (sent < f.length) {
        auto offset = static_cast<off_t>(f.offset + sent);
        const auto want = static_cast<std::size_t>(std::min(f.length - sent, max_call));
        const ssize_t n = ::sendfile(sock.native_handle(), f.fd, &offset, want);
        if (n > 0) {
            sent += static_cast<std::uint64_t>(n);
            if (sent == f.length) break;
            if (static_cast<std::size_t>(n) == want) {
                // A client as fast as the disk never makes sendfile wait: let the other
                // connections of this thread have their turn.
                co_await asio::post(ex, asio::use_awaitable);
                continue;
            }
        } else if (n == 0) {
            co_return errc::internal;   // the file is shorter than announced: a damaged store
        } else if (errno == EINTR) {
            continue;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
            const int err = errno;
            if (sent == 0 && (err == EINVAL || err == ENOSYS || err == ESPIPE)) unsupported = true;
            co_return error_code(err, boost::system::system_category());
        }
        *waiting = true;
        timer.expires_after(opt_.write_timeout);
        timer.async_wait([waiting, &sock](const error_code& e) {
            if (!e && *waiting) sock.cancel();
        });
        auto [wec] = co_await sock.async_wait(asio::ip::tcp::socket::wait_write, use_tuple);
        *waiting = false;
        timer.cancel();
        if (wec == asio::error::operation_aborted) co_return errc::timeout;
        if (wec) co_return wec;
    }
    co_return error_code{};
}

template <class Stream>
awaitable<void> session<Stream>::answer_problem(const request_problem& p, const request_decoder& dec,
                                                clock::time_point start) {
    auto res = error_response(static_cast<status>(p.status), p.reason);
    bool close = true;
    std::uint64_t out = 0;
    const auto id = make_request_id();
    // The head may be only partly parsed: no version to rely on, answer as 1.1.
    co_await write_response(res, nullptr, false, id, close, out);
    log::info("http.bad_request", {{"conn", info_.id}, {"req", id}, {"status", p.status}, {"reason", p.reason}});
    finish("-", "-", id, p.status, 0, out, start, {});
}

template <class Stream>
awaitable<void> session<Stream>::close_connection() {
    idle_->idle = false;
    error_code ignored;
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
        if (lowest().socket().is_open()) {
            lowest().expires_after(tls_shutdown_timeout);
            auto [ec] = co_await stream_.async_shutdown(use_tuple);
        }
    } else {
        if (lowest().socket().is_open()) {
            lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
            // Lingering close: read and drop what the client still sends, so the
            // response just written is not destroyed by a reset.
            lowest().expires_after(linger_timeout);
            std::size_t dropped = 0;
            std::array<char, 16 * 1024> scratch;
            while (dropped < linger_bytes) {
                auto [ec, n] = co_await lowest().async_read_some(asio::buffer(scratch), use_tuple);
                if (ec) break;
                dropped += n;
            }
        }
    }
    lowest().socket().close(ignored);
}

template <class Stream>
void session<Stream>::finish(std::string_view method, std::string_view path, std::string_view id, unsigned code,
                             std::uint64_t in, std::uint64_t out, clock::time_point start, std::string_view user) {
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    impl_.requests(opt_.service, method_label(method), code).inc();
    impl_.duration->observe(seconds);
    if (opt_.access_log && log::enabled(log::level::info)) {
        log::info("http.access", {{"conn", info_.id},
                                  {"req", id},
                                  {"service", opt_.service},
                                  {"peer", info_.peer_address},
                                  {"method", truncate(method, 32)},
                                  {"path", truncate(path, 512)},
                                  {"status", code},
                                  {"in", in},
                                  {"out", out},
                                  {"ms", seconds * 1000.0},
                                  {"user", user.empty() ? std::string_view("-") : user}});
    }
}

}  // namespace

status status_for_body_error(const error_code& ec) {
    if (polder::is(ec, errc::limit_exceeded)) return status::payload_too_large;
    if (polder::is(ec, errc::timeout)) return status::request_timeout;
    return status::bad_request;
}

// ---------------------------------------------------------------------------

server::server(router routes, server_options options)
    : routes_(std::move(routes)), options_(std::move(options)), impl_(std::make_unique<impl>()) {
    auto& reg = metrics::registry::global();
    impl_->duration = &reg.histogram_("polder_http_request_duration_seconds",
                                      "Time from the first byte of a request head to the end of its response",
                                      {{"service", options_.service}});
    impl_->in_flight = &reg.gauge_("polder_http_requests_in_flight", "Requests being handled now",
                                   {{"service", options_.service}});
    impl_->sendfile_bytes = &reg.counter_("polder_http_sendfile_bytes_total",
                                          "Response body bytes sent with sendfile(2), from a file to the socket",
                                          {{"service", options_.service}});
}

server::~server() = default;

net::handler server::handler() {
    return [self = shared_from_this()](asio::ip::tcp::socket socket, net::connection_info info) -> awaitable<void> {
        co_await self->serve(std::move(socket), std::move(info));
    };
}

awaitable<void> server::serve(asio::ip::tcp::socket socket, net::connection_info info) {
    impl_->active.fetch_add(1);
    struct active_guard {
        std::atomic<std::size_t>& n;
        ~active_guard() { n.fetch_sub(1); }
    } guard{impl_->active};

    if (info.shutting_down()) co_return;
    beast::tcp_stream tcp(std::move(socket));
    try {
        if (info.tls == net::tls_mode::implicit) {
            if (!options_.tls) {
                log::error("http.no_tls_context", {{"conn", info.id}, {"listener", info.listener}});
                co_return;
            }
            auto ctx = options_.tls->current();   // kept for the connection's lifetime (reload-safe)
            asio::ssl::stream<beast::tcp_stream> tls(std::move(tcp), *ctx);
            beast::get_lowest_layer(tls).expires_after(options_.tls_handshake_timeout);
            auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_tuple);
            if (ec) {
                log::debug("http.tls_handshake_failed", {{"conn", info.id}, {"error", ec}});
                co_return;
            }
            session<asio::ssl::stream<beast::tcp_stream>> s(*this, *impl_, tls, info, true);
            co_await s.run();
        } else {
            session<beast::tcp_stream> s(*this, *impl_, tcp, info, false);
            co_await s.run();
        }
    } catch (const std::exception& e) {
        log::error("http.connection_error", {{"conn", info.id}, {"error", e.what()}});
    }
}

buffer_stats server::buffered() const {
    return {impl_->buffered.load(), impl_->peak.load()};
}

void server::reset_peak() { impl_->peak.store(impl_->buffered.load()); }

std::size_t server::active_connections() const { return impl_->active.load(); }

}  // namespace polder::http
