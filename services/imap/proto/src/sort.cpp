// sort.cpp - RFC 5256 SORT ordering over prepared per-message records.
//
// SECURITY: keys are computed once per record (base subject extraction is linear);
// sorting is O(n log n).
// STANDARDS: RFC 5256 sections 2.1, 2.2 and 3; RFC 5957.
#include "polder/imap/proto/sort.hpp"

#include "polder/imap/proto/thread.hpp"

#include <algorithm>
#include <numeric>

namespace polder::imap::proto {

std::vector<std::uint32_t> sort_messages(const std::vector<sort_record>& records,
                                         std::span<const sort_criterion> criteria) {
    std::vector<std::string> subjects;
    bool need_subject = std::any_of(criteria.begin(), criteria.end(),
                                    [](const sort_criterion& c) { return c.key == sort_key::subject; });
    if (need_subject) {
        subjects.reserve(records.size());
        for (const auto& r : records) subjects.push_back(extract_base_subject(r.subject).subject);
    }
    std::vector<std::size_t> order(records.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    auto compare_key = [&](const sort_criterion& c, std::size_t a, std::size_t b) -> int {
        const sort_record& x = records[a];
        const sort_record& y = records[b];
        auto cmp_num = [](auto p, auto q) { return p < q ? -1 : (p > q ? 1 : 0); };
        switch (c.key) {
        case sort_key::arrival: return cmp_num(x.arrival, y.arrival);
        case sort_key::date: return cmp_num(x.sent_date, y.sent_date);
        case sort_key::size: return cmp_num(x.size, y.size);
        case sort_key::cc: return compare_ascii_casemap(x.cc, y.cc);
        case sort_key::from: return compare_ascii_casemap(x.from, y.from);
        case sort_key::to: return compare_ascii_casemap(x.to, y.to);
        case sort_key::displayfrom: return compare_ascii_casemap(x.display_from, y.display_from);
        case sort_key::displayto: return compare_ascii_casemap(x.display_to, y.display_to);
        case sort_key::subject: return compare_ascii_casemap(subjects[a], subjects[b]);
        }
        return 0;
    };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        for (const auto& c : criteria) {
            int r = compare_key(c, a, b);
            if (r != 0) return c.reverse ? r > 0 : r < 0;
        }
        return records[a].sequence < records[b].sequence;
    });
    std::vector<std::uint32_t> ids;
    ids.reserve(order.size());
    for (auto i : order) ids.push_back(records[i].id);
    return ids;
}

}  // namespace polder::imap::proto
