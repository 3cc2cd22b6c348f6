// password.cpp - Argon2id hashing and verification, password policy, generation.
//
// SECURITY: see polder/auth/password.hpp. Verification does not use
// argon2id_verify(): decoding the PHC string here lets us bound every parameter
// before libargon2 allocates memory, and makes the final comparison an explicit
// CRYPTO_memcmp. Buffers holding raw hashes are cleansed after use.
// STANDARDS: RFC 9106 (Argon2id, version 0x13), PHC string format, RFC 4648
// section 4 (base64, here without padding as PHC specifies).
#include "polder/auth/password.hpp"

#include "polder/auth/app_password.hpp"
#include "polder/auth/names.hpp"

#include <argon2.h>
#include <sys/mman.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace polder::auth {
namespace {

constexpr std::uint32_t max_memory_kib = 4u * 1024 * 1024;   // 4 GiB: far above any sane setting
constexpr std::uint32_t max_iterations = 64;
constexpr std::uint32_t max_parallelism = 64;

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// b64_decode_unpadded - RFC 4648 base64 without '=' padding; nothing on bad input.
std::optional<std::vector<std::uint8_t>> b64_decode_unpadded(std::string_view in) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::vector<std::uint8_t> out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = b64_value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;   // non-canonical tail
    return out;
}

// b64_encode_unpadded - RFC 4648 base64 without '=' padding (PHC).
std::string b64_encode_unpadded(const std::uint8_t* data, std::size_t size) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((size * 4 + 2) / 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < size; ++i) {
        acc = (acc << 8) | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
    return out;
}

// The Argon2 cost memory is mapped for one computation and unmapped after it: through
// malloc, glibc raises its mmap threshold after the first free and serves later ones from
// the heap, so a burst of logins would leave each worker thread's heap grown for good.
int map_memory(std::uint8_t** memory, std::size_t bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return ARGON2_MEMORY_ALLOCATION_ERROR;
    *memory = static_cast<std::uint8_t*>(p);
    return ARGON2_OK;
}

void unmap_memory(std::uint8_t* memory, std::size_t bytes) { ::munmap(memory, bytes); }

// run_argon2 - raw Argon2id (version 0x13) of password with salt into out.
int run_argon2(std::string_view password, const std::uint8_t* salt, std::size_t salt_size, std::uint32_t t_cost,
               std::uint32_t m_cost, std::uint32_t parallelism, std::uint8_t* out, std::size_t out_size) {
    argon2_context ctx{};
    ctx.out = out;
    ctx.outlen = static_cast<std::uint32_t>(out_size);
    ctx.pwd = reinterpret_cast<std::uint8_t*>(const_cast<char*>(password.data()));
    ctx.pwdlen = static_cast<std::uint32_t>(password.size());
    ctx.salt = const_cast<std::uint8_t*>(salt);
    ctx.saltlen = static_cast<std::uint32_t>(salt_size);
    ctx.t_cost = t_cost;
    ctx.m_cost = m_cost;
    ctx.lanes = parallelism;
    ctx.threads = parallelism;
    ctx.version = ARGON2_VERSION_13;
    ctx.allocate_cbk = map_memory;
    ctx.free_cbk = unmap_memory;
    ctx.flags = ARGON2_DEFAULT_FLAGS;
    return argon2_ctx(&ctx, Argon2_id);
}

// parse_u32 - decimal digits only, bounded.
std::optional<std::uint32_t> parse_u32(std::string_view s) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 0xffffffffu) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

bool consume(std::string_view& s, std::string_view prefix) {
    if (s.substr(0, prefix.size()) != prefix) return false;
    s.remove_prefix(prefix.size());
    return true;
}

std::string_view take_until(std::string_view& s, char sep) {
    auto pos = s.find(sep);
    std::string_view head = s.substr(0, pos);
    s.remove_prefix(pos == std::string_view::npos ? s.size() : pos);
    return head;
}

void random_bytes(std::uint8_t* out, std::size_t n) {
    if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("the OpenSSL random generator failed");
}

}  // namespace

std::optional<argon2_encoded> parse_encoded_hash(std::string_view s) {
    if (s.size() > 512) return std::nullopt;
    argon2_encoded e;
    if (!consume(s, "$argon2id$v=19$m=")) return std::nullopt;
    auto m = parse_u32(take_until(s, ','));
    if (!m || !consume(s, ",t=")) return std::nullopt;
    auto t = parse_u32(take_until(s, ','));
    if (!t || !consume(s, ",p=")) return std::nullopt;
    auto p = parse_u32(take_until(s, '$'));
    if (!p || !consume(s, "$")) return std::nullopt;
    auto salt = b64_decode_unpadded(take_until(s, '$'));
    if (!salt || !consume(s, "$")) return std::nullopt;
    auto hash = b64_decode_unpadded(s);
    if (!hash) return std::nullopt;
    if (*p < 1 || *p > max_parallelism || *t < 1 || *t > max_iterations || *m < 8 * *p || *m > max_memory_kib)
        return std::nullopt;
    if (salt->size() < 8 || salt->size() > 64 || hash->size() < 16 || hash->size() > 64) return std::nullopt;
    e.memory_kib = *m;
    e.iterations = *t;
    e.parallelism = *p;
    e.salt = std::move(*salt);
    e.hash = std::move(*hash);
    return e;
}

std::string hash_password(std::string_view password, const config::auth_settings& settings) {
    if (password.size() > max_password_bytes) throw std::invalid_argument("password is longer than 1024 bytes");
    std::array<std::uint8_t, salt_bytes> salt{};
    random_bytes(salt.data(), salt.size());
    std::array<std::uint8_t, hash_bytes> raw{};
    // argon2_ctx with the mapping allocator, as in verify_password: a login that upgrades
    // a hash to the configured cost (needs_rehash) runs this in the services, and through
    // malloc a burst of such logins grew each database thread's heap by the cost for good
    // (measured: 170 KiB per idle IMAP session instead of 17 after 1,000 logins).
    int rc = run_argon2(password, salt.data(), salt.size(), settings.argon2_iterations, settings.argon2_memory_kib,
                        settings.argon2_parallelism, raw.data(), raw.size());
    if (rc != ARGON2_OK) throw std::runtime_error(std::string("argon2id hashing failed: ") + argon2_error_message(rc));
    // PHC string format, as libargon2's argon2id_hash_encoded writes it.
    std::string encoded = "$argon2id$v=19$m=" + std::to_string(settings.argon2_memory_kib) +
                          ",t=" + std::to_string(settings.argon2_iterations) +
                          ",p=" + std::to_string(settings.argon2_parallelism) + "$" +
                          b64_encode_unpadded(salt.data(), salt.size()) + "$" +
                          b64_encode_unpadded(raw.data(), raw.size());
    OPENSSL_cleanse(raw.data(), raw.size());
    return encoded;
}

bool verify_password(std::string_view password, std::string_view encoded) {
    if (password.size() > max_password_bytes) return false;
    auto e = parse_encoded_hash(encoded);
    if (!e) return false;
    std::vector<std::uint8_t> computed(e->hash.size());
    int rc = run_argon2(password, e->salt.data(), e->salt.size(), e->iterations, e->memory_kib, e->parallelism,
                        computed.data(), computed.size());
    bool same = rc == ARGON2_OK && CRYPTO_memcmp(computed.data(), e->hash.data(), computed.size()) == 0;
    OPENSSL_cleanse(computed.data(), computed.size());
    return same;
}

bool needs_rehash(std::string_view encoded, const config::auth_settings& settings) {
    auto e = parse_encoded_hash(encoded);
    return !e || e->memory_kib != settings.argon2_memory_kib || e->iterations != settings.argon2_iterations ||
           e->parallelism != settings.argon2_parallelism || e->salt.size() != salt_bytes ||
           e->hash.size() != hash_bytes;
}

std::string generate_password() {
    constexpr std::size_t groups = 4, group_len = 6;
    std::array<std::uint8_t, groups * group_len> r{};
    random_bytes(r.data(), r.size());
    std::string out;
    out.reserve(groups * (group_len + 1));
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (i != 0 && i % group_len == 0) out += '-';
        out += password_alphabet[r[i] & 31];   // 32 symbols: masking keeps it unbiased
    }
    OPENSSL_cleanse(r.data(), r.size());
    return out;
}

std::optional<std::string> check_password_policy(std::string_view password, const config::auth_settings& settings) {
    if (password.size() > max_password_bytes) return "password is longer than 1024 bytes";
    if (!valid_utf8(password)) return "password is not valid UTF-8";
    for (unsigned char c : password)
        if (c < 0x20 || c == 0x7f) return "password contains a control character";
    std::size_t n = utf8_length(password);
    if (n < settings.min_password_length)
        return "password is too short: " + std::to_string(n) + " characters, at least " +
               std::to_string(settings.min_password_length) + " required";
    if (parse_app_password(password))
        return "password has the shape of an app password (ap-...); choose another";
    return std::nullopt;
}

}  // namespace polder::auth
