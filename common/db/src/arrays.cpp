// arrays.cpp - PostgreSQL array literals; see arrays.hpp.
//
// SECURITY: see arrays.hpp (escaping; bounded by the caller's input).
// STANDARDS: PostgreSQL 15 manual 8.15.2, 8.15.6.
#include "polder/db/arrays.hpp"

namespace polder::db {

std::string text_array(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char c : values[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

std::string bigint_array(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(values[i]);
    }
    out += '}';
    return out;
}

result<std::vector<std::string>> parse_text_array(std::string_view s) {
    std::vector<std::string> out;
    if (s.size() < 2 || s.front() != '{' || s.back() != '}') return errc::invalid_argument;
    std::size_t i = 1;
    const std::size_t end = s.size() - 1;
    if (i == end) return out;
    while (i <= end) {
        std::string v;
        if (i < end && s[i] == '"') {
            ++i;
            for (;;) {
                if (i >= end) return errc::invalid_argument;
                char c = s[i++];
                if (c == '"') break;
                if (c == '\\') {
                    if (i >= end) return errc::invalid_argument;
                    c = s[i++];
                }
                v += c;
            }
        } else {
            while (i < end && s[i] != ',') v += s[i++];
            if (v.empty()) return errc::invalid_argument;
        }
        out.push_back(std::move(v));
        if (i == end) break;
        if (s[i] != ',') return errc::invalid_argument;
        ++i;
    }
    return out;
}

}  // namespace polder::db
