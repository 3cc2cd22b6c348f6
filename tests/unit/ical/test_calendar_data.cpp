// test_calendar_data.cpp - calendar-data output (RFC 4791 9.6): expand,
// limit-recurrence-set, limit-freebusy-set and partial retrieval.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "polder/ical/calendar_data.hpp"

using namespace polder::ical;
using polder_test::read_sample;

namespace {

utc_time t(const char* s) { return from_utc_text(s).value(); }

calendar_object load(const std::string& file) {
    auto v = validate(read_sample(file));
    if (!v.ok()) throw std::runtime_error(file + ": " + v.reason);
    return std::move(*v.object);
}

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("without options calendar-data is the whole object") {
    const auto o = load("thunderbird_event.ics");
    const auto s = calendar_data(o, {}).value();
    CHECK(s == o.to_string());
}

TEST_CASE("expand returns one VEVENT per instance in UTC without rules or time zones") {
    const auto o = load("apple_recurring.ics");
    calendar_data_request req;
    req.expand = time_range{t("20260101T000000Z"), t("20260201T000000Z")};
    const auto s = calendar_data(o, req).value();
    CHECK(count(s, "BEGIN:VEVENT") == 3);  // 5 and 12 January, 26 January moved to the 27th; 19th excluded
    CHECK(s.find("RRULE") == std::string::npos);
    CHECK(s.find("EXDATE") == std::string::npos);
    CHECK(s.find("VTIMEZONE") == std::string::npos);
    CHECK(s.find("TZID") == std::string::npos);
    CHECK(s.find("RECURRENCE-ID:20260105T080000Z") != std::string::npos);
    CHECK(s.find("DTSTART:20260105T080000Z") != std::string::npos);
    CHECK(s.find("DTEND:20260105T083000Z") != std::string::npos);
    CHECK(s.find("RECURRENCE-ID:20260126T080000Z") != std::string::npos);
    CHECK(s.find("DTSTART:20260127T140000Z") != std::string::npos);
    CHECK(s.find("Weekstart team (verplaatst)") != std::string::npos);
    // The result is itself a valid CalDAV object: three instances of one UID.
    const auto back = validate(s);
    REQUIRE(back.ok());
    CHECK(back.uid == o.uid());
    CHECK(back.index.override_count == 3);
}

TEST_CASE("expand keeps DATE values of an all-day series") {
    const auto o = load("allday_recurring.ics");
    calendar_data_request req;
    req.expand = time_range{t("20260101T000000Z"), t("20270101T000000Z")};
    const auto s = calendar_data(o, req).value();
    CHECK(count(s, "BEGIN:VEVENT") == 1);
    CHECK(s.find("DTSTART;VALUE=DATE:20260312") != std::string::npos);
    CHECK(s.find("RECURRENCE-ID;VALUE=DATE:20260312") != std::string::npos);
}

TEST_CASE("expand of a THISANDFUTURE series writes the moved times") {
    const auto o = load("thisandfuture.ics");
    calendar_data_request req;
    req.expand = time_range{t("20260112T000000Z"), t("20260113T000000Z")};
    const auto s = calendar_data(o, req).value();
    CHECK(count(s, "BEGIN:VEVENT") == 1);
    CHECK(s.find("DTSTART:20260112T090000Z") != std::string::npos);
    CHECK(s.find("DTEND:20260112T093000Z") != std::string::npos);
    CHECK(s.find("RECURRENCE-ID:20260112T080000Z") != std::string::npos);
    CHECK(s.find("RANGE=") == std::string::npos);
}

TEST_CASE("limit-recurrence-set keeps the master and only overrides in the range") {
    const auto o = load("apple_recurring.ics");
    calendar_data_request req;
    req.limit_recurrence_set = time_range{t("20260201T000000Z"), t("20260301T000000Z")};
    auto s = calendar_data(o, req).value();
    CHECK(count(s, "BEGIN:VEVENT") == 1);
    CHECK(s.find("RRULE") != std::string::npos);
    req.limit_recurrence_set = time_range{t("20260127T000000Z"), t("20260128T000000Z")};
    s = calendar_data(o, req).value();
    CHECK(count(s, "BEGIN:VEVENT") == 2);
    CHECK(s.find("RECURRENCE-ID") != std::string::npos);
}

TEST_CASE("limit-freebusy-set keeps only the periods in the range") {
    const auto o = load("freebusy_component.ics");
    calendar_data_request req;
    req.limit_freebusy_set = time_range{t("20260105T130000Z"), t("20260105T180000Z")};
    const auto s = calendar_data(o, req).value();
    CHECK(count(s, "FREEBUSY") == 3);  // BEGIN/END:VFREEBUSY and one period
    CHECK(s.find("20260105T140000Z") != std::string::npos);
    CHECK(s.find("20260105T090000Z") == std::string::npos);
}

TEST_CASE("partial retrieval returns only the selected components and properties") {
    const auto o = load("thunderbird_event.ics");
    comp_selection sel{.name = "VCALENDAR", .props = {{"VERSION"}}};
    sel.comps.push_back(comp_selection{.name = "VEVENT", .props = {{"SUMMARY"}, {"UID"}, {"DESCRIPTION", true}}});
    calendar_data_request req;
    req.select = sel;
    const auto s = calendar_data(o, req).value();
    CHECK(s ==
          "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:6b5c2a3e-7d1f-4e2a-9a0b-1c2d3e4f5a6b\r\n"
          "SUMMARY:Werkoverleg afdeling Burgerzaken\r\nDESCRIPTION:\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    comp_selection all{.name = "VCALENDAR", .all_props = true};
    all.comps.push_back(comp_selection{.name = "VEVENT", .props = {{"DTSTART"}}, .all_comps = true});
    req.select = all;
    const auto a = calendar_data(o, req).value();
    CHECK(a.find("PRODID") != std::string::npos);
    CHECK(a.find("DTSTART;TZID=Europe/Amsterdam:20260115T100000") != std::string::npos);
    CHECK(a.find("BEGIN:VALARM") != std::string::npos);
    CHECK(a.find("VTIMEZONE") == std::string::npos);
    CHECK(a.find("SUMMARY") == std::string::npos);
    req.select = comp_selection{.name = "VEVENT"};
    CHECK_FALSE(calendar_data(o, req).has_value());
}

TEST_CASE("expand writes zoned times in UTC and keeps floating times floating") {
    const auto outlook = load("outlook_event.ics");
    calendar_data_request req;
    req.expand = time_range{t("20260401T000000Z"), t("20260402T000000Z")};
    const auto s = calendar_data(outlook, req).value();
    CHECK(s.find("DTSTART:20260401T130000Z") != std::string::npos);
    CHECK(s.find("DTEND:20260401T143000Z") != std::string::npos);
    CHECK(s.find("W. Europe") == std::string::npos);
    CHECK(s.find("RECURRENCE-ID") == std::string::npos);  // not a recurring event
    const auto floating = load("floating.ics");
    const auto ams = time_zone::from_name("Europe/Amsterdam").value();
    req.expand = time_range{t("20260601T000000Z"), t("20260602T000000Z")};
    const auto f = calendar_data(floating, req, &ams).value();
    CHECK(f.find("DTSTART:20260601T120000\r\n") != std::string::npos);
    CHECK(f.find("DTEND:20260601T130000\r\n") != std::string::npos);
    req.expand = time_range{t("20260602T000000Z"), t("20260603T000000Z")};
    CHECK(calendar_data(floating, req, &ams).value().find("BEGIN:VEVENT") == std::string::npos);
}
