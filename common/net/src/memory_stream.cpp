// memory_stream.cpp - the in-memory stream tests script sessions with.
//
// SECURITY: test support; no network. Behaves like tcp_stream where sessions
// can observe it: eof after the input, errc::timeout from set_timeout,
// operation_aborted from cancel(), errors after close().
//
// STANDARDS: none.
#include "polder/net/memory_stream.hpp"

#include <algorithm>

namespace polder::net {

using boost::system::error_code;
using clock = std::chrono::steady_clock;

memory_stream::memory_stream(asio::any_io_executor ex, std::string input, std::size_t fragment_size)
    : ex_(ex), input_event_(ex), output_event_(ex) {
    set_fragment_size(fragment_size);
    feed(input);
}

memory_stream::~memory_stream() = default;

void memory_stream::feed(std::string_view bytes) {
    input_.insert(input_.end(), bytes.begin(), bytes.end());
    wake_readers();
}

void memory_stream::feed_eof() {
    input_eof_ = true;
    wake_readers();
}

void memory_stream::set_fragment_size(std::size_t n) { fragment_ = n == 0 ? 1 : n; }

std::string memory_stream::take_output() {
    std::string s = output_.substr(client_pos_);
    client_pos_ = output_.size();
    return s;
}

void memory_stream::wake_readers() { input_event_.cancel(); }
void memory_stream::wake_client() { output_event_.cancel(); }

awaitable<result<std::string>> memory_stream::client_read_until(std::string_view delim,
                                                                clock::duration timeout) {
    auto deadline = clock::now() + timeout;
    for (;;) {
        auto pos = output_.find(delim, client_pos_);
        if (pos != std::string::npos) {
            std::string s = output_.substr(client_pos_, pos + delim.size() - client_pos_);
            client_pos_ = pos + delim.size();
            co_return s;
        }
        if (closed_) co_return error_code(asio::error::eof);
        if (clock::now() >= deadline) co_return error_code(errc::timeout);
        output_event_.expires_at(deadline);
        co_await output_event_.async_wait(use_tuple);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return error_code(asio::error::operation_aborted);
    }
}

awaitable<result<std::size_t>> memory_stream::read_some(asio::mutable_buffer buf) {
    if (buf.size() == 0) co_return std::size_t{0};
    const auto deadline = timeout_ > clock::duration::zero() ? clock::now() + timeout_ : clock::time_point::max();
    for (;;) {
        if (closed_) co_return error_code(asio::error::not_connected);
        if (cancel_requested_) {
            cancel_requested_ = false;
            co_return error_code(asio::error::operation_aborted);
        }
        if (!input_.empty()) {
            std::size_t n = std::min({buf.size(), fragment_, input_.size()});
            std::copy_n(input_.begin(), n, static_cast<char*>(buf.data()));
            input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(n));
            co_return n;
        }
        if (input_eof_) co_return error_code(asio::error::eof);
        if (clock::now() >= deadline) co_return error_code(errc::timeout);
        // Wait for feed()/feed_eof()/cancel()/close() (they cancel the timer) or the deadline.
        input_event_.expires_at(deadline);
        co_await input_event_.async_wait(use_tuple);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return error_code(asio::error::operation_aborted);
    }
}

awaitable<result<void>> memory_stream::write(std::string_view bytes) {
    if (closed_) co_return error_code(asio::error::not_connected);
    if (write_error_) co_return write_error_;
    output_.append(bytes);
    wake_client();
    co_return result<void>{};
}

awaitable<result<void>> memory_stream::start_tls() {
    if (tls_) co_return error_code(errc::invalid_argument);
    if (closed_) co_return error_code(asio::error::not_connected);
    if (start_tls_error_) {
        close();  // like a failed handshake on a real socket
        co_return start_tls_error_;
    }
    tls_ = true;
    ++tls_upgrades_;
    output_before_tls_ = output_.size();
    co_return result<void>{};
}

void memory_stream::cancel() {
    cancel_requested_ = true;
    wake_readers();
}

void memory_stream::close() {
    closed_ = true;
    wake_readers();
    wake_client();
}

}  // namespace polder::net
