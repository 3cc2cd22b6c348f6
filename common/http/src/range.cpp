// range.cpp - Range / If-Range evaluation for byte ranges (RFC 9110 14, 13.1.5).
//
// SECURITY: saturating decimal parsing (no overflow whatever the digit count);
// the range count is capped before any allocation grows with it; merging is
// O(n log n) in that capped count.
// STANDARDS: RFC 9110 14.1.2, 14.2, 14.4, 13.1.5.
#include "polder/http/range.hpp"

#include "polder/http/date.hpp"
#include "polder/http/etag.hpp"

#include <algorithm>
#include <limits>

namespace polder::http {
namespace {

constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// parse_saturating - 1*DIGIT; values beyond 2^64-1 saturate (they are past any
// real size, which is all the caller needs to know).
bool parse_saturating(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (max_u64 - d) / 10)
            v = max_u64;
        else
            v = v * 10 + d;
    }
    out = v;
    return true;
}

struct spec {
    bool suffix = false;
    std::uint64_t first = 0;
    std::optional<std::uint64_t> last;   // int-range only
    std::uint64_t suffix_length = 0;     // suffix-range only
};

bool parse_spec(std::string_view s, spec& out) {
    const auto dash = s.find('-');
    if (dash == std::string_view::npos) return false;
    const auto a = s.substr(0, dash);
    const auto b = s.substr(dash + 1);
    if (a.empty()) {
        out.suffix = true;
        return parse_saturating(b, out.suffix_length);
    }
    if (!parse_saturating(a, out.first)) return false;
    if (b.empty()) return true;
    std::uint64_t last = 0;
    if (!parse_saturating(b, last)) return false;
    if (last < out.first) return false;   // invalid: RFC 9110 14.1.1
    out.last = last;
    return true;
}

}  // namespace

range_request parse_range(std::string_view value, std::uint64_t size, const range_options& options) {
    range_request full;   // outcome full, no ranges
    value = trim(value);
    const auto eq = value.find('=');
    if (eq == std::string_view::npos) return full;
    if (!iequals(trim(value.substr(0, eq)), "bytes")) return full;   // unknown unit: ignore
    std::string_view set = value.substr(eq + 1);

    std::vector<spec> specs;
    while (!set.empty()) {
        const auto comma = set.find(',');
        const auto item = trim(set.substr(0, comma));
        set = comma == std::string_view::npos ? std::string_view{} : set.substr(comma + 1);
        if (item.empty()) continue;   // empty list elements are allowed (RFC 9110 5.6.1.2)
        if (specs.size() >= options.max_ranges) return full;
        spec sp;
        if (!parse_spec(item, sp)) return full;
        specs.push_back(sp);
    }
    if (specs.empty()) return full;

    range_request out;
    bool empty_suffix_on_empty = false;
    for (const auto& sp : specs) {
        if (sp.suffix) {
            if (sp.suffix_length == 0) continue;   // selects nothing: unsatisfiable
            if (size == 0) {
                empty_suffix_on_empty = true;
                continue;
            }
            const auto n = std::min(sp.suffix_length, size);
            out.ranges.push_back({size - n, size - 1});
        } else {
            if (sp.first >= size) continue;
            const auto last = sp.last ? std::min(*sp.last, size - 1) : size - 1;
            out.ranges.push_back({sp.first, last});
        }
    }
    if (out.ranges.empty()) {
        if (empty_suffix_on_empty) return full;
        out.outcome = range_outcome::unsatisfiable;
        return out;
    }

    if (options.merge_overlapping && out.ranges.size() > 1) {
        auto sorted = out.ranges;
        std::sort(sorted.begin(), sorted.end(),
                  [](const byte_range& a, const byte_range& b) { return a.first < b.first; });
        bool overlap = false;
        for (std::size_t i = 1; i < sorted.size(); ++i)
            if (sorted[i].first <= sorted[i - 1].last) overlap = true;
        if (overlap) {
            std::vector<byte_range> merged;
            for (const auto& r : sorted) {
                // Adjacent ranges are joined too: once we reorder anyway, one part
                // is cheaper for both sides than two touching ones.
                if (!merged.empty() && (r.first <= merged.back().last || r.first - 1 == merged.back().last))
                    merged.back().last = std::max(merged.back().last, r.last);
                else
                    merged.push_back(r);
            }
            out.ranges = std::move(merged);
        }
    }
    out.outcome = range_outcome::partial;
    return out;
}

std::string content_range(const byte_range& r, std::uint64_t size) {
    return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(size);
}

std::string unsatisfied_content_range(std::uint64_t size) { return "bytes */" + std::to_string(size); }

bool if_range_allows_partial(std::string_view value, std::string_view current_etag,
                             std::optional<std::int64_t> last_modified) {
    value = trim(value);
    if (value.empty()) return false;
    if (value.front() == '"' || value.starts_with("W/")) {
        const auto tag = parse_entity_tag(value);
        const auto current = parse_entity_tag(current_etag);
        return tag && current && strong_match(*tag, *current);
    }
    const auto date = parse_http_date(value);
    return date && last_modified && *date == *last_modified;
}

}  // namespace polder::http
