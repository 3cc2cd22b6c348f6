// test_reply.cpp - reply formatting: multi-line replies, enhanced codes, sanitising.
#include <catch2/catch.hpp>

#include "polder/smtp/proto/reply.hpp"

using namespace polder::smtp;

TEST_CASE("reply formats a single line with its enhanced status code") {
    CHECK(reply(250, "2.1.0", "Sender OK").to_wire() == "250 2.1.0 Sender OK\r\n");
    CHECK(reply(250, "2.1.0", "Sender OK").to_wire(false) == "250 Sender OK\r\n");
    CHECK(reply(220, "", "mx ESMTP").to_wire() == "220 mx ESMTP\r\n");
}

TEST_CASE("reply formats multi-line replies with a hyphen on all but the last line") {
    reply r(550, "5.7.1", std::vector<std::string>{"first", "second", "third"});
    CHECK(r.to_wire() == "550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n");
    CHECK(r.text() == "first; second; third");
}

TEST_CASE("reply never lets text inject CR or LF and caps line length") {
    reply r(550, "5.1.1", "user\r\n250 2.0.0 fake\x00x");
    const std::string w = r.to_wire();
    CHECK(w.find("\r\n") == w.size() - 2);
    reply l(550, "5.1.1", std::string(2000, 'x'));
    CHECK(l.to_wire().size() <= 512);
}

TEST_CASE("reply with no lines still renders a valid line") {
    reply r;
    r.code = 354;
    r.lines.clear();
    CHECK(r.to_wire() == "354 \r\n");
}
