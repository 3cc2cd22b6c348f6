// test_names.cpp - pure helpers of polder::mailstore: mailbox names, flags, rights, UID
// sets, base subjects, array literals and the SEARCH-to-SQL builder.
// SECURITY: checks that client values never reach SQL text and that limits hold.
// STANDARDS: RFC 3501 / 9051 (names, flags, SEARCH), RFC 4314 (rights), RFC 5256.
#include "polder/db/arrays.hpp"
#include "polder/mailstore/names.hpp"
#include "polder/mailstore/search.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace polder;
using namespace polder::mailstore;

TEST_CASE("mailbox names make INBOX upper-case and refuse malformed hierarchies") {
    CHECK(*normalize_mailbox_name("inbox") == "INBOX");
    CHECK(*normalize_mailbox_name("InBoX/Work") == "INBOX/Work");
    CHECK(*normalize_mailbox_name("Inboxes") == "Inboxes");
    CHECK(*normalize_mailbox_name("Projecten/Ü") == "Projecten/Ü");
    for (const std::string& bad : std::vector<std::string>{"", "/a", "a/", "a//b", "a*", "b%", std::string("a\x01"), std::string("\xff\xfe"),
                            std::string(1001, 'x')})
        CHECK(is(normalize_mailbox_name(bad).error(), errc::invalid_argument));
    CHECK(parent_names("a/b/c") == std::vector<std::string>{"a", "a/b"});
    CHECK(parent_names("a").empty());
}

TEST_CASE("flags are canonical system flags or atom keywords, never \\Recent") {
    CHECK(*normalize_flag("\\seen") == "\\Seen");
    CHECK(*normalize_flag("\\DELETED") == "\\Deleted");
    CHECK(*normalize_flag("$Forwarded") == "$Forwarded");
    CHECK(is(normalize_flag("\\Recent").error(), errc::invalid_argument));
    CHECK(is(normalize_flag("\\Bogus").error(), errc::invalid_argument));
    CHECK(is(normalize_flag("a b").error(), errc::invalid_argument));
    CHECK(is(normalize_flag("a]").error(), errc::invalid_argument));
    CHECK(is(normalize_flag(std::string(101, 'k')).error(), errc::invalid_argument));
    auto f = normalize_flags({"\\Seen", "\\seen", "Junk", "junk"});
    REQUIRE(f.has_value());
    CHECK(*f == std::vector<std::string>{"\\Seen", "Junk"});
    CHECK(is(normalize_flags(std::vector<std::string>(101, "x")).error(), errc::limit_exceeded));
}

TEST_CASE("rights are normalized in RFC 4314 order with obsolete c and d mapped") {
    CHECK(*normalize_rights("rl") == "lr");
    CHECK(*normalize_rights("lrd") == "lrxte");
    CHECK(*normalize_rights("c") == "k");
    CHECK(*normalize_rights("") == "");
    CHECK(is(normalize_rights("lz").error(), errc::invalid_argument));
    CHECK(has_rights("lrs", "rs"));
    CHECK_FALSE(has_rights("lr", "rw"));
}

TEST_CASE("uid sets are sorted, merged, swapped and bounded") {
    auto s = make_uid_set({{5, 2}, {7, 9}, {1, 1}, {10, 10}});
    REQUIRE(s.has_value());
    CHECK(*s == uid_set{{1, 5}, {7, 10}});
    CHECK(contains(*s, 8));
    CHECK_FALSE(contains(*s, 6));
    CHECK(is(make_uid_set({{0, 3}}).error(), errc::invalid_argument));
    CHECK(is(make_uid_set(uid_set(max_uid_ranges + 1, {1, 1})).error(), errc::limit_exceeded));
}

TEST_CASE("base subject strips reply and forward markers per RFC 5256") {
    CHECK(base_subject("Re: Fwd: [lijst] Vergadering  morgen (fwd)") == "vergadering morgen");
    CHECK(base_subject("RE:re: hello") == "hello");
    CHECK(base_subject("[Fwd: Agenda]") == "agenda");
    CHECK(base_subject("Report") == "report");
    CHECK(base_subject("") == "");
}

TEST_CASE("PostgreSQL array literals round-trip quotes and backslashes") {
    std::vector<std::string> v{"\\Seen", "a\"b", "{x}", "c,d"};
    auto lit = db::text_array(v);
    auto back = db::parse_text_array(lit);
    REQUIRE(back.has_value());
    CHECK(*back == v);
    CHECK(*db::parse_text_array("{}") == std::vector<std::string>{});
    CHECK(*db::parse_text_array("{abc,\"\\\\Seen\"}") == std::vector<std::string>{"abc", "\\Seen"});
    CHECK_FALSE(db::parse_text_array("{\"unterminated}").has_value());
    CHECK_FALSE(db::parse_text_array("nope").has_value());
    CHECK(db::bigint_array({1, 2, 3}) == "{1,2,3}");
}

TEST_CASE("search builder keeps every client value out of the SQL text") {
    const std::string evil = "x'); DROP TABLE mail.messages; --";
    auto c = search_and({search_text(search_key::subject, evil), search_header("X-Evil", evil),
                         search_or({search_text(search_key::body, evil), search_text(search_key::flag, "$Junk")}),
                         search_not(search_number(search_key::larger, 1000)), search_uids({{1, 5}})});
    auto q = build_search_condition(c, 2);
    REQUIRE(q.has_value());
    CHECK(q->sql.find("DROP") == std::string::npos);
    CHECK(q->sql.find("X-Evil") == std::string::npos);
    CHECK(q->sql.find("$2") != std::string::npos);
    CHECK(q->sql.find("$1 ") == std::string::npos);
    CHECK(std::count(q->params.begin(), q->params.end(), evil) == 3);
    CHECK(q->sql.find("$" + std::to_string(1 + q->params.size())) != std::string::npos);
}

TEST_CASE("search builder refuses deep, huge and malformed criteria") {
    search_criterion deep = search_text(search_key::subject, "a");
    for (int i = 0; i < 40; ++i) deep = search_not(std::move(deep));
    CHECK(is(build_search_condition(deep).error(), errc::limit_exceeded));
    CHECK(is(build_search_condition(search_text(search_key::body, std::string(1001, 'a'))).error(), errc::limit_exceeded));
    CHECK(is(build_search_condition(search_and({})).error(), errc::invalid_argument));
    CHECK(is(build_search_condition(search_header("bad name", "x")).error(), errc::invalid_argument));
    CHECK(is(build_search_condition(search_text(search_key::flag, "\\Recent")).error(), errc::invalid_argument));
    CHECK(is(build_search_condition(search_number(search_key::larger, -1)).error(), errc::invalid_argument));
    std::vector<search_criterion> many(1001, search_text(search_key::subject, "a"));
    CHECK(is(build_search_condition(search_or(std::move(many))).error(), errc::limit_exceeded));
}

TEST_CASE("day numbers count days since 1970-01-01") {
    CHECK(day_number(1970, 1, 1) == 0);
    CHECK(day_number(2000, 3, 1) == 11017);
}
