// test_parser_commands.cpp - table-driven tests of every IMAP command the parser knows:
// each wire form is fed at fragment sizes 1, 2, 5 and 100 and must give exactly one
// command whose canonical form is the expected text, and that canonical form must parse
// back to the same command. Error rows must give BAD (with the right tag and reason) and
// the parser must resynchronize on the next line.
//
// SECURITY: covers the refusal paths (bad syntax, limits, nesting) of network input.
// STANDARDS: RFC 3501 / RFC 9051 section 9 grammar and the extensions of command.hpp.
#include "drive.hpp"

#include "polder/imap/proto/parser.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace polder::imap::proto;
using namespace polder::imap::proto::test;
using namespace std::string_literals;

namespace {

struct row {
    std::string wire;       // without the final CRLF
    std::string canonical;  // format_command() output without the final CRLF
};

void check_rows(const std::vector<row>& rows, parser_options options = {}) {
    for (const auto& r : rows) {
        INFO("command: " << r.wire);
        run result = drive_all(r.wire + "\r\n", options);
        REQUIRE(result.errors.empty());
        REQUIRE(result.commands.size() == 1);
        const command& c = result.commands[0];
        format_options fo;
        fo.utf8 = options.utf8;
        std::string canonical = format_command(c, fo);
        CHECK(canonical == r.canonical + "\r\n");
        auto again = parse_command_text(canonical, options);
        REQUIRE(std::holds_alternative<command>(again));
        CHECK(std::get<command>(again) == c);
    }
}

}  // namespace

TEST_CASE("imap parser reads the any-state and not-authenticated commands") {
    check_rows({
        {"a1 CAPABILITY", "a1 CAPABILITY"},
        {"a1 noop", "a1 NOOP"},
        {"A999 LoGoUt", "A999 LOGOUT"},
        {"t.1 STARTTLS", "t.1 STARTTLS"},
        {"a AUTHENTICATE plain", "a AUTHENTICATE PLAIN"},
        {"a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0", "a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0"},
        {"a AUTHENTICATE PLAIN =", "a AUTHENTICATE PLAIN ="},
        {"a LOGIN fred \"sec ret\"", "a LOGIN fred \"sec ret\""},
        {"a LOGIN {4}\r\nfred {6}\r\nsecret", "a LOGIN fred secret"},
        {"a LOGIN {4+}\r\nfred \"p\\\"w\\\\d\"", "a LOGIN fred \"p\\\"w\\\\d\""},
        {"a LOGIN \"\" \"\"", "a LOGIN \"\" \"\""},
        {"a LOGIN fred]x pass", "a LOGIN fred]x pass"},
    });
}

TEST_CASE("imap parser decodes the AUTHENTICATE initial response") {
    auto r = parse_command_text("a AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n");
    REQUIRE(std::holds_alternative<command>(r));
    const auto& a = std::get<command>(r).get<authenticate_args>();
    CHECK(a.mechanism == "PLAIN");
    REQUIRE(a.initial_response);
    CHECK(*a.initial_response == std::string("\0fred\0secret", 12));
    auto empty = parse_command_text("a AUTHENTICATE PLAIN =\r\n");
    CHECK(std::get<command>(empty).get<authenticate_args>().initial_response == std::string());
}

TEST_CASE("imap parser reads mailbox commands") {
    check_rows({
        {"a ENABLE CONDSTORE qresync utf8=accept", "a ENABLE CONDSTORE QRESYNC UTF8=ACCEPT"},
        {"a SELECT inbox", "a SELECT INBOX"},
        {"a select \"INBOX\" (CONDSTORE)", "a SELECT INBOX (CONDSTORE)"},
        {"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
         "a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"},
        {"A02 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
         "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
         "A02 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
         "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))"},
        {"a SELECT INBOX (QRESYNC (1 2 (1:3 4:6)) CONDSTORE)", "a SELECT INBOX (CONDSTORE QRESYNC (1 2 (1:3 4:6)))"},
        {"a EXAMINE \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"", "a EXAMINE ~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
        {"a CREATE Archive/2024", "a CREATE Archive/2024"},
        {"a CREATE \"Sent Items\" (USE (\\sent))", "a CREATE \"Sent Items\" (USE (\\Sent))"},
        {"a CREATE MyJunk (USE (\\Junk \\Trash))", "a CREATE MyJunk (USE (\\Junk \\Trash))"},
        {"a DELETE foo", "a DELETE foo"},
        {"a RENAME foo \"bar baz\"", "a RENAME foo \"bar baz\""},
        {"a SUBSCRIBE #news.comp.mail.mime", "a SUBSCRIBE #news.comp.mail.mime"},
        {"a UNSUBSCRIBE {3}\r\nfoo", "a UNSUBSCRIBE foo"},
        {"a NAMESPACE", "a NAMESPACE"},
        {"a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT)",
         "a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT)"},
        {"a status blurdybloop (uidnext messages)", "a STATUS blurdybloop (UIDNEXT MESSAGES)"},
        {"a IDLE", "a IDLE"},
        {"a CHECK", "a CHECK"},
        {"a CLOSE", "a CLOSE"},
        {"a UNSELECT", "a UNSELECT"},
        {"a EXPUNGE", "a EXPUNGE"},
        {"a UID EXPUNGE 3000:3002", "a UID EXPUNGE 3000:3002"},
    });
}

TEST_CASE("imap parser reads LIST in its basic and extended forms") {
    check_rows({
        {"a LIST \"\" *", "a LIST \"\" \"*\""},
        {"a LIST \"\" \"\"", "a LIST \"\" \"\""},
        {"a LIST ~/Mail/ %", "a LIST ~/Mail/ \"%\""},
        {"a LIST #news. comp.mail.*", "a LIST #news. \"comp.mail.*\""},
        {"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
         "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)"},
        {"a LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")", "a LIST \"\" (INBOX Drafts \"Sent/%\")"},
        {"a LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))",
         "a LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))"},
        {"a list (special-use) \"\" \"*\"", "a LIST (SPECIAL-USE) \"\" \"*\""},
        {"a LIST () \"\" \"*\"", "a LIST () \"\" \"*\""},
        {"a LIST (REMOTE SUBSCRIBED) \"\" * RETURN (SUBSCRIBED CHILDREN)",
         "a LIST (SUBSCRIBED REMOTE) \"\" \"*\" RETURN (SUBSCRIBED CHILDREN)"},
        {"a LSUB \"\" *", "a LSUB \"\" \"*\""},
        {"a LSUB #news. comp.mail.%", "a LSUB #news. \"comp.mail.%\""},
    });
    auto r = parse_command_text("a LIST (SUBSCRIBED) \"\" (a b) RETURN (STATUS (SIZE))\r\n");
    const auto& l = std::get<command>(r).get<list_args>();
    CHECK(l.extended);
    CHECK(l.select_subscribed);
    CHECK(l.patterns == std::vector<std::string>{"a", "b"});
    REQUIRE(l.return_status);
    CHECK(*l.return_status == std::vector<status_item>{status_item::size});
    auto plain = parse_command_text("a LIST \"\" *\r\n");
    CHECK_FALSE(std::get<command>(plain).get<list_args>().extended);
}

TEST_CASE("imap parser reads APPEND with flags, dates, literal8, UTF8 and MULTIAPPEND") {
    check_rows({
        {"a APPEND saved-messages (\\Seen) {5}\r\nhello", "a APPEND saved-messages (\\Seen) {5}\r\nhello"},
        {"a APPEND INBOX (\\Seen $Forwarded) \" 7-Feb-1994 21:52:25 -0800\" {3}\r\nabc",
         "a APPEND INBOX (\\Seen $Forwarded) \" 7-Feb-1994 21:52:25 -0800\" {3}\r\nabc"},
        {"a APPEND INBOX \"07-Feb-1994 21:52:25 +0100\" {3}\r\nabc", "a APPEND INBOX \" 7-Feb-1994 21:52:25 +0100\" {3}\r\nabc"},
        {"a APPEND INBOX () {0}\r\n", "a APPEND INBOX {0}\r\n"},
        {"a APPEND INBOX {3+}\r\nabc (\\Draft) {2+}\r\nde", "a APPEND INBOX {3}\r\nabc (\\Draft) {2}\r\nde"},
        {"a APPEND INBOX ~{3}\r\na\0c"s, "a APPEND INBOX ~{3}\r\na\0c"s},
        {"a APPEND INBOX UTF8 (~{3+}\r\nabc)", "a APPEND INBOX UTF8 (~{3}\r\nabc)"},
        {"a APPEND {5}\r\nDraft {4}\r\nabcd", "a APPEND Draft {4}\r\nabcd"},
        {"a APPEND INBOX {8}\r\nfo\r\n{3}x", "a APPEND INBOX {8}\r\nfo\r\n{3}x"},
    });
    auto r = parse_command_text("a APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {3}\r\nabc\r\n");
    const auto& ap = std::get<command>(r).get<append_args>();
    REQUIRE(ap.messages.size() == 1);
    const auto& m = ap.messages[0];
    CHECK(m.flags == std::vector<std::string>{"\\Seen"});
    REQUIRE(m.internal_date);
    CHECK(m.internal_date->zone_minutes == -420);
    CHECK(m.data == "abc");
    CHECK(m.size == 3);
    CHECK_FALSE(m.streamed);
}

TEST_CASE("imap parser reads SEARCH with every key, nesting, CHARSET and RETURN") {
    check_rows({
        {"a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", "a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM Smith"},
        {"a SEARCH TEXT \"string not in mailbox\"", "a SEARCH TEXT \"string not in mailbox\""},
        {"a SEARCH CHARSET UTF-8 TEXT {6}\r\ncaf\xc3\xa9!", "a SEARCH CHARSET UTF-8 TEXT {6}\r\ncaf\xc3\xa9!"},
        {"a SEARCH charset \"utf-8\" SUBJECT x", "a SEARCH CHARSET UTF-8 SUBJECT x"},
        {"a UID SEARCH RETURN (MIN COUNT) OR (SEEN UNANSWERED) KEYWORD $Junk",
         "a UID SEARCH RETURN (MIN COUNT) OR (SEEN UNANSWERED) KEYWORD $Junk"},
        {"a SEARCH RETURN () UNSEEN", "a SEARCH RETURN (ALL) UNSEEN"},
        {"a SEARCH RETURN (SAVE MAX ALL) DELETED", "a SEARCH RETURN (MAX ALL SAVE) DELETED"},
        {"a UID SEARCH RETURN (RELEVANCY ALL) FUZZY TEXT \"Helo\"", "a UID SEARCH RETURN (ALL RELEVANCY) FUZZY TEXT Helo"},
        {"a SEARCH FUZZY (SUBJECT \"IMAP break\") FROM tss",
         "a SEARCH FUZZY (SUBJECT \"IMAP break\") FROM tss"},
        {"a UID SEARCH UID $", "a UID SEARCH UID $"},
        {"a SEARCH $", "a SEARCH $"},
        {"a SEARCH 1:5,7 UID 100:* LARGER 1000 SMALLER 50000 HEADER X-Spam yes",
         "a SEARCH 1:5,7 UID 100:* LARGER 1000 SMALLER 50000 HEADER X-Spam yes"},
        {"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338", "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338"},
        {"a SEARCH MODSEQ 0", "a SEARCH MODSEQ 0"},
        {"a SEARCH SENTBEFORE \"1-Jan-2020\" SENTON 2-Jan-2020 SENTSINCE 3-jan-2020 BEFORE 4-Jan-2020 ON 05-Jan-2020",
         "a SEARCH SENTBEFORE 1-Jan-2020 SENTON 2-Jan-2020 SENTSINCE 3-Jan-2020 BEFORE 4-Jan-2020 ON 5-Jan-2020"},
        {"a SEARCH ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN ALL",
         "a SEARCH ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN ALL"},
        {"a SEARCH BCC x BODY y CC z FROM a SUBJECT b TO c UNKEYWORD $x",
         "a SEARCH BCC x BODY y CC z FROM a SUBJECT b TO c UNKEYWORD $x"},
        {"a SEARCH (OR (FROM a) (TO b)) NOT (SEEN)", "a SEARCH (OR (FROM a) (TO b)) NOT (SEEN)"},
        {"a SEARCH OR OR FROM a TO b CC c", "a SEARCH OR OR FROM a TO b CC c"},
        {"a SEARCH HEADER \"Message-ID\" \"<x@y>\"", "a SEARCH HEADER Message-ID <x@y>"},
        {"a SEARCH HEADER List-Id \"\"", "a SEARCH HEADER List-Id \"\""},
    });
    auto r = parse_command_text("a SEARCH OR (SEEN FLAGGED) DELETED NOT 2:4\r\n");
    const auto& s = std::get<command>(r).get<search_args>();
    REQUIRE(s.criteria.kind == search_kind::and_);
    REQUIRE(s.criteria.children.size() == 2);
    const auto& orkey = s.criteria.children[0];
    CHECK(orkey.kind == search_kind::or_);
    REQUIRE(orkey.children.size() == 2);
    CHECK(orkey.children[0].kind == search_kind::and_);
    CHECK(orkey.children[0].children.size() == 2);
    CHECK(orkey.children[1].kind == search_kind::deleted);
    CHECK(s.criteria.children[1].kind == search_kind::not_);
    CHECK(s.criteria.children[1].children[0].kind == search_kind::sequence_set);
    CHECK(s.criteria.children[1].children[0].set == sequence_set{{{2, 4}}, false});
    CHECK_FALSE(s.ret.requested);
}

TEST_CASE("imap parser reads FETCH attributes, macros, sections, partials and modifiers") {
    check_rows({
        {"a FETCH 1:* ALL", "a FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"},
        {"a FETCH 1 fast", "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)"},
        {"a FETCH 1 FULL", "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)"},
        {"a fetch 2 body[header.fields (date from)]", "a FETCH 2 (BODY[HEADER.FIELDS (date from)])"},
        {"a UID FETCH 1:4 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SENDER SUBJECT TO CC "
         "MESSAGE-ID REFERENCES CONTENT-TYPE CONTENT-DESCRIPTION IN-REPLY-TO REPLY-TO LINES LIST-POST X-LABEL)])",
         "a UID FETCH 1:4 (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SENDER SUBJECT TO CC "
         "MESSAGE-ID REFERENCES CONTENT-TYPE CONTENT-DESCRIPTION IN-REPLY-TO REPLY-TO LINES LIST-POST X-LABEL)])"},
        {"a FETCH 3 (BODY[1.2.MIME] BODY.PEEK[2.TEXT]<0.2048> BINARY[1] BINARY.PEEK[1.1]<10.20> BINARY.SIZE[2] "
         "BODYSTRUCTURE BODY ENVELOPE MODSEQ RFC822 RFC822.HEADER RFC822.TEXT)",
         "a FETCH 3 (BODY[1.2.MIME] BODY.PEEK[2.TEXT]<0.2048> BINARY[1] BINARY.PEEK[1.1]<10.20> BINARY.SIZE[2] "
         "BODYSTRUCTURE BODY ENVELOPE MODSEQ RFC822 RFC822.HEADER RFC822.TEXT)"},
        {"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)", "a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)"},
        {"a FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 0)", "a FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 0)"},
        {"a FETCH 1 BODY[]", "a FETCH 1 (BODY[])"},
        {"a FETCH 1 BINARY[]", "a FETCH 1 (BINARY[])"},
        {"a FETCH $ (FLAGS)", "a FETCH $ (FLAGS)"},
        {"a FETCH 4,2:3,*:9 (BODY.PEEK[HEADER.FIELDS.NOT (\"X-A\" {3}\r\nX-B)])",
         "a FETCH 4,2:3,*:9 (BODY.PEEK[HEADER.FIELDS.NOT (X-A X-B)])"},
        {"a FETCH 1 (BODY[1.HEADER] BODY[TEXT] BODY[HEADER]<5.10>)", "a FETCH 1 (BODY[1.HEADER] BODY[TEXT] BODY[HEADER]<5.10>)"},
    });
    auto r = parse_command_text("a UID FETCH 5 (BODY.PEEK[1.2.HEADER.FIELDS (From)]<100.4096>)\r\n");
    const auto& c = std::get<command>(r);
    CHECK(c.uid);
    CHECK(c.name() == "UID FETCH");
    const auto& f = c.get<fetch_args>();
    REQUIRE(f.attributes.size() == 1);
    const auto& a = f.attributes[0];
    CHECK(a.item == fetch_item::body_section);
    CHECK(a.peek);
    CHECK_FALSE(a.sets_seen());
    CHECK(a.section.part == std::vector<std::uint32_t>{1, 2});
    CHECK(a.section.text == section_text::header_fields);
    CHECK(a.section.fields == std::vector<std::string>{"From"});
    REQUIRE(a.partial);
    CHECK(a.partial->offset == 100);
    CHECK(a.partial->length == 4096);
    CHECK(response_label(a) == "BODY[1.2.HEADER.FIELDS (From)]<100>");
}

TEST_CASE("imap parser reads STORE, COPY, MOVE, SORT and THREAD") {
    check_rows({
        {"a STORE 2:4 +FLAGS (\\Deleted)", "a STORE 2:4 +FLAGS (\\Deleted)"},
        {"a STORE 1 -flags.silent \\seen", "a STORE 1 -FLAGS.SILENT (\\Seen)"},
        {"a STORE 1 FLAGS \\Seen \\Answered $Label1", "a STORE 1 FLAGS (\\Seen \\Answered $Label1)"},
        {"a UID STORE 1:* (UNCHANGEDSINCE 320162338) FLAGS ($Label1 \\Flagged)",
         "a UID STORE 1:* (UNCHANGEDSINCE 320162338) FLAGS ($Label1 \\Flagged)"},
        {"a STORE 1 FLAGS ()", "a STORE 1 FLAGS ()"},
        {"a STORE 1 +FLAGS.SILENT (\\Foo)", "a STORE 1 +FLAGS.SILENT (\\Foo)"},
        {"a COPY 2:4 MEETING", "a COPY 2:4 MEETING"},
        {"a UID COPY 1,3:5 \"Deleted Items\"", "a UID COPY 1,3:5 \"Deleted Items\""},
        {"a UID MOVE 42:69 foo", "a UID MOVE 42:69 foo"},
        {"a MOVE $ Archive", "a MOVE $ Archive"},
        {"a SORT (REVERSE DATE SUBJECT) UTF-8 SINCE 1-Feb-1994", "a SORT (REVERSE DATE SUBJECT) UTF-8 SINCE 1-Feb-1994"},
        {"a UID SORT (ARRIVAL cc from size to displayfrom displayto) US-ASCII ALL",
         "a UID SORT (ARRIVAL CC FROM SIZE TO DISPLAYFROM DISPLAYTO) US-ASCII ALL"},
        {"a SORT (SUBJECT) \"utf-8\" OR FROM a TO b", "a SORT (SUBJECT) UTF-8 OR FROM a TO b"},
        {"a THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000", "a THREAD ORDEREDSUBJECT UTF-8 SINCE 5-Mar-2000"},
        {"a UID THREAD references US-ASCII ALL", "a UID THREAD REFERENCES US-ASCII ALL"},
    });
    auto r = parse_command_text("a UID STORE 1 (UNCHANGEDSINCE 7) -FLAGS.SILENT (\\Seen)\r\n");
    const auto& s = std::get<command>(r).get<store_args>();
    CHECK(s.mode == store_mode::remove);
    CHECK(s.silent);
    CHECK(s.unchangedsince == std::optional<std::uint64_t>(7));
}

TEST_CASE("imap parser reads QUOTA, ACL, ID, COMPRESS and METADATA commands") {
    check_rows({
        {"a GETQUOTA \"\"", "a GETQUOTA \"\""},
        {"a GETQUOTAROOT INBOX", "a GETQUOTAROOT INBOX"},
        {"a SETQUOTA \"\" (STORAGE 512 message 1000)", "a SETQUOTA \"\" (STORAGE 512 MESSAGE 1000)"},
        {"a SETQUOTA user.fred ()", "a SETQUOTA user.fred ()"},
        {"a SETACL INBOX fred +lrc", "a SETACL INBOX fred \"+lrkx\""},
        {"a SETACL INBOX -fred lr", "a SETACL INBOX -fred \"lr\""},
        {"a SETACL INBOX anyone \"-wd\"", "a SETACL INBOX anyone \"-wte\""},
        {"a GETACL INBOX", "a GETACL INBOX"},
        {"a DELETEACL INBOX fred", "a DELETEACL INBOX fred"},
        {"a LISTRIGHTS ~/Mail/saved smith", "a LISTRIGHTS ~/Mail/saved smith"},
        {"a MYRIGHTS INBOX", "a MYRIGHTS INBOX"},
        {"a ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")", "a ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")"},
        {"a ID (\"name\" NIL)", "a ID (\"name\" NIL)"},
        {"a ID NIL", "a ID NIL"},
        {"a ID ()", "a ID ()"},
        {"a COMPRESS deflate", "a COMPRESS DEFLATE"},
        {"a GETMETADATA (MAXSIZE 1024 DEPTH 1) INBOX (/shared/comment /private/comment)",
         "a GETMETADATA (MAXSIZE 1024 DEPTH 1) INBOX (/shared/comment /private/comment)"},
        {"a GETMETADATA \"\" /shared/comment", "a GETMETADATA \"\" (/shared/comment)"},
        {"a GETMETADATA (DEPTH infinity) \"\" /shared", "a GETMETADATA (DEPTH infinity) \"\" (/shared)"},
        {"a SETMETADATA INBOX (/private/comment \"My comment\" /shared/x NIL)",
         "a SETMETADATA INBOX (/private/comment \"My comment\" /shared/x NIL)"},
        {"a SETMETADATA INBOX (/private/b ~{3}\r\nx\0y)"s, "a SETMETADATA INBOX (/private/b ~{3}\r\nx\0y)"s},
    });
    auto r = parse_command_text("a SETACL Shared/info \"info-group\" +lrswi\r\n");
    const auto& s = std::get<command>(r).get<setacl_args>();
    CHECK(s.mailbox == "Shared/info");
    CHECK(s.identifier == "info-group");
    CHECK(s.change.op == rights_op::add);
    CHECK(format_rights(s.change.value, false) == "lrswi");
}

TEST_CASE("imap parser normalizes INBOX and decodes modified UTF-7 mailbox names") {
    auto name = [](std::string_view wire, parser_options o = {}) {
        auto r = parse_command_text(std::string("a SELECT ") + std::string(wire) + "\r\n", o);
        REQUIRE(std::holds_alternative<command>(r));
        return std::get<command>(r).get<select_args>().mailbox;
    };
    CHECK(name("inbox") == "INBOX");
    CHECK(name("\"InBoX\"") == "INBOX");
    CHECK(name("inbox/sub") == "inbox/sub");
    CHECK(name("&AOk-t&AOk-") == "\xc3\xa9t\xc3\xa9");
    CHECK(name("Entw&APw-rfe") == "Entw\xc3\xbcrfe");
    CHECK(name("\"A &- B\"") == "A & B");
    parser_options utf8;
    utf8.utf8 = true;
    CHECK(name("\"Caf\xc3\xa9\"", utf8) == "Caf\xc3\xa9");
    CHECK(name("&AOk-", utf8) == "&AOk-");
    check_rows({{"a SELECT \"Caf\xc3\xa9\"", "a SELECT \"Caf\xc3\xa9\""}}, utf8);
    check_rows({{"a SELECT Caf&AOk-", "a SELECT Caf&AOk-"}});
}

namespace {

struct error_row {
    std::string wire;     // without CRLF
    std::string tag;      // "" for an untagged BAD
    std::string reason;   // substring of the reason
};

void check_errors(const std::vector<error_row>& rows, parser_options options = {}) {
    for (const auto& r : rows) {
        INFO("command: " << r.wire);
        run result = drive_all(r.wire + "\r\nz9 NOOP\r\n", options);
        REQUIRE(result.errors.size() == 1);
        const parse_error& e = result.errors[0];
        CHECK(e.status == response_status::bad);
        if (r.tag.empty()) CHECK_FALSE(e.tag);
        else CHECK(e.tag == std::optional<std::string>(r.tag));
        CHECK_THAT(e.reason, Catch::Contains(r.reason));
        for (unsigned char c : e.reason) CHECK((c >= 0x20 && c < 0x7f));
        // the next line is a new command: the parser resynchronized
        REQUIRE(result.commands.size() == 1);
        CHECK(result.commands[0].tag == "z9");
        CHECK(result.commands[0].kind == command_kind::noop);
    }
}

}  // namespace

TEST_CASE("imap parser answers malformed commands with BAD and a reason and resyncs on the next line") {
    check_errors({
        {"a1 FOO", "a1", "Unknown command"},
        {"a1 UID FOO 1", "a1", "Unknown UID command"},
        {"a1 UID EXAMINE x", "a1", "Unknown UID command"},
        {"* NOOP", "", "tag"},
        {"+ NOOP", "", "tag"},
        {"a1", "a1", "Missing"},
        {"a1  NOOP", "a1", "command name"},
        {"a1 NOOP extra", "a1", "Unexpected characters"},
        {"a1 NOOP ", "a1", "Unexpected characters"},
        {"a1 FETCH 0 FLAGS", "a1", "sequence set"},
        {"a1 FETCH 1:4294967296 FLAGS", "a1", "sequence set"},
        {"a1 FETCH 1,,2 FLAGS", "a1", "sequence set"},
        {"a1 FETCH $,1 FLAGS", "a1", "sequence set"},
        {"a1 FETCH 1 (FLAGS", "a1", "Missing"},
        {"a1 FETCH 1 ()", "a1", "Unknown FETCH attribute"},
        {"a1 FETCH 1 (ALL)", "a1", "Unknown FETCH attribute"},
        {"a1 FETCH 1 BODY.PEEK", "a1", "BODY.PEEK needs a section"},
        {"a1 FETCH 1 BODY[5.HEADER.FIELDS ()]", "a1", "header field name"},
        {"a1 FETCH 1 BODY[MIME]", "a1", "section"},
        {"a1 FETCH 1 BODY[0]", "a1", "zero"},
        {"a1 FETCH 1 BODY[]<0.0>", "a1", "zero"},
        {"a1 FETCH 1 BINARY[HEADER]", "a1", "part number"},
        {"a1 FETCH 1 (FLAGS) (VANISHED)", "a1", "VANISHED requires"},
        {"a1 UID FETCH 1 (FLAGS) (VANISHED)", "a1", "VANISHED requires"},
        {"a1 FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)", "a1", "VANISHED requires"},
        {"a1 FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)", "a1", "too large"},
        {"a1 FETCH 1 (FLAGS) (BOGUS)", "a1", "Unknown FETCH modifier"},
        {"a1 LOGIN \"unterminated", "a1", "Unterminated"},
        {"a1 LOGIN \"bad\\escape\" x", "a1", "Invalid escape"},
        {"a1 LOGIN \"a\0b\" c"s, "a1", "NUL"},
        {"a1 LOGIN fred", "a1", "Missing the password"},
        {"a1 LOGIN {5}fred x", "a1", "user name"},
        {"a1 LOGIN fred {5-}", "a1", ""},
        {"a1 SELECT INBOX (FOO)", "a1", "Unknown SELECT parameter"},
        {"a1 SELECT INBOX (QRESYNC (0 1))", "a1", "zero"},
        {"a1 SELECT INBOX (QRESYNC (1 1 1:*))", "a1", "\"*\" is not allowed"},
        {"a1 SELECT &Jjp-", "a1", "modified UTF-7"},
        {"a1 SELECT &AGE-", "a1", "modified UTF-7"},
        {"a1 SELECT \"caf\xc3\xa9\"", "a1", "8-bit"},
        {"a1 SELECT {3}\r\na\rb", "a1", "Mailbox name"},
        {"a1 SEARCH FOO", "a1", "Unknown search key"},
        {"a1 SEARCH", "a1", "Missing"},
        {"a1 SEARCH NOT", "a1", "Missing"},
        {"a1 SEARCH ()", "a1", "search key"},
        {"a1 SEARCH SINCE 31-Feb-2020", "a1", "Invalid date"},
        {"a1 SEARCH SINCE 1-Foo-2020", "a1", "Invalid date"},
        {"a1 SEARCH RETURN (BOGUS) ALL", "a1", "Unknown SEARCH RETURN option"},
        {"a1 SEARCH MODSEQ \"/foo/x\" all 1", "a1", "MODSEQ entry"},
        {"a1 SEARCH MODSEQ \"/flags/x\" most 1", "a1", "entry type"},
        {"a1 SEARCH LARGER -1", "a1", "size"},
        {"a1 SEARCH " + std::string(40, '(') + "ALL" + std::string(40, ')'), "a1", "nested too deeply"},
        {"a1 SEARCH " + [] {
             std::string s;
             for (int i = 0; i < 40; ++i) s += "NOT ";
             return s + "ALL";
         }(), "a1", "nested too deeply"},
        {"a1 STORE 1 FLAGS.LOUD (\\Seen)", "a1", "Expected FLAGS"},
        {"a1 STORE 1 FLAGS (\\*)", "a1", "flag name"},
        {"a1 STORE 1 (BOGUS 1) FLAGS ()", "a1", "Unknown STORE modifier"},
        {"a1 STATUS INBOX (MESSAGES BOGUS)", "a1", "Unknown STATUS item"},
        {"a1 STATUS INBOX ()", "a1", "Unknown STATUS item"},
        {"a1 LIST (BOGUS) \"\" *", "a1", "Unknown LIST selection option"},
        {"a1 LIST (RECURSIVEMATCH) \"\" *", "a1", "RECURSIVEMATCH needs another"},
        {"a1 LIST \"\" * RETURN (BOGUS)", "a1", "Unknown LIST return option"},
        {"a1 LIST \"\" * BOGUS ()", "a1", "Expected RETURN"},
        {"a1 SETACL INBOX fred lrQ", "a1", "Unknown right"},
        {"a1 ID (\"" + std::string(31, 'x') + "\" NIL)", "a1", "at most 30 octets"},
        {"a1 ID (\"x\" \"" + std::string(1025, 'y') + "\")", "a1", "at most 1024 octets"},
        {"a1 THREAD BOGUS UTF-8 ALL", "a1", "Unknown threading algorithm"},
        {"a1 SORT (BOGUS) UTF-8 ALL", "a1", "Unknown sort key"},
        {"a1 SORT (DATE) ALL", "a1", "Missing"},
        {"a1 AUTHENTICATE PLAIN A===", "a1", "base64"},
        {"a1 APPEND INBOX (\\Seen)", "a1", "Missing the message"},
        {"a1 APPEND INBOX NIL", "a1", "message literal"},
        {"a1 APPEND INBOX \"32-Jan-2020 00:00:00 +0000\" {1}", "a1", "Invalid date-time"},
        {"a1 APPEND INBOX UTF8 ({3}\r\nabc)", "a1", "literal8"},
        {"a1 CREATE foo (USE (Sent))", "a1", "Special-use"},
        {"a1 CREATE foo (BOGUS)", "a1", "Unknown CREATE parameter"},
        {"a1 GETMETADATA (DEPTH 2) INBOX x", "a1", "DEPTH must be"},
        {"a1 COMPRESS", "a1", "Missing"},
        {"a1 ENABLE", "a1", "Missing"},
        {"a1 LOGIN ~{3+}\r\nabc x", "a1", "literal8"},
    });
}

TEST_CASE("imap parser refuses more than 30 ID pairs") {
    std::string cmd = "a1 ID (";
    for (int i = 0; i < 31; ++i) cmd += "\"k" + std::to_string(i) + "\" NIL ";
    cmd.back() = ')';
    check_errors({{cmd, "a1", "Too many ID parameters"}});
}

TEST_CASE("imap command formatter redacts secrets and message data for logs") {
    format_options redact;
    redact.redact_secrets = true;
    auto login = std::get<command>(parse_command_text("a1 LOGIN fred hunter2\r\n"));
    CHECK(format_command(login, redact) == "a1 LOGIN fred <redacted>\r\n");
    auto auth = std::get<command>(parse_command_text("a2 AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0\r\n"));
    CHECK(format_command(auth, redact) == "a2 AUTHENTICATE PLAIN <redacted>\r\n");
    auto append = std::get<command>(parse_command_text("a3 APPEND INBOX {5}\r\nhello\r\n"));
    CHECK(format_command(append, redact) == "a3 APPEND INBOX {5} <5 octets>\r\n");
    CHECK(format_command(login).find("hunter2") != std::string::npos);
}

TEST_CASE("imap command lookup knows every verb and the UID variants") {
    for (auto kind : {command_kind::capability, command_kind::login, command_kind::select, command_kind::delete_,
                      command_kind::namespace_, command_kind::getmetadata, command_kind::thread}) {
        auto name = command_name(kind);
        CHECK(find_command(name) == std::optional<command_kind>(kind));
    }
    CHECK(find_command("fetch", true) == std::optional<command_kind>(command_kind::fetch));
    CHECK(find_command("expunge", true) == std::optional<command_kind>(command_kind::expunge));
    CHECK_FALSE(find_command("select", true));
    CHECK_FALSE(find_command("XLIST"));
}

TEST_CASE("imap commands are allowed only in their RFC 9051 states") {
    using st = session_state;
    CHECK(allowed_in(command_kind::capability, st::not_authenticated));
    CHECK(allowed_in(command_kind::id, st::selected));
    CHECK(allowed_in(command_kind::login, st::not_authenticated));
    CHECK_FALSE(allowed_in(command_kind::login, st::authenticated));
    CHECK_FALSE(allowed_in(command_kind::starttls, st::selected));
    CHECK(allowed_in(command_kind::enable, st::authenticated));
    CHECK_FALSE(allowed_in(command_kind::enable, st::selected));
    CHECK_FALSE(allowed_in(command_kind::select, st::not_authenticated));
    CHECK(allowed_in(command_kind::select, st::selected));
    CHECK(allowed_in(command_kind::append, st::authenticated));
    CHECK_FALSE(allowed_in(command_kind::fetch, st::authenticated));
    CHECK(allowed_in(command_kind::fetch, st::selected));
    CHECK_FALSE(allowed_in(command_kind::compress, st::not_authenticated));
    CHECK(allowed_in(command_kind::idle, st::selected));
}
