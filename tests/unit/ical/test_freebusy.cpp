// test_freebusy.cpp - free/busy (RFC 4791 7.10): merged periods per FBTYPE, transparent,
// cancelled and declined events free, VFREEBUSY periods kept, VFREEBUSY output.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "polder/ical/freebusy.hpp"

using namespace polder::ical;
using polder_test::read_sample;

namespace {

utc_time t(const char* s) { return from_utc_text(s).value(); }

calendar_object obj(const std::string& comps) {
    auto v = validate("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + comps + "END:VCALENDAR\r\n");
    if (!v.ok()) throw std::runtime_error(v.reason);
    return std::move(*v.object);
}

calendar_object load(const std::string& file) {
    auto v = validate(read_sample(file));
    if (!v.ok()) throw std::runtime_error(file + ": " + v.reason);
    return std::move(*v.object);
}

std::string event(const char* uid, const char* start, const char* end, const char* extra = "") {
    return std::string("BEGIN:VEVENT\r\nUID:") + uid + "\r\nDTSTART:" + start + "\r\nDTEND:" + end + "\r\n" + extra +
           "END:VEVENT\r\n";
}

}  // namespace

TEST_CASE("free/busy merges overlapping busy events and keeps types apart") {
    const auto a = obj(event("a", "20260115T090000Z", "20260115T100000Z"));
    const auto b = obj(event("b", "20260115T093000Z", "20260115T110000Z"));
    const auto c = obj(event("c", "20260115T110000Z", "20260115T113000Z"));  // adjacent: merged
    const auto tent = obj(event("d", "20260115T140000Z", "20260115T150000Z", "STATUS:TENTATIVE\r\n"));
    const auto transparent = obj(event("e", "20260115T160000Z", "20260115T170000Z", "TRANSP:TRANSPARENT\r\n"));
    const auto cancelled = obj(event("f", "20260115T180000Z", "20260115T190000Z", "STATUS:CANCELLED\r\n"));
    const auto fb = load("freebusy_component.ics");
    const time_range day{t("20260115T000000Z"), t("20260116T000000Z")};
    const auto p = busy_periods({&a, &b, &c, &tent, &transparent, &cancelled, &fb}, day).value();
    REQUIRE(p.size() == 2);
    CHECK(p[0] == busy_period{t("20260115T090000Z"), t("20260115T113000Z"), busy_type::busy});
    CHECK(p[1] == busy_period{t("20260115T140000Z"), t("20260115T150000Z"), busy_type::busy_tentative});
}

TEST_CASE("free/busy clips to the range and expands recurring events") {
    const auto apple = load("apple_recurring.ics");
    const auto fb = load("freebusy_component.ics");
    const time_range jan{t("20260105T081500Z"), t("20260113T000000Z")};
    const auto p = busy_periods({&apple, &fb}, jan).value();
    REQUIRE(p.size() == 4);
    CHECK(p[0] == busy_period{t("20260105T081500Z"), t("20260105T083000Z"), busy_type::busy});  // clipped
    CHECK(p[1] == busy_period{t("20260105T090000Z"), t("20260105T100000Z"), busy_type::busy});  // VFREEBUSY
    CHECK(p[2] == busy_period{t("20260105T140000Z"), t("20260105T150000Z"), busy_type::busy});  // PT1H period
    CHECK(p[3] == busy_period{t("20260112T080000Z"), t("20260112T083000Z"), busy_type::busy});
}

TEST_CASE("an invitation the owner declined is free, one not yet answered is tentative") {
    const auto g = load("google_event.ics");  // eva DECLINED, dirk ACCEPTED
    const time_range r{t("20260210T000000Z"), t("20260211T000000Z")};
    freebusy_options eva;
    eva.owner_addresses = {"mailto:eva@gemeente.example"};
    CHECK(busy_periods({&g}, r, nullptr, eva).value().empty());
    freebusy_options dirk;
    dirk.owner_addresses = {"MAILTO:dirk@partner.example"};
    REQUIRE(busy_periods({&g}, r, nullptr, dirk).value().size() == 1);
    CHECK(busy_periods({&g}, r, nullptr, dirk).value()[0].type == busy_type::busy);
    const auto tb = load("thunderbird_event.ics");  // bram NEEDS-ACTION
    freebusy_options bram;
    bram.owner_addresses = {"mailto:bram@gemeente.example"};
    const auto p = busy_periods({&tb}, {t("20260115T000000Z"), t("20260116T000000Z")}, nullptr, bram).value();
    REQUIRE(p.size() == 1);
    CHECK(p[0].type == busy_type::busy_tentative);
}

TEST_CASE("all-day events are busy in the calendar's time zone unless transparent") {
    const auto day = obj("BEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:20260427\r\nDTEND;VALUE=DATE:20260428\r\nEND:VEVENT\r\n");
    const auto ams = time_zone::from_name("Europe/Amsterdam").value();
    const auto p = busy_periods({&day}, {t("20260420T000000Z"), t("20260501T000000Z")}, &ams).value();
    REQUIRE(p.size() == 1);
    CHECK(p[0].start == t("20260426T220000Z"));
    CHECK(p[0].end == t("20260427T220000Z"));
    const auto k = load("allday.ics");
    CHECK(busy_periods({&k}, {t("20260420T000000Z"), t("20260501T000000Z")}, &ams).value().empty());
}

TEST_CASE("free/busy needs a bounded range") {
    const auto a = obj(event("a", "20260115T090000Z", "20260115T100000Z"));
    CHECK_FALSE(busy_periods({&a}, time_range{t("20260115T000000Z"), std::nullopt}).has_value());
    CHECK_FALSE(busy_periods({&a}, time_range{t("20260116T000000Z"), t("20260115T000000Z")}).has_value());
    CHECK_FALSE(freebusy_calendar({}, time_range{}, {}).has_value());
}

TEST_CASE("the VFREEBUSY output is valid iCalendar with UTC periods and FBTYPE") {
    const std::vector<busy_period> p = {{t("20260115T090000Z"), t("20260115T113000Z"), busy_type::busy},
                                        {t("20260115T140000Z"), t("20260115T150000Z"), busy_type::busy_tentative}};
    const time_range day{t("20260115T000000Z"), t("20260116T000000Z")};
    const auto s = freebusy_calendar(p, day, {.dtstamp = t("20260101T000000Z")}).value();
    CHECK(s.find("BEGIN:VFREEBUSY") != std::string::npos);
    CHECK(s.find("DTSTART:20260115T000000Z") != std::string::npos);
    CHECK(s.find("DTEND:20260116T000000Z") != std::string::npos);
    CHECK(s.find("FREEBUSY;FBTYPE=BUSY:20260115T090000Z/20260115T113000Z") != std::string::npos);
    CHECK(s.find("FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260115T140000Z/20260115T150000Z") != std::string::npos);
    CHECK(s.find("METHOD") == std::string::npos);
    auto back = calendar_object::parse(s);
    REQUIRE(back.has_value());
    CHECK(back->kind() == component_kind::vfreebusy);
    const auto reply = freebusy_calendar(p, day, {.reply = true, .uid = "fb-req-1", .organizer = "mailto:a@x.example",
                                                  .attendee = "mailto:b@x.example", .dtstamp = 0})
                           .value();
    CHECK(reply.find("METHOD:REPLY") != std::string::npos);
    CHECK(reply.find("UID:fb-req-1") != std::string::npos);
    CHECK(reply.find("ATTENDEE:mailto:b@x.example") != std::string::npos);
}
