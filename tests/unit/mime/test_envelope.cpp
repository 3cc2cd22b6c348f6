// test_envelope.cpp - ENVELOPE fields exactly as RFC 3501 §7.4.2 wants them, address list
// parsing (groups, routes, comments, quoting) and the decoded display fields.
#include <catch2/catch.hpp>

#include "mail_fixture.hpp"
#include "polder/mime/fields.hpp"

using namespace polder::mime;
using polder_test::read_mail;

namespace {
address a(std::optional<std::string> name, std::optional<std::string> adl, std::optional<std::string> mbox,
          std::optional<std::string> host) {
    return address{std::move(name), std::move(adl), std::move(mbox), std::move(host)};
}
const std::nullopt_t nil = std::nullopt;
}  // namespace

TEST_CASE("mime envelope matches the RFC 3501 section 7.4.2 example") {
    // ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes"
    // (("Terry Gray" NIL "gray" "cac.washington.edu")) (...same...) (...same...)
    // ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")
    // ("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")
    const auto m = parse(read_mail("rfc3501_example.eml"));
    const auto& e = m.env;
    CHECK(e.date == std::string("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"));
    CHECK(e.subject == std::string("IMAP4rev1 WG mtg summary and minutes"));
    const std::vector<address> terry{a("Terry Gray", nil, "gray", "cac.washington.edu")};
    CHECK(e.from == terry);
    CHECK(e.sender == terry);
    CHECK(e.reply_to == terry);
    CHECK(e.to == std::vector<address>{a(nil, nil, "imap", "cac.washington.edu")});
    CHECK(e.cc == std::vector<address>{a(nil, nil, "minutes", "CNRI.Reston.VA.US"), a("John Klensin", nil, "KLENSIN", "MIT.EDU")});
    CHECK(e.bcc.empty());
    CHECK_FALSE(e.in_reply_to);
    CHECK(e.message_id == std::string("<B27397-0100000@cac.washington.edu>"));
    // BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" <size> <lines>)
    CHECK(m.body.type == "text");
    CHECK(m.body.params == std::vector<parameter>{{"charset", "US-ASCII"}});
    CHECK(m.body.size() == 49);
    CHECK(m.body.lines == 1);
    CHECK(m.date == 837595405);
}

TEST_CASE("mime envelope keeps encoded words raw and decodes them for display") {
    const auto m = parse(read_mail("alternative.eml"));
    CHECK(m.env.subject == std::string("=?ISO-8859-1?Q?Caf=E9?= und =?UTF-8?B?S8O2bG4=?="));
    CHECK(m.subject == "Caf\xC3\xA9 und K\xC3\xB6ln");
    REQUIRE(m.env.from.size() == 1);
    CHECK(m.env.from[0].name == std::string("=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?="));
    REQUIRE(m.from.size() == 1);
    CHECK(m.from[0].name == "J\xC3\xB6rg M\xC3\xBCller");
    CHECK(m.from[0].address == "joerg@example.de");
    CHECK(m.env.in_reply_to == std::string("<parent@example.org>"));
    CHECK(m.message_id == "alt-1@example.de");
    CHECK(m.in_reply_to == std::vector<std::string>{"parent@example.org"});
    CHECK(m.references == std::vector<std::string>{"root@example.org", "parent@example.org"});
    CHECK(m.date == 1678782600);
}

TEST_CASE("mime envelope represents groups the RFC 3501 way") {
    const auto m = parse(read_mail("encoded_words.eml"));
    // To: undisclosed-recipients:;  ->  (NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)
    CHECK(m.env.to == std::vector<address>{a(nil, nil, "undisclosed-recipients", nil), a(nil, nil, nil, nil)});
    CHECK(m.env.cc == std::vector<address>{a(nil, nil, "Team", nil), a(nil, nil, "ann", "example.org"),
                                           a("Ben B.", nil, "ben", "example.org"), a(nil, nil, nil, nil),
                                           a(nil, nil, "eve", "example.org")});
    // Sender given; Reply-To present but empty: defaults to From.
    CHECK(m.env.sender == std::vector<address>{a("Secretary", nil, "sec", "example.org")});
    CHECK(m.env.reply_to == m.env.from);
    CHECK(m.env.from == std::vector<address>{a("=?iso-8859-1?q?Andr=E9?= Pirard", nil, "PIRARD", "vm1.ulg.ac.be")});
    CHECK(m.from[0].name == "Andr\xC3\xA9 Pirard");
    CHECK(m.subject == "\xF0\x9F\x93\xA7 Nieuwsbrief -- \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
    CHECK(m.message_id == "missing-brackets@example.org");
    // Display lists skip the group markers.
    CHECK(m.cc.size() == 3);
    CHECK(m.to.empty());
}

TEST_CASE("mime envelope uses a comment as the name when there is no display name") {
    const auto m = parse(read_mail("simple.eml"));
    CHECK(m.env.cc == std::vector<address>{a("Dave the Builder", nil, "dave", "example.net")});
    CHECK(m.env.to == std::vector<address>{a("Bob", nil, "bob", "example.net"),
                                           a("Carol Q. Public", nil, "carol", "example.net")});
    CHECK(m.env.subject == std::string("Lunch tomorrow?"));   // unfolded
}

TEST_CASE("address list parser handles the RFC 5322 forms") {
    struct row { const char* in; std::vector<address> out; };
    const row rows[] = {
        {"a@b.example", {a(nil, nil, "a", "b.example")}},
        {"  <a@b.example>  ", {a(nil, nil, "a", "b.example")}},
        {"\"Doe, John\" <john@example.org>", {a("Doe, John", nil, "john", "example.org")}},
        {"\"quoted \\\"name\\\"\" <q@x.example>", {a("quoted \"name\"", nil, "q", "x.example")}},
        {"\"john doe\"@example.org", {a(nil, nil, "\"john doe\"", "example.org")}},
        {"John (the man) Doe <jd@example.org>", {a("John Doe", nil, "jd", "example.org")}},
        {"<@relay.example,@other.example:user@final.example>",
         {a(nil, "@relay.example,@other.example", "user", "final.example")}},
        {"user@[192.0.2.1]", {a(nil, nil, "user", "[192.0.2.1]")}},
        {"a@b.example, , c@d.example,", {a(nil, nil, "a", "b.example"), a(nil, nil, "c", "d.example")}},
        {"root", {a(nil, nil, "root", "MISSING_DOMAIN")}},
        {"Name <>", {a("Name", nil, "MISSING_MAILBOX", "MISSING_DOMAIN")}},
        {"@example.org", {a(nil, nil, "MISSING_MAILBOX", "example.org")}},
        {"empty group:;", {a(nil, nil, "empty group", nil), a(nil, nil, nil, nil)}},
        {"g: x@y.example", {a(nil, nil, "g", nil), a(nil, nil, "x", "y.example"), a(nil, nil, nil, nil)}},
        {"a@b.example (Comment (nested) here)", {a("Comment (nested) here", nil, "a", "b.example")}},
        {"", {}},
        {"   ", {}},
    };
    for (const auto& r : rows) {
        INFO(r.in);
        CHECK(parse_address_list(r.in) == r.out);
    }
}

TEST_CASE("address list parser survives garbage and respects the limit") {
    for (const char* junk : {"<<<>>>", "\"unterminated", "(unterminated comment", ";;;,,,:::", "@@@", "a@b@c", "[x",
                             "<a@b", "g:<a@b", "\\", "\"\\"})
        CHECK_NOTHROW(parse_address_list(junk));
    std::string many;
    for (int i = 0; i < 5000; ++i) many += "u" + std::to_string(i) + "@example.org, ";
    CHECK(parse_address_list(many, 100).size() == 100);
}
