// cmd_autoconfig.cpp - client autoconfiguration over HTTP: Thunderbird's
// config-v1.1.xml, Outlook's autodiscover.xml and the Apple configuration profile
// (the documents: autoconfig.hpp). No credentials are asked for: the documents hold no
// secret, only the public names and ports of clients.* in the configuration. Apple
// profiles are signed with the service's TLS certificate when it has one.
//
// SECURITY: only for mail domains this installation hosts (directory.domains); any other
// domain is 404, whatever the Host header or the address says. Whether an account
// exists is never looked up, so the answers reveal no more than DNS does. The Outlook
// body is limited to 64 KiB; every bad input is a 400 with its reason.
// STANDARDS: as autoconfig.hpp; RFC 9110 15.5.6 (405 with Allow).
#include "autoconfig.hpp"
#include "service.hpp"

#include "polder/auth/directory.hpp"
#include "polder/auth/names.hpp"
#include "polder/log/log.hpp"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ssl.h>

#include <memory>

namespace polder::caldav {

using http::field;
using http::status;

namespace {

// sign_profile - the profile as CMS/PKCS #7 SignedData with the content inside (DER),
// signed by the TLS certificate's key and carrying its chain: what `openssl smime -sign
// -nodetach -outform der` makes, and what Apple devices show as "Verified" when the
// certificate chains to a CA they trust.
std::optional<std::string> sign_profile(asio::ssl::context& tls, const std::string& profile) {
    SSL_CTX* ctx = tls.native_handle();
    X509* cert = SSL_CTX_get0_certificate(ctx);
    EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx);
    STACK_OF(X509)* chain = nullptr;
    if (!cert || !key || SSL_CTX_get0_chain_certs(ctx, &chain) != 1) return std::nullopt;
    std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_mem_buf(profile.data(), static_cast<int>(profile.size())),
                                                 BIO_free);
    if (!in) return std::nullopt;
    std::unique_ptr<PKCS7, decltype(&PKCS7_free)> p7(PKCS7_sign(cert, key, chain, in.get(), PKCS7_BINARY), PKCS7_free);
    if (!p7) return std::nullopt;
    unsigned char* der = nullptr;
    const int n = i2d_PKCS7(p7.get(), &der);
    if (n <= 0) return std::nullopt;
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return out;
}

}  // namespace

std::optional<service::autoconfig_kind> service::autoconfig_route(std::string_view raw_path) {
    if (raw_path == "/mail/config-v1.1.xml" || raw_path == "/.well-known/autoconfig/mail/config-v1.1.xml")
        return autoconfig_kind::thunderbird;
    // Outlook writes the path in either case ("/Autodiscover/Autodiscover.xml").
    // (Every request passes here: only a path of that length is lower-cased.)
    constexpr std::string_view outlook = "/autodiscover/autodiscover.xml";
    if (raw_path.size() == outlook.size() && auth::to_lower_ascii(raw_path) == outlook) return autoconfig_kind::outlook;
    if (raw_path == "/apple.mobileconfig") return autoconfig_kind::apple;
    return std::nullopt;
}

awaitable<http::response> service::cmd_autoconfig(http::request& req, autoconfig_kind kind) {
    const std::string method(req.method_string());
    const bool post = kind == autoconfig_kind::outlook;
    if (post ? method != "POST" : method != "GET" && method != "HEAD") {
        auto r = plain(405, "method not allowed");
        r.headers.set(field::allow, post ? "POST" : "GET, HEAD");
        co_return r;
    }
    if (!opts_.clients) co_return plain(404, "client autoconfiguration is not configured here (clients.imap_host)");

    // Who: the address asked for, or (Thunderbird without one) the domain of the Host.
    std::string address, domain;
    if (kind == autoconfig_kind::outlook) {
        auto body = co_await req.read_body(64 * 1024);
        if (!body) {
            co_return body.error() == errc::limit_exceeded ? plain(413, "request body too large")
                                                           : plain(400, "unreadable request body");
        }
        std::string reason;
        auto a = autoconfig::outlook_request(*body, reason);
        if (!a) co_return plain(400, reason);
        address = std::move(*a);
    } else {
        auto q = autoconfig::query_value(req.query(), "emailaddress");
        if (!q) co_return plain(400, "emailaddress: malformed percent-encoding");
        if (*q) {
            auto a = autoconfig::parse_address(**q);
            if (!a) co_return plain(400, "emailaddress is not an address (name@domain)");
            address = std::move(*a);
        } else if (kind == autoconfig_kind::apple) {
            co_return plain(400, "emailaddress=<address> is required");
        }
    }
    if (!address.empty()) {
        domain = autoconfig::domain_of(address);
    } else {
        auto d = autoconfig::host_domain(req.header(field::host));
        if (!d) co_return plain(400, "emailaddress=<address> is required (the Host names no mail domain)");
        domain = std::move(*d);
    }

    const bool hosted = co_await pool_.transact([&](pqxx::work& tx) {
        return auth::find_domain(tx, domain).has_value();
    });
    if (!hosted) co_return plain(404, "no mail domain of that name is hosted here");

    const auto& e = *opts_.clients;
    http::response r;
    switch (kind) {
    case autoconfig_kind::thunderbird:
        r = http::text_response(status::ok, autoconfig::thunderbird(e, domain), "application/xml; charset=utf-8");
        break;
    case autoconfig_kind::outlook:
        r = http::text_response(status::ok, autoconfig::outlook(e, address), "application/xml; charset=utf-8");
        break;
    case autoconfig_kind::apple: {
        auto profile = autoconfig::apple(e, address);
        if (opts_.profile_signer) {
            const auto ctx = opts_.profile_signer->current();
            if (auto signed_profile = sign_profile(*ctx, profile)) {
                profile = std::move(*signed_profile);
            } else {
                ERR_clear_error();
                log::warn("caldav.profile_unsigned", {{"req", req.id()}, {"reason", "signing with the TLS key failed"}});
            }
        }
        r = http::text_response(status::ok, std::move(profile), "application/x-apple-aspen-config");
        r.headers.set(field::content_disposition, "attachment; filename=\"" + domain + ".mobileconfig\"");
        break;
    }
    }
    r.headers.set(field::cache_control, "no-store");
    log::info("caldav.autoconfig", {{"req", req.id()},
                                    {"client", kind == autoconfig_kind::thunderbird ? "thunderbird"
                                               : kind == autoconfig_kind::outlook   ? "outlook"
                                                                                    : "apple"},
                                    {"domain", domain}});
    co_return r;
}

}  // namespace polder::caldav
