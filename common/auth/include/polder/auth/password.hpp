// polder/auth/password.hpp - password hashing (Argon2id), verification, policy and
// generation.
//
// Hashes are PHC-format encoded strings ($argon2id$v=19$m=..,t=..,p=..$salt$hash)
// so that each stored hash carries its own parameters: raising the cost in the
// config takes effect for new hashes at once and for old ones at their next
// successful login (needs_rehash).
//
// SECURITY: salts (16 bytes) and generated passwords come from OpenSSL's CSPRNG
// (RAND_bytes). verify_password() recomputes the raw hash with the parameters
// decoded from the stored string and compares with CRYPTO_memcmp (constant
// time); decoded parameters are bounded, so a tampered row cannot make a login
// allocate gigabytes. Passwords longer than max_password_bytes are refused
// before hashing. Secrets are never logged by this module.
// STANDARDS: RFC 9106 (Argon2), the PHC string format, OWASP Password Storage
// Cheat Sheet (m=19 MiB, t=2, p=1 defaults live in config::auth_settings).
#pragma once

#include "polder/auth/validated.hpp"
#include "polder/config/config.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::auth {

inline constexpr std::size_t max_password_bytes = 1024;
inline constexpr std::size_t salt_bytes = 16;
inline constexpr std::size_t hash_bytes = 32;

// The alphabet of generated passwords and app passwords: lower-case letters and
// digits without the look-alikes l, o, 0 and 1. 32 symbols = 5 bits each.
inline constexpr std::string_view password_alphabet = "abcdefghijkmnpqrstuvwxyz23456789";

// hash_password - a fresh Argon2id encoded hash with the configured parameters.
// Throws std::invalid_argument when the password is longer than max_password_bytes
// and std::runtime_error when libargon2 fails (e.g. out of memory).
[[nodiscard]] std::string hash_password(std::string_view password, const config::auth_settings& settings);

// verify_password - true when password matches the encoded Argon2id hash. False
// for a wrong password, an over-long password or a malformed/unsupported hash.
[[nodiscard]] bool verify_password(std::string_view password, std::string_view encoded);

// needs_rehash - true when encoded was made with other parameters than settings
// ask for now (or cannot be parsed).
[[nodiscard]] bool needs_rehash(std::string_view encoded, const config::auth_settings& settings);

// generate_password - four groups of six symbols from password_alphabet joined by
// '-' (e.g. "k3mz9q-a7vbnt-..."): 24 * 5 = 120 bits from the CSPRNG, easy to read
// aloud and type. Throws std::runtime_error if the CSPRNG fails.
[[nodiscard]] std::string generate_password();

// check_password_policy - why a password chosen by a person is refused, or nothing:
// shorter than settings.min_password_length characters, longer than
// max_password_bytes, not UTF-8, contains control characters, or has the shape of
// an app password (which would make login ambiguous).
[[nodiscard]] std::optional<std::string> check_password_policy(std::string_view password,
                                                               const config::auth_settings& settings);

// The decoded parts of an encoded hash (pure parsing, exposed for tests).
struct argon2_encoded {
    std::uint32_t memory_kib = 0;
    std::uint32_t iterations = 0;
    std::uint32_t parallelism = 0;
    std::vector<std::uint8_t> salt;
    std::vector<std::uint8_t> hash;
};

// parse_encoded_hash - decode "$argon2id$v=19$m=M,t=T,p=P$<salt b64>$<hash b64>"
// (unpadded standard base64). Refuses other variants and versions, and
// parameters outside: m 8*p..4194304 KiB, t 1..64, p 1..64, salt 8..64 bytes,
// hash 16..64 bytes.
[[nodiscard]] std::optional<argon2_encoded> parse_encoded_hash(std::string_view encoded);

}  // namespace polder::auth
