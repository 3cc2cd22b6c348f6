// service.cpp - the skeleton every Polder daemon runs (see service.hpp).
//
// SECURITY: privilege drop after binding; redacted configuration in logs;
// unexpected exceptions end the process with exit 70 after logging, never with
// a half-running service.
#include "polder/service/service.hpp"

#include "memory_trim.hpp"

#include "polder/auth/audit.hpp"
#include "polder/db/config.hpp"
#include "polder/http/admin_server.hpp"
#include "polder/log/log.hpp"
#include "polder/service/periodic.hpp"

#include <CLI/CLI.hpp>
#include <pqxx/nontransaction>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <variant>

namespace polder::service {

net::limits limits_for(const config::service_common& c) {
    net::limits l;
    l.max_connections = c.max_connections;
    l.max_connections_per_ip = c.max_connections_per_ip;
    l.idle_timeout = std::chrono::seconds(c.idle_timeout_seconds);
    l.shutdown_grace = std::chrono::seconds(c.shutdown_grace_seconds);
    // Checked when the configuration was loaded (load.cpp, the same parse_prefixes).
    auto balancers = net::parse_networks(c.proxy_protocol_from);
    if (!balancers) throw std::invalid_argument("proxy_protocol_from: not a list of addresses and prefixes");
    l.proxy_from = std::move(*balancers);
    return l;
}

result<void> drop_privileges(const std::string& user) {
    if (::geteuid() != 0) return {};
    errno = 0;
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr) {
        if (errno != 0) return boost::system::error_code(errno, boost::system::system_category());
        return errc::not_found;
    }
    if (pw->pw_uid == 0) return errc::invalid_argument;   // "dropping" to another root account is no drop
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    auto sys = [] { return boost::system::error_code(errno, boost::system::system_category()); };
    if (::setgroups(1, &gid) != 0) return sys();
    if (::setgid(gid) != 0) return sys();
    if (::setuid(uid) != 0) return sys();
    if (::setuid(0) == 0) return errc::internal;   // root must not be regainable
    return {};
}

namespace {

// audit_expiry - every service deletes audit events older than audit.retention_days, so
// a deployment that runs only some of the services still keeps its trail in bounds;
// purge_audit's SKIP LOCKED lets the services' rounds overlap harmlessly.
std::unique_ptr<periodic_task> audit_expiry(const config::audit_settings& a, db::pool& pool) {
    if (a.retention_days == 0) return nullptr;
    return std::make_unique<periodic_task>(
        "audit.expiry", std::chrono::seconds(a.expire_interval_seconds),
        [&pool, days = a.retention_days](const std::atomic<bool>& stopping) -> awaitable<void> {
            const auto cutoff = std::chrono::system_clock::now() - std::chrono::hours(24) * days;
            const auto n = co_await pool.run(
                [cutoff, &stopping](pqxx::connection& c) { return auth::purge_audit(c, cutoff, 10'000, &stopping); });
            if (n > 0)
                log::info("audit.expired", {{"events", n}, {"retention_days", static_cast<std::int64_t>(days)}});
        });
}

int run_checked(const definition& def, const config::settings& cfg, const std::string& user) {
    const config::service_common& common = def.common(cfg);

    std::shared_ptr<net::tls_context> tls;
    if (!cfg.tls.cert_file.empty()) {
        auto loaded = net::tls_context::load(cfg.tls.cert_file, cfg.tls.key_file);
        if (!loaded) {
            std::cerr << "polder-" << def.name << ": cannot load TLS certificate " << cfg.tls.cert_file
                      << " / key " << cfg.tls.key_file << ": " << loaded.error().message() << "\n";
            return exit_config;
        }
        tls = *loaded;
    }

    net::runtime rt(common.threads);
    db::pool pool(db::from_config(cfg.database, "polder-" + def.name), cfg.database.pool_size);
    blob::fs_store blobs(cfg.blob.path);
    net::server srv(rt, limits_for(common), tls);

    asio::thread_pool file_io(file_io_threads);

    context ctx{cfg, rt, srv, tls, pool, blobs,
                [&rt](std::function<void()> cb) { rt.on_stop(std::move(cb)); }, file_io};

    if (auto started = def.start(ctx); !started) {
        log::error("service.start_failed", {{"service", def.name}, {"error", started.error().message()}});
        std::cerr << "polder-" << def.name << ": cannot start: " << started.error().message() << "\n";
        pool.stop();
        return exit_unavailable;
    }

    http::admin_server admin(def.name, [&]() -> awaitable<bool> {
        bool db_ok = co_await pool.run([](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec("SELECT 1").size() == 1;
        });
        if (!db_ok) co_return false;
        if (def.health) co_return co_await def.health(ctx);
        co_return true;
    });
    if (common.admin_port != 0) {
        if (auto r = admin.listen(srv, common.admin_address, common.admin_port); !r) {
            std::cerr << "polder-" << def.name << ": cannot listen on admin port " << common.admin_address << ":"
                      << common.admin_port << ": " << r.error().message() << "\n";
            pool.stop();
            return exit_unavailable;
        }
    }

    if (auto dropped = drop_privileges(user); !dropped) {
        std::cerr << "polder-" << def.name << ": running as root and cannot switch to user '" << user
                  << "': " << dropped.error().message() << "\n";
        pool.stop();
        return exit_config;
    }

    auto expiry = audit_expiry(cfg.audit, pool);
    if (expiry) {
        expiry->start(rt.io().get_executor());
        rt.on_stop([e = expiry.get()] { e->stop(); });
    }

    log::info("service.started", {{"service", def.name}, {"pid", static_cast<std::int64_t>(::getpid())},
                                  {"threads", static_cast<std::int64_t>(common.threads)}});
    {
        memory_trimmer trimmer(std::chrono::seconds(2), 8u << 20);
        rt.run();
    }
    file_io.join();
    pool.stop();
    log::info("service.stopped", {{"service", def.name}});
    return exit_ok;
}

}  // namespace

int run(int argc, char** argv, const definition& def) {
    CLI::App app{"polder-" + def.name + " - part of Polder, mail, calendars and files on open standards"};
    std::string config_path = config::default_path().string();
    std::string user = "polder";
    bool check_only = false;
    bool version = false;
    app.add_option("--config", config_path, "configuration file (default: $POLDER_CONFIG or /etc/polder/polder.toml)");
    app.add_option("--user", user, "unprivileged user to switch to when started as root")->capture_default_str();
    app.add_flag("--check-config", check_only, "validate the configuration, print it redacted, and exit");
    app.add_flag("--version", version, "print the version and exit");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_ok : exit_usage;
    }
    if (version) {
        std::cout << "polder-" << def.name << " " << POLDER_VERSION << "\n";
        return exit_ok;
    }

    auto loaded = config::load(config_path);
    if (auto* err = std::get_if<config::load_error>(&loaded)) {
        std::cerr << "polder-" << def.name << ": invalid configuration " << config_path << ":\n" << err->message() << "\n";
        return exit_config;
    }
    const auto& cfg = std::get<config::settings>(loaded);
    if (check_only) {
        std::cout << config::redacted(cfg);
        return exit_ok;
    }
    log::init(log::parse_level(cfg.log.level).value_or(log::level::info),
              log::parse_format(cfg.log.format).value_or(log::format::text));
    log::info("service.config", {{"service", def.name}, {"file", cfg.source_path}});

    try {
        return run_checked(def, cfg, user);
    } catch (const std::exception& e) {
        log::error("service.crashed", {{"service", def.name}, {"error", e.what()}});
        std::cerr << "polder-" << def.name << ": " << e.what() << "\n";
        return exit_software;
    }
}

}  // namespace polder::service
