// test_text.cpp - the pure helpers of polder::imap_proto: modified UTF-7, base64 and SASL
// PLAIN, sequence sets, dates and date-times, flags, RFC 4314 rights, and the reference
// SEARCH evaluator.
//
// SECURITY: the strictness of the mailbox-name decoder (one wire form per name) and the
// rights parser (unknown rights refused) is asserted here.
// STANDARDS: RFC 3501 5.1.3, RFC 4648, RFC 4616, RFC 9051 section 9 and 6.4.4, RFC 5182,
// RFC 4314, RFC 7162.
#include "polder/imap/proto/acl.hpp"
#include "polder/imap/proto/base64.hpp"
#include "polder/imap/proto/mutf7.hpp"
#include "polder/imap/proto/parser.hpp"
#include "polder/imap/proto/search.hpp"
#include "polder/imap/proto/types.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

using namespace polder::imap::proto;
using namespace std::string_literals;

TEST_CASE("modified UTF-7 encodes and decodes the RFC 3501 example and common folder names") {
    struct row {
        std::string utf8;
        std::string wire;
    };
    const row rows[] = {
        {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
        {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
        {"Gel\xc3\xb6schte Elemente", "Gel&APY-schte Elemente"},
        {"\xf0\x9f\x98\x80", "&2D3eAA-"},
        {"Verzonden items", "Verzonden items"},
        {"\xd0\x9a\xd0\xbe\xd0\xbd\xd1\x86\xd0\xb5\xd0\xbf\xd1\x82\xd1\x8b", "&BBoEPgQ9BEYENQQ,BEIESw-"},
        {"a&b", "a&-b"},
        {"&&", "&-&-"},
        {"\xc3\xa9 \xc3\xbc", "&AOk- &APw-"},
        {"", ""},
        {"tab\there", "tab&AAk-here"},
    };
    for (const auto& r : rows) {
        INFO(r.wire);
        CHECK(mutf7_encode(r.utf8) == std::optional<std::string>(r.wire));
        CHECK(mutf7_decode(r.wire) == std::optional<std::string>(r.utf8));
    }
}

TEST_CASE("modified UTF-7 decoder rejects every non-canonical or broken form") {
    for (std::string bad : {"&", "&U,BTFw", "&AGE-", "&U,BTFw-&ZeVnLIqe-", "&Jjp-", "&2D0-", "&3gA-", "&A-", "&AO-",
                            "&AOk/-", "caf\xc3\xa9", "a\x01" "b", "&AOkA6Q", "x&=-"}) {
        INFO(bad);
        CHECK_FALSE(mutf7_decode(bad));
    }
    CHECK_FALSE(mutf7_encode("\xff"));
    CHECK_FALSE(mutf7_encode("\xed\xa0\x80"));  // an encoded surrogate is not UTF-8
}

TEST_CASE("modified UTF-7 round-trips every code point class") {
    std::string all;
    for (char32_t cp : {0x1u, 0x1fu, 0x20u, 0x26u, 0x7eu, 0x7fu, 0x80u, 0xffu, 0x100u, 0x7ffu, 0x800u, 0xd7ffu, 0xe000u,
                        0xfffdu, 0xffffu, 0x10000u, 0x1f600u, 0x10ffffu}) {
        std::string s;
        if (cp < 0x80) s += static_cast<char>(cp);
        else if (cp < 0x800) {
            s += static_cast<char>(0xc0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xe0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            s += static_cast<char>(0xf0 | (cp >> 18));
            s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (cp & 0x3f));
        }
        all += s;
        auto enc = mutf7_encode(s);
        REQUIRE(enc);
        CHECK(mutf7_decode(*enc) == std::optional<std::string>(s));
        for (unsigned char c : *enc) CHECK((c >= 0x20 && c <= 0x7e));
    }
    auto enc = mutf7_encode(all);
    REQUIRE(enc);
    CHECK(mutf7_decode(*enc) == std::optional<std::string>(all));
}

TEST_CASE("base64 follows RFC 4648 test vectors and rejects non-canonical input") {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
    }
    for (std::string bad : {"Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9v", "=Zm9"}) {
        INFO(bad);
        CHECK_FALSE(base64_decode(bad));
    }
    CHECK(base64_decode(base64_encode("\0\xff\x80 binary"s)) == std::optional<std::string>("\0\xff\x80 binary"s));
}

TEST_CASE("SASL PLAIN messages split into authzid, authcid and password") {
    auto p = parse_sasl_plain("\0fred\0secret"s);
    REQUIRE(p);
    CHECK(p->authzid.empty());
    CHECK(p->authcid == "fred");
    CHECK(p->password == "secret");
    auto z = parse_sasl_plain("admin\0fred\0pw"s);
    REQUIRE(z);
    CHECK(z->authzid == "admin");
    CHECK_FALSE(parse_sasl_plain("fred secret"));
    CHECK_FALSE(parse_sasl_plain("\0\0secret"s));
    CHECK_FALSE(parse_sasl_plain("\0fred\0"s));
    CHECK_FALSE(parse_sasl_plain("\0fred\0pw\0x"s));
    CHECK_FALSE(parse_sasl_plain("\0fred\0"s + std::string(1025, 'p')));
}

TEST_CASE("sequence sets parse, format, resolve stars and normalize") {
    auto s = parse_sequence_set("1:5,7,*");
    REQUIRE(s.has_value());
    CHECK(s->ranges == std::vector<seq_range>{{1, 5}, {7, 7}, {seq_star, seq_star}});
    CHECK(format_sequence_set(*s) == "1:5,7,*");
    CHECK(s->uses_star());
    CHECK(s->contains(7, 100));
    CHECK(s->contains(100, 100));
    CHECK_FALSE(s->contains(6, 100));
    CHECK(s->highest(100) == 100);

    auto reversed = parse_sequence_set("5:1,3,10:*");
    REQUIRE(reversed.has_value());
    CHECK(reversed->normalized(12) == std::vector<seq_range>{{1, 5}, {10, 12}});
    auto beyond = parse_sequence_set("559:*");
    REQUIRE(beyond.has_value());
    CHECK(beyond->contains(500, 500));  // RFC 9051 6.4.9: includes the last UID
    CHECK_FALSE(beyond->contains(499, 500));
    CHECK(parse_sequence_set("*")->normalized(0).empty());
    CHECK(parse_sequence_set("4294967295")->ranges[0].first == 4294967295u);
    CHECK(parse_sequence_set("1,2,3,5:4")->normalized(10) == std::vector<seq_range>{{1, 5}});

    auto saved = parse_sequence_set("$");
    REQUIRE(saved.has_value());
    CHECK(saved->saved);
    CHECK(format_sequence_set(*saved) == "$");
    for (std::string bad : {"", "0", "1:", ":1", ",", "1,", "$,1", "1:$", "4294967296", "1:0", "a", "1 2", "**"}) {
        INFO(bad);
        CHECK_FALSE(parse_sequence_set(bad).has_value());
    }
}

TEST_CASE("dates and date-times parse, validate and convert to Unix time") {
    auto t = parse_date_time("17-Jul-1996 02:44:25 -0700");
    REQUIRE(t.has_value());
    CHECK(to_unix(*t) == 837596665);
    CHECK(format_date_time(*t) == "17-Jul-1996 02:44:25 -0700");
    CHECK(from_unix(837596665, -420) == *t);
    CHECK(format_date_time(from_unix(0)) == " 1-Jan-1970 00:00:00 +0000");
    CHECK(format_date_time(from_unix(1709249400, 60)) == " 1-Mar-2024 00:30:00 +0100");
    CHECK(format_date_time(from_unix(-1)) == "31-Dec-1969 23:59:59 +0000");
    CHECK(parse_date_time(" 7-Feb-1994 21:52:25 -0800").has_value());
    CHECK(parse_date_time("7-Feb-1994 21:52:25 -0800").has_value());
    for (std::string bad : {"29-Feb-2023 00:00:00 +0000", "17-Jul-1996 24:00:00 +0000", "17-Jul-1996 02:60:25 -0700",
                            "17-Jul-1996 02:44:25 0700", "17-Jul-96 02:44:25 -0700", "17-Jux-1996 02:44:25 -0700",
                            "17-Jul-1996 02:44:25 -0760", "117-Jul-1996 02:44:25 -0700", "17-Jul-1996  2:44:25 -0700"}) {
        INFO(bad);
        CHECK_FALSE(parse_date_time(bad).has_value());
    }
    CHECK(parse_date_time("29-Feb-2024 00:00:00 +0000").has_value());
    auto d = parse_date("1-Feb-1994");
    REQUIRE(d.has_value());
    CHECK(*d == date{1994, 2, 1});
    CHECK(format_date(*d) == "1-Feb-1994");
    CHECK(date_of(837596665, -420) == date{1996, 7, 17});
    CHECK(date_of(837596665, 0) == date{1996, 7, 17});
    CHECK(date_of(86399, 0) == date{1970, 1, 1});
    for (std::string bad : {"31-Apr-2020", "0-Jan-2020", "1-Jan-20", "1-January-2020", "001-Jan-2020", "1/Jan/2020"}) {
        INFO(bad);
        CHECK_FALSE(parse_date(bad).has_value());
    }
}

TEST_CASE("flags are canonicalized and keywords validated") {
    CHECK(canonical_flag("\\seen") == "\\Seen");
    CHECK(canonical_flag("\\DELETED") == "\\Deleted");
    CHECK(canonical_flag("$Forwarded") == "$Forwarded");
    CHECK(canonical_flag("\\Custom") == "\\Custom");
    CHECK(is_system_flag("\\Draft"));
    CHECK_FALSE(is_system_flag("\\Recent"));
    CHECK(is_system_flag("\\recent", true));
    CHECK(is_valid_keyword("$Junk"));
    CHECK_FALSE(is_valid_keyword("\\Seen"));
    CHECK_FALSE(is_valid_keyword("a b"));
    CHECK_FALSE(is_valid_keyword(""));
    CHECK(parse_status_item("highestmodseq") == std::optional<status_item>(status_item::highestmodseq));
    CHECK_FALSE(parse_status_item("BOGUS"));
}

TEST_CASE("ACL rights parse with the obsolete c and d rights and format canonically") {
    auto all = parse_rights("lrswipkxtea");
    REQUIRE(all.has_value());
    CHECK(*all == rights::all());
    CHECK(format_rights(*all, false) == "lrswipkxtea");
    CHECK(format_rights(*all) == "lrswipkxteacd");
    auto c = parse_rights("c");
    REQUIRE(c.has_value());
    CHECK(format_rights(*c, false) == "kx");
    auto d = parse_rights("d");
    REQUIRE(d.has_value());
    CHECK(format_rights(*d, false) == "te");
    CHECK(format_rights(*parse_rights("rl")) == "lr");
    CHECK(format_rights(*parse_rights("lrk")) == "lrkc");
    CHECK(format_rights(*parse_rights("lre")) == "lred");
    CHECK(format_rights(rights{}) == "");
    CHECK_FALSE(parse_rights("lrZ").has_value());
    CHECK_FALSE(parse_rights("0").has_value());
    CHECK(parse_rights("").has_value());

    auto add = parse_rights_change("+wi");
    REQUIRE(add.has_value());
    CHECK(add->op == rights_op::add);
    auto current = *parse_rights("lr");
    CHECK(format_rights(add->apply(current), false) == "lrwi");
    auto remove = parse_rights_change("-r");
    CHECK(format_rights(remove->apply(current), false) == "l");
    auto replace = parse_rights_change("s");
    CHECK(format_rights(replace->apply(current), false) == "s");
    CHECK_FALSE(parse_rights_change("+x?").has_value());
    CHECK(rights::all().has('a'));
    CHECK_FALSE(c->has('l'));
    CHECK_FALSE(c->has('c'));

    auto neg = parse_acl_identifier("-fred");
    CHECK(neg.negative);
    CHECK(neg.name == "fred");
    auto anyone = parse_acl_identifier("anyone");
    CHECK_FALSE(anyone.negative);
    CHECK(parse_acl_identifier("-").name == "-");
}

namespace {

struct fake_message : search_subject {
    std::uint32_t seq = 1, uid_ = 10;
    std::set<std::string> flags;
    bool recent = false;
    std::uint64_t bytes = 1000;
    date internal{2024, 3, 1};
    std::optional<date> sent;
    std::uint64_t mod = 5;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::uint32_t sequence_number() const override { return seq; }
    std::uint32_t uid() const override { return uid_; }
    bool has_flag(std::string_view f) const override {
        return std::any_of(flags.begin(), flags.end(), [&](const std::string& x) { return iequals(x, f); });
    }
    bool is_recent() const override { return recent; }
    std::uint64_t size() const override { return bytes; }
    date internal_date() const override { return internal; }
    std::optional<date> sent_date() const override { return sent; }
    std::uint64_t modseq() const override { return mod; }
    bool header_contains(std::string_view field, std::string_view needle) const override {
        for (const auto& [k, v] : headers)
            if (iequals(k, field) && contains_ascii_ci(v, needle)) return true;
        return false;
    }
    bool body_contains(std::string_view needle) const override { return contains_ascii_ci(body, needle); }
    bool text_contains(std::string_view needle) const override {
        if (body_contains(needle)) return true;
        for (const auto& [k, v] : headers)
            if (contains_ascii_ci(v, needle)) return true;
        return false;
    }
};

bool matches(std::string_view criteria, const fake_message& m, search_scope scope = {100, 200, {}}) {
    auto r = parse_command_text("a SEARCH " + std::string(criteria) + "\r\n");
    REQUIRE(std::holds_alternative<command>(r));
    return evaluate(std::get<command>(r).get<search_args>().criteria, m, scope);
}

}  // namespace

TEST_CASE("search evaluation follows the RFC 9051 meaning of each key") {
    fake_message m;
    m.flags = {"\\Seen", "$Junk"};
    m.headers = {{"From", "Alice Example <alice@example.org>"}, {"Subject", "Vergadering morgen"}, {"To", "bob@example.nl"},
                 {"List-Id", "<dev.example.org>"}};
    m.body = "Hallo Bob, tot morgen.";
    m.sent = date{2024, 2, 29};

    CHECK(matches("ALL", m));
    CHECK(matches("SEEN", m));
    CHECK_FALSE(matches("UNSEEN", m));
    CHECK(matches("UNANSWERED UNDELETED UNDRAFT UNFLAGGED", m));
    CHECK(matches("KEYWORD $junk", m));
    CHECK_FALSE(matches("UNKEYWORD $Junk", m));
    CHECK(matches("OLD", m));
    CHECK_FALSE(matches("NEW", m));
    m.recent = true;
    CHECK(matches("RECENT", m));
    CHECK_FALSE(matches("NEW", m));  // recent but seen
    m.flags.erase("\\Seen");
    CHECK(matches("NEW", m));
    CHECK(matches("FROM ALICE", m));
    CHECK(matches("SUBJECT vergadering", m));
    CHECK_FALSE(matches("CC alice", m));
    CHECK(matches("HEADER List-Id dev.example", m));
    CHECK(matches("HEADER List-Id \"\"", m));
    CHECK_FALSE(matches("HEADER X-Spam \"\"", m));
    CHECK(matches("BODY \"tot morgen\"", m));
    CHECK(matches("TEXT bob@example", m));
    CHECK_FALSE(matches("BODY alice", m));
    CHECK(matches("ON 1-Mar-2024 SINCE 1-Mar-2024 BEFORE 2-Mar-2024", m));
    CHECK_FALSE(matches("BEFORE 1-Mar-2024", m));
    CHECK(matches("SENTON 29-Feb-2024 SENTBEFORE 1-Mar-2024 SENTSINCE 28-Feb-2024", m));
    m.sent.reset();
    CHECK(matches("SENTON 1-Mar-2024", m));  // no Date: header -> internal date
    CHECK(matches("LARGER 999 SMALLER 1001", m));
    CHECK_FALSE(matches("LARGER 1000", m));
    CHECK(matches("MODSEQ 5", m));
    CHECK_FALSE(matches("MODSEQ 6", m));
    CHECK(matches("1", m));
    CHECK(matches("100:*", m, {1, 200, {}}));
    CHECK_FALSE(matches("2:*", m));
    CHECK(matches("UID 10", m));
    CHECK(matches("UID *", m, {100, 10, {}}));
    CHECK(matches("OR FROM nobody SUBJECT morgen", m));
    CHECK_FALSE(matches("OR FROM nobody SUBJECT nothing", m));
    CHECK(matches("NOT (FROM nobody SEEN)", m));
    CHECK(matches("(FROM alice (TO bob))", m));
    std::vector<std::uint32_t> saved = {10, 11};
    CHECK(matches("UID $", m, {100, 200, saved}));
    CHECK(matches("$", m, {100, 200, saved}));
    CHECK_FALSE(matches("$", m, {100, 200, {}}));

    auto r = parse_command_text("a SEARCH OR UID $ SEEN\r\n");
    CHECK(uses_saved_result(std::get<command>(r).get<search_args>().criteria));
    auto r2 = parse_command_text("a SEARCH UID 1:*\r\n");
    CHECK_FALSE(uses_saved_result(std::get<command>(r2).get<search_args>().criteria));
    CHECK(contains_ascii_ci("Hello World", "o w"));
    CHECK_FALSE(contains_ascii_ci("Hi", "Hii"));
}
