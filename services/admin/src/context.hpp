// context.hpp - what every polderctl command shares: exit codes, the one-line
// failure, lazily loaded configuration and database connection, the actor for
// the audit trail, and database error translation.
//
// SECURITY: polderctl runs with the operator's privileges and the database
// credentials from the config file. Errors are printed as one line without
// secrets (the connection string, which may hold a password, is never shown).
// Every change runs in one transaction (transact), so a failed command leaves
// nothing half-done.
// STANDARDS: sysexits(3) exit codes (EX_USAGE 64 is not used: 2 is the
// convention of command-line parsers), libpq error reporting.
#pragma once

#include "polder/auth/directory.hpp"
#include "polder/config/config.hpp"
#include "polder/db/db.hpp"

#include <pqxx/pqxx>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace polder::admin {

// Exit codes: the contract with scripts.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int refused = 1;        // not found, already exists, not empty, bad CSV lines...
inline constexpr int usage = 2;          // malformed arguments or input (address, size, password...)
inline constexpr int unavailable = 69;   // EX_UNAVAILABLE: database unreachable
inline constexpr int software = 70;      // EX_SOFTWARE: unexpected database or internal error
inline constexpr int config = 78;        // EX_CONFIG: configuration file invalid or unreadable
}  // namespace exit_code

// failure - ends the command: one line on stderr, this exit code. Thrown inside
// a transaction it also rolls the transaction back.
class failure : public std::runtime_error {
public:
    failure(int code, std::string message) : std::runtime_error(one_line(std::move(message))), code_(code) {}
    int code() const noexcept { return code_; }
    // one_line - newlines, tabs and other control characters become single spaces.
    static std::string one_line(std::string s);

private:
    int code_;
};

[[noreturn]] inline void refuse(std::string message) { throw failure(exit_code::refused, std::move(message)); }
[[noreturn]] inline void usage_error(std::string message) { throw failure(exit_code::usage, std::move(message)); }

struct global_options {
    std::string config_path;   // --config, else $POLDER_CONFIG, else /etc/polder/polder.toml
    bool verbose = false;
};

class context {
public:
    explicit context(global_options options) : options_(std::move(options)) {}

    // settings - loaded on first use. Throws failure(config) naming the key(s).
    const config::settings& settings();

    // connection - opened on first use. Throws failure(unavailable) naming host and port.
    pqxx::connection& connection();

    // transact - run f(pqxx::work&) in one transaction on a database whose schema
    // is current; database errors become failures.
    template <class F>
    auto transact(F&& f) {
        require_current_schema();
        return guarded([&] { return db::transact(connection(), std::forward<F>(f)); });
    }

    // guarded - run f, translating database exceptions into failures.
    template <class F>
    auto guarded(F&& f) {
        try {
            return f();
        } catch (const failure&) {
            throw;
        } catch (const std::exception& e) {
            translate_and_throw(e);
        }
    }

    // require_current_schema - refuse to work on a database with pending (or
    // unknown, newer) migrations.
    void require_current_schema();

    // who - the actor recorded in audit events: the OS user running polderctl.
    const auth::actor_context& who();

    // where - "host:port" of the configured database, for messages.
    std::string where();

private:
    [[noreturn]] void translate_and_throw(const std::exception& e);

    global_options options_;
    std::optional<config::settings> settings_;
    std::unique_ptr<pqxx::connection> conn_;
    std::optional<auth::actor_context> who_;
    bool schema_checked_ = false;
};

}  // namespace polder::admin
