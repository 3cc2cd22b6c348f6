// test_password.cpp - Argon2id hashing and verification, policy, generation.
#include <catch2/catch.hpp>

#include "polder/auth/password.hpp"

#include <argon2.h>

#include <cmath>
#include <set>
#include <string>

using namespace polder::auth;

namespace {
// Cheap parameters keep the suite fast; one test below uses the real defaults.
polder::config::auth_settings cheap() {
    polder::config::auth_settings s;
    s.argon2_memory_kib = 256;
    s.argon2_iterations = 1;
    s.argon2_parallelism = 1;
    return s;
}
}  // namespace

TEST_CASE("a hashed password verifies and a wrong one does not") {
    auto h = hash_password("correct horse battery staple", cheap());
    CHECK(h.rfind("$argon2id$v=19$m=256,t=1,p=1$", 0) == 0);
    CHECK(verify_password("correct horse battery staple", h));
    CHECK_FALSE(verify_password("correct horse battery stapler", h));
    CHECK_FALSE(verify_password("", h));
}

TEST_CASE("our PHC strings are libargon2's: each verifies the other's") {
    auto ours = hash_password("interop check", cheap());
    CHECK(argon2id_verify(ours.c_str(), "interop check", 13) == ARGON2_OK);
    CHECK(argon2id_verify(ours.c_str(), "interop checK", 13) != ARGON2_OK);
    const char salt[] = "0123456789abcdef";
    char theirs[128] = {};
    REQUIRE(argon2id_hash_encoded(1, 256, 1, "interop check", 13, salt, 16, 32, theirs, sizeof theirs) == ARGON2_OK);
    CHECK(verify_password("interop check", theirs));
    CHECK_FALSE(verify_password("interop checK", theirs));
}

TEST_CASE("hashing the same password twice gives different salts") {
    auto a = hash_password("same password here", cheap());
    auto b = hash_password("same password here", cheap());
    CHECK(a != b);
    CHECK(verify_password("same password here", a));
    CHECK(verify_password("same password here", b));
}

TEST_CASE("the default OWASP parameters hash and verify") {
    polder::config::auth_settings defaults;
    auto h = hash_password("a reasonably long password", defaults);
    CHECK(h.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0) == 0);
    CHECK(verify_password("a reasonably long password", h));
    CHECK_FALSE(needs_rehash(h, defaults));
    CHECK(needs_rehash(h, cheap()));
}

TEST_CASE("verify password refuses a tampered or malformed hash") {
    auto h = hash_password("tamper with me please", cheap());
    std::string flipped = h;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CHECK_FALSE(verify_password("tamper with me please", flipped));
    CHECK_FALSE(verify_password("tamper with me please", ""));
    CHECK_FALSE(verify_password("tamper with me please", "plaintext"));
    CHECK_FALSE(verify_password("x", "$argon2i$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"));
    CHECK(needs_rehash("garbage", cheap()));
}

TEST_CASE("parse encoded hash bounds every parameter") {
    const std::string salt = "c2FsdHNhbHRzYWx0c2FsdA";        // 16 bytes
    const std::string hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGg";   // 29 bytes
    auto ok = parse_encoded_hash("$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$" + hash);
    REQUIRE(ok);
    CHECK(ok->memory_kib == 65536);
    CHECK(ok->iterations == 3);
    CHECK(ok->parallelism == 4);
    CHECK(ok->salt.size() == 16);
    CHECK(ok->hash.size() == 29);
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=16$m=65536,t=3,p=4$" + salt + "$" + hash));        // old version
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=19$m=99999999,t=3,p=4$" + salt + "$" + hash));     // 95 GiB
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=19$m=65536,t=0,p=4$" + salt + "$" + hash));
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=19$m=65536,t=3,p=0$" + salt + "$" + hash));
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$"));
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$" + hash));           // 4-byte salt
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$" + hash + "="));
    CHECK_FALSE(parse_encoded_hash("$argon2id$v=19$m=-1,t=3,p=4$" + salt + "$" + hash));
}

TEST_CASE("an over-long password is refused before hashing") {
    std::string huge(max_password_bytes + 1, 'x');
    CHECK_THROWS_AS(hash_password(huge, cheap()), std::invalid_argument);
    auto h = hash_password(std::string(max_password_bytes, 'x'), cheap());
    CHECK(verify_password(std::string(max_password_bytes, 'x'), h));
    CHECK_FALSE(verify_password(huge, h));
}

TEST_CASE("generated passwords have 120 bits in four typable groups") {
    std::set<std::string> seen;
    std::set<char> symbols;
    for (int i = 0; i < 200; ++i) {
        auto p = generate_password();
        REQUIRE(p.size() == 4 * 6 + 3);
        for (std::size_t k = 0; k < p.size(); ++k) {
            if (k % 7 == 6) {
                CHECK(p[k] == '-');
            } else {
                CHECK(password_alphabet.find(p[k]) != std::string_view::npos);
                symbols.insert(p[k]);
            }
        }
        seen.insert(p);
    }
    CHECK(seen.size() == 200);
    CHECK(symbols.size() == 32);   // 4800 draws from 32 symbols: every symbol appears
    CHECK(24 * std::log2(static_cast<double>(password_alphabet.size())) >= 100.0);
    CHECK_FALSE(check_password_policy(generate_password(), polder::config::auth_settings{}));
}

TEST_CASE("password policy names the problem") {
    polder::config::auth_settings s;
    CHECK_FALSE(check_password_policy("long enough password", s));
    auto short_pw = check_password_policy("short", s);
    REQUIRE(short_pw);
    CHECK_THAT(*short_pw, Catch::Contains("too short") && Catch::Contains("12"));
    // twelve characters, more bytes: the limit counts characters
    CHECK_FALSE(check_password_policy("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                      "\xC3\xA9\xC3\xA9\xC3\xA9", s));
    CHECK_THAT(*check_password_policy("eleven char", s), Catch::Contains("too short"));
    CHECK_THAT(*check_password_policy("with a\nnewline inside", s), Catch::Contains("control"));
    CHECK_THAT(*check_password_policy("bad utf8 \xC3\x28 here", s), Catch::Contains("UTF-8"));
    CHECK_THAT(*check_password_policy(std::string(1025, 'p'), s), Catch::Contains("1024"));
    CHECK_THAT(*check_password_policy("ap-abcdefgh-abcdef-abcdef-abcdef-abcdef", s), Catch::Contains("app password"));
}
