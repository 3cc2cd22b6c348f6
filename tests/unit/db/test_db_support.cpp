// test_db_support.cpp - throwaway databases for the polder::db tests.
// SECURITY: test-only. STANDARDS: none.
#include "test_db_support.hpp"

#include <pqxx/pqxx>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <stdexcept>

// libpqxx 6.4 leaks the PGresult of a statement that fails because the
// connection just broke: make_result() asks the dead connection for its
// client encoding and throws before the result is owned ("Could not obtain
// client encoding: not connected"; fixed upstream in libpqxx 7). The tests
// break connections on purpose, so that one known leak is suppressed here;
// libpqxx carries no symbols, so the library is the narrowest pattern.
extern "C" const char* __lsan_default_suppressions() { return "leak:libpqxx-6.4.so\n"; }

namespace polder::db::test {

connection_options cluster_options() {
    const char* host = std::getenv("POLDER_TEST_PGHOST");
    const char* port = std::getenv("POLDER_TEST_PGPORT");
    const char* user = std::getenv("POLDER_TEST_PGUSER");
    if (!host || !*host || !port || !*port || !user || !*user)
        throw std::runtime_error(
            "the database tests need a PostgreSQL cluster: set POLDER_TEST_PGHOST, POLDER_TEST_PGPORT and "
            "POLDER_TEST_PGUSER (scripts/dev test does this)");
    connection_options o;
    o.host = host;
    o.port = static_cast<std::uint16_t>(std::stoi(port));
    o.user = user;
    o.dbname = "postgres";
    o.application_name = "polder-test-db";
    return o;
}

std::string unique_name(std::string_view prefix) {
    static std::mt19937_64 rng{std::random_device{}()};
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string suffix;
    for (int i = 0; i < 8; ++i) suffix += digits[rng() % 36];
    std::string name = std::string(prefix) + "_" + std::to_string(::getpid()) + "_" + suffix;
    if (name.size() > 63) name = name.substr(name.size() - 63);
    return name;
}

temp_database::temp_database(std::string_view tag) : name_(unique_name("t_db_" + std::string(tag))) {
    auto admin = connect(cluster_options());
    pqxx::nontransaction tx(*admin);
    tx.exec("CREATE DATABASE " + tx.quote_name(name_));
}

temp_database::~temp_database() {
    try {
        auto admin = connect(cluster_options());
        pqxx::nontransaction tx(*admin);
        tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
    } catch (...) {
        // A leftover t_db_* database is harmless in a throwaway cluster.
    }
}

connection_options temp_database::options() const {
    auto o = cluster_options();
    o.dbname = name_;
    return o;
}

unsigned short closed_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    ::close(fd);  // bound but never listened: connecting is refused
    return ntohs(addr.sin_port);
}

silent_listener::silent_listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd_);
        throw std::runtime_error("listen failed");
    }
    port_ = ntohs(addr.sin_port);
}

silent_listener::~silent_listener() { ::close(fd_); }

}  // namespace polder::db::test
