// test_fields.cpp - Content-Type / Content-Disposition / Content-Language / msg-id grammars.
#include <catch2/catch.hpp>

#include "polder/mime/fields.hpp"

using namespace polder::mime;

TEST_CASE("content type parser reads type, subtype and parameters") {
    auto ct = parse_content_type("Text/HTML; Charset=\"UTF-8\"; format=flowed (comment)");
    CHECK(ct.valid);
    CHECK(ct.type == "text");
    CHECK(ct.subtype == "html");
    CHECK(ct.params == std::vector<parameter>{{"charset", "UTF-8"}, {"format", "flowed"}});

    ct = parse_content_type(" multipart/mixed;\r\n\tboundary=\"----=_Part_0_1\\\"x\"");
    CHECK(ct.params == std::vector<parameter>{{"boundary", "----=_Part_0_1\"x"}});

    ct = parse_content_type("application/octet-stream; name=my file.pdf; x=1");
    CHECK(ct.params == std::vector<parameter>{{"name", "my file.pdf"}, {"x", "1"}});

    ct = parse_content_type("text/plain;;; charset=us-ascii;");
    CHECK(ct.params == std::vector<parameter>{{"charset", "us-ascii"}});

    ct = parse_content_type("text/plain; charset=a; charset=b");
    CHECK(ct.params == std::vector<parameter>{{"charset", "a"}});   // the first one counts

    for (const char* bad : {"", "text", "text/", "/plain", "(c) /plain", "text plain"})
        CHECK_FALSE(parse_content_type(bad).valid);
}

TEST_CASE("content type parser merges RFC 2231 continuations") {
    auto ct = parse_content_type("application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; "
                                 "title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"");
    REQUIRE(ct.params.size() == 1);
    CHECK(ct.params[0].name == "title*");
    CHECK(ct.params[0].value == "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!");   // "!" is an attribute-char (RFC 2231 §7)

    ct = parse_content_type("message/external-body; access-type=URL; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
    CHECK(ct.params == std::vector<parameter>{{"access-type", "URL"},
                                              {"url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}});

    ct = parse_content_type("text/plain; name*=utf-8''%E2%82%AC.txt");
    CHECK(ct.params == std::vector<parameter>{{"name*", "utf-8''%E2%82%AC.txt"}});

    // Sections out of order still merge in order; a gap ends the value.
    ct = parse_content_type("text/plain; n*1=b; n*0=a; n*3=d");
    CHECK(ct.params == std::vector<parameter>{{"n", "ab"}});
}

TEST_CASE("disposition and language parsers") {
    auto d = parse_disposition("Attachment; filename=\"a.txt\"; creation-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"");
    REQUIRE(d);
    CHECK(d->type == "attachment");
    CHECK(d->params == std::vector<parameter>{{"filename", "a.txt"}, {"creation-date", "Wed, 12 Feb 1997 16:29:51 -0500"}});
    CHECK_FALSE(parse_disposition(""));
    CHECK_FALSE(parse_disposition("; filename=x"));
    CHECK(parse_language("en, nl-NL (Dutch)") == std::vector<std::string>{"en", "nl-NL"});
    CHECK(parse_language("").empty());
}

TEST_CASE("message id lists") {
    CHECK(parse_message_ids("<a@b> <c@d>") == std::vector<std::string>{"a@b", "c@d"});
    CHECK(parse_message_ids("(comment <not@id>) <x@y>") == std::vector<std::string>{"x@y"});
    CHECK(parse_message_ids("<a @ b>") == std::vector<std::string>{"a@b"});
    CHECK(parse_message_ids("bare@id") == std::vector<std::string>{"bare@id"});
    CHECK(parse_message_ids("two words").empty());
    CHECK(parse_message_ids("<unterminated").empty());
    CHECK(parse_message_ids("<a><b><c>", 2) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("unfold removes line breaks and trims") {
    CHECK(unfold("  a\r\n b\r\n\tc  ") == "a b\tc");
}
