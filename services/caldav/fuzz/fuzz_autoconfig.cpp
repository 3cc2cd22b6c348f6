// fuzz_autoconfig.cpp - libFuzzer target: client autoconfiguration's parsers of network
// input (the Outlook POX request body, the query string, the Host header, an address),
// and, for every address they accept, the three documents, which must parse back as
// well-formed XML. Must never crash, leak or hang, and never write a broken document.
//
// SECURITY: exercises untrusted-input parsing and the escaping of what is written.
// STANDARDS: as autoconfig.hpp.
#include "autoconfig.hpp"

#include "polder/dav/xml.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using namespace polder::caldav::autoconfig;

void well_formed(std::string doc) {
    // The property list's DOCTYPE names Apple's DTD; polder::dav's parser refuses DTDs.
    if (const auto d = doc.find("<!DOCTYPE"); d != std::string::npos) doc.erase(d, doc.find('>', d) + 1 - d);
    std::string reason;
    if (!polder::dav::parse_xml(doc, reason)) __builtin_trap();
}

void documents(const std::string& address) {
    const endpoints e{.provider = "Gemeente <&> \"test\"",
                      .imap = {"imap.gemeente.example", 993, security::tls},
                      .submission = {"smtp.gemeente.example", 587, security::starttls},
                      .dav_host = "dav.gemeente.example",
                      .dav_port = 8443};
    well_formed(thunderbird(e, domain_of(address)));
    well_formed(outlook(e, address));
    well_formed(apple(e, address));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::string reason;
    if (auto a = outlook_request(text, reason)) documents(*a);
    if (auto q = query_value(text, "emailaddress"); q && *q) {
        if (auto a = parse_address(**q)) documents(*a);
    }
    if (auto d = host_domain(text)) {
        if (auto a = parse_address("user@" + *d); !a) __builtin_trap();   // a host's domain is a mail domain
    }
    if (auto a = parse_address(text)) {
        if (parse_address(*a) != a) __builtin_trap();   // normalised once and for all
        documents(*a);
    }
    return 0;
}
