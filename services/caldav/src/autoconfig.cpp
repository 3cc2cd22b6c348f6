// autoconfig.cpp - the three client autoconfiguration documents (see autoconfig.hpp).
//
// SECURITY: inputs are validated before use (parse_address, host_domain) and every value
// written is escaped again (dav::escape_text), so neither a request nor a configuration
// value can add elements to a document.
// STANDARDS: as autoconfig.hpp.
#include "autoconfig.hpp"

#include "polder/auth/address.hpp"
#include "polder/auth/names.hpp"
#include "polder/blob/sha256.hpp"
#include "polder/dav/xml.hpp"
#include "polder/http/uri.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace polder::caldav::autoconfig {
namespace {

constexpr std::string_view request_ns = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
constexpr std::string_view response_ns = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
constexpr std::string_view outlook_ns = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

std::string esc(std::string_view s) { return dav::escape_text(s); }

std::string trimmed(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

// A name-based UUID (RFC 9562 5.8, version 8: the first 128 bits of a SHA-256), upper
// case as Apple writes them.
std::string uuid_of(std::string_view address, std::string_view what) {
    std::string name(address);
    name += '\0';
    name += what;
    auto b = blob::sha256::of(name).bytes();
    b[6] = static_cast<std::byte>((std::to_integer<unsigned>(b[6]) & 0x0f) | 0x80);
    b[8] = static_cast<std::byte>((std::to_integer<unsigned>(b[8]) & 0x3f) | 0x80);
    std::string out;
    char hex[3];
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        std::snprintf(hex, sizeof hex, "%02X", std::to_integer<unsigned>(b[i]));
        out += hex;
    }
    return out;
}

// "gemeente.example" -> "example.gemeente": the reverse-DNS style of profile identifiers.
std::string reversed(std::string_view domain) {
    std::string out;
    while (!domain.empty()) {
        const auto dot = domain.rfind('.');
        if (!out.empty()) out += '.';
        out += domain.substr(dot == std::string_view::npos ? 0 : dot + 1);
        domain = dot == std::string_view::npos ? std::string_view{} : domain.substr(0, dot);
    }
    return out;
}

std::string provider_of(const endpoints& e, std::string_view domain) {
    return e.provider.empty() ? std::string(domain) : e.provider;
}

std::string dav_base(const endpoints& e) {
    std::string url = "https://" + e.dav_host;
    if (e.dav_port != 443) url += ":" + std::to_string(e.dav_port);
    return url;
}

void tb_server(std::string& o, std::string_view element, std::string_view type, const endpoint& p) {
    o += "    <";
    o += element;
    o += " type=\"";
    o += type;
    o += "\">\n      <hostname>" + esc(p.host) + "</hostname>\n      <port>" + std::to_string(p.port) +
         "</port>\n      <socketType>" + (p.sec == security::tls ? "SSL" : "STARTTLS") +
         "</socketType>\n      <authentication>password-cleartext</authentication>\n"
         "      <username>%EMAILADDRESS%</username>\n    </";
    o += element;
    o += ">\n";
}

void ol_protocol(std::string& o, std::string_view type, const endpoint& p, std::string_view address) {
    o += "      <Protocol>\n        <Type>";
    o += type;
    o += "</Type>\n        <Server>" + esc(p.host) + "</Server>\n        <Port>" + std::to_string(p.port) +
         "</Port>\n        <DomainRequired>off</DomainRequired>\n        <LoginName>" + esc(address) +
         "</LoginName>\n        <SPA>off</SPA>\n        <SSL>on</SSL>\n        <Encryption>" +
         (p.sec == security::tls ? "SSL" : "TLS") + "</Encryption>\n        <AuthRequired>on</AuthRequired>\n";
    if (type == "SMTP") o += "        <UsePOPAuth>on</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>\n";
    o += "      </Protocol>\n";
}

// Property-list writers (Apple's XML plist: dict of key/value, values string, integer,
// true/false, array).
void key_string(std::string& o, std::string_view indent, std::string_view key, std::string_view value) {
    o += std::string(indent) + "<key>" + std::string(key) + "</key>\n" + std::string(indent) + "<string>" +
         esc(value) + "</string>\n";
}
void key_integer(std::string& o, std::string_view indent, std::string_view key, unsigned value) {
    o += std::string(indent) + "<key>" + std::string(key) + "</key>\n" + std::string(indent) + "<integer>" +
         std::to_string(value) + "</integer>\n";
}
void key_bool(std::string& o, std::string_view indent, std::string_view key, bool value) {
    o += std::string(indent) + "<key>" + std::string(key) + "</key>\n" + std::string(indent) +
         (value ? "<true/>\n" : "<false/>\n");
}

}  // namespace

std::optional<std::string> parse_address(std::string_view text) {
    auto a = auth::parse_address(text);
    if (!a) return std::nullopt;
    return a->str();
}

std::string_view domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

result<std::optional<std::string>> query_value(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) != name) continue;
        if (eq == std::string_view::npos) return std::optional<std::string>(std::string{});
        auto v = http::percent_decode(pair.substr(eq + 1), {.allow_encoded_slash = true, .plus_as_space = true});
        if (!v) return v.error();
        return std::optional<std::string>(std::move(*v));
    }
    return std::optional<std::string>{};
}

std::optional<std::string> host_domain(std::string_view host) {
    if (host.empty() || host.front() == '[') return std::nullopt;   // an IP literal names no domain
    const auto colon = host.find(':');
    if (colon != std::string_view::npos) {
        const auto port = host.substr(colon + 1);
        if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
                return c >= '0' && c <= '9';
            }))
            return std::nullopt;
        host = host.substr(0, colon);
    }
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);   // "gemeente.example." is the same name
    auto d = auth::normalize_domain(host);
    if (!d) return std::nullopt;
    std::string domain = std::move(d).value();
    for (std::string_view prefix : {"autoconfig.", "autodiscover."}) {
        if (domain.starts_with(prefix)) {
            if (auto rest = auth::normalize_domain(std::string_view(domain).substr(prefix.size()))) return std::move(rest).value();
            break;
        }
    }
    return domain;
}

std::string thunderbird(const endpoints& e, std::string_view domain) {
    const auto name = provider_of(e, domain);
    std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n";
    o += "  <emailProvider id=\"" + dav::escape_attribute(domain) + "\">\n    <domain>" + esc(domain) +
         "</domain>\n    <displayName>" + esc(name) + "</displayName>\n    <displayShortName>" + esc(name) +
         "</displayShortName>\n";
    tb_server(o, "incomingServer", "imap", e.imap);
    tb_server(o, "outgoingServer", "smtp", e.submission);
    o += "  </emailProvider>\n";
    // Thunderbird 102 and later set up address books and calendars from these.
    const auto base = dav_base(e);
    o += "  <addressBook type=\"carddav\">\n    <username>%EMAILADDRESS%</username>\n"
         "    <authentication>http-basic</authentication>\n    <serverURL>" +
         esc(base) + "/.well-known/carddav</serverURL>\n  </addressBook>\n";
    o += "  <calendar type=\"caldav\">\n    <username>%EMAILADDRESS%</username>\n"
         "    <authentication>http-basic</authentication>\n    <serverURL>" +
         esc(base) + "/.well-known/caldav</serverURL>\n  </calendar>\n";
    o += "</clientConfig>\n";
    return o;
}

result<std::string> outlook_request(std::string_view body, std::string& reason) {
    auto doc = dav::parse_xml(body, reason, {.max_bytes = 64 * 1024, .max_depth = 8, .max_elements = 64});
    if (!doc) return doc.error();
    if (!doc->is(request_ns, "Autodiscover")) {
        reason = "not an Outlook Autodiscover request";
        return errc::invalid_argument;
    }
    const auto* req = doc->child(request_ns, "Request");
    const auto* addr = req ? req->child(request_ns, "EMailAddress") : nullptr;
    if (!addr) {
        reason = "the request has no EMailAddress";
        return errc::invalid_argument;
    }
    if (const auto* schema = req->child(request_ns, "AcceptableResponseSchema")) {
        const auto wanted = trimmed(schema->text_content());
        if (!wanted.empty() && wanted != outlook_ns) {
            reason = "only the Outlook response schema (2006a) is served";
            return errc::invalid_argument;
        }
    }
    auto parsed = parse_address(trimmed(addr->text_content()));
    if (!parsed) {
        reason = "EMailAddress is not an address";
        return errc::invalid_argument;
    }
    return std::move(*parsed);
}

std::string outlook(const endpoints& e, std::string_view address) {
    std::string o = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"";
    o += response_ns;
    o += "\">\n  <Response xmlns=\"";
    o += outlook_ns;
    o += "\">\n    <User>\n      <DisplayName>" + esc(address) + "</DisplayName>\n    </User>\n";
    o += "    <Account>\n      <AccountType>email</AccountType>\n      <Action>settings</Action>\n";
    ol_protocol(o, "IMAP", e.imap, address);
    ol_protocol(o, "SMTP", e.submission, address);
    o += "    </Account>\n  </Response>\n</Autodiscover>\n";
    return o;
}

std::string apple(const endpoints& e, std::string_view address) {
    const auto domain = domain_of(address);
    const auto name = provider_of(e, domain);
    // One identifier per address (the short hash keeps two users' profiles on one Mac apart).
    const auto id = reversed(domain) + ".polder." + blob::sha256::of(address).hex().substr(0, 16);
    const auto principal = dav_base(e) + "/dav/principals/" + std::string(address) + "/";
    constexpr std::string_view in = "\t\t\t";

    std::string o =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
        "<plist version=\"1.0\">\n<dict>\n\t<key>PayloadContent</key>\n\t<array>\n";

    o += "\t\t<dict>\n";
    key_string(o, in, "EmailAccountDescription", name);
    key_string(o, in, "EmailAccountType", "EmailTypeIMAP");
    key_string(o, in, "EmailAddress", address);
    key_string(o, in, "IncomingMailServerAuthentication", "EmailAuthPassword");
    key_string(o, in, "IncomingMailServerHostName", e.imap.host);
    key_integer(o, in, "IncomingMailServerPortNumber", e.imap.port);
    key_bool(o, in, "IncomingMailServerUseSSL", true);   // with STARTTLS on 143 too: never in clear text
    key_string(o, in, "IncomingMailServerUsername", address);
    key_string(o, in, "OutgoingMailServerAuthentication", "EmailAuthPassword");
    key_string(o, in, "OutgoingMailServerHostName", e.submission.host);
    key_integer(o, in, "OutgoingMailServerPortNumber", e.submission.port);
    key_bool(o, in, "OutgoingMailServerUseSSL", true);
    key_string(o, in, "OutgoingMailServerUsername", address);
    key_bool(o, in, "OutgoingPasswordSameAsIncomingPassword", true);
    key_string(o, in, "PayloadDisplayName", "Mail: " + std::string(address));
    key_string(o, in, "PayloadIdentifier", id + ".mail");
    key_string(o, in, "PayloadType", "com.apple.mail.managed");
    key_string(o, in, "PayloadUUID", uuid_of(address, "mail"));
    key_integer(o, in, "PayloadVersion", 1);
    o += "\t\t</dict>\n";

    for (std::string_view kind : {"CalDAV", "CardDAV"}) {
        const std::string k(kind);
        const std::string lower_kind = auth::to_lower_ascii(kind);
        o += "\t\t<dict>\n";
        key_string(o, in, k + "AccountDescription", name);
        key_string(o, in, k + "HostName", e.dav_host);
        key_integer(o, in, k + "Port", e.dav_port);
        key_string(o, in, k + "PrincipalURL", principal);
        key_bool(o, in, k + "UseSSL", true);
        key_string(o, in, k + "Username", address);
        key_string(o, in, "PayloadDisplayName", (kind == "CalDAV" ? "Calendars: " : "Contacts: ") + std::string(address));
        key_string(o, in, "PayloadIdentifier", id + "." + lower_kind);
        key_string(o, in, "PayloadType", "com.apple." + lower_kind + ".account");
        key_string(o, in, "PayloadUUID", uuid_of(address, lower_kind));
        key_integer(o, in, "PayloadVersion", 1);
        o += "\t\t</dict>\n";
    }
    o += "\t</array>\n";
    key_string(o, "\t", "PayloadDescription",
               "Mail, calendars and contacts of " + std::string(address) + ". The device asks for the password.");
    key_string(o, "\t", "PayloadDisplayName", name + ": " + std::string(address));
    key_string(o, "\t", "PayloadIdentifier", id);
    key_string(o, "\t", "PayloadOrganization", name);
    key_bool(o, "\t", "PayloadRemovalDisallowed", false);
    key_string(o, "\t", "PayloadType", "Configuration");
    key_string(o, "\t", "PayloadUUID", uuid_of(address, "profile"));
    key_integer(o, "\t", "PayloadVersion", 1);
    o += "</dict>\n</plist>\n";
    return o;
}

}  // namespace polder::caldav::autoconfig
