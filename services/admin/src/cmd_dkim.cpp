// cmd_dkim.cpp - polderctl domain dkim generate|show: the per-domain DKIM keys that
// polder-smtpd signs outbound mail with (table mail.dkim_keys, schema/0111_smtp_dkim.sql).
//
//   domain dkim generate DOMAIN [--selector S] [--bits 2048|3072|4096]
//       makes a new RSA key pair with OpenSSL, stores it as the domain's active key (the
//       previous one is kept, inactive, so its DNS record can stay until mail signed with
//       it has been delivered) and prints the TXT record to publish.
//   domain dkim show DOMAIN [--json]
//       prints the TXT record of the active key.
// The new key signs from the next delivery attempt on: publish the record first (or
// generate, publish, and only then let users send) - receivers that cannot find the key
// treat the signature as failing (RFC 6376 section 6.1.2), DMARC then relies on SPF.
//
// SECURITY: the private key is created here and goes straight into the database (see the
// migration for how it is protected); it is never printed. RSA keys have at least 2048
// bits (RFC 8301 requires 1024, recommends 2048). Generation is audited.
// No Ed25519 (RFC 8463) yet: Debian 12's libopendkim 2.11.0~beta2 leaks the key on every
// Ed25519 signature (seen with ASan), and many receivers still verify RSA only, so an
// Ed25519 key could only ever be a second signature anyway.
// STANDARDS: RFC 6376 section 3.6.1 (the key record), RFC 8301, RFC 1035 section 3.3.14
// (TXT strings of at most 255 octets).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/audit.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <ctime>
#include <iostream>
#include <memory>
#include <regex>

namespace polder::admin {

namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct bio_free {
    void operator()(BIO* b) const { BIO_free(b); }
};

std::string base64(const unsigned char* data, std::size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<std::size_t>(len));
    return out;
}

struct key_pair {
    std::string private_pem;
    std::string public_b64;
};

key_pair generate(unsigned bits) {
    std::unique_ptr<EVP_PKEY, pkey_free> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{bits}));
    if (!key) throw failure(exit_code::software, "key generation failed (OpenSSL)");
    key_pair kp;
    std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw failure(exit_code::software, "cannot encode the private key (OpenSSL)");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    kp.private_pem.assign(data, static_cast<std::size_t>(len));
    // RFC 6376 3.6.1: p= is the DER SubjectPublicKeyInfo, base64.
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(key.get(), &der);
    if (n <= 0) throw failure(exit_code::software, "cannot encode the public key (OpenSSL)");
    kp.public_b64 = base64(der, static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return kp;
}

// txt_record - one zone-file line; the value split into character-strings of at most 255
// octets, which resolvers concatenate (RFC 6376 3.6.2.2).
std::string txt_record(const std::string& name, const std::string& value) {
    std::string out = name + ". 3600 IN TXT";
    for (std::size_t i = 0; i < value.size(); i += 255) out += " \"" + value.substr(i, 255) + "\"";
    return out;
}

std::string key_value(const std::string& algorithm, const std::string& public_b64) {
    return std::string("v=DKIM1; k=") + (algorithm == "ed25519-sha256" ? "ed25519" : "rsa") + "; p=" + public_b64;
}

std::string default_selector() {
    // Month-stamped, so that a rotation a month later needs no --selector.
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "polder%Y%m", &tm);
    return buf;
}

}  // namespace

void add_dkim_commands(CLI::App& app, action& chosen) {
    auto* domain = app.get_subcommand("domain");
    auto* dkim = domain->add_subcommand("dkim", "DKIM signing keys of a domain (outbound mail)");
    dkim->require_subcommand(1);
    struct args_t {
        std::string domain, selector;
        unsigned bits = 2048;
        bool json = false;
    };
    auto args = std::make_shared<args_t>();

    auto* gen = dkim->add_subcommand("generate", "Create a new signing key for DOMAIN and print its DNS record");
    gen->add_option("domain", args->domain, "Mail domain")->required();
    gen->add_option("--selector", args->selector, "Selector (default: polderYYYYMM)");
    gen->add_option("--bits", args->bits, "RSA key size (default 2048)")->check(CLI::IsMember({2048u, 3072u, 4096u}));
    on_run(gen, chosen, [args](context& ctx) {
        const std::string selector = args->selector.empty() ? default_selector() : args->selector;
        static const std::regex valid("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
        if (!std::regex_match(selector, valid))
            usage_error("bad selector '" + selector + "': lower-case letters, digits and inner hyphens, at most 63");
        const std::string algorithm = "rsa-sha256";
        const key_pair kp = generate(args->bits);
        const auto name = ctx.transact([&](pqxx::work& tx) {
            const auto d = domain_in(tx, args->domain, std::nullopt);
            if (!tx.exec_params("SELECT 1 FROM mail.dkim_keys WHERE domain_id = $1 AND selector = $2", d.id, selector)
                     .empty())
                refuse("selector '" + selector + "' was already used for " + d.name + "; choose another with --selector");
            tx.exec_params("UPDATE mail.dkim_keys SET active = false WHERE domain_id = $1 AND active", d.id);
            tx.exec_params("INSERT INTO mail.dkim_keys (domain_id, selector, algorithm, private_key, public_key) "
                           "VALUES ($1, $2, $3, $4, $5)",
                           d.id, selector, algorithm, kp.private_pem, kp.public_b64);
            auth::audit(tx, "admin.domain.dkim.generate", d.org_id, std::nullopt, ctx.who().actor, ctx.who().remote_ip,
                        {{"domain", d.name}, {"selector", selector}, {"algorithm", algorithm}});
            return d.name;
        });
        std::cout << "generated " << algorithm << " key '" << selector << "' for " << name
                  << "; publish this record (outbound mail is signed with it from now on):\n"
                  << txt_record(selector + "._domainkey." + name, key_value(algorithm, kp.public_b64)) << '\n';
    });

    auto* show = dkim->add_subcommand("show", "Print the DNS TXT record of DOMAIN's active DKIM key");
    show->add_option("domain", args->domain, "Mail domain")->required();
    show->add_flag("--json", args->json, "Print JSON");
    on_run(show, chosen, [args](context& ctx) {
        auto row = ctx.transact([&](pqxx::work& tx) {
            const auto d = domain_in(tx, args->domain, std::nullopt);
            auto r = tx.exec_params("SELECT selector, algorithm, public_key, "
                                    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                                    "FROM mail.dkim_keys WHERE domain_id = $1 AND active",
                                    d.id);
            if (r.empty()) refuse("no DKIM key for " + d.name + " (polderctl domain dkim generate " + d.name + ")");
            return std::array<std::string, 5>{d.name, r[0][0].as<std::string>(), r[0][1].as<std::string>(),
                                              r[0][2].as<std::string>(), r[0][3].as<std::string>()};
        });
        const auto& [name, selector, algorithm, pub, created] = row;
        const std::string record_name = selector + "._domainkey." + name;
        if (args->json) {
            print_json({{"domain", name}, {"selector", selector}, {"algorithm", algorithm}, {"created_at", created},
                        {"name", record_name}, {"value", key_value(algorithm, pub)}});
            return;
        }
        std::cout << txt_record(record_name, key_value(algorithm, pub)) << '\n';
    });
}

}  // namespace polder::admin
