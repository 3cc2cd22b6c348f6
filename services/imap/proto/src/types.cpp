// types.cpp - sequence sets, dates, date-times, flags and STATUS item names.
//
// SECURITY: parsers of client text with explicit bounds: numbers are checked for overflow
// (uint32 for sequence numbers), dates for calendar validity; failures are values.
// STANDARDS: RFC 9051 section 9 (sequence-set, date, date-time, flag), RFC 5182 ("$"),
// RFC 4315 section 3 (ordered COPYUID sets).
#include "polder/imap/proto/types.hpp"

#include "chars.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace polder::imap::proto {

using detail::is_digit;

// ----------------------------------------------------------------- sequence sets

bool sequence_set::uses_star() const noexcept {
    for (const auto& r : ranges)
        if (r.first == seq_star || r.last == seq_star) return true;
    return false;
}

namespace {
std::uint32_t resolve(std::uint32_t v, std::uint32_t largest) noexcept { return v == seq_star ? largest : v; }
}  // namespace

bool sequence_set::contains(std::uint32_t n, std::uint32_t largest) const noexcept {
    for (const auto& r : ranges) {
        std::uint32_t a = resolve(r.first, largest), b = resolve(r.last, largest);
        if (a > b) std::swap(a, b);
        if (n >= a && n <= b) return true;
    }
    return false;
}

std::vector<seq_range> sequence_set::normalized(std::uint32_t largest) const {
    std::vector<seq_range> out;
    out.reserve(ranges.size());
    for (const auto& r : ranges) {
        std::uint32_t a = resolve(r.first, largest), b = resolve(r.last, largest);
        if (a > b) std::swap(a, b);
        if (a == 0) a = 1;  // "*" in an empty mailbox resolves to 0: nothing below 1 exists
        if (b == 0) continue;
        out.push_back({a, b});
    }
    std::sort(out.begin(), out.end(), [](const seq_range& x, const seq_range& y) { return x.first < y.first; });
    std::vector<seq_range> merged;
    for (const auto& r : out) {
        if (!merged.empty() && (merged.back().last == UINT32_MAX || r.first <= merged.back().last + 1)) {
            merged.back().last = std::max(merged.back().last, r.last);
        } else {
            merged.push_back(r);
        }
    }
    return merged;
}

std::uint32_t sequence_set::highest(std::uint32_t largest) const noexcept {
    std::uint32_t h = 0;
    for (const auto& r : ranges) h = std::max({h, resolve(r.first, largest), resolve(r.last, largest)});
    return h;
}

namespace {

// parse_seq_number - nz-number (uint32) or "*" at text[i]; advances i.
bool parse_seq_number(std::string_view text, std::size_t& i, std::uint32_t& out) {
    if (i < text.size() && text[i] == '*') {
        ++i;
        out = seq_star;
        return true;
    }
    std::uint64_t v = 0;
    std::size_t start = i;
    while (i < text.size() && is_digit(static_cast<unsigned char>(text[i]))) {
        v = v * 10 + static_cast<unsigned>(text[i] - '0');
        if (v > UINT32_MAX) return false;
        ++i;
    }
    if (i == start || v == 0) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

}  // namespace

result<sequence_set> parse_sequence_set(std::string_view text) {
    sequence_set set;
    if (text == "$") {
        set.saved = true;
        return set;
    }
    std::size_t i = 0;
    for (;;) {
        seq_range r;
        if (!parse_seq_number(text, i, r.first)) return errc::invalid_argument;
        r.last = r.first;
        if (i < text.size() && text[i] == ':') {
            ++i;
            if (!parse_seq_number(text, i, r.last)) return errc::invalid_argument;
        }
        set.ranges.push_back(r);
        if (i == text.size()) break;
        if (text[i] != ',') return errc::invalid_argument;
        ++i;
    }
    return set;
}

namespace {
void append_seq_number(std::string& out, std::uint32_t v) {
    if (v == seq_star) out += '*';
    else out += std::to_string(v);
}
void append_run(std::string& out, std::uint32_t a, std::uint32_t b) {
    if (!out.empty()) out += ',';
    out += std::to_string(a);
    if (b != a) {
        out += ':';
        out += std::to_string(b);
    }
}
}  // namespace

std::string format_sequence_set(const sequence_set& set) {
    if (set.saved) return "$";
    std::string out;
    for (const auto& r : set.ranges) {
        if (!out.empty()) out += ',';
        append_seq_number(out, r.first);
        if (r.last != r.first) {
            out += ':';
            append_seq_number(out, r.last);
        }
    }
    return out;
}

std::string compress_numbers(std::span<const std::uint32_t> numbers) {
    std::vector<std::uint32_t> v(numbers.begin(), numbers.end());
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return compress_numbers_in_order(v);
}

std::string compress_numbers_in_order(std::span<const std::uint32_t> numbers) {
    std::string out;
    std::size_t i = 0;
    while (i < numbers.size()) {
        std::size_t j = i;
        while (j + 1 < numbers.size() && numbers[j] != UINT32_MAX && numbers[j + 1] == numbers[j] + 1) ++j;
        append_run(out, numbers[i], numbers[j]);
        i = j + 1;
    }
    return out;
}

std::string format_ranges(std::span<const seq_range> ranges) {
    std::string out;
    for (const auto& r : ranges) append_run(out, r.first, r.last);
    return out;
}

std::vector<seq_range> missing_ranges(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b,
                                      std::uint32_t last, const std::vector<seq_range>* within) {
    std::vector<seq_range> out;
    auto add = [&](std::uint32_t from, std::uint32_t to) {   // a gap [from, to], clipped to `within`
        if (!within) {
            out.push_back({from, to});
            return;
        }
        auto it = std::lower_bound(within->begin(), within->end(), from,
                                   [](const seq_range& r, std::uint32_t n) { return r.last < n; });
        for (; it != within->end() && it->first <= to; ++it)
            out.push_back({std::max(from, it->first), std::min(to, it->last)});
    };
    std::size_t i = 0, j = 0;
    std::uint64_t next = 1;   // the lowest number not yet accounted for
    while (next <= last) {
        while (i < a.size() && a[i] < next) ++i;
        while (j < b.size() && b[j] < next) ++j;
        std::uint64_t taken = std::uint64_t(last) + 1;   // the next number in a or b
        if (i < a.size()) taken = std::min<std::uint64_t>(taken, a[i]);
        if (j < b.size()) taken = std::min<std::uint64_t>(taken, b[j]);
        if (taken > next)
            add(static_cast<std::uint32_t>(next), static_cast<std::uint32_t>(std::min<std::uint64_t>(taken - 1, last)));
        next = taken + 1;
    }
    return out;
}

// ----------------------------------------------------------------- dates

namespace {

constexpr std::array<std::string_view, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) noexcept {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// days_from_civil - days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// public-domain algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

date civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return date{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::optional<int> parse_month(std::string_view s) noexcept {
    if (s.size() != 3) return std::nullopt;
    for (std::size_t i = 0; i < month_names.size(); ++i)
        if (detail::iequal(s, month_names[i])) return static_cast<int>(i + 1);
    return std::nullopt;
}

bool parse_fixed_digits(std::string_view s, int& out) noexcept {
    if (s.empty()) return false;
    int v = 0;
    for (char c : s) {
        if (!is_digit(static_cast<unsigned char>(c))) return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

}  // namespace

bool is_valid_date(const date& d) noexcept {
    return d.year >= 0 && d.year <= 9999 && d.month >= 1 && d.month <= 12 && d.day >= 1 &&
           d.day <= days_in_month(d.year, d.month);
}

bool is_valid_date_time(const date_time& t) noexcept {
    return is_valid_date(t.day) && t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 &&
           t.second >= 0 && t.second <= 60 && t.zone_minutes > -24 * 60 && t.zone_minutes < 24 * 60;
}

std::int64_t to_unix(const date_time& t) noexcept {
    std::int64_t days = days_from_civil(t.day.year, static_cast<unsigned>(t.day.month), static_cast<unsigned>(t.day.day));
    return days * 86400 + t.hour * 3600 + t.minute * 60 + t.second - static_cast<std::int64_t>(t.zone_minutes) * 60;
}

date_time from_unix(std::int64_t seconds, int zone_minutes) noexcept {
    std::int64_t local = seconds + static_cast<std::int64_t>(zone_minutes) * 60;
    std::int64_t days = floor_div(local, 86400);
    std::int64_t rem = local - days * 86400;
    date_time t;
    t.day = civil_from_days(days);
    t.hour = static_cast<int>(rem / 3600);
    t.minute = static_cast<int>((rem % 3600) / 60);
    t.second = static_cast<int>(rem % 60);
    t.zone_minutes = zone_minutes;
    return t;
}

date date_of(std::int64_t seconds, int zone_minutes) noexcept { return from_unix(seconds, zone_minutes).day; }

result<date> parse_date(std::string_view text) {
    // date-day "-" date-month "-" date-year ; date-day = 1*2DIGIT
    auto d1 = text.find('-');
    if (d1 == std::string_view::npos || d1 == 0 || d1 > 2) return errc::invalid_argument;
    auto d2 = text.find('-', d1 + 1);
    if (d2 == std::string_view::npos || d2 != d1 + 4 || text.size() != d2 + 5) return errc::invalid_argument;
    date d;
    if (!parse_fixed_digits(text.substr(0, d1), d.day)) return errc::invalid_argument;
    auto m = parse_month(text.substr(d1 + 1, 3));
    if (!m) return errc::invalid_argument;
    d.month = *m;
    if (!parse_fixed_digits(text.substr(d2 + 1, 4), d.year)) return errc::invalid_argument;
    if (!is_valid_date(d)) return errc::invalid_argument;
    return d;
}

result<date_time> parse_date_time(std::string_view text) {
    // date-day-fixed "-" date-month "-" date-year SP time SP zone
    // date-day-fixed = (SP DIGIT) / 2DIGIT; a bare single digit is accepted too because
    // some clients send it and it is unambiguous.
    date_time t;
    std::size_t i = 0;
    if (!text.empty() && text[0] == ' ') i = 1;
    auto dash = text.find('-', i);
    if (dash == std::string_view::npos || dash == i || dash - i > 2) return errc::invalid_argument;
    if (i == 1 && dash - i != 1) return errc::invalid_argument;
    if (!parse_fixed_digits(text.substr(i, dash - i), t.day.day)) return errc::invalid_argument;
    std::string_view rest = text.substr(dash + 1);
    // "Jul-1996 02:44:25 -0700" = 3 + 1 + 4 + 1 + 8 + 1 + 5 = 23
    if (rest.size() != 23 || rest[3] != '-' || rest[8] != ' ' || rest[11] != ':' || rest[14] != ':' ||
        rest[17] != ' ')
        return errc::invalid_argument;
    auto m = parse_month(rest.substr(0, 3));
    if (!m) return errc::invalid_argument;
    t.day.month = *m;
    int zh = 0, zm = 0;
    if (!parse_fixed_digits(rest.substr(4, 4), t.day.year) || !parse_fixed_digits(rest.substr(9, 2), t.hour) ||
        !parse_fixed_digits(rest.substr(12, 2), t.minute) || !parse_fixed_digits(rest.substr(15, 2), t.second))
        return errc::invalid_argument;
    char sign = rest[18];
    if ((sign != '+' && sign != '-') || !parse_fixed_digits(rest.substr(19, 2), zh) ||
        !parse_fixed_digits(rest.substr(21, 2), zm) || zm > 59 || zh > 23)
        return errc::invalid_argument;
    t.zone_minutes = (zh * 60 + zm) * (sign == '-' ? -1 : 1);
    if (!is_valid_date_time(t)) return errc::invalid_argument;
    return t;
}

std::string format_date(const date& d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%d-%s-%04d", d.day, month_names[static_cast<std::size_t>((d.month - 1) % 12)].data(),
                  d.year);
    return buf;
}

std::string format_date_time(const date_time& t) {
    char buf[48];
    int z = t.zone_minutes < 0 ? -t.zone_minutes : t.zone_minutes;
    std::snprintf(buf, sizeof buf, "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d", t.day.day,
                  month_names[static_cast<std::size_t>((t.day.month - 1) % 12)].data(), t.day.year, t.hour, t.minute,
                  t.second, t.zone_minutes < 0 ? '-' : '+', z / 60, z % 60);
    return buf;
}

// ----------------------------------------------------------------- flags

namespace {
constexpr std::array<std::string_view, 6> system_flags = {"\\Answered", "\\Flagged", "\\Deleted",
                                                          "\\Seen",     "\\Draft",   "\\Recent"};
}

bool iequals(std::string_view a, std::string_view b) noexcept { return detail::iequal(a, b); }

std::string canonical_flag(std::string_view flag) {
    for (auto f : system_flags)
        if (detail::iequal(flag, f)) return std::string(f);
    return std::string(flag);
}

bool is_system_flag(std::string_view flag, bool allow_recent) noexcept {
    for (std::size_t i = 0; i < system_flags.size(); ++i) {
        if (i == 5 && !allow_recent) break;
        if (detail::iequal(flag, system_flags[i])) return true;
    }
    return false;
}

bool is_valid_keyword(std::string_view keyword) noexcept {
    if (keyword.empty()) return false;
    for (unsigned char c : keyword)
        if (!detail::is_atom_char(c)) return false;
    return true;
}

// ----------------------------------------------------------------- STATUS items

std::string_view status_item_name(status_item item) noexcept {
    switch (item) {
    case status_item::messages: return "MESSAGES";
    case status_item::uidnext: return "UIDNEXT";
    case status_item::uidvalidity: return "UIDVALIDITY";
    case status_item::unseen: return "UNSEEN";
    case status_item::deleted: return "DELETED";
    case status_item::size: return "SIZE";
    case status_item::recent: return "RECENT";
    case status_item::highestmodseq: return "HIGHESTMODSEQ";
    case status_item::appendlimit: return "APPENDLIMIT";
    }
    return "MESSAGES";
}

std::optional<status_item> parse_status_item(std::string_view name) noexcept {
    for (auto item : {status_item::messages, status_item::uidnext, status_item::uidvalidity, status_item::unseen,
                      status_item::deleted, status_item::size, status_item::recent, status_item::highestmodseq,
                      status_item::appendlimit})
        if (detail::iequal(name, status_item_name(item))) return item;
    return std::nullopt;
}

}  // namespace polder::imap::proto
