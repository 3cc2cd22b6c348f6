// date.cpp - HTTP-date parsing and formatting (RFC 9110 5.6.7).
//
// SECURITY: bounded input (at most 64 bytes examined), fixed-layout parsing with
// range checks; civil-date arithmetic in 64-bit integers cannot overflow for the
// accepted year range 0001..9999.
// STANDARDS: RFC 9110 5.6.7, RFC 5322 3.3 (day and month names).
#include "polder/http/date.hpp"

#include <array>
#include <cstdio>

namespace polder::http {
namespace {

constexpr std::array<std::string_view, 7> short_days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> long_days{"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                    "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

constexpr std::int64_t min_seconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr std::int64_t max_seconds = 253402300799;  // 9999-12-31T23:59:59Z

// days_from_civil - days since 1970-01-01 of a proleptic Gregorian date
// (H. Hinnant's algorithm, exact for every year we accept).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

civil civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

// moment - a time clamped to the supported years, as a civil date, its day number
// (days since 1970-01-01) and the hour, minute and second of that day.
struct moment {
    civil date;
    std::int64_t days;
    unsigned hour, minute, second;
};

moment split(std::int64_t t) {
    if (t < min_seconds) t = min_seconds;
    if (t > max_seconds) t = max_seconds;
    std::int64_t days = t / 86400;
    std::int64_t rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    return {civil_from_days(days), days, static_cast<unsigned>(rem / 3600), static_cast<unsigned>(rem / 60 % 60),
            static_cast<unsigned>(rem % 60)};
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

// A tiny cursor over the text; every accessor fails closed.
class cursor {
public:
    explicit cursor(std::string_view s) : s_(s) {}
    bool literal(std::string_view lit) {
        if (s_.substr(pos_, lit.size()) != lit) return false;
        pos_ += lit.size();
        return true;
    }
    // digits - exactly n ASCII digits.
    bool digits(unsigned n, unsigned& out) {
        if (pos_ + n > s_.size()) return false;
        unsigned v = 0;
        for (unsigned i = 0; i < n; ++i) {
            char c = s_[pos_ + i];
            if (c < '0' || c > '9') return false;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        pos_ += n;
        out = v;
        return true;
    }
    template <std::size_t N>
    bool one_of(const std::array<std::string_view, N>& names, unsigned& index) {
        for (unsigned i = 0; i < N; ++i) {
            if (s_.substr(pos_, names[i].size()) == names[i]) {
                pos_ += names[i].size();
                index = i;
                return true;
            }
        }
        return false;
    }
    bool at_end() const { return pos_ == s_.size(); }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

std::optional<std::int64_t> assemble(std::int64_t year, unsigned month, unsigned day, unsigned hour,
                                     unsigned minute, unsigned second) {
    if (year < 1 || year > 9999 || month < 1 || month > 12) return std::nullopt;
    if (day < 1 || day > days_in_month(year, month)) return std::nullopt;
    // RFC 9110 allows a leap second (60) in the grammar; fold it into the next
    // minute's first second rather than refusing a date a clock once produced.
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

bool time_of_day(cursor& c, unsigned& h, unsigned& m, unsigned& s) {
    return c.digits(2, h) && c.literal(":") && c.digits(2, m) && c.literal(":") && c.digits(2, s);
}

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
std::optional<std::int64_t> parse_imf(std::string_view t) {
    cursor c(t);
    unsigned wd, day, mon, year, h, m, s;
    if (!c.one_of(short_days, wd) || !c.literal(", ") || !c.digits(2, day) || !c.literal(" ") ||
        !c.one_of(months, mon) || !c.literal(" ") || !c.digits(4, year) || !c.literal(" ") ||
        !time_of_day(c, h, m, s) || !c.literal(" GMT") || !c.at_end())
        return std::nullopt;
    return assemble(year, mon + 1, day, h, m, s);
}

// RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
std::optional<std::int64_t> parse_rfc850(std::string_view t) {
    cursor c(t);
    unsigned wd, day, mon, yy, h, m, s;
    if (!c.one_of(long_days, wd) || !c.literal(", ") || !c.digits(2, day) || !c.literal("-") ||
        !c.one_of(months, mon) || !c.literal("-") || !c.digits(2, yy) || !c.literal(" ") ||
        !time_of_day(c, h, m, s) || !c.literal(" GMT") || !c.at_end())
        return std::nullopt;
    // RFC 9110 says to read a two-digit year as the most recent past year with
    // those digits; this format died in the 1990s, so a fixed pivot suffices.
    const std::int64_t year = yy < 70 ? 2000 + yy : 1900 + yy;
    return assemble(year, mon + 1, day, h, m, s);
}

// asctime: Sun Nov  6 08:49:37 1994
std::optional<std::int64_t> parse_asctime(std::string_view t) {
    cursor c(t);
    unsigned wd, mon, day, h, m, s, year;
    if (!c.one_of(short_days, wd) || !c.literal(" ") || !c.one_of(months, mon) || !c.literal(" "))
        return std::nullopt;
    if (c.literal(" ")) {
        if (!c.digits(1, day)) return std::nullopt;
    } else if (!c.digits(2, day)) {
        return std::nullopt;
    }
    if (!c.literal(" ") || !time_of_day(c, h, m, s) || !c.literal(" ") || !c.digits(4, year) || !c.at_end())
        return std::nullopt;
    return assemble(year, mon + 1, day, h, m, s);
}

}  // namespace

std::string format_http_date(std::int64_t t) {
    const moment m = split(t);
    // 1970-01-01 was a Thursday (index 4).
    const auto wd = static_cast<unsigned>(((m.days % 7) + 7 + 4) % 7);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02u:%02u:%02u GMT", short_days[wd].data(), m.date.day,
                  months[m.date.month - 1].data(), static_cast<long long>(m.date.year), m.hour, m.minute, m.second);
    return buf;
}

std::string format_rfc3339(std::int64_t t) {
    const moment m = split(t);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02uZ", static_cast<long long>(m.date.year), m.date.month,
                  m.date.day, m.hour, m.minute, m.second);
    return buf;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
    // Surrounding whitespace is not part of the field value (RFC 9110 5.5).
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    if (text.size() > 64) return std::nullopt;
    if (auto t = parse_imf(text)) return t;
    if (auto t = parse_rfc850(text)) return t;
    return parse_asctime(text);
}

}  // namespace polder::http
