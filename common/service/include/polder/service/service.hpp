// polder/service/service.hpp - the shared skeleton of every Polder daemon.
//
// A service's main() declares what it is and hands control here (habit:
// Postfix's single_server_main):
//
//   int main(int argc, char** argv) {
//       return polder::service::run(argc, argv, {
//           .name = "imapd",
//           .common = [](const config::settings& s) -> const config::service_common& { return s.imap.common; },
//           .start = [](service::context& ctx) -> result<void> { ...ctx.server.listen(...)... },
//       });
//   }
//
// run() does, in order: parse the command line (--config, --check-config,
// --user, --version, --help); load and validate the configuration (every
// problem listed, exit 78 = EX_CONFIG); set up logging; load the TLS
// certificate (if configured); create the runtime, the listeners (start());
// start the admin listener (/healthz, /metrics); drop root privileges to the
// service user once every socket is bound and every key file read; then run
// until SIGTERM/SIGINT, stop gracefully, stop the database pool, and return 0.
// Symmetric: everything created is torn down in reverse order.
//
// SECURITY: a daemon started as root binds its sockets, reads its TLS key, and
// then irrevocably drops to --user (default "polder": setgroups, setgid,
// setuid; it refuses to continue as root when the user does not exist). The
// configuration is logged redacted (no passwords).
//
// STANDARDS: sysexits.h exit codes (64 usage, 69 unavailable, 70 software, 78 config).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/blob/fs_store.hpp"
#include "polder/config/config.hpp"
#include "polder/core/error.hpp"
#include "polder/db/pool.hpp"
#include "polder/net/runtime.hpp"
#include "polder/net/server.hpp"
#include "polder/net/tls_context.hpp"

#include <functional>
#include <memory>
#include <string>
#include <type_traits>

namespace polder::service {

inline constexpr int exit_ok = 0;
inline constexpr int exit_usage = 64;        // EX_USAGE
inline constexpr int exit_unavailable = 69;  // EX_UNAVAILABLE: a listener could not be bound, ...
inline constexpr int exit_software = 70;     // EX_SOFTWARE: an unexpected failure
inline constexpr int exit_config = 78;       // EX_CONFIG

// context - what a service's start() gets: everything is already created and
// outlives every session. The service may keep references.
struct context {
    const config::settings& settings;
    net::runtime& runtime;
    net::server& server;
    std::shared_ptr<net::tls_context> tls;   // null when tls.cert_file is not configured
    db::pool& pool;
    blob::fs_store& blobs;
    // on_stop - called when the service begins its graceful stop (before sessions end).
    std::function<void(std::function<void()>)> on_stop;
    // file_io - threads for blocking file work (blob commits, parsing stored blobs); see
    // on_file_io below.
    asio::thread_pool& file_io;
};

// file_io_threads - the size of context::file_io. A blob commit waits for two fsyncs
// (several ms each on a VM disk) and a thread waiting in fsync costs no CPU; the file
// system folds concurrent fsyncs into one journal commit, so many waiting threads give
// many times the throughput of few. Blocking work must not run on the I/O threads (it
// stalls every connection of the thread) nor on database threads (it holds a connection).
inline constexpr unsigned file_io_threads = 16;

namespace detail {
template <class F>
awaitable<std::invoke_result_t<F&>> call_blocking(F f) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
        f();
        co_return;
    } else {
        co_return f();
    }
}
}  // namespace detail

// on_file_io - runs f() on `pool` and resumes the caller on its own executor with f's
// value; an exception thrown by f is rethrown in the caller. f may capture the caller's
// locals by reference (the caller is suspended meanwhile).
template <class F>
awaitable<std::invoke_result_t<F&>> on_file_io(asio::thread_pool& pool, F f) {
    co_return co_await asio::co_spawn(pool.get_executor(), detail::call_blocking(std::move(f)), use_awaitable);
}

struct definition {
    std::string name;   // "smtpd", "imapd", ...: process and metrics name
    // common - the [<service>] section's shared part (threads, admin port, limits).
    std::function<const config::service_common&(const config::settings&)> common;
    // start - bind the service's listeners on ctx.server (ports are bound, not yet
    // accepting for another thread) and start background work. Errors end the
    // process with exit 69 after logging them.
    std::function<result<void>(context&)> start;
    // health - optional extra readiness check for /healthz (the database is always checked).
    std::function<awaitable<bool>(context&)> health;
};

// run - the whole life of a service process; returns the process exit code.
int run(int argc, char** argv, const definition& def);

// limits_for - net::limits from a service's common settings.
net::limits limits_for(const config::service_common& c);

// drop_privileges - if running as root, switch to user (setgroups/setgid/setuid)
// and verify root cannot be regained. Errors: errc::not_found (no such user),
// the system error of the failing call. No-op when not root.
result<void> drop_privileges(const std::string& user);

}  // namespace polder::service
