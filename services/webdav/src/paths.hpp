// paths.hpp - request URLs of polder-webdavd mapped to (account address,
// path inside the home) and back, with file-name rules and NFC.
//
// Layout: /dav/files/<address>/<path...>; a trailing '/' marks a collection
// in hrefs we write and is accepted either way on requests.
//
// SECURITY: every segment is percent-decoded on its own (an encoded '/' or
// NUL is refused by http::percent_decode), "." and ".." (in any encoding) and
// empty segments other than a trailing '/' are refused, names must be valid
// UTF-8 without control characters or characters Windows cannot store
// (\ : * ? " < > |), at most 255 bytes per name and 4096 per path, and are
// normalised to NFC with ICU, so two spellings of "é" name one file and no
// decoded path can leave the home it was resolved in.
// STANDARDS: RFC 3986 (paths, percent-encoding), RFC 4918 8.3 (URL handling),
// Unicode UAX #15 (NFC), RFC 3629 (UTF-8).
#pragma once

#include "polder/core/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::webdav {

inline constexpr std::string_view files_prefix = "/dav/files/";
inline constexpr std::size_t max_name_bytes = 255;
inline constexpr std::size_t max_path_bytes = 4096;

struct dav_path {
    std::string address;        // decoded, lower-case account address (first segment)
    std::string path;           // NFC, '' for the home root, "a/b" below it
    bool trailing_slash = false;
};

struct path_error {
    unsigned status = 400;
    std::string reason;
};

// parse_dav_path - a raw (percent-encoded) request path. Errors carry the
// status: 404 outside /dav/files/, 400 for bad encodings and refused names
// (with the reason for the body).
std::optional<dav_path> parse_dav_path(std::string_view raw, path_error& error);

// nfc - the NFC form of valid UTF-8; nullopt for invalid UTF-8.
std::optional<std::string> nfc(std::string_view utf8);

// valid_name - one decoded segment; reason says why not.
bool valid_name(std::string_view name, std::string& reason);

// href - the percent-encoded URL path of a home path.
std::string href(std::string_view address, std::string_view path, bool collection);

// parent_of / name_of - "a/b/c" -> "a/b" / "c"; the root's parent is itself.
std::string parent_of(std::string_view path);
std::string name_of(std::string_view path);
// inside - path equals base or lies below it.
bool inside(std::string_view path, std::string_view base);
// ancestors - every proper ancestor of path, root ('') included.
std::vector<std::string> ancestors(std::string_view path);

}  // namespace polder::webdav
