// log.cpp - formatting, escaping and output of structured log lines.
//
// SECURITY: the escaping here is what keeps client-supplied values from
// splitting or forging log lines; see log.hpp. UTF-8 is validated byte by byte
// (overlong forms, surrogates and code points above U+10FFFF are invalid) and
// invalid bytes are escaped (logfmt: \xHH) or replaced by U+FFFD (JSON, which
// must stay valid UTF-8).
//
// STANDARDS: logfmt, RFC 8259 (JSON string escaping), RFC 3339 timestamps.
#include "polder/log/log.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace polder::log {

field::field(std::string_view k, double v) : key(k) {
    if (!std::isfinite(v)) {
        value = std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf");
        return;  // JSON has no literal for these, so they stay strings
    }
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    value.assign(buf.data(), ec == std::errc{} ? end : buf.data());
    type = kind::number;
}

namespace {

std::atomic<int> g_level{static_cast<int>(level::info)};
std::atomic<int> g_format{static_cast<int>(format::text)};

std::mutex& output_mutex() {
    static std::mutex m;
    return m;
}
std::function<void(std::string_view)>& sink_slot() {
    static std::function<void(std::string_view)> s;
    return s;
}

constexpr char hex_digits[] = "0123456789abcdef";

// utf8_sequence_length - length of the valid UTF-8 sequence starting at s[i],
// or 0 when the byte there does not start a valid, complete sequence.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(k) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF) return 0;  // overlong / too big
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                         // surrogates
    return n;
}

bool is_line_separator(std::string_view s, std::size_t i, std::size_t n) {
    // U+2028 LINE SEPARATOR / U+2029 PARAGRAPH SEPARATOR: some viewers break lines there.
    return n == 3 && static_cast<unsigned char>(s[i]) == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
           (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9);
}

void append_u_escape(std::string& out, unsigned cp) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += hex_digits[(cp >> shift) & 0xF];
}

// truncated - the value cut to max_value_bytes at a UTF-8 boundary.
std::string_view truncated(std::string_view v, bool& was_truncated) {
    was_truncated = v.size() > max_value_bytes;
    if (!was_truncated) return v;
    std::size_t cut = max_value_bytes;
    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
    return v.substr(0, cut);
}

// append_escaped - the body of a quoted string (without the quotes). json
// selects JSON rules; otherwise logfmt (Go-style) rules.
void append_escaped(std::string& out, std::string_view v, bool json) {
    for (std::size_t i = 0; i < v.size();) {
        unsigned char c = static_cast<unsigned char>(v[i]);
        switch (c) {
            case '"': out += "\\\""; ++i; continue;
            case '\\': out += "\\\\"; ++i; continue;
            case '\n': out += "\\n"; ++i; continue;
            case '\r': out += "\\r"; ++i; continue;
            case '\t': out += "\\t"; ++i; continue;
            default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            append_u_escape(out, c);
            ++i;
            continue;
        }
        std::size_t n = utf8_sequence_length(v, i);
        if (n == 0) {
            if (json) {
                out += "\\ufffd";
            } else {
                out += "\\x";
                out += hex_digits[c >> 4];
                out += hex_digits[c & 0xF];
            }
            ++i;
            continue;
        }
        if (is_line_separator(v, i, n)) {
            append_u_escape(out, static_cast<unsigned char>(v[i + 2]) == 0xA8 ? 0x2028 : 0x2029);
        } else {
            out.append(v.substr(i, n));
        }
        i += n;
    }
}

// needs_quotes - logfmt values are bare only when they are non-empty printable
// ASCII without space, '=', '"' or '\'.
bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (unsigned char c : v) {
        if (c <= 0x20 || c >= 0x7F || c == '=' || c == '"' || c == '\\') return true;
    }
    return false;
}

void append_key(std::string& out, std::string_view key) {
    if (key.empty()) {
        out += '_';
        return;
    }
    for (unsigned char c : key) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '.' || c == '-';
        out += ok ? static_cast<char>(c) : '_';
    }
}

void append_text_value(std::string& out, std::string_view raw) {
    bool cut = false;
    std::string_view v = truncated(raw, cut);
    if (!cut && !needs_quotes(v)) {
        out.append(v);
        return;
    }
    out += '"';
    append_escaped(out, v, false);
    if (cut) out += "...[truncated]";
    out += '"';
}

void append_json_string(std::string& out, std::string_view raw) {
    bool cut = false;
    std::string_view v = truncated(raw, cut);
    out += '"';
    append_escaped(out, v, true);
    if (cut) out += "...[truncated]";
    out += '"';
}

void append_timestamp(std::string& out, std::chrono::system_clock::time_point ts) {
    using namespace std::chrono;
    auto ms_total = duration_cast<milliseconds>(ts.time_since_epoch()).count();
    auto secs = static_cast<std::time_t>(ms_total / 1000);
    auto ms = static_cast<int>(ms_total % 1000);
    if (ms < 0) {
        ms += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    out += buf;
}

void emit(std::string_view line) {
    std::lock_guard lock(output_mutex());
    if (auto& s = sink_slot()) {
        try {
            s(line);
        } catch (...) {
            // a failing test sink must not take the caller down
        }
        return;
    }
    while (!line.empty()) {
        ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // stderr is gone; nothing sensible left to do
        }
        line.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

std::string format_line(format f, std::chrono::system_clock::time_point ts, level l, std::string_view event,
                        std::span<const field> fields) {
    std::string out;
    out.reserve(96 + fields.size() * 24);
    if (f == format::json) {
        out += "{\"ts\":\"";
        append_timestamp(out, ts);
        out += "\",\"level\":\"";
        out += level_name(l);
        out += "\",\"event\":";
        append_json_string(out, event);
        for (const auto& fl : fields) {
            out += ",\"";
            append_key(out, fl.key);
            out += "\":";
            if (fl.type == field::kind::string) append_json_string(out, fl.value);
            else out += fl.value;
        }
        out += "}\n";
    } else {
        out += "ts=";
        append_timestamp(out, ts);
        out += " level=";
        out += level_name(l);
        out += " event=";
        append_text_value(out, event);
        for (const auto& fl : fields) {
            out += ' ';
            append_key(out, fl.key);
            out += '=';
            append_text_value(out, fl.value);
        }
        out += '\n';
    }
    return out;
}

void init(level min, format f) {
    g_level.store(static_cast<int>(min), std::memory_order_relaxed);
    g_format.store(static_cast<int>(f), std::memory_order_relaxed);
}

void set_level(level min) { g_level.store(static_cast<int>(min), std::memory_order_relaxed); }
level current_level() { return static_cast<level>(g_level.load(std::memory_order_relaxed)); }
format current_format() { return static_cast<format>(g_format.load(std::memory_order_relaxed)); }

bool enabled(level l) { return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed); }

void write(level l, std::string_view event, std::span<const field> fields) {
    if (!enabled(l)) return;
    try {
        emit(format_line(current_format(), std::chrono::system_clock::now(), l, event, fields));
    } catch (...) {
        // out of memory while formatting: drop the line rather than the session
    }
}

void write(level l, std::string_view event, std::initializer_list<field> fields) {
    write(l, event, std::span<const field>(fields.begin(), fields.size()));
}

void debug(std::string_view event, std::initializer_list<field> fields) { write(level::debug, event, fields); }
void info(std::string_view event, std::initializer_list<field> fields) { write(level::info, event, fields); }
void warn(std::string_view event, std::initializer_list<field> fields) { write(level::warn, event, fields); }
void error(std::string_view event, std::initializer_list<field> fields) { write(level::error, event, fields); }

std::optional<level> parse_level(std::string_view s) {
    if (s == "debug") return level::debug;
    if (s == "info") return level::info;
    if (s == "warn" || s == "warning") return level::warn;
    if (s == "error") return level::error;
    return std::nullopt;
}

std::optional<format> parse_format(std::string_view s) {
    if (s == "text" || s == "logfmt") return format::text;
    if (s == "json") return format::json;
    return std::nullopt;
}

std::string_view level_name(level l) {
    switch (l) {
        case level::debug: return "debug";
        case level::info: return "info";
        case level::warn: return "warn";
        case level::error: return "error";
    }
    return "unknown";
}

void set_sink(std::function<void(std::string_view line)> sink) {
    std::lock_guard lock(output_mutex());
    sink_slot() = std::move(sink);
}

}  // namespace polder::log
