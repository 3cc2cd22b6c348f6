// paths.hpp - request URLs of polder-webdavd mapped to (account address,
// path inside the home) and back, with file-name rules and NFC.
//
// Layout (docs/files.md): /dav/files/<address>/<path...> is a personal home;
// /dav/teams/<team>/<path...> a team folder; /dav/shared/<owner address>/
// <share name>/<path...> a folder another account shared. /dav/teams/,
// /dav/shared/ and /dav/shared/<owner>/ are listings (virtual collections).
// A trailing '/' marks a collection in hrefs we write and is accepted either
// way on requests.
//
// SECURITY: every segment is percent-decoded on its own (an encoded '/' or
// NUL is refused by http::percent_decode), "." and ".." (in any encoding) and
// empty segments other than a trailing '/' are refused, names must be valid
// UTF-8 without control characters or characters Windows cannot store
// (\ : * ? " < > |, a trailing dot or space, device names such as CON or
// NUL.txt), at most 255 bytes per name and 4096 per path, and are
// normalised to NFC with ICU, so two spellings of "é" name one file and no
// decoded path can leave the home it was resolved in. Account segments are
// decoded the same way (no control characters, valid UTF-8, at most 254
// bytes) and lower-cased. services/webdav/fuzz/fuzz_dav_path.cpp checks these
// invariants on every parse.
// STANDARDS: RFC 3986 (paths, percent-encoding), RFC 4918 8.3 (URL handling),
// 10.3 (Destination),
// Unicode UAX #15 (NFC), RFC 3629 (UTF-8).
#pragma once

#include "polder/core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::webdav {

inline constexpr std::string_view files_prefix = "/dav/files/";
inline constexpr std::string_view teams_prefix = "/dav/teams/";
inline constexpr std::string_view shared_prefix = "/dav/shared/";
inline constexpr std::string_view trash_prefix = "/dav/trash/";   // the own trash (cmd_trash.cpp)

// area - which kind of tree a URL names.
enum class area { files, teams, shared };
inline constexpr std::size_t max_name_bytes = 255;
inline constexpr std::size_t max_path_bytes = 4096;

struct dav_path {
    area where = area::files;
    // files: the account address; shared: the owner's address (both decoded,
    // lower case); teams: the team folder name (NFC). '' in a listing of all.
    std::string address;
    std::string mount;          // shared: the share name (NFC)
    std::string path;           // NFC, '' for the tree's root, "a/b" below it
    bool trailing_slash = false;
    // A listing (/dav/teams/, /dav/shared/, /dav/shared/<owner>/), not a tree.
    bool listing = false;
};

struct path_error {
    unsigned status = 400;
    std::string reason;
};

// parse_dav_path - a raw (percent-encoded) request path. Errors carry the
// status: 404 outside /dav/files/, /dav/teams/ and /dav/shared/, 400 for bad
// encodings and refused names (with the reason for the body).
std::optional<dav_path> parse_dav_path(std::string_view raw, path_error& error);

// parse_destination_path - the tree path a Destination header (RFC 4918
// 10.3) names, for a request whose Host field is host. Errors: 400 for a
// missing or malformed value, 502 when its authority is not host (another
// server) or its path is not under /dav/files/, /dav/teams/ or /dav/shared/
// (not a file URL of this server), and parse_dav_path's 400 / 414 with
// their reasons. The result is checked exactly like a request URL.
std::optional<dav_path> parse_destination_path(std::string_view header, std::string_view host, path_error& error);

// is_trash_path - the raw path is /dav/trash or below it (the own trash, cmd_trash.cpp).
bool is_trash_path(std::string_view raw);

// trash_ref - what a URL below /dav/trash/ names: the own trash or a team folder's
// (/dav/trash/teams/<team>/), itself or one entry by its id and the name written after
// it ("17-q3.odt": 17 and "q3.odt", NFC).
struct trash_ref {
    std::string team;   // NFC team folder name; '' for the own home
    bool root = true;
    std::int64_t id = 0;
    std::string name;
};
// parse_trash_path - nullopt unless raw is /dav/trash, /dav/trash/ or
// /dav/trash/teams/<team>/ (the team a valid_name), then nothing or one percent-encoded
// segment "<positive id>-<name>" (an optional trailing '/'), the name valid UTF-8 without
// an encoded '/' or NUL.
std::optional<trash_ref> parse_trash_path(std::string_view raw);

// nfc - the NFC form of valid UTF-8; nullopt for invalid UTF-8.
std::optional<std::string> nfc(std::string_view utf8);

// valid_name - one decoded segment; reason says why not. Refused: empty,
// "." / "..", over 255 bytes, control characters, \ : * ? " < > |, invalid
// UTF-8, a trailing dot or space, and Windows device names.
bool valid_name(std::string_view name, std::string& reason);
// windows_device_name - CON, PRN, AUX, NUL, COM1-9, LPT1-9 with any
// extension, in any case.
bool windows_device_name(std::string_view name);

// href - the percent-encoded URL path of a home path.
std::string href(std::string_view address, std::string_view path, bool collection);
// href_under - url_root (encoded, ending in '/') followed by the encoded
// relative path rel, with a trailing '/' for a collection below the root.
std::string href_under(std::string_view url_root, std::string_view rel, bool collection);
// join_path - base + '/' + rel without doubled or leading slashes.
std::string join_path(std::string_view base, std::string_view rel);

// tree_path - a path typed by an administrator ("/Projects/2026/") as a tree path
// ("Projects/2026"): empty segments dropped, each segment checked with valid_name and
// NFC-normalised, at most max_path_bytes. nullopt with a message saying why otherwise.
std::optional<std::string> tree_path(std::string_view text, std::string& message);

// parent_of / name_of - "a/b/c" -> "a/b" / "c"; the root's parent is itself.
std::string parent_of(std::string_view path);
std::string name_of(std::string_view path);
// inside - path equals base or lies below it.
bool inside(std::string_view path, std::string_view base);
// ancestors - every proper ancestor of path, root ('') included.
std::vector<std::string> ancestors(std::string_view path);

}  // namespace polder::webdav
