// paths.cpp - request path parsing and href construction (see paths.hpp).
//
// SECURITY: see paths.hpp; every segment is decoded once and checked before use.
// STANDARDS: RFC 3986 2.1 (percent-encoding), 3.3 (segments).
#include "paths.hpp"

#include "polder/http/uri.hpp"

#include <algorithm>
#include <vector>

namespace polder::caldav {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return out;
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
    return std::none_of(name.begin(), name.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f || c == '/';
    });
}

std::string shared_name(std::int64_t collection_id) {
    return std::string(shared_prefix) + std::to_string(collection_id);
}

std::optional<std::int64_t> shared_id(std::string_view name) {
    if (name.substr(0, shared_prefix.size()) != shared_prefix) return std::nullopt;
    auto digits = name.substr(shared_prefix.size());
    if (digits.empty() || digits.size() > 18 || digits.front() == '0') return std::nullopt;
    std::int64_t v = 0;
    for (char ch : digits) {
        if (ch < '0' || ch > '9') return std::nullopt;
        v = v * 10 + (ch - '0');
    }
    return v;
}

bool reserved_name(std::string_view name) {
    const auto l = lower(name);
    return l.starts_with(shared_prefix) || l == "inbox" || l == "outbox";
}

std::optional<dav_path> parse_path(std::string_view raw) {
    if (raw.size() > 4096 || raw.substr(0, root_prefix.size()) != root_prefix) return std::nullopt;
    std::string_view rest = raw.substr(root_prefix.size());
    if (!rest.empty() && rest.front() != '/') return std::nullopt;
    dav_path p;
    p.trailing_slash = rest.empty() || rest.back() == '/';
    std::vector<std::string> segs;
    std::size_t pos = 0;
    while (pos < rest.size()) {
        if (rest[pos] == '/') {
            ++pos;
            continue;
        }
        auto end = rest.find('/', pos);
        if (end == std::string_view::npos) end = rest.size();
        auto decoded = http::percent_decode(rest.substr(pos, end - pos));
        if (!decoded || !valid_name(*decoded)) return std::nullopt;
        segs.push_back(std::move(*decoded));
        if (segs.size() > 4) return std::nullopt;
        pos = end;
    }
    // Doubled slashes inside the path are not canonical: refuse rather than alias.
    if (rest.find("//") != std::string_view::npos) return std::nullopt;
    if (segs.empty()) {
        p.where = area::root;
        return p;
    }
    const std::string& top = segs[0];
    if (top == "principals") {
        if (segs.size() == 1) p.where = area::principals;
        else if (segs.size() == 2) p.where = area::principal;
        else return std::nullopt;
        if (segs.size() == 2) p.owner = lower(segs[1]);
        return p;
    }
    const bool cal = top == "calendars";
    if (!cal && top != "addressbooks") return std::nullopt;
    if (segs.size() < 2) return std::nullopt;
    p.owner = lower(segs[1]);
    if (segs.size() == 2) p.where = cal ? area::cal_home : area::card_home;
    if (segs.size() >= 3) {
        p.collection = segs[2];
        p.where = cal ? area::calendar : area::addressbook;
    }
    if (segs.size() == 4) {
        p.object = segs[3];
        p.where = cal ? area::cal_object : area::card_object;
    }
    return p;
}

std::string principal_href(std::string_view owner) {
    return std::string(root_prefix) + "/principals/" + http::percent_encode_path(owner) + "/";
}

std::string home_href(std::string_view owner, bool calendars) {
    return std::string(root_prefix) + (calendars ? "/calendars/" : "/addressbooks/") +
           http::percent_encode_path(owner) + "/";
}

std::string collection_href(std::string_view owner, bool calendars, std::string_view name) {
    return home_href(owner, calendars) + http::percent_encode_path(name) + "/";
}

std::string object_href(std::string_view owner, bool calendars, std::string_view collection, std::string_view name) {
    return collection_href(owner, calendars, collection) + http::percent_encode_path(name);
}

std::string href(const dav_path& p) {
    switch (p.where) {
    case area::root: return std::string(root_prefix) + "/";
    case area::principals: return std::string(root_prefix) + "/principals/";
    case area::principal: return principal_href(p.owner);
    case area::cal_home: return home_href(p.owner, true);
    case area::card_home: return home_href(p.owner, false);
    case area::calendar: return collection_href(p.owner, true, p.collection);
    case area::addressbook: return collection_href(p.owner, false, p.collection);
    case area::cal_object: return object_href(p.owner, true, p.collection, p.object);
    case area::card_object: return object_href(p.owner, false, p.collection, p.object);
    }
    return "/";
}

}  // namespace polder::caldav
