// polder/ical/vcard.hpp - vCard 3.0 and 4.0 for CardDAV: a careful content-line parser,
// validation for PUT, the fields the store indexes, addressbook-query filters, and vCards
// generated for the organisation directory (the "global address list").
//
// Why hand-written: libical 3.0 (Debian 12) has no vCard support, and Debian's other vCard
// code (evolution-data-server's EVCard) drags in GLib objects and a D-Bus-oriented stack;
// the grammar is small enough to implement exactly, with limits, and to fuzz.
//
// SECURITY: input is untrusted: size, unfolded line length, property count, parameter
// count and parameter values per property are bounded (vcard_limits); NUL octets and
// malformed lines are errors, never crashes; quoted-printable and charset conversion are
// bounded by the line; all extracted text is valid UTF-8 (invalid octets are refused in
// validation). Output generation escapes every value and folds at 75 octets without
// splitting a UTF-8 sequence.
// STANDARDS: RFC 6350 (vCard 4.0: 3.2 line folding, 3.3 content lines, 3.4 escaping,
// 5 parameters, 6.1.4 KIND, 6.6.5 MEMBER, 6.7.6 UID), RFC 2426 (vCard 3.0: N and FN
// required), RFC 2425 5.8 (MIME directory content lines, param values with quotes),
// RFC 6868 (^-encoding of parameter values), RFC 2045 6.7 (quoted-printable, as written by
// vCard 2.1-era exporters inside 3.0 cards: ENCODING=QUOTED-PRINTABLE, soft line breaks),
// RFC 6352 5.1 (one vCard per resource with a UID), 6.3.2.1 preconditions, 10.5
// (addressbook-query filter: prop-filter/param-filter/text-match, test anyof/allof,
// default collation i;unicode-casemap), 10.4 (address-data prop selection), Apple's X-ADDRESSBOOKSERVER-KIND/-MEMBER groups.
#pragma once

#include "polder/core/error.hpp"
#include "polder/ical/text_match.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::ical {

struct vcard_limits {
    std::size_t max_size = 1024 * 1024;        // octets per resource (max-resource-size)
    std::size_t max_line = 512 * 1024;         // octets of one unfolded content line (photos)
    std::size_t max_properties = 2000;
    std::size_t max_params = 50;               // per property
    std::size_t max_param_values = 50;         // per parameter
};

struct vcard_param {
    std::string name;                 // upper case; "TYPE" for vCard 2.1-style bare values
    std::vector<std::string> values;  // unquoted, RFC 6868 decoded
    friend bool operator==(const vcard_param&, const vcard_param&) = default;
};

struct vcard_property {
    std::string group;                // "item1" in "item1.EMAIL", "" if none
    std::string name;                 // upper case
    std::vector<vcard_param> params;
    std::string value;                // raw (still escaped) value; quoted-printable decoded to UTF-8
    // param - the values of a parameter (empty if absent).
    const std::vector<std::string>* param(std::string_view name) const;
    // text - the value with RFC 6350 3.4 escapes resolved (\n, \, \; \\).
    std::string text() const;
    // components - a structured value (N, ADR, ORG) split at unescaped ';', unescaped.
    std::vector<std::string> components() const;
};

struct vcard_typed {
    std::string value;
    std::vector<std::string> types;   // lower case ("work", "cell" ...)
    bool preferred = false;           // PREF (4.0) or TYPE=pref (3.0)
    friend bool operator==(const vcard_typed&, const vcard_typed&) = default;
};

struct vcard_name {
    std::string family, given, additional, prefixes, suffixes;
    friend bool operator==(const vcard_name&, const vcard_name&) = default;
};

struct vcard {
    std::string version;              // "3.0" or "4.0" (or what the card said)
    std::vector<vcard_property> properties;
    // Extracted for the index:
    std::string uid;
    std::string fn;
    std::optional<vcard_name> n;
    std::vector<vcard_typed> emails;
    std::vector<vcard_typed> tels;
    std::string org;                  // organisation name (first ORG component)
    std::vector<std::string> org_units;
    std::string kind = "individual";  // lower case: individual, group, org, location
    std::vector<std::string> members; // MEMBER / X-ADDRESSBOOKSERVER-MEMBER values

    const vcard_property* find(std::string_view name) const;
};

// The CardDAV precondition a rejected PUT failed (RFC 6352 6.3.2.1).
enum class vcard_precondition { none, supported_address_data, valid_address_data, max_resource_size };
std::string_view precondition_name(vcard_precondition p) noexcept;  // "valid-address-data" ...

struct vcard_validation {
    vcard_precondition failed = vcard_precondition::none;
    std::string reason;
    std::optional<vcard> card;
    std::vector<std::string> warnings;
    bool ok() const noexcept { return failed == vcard_precondition::none; }
};

// validate_vcard - a CardDAV PUT body: exactly one vCard 3.0 or 4.0, with the properties
// its version requires (VERSION, FN, N in 3.0) and a UID, valid UTF-8.
vcard_validation validate_vcard(std::string_view text, const vcard_limits& lim = {});

// parse_vcard - the content-line parser alone (stored cards, imports): one vCard.
// Errors: invalid_argument (with no detail; use validate_vcard for reasons), limit_exceeded.
[[nodiscard]] result<vcard> parse_vcard(std::string_view text, const vcard_limits& lim = {});

// --- addressbook-query (RFC 6352 10.5) ---

enum class filter_test { anyof, allof };

struct card_param_filter {
    std::string name;
    bool is_not_defined = false;
    std::optional<text_match> match;
};

struct card_prop_filter {
    std::string name;                 // "EMAIL", "FN", "X-..." (group prefixes are ignored)
    filter_test test = filter_test::anyof;
    bool is_not_defined = false;
    std::vector<text_match> matches;  // collation default: i;unicode-casemap (set by the DAV layer)
    std::vector<card_param_filter> params;
};

struct card_filter {
    filter_test test = filter_test::anyof;
    std::vector<card_prop_filter> props;  // empty: every card matches
};

// check_card_filter - Errors: ical_errc::unsupported_collation, ical_errc::invalid_filter.
[[nodiscard]] result<void> check_card_filter(const card_filter& f);
// matches - Errors: as check_card_filter.
[[nodiscard]] result<bool> matches(const vcard& card, const card_filter& f);

// --- address-data (RFC 6352 10.4) ---

struct card_prop_selection {
    std::string name;      // "EMAIL" ...; matches with or without a group prefix
    bool novalue = false;  // novalue="yes"
};

// address_data - the card written back (CRLF, folded at 75 octets, parameters quoted and
// RFC 6868-encoded where needed); with `select`, only VERSION and the selected properties
// (RFC 6352 10.4.2 prop elements).
std::string address_data(const vcard& card, const std::vector<card_prop_selection>* select = nullptr);

// --- organisation directory ---

struct directory_entry {
    std::string uid;                  // stable, e.g. "polder-account-<id>" or a UUID
    std::string display_name;         // FN
    std::string given_name, family_name;
    std::string email;                // primary address
    std::vector<std::string> aliases; // further addresses
    std::string organisation;         // ORG
    std::string department;
    std::string title;
    std::string phone;
    bool is_group = false;
    std::vector<std::string> member_uids;  // for groups: the members' UIDs
    std::optional<std::int64_t> revision;  // REV, seconds since the epoch (UTC)
};

enum class vcard_version { v3, v4 };

// directory_vcard - the vCard of one account or group. Groups are written as KIND:group +
// MEMBER:urn:uuid:... (4.0) or X-ADDRESSBOOKSERVER-KIND/-MEMBER (3.0, what Apple Contacts
// and DAVx5 read).
std::string directory_vcard(const directory_entry& e, vcard_version v = vcard_version::v3);

}  // namespace polder::ical
