// fuzz_ical_validate.cpp - libFuzzer target: CalDAV validation, indexing, time-range
// tests and expansion of arbitrary calendar data.
//
// SECURITY: checks guarantees, not just "no crash": a valid object has a UID and a kind,
// its serialisation validates again with the same UID and kind, expansion stays within
// its instance limit and returns instances in start order, and overlaps() agrees with a
// non-empty expansion.
// STANDARDS: see polder/ical/calendar.hpp and polder/ical/time_range.hpp.
#include "polder/ical/calendar.hpp"
#include "polder/ical/itip.hpp"
#include "polder/ical/time_range.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void require(bool ok) {
    if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace polder::ical;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    validate_options opt;
    opt.lim.max_size = 64 * 1024;
    opt.lim.max_instances = 200;
    opt.lim.max_recurrence_steps = 5000;
    // The same bytes as a free/busy request POSTed to a schedule outbox (RFC 6638 5): a
    // parsed request always has an organizer, attendees and a non-empty bounded range.
    if (auto fb = parse_freebusy_request(text, opt.lim)) {
        require(!fb->organizer.empty() && !fb->attendees.empty());
        require(fb->attendees.size() <= opt.lim.max_attendees);
        require(fb->range.start && fb->range.end && *fb->range.start < *fb->range.end);
    }
    auto v = validate(text, opt);
    if (!v.ok()) {
        require(!v.reason.empty());
        require(!v.object);
        return 0;
    }
    require(v.object.has_value());
    require(!v.uid.empty() && v.kind != component_kind::none);
    const auto again = validate(v.object->to_string(), opt);
    require(again.ok() && again.uid == v.uid && again.kind == v.kind);
    const time_range week{1767225600, 1767225600 + 7 * 86400};  // 2026-01-01 .. 2026-01-08
    const auto e = expand(*v.object, week, nullptr, opt.lim);
    require(e.instances.size() <= opt.lim.max_instances);
    for (std::size_t i = 1; i < e.instances.size(); ++i)
        require(e.instances[i - 1].start.value_or(INT64_MIN) <= e.instances[i].start.value_or(INT64_MIN));
    if (!e.instances.empty()) require(overlaps(*v.object, week, nullptr, opt.lim));
    (void)alarm_overlaps(*v.object, week, nullptr, opt.lim);
    return 0;
}
