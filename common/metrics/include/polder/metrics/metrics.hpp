// polder/metrics/metrics.hpp - counters, gauges and histograms with labels,
// rendered in the Prometheus text exposition format.
//
//   auto& logins = metrics::registry::global().counter_(
//       "polder_imap_logins_total", "IMAP logins by outcome", {{"outcome", "ok"}});
//   logins.inc();
//
// Registration (counter_/gauge_/histogram_) takes a lock and may allocate;
// call it once and keep the reference (references stay valid for the life of
// the registry). Updating a metric (inc/set/add/observe) is lock-free: plain
// atomics, safe from any thread. render() takes the registration lock and
// reads the atomics; a concurrent update may or may not be included.
//
// Programming errors throw std::invalid_argument / std::logic_error at
// registration: a malformed metric or label name, a duplicate label name, the
// reserved label `le` on a histogram, or one name registered with two types.
// Registering the same name and labels again returns the same metric.
//
// SECURITY: label values may carry client-influenced text (a listener name, a
// status class); they are escaped so they cannot break the exposition format.
// Keep label cardinality bounded: never use a client-chosen value (address,
// user name) as a label value.
//
// STANDARDS: Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace polder::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

// counter - a monotonically increasing count (name it ..._total).
class counter {
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// gauge - a value that goes up and down (active connections, queue length).
class gauge {
public:
    void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void add(std::int64_t d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
    void inc() noexcept { add(1); }
    void dec() noexcept { add(-1); }
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

// Latency buckets in seconds: 1 ms .. 60 s covers a cached IMAP FETCH up to a
// large SMTP DATA or a DAV upload; finer is not needed for alerting.
inline constexpr std::array<double, 14> latency_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                        0.25,  0.5,    1.0,   2.5,  5.0,   10.0, 60.0};

// histogram - observations counted into fixed buckets (upper bounds
// inclusive, as Prometheus defines `le`), plus their sum and count.
class histogram {
public:
    explicit histogram(std::span<const double> upper_bounds = latency_buckets);

    void observe(double seconds) noexcept;  // NaN observations are ignored

    struct snapshot {
        std::vector<double> upper_bounds;
        std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf last
        double sum = 0;
        std::uint64_t count = 0;  // equals cumulative.back()
    };
    snapshot read() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (overflow), non-cumulative
    std::atomic<double> sum_{0};
};

class registry {
public:
    registry();
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    // global - the process-wide registry that /metrics renders.
    static registry& global();

    counter& counter_(std::string name, std::string help, labels l = {});
    gauge& gauge_(std::string name, std::string help, labels l = {});
    histogram& histogram_(std::string name, std::string help, labels l = {});
    histogram& histogram_(std::string name, std::string help, labels l, std::span<const double> upper_bounds);

    // render - every family sorted by name, each with # HELP and # TYPE lines,
    // its series sorted by labels (label names sorted too).
    std::string render() const;

private:
    struct family;
    family& family_for(const std::string& name, const std::string& help, int type);
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<family>> families_;
};

// Helpers for the format, public for tests and for other exposition code.
bool valid_metric_name(std::string_view);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_label_name(std::string_view);   // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
std::string escape_label_value(std::string_view);  // \ -> \\, " -> \", newline -> \n
std::string escape_help(std::string_view);         // \ -> \\, newline -> \n
std::string format_value(double);                  // shortest round trip; NaN, +Inf, -Inf

}  // namespace polder::metrics
