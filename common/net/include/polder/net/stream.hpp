// polder/net/stream.hpp - the byte stream line protocols (SMTP, IMAP) talk
// through: plain TCP, TCP upgraded with STARTTLS, implicit TLS, or an
// in-memory script in tests (memory_stream.hpp).
//
// Outcomes are values: every operation returns result<>; it throws only on
// the unexpected (allocation failure) or when the session coroutine was
// cancelled by the server's forced shutdown.
//
// Timeouts: set_timeout(d) applies to each later read_some / write /
// start_tls. A read that times out is cancelled and yields errc::timeout; the
// stream stays open so the session can write a last line (SMTP "421", IMAP
// "* BYE") and close. A write or handshake that times out leaves the stream
// unusable: it is closed and yields errc::timeout. zero() means no timeout.
//
// Concurrency: one read and one write may be outstanding at once (IMAP IDLE
// reads while it writes updates); all calls must come from the stream's
// executor, which must be a strand or a single-threaded io_context (the
// server runs every session on its own strand).
//
// SECURITY: start_tls() reads nothing ahead, so no plaintext byte can end up
// inside the TLS session; callers must still check line_reader::buffered()
// == 0 before upgrading (STARTTLS command injection, CVE-2011-0411). A peer
// closing TLS without close_notify is reported as a plain eof.
//
// STANDARDS: RFC 3207 (SMTP STARTTLS), RFC 9051 section 6.2.1 (IMAP STARTTLS),
// RFC 8314 (implicit TLS).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"
#include "polder/net/connection.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace polder::net {

class tls_context;

class stream {
public:
    virtual ~stream();

    // read_some - at least one byte, or: asio::error::eof (peer closed),
    // errc::timeout, asio::error::operation_aborted (cancel()), other socket/TLS errors.
    virtual awaitable<result<std::size_t>> read_some(asio::mutable_buffer) = 0;
    // write - all of bytes (which must stay valid until it completes), or an error.
    virtual awaitable<result<void>> write(std::string_view bytes) = 0;
    // start_tls - server-side handshake. Errors: errc::unavailable (no TLS
    // configured), errc::invalid_argument (TLS already active), errc::timeout,
    // the handshake's TLS error (the stream is then closed).
    virtual awaitable<result<void>> start_tls() = 0;
    virtual bool tls_active() const = 0;
    virtual void set_timeout(std::chrono::steady_clock::duration) = 0;
    // cancel - outstanding operations complete with operation_aborted; if no
    // read is outstanding (or it completed meanwhile), the next read_some
    // does. So a shutdown callback can wake a session without racing it.
    virtual void cancel() = 0;
    virtual void close() = 0;

    // shutdown - polite end: TLS close_notify (bounded by a short timeout) then close.
    virtual awaitable<void> shutdown();
    // tls_description - e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384"; empty without TLS.
    // For logs and the SMTP Received: header.
    virtual std::string tls_description() const;
};

// make_tcp_stream - wraps an accepted socket; tls may be null (then
// start_tls() fails with errc::unavailable).
std::unique_ptr<stream> make_tcp_stream(asio::ip::tcp::socket, std::shared_ptr<tls_context> tls);
// ... and applies info.idle_timeout as the stream's timeout.
std::unique_ptr<stream> make_tcp_stream(asio::ip::tcp::socket, std::shared_ptr<tls_context> tls,
                                        const connection_info& info);

}  // namespace polder::net
