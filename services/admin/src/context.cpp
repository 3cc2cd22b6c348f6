// context.cpp - configuration, connection, schema check, actor and error
// translation for polderctl commands.
//
// SECURITY: messages name host, port, database and user, never the password;
// libpq's multi-line messages are folded into one line. The actor comes from
// the kernel's idea of the effective user (getpwuid(geteuid())), not from
// $USER, which the caller controls.
// STANDARDS: sysexits(3).
#include "context.hpp"

#include "polder/db/config.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace polder::admin {

std::string failure::one_line(std::string s) {
    std::string out;
    out.reserve(s.size());
    bool space = false;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

const config::settings& context::settings() {
    if (settings_) return *settings_;
    std::filesystem::path path = options_.config_path.empty() ? config::default_path()
                                                               : std::filesystem::path(options_.config_path);
    auto loaded = config::load(path);
    if (auto* err = std::get_if<config::load_error>(&loaded)) {
        std::string joined;
        for (const auto& p : err->problems) joined += (joined.empty() ? "" : "; ") + p;
        throw failure(exit_code::config, "invalid configuration " + path.string() + ": " + joined);
    }
    settings_ = std::move(std::get<config::settings>(loaded));
    return *settings_;
}

std::string context::where() {
    const auto& d = settings().database;
    return d.host + ":" + std::to_string(d.port);
}

pqxx::connection& context::connection() {
    if (conn_) return *conn_;
    auto options = db::from_config(settings().database);
    options.application_name = "polderctl";
    try {
        conn_ = db::connect(options);
    } catch (const db::connect_error& e) {
        throw failure(exit_code::unavailable, e.what());
    } catch (const std::exception& e) {
        throw failure(exit_code::unavailable, "cannot connect to PostgreSQL at " + where() + ": " + e.what());
    }
    return *conn_;
}

void context::require_current_schema() {
    if (schema_checked_) return;
    auto& conn = connection();
    auto status = guarded([&] { return db::migration_status(conn); });
    if (status.applied.empty())
        refuse("the database " + settings().database.name + " at " + where() +
               " has no Polder schema yet: run 'polderctl migrate' first");
    if (!status.unknown.empty())
        refuse("the database has schema migration " + std::to_string(status.unknown.front()) +
               ", which this polderctl does not know: use the polderctl of the newer release");
    if (!status.pending.empty())
        refuse("the database schema is not current: " + std::to_string(status.pending.size()) +
               " migration(s) pending (first: " + std::to_string(status.pending.front()) +
               "): run 'polderctl migrate'");
    schema_checked_ = true;
}

const auth::actor_context& context::who() {
    if (who_) return *who_;
    auth::actor_context a;
    const uid_t uid = geteuid();
    const passwd* pw = getpwuid(uid);
    a.actor = pw && pw->pw_name ? pw->pw_name : "uid " + std::to_string(uid);
    // Who used sudo is worth keeping; only root can have been reached that way.
    if (const char* sudo = std::getenv("SUDO_USER"); uid == 0 && sudo && *sudo)
        a.actor += std::string(" (sudo by ") + std::string(sudo).substr(0, 64) + ")";
    who_ = std::move(a);
    return *who_;
}

void context::translate_and_throw(const std::exception& e) {
    if (dynamic_cast<const pqxx::broken_connection*>(&e))
        throw failure(exit_code::unavailable, "lost the connection to PostgreSQL at " + where() + ": " + e.what());
    if (dynamic_cast<const db::connect_error*>(&e)) throw failure(exit_code::unavailable, e.what());
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
        std::string text = failure::one_line(sql->what());
        if (dynamic_cast<const pqxx::integrity_constraint_violation*>(&e))
            refuse("refused by the database (a concurrent change?): " + text);
        if (dynamic_cast<const pqxx::insufficient_privilege*>(&e))
            refuse("permission denied by PostgreSQL: " + text);
        throw failure(exit_code::software, "database error: " + text);
    }
    throw failure(exit_code::software, std::string("internal error: ") + e.what());
}

}  // namespace polder::admin
