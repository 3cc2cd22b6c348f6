// paths.hpp - the URL space of polder-caldavd and the mapping of a request path to a
// resource: the DAV root, principals, calendar and address book homes, collections and
// their member resources.
//
//   /dav/                                      root (current-user-principal lives here)
//   /dav/principals/<address>/                 a principal (RFC 3744, RFC 4791 6, RFC 6352 7)
//   /dav/calendars/<address>/                  calendar home (calendar-home-set)
//   /dav/calendars/<address>/<calendar>/       a calendar collection
//   /dav/calendars/<address>/<calendar>/<obj>  a calendar object resource
//   /dav/addressbooks/<address>/...            the same for address books; the name
//                                              "directory" is the organisation directory
//
// SECURITY: the raw path is decoded segment by segment with http::percent_decode (which
// refuses an encoded '/' and NUL); empty segments, "." / "..", control characters and
// names over 255 octets are refused, so a name is always exactly one stored segment.
// Whether the owner segment is the caller is checked by the service, not here.
// STANDARDS: RFC 3986 (path segments), RFC 4918 8.3 (URL handling), RFC 6764 (the
// context path the well-known URIs redirect to).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::caldav {

inline constexpr std::string_view root_prefix = "/dav";
inline constexpr std::string_view directory_book = "directory";
// A collection of another account shared with the caller appears in the caller's home as
// "shared-<collection id>" (names with this prefix cannot be created by MKCOL).
inline constexpr std::string_view shared_prefix = "shared-";

enum class area {
    root,          // /dav/
    principals,    // /dav/principals/
    principal,     // /dav/principals/<a>/
    cal_home,      // /dav/calendars/<a>/
    calendar,      // /dav/calendars/<a>/<c>/
    cal_object,    // /dav/calendars/<a>/<c>/<o>
    card_home,     // /dav/addressbooks/<a>/
    addressbook,   // /dav/addressbooks/<a>/<b>/
    card_object,   // /dav/addressbooks/<a>/<b>/<o>
};

struct dav_path {
    area where = area::root;
    std::string owner;        // lower-case address (principal and below)
    std::string collection;   // decoded name (calendar / addressbook and below)
    std::string object;       // decoded name (objects)
    bool trailing_slash = false;

    bool is_collection() const { return where == area::calendar || where == area::addressbook; }
    bool is_object() const { return where == area::cal_object || where == area::card_object; }
    bool is_home() const { return where == area::cal_home || where == area::card_home; }
    bool calendar_side() const {
        return where == area::cal_home || where == area::calendar || where == area::cal_object;
    }
    // kind - "calendar" or "addressbook" for homes, collections and objects.
    std::string_view kind() const { return calendar_side() ? "calendar" : "addressbook"; }
};

// valid_name - one resource or collection name (decoded).
bool valid_name(std::string_view name);

// parse_path - a raw (percent-encoded) request path; nullopt when it names nothing this
// server has (404).
std::optional<dav_path> parse_path(std::string_view raw);

// href - the canonical, percent-encoded path of a resource (collections end in '/').
std::string href(const dav_path& p);
std::string principal_href(std::string_view owner);
std::string home_href(std::string_view owner, bool calendars);
std::string collection_href(std::string_view owner, bool calendars, std::string_view name);
std::string object_href(std::string_view owner, bool calendars, std::string_view collection, std::string_view name);

// shared_name - "shared-<id>"; shared_id the inverse (nullopt: not a bound collection name).
std::string shared_name(std::int64_t collection_id);
std::optional<std::int64_t> shared_id(std::string_view name);
// reserved_name - a name MKCALENDAR/MKCOL must refuse (bound-collection and scheduling names).
bool reserved_name(std::string_view name);

// lower - ASCII lower case (addresses are stored lower-case).
std::string lower(std::string_view s);

}  // namespace polder::caldav
