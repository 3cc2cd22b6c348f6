// test_text.cpp - RFC 2047 decoding, charsets, transfer encodings, HTML, UTF-8 cleaning.
#include <catch2/catch.hpp>

#include "mail_fixture.hpp"
#include "polder/mime/text.hpp"

using namespace polder::mime;

TEST_CASE("header text decoding handles encoded words, raw 8-bit and bad charsets") {
    CHECK(decode_header_text("=?UTF-8?Q?J=C3=B6rg?=") == "J\xC3\xB6rg");
    CHECK(decode_header_text("=?iso-8859-1?b?Y2Fm6Q==?= au lait") == "caf\xC3\xA9 au lait");
    CHECK(decode_header_text("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab");   // whitespace between words goes
    CHECK(decode_header_text("raw caf\xC3\xA9") == "raw caf\xC3\xA9");
    CHECK(decode_header_text("latin caf\xE9") == "latin caf\xC3\xA9");
    CHECK(decode_header_text("=?x-bogus?q?abc?=").find('\0') == std::string::npos);
    CHECK(decode_header_text(std::string("nul\0byte\r\nline", 15)) == "nul byte line");
    CHECK(decode_header_text("   ") == "");
}

TEST_CASE("body text decoding undoes transfer encodings and converts charsets") {
    CHECK(decode_body_text("Gr=FC=DFe =\r\nK=F6ln", "quoted-printable", "iso-8859-1", 1000) == "Gr\xC3\xBC\xC3\x9F" "e K\xC3\xB6ln");
    CHECK(decode_body_text("SGFsbG8gd2VyZWxk\r\n", "BASE64", "us-ascii", 1000) == "Hallo wereld");
    CHECK(decode_body_text("\x80 5", "8bit", "windows-1252", 1000) == "\xE2\x82\xAC 5");
    CHECK(decode_body_text("caf\xE9", "8bit", "no-such-charset", 1000) == "caf\xC3\xA9");
    CHECK(decode_body_text("caf\xC3\xA9", "8bit", "no-such-charset", 1000) == "caf\xC3\xA9");
    CHECK(decode_body_text("bad \xFF ok", "8bit", "utf-8", 1000) == "bad \xEF\xBF\xBD ok");
    CHECK(decode_body_text("begin 644 x\n,:&5L;&\\@=V]R;&0*\n`\nend\n", "x-uuencode", "", 1000) == "hello world\n");
    bool cut = false;
    CHECK(decode_body_text(std::string(5000, 'a'), "7bit", "us-ascii", 100, &cut).size() == 100);
    CHECK(cut);
    std::string big;
    for (int i = 0; i < 100000; ++i) big += "QUFB";   // "AAA" x 100000
    cut = false;
    CHECK(decode_body_text(big, "base64", "", 1000, &cut).size() == 1000);
    CHECK(cut);
}

TEST_CASE("html to text drops markup, scripts and styles and decodes references") {
    CHECK(html_to_text("<p>Hello &amp; <b>welkom</b></p><p>in K&ouml;ln&nbsp;&euro;5</p>") ==
          "Hello & welkom\n\nin K\xC3\xB6ln \xE2\x82\xAC" "5");
    CHECK(html_to_text("<style>p{}</style><script>alert('<p>')</script>text") == "text");
    CHECK(html_to_text("a<!-- <p>hidden</p> -->b") == "ab");
    CHECK(html_to_text("&#65;&#x42;&#0;&#xD800;&unknown; & x") == "AB\xEF\xBF\xBD\xEF\xBF\xBD&unknown; & x");
    CHECK(html_to_text("<td>a</td><td>b</td>") == "a b");
    CHECK(html_to_text("unterminated <b") == "unterminated");
    CHECK(html_to_text("<SCRIPT>never closed") == "");
}

TEST_CASE("utf-8 sanitising removes what PostgreSQL text cannot hold") {
    CHECK(sanitize_utf8(std::string("a\0b", 3), true) == "ab");
    CHECK(sanitize_utf8("a\r\nb\tc\x01", true) == "a\nb\tc");
    CHECK(sanitize_utf8("a\nb", false) == "a b");
    CHECK(sanitize_utf8("\xC2\x85 next line", true) == " next line");   // C1 control
    CHECK(sanitize_utf8("\xE2\x82", true) == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("dates parse to UTC seconds and garbage gives nothing") {
    CHECK(parse_date("Mon, 7 Feb 1994 21:52:25 -0800 (PST)") == 760686745);
    CHECK(parse_date("7 Feb 94 21:52 EST") == 760675920);   // obsolete two-digit year and zone name
    CHECK_FALSE(parse_date("not a date"));
    CHECK_FALSE(parse_date(""));
}

TEST_CASE("full text collects plain and html parts with their charsets") {
    const auto m = parse(polder_test::read_mail("alternative.eml"));
    CHECK(m.text == "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln, caf\xC3\xA9 ist fertig.\nHello & welkom in K\xC3\xB6ln\xE2\x82\xAC");
    const auto bad = parse(polder_test::read_mail("bad_charset.eml"));
    CHECK(bad.text == "caf\xC3\xA9 cr\xC3\xA8me\nbad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xC3\xA9t\xC3\xA9\n8bit \xC3\xA9 without charset");
    const auto att = parse(polder_test::read_mail("mixed_attachment.eml"));
    CHECK(att.text == "Zie bijlage.\n");   // the PDF is not text
}
