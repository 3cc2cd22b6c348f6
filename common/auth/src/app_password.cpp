// app_password.cpp - parsing and generation of app passwords (format and
// rationale in polder/auth/app_password.hpp).
//
// SECURITY: parsing is pure and bounded (128 bytes); generation uses OpenSSL's
// CSPRNG with an unbiased 5-bit mask over a 32-symbol alphabet.
// STANDARDS: none.
#include "polder/auth/app_password.hpp"

#include "polder/auth/password.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace polder::auth {

std::optional<app_password_token> parse_app_password(std::string_view text) {
    if (text.size() > 128) return std::nullopt;
    std::string compact;
    compact.reserve(text.size());
    for (char c : text) {
        if (c == '-' || c == ' ') continue;
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        compact += c;
    }
    constexpr std::size_t total = 2 + app_password_id_symbols + app_password_secret_symbols;
    if (compact.size() != total || compact[0] != 'a' || compact[1] != 'p') return std::nullopt;
    for (std::size_t i = 2; i < compact.size(); ++i)
        if (password_alphabet.find(compact[i]) == std::string_view::npos) return std::nullopt;
    app_password_token t;
    t.public_id = compact.substr(2, app_password_id_symbols);
    t.canonical = std::move(compact);
    return t;
}

new_app_password generate_app_password() {
    std::array<std::uint8_t, app_password_id_symbols + app_password_secret_symbols> r{};
    if (RAND_bytes(r.data(), static_cast<int>(r.size())) != 1)
        throw std::runtime_error("the OpenSSL random generator failed");
    std::string symbols;
    for (auto b : r) symbols += password_alphabet[b & 31];
    OPENSSL_cleanse(r.data(), r.size());

    new_app_password p;
    p.display = "ap-" + symbols.substr(0, app_password_id_symbols);
    for (std::size_t i = app_password_id_symbols; i < symbols.size(); i += 6) p.display += "-" + symbols.substr(i, 6);
    p.token.public_id = symbols.substr(0, app_password_id_symbols);
    p.token.canonical = "ap" + symbols;
    return p;
}

}  // namespace polder::auth
