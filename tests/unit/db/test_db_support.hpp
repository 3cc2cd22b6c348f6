// test_db_support.hpp - a throwaway database per test in the test cluster.
//
// The cluster comes from POLDER_TEST_PGHOST / POLDER_TEST_PGPORT /
// POLDER_TEST_PGUSER (scripts/dev test exports them). Without them the test
// FAILS with a message saying so; it never skips silently.
// SECURITY: test-only code; database names are generated, never user input.
// STANDARDS: none.
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/db/connection.hpp"

#include <exception>
#include <string>
#include <string_view>

namespace polder::db::test {

// cluster_options - the test cluster's superuser on database "postgres".
// Throws std::runtime_error when the environment variables are missing.
connection_options cluster_options();

// unique_name - prefix + "_" + pid + "_" + random, lower-case, <= 63 bytes.
std::string unique_name(std::string_view prefix);

// temp_database - CREATE DATABASE on construction, DROP ... WITH (FORCE) on
// destruction (terminating any connection still open to it).
class temp_database {
public:
    explicit temp_database(std::string_view tag);
    ~temp_database();
    temp_database(const temp_database&) = delete;
    temp_database& operator=(const temp_database&) = delete;

    const std::string& name() const { return name_; }
    connection_options options() const;  // connects to this database

private:
    std::string name_;
};

// closed_port - a TCP port on 127.0.0.1 nothing listens on (bound, then released).
unsigned short closed_port();

// silent_listener - a TCP listener on 127.0.0.1 that never accepts nor
// answers: the kernel completes the handshake, so a client waits for a
// server greeting that never comes (connect timeouts, prompt stop()).
class silent_listener {
public:
    silent_listener();
    ~silent_listener();
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;
    unsigned short port() const { return port_; }

private:
    int fd_ = -1;
    unsigned short port_ = 0;
};

// run_io - runs the coroutine to its end on io (one thread); rethrows what it threw.
template <class Awaitable>
void run_io(asio::io_context& io, Awaitable a) {
    std::exception_ptr error;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e) { error = e; });
    io.run();
    if (error) std::rethrow_exception(error);
}

}  // namespace polder::db::test
