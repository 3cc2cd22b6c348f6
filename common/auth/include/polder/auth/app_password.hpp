// polder/auth/app_password.hpp - the format of app passwords.
//
// An app password looks like   ap-k3mz9qa7-vbnt2c-xw8hfe-4dyr6p-mu5sgj
//                              |  |        \___ secret: 24 symbols, 120 bits
//                              |  public id: 8 symbols, 40 bits, stored in clear
//                              marker
// (symbols from password_alphabet; dashes and letter case do not matter when
// typed). Why this shape: an account may hold many app passwords, and an Argon2id
// verification costs tens of milliseconds and ~19 MiB, so login must not try them
// one by one. The public id names the one row to check (an indexed lookup) and
// only that row's hash is verified: login cost is one Argon2id run, whatever the
// number of app passwords. The public id alone grants nothing; the secret part
// carries 120 bits. The "ap" marker lets login tell an app password from an
// account password without trying both; check_password_policy() refuses
// account passwords of this shape so the split is never ambiguous.
//
// SECURITY: parsing is pure and bounded; the canonical form (what is hashed) is
// the marker, id and secret without separators, lower-case.
// STANDARDS: none (format specific to Polder).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace polder::auth {

inline constexpr std::size_t app_password_id_symbols = 8;
inline constexpr std::size_t app_password_secret_symbols = 24;

struct app_password_token {
    std::string public_id;   // 8 symbols: the row to look up
    std::string canonical;   // "ap" + id + secret, lower-case, no separators: what is hashed
};

// parse_app_password - the token when text has the app-password shape (case and
// '-'/' ' separators ignored), otherwise nothing. Inputs longer than 128 bytes are
// never app passwords.
[[nodiscard]] std::optional<app_password_token> parse_app_password(std::string_view text);

struct new_app_password {
    std::string display;     // "ap-xxxxxxxx-xxxxxx-xxxxxx-xxxxxx-xxxxxx", shown once
    app_password_token token;
};

// generate_app_password - a fresh app password from the CSPRNG (OpenSSL
// RAND_bytes). Throws std::runtime_error if the CSPRNG fails.
[[nodiscard]] new_app_password generate_app_password();

}  // namespace polder::auth
