// fuzz_dav_if.cpp - libFuzzer target: the If, Depth, Overwrite, Timeout and
// Destination header parsers.
//
// SECURITY: checks the documented bounds hold for every accepted If value
// (lists, conditions per list, non-empty groups) and that a Destination's
// path always starts with '/'.
// STANDARDS: RFC 4918 10.2-10.7.
#include "polder/dav/headers.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace polder::dav;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (auto h = parse_if(input)) {
        std::size_t lists = 0;
        if (h->groups.empty()) std::abort();
        for (const auto& g : h->groups) {
            if (g.lists.empty() || g.resource.has_value() != h->tagged) std::abort();
            for (const auto& l : g.lists) {
                ++lists;
                if (l.conditions.empty() || l.conditions.size() > max_if_conditions) std::abort();
                for (const auto& c : l.conditions)
                    if (c.value.empty()) std::abort();
            }
        }
        if (lists > max_if_lists) std::abort();
    }
    if (auto d = parse_destination(input)) {
        if (d->path.empty() || d->path.front() != '/') std::abort();
    }
    (void)parse_depth(input);
    (void)parse_overwrite(input);
    if (auto t = parse_timeout(input))
        if (!t->infinite && t->seconds > 0xffffffffull) std::abort();
    return 0;
}
