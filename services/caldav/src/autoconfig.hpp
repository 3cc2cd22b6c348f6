// autoconfig.hpp - client autoconfiguration: the documents that let a mail, calendar or
// contacts client set itself up from an address and a password.
//   - Thunderbird (and Thunderbird for Android / K-9, Evolution, KMail, FairEmail):
//     GET /mail/config-v1.1.xml?emailaddress=A on autoconfig.<domain>, or
//     /.well-known/autoconfig/mail/config-v1.1.xml on <domain> (clientConfig 1.1);
//   - Outlook: POST /autodiscover/autodiscover.xml on autodiscover.<domain> (the "POX"
//     request and the outlook/responseschema/2006a answer, IMAP and SMTP);
//   - Apple Mail, Calendar and Contacts (iOS, iPadOS, macOS): a configuration profile,
//     GET /apple.mobileconfig?emailaddress=A, that the user opens on the device.
// Pure functions: no sockets, no database (the service checks that the domain is one it
// hosts); fuzzed by fuzz_autoconfig.
//
// SECURITY: every input is untrusted. An address is accepted only as polder::auth accepts
// the addresses of the directory (a dot-string local part, an LDH or IDNA domain), and
// every value written into a document is XML-escaped as well. No document holds a
// secret: clients ask the user for the password. The Outlook request is parsed with polder::dav's parser (size, depth and
// element limits; no DTD, so no entity expansion).
// STANDARDS: Mozilla's autoconfig file format (clientConfig 1.1); Microsoft's
// [MS-OXDSCLI] Autodiscover Publishing and Lookup Protocol (POX); Apple's Configuration
// Profile Reference (com.apple.mail.managed, com.apple.caldav.account,
// com.apple.carddav.account); RFC 5322 3.4.1 (addr-spec); RFC 1123 2.1 (host names);
// RFC 8314 (implicit TLS for submission and IMAP); RFC 9562 (UUID version 8).
#pragma once

#include "polder/core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::caldav::autoconfig {

enum class security { tls, starttls };

struct endpoint {
    std::string host;
    std::uint16_t port = 0;
    security sec = security::tls;
};

// endpoints - what clients are told (config.hpp client_settings, defaults applied).
struct endpoints {
    std::string provider;    // display name; empty: the mail domain
    endpoint imap;
    endpoint submission;
    std::string dav_host;    // CalDAV and CardDAV, always HTTPS
    std::uint16_t dav_port = 443;
};

// parse_address - the address in the directory's canonical spelling, by
// polder::auth::parse_address (a dot-string ASCII local part of at most 64 octets, a
// domain of at least two LDH labels, the last not all digits, U-labels turned into
// A-labels; at most 254 octets; lower case). Quoted local parts, IP literals and anything
// else it refuses: nullopt.
std::optional<std::string> parse_address(std::string_view text);

// domain_of - the part after the '@' of an address parse_address() accepted.
std::string_view domain_of(std::string_view address);

// query_value - the value of the first `name=` parameter of a raw query string,
// percent-decoded ('+' is a space, as in forms); nullopt when absent.
// Errors: errc::invalid_argument - a malformed escape or an encoded NUL in that value.
result<std::optional<std::string>> query_value(std::string_view query, std::string_view name);

// host_domain - the mail domain a Host header names: the port and a final dot cut off,
// normalised as auth::normalize_domain does, and a leading "autoconfig." or
// "autodiscover." removed. nullopt when it is no mail domain.
std::optional<std::string> host_domain(std::string_view host);

// thunderbird - clientConfig 1.1 for `domain`; the user name is %EMAILADDRESS%, which the
// client replaces with what the user typed.
std::string thunderbird(const endpoints& e, std::string_view domain);

// outlook_request - the EMailAddress of an Outlook POX request, lower-cased.
// Errors: errc::invalid_argument - not well-formed XML, not an Autodiscover request, no
// usable address, or a response schema other than Outlook's 2006a (mobile sync clients
// ask for that one; they are told to look elsewhere); `reason` says which.
result<std::string> outlook_request(std::string_view body, std::string& reason);

// outlook - the POX answer with IMAP and SMTP settings for `address`.
std::string outlook(const endpoints& e, std::string_view address);

// apple - a configuration profile (an XML property list; the service signs it) with a
// mail account, a CalDAV and a CardDAV account for `address`. Its identifiers and UUIDs follow from
// the address, so opening a newer profile replaces the older one on the device.
std::string apple(const endpoints& e, std::string_view address);

}  // namespace polder::caldav::autoconfig
