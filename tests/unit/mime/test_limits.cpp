// test_limits.cpp - hostile messages: nesting bombs, part floods, header floods, huge text,
// and pseudo-random garbage - each must parse within its limits with exact offsets.
#include <catch2/catch.hpp>

#include "invariants.hpp"
#include "mail_fixture.hpp"

#include <random>

using namespace polder::mime;
using polder_test::check_invariants;

namespace {
bool has_problem(const message_info& m, std::string_view p) {
    return std::find(m.problems.begin(), m.problems.end(), p) != m.problems.end();
}
}  // namespace

TEST_CASE("mime stops at the depth limit for deeply nested multiparts") {
    std::string raw;
    const int depth = 5000;
    for (int i = 0; i < depth; ++i)
        raw += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" + std::to_string(i) + "\r\n";
    raw += "\r\ninnermost\r\n";
    for (int i = depth - 1; i >= 0; --i) raw += "--b" + std::to_string(i) + "--\r\n";
    limits lim;
    const auto m = parse(raw, lim);
    const std::size_t d = check_invariants(raw, m, lim);
    CHECK(d <= lim.max_depth + 1);
    CHECK(has_problem(m, "nesting depth limit reached"));
}

TEST_CASE("mime stops at the depth limit for deeply nested messages") {
    std::string raw;
    for (int i = 0; i < 5000; ++i) raw += "Subject: level " + std::to_string(i) + "\r\nContent-Type: message/rfc822\r\n\r\n";
    raw += "Subject: bottom\r\n\r\nbody\r\n";
    const auto m = parse(raw);
    CHECK(check_invariants(raw, m) <= limits{}.max_depth + 1);
    CHECK(has_problem(m, "nesting depth limit reached"));
}

TEST_CASE("mime stops creating parts at the part limit but keeps exact offsets") {
    std::string raw = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
    for (int i = 0; i < 3000; ++i) raw += "--p\r\n\r\nx\r\n";
    raw += "--p--\r\nepilogue\r\n";
    limits lim;
    lim.max_parts = 100;
    const auto m = parse(raw, lim);
    check_invariants(raw, m, lim);
    CHECK(m.body.children.size() == 99);   // the multipart itself is part number one of 100
    CHECK(m.body.body_end == raw.size());
    CHECK(has_problem(m, "part limit reached"));
}

TEST_CASE("mime caps recorded header fields and value lengths") {
    std::string raw;
    for (int i = 0; i < 3000; ++i) raw += "X-Flood-" + std::to_string(i) + ": v\r\n";
    raw += "Subject: " + std::string(200000, 's') + "\r\n\r\nbody";
    limits lim;
    const auto m = parse(raw, lim);
    check_invariants(raw, m, lim);
    CHECK(m.headers.size() == lim.max_header_fields);
    CHECK(has_problem(m, "header field limit reached"));
    CHECK(m.body.body_start == raw.size() - 4);   // offsets still exact beyond the limit
    // Subject is past the recorded fields: not in the envelope, but the body starts right.
    const auto m2 = parse("Subject: " + std::string(200000, 's') + "\r\n\r\nbody", lim);
    REQUIRE(m2.env.subject);
    CHECK(m2.env.subject->size() <= lim.max_header_value);
}

TEST_CASE("mime caps the full text and keeps it valid UTF-8") {
    std::string raw = "Content-Type: text/plain; charset=utf-8\r\n\r\n";
    for (int i = 0; i < 400000; ++i) raw += "\xC3\xA9";   // 800 KB of 'é'
    limits lim;
    lim.max_text = 1001;   // odd: a cut would split 'é'
    const auto m = parse(raw, lim);
    check_invariants(raw, m, lim);
    CHECK(m.text_truncated);
    CHECK(m.text.size() <= 1001);
    CHECK(m.text.size() >= 998);
}

TEST_CASE("mime survives pseudo-random garbage with exact offsets") {
    std::mt19937 rng(12345);
    const std::vector<std::string> pieces = {
        "Content-Type: multipart/mixed; boundary=a\r\n", "Content-Type: multipart/alternative; boundary=\"b\"\r\n",
        "Content-Type: message/rfc822\r\n", "Content-Type: text/html; charset=utf-8\r\n",
        "Content-Transfer-Encoding: base64\r\n", "Content-Transfer-Encoding: quoted-printable\r\n",
        "--a\r\n", "--b\r\n", "--a--\r\n", "--b--\r\n", "\r\n", "\n", "\r", "From: x <y@z>\r\n", " folded\r\n",
        "Subject: =?utf-8?q?=C3=A9?=\r\n", "PGh0bWw+\r\n", "=C3=A9=\r\n", "<p>&amp;</p>", "\xff\xfe\x00", "text line\r\n",
        "Content-Type: multipart/digest; boundary=a\r\n", ":\r\n", "--", "To: g:a@b;\r\n"};
    for (int round = 0; round < 3000; ++round) {
        std::string raw;
        const int n = static_cast<int>(rng() % 40);
        for (int i = 0; i < n; ++i) raw += pieces[rng() % pieces.size()];
        limits lim;
        lim.max_depth = 1 + rng() % 8;
        lim.max_parts = 1 + rng() % 50;
        lim.max_text = rng() % 200;
        INFO("round " << round);
        const auto m = parse(raw, lim);
        check_invariants(raw, m, lim);
    }
}

TEST_CASE("mime parse_file reads a message and refuses what it cannot") {
    std::string err;
    auto m = parse_file(std::string(POLDER_TEST_MAIL_DIR) + "/simple.eml", &err);
    REQUIRE(m);
    CHECK(m->env.subject == std::string("Lunch tomorrow?"));
    CHECK_FALSE(parse_file("/nonexistent/polder/message.eml", &err));
    CHECK(err.find("cannot") != std::string::npos);
    limits tiny;
    tiny.max_file_size = 10;
    CHECK_FALSE(parse_file(std::string(POLDER_TEST_MAIL_DIR) + "/simple.eml", &err, tiny));
    CHECK(err.find("larger") != std::string::npos);
}

TEST_CASE("mime section numbers are rejected unless well-formed") {
    const auto m = parse(polder_test::read_mail("nested_rfc822.eml"));
    for (const char* bad : {"0", "01", "1.", ".1", "1..2", "a", "2.1.", "-1", "99999999999", "3"})
        CHECK(find_part(m, bad) == nullptr);
    CHECK_FALSE(section_range(m, "", section_text::mime));
}
