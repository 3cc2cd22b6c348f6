// test_validate.cpp - CalDAV PUT validation (RFC 4791 4.1, 5.3.2.1) and the index
// values, on samples written the way Thunderbird, Apple, Google and Outlook write them.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "polder/ical/calendar.hpp"
#include "polder/ical/time_range.hpp"

using namespace polder::ical;
using polder_test::read_sample;

namespace {
utc_time t(const char* s) { return from_utc_text(s).value(); }
}  // namespace

TEST_CASE("a Thunderbird event with VTIMEZONE, attendees and an alarm is valid and indexed") {
    const auto v = validate(read_sample("thunderbird_event.ics"));
    REQUIRE(v.ok());
    CHECK(v.failed == precondition::none);
    CHECK(v.uid == "6b5c2a3e-7d1f-4e2a-9a0b-1c2d3e4f5a6b");
    CHECK(v.kind == component_kind::vevent);
    const auto& ix = v.index;
    CHECK(ix.summary == "Werkoverleg afdeling Burgerzaken");
    CHECK(ix.dtstart == t("20260115T090000Z"));  // 10:00 CET
    CHECK(ix.dtend == t("20260115T103000Z"));
    CHECK_FALSE(ix.floating);
    CHECK_FALSE(ix.all_day);
    CHECK_FALSE(ix.recurring);
    CHECK(ix.first_start == t("20260115T090000Z"));
    CHECK(ix.last_end == t("20260115T103000Z"));
    CHECK_FALSE(ix.unbounded);
    CHECK(ix.organizer == "mailto:anna@gemeente.example");
    REQUIRE(ix.attendees.size() == 3);
    CHECK(ix.attendees[0].partstat == "ACCEPTED");
    CHECK(ix.attendees[0].role == "CHAIR");
    CHECK(ix.attendees[1].address == "mailto:bram@gemeente.example");
    CHECK(ix.attendees[1].partstat == "NEEDS-ACTION");
    CHECK(ix.attendees[1].rsvp);
    CHECK(ix.attendees[2].cn == "Vries, Cor de");
    CHECK(ix.attendees[2].partstat == "TENTATIVE");
    CHECK(ix.sequence == 2);
    CHECK(ix.transparency == "OPAQUE");
    CHECK(ix.status == "CONFIRMED");
    CHECK(v.warnings.empty());
}

TEST_CASE("an Apple weekly series with EXDATE and a moved instance is indexed over its whole set") {
    const auto v = validate(read_sample("apple_recurring.ics"));
    REQUIRE(v.ok());
    CHECK(v.index.recurring);
    CHECK(v.index.override_count == 1);
    CHECK(v.index.summary == "Weekstart team");
    CHECK(v.index.first_start == t("20260105T080000Z"));
    // COUNT=10 Mondays from 5 January: the last is 9 March, 09:00-09:30 CET.
    CHECK(v.index.last_end == t("20260309T083000Z"));
    CHECK_FALSE(v.index.unbounded);
}

TEST_CASE("a Google event in UTC with external attendees is valid") {
    const auto v = validate(read_sample("google_event.ics"));
    REQUIRE(v.ok());
    CHECK(v.uid == "0v1n2b3m4k5j6h7g8f9d0s1a2p@google.com");
    CHECK(v.index.dtstart == t("20260210T130000Z"));
    CHECK(v.index.dtend == t("20260210T140000Z"));
    REQUIRE(v.index.attendees.size() == 2);
    CHECK(v.index.attendees[1].partstat == "DECLINED");
    CHECK(v.index.attendees[1].cutype == "INDIVIDUAL");
}

TEST_CASE("an Outlook event with a Windows time zone name resolves through its VTIMEZONE") {
    const auto v = validate(read_sample("outlook_event.ics"));
    REQUIRE(v.ok());
    CHECK(v.index.dtstart == t("20260401T130000Z"));  // 15:00 CEST
    CHECK(v.index.dtend == t("20260401T143000Z"));
}

TEST_CASE("all-day and floating events are flagged and read as UTC in the index") {
    const auto a = validate(read_sample("allday.ics"));
    REQUIRE(a.ok());
    CHECK(a.index.all_day);
    CHECK(a.index.floating);
    CHECK(a.index.dtstart == t("20260427T000000Z"));
    CHECK(a.index.dtend == t("20260428T000000Z"));
    CHECK(a.index.transparency == "TRANSPARENT");
    const auto f = validate(read_sample("floating.ics"));
    REQUIRE(f.ok());
    CHECK(f.index.floating);
    CHECK_FALSE(f.index.all_day);
    CHECK(f.index.dtstart == t("20260601T120000Z"));
}

TEST_CASE("an unbounded rule makes the index unbounded but stays valid") {
    const auto v = validate(read_sample("unbounded_daily.ics"));
    REQUIRE(v.ok());
    CHECK(v.index.unbounded);
    CHECK(v.index.first_start == t("20200106T073000Z"));
    const auto b = validate(read_sample("allday_recurring.ics"));
    REQUIRE(b.ok());
    CHECK(b.index.unbounded);
    CHECK(b.index.all_day);
    CHECK_FALSE(b.index.last_end.has_value());
    // With DTSTART excluded the series starts at its second instance.
    const auto x = validate(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260105T090000Z\r\n"
        "RRULE:FREQ=WEEKLY\r\nEXDATE:20260105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    REQUIRE(x.ok());
    CHECK(x.index.first_start == t("20260112T090000Z"));
    CHECK(x.index.unbounded);
}

TEST_CASE("tasks and journals validate with their own rules") {
    const auto todo = validate(read_sample("todo.ics"));
    REQUIRE(todo.ok());
    CHECK(todo.kind == component_kind::vtodo);
    CHECK(todo.index.dtend == t("20260215T160000Z"));  // DUE 17:00 CET
    CHECK(todo.index.status == "IN-PROCESS");
    const auto undated = validate(read_sample("todo_undated.ics"));
    REQUIRE(undated.ok());
    CHECK_FALSE(undated.index.dtstart);
    CHECK_FALSE(undated.index.first_start);
    const auto j = validate(read_sample("journal.ics"));
    REQUIRE(j.ok());
    CHECK(j.kind == component_kind::vjournal);
}

TEST_CASE("validation names the failed precondition for each kind of bad object") {
    struct row {
        const char* file;
        precondition expected;
    };
    const row rows[] = {
        {"invalid_method.ics", precondition::valid_calendar_object_resource},
        {"invalid_two_uids.ics", precondition::valid_calendar_object_resource},
        {"invalid_mixed_components.ics", precondition::valid_calendar_object_resource},
        {"invalid_two_masters.ics", precondition::valid_calendar_object_resource},
        {"invalid_two_vcalendars.ics", precondition::valid_calendar_object_resource},
        {"invalid_no_dtstart.ics", precondition::valid_calendar_data},
        {"invalid_dtend_and_duration.ics", precondition::valid_calendar_data},
        {"invalid_syntax.ics", precondition::valid_calendar_data},
        {"invalid_missing_vtimezone.ics", precondition::valid_calendar_data},
        {"invalid_vavailability.ics", precondition::supported_calendar_component},
        {"contact.vcf", precondition::supported_calendar_data},
    };
    for (const auto& r : rows) {
        INFO(r.file);
        const auto v = validate(read_sample(r.file));
        CHECK(v.failed == r.expected);
        CHECK_FALSE(v.reason.empty());
        CHECK_FALSE(v.object.has_value());
    }
}

TEST_CASE("validation refuses a component type the collection does not support") {
    validate_options opt;
    opt.supported = {component_kind::vevent};
    const auto v = validate(read_sample("todo.ics"), opt);
    CHECK(v.failed == precondition::supported_calendar_component);
    CHECK(precondition_name(v.failed) == "supported-calendar-component");
}

TEST_CASE("validation refuses an object over the size limit before parsing it") {
    validate_options opt;
    opt.lim.max_size = 100;
    const auto v = validate(read_sample("thunderbird_event.ics"), opt);
    CHECK(v.failed == precondition::max_resource_size);
    CHECK(precondition_name(v.failed) == "max-resource-size");
}

TEST_CASE("validation refuses a NUL octet, garbage and an empty body") {
    std::string s = read_sample("allday.ics");
    s[20] = '\0';
    CHECK(validate(s).failed == precondition::valid_calendar_data);
    CHECK(validate("hello world").failed == precondition::valid_calendar_data);
    CHECK(validate("").failed == precondition::valid_calendar_data);
    CHECK(validate("BEGIN:VCALENDAR\r\n").failed != precondition::none);
    const std::string head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:";
    const std::string tail = "\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    CHECK(validate(head + "a\x10" "b" + tail).failed == precondition::valid_calendar_data);  // control
    CHECK(validate(head + "a\rb" + tail).failed == precondition::valid_calendar_data);      // bare CR
    CHECK(validate(head + "caf\xe9" + tail).failed == precondition::valid_calendar_data);   // Latin-1
    CHECK(validate(head + "caf\xc3\xa9\tx" + tail).ok());                                   // UTF-8 and HTAB
    CHECK(validate(head + "a\\bc" + tail).failed == precondition::valid_calendar_data);      // "\b" unescapes to BS
    // A UID that ends or begins in white space would lose it when stored and read back
    // (libical trims values; "\e" unescapes to a space): refused, so UIDs match exactly.
    CHECK(validate(head + "abc\\e" + tail).failed == precondition::valid_calendar_data);
    CHECK(validate(head + "\\eabc" + tail).failed == precondition::valid_calendar_data);
    CHECK(validate(head + "  abc" + tail).uid == "abc");  // white space before the value is not part of it
    CHECK(validate(head + "a b c" + tail).ok());
    const auto esc = validate("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e\r\n"
                              "SUMMARY:een\\r\\ntwee\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    REQUIRE(esc.ok());
    CHECK(esc.index.summary == "een\ntwee");  // an escaped CRLF becomes one newline
    CHECK(validate("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:lf\nDTSTART:20260101T100000Z\n"
                   "END:VEVENT\nEND:VCALENDAR\n").ok());  // LF-only line ends, as some tools write
}

TEST_CASE("validation refuses RFC 5545 component rule violations") {
    const std::string head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n";
    const std::string tail = "END:VCALENDAR\r\n";
    auto check = [&](const std::string& body, precondition p) {
        INFO(body);
        CHECK(validate(head + body + tail).failed == p);
    };
    check("BEGIN:VEVENT\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\n", precondition::valid_calendar_data);  // no UID
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nDTEND:20260101T090000Z\r\nEND:VEVENT\r\n",
          precondition::valid_calendar_data);  // ends before it starts
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260101\r\nDTEND:20260102T090000Z\r\nEND:VEVENT\r\n",
          precondition::valid_calendar_data);  // mixed value types
    check("BEGIN:VTODO\r\nUID:a\r\nDUE:20260101T100000Z\r\nDURATION:PT1H\r\nEND:VTODO\r\n",
          precondition::valid_calendar_data);
    check("BEGIN:VTODO\r\nUID:a\r\nDURATION:PT1H\r\nEND:VTODO\r\n", precondition::valid_calendar_data);
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\n",
          precondition::valid_calendar_data);  // alarm without trigger
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20260102T000000Z\r\nDTSTART:20260102T100000Z\r\nEND:VEVENT\r\n",
          precondition::valid_calendar_data);  // RECURRENCE-ID type differs from DTSTART
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20260102T100000Z\r\nDTSTART:20260102T110000Z\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20260102T100000Z\r\nDTSTART:20260102T120000Z\r\nEND:VEVENT\r\n",
          precondition::valid_calendar_object_resource);  // duplicate override
    check("BEGIN:VTIMEZONE\r\nTZID:x\r\nEND:VTIMEZONE\r\n", precondition::valid_calendar_data);
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:2080000Z\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\n",
          precondition::valid_calendar_data);  // libical reads this as a DATE with month 0
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260231T100000Z\r\nEND:VEVENT\r\n", precondition::valid_calendar_data);
    check("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T100000Z\r\nEXDATE:20261301T100000Z\r\nEND:VEVENT\r\n",
          precondition::valid_calendar_data);
    check("BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\n"
          "TZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
          precondition::valid_calendar_object_resource);  // no calendar component at all
}

TEST_CASE("a VERSION other than 2.0 is not valid calendar data") {
    auto s = read_sample("allday.ics");
    s.replace(s.find("VERSION:2.0"), 11, "VERSION:1.0");
    CHECK(validate(s).failed == precondition::valid_calendar_data);
}

TEST_CASE("an override without its master (an invitation to one instance) is valid") {
    const std::string s =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:only-one\r\n"
        "RECURRENCE-ID:20260112T090000Z\r\nDTSTART:20260112T100000Z\r\nDTEND:20260112T110000Z\r\n"
        "SUMMARY:Eén keer\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    const auto v = validate(s);
    REQUIRE(v.ok());
    CHECK(v.index.summary == "Eén keer");
    CHECK(v.index.first_start == t("20260112T100000Z"));
    CHECK(v.index.dtstart == t("20260112T100000Z"));
    CHECK(v.index.dtend == t("20260112T110000Z"));
}

TEST_CASE("absurd durations and spans are computed within bounds") {
    const std::string s =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:long\r\n"
        "DTSTART;VALUE=DATE:00010101\r\nDURATION:P99999999W\r\nRRULE:FREQ=YEARLY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    const auto v = validate(s);
    REQUIRE(v.ok());
    CHECK(v.index.last_end.has_value());
    const std::string f =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:wide\r\n"
        "DTSTART:00010101T000000\r\nDTEND:29991231T235959\r\nRRULE:FREQ=YEARLY;COUNT=2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    const auto w = validate(f);
    REQUIRE(w.ok());
    CHECK(*w.index.last_end > *w.index.first_start);
}

TEST_CASE("a TZID naming a system zone without VTIMEZONE is accepted with a warning") {
    const std::string s =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:tz\r\n"
        "DTSTART;TZID=Europe/Amsterdam:20260701T100000\r\nDTEND;TZID=Europe/Amsterdam:20260701T110000\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n";
    const auto v = validate(s);
    REQUIRE(v.ok());
    CHECK(v.index.dtstart == t("20260701T080000Z"));  // CEST
    CHECK(v.warnings.size() == 1);
}

TEST_CASE("every component's TZIDs are checked when the object has several VTIMEZONEs") {
    const auto apple = read_sample("apple_recurring.ics");
    const auto outlook = read_sample("outlook_event.ics");
    const auto tz2 = outlook.substr(outlook.find("BEGIN:VTIMEZONE"), outlook.find("END:VTIMEZONE") + 15 - outlook.find("BEGIN:VTIMEZONE"));
    std::string s = apple;
    s.insert(s.find("BEGIN:VEVENT"), tz2);
    REQUIRE(validate(s).ok());
    // The override (the last component) names a zone that exists nowhere.
    const auto p = s.rfind("RECURRENCE-ID;TZID=Europe/Amsterdam");
    s.replace(p, 36, "RECURRENCE-ID;TZID=Nowhere/Atlantis");
    const auto v = validate(s);
    CHECK(v.failed == precondition::valid_calendar_data);
    CHECK(v.reason.find("Nowhere/Atlantis") != std::string::npos);
}

TEST_CASE("a VTIMEZONE asking libical for unbounded expansion work is refused") {
    std::string tz = "BEGIN:VTIMEZONE\r\nTZID:Heavy\r\n";
    for (int i = 0; i < 20; ++i)
        tz += "BEGIN:STANDARD\r\nDTSTART:00010101T000000\r\nRRULE:FREQ=YEARLY;BYMONTH=" + std::to_string(1 + i % 12) +
              "\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n";
    tz += "END:VTIMEZONE\r\n";
    const auto v = validate("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + tz +
                            "BEGIN:VEVENT\r\nUID:h\r\nDTSTART;TZID=Heavy:20260101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    CHECK(v.failed == precondition::valid_calendar_data);
    CHECK(v.reason.find("too complex") != std::string::npos);
    const auto p = calendar_object::parse("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REPLY\r\n" + tz +
                                          "BEGIN:VEVENT\r\nUID:h\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    REQUIRE_FALSE(p.has_value());
    CHECK(polder::is(p.error(), polder::errc::limit_exceeded));
    const auto z = time_zone::from_ical("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + tz + "END:VCALENDAR\r\n");
    REQUIRE_FALSE(z.has_value());
    CHECK(polder::is(z.error(), polder::errc::limit_exceeded));
}

TEST_CASE("attendee and instance limits map to their preconditions") {
    std::string s = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:big\r\nDTSTART:20260101T100000Z\r\n";
    for (int i = 0; i < 5; ++i) s += "ATTENDEE:mailto:p" + std::to_string(i) + "@x.example\r\n";
    s += "END:VEVENT\r\nEND:VCALENDAR\r\n";
    validate_options opt;
    opt.lim.max_attendees = 4;
    CHECK(validate(s, opt).failed == precondition::max_attendees_per_instance);

    const std::string many =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:many\r\nDTSTART:20260101T100000Z\r\n"
        "RRULE:FREQ=DAILY;COUNT=500\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    validate_options small;
    small.lim.max_instances = 100;
    CHECK(validate(many, small).failed == precondition::max_instances);
    CHECK(validate(many).ok());
}

TEST_CASE("a serialised object parses back to the same UID and kind") {
    const auto v = validate(read_sample("apple_recurring.ics"));
    REQUIRE(v.ok());
    const auto text = v.object->to_string();
    auto back = calendar_object::parse(text);
    REQUIRE(back.has_value());
    CHECK(back->uid() == v.uid);
    CHECK(back->kind() == component_kind::vevent);
    CHECK(back->clone().uid() == v.uid);
}

TEST_CASE("serialised lines of every length fold without a bare CR and parse back") {
    // libical 3.0 folds a line whose last segment is exactly 75 octets between CR and LF.
    for (std::size_t n = 1; n <= 240; ++n) {
        INFO(n);
        const std::string uid(n, 'u');
        const std::string summary = "S" + std::string(n, 'x');
        const auto v = validate("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:" + uid +
                                "\r\nSUMMARY:" + summary + "\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
        REQUIRE(v.ok());
        const auto text = v.object->to_string();
        for (std::size_t i = 0; i < text.size(); ++i)
            if (text[i] == '\r') REQUIRE((i + 1 < text.size() && text[i + 1] == '\n'));
        const auto again = validate(text);
        REQUIRE(again.ok());
        CHECK(again.uid == uid);
        CHECK(again.index.summary == summary);
    }
}

TEST_CASE("parse refuses oversize and non-iCalendar input with an error code") {
    limits lim;
    lim.max_size = 10;
    auto r = calendar_object::parse(read_sample("allday.ics"), lim);
    REQUIRE_FALSE(r.has_value());
    CHECK(polder::is(r.error(), polder::errc::limit_exceeded));
    auto g = calendar_object::parse("BEGIN:VCARD\r\nEND:VCARD\r\n");
    REQUIRE_FALSE(g.has_value());
    CHECK(polder::is(g.error(), polder::errc::invalid_argument));
}
