// test_autoconfig.cpp - client autoconfiguration's pure part: which addresses, queries
// and Host headers are accepted, and that what the documents say comes through escaped
// and intact (the end-to-end test with real clients is
// tests/integration/caldav/test_autoconfig.py).
#include "autoconfig.hpp"

#include "polder/dav/xml.hpp"

#include <catch2/catch.hpp>

using namespace polder;
using namespace polder::caldav::autoconfig;

namespace {

const endpoints sample{.provider = "Gemeente <A&B>",
                       .imap = {"imap.gemeente.example", 993, security::tls},
                       .submission = {"smtp.gemeente.example", 587, security::starttls},
                       .dav_host = "dav.gemeente.example",
                       .dav_port = 443};

dav::xml_element parsed(std::string doc) {
    if (const auto d = doc.find("<!DOCTYPE"); d != std::string::npos) doc.erase(d, doc.find('>', d) + 1 - d);
    std::string reason;
    auto r = dav::parse_xml(doc, reason);
    INFO(reason);
    REQUIRE(r.has_value());
    return std::move(*r);
}

}  // namespace

TEST_CASE("addresses: plain addr-specs only, lower-cased") {
    CHECK(parse_address("Alice.de-Vries+werk@Gemeente.Example") == "alice.de-vries+werk@gemeente.example");
    CHECK(parse_address("o'brien@sub.gemeente.example") == "o'brien@sub.gemeente.example");
    // The directory's spelling: U-labels become A-labels (polder::auth::parse_address).
    CHECK(parse_address("Alice@Bücher.Example") == "alice@xn--bcher-kva.example");
    CHECK(host_domain("autoconfig.bücher.example") == "xn--bcher-kva.example");
    for (std::string_view bad : {"", "alice", "@gemeente.example", "alice@", "alice@localhost", "a..b@x.example",
                                 ".a@x.example", "a.@x.example", "\"a b\"@x.example", "a<b>@x.example",
                                 "a@x.example.", "a@-x.example", "a@x_y.example", "a@10.0.0.1", "a@[10.0.0.1]",
                                 "ä@x.example", "a@x.example\n"}) {
        INFO(bad);
        CHECK_FALSE(parse_address(bad));
    }
    CHECK(parse_address(std::string(64, 'a') + "@x.example"));
    CHECK_FALSE(parse_address(std::string(65, 'a') + "@x.example"));
    CHECK_FALSE(parse_address("a@" + std::string(250, 'b') + ".example"));
    CHECK(domain_of("alice@gemeente.example") == "gemeente.example");
}

TEST_CASE("query values are percent-decoded, + is a space") {
    CHECK(query_value("emailaddress=alice%40gemeente.example", "emailaddress")->value() == "alice@gemeente.example");
    CHECK(query_value("x=1&emailaddress=a%2Bb%40x.example&emailaddress=second", "emailaddress")->value() ==
          "a+b@x.example");
    CHECK(query_value("emailaddress=a+b", "emailaddress")->value() == "a b");
    CHECK_FALSE(query_value("emailaddressx=1", "emailaddress")->has_value());
    CHECK(query_value("emailaddress", "emailaddress")->value().empty());
    CHECK_FALSE(query_value("emailaddress=%zz", "emailaddress").has_value());
    CHECK_FALSE(query_value("emailaddress=a%00b", "emailaddress").has_value());
}

TEST_CASE("the Host header names the mail domain") {
    CHECK(host_domain("autoconfig.Gemeente.Example") == "gemeente.example");
    CHECK(host_domain("autodiscover.gemeente.example:443") == "gemeente.example");
    CHECK(host_domain("gemeente.example.") == "gemeente.example");
    CHECK(host_domain("autoconfig.example") == "autoconfig.example");   // no domain left to strip to
    for (std::string_view bad : {"", "127.0.0.1", "[::1]:443", "localhost", "gemeente.example:x", "a b.example",
                                 "gemeente.example:123456"}) {
        INFO(bad);
        CHECK_FALSE(host_domain(bad));
    }
}

TEST_CASE("Thunderbird's clientConfig carries the endpoints, escaped") {
    const auto doc = parsed(thunderbird(sample, "gemeente.example"));
    CHECK(doc.name.local == "clientConfig");
    const auto* p = doc.child("", "emailProvider");
    REQUIRE(p);
    CHECK(p->child("", "displayName")->text_content() == "Gemeente <A&B>");
    const auto* out = p->child("", "outgoingServer");
    REQUIRE(out);
    CHECK(out->child("", "socketType")->text_content() == "STARTTLS");
    CHECK(out->child("", "port")->text_content() == "587");
    CHECK(p->child("", "incomingServer")->child("", "socketType")->text_content() == "SSL");
    CHECK(doc.child("", "calendar")->child("", "serverURL")->text_content() ==
          "https://dav.gemeente.example/.well-known/caldav");
    auto other = sample;
    other.provider.clear();
    other.dav_port = 8443;
    const auto d2 = parsed(thunderbird(other, "gemeente.example"));
    CHECK(d2.child("", "emailProvider")->child("", "displayName")->text_content() == "gemeente.example");
    CHECK(d2.child("", "addressBook")->child("", "serverURL")->text_content() ==
          "https://dav.gemeente.example:8443/.well-known/carddav");
}

TEST_CASE("Outlook: the request's address, and the answer") {
    constexpr std::string_view ns = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
    const auto request = [&](std::string_view address, std::string_view schema) {
        return "<Autodiscover xmlns=\"" + std::string(ns) + "\"><Request><EMailAddress>" + std::string(address) +
               "</EMailAddress><AcceptableResponseSchema>" + std::string(schema) +
               "</AcceptableResponseSchema></Request></Autodiscover>";
    };
    const std::string outlook_schema = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    std::string reason;
    CHECK(outlook_request(request(" Alice@Gemeente.Example\n", outlook_schema), reason).value() ==
          "alice@gemeente.example");
    CHECK(outlook_request(request("alice@gemeente.example", ""), reason).has_value());
    CHECK_FALSE(outlook_request(request("alice@gemeente.example", "http://x/mobilesync/responseschema/2006"), reason)
                    .has_value());
    CHECK(reason.find("2006a") != std::string::npos);
    CHECK_FALSE(outlook_request(request("alice&lt;x@gemeente.example", outlook_schema), reason).has_value());
    CHECK_FALSE(outlook_request("<Autodiscover xmlns=\"urn:x\"/>", reason).has_value());
    CHECK_FALSE(outlook_request("<Autodiscover", reason).has_value());
    CHECK_FALSE(outlook_request("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", reason).has_value());
    CHECK_FALSE(outlook_request("<Autodiscover xmlns=\"" + std::string(ns) + "\"><Request/></Autodiscover>", reason).has_value());

    const auto doc = parsed(outlook(sample, "alice@gemeente.example"));
    const std::string r = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    const auto* account = doc.child(r, "Response") ? doc.child(r, "Response") : nullptr;
    REQUIRE(account);
    account = account->child(r, "Account");
    REQUIRE(account);
    std::vector<std::string> seen;
    for (const auto* p : account->elements()) {
        if (p->name.local != "Protocol") continue;
        const auto type = p->child(r, "Type")->text_content();
        seen.push_back(type);
        CHECK(p->child(r, "LoginName")->text_content() == "alice@gemeente.example");
        CHECK(p->child(r, "Encryption")->text_content() == (type == "IMAP" ? "SSL" : "TLS"));
    }
    CHECK(seen == std::vector<std::string>{"IMAP", "SMTP"});
}

TEST_CASE("Apple profile: three payloads, stable identifiers per address") {
    const auto a = apple(sample, "alice@gemeente.example");
    CHECK(a == apple(sample, "alice@gemeente.example"));
    const auto b = apple(sample, "bob@gemeente.example");
    CHECK(a != b);
    CHECK(a.find("<string>com.apple.mail.managed</string>") != std::string::npos);
    CHECK(a.find("<string>com.apple.caldav.account</string>") != std::string::npos);
    CHECK(a.find("<string>com.apple.carddav.account</string>") != std::string::npos);
    CHECK(a.find("<string>https://dav.gemeente.example/dav/principals/alice@gemeente.example/</string>") !=
          std::string::npos);
    CHECK(a.find("Gemeente &lt;A&amp;B&gt;") != std::string::npos);
    CHECK(a.find("example.gemeente.polder.") != std::string::npos);
    (void)parsed(a);
}
