// test_thread.cpp - RFC 5256 SORT ordering, base subject extraction, RFC 2047 decoding, message-id
// parsing and the THREAD algorithms ORDEREDSUBJECT and REFERENCES, including adversarial
// inputs (reference loops, duplicate Message-IDs, a 50,000 message chain).
//
// SECURITY: asserts the threading code stays a forest and never recurses deeply.
// STANDARDS: RFC 5256 sections 2.1, 3 and 4; RFC 2047; RFC 5322 3.6.4.
#include "polder/imap/proto/sort.hpp"
#include "polder/imap/proto/thread.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace polder::imap::proto;

TEST_CASE("base subject extraction follows RFC 5256 section 2.1") {
    struct row {
        std::string subject;
        std::string base;
        bool reply;
    };
    const row rows[] = {
        {"hello", "hello", false},
        {"Re: hello", "hello", true},
        {"RE: Re: re: hello", "hello", true},
        {"Re:hello", "hello", true},
        {"Fwd: hello", "hello", true},
        {"Fw: hello", "hello", true},
        {"FWD : hello", "hello", true},
        {"re [list]: hello", "hello", true},
        {"[SPAM] Re: hello", "hello", true},
        {"Re: [list] hello", "hello", true},
        {"[list] hello", "hello", false},
        {"[list]", "[list]", false},
        {"[a] [b]", "[b]", false},
        {"hello (fwd)", "hello", true},
        {"hello (FWD) (fwd)  ", "hello", true},
        {"[fwd: hello]", "hello", true},
        {"Re: [Fwd: Re: hello (fwd)]", "hello", true},
        {"Fwd: Re: [abc] [def] Re: x", "x", true},
        {"  hello   world  ", "hello world", false},
        {"Re:\thello\r\n world", "hello world", true},
        {"Reply: hello", "Reply: hello", false},
        {"Re", "Re", false},
        {"", "", false},
        {"Re: ", "", true},
        {"=?UTF-8?Q?Re=3A_caf=C3=A9?=", "caf\xc3\xa9", true},
        {"=?ISO-8859-1?Q?Gr=FC=DFe?= aus =?utf-8?B?S8O2bG4=?=", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln", false},
    };
    for (const auto& r : rows) {
        INFO(r.subject);
        auto b = extract_base_subject(r.subject);
        CHECK(b.subject == r.base);
        CHECK(b.reply_or_forward == r.reply);
    }
}

TEST_CASE("RFC 2047 encoded-words decode to UTF-8 and adjacent words join") {
    CHECK(decode_encoded_words("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab");
    CHECK(decode_encoded_words("=?utf-8?q?a?= b") == "a b");
    CHECK(decode_encoded_words("x =?utf-8?q?a?=") == "x a");
    CHECK(decode_encoded_words("=?windows-1252?Q?=80_5?=") == "\xe2\x82\xac 5");
    CHECK(decode_encoded_words("=?iso-8859-15?b?pA==?=") == "\xe2\x82\xac");
    CHECK(decode_encoded_words("=?utf-8*nl?Q?d=C3=A9?=") == "d\xc3\xa9");
    CHECK(decode_encoded_words("=?koi8-r?B?6w==?=") == "=?koi8-r?B?6w==?=");
    CHECK(decode_encoded_words("=?utf-8?X?abc?=") == "=?utf-8?X?abc?=");
    CHECK(decode_encoded_words("=?utf-8?q?no end") == "=?utf-8?q?no end");
    CHECK(decode_encoded_words("=?utf-8?B?S8O2bG4?=") == "K\xc3\xb6ln");  // missing padding tolerated
}

TEST_CASE("message ids are extracted from References and In-Reply-To") {
    CHECK(parse_msg_ids("<a@b> <c@d>\r\n <e@f>") == std::vector<std::string>{"<a@b>", "<c@d>", "<e@f>"});
    CHECK(parse_msg_ids("(comment <x@y>) <a@b>") == std::vector<std::string>{"<a@b>"});
    CHECK(parse_msg_ids("Your message of <a@b> \"quoted\"") == std::vector<std::string>{"<a@b>"});
    CHECK(parse_msg_ids("<no-at-sign> <bad id@x> <<a@b>") == std::vector<std::string>{"<a@b>"});
    CHECK(parse_msg_ids("").empty());
    CHECK(parse_msg_ids("<1@x><2@x><3@x>", 2) == std::vector<std::string>{"<2@x>", "<3@x>"});
    CHECK(compare_ascii_casemap("abc", "ABD") < 0);
    CHECK(compare_ascii_casemap("HELLO", "hello") == 0);
    CHECK(compare_ascii_casemap("ab", "a") > 0);
}

namespace {

thread_message msg(std::uint32_t id, std::string message_id, std::vector<std::string> refs, std::string subject,
                   std::int64_t date, std::string in_reply_to = {}) {
    thread_message m;
    m.id = id;
    m.sequence = id;
    m.message_id = std::move(message_id);
    m.references = std::move(refs);
    m.subject = std::move(subject);
    m.sent_date = date;
    m.in_reply_to = std::move(in_reply_to);
    return m;
}

}  // namespace

TEST_CASE("THREAD=ORDEREDSUBJECT groups by base subject and orders by sent date") {
    std::vector<thread_message> m = {
        msg(1, "", {}, "Lunch", 100),          msg(2, "", {}, "Re: lunch", 300),   msg(3, "", {}, "Budget", 50),
        msg(4, "", {}, "RE: LUNCH", 200),      msg(5, "", {}, "Re: Budget", 400),  msg(6, "", {}, "Solo", 150),
        msg(7, "", {}, "", 10),                msg(8, "", {}, "Re: ", 20),
    };
    // threads by the date of their first message: "" (7, child 8) at 10, Budget at 50,
    // Lunch at 100, Solo at 150; children in date order
    CHECK(format_threads(thread_orderedsubject(m)) == "(7 8)(3 5)(1 (4)(2))(6)");
    CHECK(format_threads(thread_orderedsubject({})) == "");
}

TEST_CASE("THREAD=REFERENCES links replies by References and In-Reply-To") {
    SECTION("a chain") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "a", 1), msg(2, "<2@x>", {"<1@x>"}, "Re: a", 2),
                                         msg(3, "<3@x>", {"<1@x>", "<2@x>"}, "Re: a", 3)};
        CHECK(format_threads(thread_references(m)) == "(1 2 3)");
    }
    SECTION("siblings sorted by date") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "a", 1), msg(2, "<2@x>", {"<1@x>"}, "Re: a", 5),
                                         msg(3, "<3@x>", {}, "b", 3, "<1@x>")};
        CHECK(format_threads(thread_references(m)) == "(1 (3)(2))");
    }
    SECTION("a missing parent with two children stays as a dummy at the top") {
        std::vector<thread_message> m = {msg(2, "<2@x>", {"<0@x>"}, "Re: x", 2), msg(3, "<3@x>", {"<0@x>"}, "Re: x", 1)};
        CHECK(format_threads(thread_references(m)) == "((3)(2))");
    }
    SECTION("a missing parent with one child is pruned") {
        std::vector<thread_message> m = {msg(2, "<2@x>", {"<0@x>", "<1@x>"}, "Re: x", 2)};
        CHECK(format_threads(thread_references(m)) == "(2)");
    }
    SECTION("dummies below the top are spliced out") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "x", 1), msg(3, "<3@x>", {"<1@x>", "<2@x>"}, "Re: x", 3),
                                         msg(4, "<4@x>", {"<1@x>", "<2@x>"}, "Re: x", 4)};
        CHECK(format_threads(thread_references(m)) == "(1 (3)(4))");
    }
    SECTION("replies without references join their thread by subject") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "hello", 1), msg(2, "<2@x>", {}, "Re: hello", 2),
                                         msg(3, "<3@x>", {}, "other", 3)};
        CHECK(format_threads(thread_references(m)) == "(1 2)(3)");
    }
    SECTION("two originals with the same subject get a dummy parent") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "hello", 2), msg(2, "<2@x>", {}, "hello", 1)};
        CHECK(format_threads(thread_references(m)) == "((2)(1))");
    }
    SECTION("threads are ordered by their first message's date") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "a", 300), msg(2, "<2@x>", {}, "b", 100),
                                         msg(3, "<3@x>", {}, "c", 200)};
        CHECK(format_threads(thread_references(m)) == "(2)(3)(1)");
    }
    SECTION("mutual references do not create a loop") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {"<2@x>"}, "a", 1), msg(2, "<2@x>", {"<1@x>"}, "b", 2)};
        CHECK(format_threads(thread_references(m)) == "(2 1)");
    }
    SECTION("a message referencing itself stays a root") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {"<1@x>"}, "a", 1)};
        CHECK(format_threads(thread_references(m)) == "(1)");
    }
    SECTION("duplicate Message-IDs get unique containers") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "a", 1), msg(2, "<1@x>", {}, "b", 2),
                                         msg(3, "<3@x>", {"<1@x>"}, "c", 3)};
        CHECK(format_threads(thread_references(m)) == "(1 3)(2)");
    }
    SECTION("an existing parent link is kept when References skip a generation") {
        std::vector<thread_message> m = {msg(1, "<1@x>", {}, "a", 1), msg(2, "<2@x>", {"<1@x>"}, "b", 2),
                                         msg(3, "<3@x>", {"<2@x>"}, "c", 3), msg(4, "<4@x>", {"<1@x>", "<3@x>"}, "d", 4)};
        CHECK(format_threads(thread_references(m)) == "(1 2 3 4)");
    }
    SECTION("messages without Message-ID still thread") {
        std::vector<thread_message> m = {msg(1, "", {}, "a", 1), msg(2, "", {}, "b", 2)};
        CHECK(format_threads(thread_references(m)) == "(1)(2)");
    }
}

TEST_CASE("THREAD=REFERENCES handles a 50000 message chain without deep recursion") {
    std::vector<thread_message> m;
    const std::uint32_t n = 50000;
    m.reserve(n);
    for (std::uint32_t i = 1; i <= n; ++i) {
        std::vector<std::string> refs;
        if (i > 1) refs.push_back("<" + std::to_string(i - 1) + "@x>");
        m.push_back(msg(i, "<" + std::to_string(i) + "@x>", std::move(refs), "chain", i));
    }
    auto forest = thread_references(m);
    REQUIRE(forest.roots.size() == 1);
    std::string text = format_threads(forest);
    CHECK(text.substr(0, 12) == "(1 2 3 4 5 6");
    CHECK(text.substr(text.size() - 13) == " 49999 50000)");
    CHECK(forest.nodes.size() == n);
}

TEST_CASE("format_threads renders nested and dummy threads per RFC 5256 section 4") {
    thread_forest f;
    f.nodes = {{0, {1, 2}}, {4, {}}, {5, {3}}, {6, {}}};
    f.roots = {0};
    CHECK(format_threads(f) == "((4)(5 6))");
}

TEST_CASE("SORT orders by RFC 5256 keys with REVERSE and sequence-number ties") {
    std::vector<sort_record> r(4);
    r[0] = {1, 1, 400, 100, 3000, "Re: Budget", "bob", "alice", "", "Bob B", "Alice"};
    r[1] = {2, 2, 300, 300, 1000, "agenda", "ALICE", "carol", "x", "alice", "Carol"};
    r[2] = {3, 3, 200, 200, 2000, "budget", "alice", "bob", "", "", ""};
    r[3] = {4, 4, 100, 100, 1000, "[fwd: Agenda]", "dave", "", "", "Dave", ""};
    auto ids = [&](std::vector<sort_criterion> c) { return sort_messages(r, c); };
    using v = std::vector<std::uint32_t>;
    CHECK(ids({{sort_key::arrival, false}}) == v{4, 3, 2, 1});
    CHECK(ids({{sort_key::arrival, true}}) == v{1, 2, 3, 4});
    CHECK(ids({{sort_key::date, false}}) == v{1, 4, 3, 2});             // equal dates: sequence order
    CHECK(ids({{sort_key::date, true}}) == v{2, 3, 1, 4});              // REVERSE, ties still ascending
    CHECK(ids({{sort_key::size, false}, {sort_key::date, true}}) == v{2, 4, 3, 1});
    CHECK(ids({{sort_key::subject, false}}) == v{2, 4, 1, 3});          // agenda, agenda, budget, budget
    CHECK(ids({{sort_key::from, false}}) == v{2, 3, 1, 4});             // case-insensitive: alice = ALICE
    CHECK(ids({{sort_key::to, false}}) == v{4, 1, 3, 2});               // empty sorts first
    CHECK(ids({{sort_key::cc, true}}) == v{2, 1, 3, 4});
    CHECK(ids({{sort_key::displayfrom, false}}) == v{3, 2, 1, 4});
    CHECK(ids({{sort_key::displayto, false}}) == v{3, 4, 1, 2});
    CHECK(sort_messages({}, std::vector<sort_criterion>{{sort_key::date, false}}).empty());
}
