// test_session_state.cpp - SMTP sequencing: what the state machine allows when, the EHLO
// capability list, STARTTLS/AUTH rules, recipients and BDAT handling.
#include <catch2/catch.hpp>

#include "polder/smtp/proto/session_state.hpp"

#include <algorithm>

using namespace polder::smtp;

namespace {

session_settings mx_settings() {
    session_settings s;
    s.hostname = "mx.example.org";
    s.ext.starttls = true;
    s.max_message_size = 1000;
    s.max_recipients = 3;
    return s;
}

session_settings submission_settings() {
    session_settings s = mx_settings();
    s.ext.auth = true;
    s.require_tls = true;
    s.require_auth = true;
    return s;
}

bool has_keyword(const session_state& s, std::string_view k) {
    const auto ks = s.ehlo_keywords();
    return std::find(ks.begin(), ks.end(), std::string(k)) != ks.end();
}

// Plays a server that accepts every sender and recipient.
decision run(session_state& s, std::string_view line) {
    auto d = s.on_line(line);
    if (d.act == action::mail) s.mail_accepted(std::get<mail_command>(*d.cmd));
    if (d.act == action::rcpt) s.rcpt_accepted(std::get<rcpt_command>(*d.cmd));
    return d;
}

}  // namespace

TEST_CASE("session greets without an enhanced status code") {
    session_state s(mx_settings());
    CHECK(s.greeting().to_wire() == "220 mx.example.org ESMTP Polder\r\n");
}

TEST_CASE("session EHLO lists the capabilities in a multi-line reply") {
    session_state s(mx_settings());
    auto d = run(s, "EHLO client.example.net");
    CHECK(d.act == action::reply);
    CHECK(d.response.to_wire() ==
          "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
          "250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n");
    CHECK(s.greeted());
    CHECK(s.esmtp());
    CHECK(s.client_domain() == "client.example.net");
}

TEST_CASE("session offers STARTTLS only before TLS and AUTH only with TLS unless allowed") {
    session_state plain(submission_settings());
    CHECK(has_keyword(plain, "STARTTLS"));
    CHECK_FALSE(has_keyword(plain, "AUTH PLAIN LOGIN"));

    session_state tls(submission_settings(), true);
    CHECK_FALSE(has_keyword(tls, "STARTTLS"));
    CHECK(has_keyword(tls, "AUTH PLAIN LOGIN"));

    auto dev = submission_settings();
    dev.auth_without_tls = true;
    dev.require_tls = false;
    session_state loop(dev);
    CHECK(has_keyword(loop, "AUTH PLAIN LOGIN"));

    auto few = mx_settings();
    few.ext.chunking = false;
    few.ext.dsn = false;
    few.ext.pipelining = false;
    session_state f(few);
    CHECK_FALSE(has_keyword(f, "CHUNKING"));
    CHECK_FALSE(has_keyword(f, "BINARYMIME"));   // needs CHUNKING
    CHECK_FALSE(has_keyword(f, "DSN"));
    CHECK_FALSE(has_keyword(f, "PIPELINING"));
}

TEST_CASE("session requires a greeting before a transaction") {
    session_state s(mx_settings());
    for (const char* line : {"MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>", "DATA", "STARTTLS"}) {
        auto d = run(s, line);
        INFO(line);
        CHECK(d.act == action::reply);
        CHECK(d.response.code == (std::string_view(line) == "STARTTLS" ? 503 : 503));
        CHECK(d.response.enhanced == "5.5.1");
    }
    for (const char* line : {"NOOP", "RSET", "VRFY bob", "HELP"}) {
        auto d = run(s, line);
        INFO(line);
        CHECK(d.response.code < 400);
    }
}

TEST_CASE("session runs a complete transaction in order") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    auto d = run(s, "MAIL FROM:<a@b.example> SIZE=500");
    CHECK(d.act == action::mail);
    CHECK(d.response.code == 250);
    CHECK(s.in_transaction());
    d = run(s, "RCPT TO:<c@d.example>");
    CHECK(d.act == action::rcpt);
    d = run(s, "DATA");
    CHECK(d.act == action::data);
    CHECK(d.response.to_wire() == "354 End data with <CR><LF>.<CR><LF>\r\n");
    s.message_done();
    CHECK_FALSE(s.in_transaction());
    CHECK(s.recipients().empty());
    // A second transaction on the same session.
    CHECK(run(s, "MAIL FROM:<>").act == action::mail);
}

TEST_CASE("session refuses out-of-sequence commands with 503 5.5.1") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    CHECK(run(s, "RCPT TO:<c@d.example>").response.code == 503);
    CHECK(run(s, "DATA").response.code == 503);
    run(s, "MAIL FROM:<a@b.example>");
    auto nested = run(s, "MAIL FROM:<a@b.example>");
    CHECK(nested.response.code == 503);
    CHECK(nested.response.enhanced == "5.5.1");
    CHECK(run(s, "DATA").response.code == 503);   // no recipient yet
    auto st = run(s, "STARTTLS");
    CHECK(st.response.code == 503);               // not inside a transaction
    CHECK(run(s, "RSET").response.code == 250);
    CHECK_FALSE(s.in_transaction());
}

TEST_CASE("session answers DATA with 554 when every recipient was refused") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    run(s, "MAIL FROM:<a@b.example>");
    auto d = s.on_line("RCPT TO:<nobody@d.example>");
    REQUIRE(d.act == action::rcpt);
    CHECK_FALSE(s.rcpt_rejected());
    auto data = run(s, "DATA");
    CHECK(data.response.code == 554);
    CHECK(data.response.enhanced == "5.5.1");
}

TEST_CASE("session limits the number of recipients with 452 4.5.3") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    run(s, "MAIL FROM:<a@b.example>");
    for (int i = 0; i < 3; ++i) CHECK(run(s, "RCPT TO:<r" + std::to_string(i) + "@d.example>").act == action::rcpt);
    auto d = run(s, "RCPT TO:<r4@d.example>");
    CHECK(d.act == action::reply);
    CHECK(d.response.code == 452);
    CHECK(d.response.enhanced == "4.5.3");
    CHECK(s.recipients().size() == 3);
}

TEST_CASE("session refuses a declared SIZE over the limit with 552 5.3.4") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    auto d = run(s, "MAIL FROM:<a@b.example> SIZE=1001");
    CHECK(d.response.code == 552);
    CHECK(d.response.enhanced == "5.3.4");
    CHECK_FALSE(s.in_transaction());
    CHECK(run(s, "MAIL FROM:<a@b.example> SIZE=1000").act == action::mail);
}

TEST_CASE("session after HELO refuses ESMTP parameters and extension commands") {
    session_state s(submission_settings(), true);
    auto h = run(s, "HELO c.example");
    CHECK(h.response.to_wire() == "250 mx.example.org\r\n");
    CHECK_FALSE(s.esmtp());
    CHECK(run(s, "AUTH PLAIN").response.code == 503);
    auto m = s.on_line("MAIL FROM:<a@b.example> SIZE=10");
    CHECK(m.response.code == 555);
}

TEST_CASE("session STARTTLS resets the session and asks the server to drop buffered input") {
    session_state s(submission_settings());
    run(s, "EHLO c.example");
    auto d = run(s, "STARTTLS");
    CHECK(d.act == action::start_tls);
    CHECK(d.response.to_wire() == "220 2.0.0 Ready to start TLS\r\n");
    s.tls_started();
    CHECK(s.tls());
    CHECK_FALSE(s.greeted());   // RFC 3207 §4.2: the client must EHLO again
    CHECK(run(s, "MAIL FROM:<a@b.example>").response.code == 503);
    run(s, "EHLO c.example");
    auto again = run(s, "STARTTLS");
    CHECK(again.response.code == 503);
}

TEST_CASE("session STARTTLS is refused where the listener cannot upgrade") {
    session_state s(mx_settings(), true);   // implicit TLS listener
    run(s, "EHLO c.example");
    CHECK(run(s, "STARTTLS").response.code == 503);
    auto no_tls = mx_settings();
    no_tls.ext.starttls = false;
    session_state p(no_tls);
    run(p, "EHLO c.example");
    CHECK(run(p, "STARTTLS").response.code == 502);
}

TEST_CASE("session submission requires STARTTLS then AUTH before MAIL") {
    session_state s(submission_settings());
    run(s, "EHLO c.example");
    auto m = run(s, "MAIL FROM:<a@b.example>");
    CHECK(m.response.code == 530);
    CHECK(m.response.lines[0] == "Must issue a STARTTLS command first");
    auto a = run(s, "AUTH PLAIN");
    CHECK(a.response.code == 538);
    CHECK(a.response.enhanced == "5.7.11");

    s.tls_started();
    run(s, "EHLO c.example");
    m = run(s, "MAIL FROM:<a@b.example>");
    CHECK(m.response.code == 530);
    CHECK(m.response.lines[0] == "Authentication required");
    CHECK(run(s, "AUTH CRAM-MD5").response.code == 504);
    auto ok = run(s, "AUTH PLAIN");
    CHECK(ok.act == action::authenticate);
    s.authenticated("alice@example.org");
    CHECK(run(s, "AUTH PLAIN").response.code == 503);   // RFC 4954: only once
    CHECK(run(s, "MAIL FROM:<alice@example.org>").act == action::mail);
    CHECK(run(s, "AUTH LOGIN").response.code == 503);
}

TEST_CASE("session refuses AUTH on a listener without AUTH") {
    session_state s(mx_settings(), true);
    run(s, "EHLO c.example");
    CHECK(run(s, "AUTH PLAIN").response.code == 503);
}

TEST_CASE("session BDAT reads chunks, counts them and refuses mixing with DATA") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    run(s, "MAIL FROM:<a@b.example> BODY=BINARYMIME");
    run(s, "RCPT TO:<c@d.example>");
    CHECK(run(s, "DATA").response.code == 503);   // BINARYMIME needs BDAT
    auto b = run(s, "BDAT 600");
    CHECK(b.act == action::bdat);
    CHECK(b.chunk_size == 600);
    CHECK_FALSE(b.last_chunk);
    CHECK(b.response.to_wire() == "250 2.0.0 600 octets received\r\n");
    CHECK(run(s, "DATA").response.code == 503);
    auto last = run(s, "BDAT 400 LAST");
    CHECK(last.act == action::bdat);
    CHECK(last.last_chunk);
    CHECK(s.bdat_received() == 1000);
    s.message_done();
    CHECK_FALSE(s.in_transaction());
}

TEST_CASE("session BDAT over the size limit is discarded with 552 and later chunks too") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    run(s, "MAIL FROM:<a@b.example>");
    run(s, "RCPT TO:<c@d.example>");
    CHECK(run(s, "BDAT 900").act == action::bdat);
    auto over = run(s, "BDAT 200");
    CHECK(over.act == action::bdat_discard);
    CHECK(over.chunk_size == 200);
    CHECK(over.response.code == 552);
    CHECK_FALSE(s.in_transaction());
    auto later = run(s, "BDAT 10 LAST");   // still in the client's pipeline
    CHECK(later.act == action::bdat_discard);
    CHECK(later.chunk_size == 10);
    CHECK(later.response.code == 503);
}

TEST_CASE("session BDAT out of sequence still consumes its chunk") {
    session_state s(mx_settings());
    auto d = run(s, "BDAT 5");
    CHECK(d.act == action::bdat_discard);
    CHECK(d.chunk_size == 5);
    CHECK(d.response.code == 503);
    auto huge = run(s, "BDAT 100000");
    CHECK(huge.act == action::close);   // larger than any message: not worth reading
    CHECK(huge.response.code == 552);
}

TEST_CASE("session closes after too many errors") {
    auto st = mx_settings();
    st.max_errors = 3;
    session_state s(st);
    CHECK(run(s, "FOO").act == action::reply);
    CHECK(run(s, "BAR").act == action::reply);
    auto d = run(s, "BAZ");
    CHECK(d.act == action::close);
    CHECK(d.response.code == 421);
}

TEST_CASE("session closes at once on an HTTP request") {
    session_state s(mx_settings());
    auto d = run(s, "POST / HTTP/1.1");
    CHECK(d.act == action::close);
}

TEST_CASE("session QUIT closes with 221 and VRFY discloses nothing") {
    session_state s(mx_settings());
    auto v = run(s, "VRFY root");
    CHECK(v.response.code == 252);
    auto q = run(s, "QUIT");
    CHECK(q.act == action::close);
    CHECK(q.response.to_wire() == "221 2.0.0 mx.example.org closing connection\r\n");
}

TEST_CASE("session EHLO in the middle of a transaction resets it") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    run(s, "MAIL FROM:<a@b.example>");
    run(s, "RCPT TO:<c@d.example>");
    run(s, "EHLO c.example");
    CHECK_FALSE(s.in_transaction());
    CHECK(s.recipients().empty());
}

TEST_CASE("session passes SMTPUTF8 of the transaction on to RCPT parsing") {
    session_state s(mx_settings());
    run(s, "EHLO c.example");
    run(s, "MAIL FROM:<a@b.example>");
    CHECK(run(s, "RCPT TO:<j\xC3\xB6rg@d.example>").response.code == 553);
    run(s, "RSET");
    run(s, "MAIL FROM:<a@b.example> SMTPUTF8");
    CHECK(run(s, "RCPT TO:<j\xC3\xB6rg@d.example>").act == action::rcpt);
}

TEST_CASE("session reports an over-long line as 500 5.5.2 and counts it") {
    session_state s(mx_settings());
    auto d = s.on_line_too_long();
    CHECK(d.response.code == 500);
    CHECK(s.errors() == 1);
}

TEST_CASE("session counts refused BDAT chunks as errors") {
    auto st = mx_settings();
    st.max_errors = 2;
    session_state s(st);
    CHECK(run(s, "BDAT 5").act == action::bdat_discard);
    auto d = run(s, "BDAT 5");
    CHECK(d.act == action::close);
    CHECK(d.response.code == 421);
}
