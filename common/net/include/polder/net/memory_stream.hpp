// polder/net/memory_stream.hpp - a stream whose peer is the test: scripted
// client input (delivered in fragments of a chosen size) and captured server
// output, so a whole protocol session runs in memory.
//
//   asio::io_context io;
//   net::memory_stream s(io.get_executor());
//   s.set_fragment_size(5);                 // network bytes arrive split anywhere
//   s.feed("a1 NOOP\r\n");
//   s.feed_eof();
//   co_spawn(io, session(s), detached); io.run();
//   CHECK(s.output() == "a1 OK NOOP completed\r\n");
//
// Interactive tests feed a line, then `co_await s.client_read_until("\r\n")`
// to receive the reply before sending the next one.
//
// Not thread-safe: use it from one thread (the io_context's).
// read_some without input waits for feed()/feed_eof() (or the timeout set
// with set_timeout, which then yields errc::timeout like a real socket).
//
// SECURITY: test support only; it never touches the network.
// STANDARDS: none.
#pragma once

#include "polder/net/stream.hpp"

#include <deque>
#include <optional>

namespace polder::net {

class memory_stream final : public stream {
public:
    explicit memory_stream(asio::any_io_executor ex, std::string input = {},
                           std::size_t fragment_size = static_cast<std::size_t>(-1));
    ~memory_stream() override;

    // ---- the test's side ----
    void feed(std::string_view bytes);         // more client input
    void feed_eof();                           // after the input that is left: eof
    void set_fragment_size(std::size_t n);     // at most n bytes per read_some (n >= 1)
    const std::string& output() const { return output_; }  // everything the server wrote
    std::string take_output();                 // output() since the last take/client read, consumed
    // client_read_until - waits until unconsumed output contains delim and
    // returns it through delim (consumed). errc::timeout after `timeout`,
    // asio::error::eof if the server closed before.
    awaitable<result<std::string>> client_read_until(std::string_view delim,
                                                     std::chrono::steady_clock::duration timeout = std::chrono::seconds(5));
    bool closed() const { return closed_; }
    std::size_t input_pending() const { return input_.size(); }
    std::size_t tls_upgrades() const { return tls_upgrades_; }
    // output().size() when start_tls() was last called: bytes before it were "plaintext".
    std::size_t output_before_tls() const { return output_before_tls_; }
    void fail_start_tls(boost::system::error_code ec) { start_tls_error_ = ec; }
    void fail_writes(boost::system::error_code ec) { write_error_ = ec; }

    // ---- the server's side (stream) ----
    awaitable<result<std::size_t>> read_some(asio::mutable_buffer) override;
    awaitable<result<void>> write(std::string_view bytes) override;
    awaitable<result<void>> start_tls() override;
    bool tls_active() const override { return tls_; }
    void set_timeout(std::chrono::steady_clock::duration d) override { timeout_ = d; }
    void cancel() override;
    void close() override;
    std::string tls_description() const override { return tls_ ? "memory-tls" : ""; }

private:
    void wake_readers();
    void wake_client();

    asio::any_io_executor ex_;
    std::deque<char> input_;
    bool input_eof_ = false;
    std::size_t fragment_ = static_cast<std::size_t>(-1);
    std::string output_;
    std::size_t client_pos_ = 0;
    bool closed_ = false;
    bool tls_ = false;
    std::size_t tls_upgrades_ = 0;
    std::size_t output_before_tls_ = 0;
    std::chrono::steady_clock::duration timeout_{};
    boost::system::error_code start_tls_error_;
    boost::system::error_code write_error_;
    bool cancel_requested_ = false;  // consumed by the next read, like tcp_stream
    // Timers that never expire on their own serve as events: cancel() wakes the waiter.
    asio::steady_timer input_event_;
    asio::steady_timer output_event_;
};

}  // namespace polder::net
