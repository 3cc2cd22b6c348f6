// metrics.cpp - the metric registry and its Prometheus text rendering.
//
// SECURITY: label values and help texts are escaped per the exposition format;
// names are validated at registration so render() can never emit a malformed
// line. The hot path (inc/set/observe) takes no lock.
//
// STANDARDS: Prometheus text exposition format 0.0.4.
#include "polder/metrics/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace polder::metrics {

namespace {

enum type_id { t_counter = 0, t_gauge = 1, t_histogram = 2 };

constexpr const char* type_names[] = {"counter", "gauge", "histogram"};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

labels normalized(labels l, bool histogram) {
    for (const auto& [k, v] : l) {
        if (!valid_label_name(k)) throw std::invalid_argument("metrics: invalid label name '" + k + "'");
        if (histogram && k == "le") throw std::invalid_argument("metrics: label 'le' is reserved for histograms");
    }
    std::sort(l.begin(), l.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 1; i < l.size(); ++i) {
        if (l[i].first == l[i - 1].first)
            throw std::invalid_argument("metrics: duplicate label name '" + l[i].first + "'");
    }
    return l;
}

// append_labels - {a="x",b="y"} plus an optional extra (le) pair; nothing when empty.
void append_labels(std::string& out, const labels& l, std::string_view extra_key = {},
                   std::string_view extra_value = {}) {
    if (l.empty() && extra_key.empty()) return;
    out += '{';
    bool first = true;
    for (const auto& [k, v] : l) {
        if (!first) out += ',';
        first = false;
        out += k;
        out += "=\"";
        out += escape_label_value(v);
        out += '"';
    }
    if (!extra_key.empty()) {
        if (!first) out += ',';
        out += extra_key;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
}

}  // namespace

// ---- histogram -------------------------------------------------------------

histogram::histogram(std::span<const double> upper_bounds) : bounds_(upper_bounds.begin(), upper_bounds.end()) {
    bool sorted = std::adjacent_find(bounds_.begin(), bounds_.end(), std::greater_equal<>()) == bounds_.end();
    bool finite = std::all_of(bounds_.begin(), bounds_.end(), [](double d) { return std::isfinite(d); });
    if (!sorted || !finite) throw std::invalid_argument("metrics: histogram bounds must be finite and increasing");
    buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
    for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double v) noexcept {
    if (std::isnan(v)) return;
    // lower_bound: the first bound >= v, so a value equal to a bound counts in it (le = "less or equal").
    auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
    buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
    snapshot s;
    s.upper_bounds = bounds_;
    s.cumulative.resize(bounds_.size() + 1);
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += buckets_[i].load(std::memory_order_relaxed);
        s.cumulative[i] = running;
    }
    // count is derived from the buckets so _count always equals the +Inf bucket.
    s.count = running;
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

// ---- registry --------------------------------------------------------------

struct registry::family {
    std::string help;
    int type;
    // std::map keeps the series sorted by (sorted) labels for a stable rendering.
    std::map<labels, std::unique_ptr<counter>> counters;
    std::map<labels, std::unique_ptr<gauge>> gauges;
    std::map<labels, std::unique_ptr<histogram>> histograms;
};

registry::registry() = default;
registry::~registry() = default;

registry& registry::global() {
    // Deliberately never destroyed: metrics are updated from threads and
    // static objects that may outlive main(), and references must stay valid.
    static registry* r = new registry;
    return *r;
}

registry::family& registry::family_for(const std::string& name, const std::string& help, int type) {
    if (!valid_metric_name(name)) throw std::invalid_argument("metrics: invalid metric name '" + name + "'");
    auto it = families_.find(name);
    if (it == families_.end()) {
        auto f = std::make_unique<family>();
        f->help = help;
        f->type = type;
        it = families_.emplace(name, std::move(f)).first;
    } else if (it->second->type != type) {
        throw std::logic_error("metrics: '" + name + "' is already registered as a " + type_names[it->second->type]);
    }
    return *it->second;
}

counter& registry::counter_(std::string name, std::string help, labels l) {
    auto key = normalized(std::move(l), false);
    std::lock_guard lock(mutex_);
    auto& f = family_for(name, help, t_counter);
    auto& slot = f.counters[std::move(key)];
    if (!slot) slot = std::make_unique<counter>();
    return *slot;
}

gauge& registry::gauge_(std::string name, std::string help, labels l) {
    auto key = normalized(std::move(l), false);
    std::lock_guard lock(mutex_);
    auto& f = family_for(name, help, t_gauge);
    auto& slot = f.gauges[std::move(key)];
    if (!slot) slot = std::make_unique<gauge>();
    return *slot;
}

histogram& registry::histogram_(std::string name, std::string help, labels l) {
    return histogram_(std::move(name), std::move(help), std::move(l), latency_buckets);
}

histogram& registry::histogram_(std::string name, std::string help, labels l, std::span<const double> bounds) {
    auto key = normalized(std::move(l), true);
    std::lock_guard lock(mutex_);
    auto& f = family_for(name, help, t_histogram);
    auto& slot = f.histograms[std::move(key)];
    if (!slot) slot = std::make_unique<histogram>(bounds);
    return *slot;
}

std::string registry::render() const {
    std::string out;
    std::lock_guard lock(mutex_);
    for (const auto& [name, f] : families_) {
        out += "# HELP ";
        out += name;
        out += ' ';
        out += escape_help(f->help);
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += type_names[f->type];
        out += '\n';
        for (const auto& [l, c] : f->counters) {
            out += name;
            append_labels(out, l);
            out += ' ';
            out += std::to_string(c->value());
            out += '\n';
        }
        for (const auto& [l, g] : f->gauges) {
            out += name;
            append_labels(out, l);
            out += ' ';
            out += std::to_string(g->value());
            out += '\n';
        }
        for (const auto& [l, h] : f->histograms) {
            auto s = h->read();
            for (std::size_t i = 0; i <= s.upper_bounds.size(); ++i) {
                out += name;
                out += "_bucket";
                append_labels(out, l, "le", i < s.upper_bounds.size() ? format_value(s.upper_bounds[i]) : "+Inf");
                out += ' ';
                out += std::to_string(s.cumulative[i]);
                out += '\n';
            }
            out += name;
            out += "_sum";
            append_labels(out, l);
            out += ' ';
            out += format_value(s.sum);
            out += '\n';
            out += name;
            out += "_count";
            append_labels(out, l);
            out += ' ';
            out += std::to_string(s.count);
            out += '\n';
        }
    }
    return out;
}

// ---- format helpers ----------------------------------------------------------

bool valid_metric_name(std::string_view n) {
    if (n.empty() || !(is_alpha(n[0]) || n[0] == ':')) return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == ':'; });
}

bool valid_label_name(std::string_view n) {
    if (n.empty() || !is_alpha(n[0]) || n.starts_with("__")) return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return is_alpha(c) || is_digit(c); });
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("NaN");
}

}  // namespace polder::metrics
