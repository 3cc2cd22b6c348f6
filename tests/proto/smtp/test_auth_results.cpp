// test_auth_results.cpp - the pure parts of polder-smtpd's inbound checks: the
// Authentication-Results: field (RFC 8601) and the removal of forged ones, the header
// section helpers, TXT character-strings, and the "delivered" DSN of local delivery.
//
// SECURITY: values from the network (domains, selectors, comments) cannot end the field,
// add a resinfo or inject a header; a forged field claiming our authserv-id goes, quoted
// or folded or malformed, and fields of other servers stay.
// STANDARDS: RFC 8601 (2.2-2.7, 5), RFC 5322 2.2.3, RFC 2045 5.1, RFC 1035 3.3.14, RFC 3464.
#include "auth_dns.hpp"
#include "auth_results.hpp"
#include "queue.hpp"

#include <catch2/catch.hpp>

using namespace polder::smtpd;

TEST_CASE("Authentication-Results lists one resinfo per line after our authserv-id") {
    const auto f = authentication_results_field(
        "mx.gemeente.example", {{"spf", "pass", {}, {{"smtp.mailfrom", "example.com"}}},
                                {"dkim", "pass", {}, {{"header.d", "example.com"}, {"header.i", "@example.com"},
                                                      {"header.s", "sel"}}},
                                {"dmarc", "fail", "p=reject dis=reject", {{"header.from", "example.com"}}}});
    CHECK(f == "Authentication-Results: mx.gemeente.example;\r\n"
               "\tspf=pass smtp.mailfrom=example.com;\r\n"
               "\tdkim=pass header.d=example.com header.i=@example.com header.s=sel;\r\n"
               "\tdmarc=fail (p=reject dis=reject) header.from=example.com\r\n");
    CHECK(authentication_results_field("mx.example", {}) == "Authentication-Results: mx.example; none\r\n");
}

TEST_CASE("Authentication-Results quotes property values that are not plain domain text") {
    CHECK(pvalue("example.com") == "example.com");
    CHECK(pvalue("@example.com") == "@example.com");
    CHECK(pvalue("evil.example; dmarc=pass") == "\"evil.example; dmarc=pass\"");
    CHECK(pvalue("a\"b\\c\r\nX-Injected: 1") == "\"a?b?c??X-Injected: 1\"");
    CHECK(pvalue(std::string(400, 'a')).size() == 255);
    const auto f = authentication_results_field(
        "mx.example", {{"dkim", "fail", "bad)\r\nX-Evil: (1", {{"header.s", "x\r\nX-Evil: 2"}}}});
    CHECK(f.find("\r\nX-Evil") == std::string::npos);
    CHECK(f.ends_with("\r\n"));
}

TEST_CASE("Authentication-Results folds long property lists below 80 columns") {
    resinfo r{"dkim", "pass", {}, {}};
    for (int i = 0; i < 6; ++i) r.props.push_back({"header.d", "a-rather-long-domain-name-" + std::to_string(i) + ".example"});
    const auto f = authentication_results_field("mx.example", {r});
    std::size_t start = 0;
    while (start < f.size()) {
        const auto end = f.find("\r\n", start);
        REQUIRE(end != std::string::npos);
        CHECK(end - start <= 120);
        start = end + 2;
    }
}

TEST_CASE("authserv-id is read as token or quoted-string after comments") {
    CHECK(authserv_id_of(" mx.example; spf=pass") == "mx.example");
    CHECK(authserv_id_of(" (comment (nested)) mx.example 1; none") == "mx.example");
    CHECK(authserv_id_of(" \"mx.example\"; none") == "mx.example");
    CHECK(authserv_id_of("\r\n\tmx.example;") == "mx.example");
    CHECK_FALSE(authserv_id_of(" (unclosed mx.example").has_value());
    CHECK_FALSE(authserv_id_of("   ").has_value());
}

TEST_CASE("forged Authentication-Results claiming our authserv-id are removed and others kept") {
    const std::string block =
        "Authentication-Results: MX.Gemeente.Example; spf=pass\r\n"
        "Subject: hi\r\n"
        "Authentication-Results: other.example;\r\n\tdkim=pass header.d=x.example\r\n"
        "authentication-results : \"mx.gemeente.example\";\r\n\tdmarc=pass\r\n"
        "Authentication-Results: (broken mx.gemeente.example\r\n"
        "From: <a@b.example>\r\n\r\n";
    std::size_t removed = 0;
    const auto out = remove_forged_results(block, "mx.gemeente.example", &removed);
    CHECK(removed == 3);
    CHECK(out == "Subject: hi\r\n"
                 "Authentication-Results: other.example;\r\n\tdkim=pass header.d=x.example\r\n"
                 "From: <a@b.example>\r\n\r\n");
}

TEST_CASE("header section helpers split fields with their continuation lines") {
    const std::string msg = "A: 1\r\nB: 2\r\n\tmore\r\n\r\nbody\r\n";
    CHECK(header_end(msg) == msg.find("body"));
    CHECK(header_end("\r\nbody") == 2);
    CHECK(header_end("A: 1\r\n") == 6);
    const std::string block = msg.substr(0, header_end(msg));
    const auto fields = split_fields(block);
    REQUIRE(fields.size() == 3);
    CHECK(fields[0] == "A: 1\r\n");
    CHECK(fields[1] == "B: 2\r\n\tmore\r\n");
    CHECK(fields[2] == "\r\n");
    CHECK(field_name(fields[1]) == "B");
    CHECK(field_name("No colon here\r\n").empty());
}

TEST_CASE("TXT rdata character-strings are joined and malformed lengths stop at the end") {
    CHECK(txt_strings(std::string("\x05v=spf\x06" "1 -all", 13)) == "v=spf1 -all");
    CHECK(txt_strings(std::string("\x09short", 6)) == "short");
    CHECK(txt_strings("").empty());
}

TEST_CASE("a delivered DSN is a success report with Action delivered and no diagnostic code") {
    std::vector<failed_recipient> entries{{"bob@gemeente.example", std::string("rfc822;bob@gemeente.example"), "2.0.0",
                                           "delivered to the mailbox", false, "delivered"},
                                          {"team@gemeente.example", std::nullopt, "2.0.0", "delivered to 2 mailboxes",
                                           false, "expanded"}};
    const auto dsn = build_dsn("mx.gemeente.example", "ann@remote.example", std::string("ENV1"), false,
                               "Subject: x\r\n\r\nbody\r\n", entries, 0, 0, "T1S");
    CHECK(dsn.find("Subject: Successful Mail Delivery Report\r\n") != std::string::npos);
    CHECK(dsn.find("Your message was delivered to the following recipients:") != std::string::npos);
    CHECK(dsn.find("Action: delivered\r\n") != std::string::npos);
    CHECK(dsn.find("Action: expanded\r\n") != std::string::npos);
    CHECK(dsn.find("Original-Recipient: rfc822;bob@gemeente.example\r\n") != std::string::npos);
    CHECK(dsn.find("Diagnostic-Code") == std::string::npos);
    CHECK(dsn.find("Content-Type: text/rfc822-headers\r\n\r\nSubject: x\r\n") != std::string::npos);
    CHECK(dsn.find("body") == std::string::npos);
}
