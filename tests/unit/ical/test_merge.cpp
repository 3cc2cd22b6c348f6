// test_merge.cpp - calendar_merger (polderctl export): many stored objects under one
// VCALENDAR, VTIMEZONEs once per TZID (a different definition renamed everywhere it is
// used), header values escaped and folded.
#include <catch2/catch.hpp>

#include "polder/ical/calendar.hpp"
#include "polder/ical/merge.hpp"

#include <string>

using namespace polder::ical;

namespace {

const std::string tz_a =
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\nX-LIC-LOCATION:Europe/Amsterdam\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
const std::string tz_b =
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\n"
    "DTSTART:19700101T000000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

std::string object(const std::string& uid, const std::string& tz, const std::string& extra = "") {
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" + tz +
           "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\n"
           "DTSTART;TZID=Europe/Amsterdam:20260105T090000\r\nDURATION:PT1H\r\nSUMMARY:x\r\n" + extra +
           "END:VEVENT\r\nEND:VCALENDAR\r\n";
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("calendar merger puts every object's components under one VCALENDAR with each VTIMEZONE once") {
    calendar_merger m({"Werk", "", "#ff0000"});
    std::string body;
    for (const char* uid : {"a@test", "b@test", "c@test"}) {
        auto r = m.add(object(uid, tz_a));
        REQUIRE(r);
        body += *r;
    }
    const std::string text = m.header() + body + calendar_merger::footer();
    CHECK(count(text, "BEGIN:VCALENDAR") == 1);
    CHECK(count(text, "BEGIN:VTIMEZONE") == 1);
    CHECK(count(text, "BEGIN:VEVENT") == 3);
    CHECK(m.objects() == 3);
    CHECK(m.components() == 3);
    CHECK(text.find("X-WR-CALNAME:Werk\r\n") != std::string::npos);
    CHECK(text.find("X-APPLE-CALENDAR-COLOR:#ff0000\r\n") != std::string::npos);
    // The result is one valid iCalendar stream that libical reads back.
    auto back = calendar_object::parse(text, limits{});
    REQUIRE(back.has_value());
}

TEST_CASE("calendar merger shares a VTIMEZONE that differs only in X- properties") {
    calendar_merger m({});
    std::string without_x = tz_a;
    without_x.erase(without_x.find("X-LIC-LOCATION"), std::string("X-LIC-LOCATION:Europe/Amsterdam\r\n").size());
    REQUIRE(m.add(object("a@test", tz_a)));
    REQUIRE(m.add(object("b@test", without_x)));
    CHECK(m.timezones() == 1);
}

TEST_CASE("calendar merger renames a different definition of a TZID everywhere the object uses it") {
    calendar_merger m({});
    REQUIRE(m.add(object("a@test", tz_a)));
    auto r = m.add(object("b@test", tz_b, "EXDATE;TZID=Europe/Amsterdam:20260112T090000\r\n"));
    REQUIRE(r);
    CHECK(m.timezones() == 2);
    CHECK(r->find("DTSTART;TZID=Europe/Amsterdam-2:") != std::string::npos);
    CHECK(r->find("EXDATE;TZID=Europe/Amsterdam-2:") != std::string::npos);
    const std::string h = m.header();
    CHECK(h.find("TZID:Europe/Amsterdam\r\n") != std::string::npos);
    CHECK(h.find("TZID:Europe/Amsterdam-2\r\n") != std::string::npos);
    // A third object with the second definition reuses the renamed zone.
    auto again = m.add(object("c@test", tz_b));
    REQUIRE(again);
    CHECK(m.timezones() == 2);
    CHECK(again->find("TZID=Europe/Amsterdam-2:") != std::string::npos);
}

TEST_CASE("calendar merger refuses what is not iCalendar") {
    calendar_merger m({});
    CHECK_FALSE(m.add("BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n"));
    CHECK_FALSE(m.add(std::string("BEGIN:VCALENDAR\r\n\0\r\nEND:VCALENDAR\r\n", 34)));
    CHECK(m.objects() == 0);
}

TEST_CASE("text content lines escape TEXT and fold at 75 octets without splitting UTF-8") {
    CHECK(text_content_line("X-WR-CALNAME", "a,b;c\\d\ne") == "X-WR-CALNAME:a\\,b\\;c\\\\d\\ne\r\n");
    CHECK(text_content_line("NAME", "a\rb\x01") == "NAME:ab\r\n");   // no control characters survive
    const std::string long_value(100, 'x');
    const std::string folded = text_content_line("NAME", long_value + "\xC3\xAB\xC3\xAB\xC3\xAB" + long_value);
    std::size_t start = 0;
    while (start < folded.size()) {
        const auto end = folded.find("\r\n", start);
        REQUIRE(end != std::string::npos);
        CHECK(end - start <= 75);
        // A continuation never starts inside a UTF-8 sequence.
        if (start > 0) CHECK((static_cast<unsigned char>(folded[start + 1]) & 0xC0) != 0x80);
        start = end + 2;
    }
    std::string unfolded;
    for (std::size_t i = 0; i < folded.size(); ++i) {
        if (folded.compare(i, 3, "\r\n ") == 0) {
            i += 2;
            continue;
        }
        unfolded += folded[i];
    }
    CHECK(unfolded == "NAME:" + long_value + "\xC3\xAB\xC3\xAB\xC3\xAB" + long_value + "\r\n");
}
