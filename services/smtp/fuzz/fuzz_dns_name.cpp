// fuzz_dns_name.cpp - libFuzzer target: decode_name (src/dns.cpp), which decodes the MX
// targets in DNS answers - untrusted bytes from whatever server answers.
//
// SECURITY: checked on every input: no crash or sanitizer report; a decoded name is never
// longer than 253 characters, has only letters, digits, '-', '_' and '.', no empty label.
// STANDARDS: RFC 1035 section 3.1 (names), 3.3.9 (MX rdata: preference, then the name).
#include "dns.hpp"

#include <cstdint>
#include <cctype>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const unsigned char> bytes(data, size);
    for (std::size_t offset : {std::size_t{0}, std::size_t{2}}) {   // bare name, MX rdata
        auto name = polder::smtpd::decode_name(bytes, offset);
        if (!name) continue;
        if (name->size() > 253) std::abort();
        if (!name->empty() && (name->front() == '.' || name->back() == '.' || name->find("..") != std::string::npos))
            std::abort();
        for (char c : *name)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) std::abort();
    }
    return 0;
}
