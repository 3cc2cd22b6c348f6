// util.hpp - small helpers private to polder::db.
// SECURITY: one_line() folds multi-line server/libpq messages (and any
// control characters) so a message can never forge extra log or terminal
// lines. STANDARDS: none.
#pragma once

#include <string>
#include <string_view>

namespace polder::db::detail {

// one_line - runs of whitespace or control characters become one space;
// leading and trailing ones are dropped; the result is at most 2000 bytes.
inline std::string one_line(std::string_view s) {
    std::string out;
    out.reserve(s.size() < 2000 ? s.size() : 2000);
    bool pending_space = false;
    for (unsigned char c : s) {
        if (c <= 0x20 || c == 0x7f) {
            pending_space = !out.empty();
            continue;
        }
        if (out.size() >= 2000) break;
        if (pending_space) out += ' ';
        pending_space = false;
        out += static_cast<char>(c);
    }
    return out;
}

}  // namespace polder::db::detail
