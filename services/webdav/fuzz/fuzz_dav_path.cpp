// fuzz_dav_path.cpp - libFuzzer target: polder-webdavd's request-path parser
// (parse_dav_path), Destination handling (parse_destination_path) and the trash's
// URLs (parse_trash_path).
//
// Input: "<raw path or Destination value>\n<Host value>" (no newline: the
// whole input is the path and the host is "h"). The whole input is also
// parsed as a request path on its own.
//
// SECURITY: checks, for every accepted path, the invariants the rest of the
// service relies on instead of only "does not crash": no ".", ".." or empty
// segments, no leading / trailing / doubled '/', no NUL or other control
// characters, no '\', valid UTF-8 in NFC, every segment a valid_name of at
// most 255 bytes, at most 4096 bytes in all; account segments without '/',
// control characters or ASCII upper case; and re-encoding the parsed value
// as a URL parses back to the same value (so an href we write names the
// same resource). For Destination also: an accepted absolute URI's
// authority equals the Host, and errors carry 400, 414 or 502 only.
// STANDARDS: RFC 3986, RFC 4918 8.3 and 10.3, UAX #15.
#include "paths.hpp"

#include "polder/dav/headers.hpp"
#include "polder/http/basic_auth.hpp"
#include "polder/http/uri.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace polder;
using namespace polder::webdav;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool has_control(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
}

void check_name(std::string_view name) {
    std::string reason;
    check(valid_name(name, reason));
    check(name.find('/') == std::string_view::npos);
    auto normal = nfc(name);
    check(normal && *normal == name);
}

void check_path(std::string_view path) {
    check(path.size() <= max_path_bytes);
    if (path.empty()) return;
    check(path.front() != '/' && path.back() != '/' && path.find("//") == std::string_view::npos);
    check(path.find('\\') == std::string_view::npos && !has_control(path));
    check(http::valid_utf8(path));
    std::string_view rest = path;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view seg = rest.substr(0, slash);
        check(seg != "." && seg != "..");
        check_name(seg);
        rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    }
}

// url_of - the raw URL path that names p, as the service writes hrefs.
std::string url_of(const dav_path& p) {
    std::string out(p.where == area::files ? files_prefix : p.where == area::teams ? teams_prefix : shared_prefix);
    if (p.listing && p.address.empty()) return out;
    out += http::percent_encode_path(p.address);
    out += '/';
    if (p.listing) return out;
    if (p.where == area::shared) {
        out += http::percent_encode_path(p.mount);
        out += '/';
    }
    out += http::percent_encode_path(p.path);
    return out;
}

void check_parsed(const dav_path& p) {
    check_path(p.path);
    if (p.listing) {
        check(p.where != area::files && p.path.empty() && p.mount.empty());
        check(p.address.empty() || p.where == area::shared);
    } else {
        check(!p.address.empty());
        if (p.where == area::shared) check_name(p.mount);
        else check(p.mount.empty());
    }
    if (!p.address.empty()) {
        check(p.address.size() <= 254 || p.where == area::teams);
        check(p.address.find('/') == std::string::npos && !has_control(p.address));
        check(http::valid_utf8(p.address));
        if (p.where == area::teams) check_name(p.address);
        else
            for (char c : p.address) check(!(c >= 'A' && c <= 'Z'));
    }
    // Round trip: the URL we would write for it parses back to the same value.
    path_error err;
    auto again = parse_dav_path(url_of(p), err);
    check(again.has_value());
    check(again->where == p.where && again->address == p.address && again->mount == p.mount &&
          again->path == p.path && again->listing == p.listing);
}

bool same_authority(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // The own trash: an entry is a positive id and valid UTF-8 in NFC; /dav/trash/ paths
    // are never also tree paths.
    if (auto t = parse_trash_path(input)) {
        check(is_trash_path(input));
        check(t->root ? t->id == 0 && t->name.empty() : t->id > 0 && http::valid_utf8(t->name));
        if (!t->root) check(nfc(t->name) == t->name && t->name.find('\0') == std::string::npos);
        if (!t->team.empty()) check_name(t->team);
    }
    path_error err;
    if (auto p = parse_dav_path(input, err)) {
        check_parsed(*p);
        check(input.starts_with("/dav/"));
    } else {
        check(err.status == 400 || err.status == 404 || err.status == 414);
        check(!err.reason.empty());
    }

    const auto nl = input.find('\n');
    const std::string_view value = input.substr(0, nl);
    const std::string_view host = nl == std::string_view::npos ? std::string_view("h") : input.substr(nl + 1);
    if (auto p = parse_destination_path(value, host, err)) {
        check_parsed(*p);
        auto d = dav::parse_destination(value);
        check(d.has_value());
        check(d->authority.empty() || same_authority(d->authority, host));
    } else {
        check(err.status == 400 || err.status == 414 || err.status == 502);
        check(!err.reason.empty());
    }
    return 0;
}
