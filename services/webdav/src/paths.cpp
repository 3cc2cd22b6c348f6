// paths.cpp - URL <-> home path mapping, name rules, NFC via ICU.
//
// SECURITY: see paths.hpp.
// STANDARDS: RFC 3986, RFC 4918 10.3, UAX #15 (ICU unorm2 NFC instance).
#include "paths.hpp"

#include "polder/dav/headers.hpp"
#include "polder/http/basic_auth.hpp"
#include "polder/http/uri.hpp"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <vector>

namespace polder::webdav {

std::optional<std::string> nfc(std::string_view utf8) {
    if (!http::valid_utf8(utf8)) return std::nullopt;
    bool ascii = std::all_of(utf8.begin(), utf8.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii) return std::string(utf8);   // ASCII is always NFC
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* norm = unorm2_getNFCInstance(&status);
    if (U_FAILURE(status)) return std::nullopt;
    std::u16string in(utf8.size() + 1, u'\0');
    int32_t in_len = 0;
    u_strFromUTF8(reinterpret_cast<UChar*>(in.data()), static_cast<int32_t>(in.size()), &in_len, utf8.data(),
                  static_cast<int32_t>(utf8.size()), &status);
    if (U_FAILURE(status)) return std::nullopt;
    // NFC can grow a string at most 3x (UAX #15 "Stabilized Strings" bounds).
    std::u16string out(static_cast<std::size_t>(in_len) * 3 + 16, u'\0');
    const int32_t out_len = unorm2_normalize(norm, reinterpret_cast<const UChar*>(in.data()), in_len,
                                             reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()),
                                             &status);
    if (U_FAILURE(status)) return std::nullopt;
    std::string result(static_cast<std::size_t>(out_len) * 3 + 4, '\0');
    int32_t result_len = 0;
    u_strToUTF8(result.data(), static_cast<int32_t>(result.size()), &result_len,
                reinterpret_cast<const UChar*>(out.data()), out_len, &status);
    if (U_FAILURE(status)) return std::nullopt;
    result.resize(static_cast<std::size_t>(result_len));
    return result;
}

bool valid_name(std::string_view name, std::string& reason) {
    if (name.empty()) {
        reason = "empty path segment";
        return false;
    }
    if (name == "." || name == "..") {
        reason = "'.' and '..' are not allowed in paths";
        return false;
    }
    if (name.size() > max_name_bytes) {
        reason = "name longer than 255 bytes";
        return false;
    }
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            reason = "control characters are not allowed in names";
            return false;
        }
        if (std::string_view("\\:*?\"<>|").find(c) != std::string_view::npos) {
            reason = std::string("the character '") + c + "' is not allowed in names (Windows cannot store it)";
            return false;
        }
    }
    if (!http::valid_utf8(name)) {
        reason = "names must be valid UTF-8";
        return false;
    }
    // Windows silently strips a trailing dot or space, so such a name would
    // become another file (or none) on a synced Windows PC.
    if (name.back() == '.' || name.back() == ' ') {
        reason = "names may not end with a dot or a space (Windows cannot store them)";
        return false;
    }
    if (windows_device_name(name)) {
        reason = "'" + std::string(name) + "' is a reserved device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)";
        return false;
    }
    return true;
}

bool windows_device_name(std::string_view name) {
    // The part before the first dot, without trailing spaces, compared
    // case-insensitively: "nul.txt" and "Con .log" are devices too.
    std::string_view stem = name.substr(0, name.find('.'));
    while (!stem.empty() && stem.back() == ' ') stem.remove_suffix(1);
    std::string up(stem);
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (up == "CON" || up == "PRN" || up == "AUX" || up == "NUL") return true;
    if (up.size() == 4 && (up.starts_with("COM") || up.starts_with("LPT")) && up[3] >= '1' && up[3] <= '9') return true;
    return false;
}

namespace {

// decode_name - one percent-encoded segment as a checked NFC name.
std::optional<std::string> decode_name(std::string_view raw, path_error& error) {
    auto decoded = http::percent_decode(raw);
    if (!decoded) {
        error = {400, "bad percent-encoding in path (encoded '/' and NUL are refused)"};
        return std::nullopt;
    }
    std::string reason;
    if (!valid_name(*decoded, reason)) {
        error = {400, reason};
        return std::nullopt;
    }
    auto normal = nfc(*decoded);
    if (!normal) {
        error = {400, "names must be valid UTF-8"};
        return std::nullopt;
    }
    return normal;
}

std::optional<std::string> decode_address(std::string_view raw, path_error& error) {
    auto address = http::percent_decode(raw);
    // No account address holds control characters or invalid UTF-8: refusing
    // them here keeps such bytes out of every later lookup and log line.
    if (!address || address->empty() || address->size() > 254 || !http::valid_utf8(*address) ||
        std::any_of(address->begin(), address->end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        error = {400, "bad account segment"};
        return std::nullopt;
    }
    std::transform(address->begin(), address->end(), address->begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::move(*address);
}

}  // namespace

std::optional<dav_path> parse_dav_path(std::string_view raw, path_error& error) {
    dav_path out;
    std::string_view rest;
    if (raw.starts_with(files_prefix)) {
        out.where = area::files;
        rest = raw.substr(files_prefix.size());
    } else if (raw.starts_with(teams_prefix)) {
        out.where = area::teams;
        rest = raw.substr(teams_prefix.size());
    } else if (raw.starts_with(shared_prefix)) {
        out.where = area::shared;
        rest = raw.substr(shared_prefix.size());
    } else {
        error = {404, "not found"};
        return std::nullopt;
    }
    std::vector<std::string_view> segments;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        segments.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
        if (rest.empty()) out.trailing_slash = true;
    }
    if (segments.empty() || segments[0].empty()) {
        if (out.where == area::files || segments.size() > 1) {
            error = {404, "not found"};
            return std::nullopt;
        }
        out.listing = true;   // /dav/teams/ or /dav/shared/
        return out;
    }
    std::size_t first = 1;
    if (out.where == area::teams) {
        auto name = decode_name(segments[0], error);
        if (!name) return std::nullopt;
        out.address = std::move(*name);
    } else {
        auto address = decode_address(segments[0], error);
        if (!address) return std::nullopt;
        out.address = std::move(*address);
        if (out.where == area::shared) {
            if (segments.size() < 2 || (segments.size() == 2 && segments[1].empty())) {
                out.listing = true;   // /dav/shared/<owner>/
                return out;
            }
            auto mount = decode_name(segments[1], error);
            if (!mount) return std::nullopt;
            out.mount = std::move(*mount);
            first = 2;
        }
    }
    for (std::size_t i = first; i < segments.size(); ++i) {
        auto normal = decode_name(segments[i], error);
        if (!normal) return std::nullopt;
        if (!out.path.empty()) out.path += '/';
        out.path += *normal;
        if (out.path.size() > max_path_bytes) {
            error = {414, "path longer than 4096 bytes"};
            return std::nullopt;
        }
    }
    return out;
}

namespace {

bool same_authority(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace

std::optional<dav_path> parse_destination_path(std::string_view header, std::string_view host, path_error& error) {
    auto dest = dav::parse_destination(header);
    if (!dest) {
        error = {400, "missing or malformed Destination"};
        return std::nullopt;
    }
    if (!dest->authority.empty() && !same_authority(dest->authority, host)) {
        error = {502, "Destination is on another server"};
        return std::nullopt;
    }
    auto to = parse_dav_path(dest->path, error);
    if (!to && error.status == 404) error = {502, "Destination is not a file URL of this server"};
    return to;
}

std::string href(std::string_view address, std::string_view path, bool collection) {
    std::string out(files_prefix);
    out += http::percent_encode_path(address);
    out += '/';
    out += http::percent_encode_path(path);
    if (collection && !path.empty()) out += '/';
    return out;
}

std::string href_under(std::string_view url_root, std::string_view rel, bool collection) {
    std::string out(url_root);
    out += http::percent_encode_path(rel);
    if (collection && !rel.empty()) out += '/';
    return out;
}

std::string join_path(std::string_view base, std::string_view rel) {
    if (base.empty()) return std::string(rel);
    if (rel.empty()) return std::string(base);
    std::string out(base);
    out += '/';
    out += rel;
    return out;
}

std::optional<std::string> tree_path(std::string_view text, std::string& message) {
    std::string out;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        if (seg.empty()) continue;
        std::string reason;
        if (!valid_name(seg, reason)) {
            message = "bad path '" + std::string(text) + "': " + reason;
            return std::nullopt;
        }
        auto n = nfc(seg);
        if (!n) {
            message = "bad path '" + std::string(text) + "': not valid UTF-8";
            return std::nullopt;
        }
        out = join_path(out, *n);
    }
    if (out.size() > max_path_bytes) {
        message = "path longer than 4096 bytes";
        return std::nullopt;
    }
    return out;
}

std::string parent_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string name_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool inside(std::string_view path, std::string_view base) {
    if (base.empty()) return true;
    return path == base || (path.size() > base.size() && path.starts_with(base) && path[base.size()] == '/');
}

std::vector<std::string> ancestors(std::string_view path) {
    std::vector<std::string> out;
    if (path.empty()) return out;
    out.emplace_back();
    for (std::size_t i = 0; i < path.size(); ++i)
        if (path[i] == '/') out.emplace_back(path.substr(0, i));
    return out;
}

bool is_trash_path(std::string_view raw) { return raw == "/dav/trash" || raw.starts_with(trash_prefix); }

std::optional<trash_ref> parse_trash_path(std::string_view raw) {
    if (raw == "/dav/trash") return trash_ref{};
    if (!raw.starts_with(trash_prefix)) return std::nullopt;
    auto rest = raw.substr(trash_prefix.size());
    trash_ref t;
    if (rest.starts_with("teams/")) {
        rest.remove_prefix(6);
        const auto slash = rest.find('/');
        auto team = http::percent_decode(rest.substr(0, slash));
        if (!team) return std::nullopt;
        auto name = nfc(*team);
        std::string reason;
        if (!name || !valid_name(*name, reason)) return std::nullopt;
        t.team = std::move(*name);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    }
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty()) return t;
    if (rest.size() > 3 * max_name_bytes + 24 || rest.find('/') != std::string_view::npos) return std::nullopt;
    auto decoded = http::percent_decode(rest);
    if (!decoded) return std::nullopt;
    const auto dash = decoded->find('-');
    if (dash == std::string::npos || dash == 0 || dash > 18) return std::nullopt;
    t.root = false;
    for (std::size_t i = 0; i < dash; ++i) {
        const char c = (*decoded)[i];
        if (c < '0' || c > '9') return std::nullopt;
        t.id = t.id * 10 + (c - '0');
    }
    if (t.id <= 0) return std::nullopt;
    auto name = nfc(std::string_view(*decoded).substr(dash + 1));
    if (!name) return std::nullopt;
    t.name = std::move(*name);
    return t;
}

}  // namespace polder::webdav
