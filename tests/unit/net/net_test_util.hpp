// net_test_util.hpp - helpers for the polder::net tests: running coroutines
// to completion with a deadline, a loopback client, self-signed certificates.
//
// SECURITY: test support only. Certificates are generated per test run in a
// private temporary folder (mkdtemp, mode 0700) and removed afterwards.
// STANDARDS: X.509 (RFC 5280) for the generated certificates.
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/core/error.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>

namespace polder::net_test {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

// run_coro - runs a coroutine on io until it finishes (at most `limit`),
// failing the test if it does not; rethrows its exception.
template <class T>
T run_coro(asio::io_context& io, asio::awaitable<T> a, std::chrono::seconds limit = std::chrono::seconds(30)) {
    auto fut = asio::co_spawn(io, std::move(a), asio::use_future);
    io.restart();
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (fut.wait_for(0s) != std::future_status::ready && std::chrono::steady_clock::now() < deadline) {
        io.run_for(50ms);
        if (io.stopped()) io.restart();
    }
    REQUIRE(fut.wait_for(0s) == std::future_status::ready);
    return fut.get();
}

// wait_until - polls pred (from the test thread) until true or the timeout.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

// read_line - one line (without CRLF/LF) from any Asio stream, with a timeout.
template <class S>
asio::awaitable<result<std::string>> read_line(S& s, std::string& buf, std::chrono::milliseconds timeout = 5000ms) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer t(co_await asio::this_coro::executor, timeout);
    auto r = co_await (asio::async_read_until(s, asio::dynamic_buffer(buf), "\n", use_tuple) || t.async_wait(use_tuple));
    if (r.index() == 1) co_return boost::system::error_code(errc::timeout);
    auto [ec, n] = std::get<0>(r);
    if (ec) co_return ec;
    std::string line = buf.substr(0, n);
    buf.erase(0, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    co_return line;
}

// line - read_line as text for assertions: the line, or "!eof", "!timeout",
// "!<error message>". Note: never put co_await inside a Catch2 assertion
// macro; GCC 12 may evaluate the awaited expression twice there.
template <class S>
asio::awaitable<std::string> line(S& s, std::string& buf, std::chrono::milliseconds timeout = 5000ms) {
    auto r = co_await read_line(s, buf, timeout);
    if (r) co_return *r;
    if (r.error() == asio::error::eof) co_return "!eof";
    if (is(r.error(), errc::timeout)) co_return "!timeout";
    co_return "!" + r.error().message();
}

template <class S>
asio::awaitable<void> write_all(S& s, std::string_view data) {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(data.data(), data.size()), use_tuple);
    REQUIRE_FALSE(ec);
}

inline asio::awaitable<result<tcp::socket>> connect(const std::string& address, std::uint16_t port) {
    tcp::socket sock(co_await asio::this_coro::executor);
    auto [ec] = co_await sock.async_connect(tcp::endpoint(asio::ip::make_address(address), port), use_tuple);
    if (ec) co_return ec;
    co_return std::move(sock);
}

// temp_dir - a private temporary folder removed at scope end.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "polder-net-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// write_self_signed - a fresh P-256 key and a self-signed certificate with
// subject CN=cn, valid from a minute ago for a day, as PEM files.
inline void write_self_signed(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                              const std::string& cn) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    REQUIRE(key != nullptr);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), static_cast<long>(std::rand() % 1000000 + 1));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
    BIO* cb = BIO_new_file(cert_file.c_str(), "w");
    REQUIRE(cb != nullptr);
    REQUIRE(PEM_write_bio_X509(cb, x) == 1);
    BIO_free(cb);
    BIO* kb = BIO_new_file(key_file.c_str(), "w");
    REQUIRE(kb != nullptr);
    REQUIRE(PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    BIO_free(kb);
    std::filesystem::permissions(key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    X509_free(x);
    EVP_PKEY_free(key);
}

// peer_common_name - the CN of the certificate the server presented.
inline std::string peer_common_name(SSL* ssl) {
    X509* peer = SSL_get1_peer_certificate(ssl);
    if (!peer) return {};
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
    X509_free(peer);
    return buf;
}

}  // namespace polder::net_test
