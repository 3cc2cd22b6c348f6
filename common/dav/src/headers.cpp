// headers.cpp - Depth, Overwrite, Timeout, Destination and If.
//
// SECURITY: see headers.hpp; the If parser is a single left-to-right scan
// with explicit bounds, no recursion.
// STANDARDS: RFC 4918 10.2-10.7.
#include "polder/dav/headers.hpp"

#include "polder/http/etag.hpp"

#include <algorithm>
#include <cctype>

namespace polder::dav {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool istarts(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

std::optional<depth> parse_depth(std::string_view value) {
    value = trim(value);
    if (value == "0") return depth::zero;
    if (value == "1") return depth::one;
    if (iequals(value, "infinity")) return depth::infinity;
    return std::nullopt;
}

std::optional<bool> parse_overwrite(std::string_view value) {
    value = trim(value);
    if (value == "T" || value == "t") return true;
    if (value == "F" || value == "f") return false;
    return std::nullopt;
}

std::optional<timeout_value> parse_timeout(std::string_view value) {
    if (value.size() > 1024) return std::nullopt;
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view item = trim(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        if (iequals(item, "Infinite")) return timeout_value{true, 0};
        if (istarts(item, "Second-")) {
            std::string_view digits = item.substr(7);
            if (digits.empty() || digits.size() > 40) continue;
            std::uint64_t n = 0;
            bool ok = true;
            for (char c : digits) {
                if (c < '0' || c > '9') {
                    ok = false;
                    break;
                }
                // Saturate: RFC 4918 caps DAVTimeOutVal at 2^32-1 anyway.
                n = n > 0xffffffffull ? n : n * 10 + static_cast<std::uint64_t>(c - '0');
            }
            if (ok) return timeout_value{false, std::min<std::uint64_t>(n, 0xffffffffull)};
        }
    }
    return std::nullopt;
}

result<destination> parse_destination(std::string_view value) {
    value = trim(value);
    if (value.empty() || value.size() > 8192) return errc::invalid_argument;
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '#' || c == '?' || c == '\\') return errc::invalid_argument;
    }
    destination d;
    if (value.front() == '/') {
        if (value.size() > 1 && value[1] == '/') return errc::invalid_argument;   // network-path reference
        d.path = std::string(value);
        return d;
    }
    std::string_view rest;
    if (istarts(value, "http://")) {
        d.scheme = "http";
        rest = value.substr(7);
    } else if (istarts(value, "https://")) {
        d.scheme = "https";
        rest = value.substr(8);
    } else {
        return errc::invalid_argument;
    }
    const auto slash = rest.find('/');
    d.authority = std::string(rest.substr(0, slash));
    if (d.authority.empty() || d.authority.find('@') != std::string::npos) return errc::invalid_argument;
    d.path = slash == std::string_view::npos ? std::string("/") : std::string(rest.substr(slash));
    return d;
}

std::vector<std::string> if_header::state_tokens() const {
    std::vector<std::string> out;
    for (const auto& g : groups)
        for (const auto& l : g.lists)
            for (const auto& c : l.conditions)
                if (!c.is_etag) out.push_back(c.value);
    return out;
}

result<if_header> parse_if(std::string_view v) {
    if (v.size() > max_if_length) return errc::limit_exceeded;
    if_header h;
    std::size_t i = 0;
    std::size_t lists = 0;
    auto skip_ws = [&] {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    };
    // read_until - the text up to `close` (exclusive); no nesting, no controls.
    auto read_until = [&](char close, std::string& out) -> bool {
        const auto end = v.find(close, i);
        if (end == std::string_view::npos) return false;
        out.assign(v.substr(i, end - i));
        for (char c : out) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 0x20 || u == 0x7f || c == '<') return false;
        }
        i = end + 1;
        return true;
    };
    bool any = false;
    for (;;) {
        skip_ws();
        if (i >= v.size()) break;
        any = true;
        if (v[i] == '<') {
            // A resource tag: starts a tagged group.
            if (!h.groups.empty() && !h.tagged) return errc::invalid_argument;
            h.tagged = true;
            ++i;
            std::string tag;
            if (!read_until('>', tag) || tag.empty()) return errc::invalid_argument;
            if_group g;
            g.resource = std::move(tag);
            h.groups.push_back(std::move(g));
            continue;
        }
        if (v[i] != '(') return errc::invalid_argument;
        if (h.groups.empty()) h.groups.emplace_back();   // untagged
        if (++lists > max_if_lists) return errc::limit_exceeded;
        ++i;
        if_list list;
        for (;;) {
            skip_ws();
            if (i >= v.size()) return errc::invalid_argument;
            if (v[i] == ')') {
                ++i;
                break;
            }
            if_condition c;
            if (v.size() - i >= 3 && iequals(v.substr(i, 3), "Not")) {
                c.negated = true;
                i += 3;
                skip_ws();
                if (i >= v.size()) return errc::invalid_argument;
            }
            if (v[i] == '<') {
                ++i;
                if (!read_until('>', c.value) || c.value.empty()) return errc::invalid_argument;
            } else if (v[i] == '[') {
                ++i;
                std::string tag;
                if (!read_until(']', tag)) return errc::invalid_argument;
                auto parsed = http::parse_entity_tag(tag);
                if (!parsed) return errc::invalid_argument;
                c.is_etag = true;
                c.value = parsed->str();
            } else {
                return errc::invalid_argument;
            }
            if (list.conditions.size() >= max_if_conditions) return errc::limit_exceeded;
            list.conditions.push_back(std::move(c));
        }
        if (list.conditions.empty()) return errc::invalid_argument;
        h.groups.back().lists.push_back(std::move(list));
    }
    if (!any) return errc::invalid_argument;
    for (const auto& g : h.groups)
        if (g.lists.empty()) return errc::invalid_argument;   // a resource tag with no list
    return h;
}

}  // namespace polder::dav
