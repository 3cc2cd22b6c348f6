// connection.cpp - connection strings, connect() and translation of database
// errors to polder::errc.
//
// SECURITY: every conninfo value is quoted (see quote_conninfo_value), so no
// option value can add or override another keyword; the password is never
// part of an error message. Error messages from libpq are folded onto one
// line before they reach a log or a terminal.
// STANDARDS: libpq keyword/value connection strings (PostgreSQL 15 manual
// 34.1.1, 34.1.2 parameter keywords), SQLSTATE codes (Appendix A).
#include "polder/db/connection.hpp"

#include "polder/core/error.hpp"
#include "util.hpp"

#include <boost/system/system_error.hpp>
#include <pqxx/except>

#include <string>

namespace polder::db {

namespace {

void check_value(std::string_view key, std::string_view value) {
    if (value.size() > max_option_length)
        throw std::invalid_argument("database option " + std::string(key) + " is longer than " +
                                    std::to_string(max_option_length) + " bytes");
    if (value.find('\0') != std::string_view::npos)
        throw std::invalid_argument("database option " + std::string(key) + " contains a NUL byte");
}

void append(std::string& out, std::string_view key, std::string_view value) {
    check_value(key, value);
    if (!out.empty()) out += ' ';
    out += key;
    out += '=';
    out += quote_conninfo_value(value);
}

}  // namespace

std::string quote_conninfo_value(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 2);
    out += '\'';
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    out += '\'';
    return out;
}

std::string connection_string(const connection_options& o) {
    std::string s;
    if (!o.host.empty()) append(s, "host", o.host);
    append(s, "port", std::to_string(o.port));
    if (!o.dbname.empty()) append(s, "dbname", o.dbname);
    if (!o.user.empty()) append(s, "user", o.user);
    if (!o.password.empty()) append(s, "password", o.password);
    if (o.connect_timeout_seconds > 0) {
        if (o.connect_timeout_seconds > 3600)
            throw std::invalid_argument("database option connect_timeout is above 3600 seconds");
        append(s, "connect_timeout", std::to_string(o.connect_timeout_seconds));
    }
    if (!o.application_name.empty()) append(s, "application_name", o.application_name);
    if (o.statement_timeout_ms > 0)
        append(s, "options", "-c statement_timeout=" + std::to_string(o.statement_timeout_ms));
    return s;
}

std::string describe_target(const connection_options& o) {
    // Names come from configuration, but are shown on a terminal: fold them
    // so a strange value cannot forge extra output lines.
    std::string host = o.host.empty() ? std::string("(libpq default host)") : detail::one_line(o.host);
    if (host.find(':') != std::string::npos && host.front() != '/') host = "[" + host + "]";  // IPv6 literal
    std::string s = host + ":" + std::to_string(o.port);
    s += " (database " + (o.dbname.empty() ? std::string("(default)") : detail::one_line(o.dbname));
    s += ", user " + (o.user.empty() ? std::string("(default)") : detail::one_line(o.user)) + ")";
    return s;
}

connect_error connect_failure(const connection_options& o, std::string_view reason) {
    std::string why = detail::one_line(reason);
    if (why.empty()) why = "unknown error";
    return connect_error("cannot connect to PostgreSQL at " + describe_target(o) + ": " + why);
}

std::unique_ptr<pqxx::connection> connect(const connection_options& o) {
    std::string conninfo;
    try {
        conninfo = connection_string(o);
    } catch (const std::invalid_argument& e) {
        throw connect_failure(o, e.what());
    }
    try {
        return std::make_unique<pqxx::connection>(conninfo);
    } catch (const std::exception& e) {
        throw connect_failure(o, e.what());
    }
}

std::string_view isolation_sql(isolation level) {
    switch (level) {
    case isolation::read_committed: return "READ COMMITTED";
    case isolation::repeatable_read: return "REPEATABLE READ";
    case isolation::serializable: return "SERIALIZABLE";
    }
    return "READ COMMITTED";
}

std::string sqlstate(const std::exception& e) noexcept {
    if (auto s = dynamic_cast<const pqxx::sql_error*>(&e)) {
        try {
            return s->sqlstate();
        } catch (...) {
            return {};
        }
    }
    // libpqxx 6 turns SQLSTATE class 40 into transaction_rollback and its
    // subclasses, which keep no SQLSTATE: restore it from the type.
    if (dynamic_cast<const pqxx::serialization_failure*>(&e)) return "40001";
    if (dynamic_cast<const pqxx::deadlock_detected*>(&e)) return "40P01";
    if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) return "40003";
    if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) return "40000";
    return {};
}

bool is_retryable(const std::exception& e) noexcept {
    auto state = sqlstate(e);
    return state == "40001" || state == "40P01";
}

bool is_connection_failure(const std::exception& e) noexcept {
    if (dynamic_cast<const pqxx::broken_connection*>(&e) || dynamic_cast<const pqxx::in_doubt_error*>(&e) ||
        dynamic_cast<const connect_error*>(&e))
        return true;
    auto state = sqlstate(e);
    return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03";
}

boost::system::error_code translate(const std::exception& e) noexcept {
    if (auto se = dynamic_cast<const boost::system::system_error*>(&e)) return se->code();
    if (is_connection_failure(e)) return errc::unavailable;
    if (dynamic_cast<const pqxx::argument_error*>(&e)) return errc::invalid_argument;
    // libpqxx 6 reports SQLSTATE class 40 as transaction_rollback, which is
    // not an sql_error and carries no SQLSTATE.
    if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) return errc::unavailable;
    if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) return errc::conflict;
    const std::string state = sqlstate(e);
    if (state.empty()) return errc::internal;
    if (state == "23505") return errc::already_exists;
    if (state == "23503") {
        // Deleting (or re-keying) a row something still points at is a
        // conflict; inserting a row that points at nothing is "not found".
        // The message is the only place libpqxx 6 exposes the difference.
        std::string_view what = e.what();
        return what.find("update or delete on table") != std::string_view::npos ? errc::conflict : errc::not_found;
    }
    if (state == "23P01") return errc::conflict;
    if (state == "23514" || state == "23502" || state == "23001" || state == "23000") return errc::invalid_argument;
    if (state.starts_with("22")) return errc::invalid_argument;
    if (state.starts_with("40")) return errc::conflict;
    if (state == "42501") return errc::permission_denied;
    if (state == "57014") return errc::timeout;
    if (state == "55P03") return errc::conflict;  // lock_not_available (NOWAIT / lock_timeout)
    if (state.starts_with("53")) return errc::unavailable;
    if (state.starts_with("57")) return errc::unavailable;
    return errc::internal;
}

boost::system::error_code translate(std::exception_ptr p) noexcept {
    if (!p) return errc::ok;
    try {
        std::rethrow_exception(p);
    } catch (const std::exception& e) {
        return translate(e);
    } catch (...) {
        return errc::internal;
    }
}

}  // namespace polder::db
