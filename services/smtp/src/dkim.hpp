// dkim.hpp - DKIM signing of outbound mail (RFC 6376) with libopendkim, using the
// per-domain keys of mail.dkim_keys (`polderctl domain dkim generate`).
//
// Why libopendkim: the maintained C library behind OpenDKIM (Debian libopendkim-dev):
// canonicalisation, header selection and the signature field done by code that has signed
// mail at scale for years; we only feed it the message octets.
// What is signed: relaxed/relaxed, rsa-sha256 (polderctl makes RSA keys only: this
// libopendkim leaks on every Ed25519 signature, see cmd_dkim.cpp), the header fields of
// RFC 6376 5.4.1 list plus Message-ID and MIME fields (From, Sender, Reply-To, Subject, Date, Message-ID,
// To, Cc, MIME-Version, Content-*, In-Reply-To, References, List-*...) that are present,
// plus From "over-signed" (an extra empty instance), so that nobody can add a second
// From: later without breaking the signature.
//
// SECURITY: the private key comes from the database and stays in memory only for the
// signing call. A signing failure is logged and the message goes out unsigned (a
// receiver then sees DKIM "none", as before keys existed) rather than waiting forever.
// STANDARDS: RFC 6376, RFC 8301 (rsa-sha256, no sha1).
#pragma once

#include "polder/blob/blob_id.hpp"
#include "polder/blob/store.hpp"
#include "polder/core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

struct dkim_lib;

namespace polder::smtpd {

struct dkim_key {
    std::string domain;       // d=
    std::string selector;     // s=
    std::string algorithm;    // "rsa-sha256" | "ed25519-sha256"
    std::string private_key;  // PEM
};

class dkim_signer {
public:
    dkim_signer();
    ~dkim_signer();
    dkim_signer(const dkim_signer&) = delete;
    dkim_signer& operator=(const dkim_signer&) = delete;

    // sign - the complete "DKIM-Signature: ...\r\n" field for the blob's octets from
    // offset on (the message as it will be sent). Errors: errc::internal (library failure,
    // logged with job), errc::not_found / the blob store's errors.
    result<std::string> sign(const dkim_key& key, blob::store& blobs, const blob::blob_id& id, std::uint64_t offset,
                             std::string_view job) const;

private:
    dkim_lib* lib_;
};

}  // namespace polder::smtpd
