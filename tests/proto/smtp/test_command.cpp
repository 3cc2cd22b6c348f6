// test_command.cpp - table-driven tests of the SMTP command parser: every verb, every
// MAIL/RCPT parameter, the leniencies we chose and the exact error replies.
#include <catch2/catch.hpp>

#include "polder/smtp/proto/command.hpp"

#include <string>

using namespace polder::smtp;

namespace {

parse_options esmtp_all() {
    parse_options o;
    o.ext.auth = true;
    o.ext.starttls = true;
    return o;
}

template <class T>
T expect_ok(std::string_view line, const parse_options& o = esmtp_all()) {
    auto r = parse_command(line, o);
    INFO("line: " << line << " -> " << r.error.to_wire());
    REQUIRE(r);
    REQUIRE(std::holds_alternative<T>(*r.cmd));
    return std::get<T>(*r.cmd);
}

}  // namespace

TEST_CASE("smtp parser accepts every verb case-insensitively") {
    struct row { const char* line; const char* verb; };
    const row rows[] = {
        {"EHLO client.example.org", "EHLO"}, {"ehlo client.example.org", "EHLO"}, {"HeLo host", "HELO"},
        {"MAIL FROM:<a@example.org>", "MAIL"}, {"mail from:<a@example.org>", "MAIL"},
        {"RCPT TO:<b@example.org>", "RCPT"}, {"rcpt to:<b@example.org>", "RCPT"},
        {"DATA", "DATA"}, {"data", "DATA"}, {"BDAT 10", "BDAT"}, {"bdat 0 last", "BDAT"},
        {"RSET", "RSET"}, {"NOOP", "NOOP"}, {"noop anything at all", "NOOP"}, {"QUIT", "QUIT"},
        {"VRFY bob", "VRFY"}, {"EXPN staff", "EXPN"}, {"HELP", "HELP"}, {"help mail", "HELP"},
        {"STARTTLS", "STARTTLS"}, {"starttls", "STARTTLS"}, {"AUTH PLAIN", "AUTH"}, {"auth login dXNlcg==", "AUTH"},
    };
    for (const auto& r : rows) {
        auto p = parse_command(r.line, esmtp_all());
        INFO(r.line << " -> " << p.error.to_wire());
        REQUIRE(p);
        CHECK(command_name(*p.cmd) == r.verb);
    }
}

TEST_CASE("smtp parser refuses malformed commands with the exact reply") {
    struct row { const char* line; int code; const char* enhanced; };
    const row rows[] = {
        {"", 500, "5.5.2"},
        {"FOO bar", 500, "5.5.2"},
        {"MAILFROM:<a@b.c>", 500, "5.5.2"},
        {"EHLO", 501, "5.5.4"},
        {"HELO ", 501, "5.5.4"},
        {"MAIL TO:<a@b.c>", 501, "5.5.4"},
        {"MAIL FROM :<a@b.c>", 501, "5.5.4"},             // space before the colon
        {"MAIL FROM:a@b.c", 501, "5.1.7"},                // no angle brackets
        {"MAIL FROM:<a@b.c", 501, "5.1.7"},               // unclosed
        {"MAIL FROM:<a@b.c>x", 501, "5.1.7"},             // junk after the path
        {"MAIL FROM:<a@@b.c>", 501, "5.1.7"},
        {"MAIL FROM:<a..b@c.d>", 501, "5.1.7"},           // empty atom
        {"MAIL FROM:<.a@c.d>", 501, "5.1.7"},
        {"MAIL FROM:<a@-b.c>", 501, "5.1.7"},             // label starts with hyphen
        {"MAIL FROM:<a@b-.c>", 501, "5.1.7"},
        {"MAIL FROM:<a@b..c>", 501, "5.1.7"},
        {"MAIL FROM:<a@[300.1.1.1]>", 501, "5.1.7"},
        {"MAIL FROM:<a@[foo:bar]>", 501, "5.1.7"},        // general literal, tag not standardized
        {"MAIL FROM:<a b@c.d>", 501, "5.1.7"},
        {"RCPT FROM:<a@b.c>", 501, "5.5.4"},
        {"RCPT TO:<>", 501, "5.1.3"},
        {"RCPT TO:<a@>", 501, "5.1.3"},
        {"RCPT TO:<@>", 501, "5.1.3"},
        {"RCPT TO:<@a.b:>", 501, "5.1.3"},
        {"RCPT TO:<@a.b,:c@d.e>", 501, "5.1.3"},
        {"RCPT TO:<@a..b:c@d.e>", 501, "5.1.3"},
        {"DATA now", 501, "5.5.4"},
        {"RSET x", 501, "5.5.4"},
        {"QUIT now", 501, "5.5.4"},
        {"STARTTLS x", 501, "5.5.4"},
        {"VRFY", 501, "5.5.4"},
        {"EXPN", 501, "5.5.4"},
        {"BDAT", 501, "5.5.4"},
        {"BDAT x", 501, "5.5.4"},
        {"BDAT -1", 501, "5.5.4"},
        {"BDAT 10 FIRST", 501, "5.5.4"},
        {"BDAT 123456789012345678901", 501, "5.5.4"},
        {"BDAT 99999999999999999999", 501, "5.5.4"},      // 20 digits but over 2^64-1
        {"AUTH", 501, "5.5.4"},
        {"AUTH PL@IN", 501, "5.5.4"},
        {"AUTH ABCDEFGHIJKLMNOPQRSTU", 501, "5.5.4"},    // 21 characters
        {"AUTH PLAIN a b", 501, "5.5.4"},
        {"NOOP \x01", 500, "5.5.2"},
        {"MAIL FROM:<a@b.c>\r", 500, "5.5.2"},
        {"EHLO a\tb", 500, "5.5.2"},
    };
    for (const auto& r : rows) {
        auto p = parse_command(r.line, esmtp_all());
        INFO("line: " << r.line << " -> " << p.error.to_wire());
        REQUIRE_FALSE(p);
        CHECK(p.error.code == r.code);
        CHECK(p.error.enhanced == r.enhanced);
        CHECK_FALSE(p.close);
    }
}

TEST_CASE("smtp parser closes on HTTP and other protocols spoken to the SMTP port") {
    for (const char* line : {"GET / HTTP/1.1", "POST /submit HTTP/1.0", "CONNECT mail.example:25 HTTP/1.1", "USER bob"}) {
        auto p = parse_command(line, esmtp_all());
        REQUIRE_FALSE(p);
        CHECK(p.close);
        CHECK(p.error.code == 421);
    }
}

TEST_CASE("smtp parser keeps the EHLO domain and judges its form") {
    auto h = expect_ok<hello_command>("EHLO mail.example.org");
    CHECK(h.extended);
    CHECK(h.domain == "mail.example.org");
    CHECK(h.well_formed);
    CHECK_FALSE(h.address_literal);

    h = expect_ok<hello_command>("HELO [192.0.2.7]");
    CHECK_FALSE(h.extended);
    CHECK(h.address_literal);
    CHECK(h.well_formed);

    h = expect_ok<hello_command>("EHLO [IPv6:2001:db8::7]");
    CHECK(h.address_literal);
    CHECK(h.well_formed);

    h = expect_ok<hello_command>("EHLO DESKTOP_01 (extra words are ignored)");
    CHECK(h.domain == "DESKTOP_01");
    CHECK_FALSE(h.well_formed);

    h = expect_ok<hello_command>("EHLO [999.0.0.1]");
    CHECK_FALSE(h.well_formed);
}

TEST_CASE("smtp parser reads MAIL with the null reverse-path and every parameter") {
    auto m = expect_ok<mail_command>("MAIL FROM:<>");
    CHECK_FALSE(m.reverse_path);

    m = expect_ok<mail_command>(
        "MAIL FROM:<alice@example.org> SIZE=12345 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1+3D2 AUTH=alice+40example.org");
    REQUIRE(m.reverse_path);
    CHECK(m.reverse_path->local_part == "alice");
    CHECK(m.reverse_path->domain == "example.org");
    CHECK(m.params.size == 12345u);
    CHECK(m.params.body == body_type::eight_bit_mime);
    CHECK(m.params.ret == dsn_ret::headers);
    CHECK(m.params.envid == std::string("QQ+1=2"));
    CHECK(m.params.auth == std::string("alice@example.org"));
    CHECK_FALSE(m.params.smtputf8);

    m = expect_ok<mail_command>("mail from:<a@b.example> body=7bit ret=full smtputf8 auth=<>");
    CHECK(m.params.body == body_type::seven_bit);
    CHECK(m.params.ret == dsn_ret::full);
    CHECK(m.params.smtputf8);
    CHECK(m.params.auth == std::string("<>"));

    m = expect_ok<mail_command>("MAIL FROM:<a@b.example> BODY=BINARYMIME");
    CHECK(m.params.body == body_type::binary_mime);

    // SIZE saturates rather than wrapping, so the state machine refuses it as too big.
    m = expect_ok<mail_command>("MAIL FROM:<a@b.example> SIZE=99999999999999999999");
    CHECK(m.params.size == UINT64_MAX);
}

TEST_CASE("smtp parser tolerates spaces after the colon and between parameters") {
    auto m = expect_ok<mail_command>("MAIL FROM: <a@b.example>");
    CHECK(m.reverse_path->str() == "a@b.example");
    m = expect_ok<mail_command>("MAIL FROM:<a@b.example>   SIZE=10    BODY=8BITMIME   ");
    CHECK(m.params.size == 10u);
    auto r = expect_ok<rcpt_command>("RCPT TO:   <c@d.example>  ");
    CHECK(r.forward_path.str() == "c@d.example");
}

TEST_CASE("smtp parser refuses bad, duplicate and unknown MAIL parameters") {
    struct row { const char* line; int code; const char* enhanced; };
    const row rows[] = {
        {"MAIL FROM:<a@b.c> SIZE=", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> SIZE", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> SIZE=12a", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> BODY=9BIT", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> BODY=7BIT BODY=7BIT", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> SMTPUTF8=yes", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> RET=ALL", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> ENVID=a+4", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> ENVID=a+0D+0Ab", 501, "5.5.4"},      // decodes to CR LF
        {"MAIL FROM:<a@b.c> ENVID=", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> AUTH=x+ZZ", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> =x", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> -X=1", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> X=a=b", 501, "5.5.4"},
        {"MAIL FROM:<a@b.c> XFOO=1", 555, "5.5.4"},
        {"MAIL FROM:<a@b.c> NOTIFY=NEVER", 555, "5.5.4"},       // a RCPT parameter
    };
    for (const auto& r : rows) {
        auto p = parse_command(r.line, esmtp_all());
        INFO("line: " << r.line << " -> " << p.error.to_wire());
        REQUIRE_FALSE(p);
        CHECK(p.error.code == r.code);
        CHECK(p.error.enhanced == r.enhanced);
    }
    // ENVID is limited to 100 characters (RFC 3461 §4.4).
    CHECK(parse_command("MAIL FROM:<a@b.c> ENVID=" + std::string(100, 'x'), esmtp_all()));
    CHECK_FALSE(parse_command("MAIL FROM:<a@b.c> ENVID=" + std::string(101, 'x'), esmtp_all()));
}

TEST_CASE("smtp parser accepts only the parameters of offered extensions") {
    parse_options o = esmtp_all();
    o.ext.dsn = false;
    o.ext.size = false;
    o.ext.binarymime = false;
    o.ext.auth = false;
    for (const char* line : {"MAIL FROM:<a@b.c> RET=FULL", "MAIL FROM:<a@b.c> ENVID=x", "MAIL FROM:<a@b.c> SIZE=1",
                             "MAIL FROM:<a@b.c> AUTH=<>", "RCPT TO:<a@b.c> NOTIFY=NEVER", "RCPT TO:<a@b.c> ORCPT=rfc822;a@b.c"}) {
        auto p = parse_command(line, o);
        INFO(line);
        REQUIRE_FALSE(p);
        CHECK(p.error.code == 555);
    }
    auto p = parse_command("MAIL FROM:<a@b.c> BODY=BINARYMIME", o);
    REQUIRE_FALSE(p);
    CHECK(p.error.code == 501);

    // After HELO (no ESMTP) every parameter is refused.
    parse_options helo = esmtp_all();
    helo.esmtp = false;
    p = parse_command("MAIL FROM:<a@b.c> SIZE=10", helo);
    REQUIRE_FALSE(p);
    CHECK(p.error.code == 555);
    CHECK(parse_command("MAIL FROM:<a@b.c>", helo));
}

TEST_CASE("smtp parser reads RCPT with NOTIFY and ORCPT") {
    auto r = expect_ok<rcpt_command>("RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;Bob+2Bx+40example.net");
    CHECK(r.forward_path.local_part == "bob");
    REQUIRE(r.params.notify);
    CHECK(r.params.notify->success);
    CHECK(r.params.notify->failure);
    CHECK(r.params.notify->delay);
    CHECK_FALSE(r.params.notify->never);
    REQUIRE(r.params.orcpt);
    CHECK(r.params.orcpt->addr_type == "rfc822");
    CHECK(r.params.orcpt->address == "Bob+x@example.net");

    r = expect_ok<rcpt_command>("RCPT TO:<bob@example.net> notify=never");
    CHECK(r.params.notify->never);

    struct row { const char* line; int code; };
    const row bad[] = {
        {"RCPT TO:<b@c.d> NOTIFY=NEVER,SUCCESS", 501},
        {"RCPT TO:<b@c.d> NOTIFY=SUCCESS,SUCCESS", 501},
        {"RCPT TO:<b@c.d> NOTIFY=", 501},
        {"RCPT TO:<b@c.d> NOTIFY=SOMETIMES", 501},
        {"RCPT TO:<b@c.d> NOTIFY=DELAY NOTIFY=DELAY", 501},
        {"RCPT TO:<b@c.d> ORCPT=rfc822", 501},
        {"RCPT TO:<b@c.d> ORCPT=;a@b", 501},
        {"RCPT TO:<b@c.d> ORCPT=rfc 822;a@b", 501},    // "822;a@b" is not a parameter keyword
        {"RCPT TO:<b@c.d> ORCPT=rfc822;", 501},
        {"RCPT TO:<b@c.d> ORCPT=rfc822;a+2", 501},
        {"RCPT TO:<b@c.d> SIZE=10", 555},
    };
    for (const auto& b : bad) {
        auto p = parse_command(b.line, esmtp_all());
        INFO(b.line << " -> " << p.error.to_wire());
        REQUIRE_FALSE(p);
        CHECK(p.error.code == b.code);
    }
}

TEST_CASE("smtp parser accepts RCPT TO:<Postmaster> without a domain") {
    auto r = expect_ok<rcpt_command>("RCPT TO:<Postmaster>");
    CHECK(r.postmaster);
    CHECK(r.forward_path.domain.empty());
    r = expect_ok<rcpt_command>("RCPT TO:<postmaster>");
    CHECK(r.postmaster);
    r = expect_ok<rcpt_command>("RCPT TO:<postmaster@example.org>");
    CHECK_FALSE(r.postmaster);
    CHECK_FALSE(parse_command("MAIL FROM:<Postmaster>", esmtp_all()));   // only as a recipient
}

TEST_CASE("smtp parser accepts and ignores source routes") {
    auto m = expect_ok<mail_command>("MAIL FROM:<@relay1.example,@[192.0.2.1]:user@final.example>");
    CHECK(m.reverse_path->str() == "user@final.example");
    auto r = expect_ok<rcpt_command>("RCPT TO:<@relay.example:bob@example.net>");
    CHECK(r.forward_path.str() == "bob@example.net");
}

TEST_CASE("smtp parser handles quoted local parts and address literals") {
    auto m = expect_ok<mail_command>(R"(MAIL FROM:<"john \"q\" doe>"@example.org>)");
    CHECK(m.reverse_path->local_part == R"("john \"q\" doe>")");
    CHECK(m.reverse_path->local_value == R"(john "q" doe>)");
    CHECK(m.reverse_path->domain == "example.org");

    auto r = expect_ok<rcpt_command>("RCPT TO:<postmaster@[IPv6:2001:db8::1]>");
    CHECK(r.forward_path.address_literal);
    CHECK(r.forward_path.domain == "[IPv6:2001:db8::1]");
    r = expect_ok<rcpt_command>("RCPT TO:<x@[192.0.2.1]>");
    CHECK(r.forward_path.address_literal);
}

TEST_CASE("smtp parser allows UTF-8 addresses only with SMTPUTF8") {
    auto m = expect_ok<mail_command>("MAIL FROM:<j\xC3\xB6rg@b\xC3\xBC" "cher.example> SMTPUTF8");
    CHECK(m.reverse_path->utf8);
    CHECK(m.params.smtputf8);

    auto p = parse_command("MAIL FROM:<j\xC3\xB6rg@example.org>", esmtp_all());
    REQUIRE_FALSE(p);
    CHECK(p.error.code == 553);
    CHECK(p.error.enhanced == "5.6.7");

    // RCPT follows the transaction: UTF-8 only when the MAIL carried SMTPUTF8.
    parse_options o = esmtp_all();
    p = parse_command("RCPT TO:<\xE7\x94\xB0\xE4\xB8\xAD@example.jp>", o);
    REQUIRE_FALSE(p);
    CHECK(p.error.code == 553);
    o.utf8_transaction = true;
    auto r = expect_ok<rcpt_command>("RCPT TO:<\xE7\x94\xB0\xE4\xB8\xAD@example.jp>", o);
    CHECK(r.forward_path.utf8);

    // Malformed UTF-8 is a syntax error even with SMTPUTF8.
    for (const char* bad : {"RCPT TO:<\xC3@example.jp>", "RCPT TO:<\xC0\xAF@example.jp>", "RCPT TO:<\xED\xA0\x80@example.jp>",
                            "RCPT TO:<a@\xF5\x80\x80\x80.jp>", "RCPT TO:<a@b\xE2\x82.jp>"}) {
        auto q = parse_command(bad, o);
        INFO(bad);
        REQUIRE_FALSE(q);
        CHECK(q.error.code == 501);
    }
}

TEST_CASE("smtp parser enforces address length limits") {
    const std::string local64(64, 'a'), local65(65, 'a');
    CHECK(parse_command("MAIL FROM:<" + local64 + "@example.org>", esmtp_all()));
    auto p = parse_command("MAIL FROM:<" + local65 + "@example.org>", esmtp_all());
    REQUIRE_FALSE(p);
    CHECK(p.error.code == 501);
    CHECK(p.error.lines[0].find("too long") != std::string::npos);

    // A 63-octet label is fine, 64 is not (RFC 1035).
    const std::string label63(63, 'b'), label64(64, 'b');
    CHECK(parse_command("RCPT TO:<a@" + label63 + ".example>", esmtp_all()));
    CHECK_FALSE(parse_command("RCPT TO:<a@" + label64 + ".example>", esmtp_all()));

    // The whole path, brackets included, is at most 256 octets.
    std::string domain;
    while (domain.size() < 240) domain += label63.substr(0, 40) + ".";
    domain += "example";   // > 250 octets of domain
    auto q = parse_command("RCPT TO:<a@" + domain + ">", esmtp_all());
    REQUIRE_FALSE(q);
    CHECK(q.error.lines[0].find("too long") != std::string::npos);
}

TEST_CASE("smtp parser enforces the line length per verb") {
    const std::string pad(600, 'x');
    auto p = parse_command("NOOP " + pad, esmtp_all());
    REQUIRE_FALSE(p);
    CHECK(p.error.code == 500);
    CHECK(p.error.lines[0] == "Line too long");
    CHECK(parse_command("NOOP " + std::string(max_command_line - 5, 'x'), esmtp_all()));
    CHECK_FALSE(parse_command("NOOP " + std::string(max_command_line - 4, 'x'), esmtp_all()));

    // MAIL may be longer (extension parameters), AUTH much longer (RFC 4954 §4).
    const std::string envid = " ENVID=" + std::string(100, 'e') + " AUTH=" + std::string(480, 'a');
    CHECK(parse_command("MAIL FROM:<a@b.example>" + envid, esmtp_all()));
    const std::string ir(max_auth_line - 11, 'A');
    auto a = parse_command("AUTH PLAIN " + ir, esmtp_all());
    CHECK(a);
    CHECK_FALSE(parse_command("AUTH PLAIN " + ir + "A", esmtp_all()));
}

TEST_CASE("smtp parser reads BDAT sizes and the LAST marker") {
    auto b = expect_ok<bdat_command>("BDAT 0 LAST");
    CHECK(b.size == 0);
    CHECK(b.last);
    b = expect_ok<bdat_command>("BDAT 18446744073709551615");
    CHECK(b.size == UINT64_MAX);
    CHECK_FALSE(b.last);
}

TEST_CASE("smtp parser upper-cases the AUTH mechanism and keeps the initial response") {
    auto a = expect_ok<auth_command>("auth plain AGJvYgBzZWNyZXQ=");
    CHECK(a.mechanism == "PLAIN");
    CHECK(a.initial_response == std::string("AGJvYgBzZWNyZXQ="));
    a = expect_ok<auth_command>("AUTH LOGIN");
    CHECK_FALSE(a.initial_response);
    a = expect_ok<auth_command>("AUTH PLAIN =");
    CHECK(a.initial_response == std::string("="));
}

TEST_CASE("smtp parser never echoes control characters or long input in a reply") {
    auto p = parse_command(std::string("X") + std::string(200, 'Y') + "\xFF", esmtp_all());
    REQUIRE_FALSE(p);
    const std::string wire = p.error.to_wire();
    CHECK(wire.size() < 100);
    CHECK(wire.find('\xFF') == std::string::npos);
}
