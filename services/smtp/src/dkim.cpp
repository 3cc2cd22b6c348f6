// dkim.cpp - DKIM signing with libopendkim. See dkim.hpp.
// SECURITY: see dkim.hpp; the key copy handed to the library is wiped after use.
// STANDARDS: RFC 6376, RFC 8301.
#include "dkim.hpp"

#include "polder/log/log.hpp"

// dkim.h spells C's boolean as _Bool, which C++ does not know; bool has the same ABI.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <cstring>
#include <span>
#include <stdexcept>
#include <vector>

namespace polder::smtpd {

dkim_signer::dkim_signer() : lib_(dkim_init(nullptr, nullptr)) {
    if (!lib_) throw std::runtime_error("libopendkim: dkim_init failed");
    // Sign what RFC 6376 5.4.1 recommends (libopendkim's list), over-sign From.
    // The option value is the NULL-terminated array itself, its size that of a pointer
    // (as opendkim.c passes it). RFC 6376 5.4.1's list plus what identifies and
    // interprets the message (Message-ID, MIME-Version, Content-*, Sender).
    static const u_char* sign[] = {
        reinterpret_cast<const u_char*>("from"), reinterpret_cast<const u_char*>("sender"),
        reinterpret_cast<const u_char*>("reply-to"), reinterpret_cast<const u_char*>("subject"),
        reinterpret_cast<const u_char*>("date"), reinterpret_cast<const u_char*>("message-id"),
        reinterpret_cast<const u_char*>("to"), reinterpret_cast<const u_char*>("cc"),
        reinterpret_cast<const u_char*>("mime-version"), reinterpret_cast<const u_char*>("content-type"),
        reinterpret_cast<const u_char*>("content-transfer-encoding"),
        reinterpret_cast<const u_char*>("content-disposition"), reinterpret_cast<const u_char*>("in-reply-to"),
        reinterpret_cast<const u_char*>("references"), reinterpret_cast<const u_char*>("resent-date"),
        reinterpret_cast<const u_char*>("resent-from"), reinterpret_cast<const u_char*>("resent-to"),
        reinterpret_cast<const u_char*>("resent-cc"), reinterpret_cast<const u_char*>("list-id"),
        reinterpret_cast<const u_char*>("list-help"), reinterpret_cast<const u_char*>("list-unsubscribe"),
        reinterpret_cast<const u_char*>("list-unsubscribe-post"), reinterpret_cast<const u_char*>("list-subscribe"),
        reinterpret_cast<const u_char*>("list-post"), reinterpret_cast<const u_char*>("list-owner"),
        reinterpret_cast<const u_char*>("list-archive"), nullptr};
    if (dkim_options(lib_, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, const_cast<u_char**>(sign), sizeof(u_char**)) != DKIM_STAT_OK)
        throw std::runtime_error("libopendkim: cannot set the signed header list");
    static const u_char* oversign[] = {reinterpret_cast<const u_char*>("from"), nullptr};
    if (dkim_options(lib_, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, const_cast<u_char**>(oversign), sizeof(u_char**)) != DKIM_STAT_OK)
        throw std::runtime_error("libopendkim: cannot set the over-signed header list");
}

dkim_signer::~dkim_signer() { dkim_close(lib_); }

result<std::string> dkim_signer::sign(const dkim_key& key, blob::store& blobs, const blob::blob_id& id,
                                      std::uint64_t offset, std::string_view job) const {
    const std::string job_id(job);
    if (key.algorithm != "rsa-sha256") {   // see dkim.hpp: no Ed25519 signing with this libopendkim
        log::warn("smtp.dkim_sign_failed", {{"job", job_id}, {"domain", key.domain}, {"selector", key.selector},
                                            {"error", "unsupported algorithm " + key.algorithm}});
        return errc::invalid_argument;
    }
    auto reader = blobs.open(id, offset);
    if (!reader) return reader.error();
    std::vector<unsigned char> secret(key.private_key.begin(), key.private_key.end());
    secret.push_back('\0');
    DKIM_STAT status = DKIM_STAT_OK;
    DKIM* d = dkim_sign(lib_, reinterpret_cast<const unsigned char*>(job_id.c_str()), nullptr, secret.data(),
                        reinterpret_cast<const unsigned char*>(key.selector.c_str()),
                        reinterpret_cast<const unsigned char*>(key.domain.c_str()), DKIM_CANON_RELAXED,
                        DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256,
                        -1, &status);
    auto fail = [&](const char* step) -> result<std::string> {
        const char* why = d ? dkim_geterror(d) : nullptr;
        log::warn("smtp.dkim_sign_failed", {{"job", job_id}, {"step", std::string(step)},
                                            {"domain", key.domain}, {"selector", key.selector},
                                            {"status", std::string(dkim_getresultstr(status))},
                                            {"error", std::string(why ? why : "")}});
        if (d) dkim_free(d);
        std::memset(secret.data(), 0, secret.size());
        return errc::internal;
    };
    if (!d || status != DKIM_STAT_OK) return fail("sign");
    std::vector<unsigned char> buf(64 * 1024);
    for (;;) {
        auto n = reader->read(std::as_writable_bytes(std::span<unsigned char>(buf.data(), buf.size())));
        if (!n) {
            dkim_free(d);
            std::memset(secret.data(), 0, secret.size());
            return n.error();
        }
        if (*n == 0) break;
        if ((status = dkim_chunk(d, buf.data(), *n)) != DKIM_STAT_OK) return fail("chunk");
    }
    if ((status = dkim_chunk(d, nullptr, 0)) != DKIM_STAT_OK) return fail("chunk end");
    if ((status = dkim_eom(d, nullptr)) != DKIM_STAT_OK) return fail("eom");
    static constexpr std::string_view name = "DKIM-Signature: ";
    u_char* value = nullptr;
    std::size_t len = 0;
    if ((status = dkim_getsighdr_d(d, name.size(), &value, &len)) != DKIM_STAT_OK) return fail("header");
    // The library folds with bare LF; on the wire every line ends in CRLF.
    std::string field(name);
    for (std::size_t i = 0; i < len; ++i) {
        const char c = static_cast<char>(value[i]);
        if (c == '\n' && (i == 0 || value[i - 1] != '\r')) field += '\r';
        field += c;
    }
    field += "\r\n";
    dkim_free(d);
    std::memset(secret.data(), 0, secret.size());
    return field;
}

}  // namespace polder::smtpd
