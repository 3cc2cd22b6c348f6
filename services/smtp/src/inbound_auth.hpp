// inbound_auth.hpp - SPF, DKIM and DMARC checks of mail arriving on the MX listener, and
// the Authentication-Results: field that reports them (auth_results.hpp).
//
// What runs, with which maintained library (Debian packages):
//   SPF   libspf2 (libspf2-dev): the MAIL FROM identity, or "postmaster@<HELO>" for the
//         null reverse-path (RFC 7208 2.4), against the client's IP address.
//   DKIM  libopendkim (libopendkim-dev, already used for signing): every signature of the
//         message, RSA keys below 1024 bits refused (RFC 8301).
//   DMARC libopendmarc (libopendmarc-dev): policy record from _dmarc.<From domain>, else
//         _dmarc.<organisational domain> (public suffix list of Debian's publicsuffix
//         package); alignment of the SPF and DKIM pass results with the From: domain.
// Every DNS query of the three goes through auth_dns (smtp.dns_resolver, so the tests'
// loopback DNS answers), bounded by one deadline per message (smtp.inbound_auth_timeout_seconds):
// a DNS failure or timeout is a temperror, never a hung session. The checks block, so they
// run on this class's own threads (four), never on an I/O thread or the database pool.
//
// Policy (smtp.inbound_auth): "off" - no checks, no field; "mark" (default) - the field
// only; "enforce" - additionally a DMARC fail of a domain publishing p=reject is refused
// (550 5.7.1) and p=quarantine goes to the recipients' Junk mailbox. SPF or DKIM failures
// alone never reject: without a DMARC record the sender has not asked for it (RFC 7489
// 10.1 and RFC 7208 8.4 leave it to local policy; forwarding breaks SPF).
// DMARC's pct= is honoured: outside the sampled share the disposition is one step milder
// (RFC 7489 6.6.4). A temperror of SPF or DKIM turns a DMARC fail into temperror, so
// trouble with our DNS never rejects mail.
//
// SECURITY: the message is read once, in chunks; the header section is held in memory up
// to max_header_bytes (larger: refused by the session). Everything that reaches the
// Authentication-Results field is bounded and quoted by auth_results.hpp. Library state:
// libopendmarc keeps global state, so one inbound_checker per process.
// STANDARDS: RFC 7208 (SPF), RFC 6376 + RFC 8301 (DKIM), RFC 7489 (DMARC), RFC 8601
// (Authentication-Results).
#pragma once

#include "auth_dns.hpp"
#include "auth_results.hpp"

#include "polder/asio/asio.hpp"
#include "polder/blob/blob_id.hpp"
#include "polder/blob/store.hpp"
#include "polder/config/config.hpp"
#include "polder/core/error.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct SPF_server_struct;
struct dkim_lib;

namespace polder::smtpd {

enum class inbound_auth_mode { off, mark, enforce };
inbound_auth_mode parse_inbound_auth_mode(std::string_view text);   // unknown text: mark

inline constexpr std::size_t max_header_bytes = 1024 * 1024;

struct auth_request {
    std::string peer_address;              // the client's IP address (textual)
    std::string helo;                      // EHLO/HELO argument
    std::optional<std::string> mail_from;  // "local@domain"; nullopt for <>
    std::string job;                       // transaction id, for logs
};

// message_source - the content as the client sent it: in memory, or a committed blob.
struct message_source {
    std::string_view memory;
    blob::store* blobs = nullptr;          // set: read blob `id` instead of memory
    blob::blob_id id;
};

enum class dmarc_disposition { none, quarantine, reject };

struct auth_verdict {
    std::string field;             // "Authentication-Results: ...\r\n"
    std::string spf = "none";      // result words, also for logs and tests
    std::string dkim = "none";     // the best of the signatures: pass > fail > ... > none
    std::string dmarc = "none";
    dmarc_disposition disposition = dmarc_disposition::none;   // what a failed DMARC asks for
    std::string header_block;      // the message's header section, forged results removed
    std::size_t header_size = 0;   // length of the original header section in the source
    std::size_t forged_removed = 0;
    bool header_too_large = false; // header section over max_header_bytes: nothing else valid
    bool read_failed = false;      // the blob could not be read: nothing else valid
};

class inbound_checker {
public:
    // create - the libraries and the resolver. Errors: errc::invalid_argument (resolver
    // address), errc::internal (a library failed to initialise; logged).
    static result<std::unique_ptr<inbound_checker>> create(const config::smtp_settings& s);
    ~inbound_checker();
    inbound_checker(const inbound_checker&) = delete;
    inbound_checker& operator=(const inbound_checker&) = delete;

    // check - all three checks for one message, on the calling thread (blocks on DNS).
    auth_verdict check(const auth_request& req, const message_source& src);

    // check_async - the same on the checker's threads, resumed on the caller's executor.
    awaitable<auth_verdict> check_async(auth_request req, message_source src);

private:
    inbound_checker() = default;
    std::string hostname_;
    std::chrono::seconds timeout_{20};
    std::unique_ptr<auth_dns> dns_;
    SPF_server_struct* spf_ = nullptr;
    void* spf_dns_layer_ = nullptr;   // SPF_dns_server_t, owned by spf_
    dkim_lib* dkim_ = nullptr;
    bool dmarc_ready_ = false;
    std::unique_ptr<asio::thread_pool> threads_;
};

}  // namespace polder::smtpd
