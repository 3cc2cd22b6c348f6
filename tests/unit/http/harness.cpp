// harness.cpp - loopback server fixture and a raw blocking client with timeouts.
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace polder::http::test {

namespace {

net::limits test_limits() {
    net::limits l;
    l.shutdown_grace = std::chrono::seconds(1);
    return l;
}

struct shared_lines {
    std::mutex mutex;
    std::vector<std::string> lines;
};

}  // namespace

test_server::test_server(router routes, server_options options, std::shared_ptr<net::tls_context> tls) {
    options.tls = tls;
    net_ = std::make_unique<net::server>(rt_, test_limits(), tls);
    http_ = std::make_shared<http::server>(std::move(routes), std::move(options));
    net::listener_config cfg;
    cfg.name = "test";
    cfg.address = "127.0.0.1";
    cfg.port = 0;
    cfg.tls = tls ? net::tls_mode::implicit : net::tls_mode::none;
    auto ok = net_->listen(cfg, http_->handler());
    if (!ok) throw std::runtime_error("listen failed: " + ok.error().message());
    port_ = net_->bound_port("test");
    thread_ = std::thread([this] { rt_.run(); });
}

test_server::~test_server() {
    rt_.stop();
    thread_.join();
}

raw_client::raw_client(std::uint16_t port, std::chrono::milliseconds timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error(std::string("connect failed: ") + std::strerror(errno));
}

raw_client::~raw_client() {
    if (fd_ >= 0) ::close(fd_);
}

void raw_client::send(std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("send failed: ") + std::strerror(errno));
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void raw_client::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool raw_client::fill() {
    char tmp[65536];
    for (;;) {
        const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n > 0) {
            buffer_.append(tmp, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) throw std::runtime_error("client read timed out");
        if (errno == ECONNRESET) return false;
        throw std::runtime_error(std::string("recv failed: ") + std::strerror(errno));
    }
}

template <class Parser>
void raw_client::pump(Parser& p) {
    // Head first, then the body until the parser is done.
    while (!p.is_done()) {
        if (!buffer_.empty()) {
            boost::beast::error_code ec;
            const auto used = p.put(boost::asio::buffer(buffer_.data(), buffer_.size()), ec);
            buffer_.erase(0, used);
            if (!ec) continue;
            if (ec != bhttp::error::need_more) throw std::runtime_error("bad response: " + ec.message());
        }
        if (!fill()) {
            boost::beast::error_code ec;
            p.put_eof(ec);
            if (ec) throw std::runtime_error("server closed before the response was complete");
            return;
        }
    }
}

bhttp::response<bhttp::string_body> raw_client::read_response(bool head_request) {
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(boost::none);
    p.eager(true);
    if (head_request) p.skip(true);
    pump(p);
    return p.release();
}

bhttp::response_header<> raw_client::read_streamed(const std::function<void(std::string_view)>& sink) {
    bhttp::response_parser<bhttp::buffer_body> p;
    p.body_limit(boost::none);
    p.eager(true);
    std::vector<char> chunk(64 * 1024);
    for (;;) {
        p.get().body().data = chunk.data();
        p.get().body().size = chunk.size();
        bool need_fill = buffer_.empty();
        if (!buffer_.empty()) {
            boost::beast::error_code ec;
            const auto used = p.put(boost::asio::buffer(buffer_.data(), buffer_.size()), ec);
            buffer_.erase(0, used);
            if (ec == bhttp::error::need_more)
                need_fill = true;
            else if (ec && ec != bhttp::error::need_buffer)
                throw std::runtime_error("bad response: " + ec.message());
        }
        const auto got = chunk.size() - p.get().body().size;
        p.get().body().data = nullptr;
        if (got) sink(std::string_view(chunk.data(), got));
        if (p.is_done()) break;
        if (got == 0 && need_fill && !fill()) {
            boost::beast::error_code ec;
            p.put_eof(ec);
            if (ec) throw std::runtime_error("server closed before the response was complete");
            break;
        }
    }
    return p.get().base();
}

bool raw_client::closed_by_server() {
    if (!buffer_.empty()) return false;
    try {
        return !fill() && buffer_.empty();
    } catch (const std::exception&) {
        return false;   // timed out: still open
    }
}

bool raw_client::drained_until_closed() {
    try {
        for (;;) {
            buffer_.clear();
            if (!fill()) return true;
        }
    } catch (const std::exception&) {
        return false;
    }
}

log_capture::log_capture() {
    auto shared = std::make_shared<shared_lines>();
    log::set_sink([shared](std::string_view line) {
        std::lock_guard lock(shared->mutex);
        shared->lines.emplace_back(line);
    });
    // Stash for reading.
    reader_ = [shared] {
        std::lock_guard lock(shared->mutex);
        return shared->lines;
    };
}

log_capture::~log_capture() { log::set_sink({}); }

std::vector<std::string> log_capture::lines() const { return reader_(); }

std::vector<std::string> log_capture::lines_with(std::string_view needle) const {
    std::vector<std::string> out;
    for (auto& l : lines())
        if (l.find(needle) != std::string::npos) out.push_back(l);
    return out;
}

std::string header_value(const bhttp::response_header<>& h, std::string_view name) {
    auto it = h.find(name);
    return it == h.end() ? std::string{} : std::string(it->value());
}

}  // namespace polder::http::test
