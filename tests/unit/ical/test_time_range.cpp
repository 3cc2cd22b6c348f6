// test_time_range.cpp - RFC 4791 9.9 time ranges and recurrence expansion: every row of
// the VEVENT/VTODO/VJOURNAL/VFREEBUSY tables, VALARM, RRULE/RDATE/EXDATE, overrides incl.
// THISANDFUTURE, all-day and floating times in a calendar time zone, and the limits.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "polder/ical/calendar.hpp"
#include "polder/ical/time_range.hpp"

#include <atomic>
#include <thread>

using namespace polder::ical;
using polder_test::read_sample;

namespace {

utc_time t(const char* s) { return from_utc_text(s).value(); }
time_range r(const char* a, const char* b) { return {t(a), t(b)}; }

calendar_object load(const std::string& file) {
    auto v = validate(read_sample(file));
    if (!v.ok()) throw std::runtime_error(file + ": " + v.reason);
    return std::move(*v.object);
}

calendar_object inline_object(const std::string& comps) {
    auto v = validate("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + comps + "END:VCALENDAR\r\n");
    if (!v.ok()) throw std::runtime_error(v.reason);
    return std::move(*v.object);
}

time_zone amsterdam() { return time_zone::from_name("Europe/Amsterdam").value(); }

}  // namespace

TEST_CASE("utc text converts both ways and refuses malformed values") {
    CHECK(to_utc_text(0) == "19700101T000000Z");
    CHECK(from_utc_text("20260115T090000Z").value() == 1768467600);
    CHECK(to_utc_text(1768467600) == "20260115T090000Z");
    CHECK_FALSE(from_utc_text("20260115T090000"));
    CHECK_FALSE(from_utc_text("20261315T090000Z"));
    CHECK_FALSE(from_utc_text("20260230T090000Z"));
    CHECK_FALSE(from_utc_text("2026011XT090000Z"));
}

TEST_CASE("time zones come from the system database or from a calendar-timezone VTIMEZONE") {
    const auto ams = amsterdam();
    CHECK(ams.offset(t("20260115T120000Z")) == 3600);
    CHECK(ams.offset(t("20260715T120000Z")) == 7200);
    CHECK_FALSE(time_zone::from_name("Mars/Olympus_Mons").has_value());
    const auto sample = read_sample("thunderbird_event.ics");
    const auto tz_text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" +
                         sample.substr(sample.find("BEGIN:VTIMEZONE"),
                                       sample.find("END:VTIMEZONE") + 15 - sample.find("BEGIN:VTIMEZONE")) +
                         "END:VCALENDAR\r\n";
    auto tz = time_zone::from_ical(tz_text);
    REQUIRE(tz.has_value());
    CHECK(tz->tzid() == "Europe/Amsterdam");
    CHECK(tz->offset(t("20260715T120000Z")) == 7200);
    CHECK_FALSE(time_zone::from_ical("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n").has_value());
    CHECK(time_zone::utc().offset(t("20260715T120000Z")) == 0);
}

TEST_CASE("a timed event overlaps a range only when start < DTEND and end > DTSTART") {
    const auto o = load("thunderbird_event.ics");  // 09:00-10:30Z
    CHECK(overlaps(o, r("20260115T000000Z", "20260116T000000Z")));
    CHECK(overlaps(o, r("20260115T102959Z", "20260115T110000Z")));
    CHECK_FALSE(overlaps(o, r("20260115T103000Z", "20260115T110000Z")));  // starts at DTEND
    CHECK_FALSE(overlaps(o, r("20260115T080000Z", "20260115T090000Z")));  // ends at DTSTART
    CHECK(overlaps(o, time_range{std::nullopt, t("20260115T090001Z")}));
    CHECK(overlaps(o, time_range{t("20260115T100000Z"), std::nullopt}));
    CHECK(overlaps(o, time_range{}));
}

TEST_CASE("the VEVENT table's rows without DTEND follow RFC 4791 9.9") {
    // DURATION > 0
    const auto d = inline_object("BEGIN:VEVENT\r\nUID:d\r\nDTSTART:20260101T100000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n");
    CHECK(overlaps(d, r("20260101T105959Z", "20260101T120000Z")));
    CHECK_FALSE(overlaps(d, r("20260101T110000Z", "20260101T120000Z")));
    // DURATION = 0: start <= DTSTART AND end > DTSTART
    const auto z = inline_object("BEGIN:VEVENT\r\nUID:z\r\nDTSTART:20260101T100000Z\r\nDURATION:PT0S\r\nEND:VEVENT\r\n");
    CHECK(overlaps(z, r("20260101T100000Z", "20260101T100001Z")));
    CHECK_FALSE(overlaps(z, r("20260101T090000Z", "20260101T100000Z")));
    // DATE-TIME without DTEND/DURATION: a point
    const auto p = inline_object("BEGIN:VEVENT\r\nUID:p\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\n");
    CHECK(overlaps(p, r("20260101T100000Z", "20260101T100001Z")));
    CHECK_FALSE(overlaps(p, r("20260101T100001Z", "20260101T110000Z")));
    // DATE without DTEND: one day
    const auto a = inline_object("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260101\r\nEND:VEVENT\r\n");
    CHECK(overlaps(a, r("20260101T235959Z", "20260102T010000Z")));
    CHECK_FALSE(overlaps(a, r("20260102T000000Z", "20260102T010000Z")));
}

TEST_CASE("floating times and all-day events are read in the calendar's time zone") {
    const auto ams = amsterdam();
    const auto f = load("floating.ics");  // 12:00-13:00 local
    CHECK(overlaps(f, r("20260601T120000Z", "20260601T123000Z")));          // as UTC
    CHECK_FALSE(overlaps(f, r("20260601T120000Z", "20260601T123000Z"), &ams));  // 10:00-11:00Z in CEST
    CHECK(overlaps(f, r("20260601T100000Z", "20260601T103000Z"), &ams));
    const auto k = load("allday.ics");  // 27 April, CEST: 26 Apr 22:00Z - 27 Apr 22:00Z
    CHECK(overlaps(k, r("20260426T220000Z", "20260426T230000Z"), &ams));
    CHECK_FALSE(overlaps(k, r("20260427T220000Z", "20260427T230000Z"), &ams));
    CHECK(overlaps(k, r("20260427T220000Z", "20260427T230000Z")));
    const auto e = expand(k, time_range{}, &ams);
    REQUIRE(e.instances.size() == 1);
    CHECK(e.instances[0].all_day);
    CHECK(e.instances[0].start == t("20260426T220000Z"));
    CHECK(e.instances[0].end == t("20260427T220000Z"));
}

TEST_CASE("an Apple series expands without its EXDATE and with its moved instance") {
    const auto o = load("apple_recurring.ics");
    const auto e = expand(o, r("20260101T000000Z", "20260401T000000Z"));
    CHECK_FALSE(e.truncated);
    REQUIRE(e.instances.size() == 9);  // 10 Mondays minus 19 January
    CHECK(e.instances[0].start == t("20260105T080000Z"));
    CHECK(e.instances[0].end == t("20260105T083000Z"));
    CHECK(e.instances[0].recurrence_id == t("20260105T080000Z"));
    CHECK(e.instances[1].start == t("20260112T080000Z"));
    CHECK(e.instances[2].start == t("20260127T140000Z"));  // moved from 26 Jan 09:00 to 27 Jan 15:00
    CHECK(e.instances[2].overridden);
    CHECK(e.instances[2].recurrence_id == t("20260126T080000Z"));
    CHECK(e.instances[2].component == 1);
    CHECK(e.instances[8].start == t("20260309T080000Z"));
    // Time ranges see the exception, the move and the end of the series.
    CHECK_FALSE(overlaps(o, r("20260119T000000Z", "20260120T000000Z")));
    CHECK_FALSE(overlaps(o, r("20260126T000000Z", "20260127T000000Z")));
    CHECK(overlaps(o, r("20260127T000000Z", "20260128T000000Z")));
    CHECK_FALSE(overlaps(o, r("20260316T000000Z", "20260317T000000Z")));
}

TEST_CASE("a series in a zone with DST keeps its local time across the change") {
    const auto o = load("unbounded_daily.ics");  // 08:30 Europe/Amsterdam on weekdays since 2020
    const auto winter = expand(o, r("20260323T000000Z", "20260328T000000Z"));
    REQUIRE(winter.instances.size() == 5);
    CHECK(winter.instances[0].start == t("20260323T073000Z"));
    const auto summer = expand(o, r("20260330T000000Z", "20260404T000000Z"));
    REQUIRE(summer.instances.size() == 5);
    CHECK(summer.instances[0].start == t("20260330T063000Z"));
    CHECK(summer.instances[0].end == t("20260330T070000Z"));
    CHECK_FALSE(overlaps(o, r("20260328T000000Z", "20260330T000000Z")));  // weekend
    CHECK(overlaps(o, r("20300101T000000Z", "20300102T000000Z")));         // far future, no end
}

TEST_CASE("RDATE with PERIOD and dates adds instances and EXDATE removes one") {
    const auto o = load("rdate_period.ics");
    const auto e = expand(o, r("20260301T000000Z", "20260401T000000Z"));
    REQUIRE(e.instances.size() == 3);
    CHECK(e.instances[0].start == t("20260302T090000Z"));
    CHECK(e.instances[1].start == t("20260310T130000Z"));
    CHECK(e.instances[1].end == t("20260310T170000Z"));
    CHECK(e.instances[2].start == t("20260320T090000Z"));
    CHECK(e.instances[2].end == t("20260320T100000Z"));
    CHECK_FALSE(overlaps(o, r("20260325T000000Z", "20260326T000000Z")));
}

TEST_CASE("a THISANDFUTURE override moves the rest of the series") {
    const auto o = load("thisandfuture.ics");
    const auto e = expand(o, time_range{});
    REQUIRE(e.instances.size() == 10);
    CHECK(e.instances[4].start == t("20260109T080000Z"));
    CHECK(e.instances[4].end == t("20260109T081500Z"));
    CHECK(e.instances[5].start == t("20260110T090000Z"));
    CHECK(e.instances[5].end == t("20260110T093000Z"));
    CHECK(e.instances[9].start == t("20260114T090000Z"));
    CHECK(e.instances[9].end == t("20260114T093000Z"));
    CHECK(e.instances[9].recurrence_id == t("20260114T080000Z"));
    CHECK_FALSE(overlaps(o, r("20260112T080000Z", "20260112T081500Z")));
    CHECK(overlaps(o, r("20260112T090000Z", "20260112T091500Z")));
}

TEST_CASE("a yearly all-day series from 1985 expands in a later year") {
    const auto o = load("allday_recurring.ics");
    const auto e = expand(o, r("20260301T000000Z", "20260401T000000Z"));
    REQUIRE(e.instances.size() == 1);
    CHECK(e.instances[0].start == t("20260312T000000Z"));
    CHECK(e.instances[0].recurrence_id == t("20260312T000000Z"));
}

TEST_CASE("expansion stops at the instance limit and says so") {
    const auto o = load("unbounded_daily.ics");
    limits lim;
    lim.max_instances = 10;
    const auto e = expand(o, time_range{}, nullptr, lim);
    CHECK(e.instances.size() == 10);
    CHECK(e.truncated);
    const auto bounded = expand(o, r("20260105T000000Z", "20260110T000000Z"), nullptr, lim);
    CHECK(bounded.instances.size() == 5);
    CHECK_FALSE(bounded.truncated);
}

TEST_CASE("a leap-day rule skips the years without 29 February") {
    const auto o = inline_object(
        "BEGIN:VEVENT\r\nUID:leap\r\nDTSTART:20240229T100000Z\r\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29\r\nEND:VEVENT\r\n");
    const auto e = expand(o, r("20250101T000000Z", "20330101T000000Z"));
    REQUIRE(e.instances.size() == 2);
    CHECK(e.instances[0].start == t("20280229T100000Z"));
    CHECK(e.instances[1].start == t("20320229T100000Z"));
    CHECK_FALSE(overlaps(o, r("20250101T000000Z", "20280101T000000Z")));
}

TEST_CASE("rules that never match or would spin libical are refused") {
    const std::string head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:r\r\nDTSTART:20260101T100000Z\r\nRRULE:";
    const std::string tail = "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    for (const char* rule : {"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
                             "FREQ=MINUTELY;BYDAY=MO", "FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31"}) {
        INFO(rule);
        CHECK(validate(head + rule + tail).failed == precondition::valid_calendar_data);
    }
    CHECK(validate(head + "FREQ=MINUTELY;INTERVAL=15;BYHOUR=9,10" + tail).ok());
    // A stored object with such a rule (parsed without validation) keeps only DTSTART.
    auto stored = calendar_object::parse(head + "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30" + tail);
    REQUIRE(stored.has_value());
    CHECK(expand(*stored, time_range{}).instances.size() == 1);
}

TEST_CASE("an empty property value as Google writes it is dropped with a warning") {
    const auto v = validate(read_sample("google_event.ics"));
    REQUIRE(v.ok());
    REQUIRE(v.warnings.size() == 1);
    CHECK(v.warnings[0].find("LOCATION") != std::string::npos);
    CHECK(v.object->to_string().find("X-LIC-ERROR") == std::string::npos);
}

TEST_CASE("the VTODO table's rows follow RFC 4791 9.9") {
    const auto due = load("todo.ics");  // DTSTART 1 Feb 08:00Z, DUE 15 Feb 16:00Z
    CHECK(overlaps(due, r("20260210T000000Z", "20260211T000000Z")));
    CHECK(overlaps(due, r("20260215T155959Z", "20260216T000000Z")));
    CHECK_FALSE(overlaps(due, r("20260215T160000Z", "20260216T000000Z")));
    CHECK_FALSE(overlaps(due, r("20260101T000000Z", "20260201T080000Z")));
    CHECK(overlaps(load("todo_undated.ics"), r("19990101T000000Z", "19990102T000000Z")));  // always
    const auto only_due = inline_object("BEGIN:VTODO\r\nUID:x\r\nDUE:20260101T100000Z\r\nEND:VTODO\r\n");
    CHECK(overlaps(only_due, r("20260101T000000Z", "20260101T100000Z")));  // end >= DUE
    CHECK_FALSE(overlaps(only_due, r("20260101T100000Z", "20260102T000000Z")));  // start < DUE fails
    const auto completed =
        inline_object("BEGIN:VTODO\r\nUID:x\r\nCOMPLETED:20260101T100000Z\r\nEND:VTODO\r\n");
    CHECK(overlaps(completed, r("20260101T100000Z", "20260101T100000Z")));
    CHECK_FALSE(overlaps(completed, r("20260101T100001Z", "20260102T000000Z")));
    const auto created = inline_object("BEGIN:VTODO\r\nUID:x\r\nCREATED:20260101T100000Z\r\nEND:VTODO\r\n");
    CHECK(overlaps(created, r("20200101T000000Z", "20260101T100001Z")));
    CHECK_FALSE(overlaps(created, r("20200101T000000Z", "20260101T100000Z")));
    const auto dur = inline_object("BEGIN:VTODO\r\nUID:x\r\nDTSTART:20260101T100000Z\r\nDURATION:PT1H\r\nEND:VTODO\r\n");
    CHECK(overlaps(dur, r("20260101T110000Z", "20260101T120000Z")));  // start <= DTSTART+DURATION
    CHECK_FALSE(overlaps(dur, r("20260101T110001Z", "20260101T120000Z")));
}

TEST_CASE("the VJOURNAL and VFREEBUSY tables follow RFC 4791 9.9") {
    const auto j = load("journal.ics");  // DATE 5 January
    CHECK(overlaps(j, r("20260105T120000Z", "20260105T130000Z")));
    CHECK_FALSE(overlaps(j, r("20260106T000000Z", "20260107T000000Z")));
    const auto nodate = inline_object("BEGIN:VJOURNAL\r\nUID:x\r\nSUMMARY:n\r\nEND:VJOURNAL\r\n");
    CHECK_FALSE(overlaps(nodate, time_range{}));
    const auto fb = load("freebusy_component.ics");
    CHECK(overlaps(fb, r("20260105T093000Z", "20260105T094000Z")));
    CHECK(overlaps(fb, r("20260105T143000Z", "20260105T150000Z")));
    CHECK_FALSE(overlaps(fb, r("20260105T100000Z", "20260105T140000Z")));
    const auto span = inline_object(
        "BEGIN:VFREEBUSY\r\nUID:x\r\nDTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\nEND:VFREEBUSY\r\n");
    CHECK(overlaps(span, r("20260106T000000Z", "20260107T000000Z")));  // start <= DTEND
}

TEST_CASE("alarm time ranges test each trigger, also of recurring instances") {
    const auto o = load("thunderbird_event.ics");  // fires 15 minutes before 09:00Z
    CHECK(alarm_overlaps(o, r("20260115T084000Z", "20260115T085000Z")));
    CHECK_FALSE(alarm_overlaps(o, r("20260115T085000Z", "20260115T090000Z")));
    const auto rec = inline_object(
        "BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T100000Z\r\nDTEND:20260101T110000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:a\r\nTRIGGER;RELATED=END:PT5M\r\nREPEAT:2\r\nDURATION:PT10M\r\n"
        "END:VALARM\r\nEND:VEVENT\r\n");
    CHECK(alarm_overlaps(rec, r("20260103T110500Z", "20260103T110501Z")));
    CHECK(alarm_overlaps(rec, r("20260103T112500Z", "20260103T112501Z")));  // second repeat
    CHECK_FALSE(alarm_overlaps(rec, r("20260103T113500Z", "20260104T000000Z")));
    CHECK_FALSE(alarm_overlaps(rec, r("20260104T110500Z", "20260104T110501Z")));  // after COUNT
    CHECK_FALSE(alarm_overlaps(load("google_event.ics"), time_range{}));
}

TEST_CASE("objects sharing a VTIMEZONE are validated and expanded from several threads at once") {
    const auto tb = read_sample("thunderbird_event.ics");
    const auto apple = read_sample("apple_recurring.ics");
    const auto daily = read_sample("unbounded_daily.ics");
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                const auto a = validate(tb);
                const auto b = validate(apple);
                const auto c = validate(daily);
                if (!a.ok() || !b.ok() || !c.ok() || a.index.dtstart != t("20260115T090000Z")) {
                    ++failures;
                    continue;
                }
                if (expand(*b.object, r("20260101T000000Z", "20260401T000000Z")).instances.size() != 9) ++failures;
                if (expand(*c.object, r("20260330T000000Z", "20260404T000000Z")).instances.size() != 5) ++failures;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(failures == 0);
}
