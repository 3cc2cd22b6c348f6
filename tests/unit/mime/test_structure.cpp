// test_structure.cpp - body structure and exact byte offsets, verified by slicing the raw
// message: each expected slice is written out by hand from RFC 2046 (the CRLF before a
// delimiter belongs to the delimiter) and RFC 3501 §6.4.5 (section numbering).
#include <catch2/catch.hpp>

#include "mail_fixture.hpp"
#include "polder/mime/fields.hpp"

using namespace polder::mime;
using polder_test::read_mail;
using polder_test::slice;

TEST_CASE("mime parses a single-part message as part 1") {
    const std::string raw = read_mail("simple.eml");
    const auto m = parse(raw);
    const auto& b = m.body;
    CHECK(b.section == "1");
    CHECK(b.type == "text");
    CHECK(b.subtype == "plain");
    REQUIRE(b.params.size() == 1);
    CHECK(b.params[0] == parameter{"charset", "US-ASCII"});
    CHECK(b.encoding == "7bit");
    CHECK(b.size() == 52);
    CHECK(b.lines == 5);
    CHECK(m.size == raw.size());
    CHECK(slice(raw, m, "1") == "Hi Bob,\r\n\r\nshall we have lunch tomorrow?\r\n.\r\nAlice\r\n");
    CHECK(slice(raw, m, "", section_text::text) == slice(raw, m, "1"));
    // BODY[1.MIME] of a non-multipart message is the message header (RFC 3501 §6.4.5).
    CHECK(slice(raw, m, "1", section_text::mime) == slice(raw, m, "", section_text::header));
    const std::string header = slice(raw, m, "", section_text::header);
    CHECK(header.rfind("Return-Path: <alice@example.org>\r\n", 0) == 0);
    CHECK(header.size() >= 4);
    CHECK(header.substr(header.size() - 4) == "\r\n\r\n");
    CHECK(slice(raw, m, "") == raw);
    CHECK(slice(raw, m, "2") == "<invalid>");
    CHECK(slice(raw, m, "1", section_text::header) == "<invalid>");   // not a message/rfc822 part
    CHECK(m.problems.empty());
}

TEST_CASE("mime numbers multipart/alternative parts and slices them exactly") {
    const std::string raw = read_mail("alternative.eml");
    const auto m = parse(raw);
    REQUIRE(m.body.is_multipart());
    CHECK(m.body.section.empty());
    CHECK(m.body.subtype == "alternative");
    CHECK(*find_parameter(m.body.params, "boundary") == "==alt==");
    REQUIRE(m.body.children.size() == 2);
    const auto& p1 = m.body.children[0];
    const auto& p2 = m.body.children[1];
    CHECK(p1.section == "1");
    CHECK(p1.encoding == "quoted-printable");
    CHECK(p1.lines == 2);
    CHECK(p2.section == "2");
    CHECK(p2.subtype == "html");
    CHECK(p2.encoding == "base64");
    CHECK(p2.lines == 3);
    CHECK(slice(raw, m, "1") == "Gr=FC=DFe aus K=F6ln, caf=E9 =\r\nist fertig.");
    CHECK(slice(raw, m, "1", section_text::mime) ==
          "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    CHECK(slice(raw, m, "2").substr(0, 10) == "PGh0bWw+PG");
    CHECK(slice(raw, m, "2").substr(slice(raw, m, "2").size() - 4) == "Pg==");
    const std::string text = slice(raw, m, "", section_text::text);
    CHECK(text.rfind("This is a multi-part message in MIME format.\r\n--==alt==\r\n", 0) == 0);
    CHECK(text.substr(text.size() - 13) == "--==alt==--\r\n");
    CHECK(m.problems.empty());
}

TEST_CASE("mime describes an attachment with disposition, id, description and location") {
    const std::string raw = read_mail("mixed_attachment.eml");
    const auto m = parse(raw);
    REQUIRE(m.body.children.size() == 2);
    const auto& text = m.body.children[0];
    CHECK(text.language == std::vector<std::string>{"nl", "en"});
    CHECK(text.encoding == "8bit");
    CHECK(slice(raw, m, "1") == "Zie bijlage.\r\n");   // the empty line before the delimiter is content
    const auto& pdf = m.body.children[1];
    CHECK(pdf.type == "application");
    CHECK(pdf.subtype == "pdf");
    CHECK(pdf.params == std::vector<parameter>{{"name", "report.pdf"}});
    CHECK(pdf.id == std::string("<pdf1@example.org>"));
    CHECK(pdf.description == std::string("Annual report"));
    CHECK(pdf.location == std::string("http://example.org/report.pdf"));
    CHECK_FALSE(pdf.md5);
    REQUIRE(pdf.disposition);
    CHECK(pdf.disposition->type == "attachment");
    // RFC 2231 continuation merged, kept in its encoded form for BODYSTRUCTURE.
    CHECK(pdf.disposition->params ==
          std::vector<parameter>{{"filename*", "utf-8''Jaar%C3%BCverslag.pdf"}, {"size", "63"}});
    CHECK(pdf.lines == 0);   // lines are reported for text/* and message/rfc822 only
    const std::string body = slice(raw, m, "2");
    CHECK(body.rfind("JVBERi0xLjQK", 0) == 0);
    CHECK(body.back() != '\n');   // the CRLF after the last base64 line belongs to "--mix-123--"
    CHECK(raw.substr(pdf.body_end, 13) == "\r\n--mix-123--");
}

TEST_CASE("mime numbers the parts of an encapsulated message below its part") {
    const std::string raw = read_mail("nested_rfc822.eml");
    const auto m = parse(raw);
    REQUIRE(m.body.children.size() == 2);
    const auto& msg = m.body.children[1];
    CHECK(msg.section == "2");
    CHECK(msg.type == "message");
    CHECK(msg.subtype == "rfc822");
    CHECK(msg.description == std::string("forwarded"));
    REQUIRE(msg.is_message());
    CHECK(msg.message_envelope->subject == std::string("original"));
    CHECK(msg.message_envelope->message_id == std::string("<orig-1@example.com>"));
    CHECK(msg.lines == 17);
    REQUIRE(msg.children.size() == 1);
    const auto& inner = msg.children[0];
    CHECK(inner.is_multipart());
    CHECK(inner.section.empty());
    REQUIRE(inner.children.size() == 2);
    CHECK(inner.children[0].section == "2.1");
    CHECK(inner.children[1].section == "2.2");

    CHECK(slice(raw, m, "1") == "See the forwarded message.");
    CHECK(slice(raw, m, "2", section_text::mime) == "Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n");
    const std::string whole = slice(raw, m, "2");
    CHECK(whole.rfind("From: Original <orig@example.com>\r\n", 0) == 0);
    CHECK(whole.substr(whole.size() - 11) == "--inner--\r\n");
    const std::string hdr = slice(raw, m, "2", section_text::header);
    CHECK(hdr.rfind("From: Original", 0) == 0);
    CHECK(hdr.substr(hdr.size() - 18) == "boundary=inner\r\n\r\n");
    CHECK(hdr + slice(raw, m, "2", section_text::text) == whole);
    CHECK(slice(raw, m, "2.1") == "inner plain");
    CHECK(slice(raw, m, "2.2") == "<p>inner html</p>");
    CHECK(slice(raw, m, "2.2", section_text::mime) == "Content-Type: text/html; charset=us-ascii\r\n\r\n");
    CHECK(slice(raw, m, "2.3") == "<invalid>");
    CHECK(slice(raw, m, "2.1.1") == "<invalid>");
    CHECK(find_part(m, "2.1") == &inner.children[0]);
}

TEST_CASE("mime gives multipart/digest parts the message/rfc822 default") {
    const std::string raw = read_mail("digest.eml");
    const auto m = parse(raw);
    REQUIRE(m.body.children.size() == 2);
    for (const auto& c : m.body.children) {
        CHECK(c.type == "message");
        CHECK(c.subtype == "rfc822");
        CHECK(c.is_message());
        CHECK(c.params.empty());   // the default carries no charset parameter
    }
    CHECK(m.body.children[1].message_envelope->subject == std::string("second"));
    CHECK(slice(raw, m, "1.1") == "first body");
    CHECK(slice(raw, m, "2.1") == "second body");
    CHECK(slice(raw, m, "1", section_text::mime) == "\r\n");   // a part with an empty header
    CHECK(slice(raw, m, "2", section_text::text) == "second body");
}

TEST_CASE("mime ends parts at end of input when the close delimiter is missing") {
    const std::string raw = read_mail("missing_end.eml");
    const auto m = parse(raw);
    REQUIRE(m.body.children.size() == 2);
    CHECK(slice(raw, m, "1") == "first");
    CHECK(slice(raw, m, "2") == "second, and the close delimiter never comes\r\n");
    CHECK(m.body.body_end == raw.size());
    CHECK(std::find(m.problems.begin(), m.problems.end(), "missing close delimiter") != m.problems.end());
}

TEST_CASE("mime handles bare LF line ends with exact offsets") {
    const std::string raw = read_mail("lf_only.eml");
    REQUIRE(raw.find('\r') == std::string::npos);
    const auto m = parse(raw);
    REQUIRE(m.body.children.size() == 2);
    CHECK(slice(raw, m, "1") == "one");
    CHECK(slice(raw, m, "2") == "two");
    CHECK(slice(raw, m, "1", section_text::mime) == "\n");
    CHECK(m.text == "one\ntwo");
}

TEST_CASE("mime uses text/plain defaults and tolerates broken structure") {
    SECTION("no header at all") {
        const std::string raw = "\r\njust a body\r\n";
        const auto m = parse(raw);
        CHECK(m.body.type == "text");
        CHECK(m.body.params == std::vector<parameter>{{"charset", "us-ascii"}});
        CHECK(slice(raw, m, "1") == "just a body\r\n");
    }
    SECTION("header without an empty line before the body") {
        const std::string raw = "Subject: x\r\nthis line is not a header\r\nmore\r\n";
        const auto m = parse(raw);
        CHECK(slice(raw, m, "", section_text::header) == "Subject: x\r\n");
        CHECK(slice(raw, m, "1") == "this line is not a header\r\nmore\r\n");
    }
    SECTION("header only, no body") {
        const std::string raw = "Subject: x\r\nFrom: a@b.c";
        const auto m = parse(raw);
        CHECK(m.body.body_start == raw.size());
        CHECK(m.body.size() == 0);
        CHECK(m.env.from.size() == 1);
    }
    SECTION("multipart without boundary becomes text") {
        const std::string raw = "Content-Type: multipart/mixed\r\n\r\n--x\r\nbody\r\n";
        const auto m = parse(raw);
        CHECK(m.body.type == "text");
        CHECK(m.body.section == "1");
        CHECK(slice(raw, m, "1") == "--x\r\nbody\r\n");
    }
    SECTION("multipart whose boundary never appears becomes text") {
        const std::string raw = "Content-Type: multipart/mixed; boundary=q\r\n\r\nno delimiters here\r\n";
        const auto m = parse(raw);
        CHECK(m.body.type == "text");
        CHECK(m.body.children.empty());
        CHECK(slice(raw, m, "1") == "no delimiters here\r\n");
    }
    SECTION("invalid Content-Type falls back to text/plain") {
        const auto m = parse("Content-Type: garbage\r\n\r\nx");
        CHECK(m.body.type == "text");
        CHECK(m.body.subtype == "plain");
    }
    SECTION("a base64 message/rfc822 is an opaque attachment") {
        const auto m = parse("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp4\r\n");
        CHECK(m.body.type == "application");
        CHECK_FALSE(m.body.is_message());
    }
    SECTION("transport padding after a delimiter and a delimiter-like line") {
        const std::string raw =
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b  \t\r\n\r\nA\r\n--bx\r\nB\r\n--b--  trailing\r\nepilogue\r\n";
        const auto m = parse(raw);
        REQUIRE(m.body.children.size() == 1);
        CHECK(slice(raw, m, "1") == "A\r\n--bx\r\nB");
    }
    SECTION("a part whose header runs into the next delimiter") {
        const std::string raw = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b--\r\n";
        const auto m = parse(raw);
        REQUIRE(m.body.children.size() == 1);
        CHECK(m.body.children[0].size() == 0);
        // The CRLF before "--b--" belongs to the delimiter (RFC 2046 §5.1.1).
        CHECK(slice(raw, m, "1", section_text::mime) == "Content-Type: text/plain");
    }
    SECTION("a header whose empty line is the CRLF of an enclosing delimiter") {
        // Found by the fuzzer: the empty line after the inner message's header is also the
        // CRLF that starts the outer delimiter; both cannot own it, the delimiter does.
        const std::string raw =
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
            "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
            "Subject: inner\r\n\r\n--b\r\n\r\nsecond\r\n--b--\r\n";
        const auto m = parse(raw);
        REQUIRE(m.body.children.size() == 2);
        const auto& digest = m.body.children[0];
        REQUIRE(digest.children.size() == 1);
        const auto& msg = digest.children[0];
        REQUIRE(msg.is_message());
        CHECK(msg.body_end <= digest.body_end);
        CHECK(slice(raw, m, "1.1", section_text::header) == "Subject: inner\r\n");
        CHECK(slice(raw, m, "1.1", section_text::text).empty());
        CHECK(raw.substr(digest.body_end, 5) == "\r\n--b");
        CHECK(slice(raw, m, "2") == "second");
    }
}

TEST_CASE("mime lets an outer delimiter end an unterminated inner multipart") {
    const std::string raw =
        "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
        "--outer\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n"
        "--inner\r\n\r\nA\r\n"
        "--outer\r\n\r\nB\r\n--outer--\r\n";
    const auto m = parse(raw);
    REQUIRE(m.body.children.size() == 2);
    CHECK(m.body.children[0].is_multipart());
    CHECK(slice(raw, m, "1.1") == "A");
    CHECK(slice(raw, m, "1") == "--inner\r\n\r\nA");
    CHECK(slice(raw, m, "2") == "B");
}
