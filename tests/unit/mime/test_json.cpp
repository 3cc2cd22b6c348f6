// test_json.cpp - the stored JSON form: round trips, NIL as null, non-UTF-8 raw values.
#include <catch2/catch.hpp>

#include "mail_fixture.hpp"
#include "polder/mime/json.hpp"

using namespace polder::mime;

TEST_CASE("mime JSON round-trips every test message") {
    for (const char* name : {"simple.eml", "alternative.eml", "mixed_attachment.eml", "nested_rfc822.eml",
                             "encoded_words.eml", "bad_charset.eml", "missing_end.eml", "lf_only.eml", "digest.eml",
                             "rfc3501_example.eml"}) {
        INFO(name);
        const auto m = parse(polder_test::read_mail(name));
        const nlohmann::json j = m;
        const std::string dumped = j.dump();
        const auto back = nlohmann::json::parse(dumped).get<message_info>();
        CHECK(back == m);
    }
}

TEST_CASE("mime JSON writes addresses as IMAP-like arrays with null for NIL") {
    const auto m = parse(polder_test::read_mail("encoded_words.eml"));
    const nlohmann::json j = m;
    CHECK(j["envelope"]["to"] == nlohmann::json::parse(R"([[null,null,"undisclosed-recipients",null],[null,null,null,null]])"));
    CHECK(j["envelope"]["bcc"] == nlohmann::json::array());
    CHECK(j["v"] == json_version);
}

TEST_CASE("mime JSON keeps raw header bytes that are not UTF-8 exactly") {
    const std::string raw = std::string("Subject: caf\xE9 \0 end\r\nFrom: \"Andr\xE9\" <a@b.example>\r\n\r\nx", 53);
    const auto m = parse(raw);
    REQUIRE(m.env.subject);
    CHECK(*m.env.subject == std::string("caf\xE9 \0 end", 10));
    const nlohmann::json j = m;
    CHECK(j["envelope"]["subject"].is_object());   // {"b64": ...}
    const std::string dumped = j.dump();          // must not throw on invalid UTF-8
    CHECK(dumped.find("\\u0000") == std::string::npos);   // PostgreSQL jsonb refuses \u0000
    const auto back = nlohmann::json::parse(dumped).get<message_info>();
    CHECK(back == m);
    CHECK(m.subject.rfind("caf\xC3\xA9 ", 0) == 0);   // decoded, NUL gone
    CHECK(m.subject.substr(m.subject.size() - 3) == "end");
    CHECK(m.subject.find('\0') == std::string::npos);
}

TEST_CASE("mime JSON refuses an unknown version") {
    nlohmann::json j = parse("Subject: x\r\n\r\n");
    j["v"] = 99;
    CHECK_THROWS(j.get<message_info>());
}
