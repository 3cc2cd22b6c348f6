// libical.cpp - internal libical helpers and polder::ical::time_zone.
//
// SECURITY: parse input reaches libical only after the caller's size check and as a
// NUL-terminated copy (libical reads C strings); embedded NULs are refused by callers.
// libical's error state is set to non-fatal once so a malformed value can never abort().
// STANDARDS: RFC 5545 3.2.19, 3.3.5, 3.3.6, 3.6.5 (VTIMEZONE); RFC 4791 5.2.2.
#include "libical.hpp"

#include <algorithm>
#include <glib.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <atomic>
#include <mutex>
#include <unordered_map>

namespace polder::ical {
namespace detail {

void init_libical() {
    static std::once_flag once;
    std::call_once(once, [] {
        icalerror_set_errors_are_fatal(0);
        // Parse errors become X-LIC-ERROR properties, which validate() reports.
        icalerror_set_error_state(ICAL_PARSE_ERROR, ICAL_ERROR_NONFATAL);
        icalerror_set_error_state(ICAL_MALFORMEDDATA_ERROR, ICAL_ERROR_NONFATAL);
        icalerror_set_error_state(ICAL_BADARG_ERROR, ICAL_ERROR_NONFATAL);
        icalerror_set_error_state(ICAL_NEWFAILED_ERROR, ICAL_ERROR_NONFATAL);
    });
}

std::string owned_string(char* s) {
    if (!s) return {};
    std::string r(s);
    std::free(s);
    return r;
}

namespace {
std::string repair_folding(std::string s) {
    static constexpr std::string_view bad = "\r\r\n \n";
    std::size_t pos = s.find(bad);
    if (pos == std::string::npos) return s;
    std::string out;
    out.reserve(s.size());
    std::size_t from = 0;
    for (; pos != std::string::npos; pos = s.find(bad, from)) {
        out.append(s, from, pos - from);
        out += "\r\n";
        from = pos + bad.size();
    }
    out.append(s, from, std::string::npos);
    return out;
}
}  // namespace

std::string serialize(icalcomponent* c) { return repair_folding(owned_string(icalcomponent_as_ical_string_r(c))); }
std::string serialize(icalproperty* p) { return repair_folding(owned_string(icalproperty_as_ical_string_r(p))); }

component_ptr parse_tree(std::string_view text) {
    init_libical();
    std::string copy(text);
    return component_ptr(icalparser_parse_string(copy.c_str()));
}

std::optional<std::string> first_error(icalcomponent* c, std::vector<std::string>* warnings) {
    // libical drops a property with an empty value and leaves an X-LIC-ERROR behind. Empty
    // values are common in the wild (Google writes "LOCATION:"), so that one is tolerated:
    // the marker is removed and a warning kept. Every other parse error is fatal.
    std::vector<icalproperty*> tolerated;
    std::optional<std::string> err;
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
        const char* v = icalproperty_get_xlicerror(p);
        const std::string_view text = v ? v : "parse error";
        if (text.starts_with("No value for ")) {
            tolerated.push_back(p);
            if (warnings) warnings->push_back(sanitize(text.substr(0, text.find('.')), 80));
            continue;
        }
        if (!err) err = std::string(text);
    }
    for (icalproperty* p : tolerated) {
        icalcomponent_remove_property(c, p);
        icalproperty_free(p);
    }
    if (err) return err;
    for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        if (auto e = first_error(k, warnings)) return e;
    }
    return std::nullopt;
}

std::optional<std::string> text_problem(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0) return std::string("NUL octet in the data");
        if (c == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return std::string("bare CR in the data");
        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
            return "control character " + std::to_string(c) + " in the data";
    }
    if (!g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) return std::string("the data is not valid UTF-8");
    return std::nullopt;
}

std::string upper(std::string_view s) {
    std::string r(s);
    for (auto& c : r)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return r;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
        if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
        if (x != y) return false;
    }
    return true;
}

std::string sanitize(std::string_view s, std::size_t max) {
    std::string r;
    for (char c : s) {
        if (r.size() >= max) {
            r += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        r += (u < 0x20 || u == 0x7f) ? ' ' : c;
    }
    return r;
}

namespace {

std::atomic<std::uint64_t> tree_epoch{0};

// shared_zone - one expanded icaltimezone per distinct VTIMEZONE text, for the life of the
// process (bounded: past max_shared_zones, objects fall back to their own libical zone).
// libical 3.0 serialises all zone expansion and lookups with one internal mutex
// (changes_mutex in icaltimezone.c), so a shared zone may be used by several threads.
constexpr std::size_t max_shared_zones = 1000;

icaltimezone* shared_zone(icalcomponent* vtz) {
    // Never destroyed: the zones live as long as the process (and stay reachable for LSan).
    static std::mutex mu;
    static auto& zones = *new std::unordered_map<std::string, icaltimezone*>();
    std::string key = owned_string(icalcomponent_as_ical_string_r(vtz));
    std::lock_guard lock(mu);
    if (auto it = zones.find(key); it != zones.end()) return it->second;
    if (zones.size() >= max_shared_zones) return nullptr;
    icaltimezone* z = icaltimezone_new();
    if (!z) return nullptr;
    if (!icaltimezone_set_component(z, icalcomponent_new_clone(vtz))) {
        icaltimezone_free(z, 1);
        return nullptr;
    }
    zones.emplace(std::move(key), z);
    return z;
}

struct zone_memo {
    icalcomponent* vcal = nullptr;
    std::uint64_t epoch = 0;
    std::vector<std::pair<std::string, icaltimezone*>> zones;
};

}  // namespace

void tree_freed() noexcept { tree_epoch.fetch_add(1, std::memory_order_acq_rel); }

icaltimezone* zone_for_tzid(icalcomponent* vcalendar, const char* tzid) {
    if (!tzid || !*tzid) return nullptr;
    if (!vcalendar) {
        if (icaltimezone* z = icaltimezone_get_builtin_timezone(tzid)) return z;
        return icaltimezone_get_builtin_timezone_from_tzid(tzid);
    }
    thread_local zone_memo memo;
    const auto epoch = tree_epoch.load(std::memory_order_acquire);
    if (memo.vcal != vcalendar || memo.epoch != epoch) {
        memo.vcal = vcalendar;
        memo.epoch = epoch;
        memo.zones.clear();
    }
    for (const auto& [id, z] : memo.zones)
        if (id == tzid) return z;
    icaltimezone* found = nullptr;
    // An external iterator: callers may be walking the VCALENDAR's children with libical's
    // internal one, which a nested get_first/get_next would reset (an endless loop).
    icalcompiter it = icalcomponent_begin_component(vcalendar, ICAL_VTIMEZONE_COMPONENT);
    for (icalcomponent* c = icalcompiter_deref(&it); c; c = icalcompiter_next(&it)) {
        icalproperty* p = icalcomponent_get_first_property(c, ICAL_TZID_PROPERTY);
        const char* id = p ? icalproperty_get_tzid(p) : nullptr;
        if (id && std::strcmp(id, tzid) == 0) {
            found = shared_zone(c);
            if (!found) found = icalcomponent_get_timezone(vcalendar, tzid);
            break;
        }
    }
    if (!found) found = icaltimezone_get_builtin_timezone(tzid);
    if (!found) found = icaltimezone_get_builtin_timezone_from_tzid(tzid);
    if (memo.zones.size() < 64) memo.zones.emplace_back(tzid, found);
    return found;
}

namespace {
std::optional<ptime> from_value(icaltimetype t, icalproperty* p, icalcomponent* vcalendar) {
    if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t)) return std::nullopt;
    ptime r;
    r.t = t;
    if (t.is_date) {
        r.t.zone = nullptr;
        return r;
    }
    if (icaltime_is_utc(t)) {
        r.t.zone = icaltimezone_get_utc_timezone();
        return r;
    }
    r.t.zone = nullptr;
    if (icalparameter* tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER)) {
        const char* tzid = icalparameter_get_tzid(tp);
        icaltimezone* z = zone_for_tzid(vcalendar, tzid);
        // An unknown TZID cannot be honoured; validate() refuses such objects, stored ones
        // fall back to floating so they stay readable.
        r.t.zone = z;
    }
    return r;
}
}  // namespace

std::optional<ptime> get_time(icalproperty* p, icalcomponent* vcalendar) {
    if (!p) return std::nullopt;
    icalvalue* v = icalproperty_get_value(p);
    if (!v) return std::nullopt;
    switch (icalvalue_isa(v)) {
    case ICAL_DATE_VALUE:
    case ICAL_DATETIME_VALUE:
        return from_value(icalvalue_get_datetime(v), p, vcalendar);
    case ICAL_DATETIMEPERIOD_VALUE: {
        auto dp = icalvalue_get_datetimeperiod(v);
        if (!icaltime_is_null_time(dp.time)) return from_value(dp.time, p, vcalendar);
        return from_value(dp.period.start, p, vcalendar);
    }
    case ICAL_PERIOD_VALUE:
        return from_value(icalvalue_get_period(v).start, p, vcalendar);
    default:
        return std::nullopt;
    }
}

std::optional<ptime> resolve_time(icaltimetype t, icalproperty* p, icalcomponent* vcalendar) {
    return from_value(t, p, vcalendar);
}

std::optional<ptime> first_time(icalcomponent* comp, icalproperty_kind k, icalcomponent* vcalendar) {
    return get_time(icalcomponent_get_first_property(comp, k), vcalendar);
}

utc_time to_utc(icaltimetype t, icaltimezone* floating) {
    icaltimezone* z = t.is_date ? floating : (t.zone ? const_cast<icaltimezone*>(t.zone) : floating);
    if (!z) z = icaltimezone_get_utc_timezone();
    icaltimetype local = t;
    local.zone = nullptr;
    if (local.is_date) {
        local.is_date = 0;
        local.hour = local.minute = local.second = 0;
    }
    return static_cast<utc_time>(icaltime_as_timet_with_zone(local, z));
}

utc_time to_utc(const ptime& p, icaltimezone* floating) { return to_utc(p.t, floating); }

icaltimetype add_wall_seconds(icaltimetype t, long long s) {
    constexpr long long max_span = 10000LL * 366 * 86400;
    s = std::clamp(s, -max_span, max_span);
    const icaltimezone* zone = t.zone;
    t.day += static_cast<int>(s / 86400);
    if (!t.is_date) t.second += static_cast<int>(s % 86400);
    t = icaltime_normalize(t);
    t.zone = zone;
    return t;
}

utc_time add_duration(const ptime& start, icaldurationtype d, icaltimezone* floating) {
    const long long days = static_cast<long long>(d.weeks) * 7 + d.days;
    const long long exact = static_cast<long long>(d.hours) * 3600 + static_cast<long long>(d.minutes) * 60 + d.seconds;
    const int sign = d.is_neg ? -1 : 1;
    icaltimetype wall = start.t;
    if (days) wall = add_wall_seconds(wall, sign * days * 86400);
    if (wall.is_date && exact) {
        // A DATE start with a time part: read as midnight, then add exactly.
        wall.is_date = 0;
        wall.hour = wall.minute = wall.second = 0;
    }
    return to_utc(wall, floating) + sign * exact;
}

std::string parameter_text(icalparameter* q) {
    if (!q) return {};
    std::string all = owned_string(icalparameter_as_ical_string_r(q));
    const auto eq = all.find('=');
    std::string v = eq == std::string::npos ? all : all.substr(eq + 1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
}

std::string property_text(icalcomponent* c, icalproperty_kind k) {
    icalproperty* p = icalcomponent_get_first_property(c, k);
    if (!p) return {};
    icalvalue* v = icalproperty_get_value(p);
    if (!v) return {};
    switch (icalvalue_isa(v)) {
    case ICAL_TEXT_VALUE: {
        const char* s = icalvalue_get_text(v);
        return s ? s : "";
    }
    default: {
        const char* s = icalproperty_get_value_as_string(p);
        return s ? s : "";
    }
    }
}

namespace {
bool has(const short* a) { return a[0] != ICAL_RECURRENCE_ARRAY_MAX; }
}  // namespace

bool rule_is_tractable(const icalrecurrencetype& r) {
    const bool day_parts = has(r.by_month) || has(r.by_week_no) || has(r.by_year_day) || has(r.by_month_day) || has(r.by_day);
    if ((r.freq == ICAL_SECONDLY_RECURRENCE || r.freq == ICAL_MINUTELY_RECURRENCE) && day_parts) return false;
    if (r.freq == ICAL_HOURLY_RECURRENCE && (has(r.by_week_no) || has(r.by_year_day))) return false;
    if ((r.freq == ICAL_HOURLY_RECURRENCE || r.freq == ICAL_DAILY_RECURRENCE) && has(r.by_month) && has(r.by_month_day)) {
        static constexpr int max_days[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        bool any = false;
        for (int i = 0; i < ICAL_BY_MONTH_SIZE && r.by_month[i] != ICAL_RECURRENCE_ARRAY_MAX && !any; ++i) {
            const int m = r.by_month[i];
            if (m < 1 || m > 12) continue;
            for (int j = 0; j < ICAL_BY_MONTHDAY_SIZE && r.by_month_day[j] != ICAL_RECURRENCE_ARRAY_MAX; ++j) {
                const int d = r.by_month_day[j] < 0 ? -r.by_month_day[j] : r.by_month_day[j];
                if (d >= 1 && d <= max_days[m]) {
                    any = true;
                    break;
                }
            }
        }
        if (!any) return false;
    }
    return true;
}

bool vtimezone_tractable(icalcomponent* vtz) {
    constexpr std::size_t max_observances = 500, max_rules = 12;
    std::size_t observances = 0, rules = 0;
    for (auto k : {ICAL_XSTANDARD_COMPONENT, ICAL_XDAYLIGHT_COMPONENT})
        for (icalcomponent* o = icalcomponent_get_first_component(vtz, k); o; o = icalcomponent_get_next_component(vtz, k)) {
            ++observances;
            const auto nrules = static_cast<std::size_t>(icalcomponent_count_properties(o, ICAL_RRULE_PROPERTY));
            if (nrules > 1 || static_cast<std::size_t>(icalcomponent_count_properties(o, ICAL_RDATE_PROPERTY)) > max_observances)
                return false;
            rules += nrules;
        }
    return observances <= max_observances && rules <= max_rules;
}

component_kind kind_of(icalcomponent_kind k) {
    switch (k) {
    case ICAL_VEVENT_COMPONENT: return component_kind::vevent;
    case ICAL_VTODO_COMPONENT: return component_kind::vtodo;
    case ICAL_VJOURNAL_COMPONENT: return component_kind::vjournal;
    case ICAL_VFREEBUSY_COMPONENT: return component_kind::vfreebusy;
    default: return component_kind::none;
    }
}

icalcomponent_kind ical_kind(component_kind k) {
    switch (k) {
    case component_kind::vevent: return ICAL_VEVENT_COMPONENT;
    case component_kind::vtodo: return ICAL_VTODO_COMPONENT;
    case component_kind::vjournal: return ICAL_VJOURNAL_COMPONENT;
    case component_kind::vfreebusy: return ICAL_VFREEBUSY_COMPONENT;
    case component_kind::none: break;
    }
    return ICAL_NO_COMPONENT;
}

std::vector<icalcomponent*> main_components(icalcomponent* vcalendar, component_kind kind) {
    std::vector<icalcomponent*> r;
    const auto k = ical_kind(kind);
    if (k == ICAL_NO_COMPONENT) return r;
    for (icalcomponent* c = icalcomponent_get_first_component(vcalendar, k); c;
         c = icalcomponent_get_next_component(vcalendar, k))
        r.push_back(c);
    return r;
}

}  // namespace detail

// --- time_zone ---

time_zone::time_zone(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
time_zone::time_zone(time_zone&&) noexcept = default;
time_zone& time_zone::operator=(time_zone&&) noexcept = default;
time_zone::~time_zone() = default;

time_zone time_zone::utc() {
    detail::init_libical();
    auto p = std::make_unique<impl>();
    p->tz = icaltimezone_get_utc_timezone();
    return time_zone(std::move(p));
}

result<time_zone> time_zone::from_name(std::string_view iana) {
    detail::init_libical();
    if (iana.empty() || iana.size() > 100) return make_error_code(errc::not_found);
    const std::string n(iana);
    if (n == "UTC" || n == "Etc/UTC" || n == "GMT") return utc();
    icaltimezone* z = icaltimezone_get_builtin_timezone(n.c_str());
    if (!z) return make_error_code(errc::not_found);
    auto p = std::make_unique<impl>();
    p->tz = z;
    return time_zone(std::move(p));
}

result<time_zone> time_zone::from_ical(std::string_view text) {
    if (text.size() > 256 * 1024) return make_error_code(errc::limit_exceeded);
    if (detail::text_problem(text)) return make_error_code(errc::invalid_argument);
    auto root = detail::parse_tree(text);
    if (!root || icalcomponent_isa(root.get()) != ICAL_VCALENDAR_COMPONENT || detail::first_error(root.get()))
        return make_error_code(errc::invalid_argument);
    icalcomponent* vtz = icalcomponent_get_first_component(root.get(), ICAL_VTIMEZONE_COMPONENT);
    if (!vtz || icalcomponent_get_next_component(root.get(), ICAL_VTIMEZONE_COMPONENT))
        return make_error_code(errc::invalid_argument);
    if (!icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY)) return make_error_code(errc::invalid_argument);
    if (!detail::vtimezone_tractable(vtz)) return make_error_code(errc::limit_exceeded);
    icaltimezone* tz = icaltimezone_new();
    if (!tz) return make_error_code(errc::internal);
    if (!icaltimezone_set_component(tz, icalcomponent_new_clone(vtz))) {
        icaltimezone_free(tz, 1);
        return make_error_code(errc::invalid_argument);
    }
    auto p = std::make_unique<impl>();
    p->tz = tz;
    p->owned = true;
    return time_zone(std::move(p));
}

std::string time_zone::tzid() const {
    const char* s = icaltimezone_get_tzid(impl_->tz);
    if (!s) s = icaltimezone_get_location(impl_->tz);
    return s ? s : "UTC";
}

int time_zone::offset(utc_time t) const {
    icaltimetype u = icaltime_from_timet_with_zone(static_cast<time_t>(t), 0, icaltimezone_get_utc_timezone());
    int is_daylight = 0;
    return icaltimezone_get_utc_offset_of_utc_time(impl_->tz, &u, &is_daylight);
}

// --- utc text ---

std::string to_utc_text(utc_time t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

result<utc_time> from_utc_text(std::string_view s) {
    if (s.size() != 16 || s[8] != 'T' || (s[15] != 'Z' && s[15] != 'z')) return make_error_code(errc::invalid_argument);
    auto num = [&](std::size_t pos, std::size_t n, int& out) {
        out = 0;
        for (std::size_t i = pos; i < pos + n; ++i) {
            if (s[i] < '0' || s[i] > '9') return false;
            out = out * 10 + (s[i] - '0');
        }
        return true;
    };
    int y, mo, d, h, mi, se;
    if (!num(0, 4, y) || !num(4, 2, mo) || !num(6, 2, d) || !num(9, 2, h) || !num(11, 2, mi) || !num(13, 2, se))
        return make_error_code(errc::invalid_argument);
    if (mo < 1 || mo > 12 || d < 1 || d > icaltime_days_in_month(mo, y) || h > 23 || mi > 59 || se > 60)
        return make_error_code(errc::invalid_argument);
    // Days from civil (Howard Hinnant's algorithm): no time zone, no libc state.
    const int yy = y - (mo <= 2);
    const int era = (yy >= 0 ? yy : yy - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(yy - era * 400);
    const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const long long days = static_cast<long long>(era) * 146097 + static_cast<long long>(doe) - 719468;
    return days * 86400 + h * 3600 + mi * 60 + std::min(se, 59);
}

}  // namespace polder::ical
