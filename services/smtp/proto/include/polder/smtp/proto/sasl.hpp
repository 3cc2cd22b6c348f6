// polder/smtp/proto/sasl.hpp - the server side of SASL PLAIN and LOGIN for SMTP AUTH:
// strict base64, RFC 4616 message decoding, the 334 challenge/response exchange.
//
// SECURITY: base64 is decoded strictly (RFC 4648 alphabet, mandatory padding, no
// whitespace, zero pad bits) so two different strings never decode to the same secret and
// garbage is refused early. Decoded fields are bounded (255 octets, RFC 4616 §2), must be
// UTF-8 and free of NUL. A response of "*" cancels (501 5.7.0). Lines longer than
// max_auth_line get 500 5.5.6. Credentials are returned to the caller only; nothing here
// logs or keeps them. The authorization identity is returned as sent: the server must
// refuse a non-empty authzid that differs from the authenticated user (no proxy logins).
// STANDARDS: RFC 4954 (SMTP AUTH: 334 exchange, "=" empty initial response, "*" cancel,
// 500 5.5.6, 501, 504, 535, 538), RFC 4616 (PLAIN), draft-murchison-sasl-login (LOGIN:
// "Username:"/"Password:" challenges), RFC 4648 §4 (base64).
#pragma once

#include "polder/smtp/proto/reply.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace polder::smtp::sasl {

inline constexpr std::size_t max_field = 255;   // RFC 4616 §2: authzid, authcid, passwd

// base64_decode - strict RFC 4648 §4 base64; nullopt on any deviation.
std::optional<std::string> base64_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);

struct credentials {
    std::string authzid;    // authorization identity; empty = same as authcid
    std::string authcid;    // the login name (an address for Polder)
    std::string password;
};

// decode_plain - RFC 4616 message: [authzid] NUL authcid NUL passwd (already base64-decoded).
std::optional<credentials> decode_plain(std::string_view message);

// exchange - one AUTH PLAIN or AUTH LOGIN conversation. Feed it the AUTH command's
// mechanism and initial response, send what each step says, feed back each client line.
class exchange {
public:
    enum class status { challenge, done, failed };
    struct step {
        status state = status::failed;
        reply response;          // challenge: "334 <base64>"; failed: the error to send
        credentials creds;       // done: verify these (the server then sends 235 2.7.0 or 535 5.7.8)
    };

    exchange(std::string mechanism, std::optional<std::string> initial_response);

    step start();
    step respond(std::string_view line);   // one client line, without CRLF

private:
    enum class phase { initial, plain_wait, login_user, login_password, finished };
    step fail(reply r);
    step plain(std::string_view b64);
    step login_user(std::string_view b64);
    step login_password(std::string_view b64);

    std::string mechanism_;
    std::optional<std::string> initial_;
    phase phase_ = phase::initial;
    std::string user_;
};

// Replies for the end of an exchange (the server picks after verifying the credentials).
reply success();              // 235 2.7.0 Authentication successful
reply invalid_credentials();  // 535 5.7.8 Authentication credentials invalid
reply temporary_failure();    // 454 4.7.0 Temporary authentication failure (store unavailable, throttled)

}  // namespace polder::smtp::sasl
