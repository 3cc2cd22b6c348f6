// test_response.cpp - byte-exact tests of the IMAP response serializer: status responses
// with every response code, untagged data, string forms (atom, quoted, literal, literal8),
// mailbox name encoding, FETCH responses with ENVELOPE and BODYSTRUCTURE, and sequence-set
// compression. Expected texts follow the examples of the RFCs where they have one.
//
// SECURITY: checks that stored text (subjects, names) cannot break the response framing.
// STANDARDS: RFC 9051 sections 7 and 9, RFC 3501 7.4.2 examples, RFC 4315, RFC 4731,
// RFC 5256, RFC 7162, RFC 2342, RFC 4314, RFC 9208, RFC 5530.
#include "polder/imap/proto/response.hpp"
#include "polder/imap/proto/wire.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace polder::imap::proto;
using namespace std::string_literals;

TEST_CASE("imap serializer writes tagged and untagged status responses with codes") {
    std::string out;
    response_writer w(out);
    w.tagged("a1", response_status::ok, response_code::uidvalidity(3857529045), "UIDs valid");
    w.untagged(response_status::ok, response_code::uidnext(4392), "Predicted next UID");
    w.untagged(response_status::ok, response_code::permanentflags({"\\Deleted", "\\Seen", "\\*"}), "Limited");
    w.untagged(response_status::ok, response_code::highestmodseq(715194045007), "Highest");
    w.untagged(response_status::ok, response_code::unseen(12), "Message 12 is first unseen");
    w.tagged("A003", response_status::ok, response_code::copyuid(38505, std::vector<std::uint32_t>{304, 319, 320},
                                                                 std::vector<std::uint32_t>{3956, 3957, 3958}),
             "Done");
    w.tagged("A004", response_status::ok,
             response_code::appenduid(38505, std::vector<std::uint32_t>{3955, 3956, 3957, 3960}), "APPEND completed");
    w.tagged("a5", response_status::ok, response_code::modified(std::vector<std::uint32_t>{9, 7}), "Conditional STORE failed");
    w.tagged("a6", response_status::no, response_code::badcharset({"UTF-8", "US-ASCII"}), "Unsupported charset");
    w.tagged("a7", response_status::ok, response_code::capability({"IMAP4rev1", "IMAP4rev2", "LITERAL+"}), "Logged in");
    w.untagged(response_status::bye, "Logging out");
    w.tagged("a8", response_status::ok, response_code::of(code_kind::read_write), "SELECT completed");
    CHECK(out ==
          "a1 OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
          "* OK [UIDNEXT 4392] Predicted next UID\r\n"
          "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
          "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
          "* OK [UNSEEN 12] Message 12 is first unseen\r\n"
          "A003 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
          "A004 OK [APPENDUID 38505 3955:3957,3960] APPEND completed\r\n"
          "a5 OK [MODIFIED 7,9] Conditional STORE failed\r\n"
          "a6 NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"
          "a7 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+] Logged in\r\n"
          "* BYE Logging out\r\n"
          "a8 OK [READ-WRITE] SELECT completed\r\n");
}

TEST_CASE("imap serializer writes every argument-less response code") {
    struct row {
        code_kind kind;
        const char* text;
    };
    const row rows[] = {
        {code_kind::alert, "[ALERT]"},
        {code_kind::alreadyexists, "[ALREADYEXISTS]"},
        {code_kind::authenticationfailed, "[AUTHENTICATIONFAILED]"},
        {code_kind::authorizationfailed, "[AUTHORIZATIONFAILED]"},
        {code_kind::cannot, "[CANNOT]"},
        {code_kind::clientbug, "[CLIENTBUG]"},
        {code_kind::closed, "[CLOSED]"},
        {code_kind::compressionactive, "[COMPRESSIONACTIVE]"},
        {code_kind::contactadmin, "[CONTACTADMIN]"},
        {code_kind::corruption, "[CORRUPTION]"},
        {code_kind::expired, "[EXPIRED]"},
        {code_kind::expungeissued, "[EXPUNGEISSUED]"},
        {code_kind::haschildren, "[HASCHILDREN]"},
        {code_kind::inuse, "[INUSE]"},
        {code_kind::limit, "[LIMIT]"},
        {code_kind::nomodseq, "[NOMODSEQ]"},
        {code_kind::nonexistent, "[NONEXISTENT]"},
        {code_kind::noperm, "[NOPERM]"},
        {code_kind::notsaved, "[NOTSAVED]"},
        {code_kind::overquota, "[OVERQUOTA]"},
        {code_kind::parse, "[PARSE]"},
        {code_kind::privacyrequired, "[PRIVACYREQUIRED]"},
        {code_kind::read_only, "[READ-ONLY]"},
        {code_kind::serverbug, "[SERVERBUG]"},
        {code_kind::toobig, "[TOOBIG]"},
        {code_kind::trycreate, "[TRYCREATE]"},
        {code_kind::uidnotsticky, "[UIDNOTSTICKY]"},
        {code_kind::unavailable, "[UNAVAILABLE]"},
        {code_kind::unknown_cte, "[UNKNOWN-CTE]"},
        {code_kind::useattr, "[USEATTR]"},
        {code_kind::badcharset, "[BADCHARSET]"},
    };
    for (const auto& r : rows) {
        CHECK(format_response_code(response_code::of(r.kind)) == r.text);
        std::string out;
        response_writer(out).tagged("t", response_status::no, response_code::of(r.kind), "x");
        CHECK(out == "t NO "s + r.text + " x\r\n");
    }
}

TEST_CASE("imap serializer sanitizes human-readable text") {
    std::string out;
    response_writer w(out);
    w.tagged("a", response_status::no, "bad\r\nline\0end"s);
    w.tagged("a", response_status::ok, "");
    w.untagged(response_status::ok, "[ALERT] forged");
    w.continuation("Ready for \xc3\xa9");
    CHECK(out == "a NO bad  line end\r\n"
                 "a OK completed\r\n"
                 "* OK  [ALERT] forged\r\n"
                 "+ Ready for ?\r\n");
}

TEST_CASE("imap serializer writes continuation requests") {
    std::string out;
    response_writer w(out);
    w.continuation("go ahead");
    w.continuation_data("");
    w.continuation_data("abc");
    CHECK(out == "+ go ahead\r\n+ \r\n+ YWJj\r\n");
}

TEST_CASE("imap serializer writes mailbox state and CAPABILITY data") {
    std::string out;
    response_writer w(out);
    w.capability(std::vector<std::string>{"IMAP4rev1", "IMAP4rev2", "AUTH=PLAIN", "bad atom"});
    w.enabled(std::vector<std::string>{"CONDSTORE", "QRESYNC"});
    w.flags(std::vector<std::string>{"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Forwarded"});
    w.exists(172);
    w.recent(1);
    w.expunge(3);
    w.vanished(std::vector<std::uint32_t>{41, 43, 44, 45, 116}, true);
    w.vanished(std::vector<std::uint32_t>{405, 407, 410, 425}, false);
    w.vanished(std::vector<seq_range>{{1, 40}, {42, 42}}, true);
    CHECK(out == "* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=PLAIN\r\n"
                 "* ENABLED CONDSTORE QRESYNC\r\n"
                 "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded)\r\n"
                 "* 172 EXISTS\r\n"
                 "* 1 RECENT\r\n"
                 "* 3 EXPUNGE\r\n"
                 "* VANISHED (EARLIER) 41,43:45,116\r\n"
                 "* VANISHED 405,407,410,425\r\n"
                 "* VANISHED (EARLIER) 1:40,42\r\n");
}

TEST_CASE("imap serializer writes LIST, LSUB and STATUS with encoded mailbox names") {
    std::string out;
    response_writer w(out);
    w.list({{"\\HasNoChildren"}, '/', "INBOX", false, std::nullopt});
    w.list({{"\\HasNoChildren", "\\Sent"}, '/', "Sent Items", false, std::nullopt});
    w.list({{}, '/', "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", false, std::nullopt});
    w.list({{"\\Noselect"}, std::nullopt, "", false, std::nullopt});
    w.list({{}, '/', "Foo", true, std::nullopt});
    w.list({{}, '.', "NIL", false, std::string("Old & New")});
    w.list({{"\\HasChildren"}, '\\', "a%b", false, std::nullopt});
    w.lsub({{}, '/', "Drafts", false, std::nullopt});
    std::vector<std::pair<status_item, std::uint64_t>> items = {{status_item::messages, 231}, {status_item::uidnext, 44292}};
    w.status("blurdybloop", items);
    CHECK(out == "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
                 "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n"
                 "* LIST () \"/\" ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n"
                 "* LIST (\\Noselect) NIL \"\"\r\n"
                 "* LIST () \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
                 "* LIST () \".\" \"NIL\" (\"OLDNAME\" (\"Old &- New\"))\r\n"
                 "* LIST (\\HasChildren) \"\\\\\" \"a%b\"\r\n"
                 "* LSUB () \"/\" Drafts\r\n"
                 "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n");

    std::string utf8;
    response_writer u(utf8, true);
    u.list({{}, '/', "\xe5\x8f\xb0\xe5\x8c\x97", false, std::nullopt});
    CHECK(utf8 == "* LIST () \"/\" \"\xe5\x8f\xb0\xe5\x8c\x97\"\r\n");
}

TEST_CASE("imap serializer writes SEARCH, ESEARCH, SORT and THREAD results") {
    std::string out;
    response_writer w(out);
    w.search(std::vector<std::uint32_t>{2, 84, 882});
    w.search({});
    w.search(std::vector<std::uint32_t>{2, 5, 6}, 917162500);
    esearch_response e1;
    e1.tag = "A285";
    e1.uid = true;
    e1.min = 7;
    e1.max = 3800;
    w.esearch(e1);
    esearch_response e2;
    e2.tag = "A283";
    e2.all = std::vector<std::uint32_t>{2, 10, 11};
    w.esearch(e2);
    esearch_response e3;
    e3.tag = "A286";
    e3.count = 15;
    e3.modseq = 12;
    w.esearch(e3);
    esearch_response e4;   // RFC 6203 section 4 example
    e4.tag = "MYTAG";
    e4.uid = true;
    e4.all = std::vector<std::uint32_t>{1, 5, 10};
    e4.relevancy = std::vector<std::uint32_t>{4, 99, 42};
    w.esearch(e4);
    w.sort(std::vector<std::uint32_t>{2, 3, 6});
    thread_forest f;
    f.nodes = {{2, {}}, {3, {2}}, {6, {3, 5}}, {4, {4}}, {23, {}}, {44, {6}}, {7, {7}}, {96, {}}};
    f.roots = {0, 1};
    w.thread(f);
    w.thread(thread_forest{});
    CHECK(out == "* SEARCH 2 84 882\r\n"
                 "* SEARCH\r\n"
                 "* SEARCH 2 5 6 (MODSEQ 917162500)\r\n"
                 "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n"
                 "* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n"
                 "* ESEARCH (TAG \"A286\") COUNT 15 MODSEQ 12\r\n"
                 "* ESEARCH (TAG \"MYTAG\") UID ALL 1,5,10 RELEVANCY (4 99 42)\r\n"
                 "* SORT 2 3 6\r\n"
                 "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"
                 "* THREAD\r\n");
}

TEST_CASE("imap serializer writes NAMESPACE, ID, QUOTA, ACL and METADATA data") {
    std::string out;
    response_writer w(out);
    std::vector<namespace_entry> personal = {{"", '/'}};
    std::vector<namespace_entry> other = {{"~", '/'}};
    std::vector<namespace_entry> shared = {{"#shared/", '/'}, {"#public/", '/'}, {"#ftp/", '/'}, {"#news.", '.'}};
    w.namespaces(personal, other, shared);
    w.namespaces(personal, {}, std::vector<namespace_entry>{{"Gedeelde mappen/", '/'}});
    w.id(std::vector<std::pair<std::string, std::optional<std::string>>>{{"name", "Polder"}, {"version", std::nullopt}});
    w.id(std::nullopt);
    std::vector<quota_resource> q = {{"STORAGE", 10, 512}, {"MESSAGE", 1, 1000}};
    w.quota("", q);
    w.quotaroot("INBOX", std::vector<std::string>{""});
    std::vector<acl_entry> acl = {{"Fred", "rwipslxetad"}, {"-spammers", "p"}};
    w.acl("INBOX", acl);
    w.listrights("~/Mail/saved", "smith", "la", std::vector<std::string>{"r", "swicdkxte"});
    w.listrights("x", "y", "", {});
    w.myrights("INBOX", "rwiptsldaex");
    std::vector<std::pair<std::string, std::optional<std::string>>> md = {{"/shared/comment", "Shared comment"},
                                                                         {"/private/x", std::nullopt}};
    w.metadata("INBOX", md);
    CHECK(out == "* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"#ftp/\" \"/\")(\"#news.\" \".\"))\r\n"
                 "* NAMESPACE ((\"\" \"/\")) NIL ((\"Gedeelde mappen/\" \"/\"))\r\n"
                 "* ID (\"name\" \"Polder\" \"version\" NIL)\r\n"
                 "* ID NIL\r\n"
                 "* QUOTA \"\" (STORAGE 10 512 MESSAGE 1 1000)\r\n"
                 "* QUOTAROOT INBOX \"\"\r\n"
                 "* ACL INBOX Fred rwipslxetad -spammers p\r\n"
                 "* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"
                 "* LISTRIGHTS x y \"\"\r\n"
                 "* MYRIGHTS INBOX rwiptsldaex\r\n"
                 "* METADATA INBOX (/shared/comment \"Shared comment\" /private/x NIL)\r\n");
}

namespace {

envelope rfc3501_envelope() {
    envelope e;
    e.date = "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)";
    e.subject = "IMAP4rev1 WG mtg summary and minutes";
    address gray{"Terry Gray", std::nullopt, "gray", "cac.washington.edu"};
    e.from = {gray};
    e.sender = {gray};
    e.reply_to = {gray};
    e.to = {{std::nullopt, std::nullopt, "imap", "cac.washington.edu"}};
    e.cc = {{std::nullopt, std::nullopt, "minutes", "CNRI.Reston.VA.US"}, {"John Klensin", std::nullopt, "KLENSIN", "MIT.EDU"}};
    e.message_id = "<B27397-0100000@cac.washington.edu>";
    return e;
}

}  // namespace

TEST_CASE("imap serializer writes the RFC 3501 FETCH example byte for byte") {
    std::string out;
    response_writer w(out);
    body_structure text;
    text.params = {{"CHARSET", "US-ASCII"}};
    text.size = 3028;
    text.lines = 92;
    w.fetch(12)
        .flags(std::vector<std::string>{"\\Seen"})
        .internaldate(*parse_date_time("17-Jul-1996 02:44:25 -0700"))
        .rfc822_size(4286)
        .envelope(rfc3501_envelope())
        .body(text)
        .finish();
    CHECK(out ==
          "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE "
          "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" "
          "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
          "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) "
          "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
          "\"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 "
          "92))\r\n");
}

TEST_CASE("imap serializer writes multipart and message/rfc822 body structures") {
    body_structure plain;
    plain.params = {{"CHARSET", "US-ASCII"}};
    plain.size = 1152;
    plain.lines = 23;
    body_structure diff;
    diff.params = {{"CHARSET", "US-ASCII"}, {"NAME", "cc.diff"}};
    diff.id = "<960723163407.20117h@cac.washington.edu>";
    diff.description = "Compiler diff";
    diff.encoding = "BASE64";
    diff.size = 4554;
    diff.lines = 73;
    diff.disposition = body_disposition{"attachment", {{"filename", "cc.diff"}}};
    body_structure mixed;
    mixed.type = "MULTIPART";
    mixed.subtype = "MIXED";
    mixed.params = {{"BOUNDARY", "xyz"}};
    mixed.parts = {plain, diff};

    std::string body;
    append_body_structure(body, mixed, false, false);
    CHECK(body == "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" "
                  "\"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" "
                  "\"BASE64\" 4554 73) \"MIXED\")");
    std::string structure;
    append_body_structure(structure, mixed, true, false);
    CHECK(structure ==
          "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)(\"TEXT\" \"PLAIN\" "
          "(\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" "
          "\"BASE64\" 4554 73 NIL (\"attachment\" (\"filename\" \"cc.diff\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"xyz\") NIL NIL "
          "NIL)");

    body_structure inner;
    inner.size = 5;
    inner.lines = 1;
    inner.language = {"nl", "en"};
    body_structure msg;
    msg.type = "MESSAGE";
    msg.subtype = "RFC822";
    msg.size = 300;
    msg.lines = 10;
    envelope e;
    e.subject = "inner";
    msg.message_envelope = e;
    msg.parts = {inner};
    msg.location = "http://example.org/x";
    std::string m;
    append_body_structure(m, msg, true, false);
    CHECK(m == "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 300 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" "
               "\"PLAIN\" NIL NIL NIL \"7BIT\" 5 1 NIL NIL (\"nl\" \"en\") NIL) 10 NIL NIL NIL \"http://example.org/x\")");

    body_structure image;
    image.type = "IMAGE";
    image.subtype = "PNG";
    image.encoding = "BASE64";
    image.size = 100;
    std::string img;
    append_body_structure(img, image, false, false);
    CHECK(img == "(\"IMAGE\" \"PNG\" NIL NIL NIL \"BASE64\" 100)");
}

TEST_CASE("imap serializer writes FETCH sections as literals and BINARY with NUL as literal8") {
    fetch_attribute header;
    header.item = fetch_item::body_section;
    header.peek = true;
    header.section.text = section_text::header;
    fetch_attribute partial;
    partial.item = fetch_item::body_section;
    partial.partial = partial_range{0, 100};
    fetch_attribute binary;
    binary.item = fetch_item::binary;
    binary.section.part = {1};
    fetch_attribute rfc822;
    rfc822.item = fetch_item::rfc822_text;
    fetch_attribute fields;
    fields.item = fetch_item::body_section;
    fields.section.part = {2};
    fields.section.text = section_text::header_fields;
    fields.section.fields = {"From", "X Odd"};

    std::string out;
    response_writer w(out);
    w.fetch(1)
        .uid(4827313)
        .modseq(12121231000)
        .section(header, "hello")
        .section(partial, "abc")
        .section(binary, "a\0b"s)
        .binary_size(binary, 42)
        .section(rfc822, std::nullopt)
        .section(fields, "")
        .finish();
    CHECK(out == "* 1 FETCH (UID 4827313 MODSEQ (12121231000) BODY[HEADER] {5}\r\nhello BODY[]<0> {3}\r\nabc "
                 "BINARY[1] ~{3}\r\na\0b BINARY.SIZE[1] 42 RFC822.TEXT NIL BODY[2.HEADER.FIELDS (From \"X Odd\")] "
                 "\"\")\r\n"s);

    std::string streamed;
    response_writer s(streamed);
    auto f = s.fetch(7);
    f.uid(9).section_literal(partial, 1000);
    CHECK(streamed == "* 7 FETCH (UID 9 BODY[]<0> {1000}\r\n");
    streamed.clear();  // the session sent the buffer and then the 1000 octets
    f.flags(std::vector<std::string>{"\\Seen"}).finish();
    f.finish();
    CHECK(streamed == " FLAGS (\\Seen))\r\n");
}

TEST_CASE("imap serializer chooses atom, quoted or literal by content") {
    auto str = [](std::string_view s, bool utf8 = false) {
        std::string out;
        append_string(out, s, utf8);
        return out;
    };
    auto astr = [](std::string_view s) {
        std::string out;
        append_astring(out, s, false);
        return out;
    };
    CHECK(str("") == "\"\"");
    CHECK(str("plain") == "\"plain\"");
    CHECK(str("say \"hi\" \\o/") == "\"say \\\"hi\\\" \\\\o/\"");
    CHECK(str("two\r\nlines") == "{10}\r\ntwo\r\nlines");
    CHECK(str("caf\xc3\xa9") == "{5}\r\ncaf\xc3\xa9");
    CHECK(str("caf\xc3\xa9", true) == "\"caf\xc3\xa9\"");
    CHECK(str("\xff\xfe", true) == "{2}\r\n\xff\xfe");
    CHECK(str("nul\0here"s) == "{8}\r\nnul\x80here");
    CHECK(str(std::string(2000, 'x')).substr(0, 8) == "{2000}\r\n");
    CHECK(astr("INBOX") == "INBOX");
    CHECK(astr("nil") == "\"nil\"");
    CHECK(astr("a b") == "\"a b\"");
    CHECK(astr("x]y") == "x]y");
    CHECK(astr("") == "\"\"");
    std::string m;
    append_mailbox(m, "Gel\xc3\xb6schte Elemente", false);
    CHECK(m == "\"Gel&APY-schte Elemente\"");

    envelope e;
    e.subject = "Re: injected\r\n* 1 EXISTS";
    std::string env;
    append_envelope(env, e, false);
    CHECK(env == "(NIL {24}\r\nRe: injected\r\n* 1 EXISTS NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST_CASE("imap serializer compresses sequence sets") {
    CHECK(compress_numbers(std::vector<std::uint32_t>{1, 2, 3, 4, 5, 7, 9, 10, 11, 12}) == "1:5,7,9:12");
    CHECK(compress_numbers(std::vector<std::uint32_t>{12, 3, 3, 2, 1, 4294967295u, 4294967294u}) == "1:3,12,4294967294:4294967295");
    CHECK(compress_numbers(std::vector<std::uint32_t>{}).empty());
    CHECK(compress_numbers(std::vector<std::uint32_t>{5}) == "5");
    CHECK(compress_numbers_in_order(std::vector<std::uint32_t>{5, 6, 7, 1, 2, 9}) == "5:7,1:2,9");
    CHECK(format_ranges(std::vector<seq_range>{{1, 5}, {7, 7}, {9, 4294967295u}}) == "1:5,7,9:4294967295");
}

TEST_CASE("imap missing_ranges lists what neither list holds, within a set, as ranges") {
    using v = std::vector<std::uint32_t>;
    using r = std::vector<seq_range>;
    CHECK(missing_ranges(v{}, v{}, 0, nullptr).empty());
    CHECK(missing_ranges(v{}, v{}, 5, nullptr) == r{{1, 5}});
    CHECK(missing_ranges(v{2, 3, 7}, v{3, 5}, 9, nullptr) == r{{1, 1}, {4, 4}, {6, 6}, {8, 9}});
    CHECK(missing_ranges(v{1, 2, 3}, v{}, 3, nullptr).empty());
    CHECK(missing_ranges(v{4, 12}, v{}, 10, nullptr) == r{{1, 3}, {5, 10}});   // numbers above last ignored
    const r within{{2, 4}, {8, 20}};
    CHECK(missing_ranges(v{3, 9}, v{}, 12, &within) == r{{2, 2}, {4, 4}, {8, 8}, {10, 12}});
    CHECK(missing_ranges(v{}, v{}, 4294967295u, nullptr) == r{{1, 4294967295u}});
    CHECK(missing_ranges(v{4294967295u}, v{1}, 4294967295u, nullptr) == r{{2, 4294967294u}});
    const r none;
    CHECK(missing_ranges(v{}, v{}, 10, &none).empty());
}
