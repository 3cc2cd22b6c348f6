// polder/log/log.hpp - structured log lines (logfmt or JSON lines) on stderr.
//
// Every line is one event: a timestamp, a level, a dotted event name
// (`imap.login`, `db.retry`) and key/value fields. Per-connection lines carry a
// `conn` field so one session can be followed through the log.
//
//   log::info("imap.login", {{"conn", info.id}, {"user", address}, {"ok", true}});
//
// SECURITY: field values are often client-supplied (addresses, commands, peer
// names). They are always escaped so that a value can never end the line,
// start a new one or fake another field: in logfmt every value that is not a
// plain token is quoted and `"`, `\`, control characters (CR, LF, ESC, ...),
// DEL, U+2028/U+2029 and invalid UTF-8 are escaped; JSON output is valid JSON
// with the same characters escaped. Values longer than max_value_bytes are
// truncated (marked with `...[truncated]`) so a client cannot flood the log
// through one field. Keys come from code, but are sanitized too (anything
// outside [A-Za-z0-9_.-] becomes `_`). Never log secrets (passwords, tokens).
//
// Cost: write() checks the level first, so a disabled level costs one atomic
// load plus building the field list at the call site. For debug lines with
// expensive fields, guard the call with `if (log::enabled(log::level::debug))`.
//
// Thread safety: every function may be called from any thread. A line is
// formatted without a lock and written with one write(2) sequence under a
// mutex, so lines from different threads never interleave.
//
// STANDARDS: logfmt (https://brandur.org/logfmt, the key=value convention of
// go-logfmt), JSON Lines (RFC 8259 text, one object per line), timestamps in
// RFC 3339 UTC with milliseconds.
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace polder::log {

enum class level { debug, info, warn, error };
enum class format { text, json };  // text = logfmt: ts=... level=info event=x key=value

// A value is truncated beyond this many bytes (before escaping).
inline constexpr std::size_t max_value_bytes = 4096;

// field - one key/value pair. The kind decides how JSON renders the value
// (numbers and booleans bare, strings quoted); logfmt treats all alike.
struct field {
    enum class kind { string, number, boolean };

    std::string_view key;  // must outlive the call (normally a literal)
    std::string value;
    kind type = kind::string;

    field(std::string_view k, std::string_view v) : key(k), value(v) {}
    field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
    field(std::string_view k, const std::string& v) : key(k), value(v) {}
    field(std::string_view k, std::string&& v) : key(k), value(std::move(v)) {}
    field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), type(kind::boolean) {}
    field(std::string_view k, char v) : key(k), value(1, v) {}
    template <std::integral T>
        requires(!std::same_as<T, bool> && !std::same_as<T, char>)
    field(std::string_view k, T v) : key(k), value(std::to_string(v)), type(kind::number) {}
    field(std::string_view k, double v);  // non-finite values are rendered as strings
    // An error code renders as its message, e.g. {"error", ec} -> error="Connection reset by peer".
    field(std::string_view k, const boost::system::error_code& ec) : key(k), value(ec.message()) {}
};

// init - sets the minimum level and the output format, process-wide.
// Default before any call: info, text.
void init(level min, format f);
void set_level(level min);
level current_level();
format current_format();

// enabled - true when a line at level l would be written.
bool enabled(level l);

// write - formats and writes one line when l is enabled. Never throws (a
// logging failure must not end a session); output errors are ignored.
void write(level l, std::string_view event, std::initializer_list<field> fields);
void write(level l, std::string_view event, std::span<const field> fields);

void debug(std::string_view event, std::initializer_list<field> fields = {});
void info(std::string_view event, std::initializer_list<field> fields = {});
void warn(std::string_view event, std::initializer_list<field> fields = {});
void error(std::string_view event, std::initializer_list<field> fields = {});

// parse_level - "debug" | "info" | "warn" | "error" (also "warning"); nullopt otherwise.
std::optional<level> parse_level(std::string_view);
// parse_format - "text" | "logfmt" | "json"; nullopt otherwise.
std::optional<format> parse_format(std::string_view);
std::string_view level_name(level);

// format_line - the exact line write() would emit (with its trailing '\n') for
// the given time. Pure; used by write() and by tests.
std::string format_line(format f, std::chrono::system_clock::time_point ts, level l, std::string_view event,
                        std::span<const field> fields);

// set_sink - replaces the stderr output (tests capture lines with it). The sink
// receives complete lines including '\n' and is called under the output mutex,
// so it must not log. An empty function restores stderr.
void set_sink(std::function<void(std::string_view line)> sink);

}  // namespace polder::log
