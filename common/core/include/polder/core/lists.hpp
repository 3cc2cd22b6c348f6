// lists.hpp - the items of a setting that lists several values ("10.0.0.0/8, 192.0.2.1
// 2001:db8::/32"): separated by commas and/or blanks, empty items skipped. Shared by the
// configuration's checks and the code that reads the same lists.
#pragma once

#include <string_view>
#include <vector>

namespace polder {

inline std::vector<std::string_view> split_list(std::string_view list) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    while (at < list.size()) {
        at = list.find_first_not_of(", \t", at);
        if (at == std::string_view::npos) break;
        auto end = list.find_first_of(", \t", at);
        if (end == std::string_view::npos) end = list.size();
        out.push_back(list.substr(at, end - at));
        at = end;
    }
    return out;
}

}  // namespace polder
