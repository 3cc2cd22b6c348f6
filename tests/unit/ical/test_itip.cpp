// test_itip.cpp - iTIP (RFC 5546) for scheduling: REQUEST/CANCEL per attendee, REPLY,
// and applying replies with SEQUENCE/DTSTAMP ordering.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "polder/ical/itip.hpp"
#include "polder/ical/time_range.hpp"

using namespace polder::ical;
using polder_test::read_sample;

namespace {

utc_time t(const char* s) { return from_utc_text(s).value(); }

calendar_object from_text(const std::string& s) {
    auto v = validate(s);
    if (!v.ok()) throw std::runtime_error(v.reason);
    return std::move(*v.object);
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const auto p = s.find(from);
    if (p == std::string::npos) throw std::runtime_error("not found: " + from);
    return s.replace(p, from.size(), to);
}

const attendee* find(const calendar_index& ix, const std::string& addr) {
    for (const auto& a : ix.attendees)
        if (a.address == addr) return &a;
    return nullptr;
}

const std::string series =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=5\r\nSEQUENCE:1\r\n"
    "SUMMARY:Reeks\r\nORGANIZER:mailto:anna@gemeente.example\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:anna@gemeente.example\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bram@gemeente.example\r\n"
    "ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:extern@partner.example\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260112T090000Z\r\n"
    "DTSTART:20260112T110000Z\r\nDTEND:20260112T120000Z\r\nSEQUENCE:1\r\nSUMMARY:Reeks (later)\r\n"
    "ORGANIZER:mailto:anna@gemeente.example\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:anna@gemeente.example\r\n"
    "ATTENDEE:mailto:bram@gemeente.example\r\nATTENDEE;SCHEDULE-STATUS=1.2:mailto:cor@gemeente.example\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n";

}  // namespace

TEST_CASE("calendar user addresses compare without scheme and case") {
    CHECK(same_address("mailto:Anna@Gemeente.Example", "MAILTO:anna@gemeente.example"));
    CHECK(same_address("anna@gemeente.example", "mailto:anna@gemeente.example"));
    CHECK_FALSE(same_address("mailto:anna@gemeente.example", "mailto:bram@gemeente.example"));
    CHECK_FALSE(same_address("", ""));
}

TEST_CASE("the organizer's event yields one REQUEST per attendee the server schedules") {
    const auto o = from_text(read_sample("thunderbird_event.ics"));
    const auto msgs = requests(o, t("20260110T120000Z"));
    REQUIRE(msgs.size() == 2);  // bram and cor; anna is the organizer
    CHECK(msgs[0].recipient == "mailto:bram@gemeente.example");
    CHECK(msgs[1].recipient == "mailto:cor@extern.example");
    for (const auto& m : msgs) {
        CHECK(m.method == "REQUEST");
        CHECK(m.text.find("METHOD:REQUEST") != std::string::npos);
        CHECK(m.text.find("BEGIN:VTIMEZONE") != std::string::npos);
        CHECK(m.text.find("VALARM") == std::string::npos);
        CHECK(m.text.find("DTSTAMP:20260110T120000Z") != std::string::npos);
        CHECK(m.text.find("SEQUENCE:2") != std::string::npos);
        auto parsed = calendar_object::parse(m.text);
        REQUIRE(parsed.has_value());
        CHECK(parsed->uid() == o.uid());
    }
}

TEST_CASE("an attendee of one instance only gets that instance, SCHEDULE-AGENT=CLIENT gets nothing") {
    const auto o = from_text(series);
    const auto who = scheduled_attendees(o);
    REQUIRE(who.size() == 2);
    CHECK(who[0] == "mailto:bram@gemeente.example");
    CHECK(who[1] == "mailto:cor@gemeente.example");
    const auto msgs = requests(o, t("20260101T000000Z"));
    REQUIRE(msgs.size() == 2);
    CHECK(msgs[0].text.find("RRULE") != std::string::npos);
    CHECK(msgs[1].text.find("RRULE") == std::string::npos);
    CHECK(msgs[1].text.find("RECURRENCE-ID:20260112T090000Z") != std::string::npos);
    CHECK(msgs[1].text.find("SCHEDULE-STATUS") == std::string::npos);
    CHECK(msgs[1].text.find("SCHEDULE-AGENT") == std::string::npos);
}

TEST_CASE("a cancellation raises SEQUENCE and marks the event cancelled") {
    const auto o = from_text(read_sample("thunderbird_event.ics"));
    const auto all = cancels(o, t("20260110T120000Z"));
    REQUIRE(all.size() == 2);
    CHECK(all[0].method == "CANCEL");
    CHECK(all[0].text.find("METHOD:CANCEL") != std::string::npos);
    CHECK(all[0].text.find("SEQUENCE:3") != std::string::npos);
    CHECK(all[0].text.find("STATUS:CANCELLED") != std::string::npos);
    CHECK(all[0].text.find("ATTENDEE") != std::string::npos);
    const auto one = cancels(o, t("20260110T120000Z"), {"mailto:cor@extern.example"}, 0, t("20260115T090000Z"));
    REQUIRE(one.size() == 1);
    CHECK(one[0].recipient == "mailto:cor@extern.example");
    CHECK(one[0].text.find("SEQUENCE:2") != std::string::npos);
    CHECK(one[0].text.find("RECURRENCE-ID:20260115T090000Z") != std::string::npos);
    CHECK(one[0].text.find("bram") == std::string::npos);
    const auto allday = from_text(replace(replace(read_sample("allday_recurring.ics"), "TRANSP:TRANSPARENT\r\n",
                                                  "ORGANIZER:mailto:anna@gemeente.example\r\nATTENDEE:mailto:bram@gemeente.example\r\n"),
                                          "SUMMARY", "SEQUENCE:0\r\nSUMMARY"));
    const auto day = cancels(allday, 0, {}, 1, t("20260312T000000Z"));
    REQUIRE(day.size() == 1);
    CHECK(day[0].text.find("RECURRENCE-ID;VALUE=DATE:20260312") != std::string::npos);
    CHECK(day[0].text.find("SEQUENCE:1") != std::string::npos);
}

TEST_CASE("an attendee's PARTSTAT change becomes a REPLY to the organizer") {
    const auto organizer = from_text(read_sample("thunderbird_event.ics"));
    const auto mine = from_text(replace(read_sample("thunderbird_event.ics"), "PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"));
    const auto r = reply(mine, "mailto:bram@gemeente.example", t("20260111T080000Z")).value();
    CHECK(r.recipient == "mailto:anna@gemeente.example");
    CHECK(r.method == "REPLY");
    CHECK(r.text.find("METHOD:REPLY") != std::string::npos);
    auto parsed = calendar_object::parse(r.text);
    REQUIRE(parsed.has_value());
    const auto ix = index(*parsed);
    REQUIRE(ix.attendees.size() == 1);
    CHECK(ix.attendees[0].address == "mailto:bram@gemeente.example");
    CHECK(ix.attendees[0].partstat == "ACCEPTED");
    CHECK_FALSE(reply(mine, "mailto:nobody@gemeente.example", 0).has_value());

    auto copy = organizer.clone();
    const auto out = apply_reply(copy, r.text).value();
    CHECK(out.attendee == "mailto:bram@gemeente.example");
    CHECK(out.partstat == "ACCEPTED");
    CHECK(out.changed);
    CHECK(out.components_updated == 1);
    CHECK(out.dtstamp == t("20260111T080000Z"));
    CHECK(find(index(copy), "mailto:bram@gemeente.example")->partstat == "ACCEPTED");
    CHECK(find(index(copy), "mailto:cor@extern.example")->partstat == "TENTATIVE");  // untouched
    // The same reply again changes nothing; an older one is outdated.
    CHECK_FALSE(apply_reply(copy, r.text, out.dtstamp).value().changed);
    const auto older = reply(mine, "mailto:bram@gemeente.example", t("20260111T070000Z")).value();
    CHECK(apply_reply(copy, older.text, out.dtstamp).error() == make_error_code(polder::errc::conflict));
}

TEST_CASE("replies with an old SEQUENCE, a stranger, a wrong UID or no METHOD are refused") {
    const auto base = read_sample("thunderbird_event.ics");
    auto copy = from_text(base);
    const auto mine = from_text(replace(base, "PARTSTAT=NEEDS-ACTION", "PARTSTAT=DECLINED"));
    const auto good = reply(mine, "mailto:bram@gemeente.example", t("20260111T080000Z")).value().text;
    CHECK(apply_reply(copy, replace(good, "SEQUENCE:2", "SEQUENCE:1")).error() == make_error_code(polder::errc::conflict));
    CHECK(apply_reply(copy, replace(good, "bram@", "mallory@")).error() == make_error_code(polder::errc::not_found));
    CHECK(apply_reply(copy, replace(good, "UID:6b5c", "UID:7b5c")).error() == make_error_code(polder::errc::invalid_argument));
    CHECK(apply_reply(copy, replace(good, "METHOD:REPLY", "METHOD:REQUEST")).error() ==
          make_error_code(polder::errc::invalid_argument));
    CHECK(apply_reply(copy, replace(good, "PARTSTAT=DECLINED", "PARTSTAT=BRIBED")).error() ==
          make_error_code(polder::errc::invalid_argument));
    CHECK(apply_reply(copy, "garbage").error() == make_error_code(polder::errc::invalid_argument));
    CHECK(find(index(copy), "mailto:bram@gemeente.example")->partstat == "NEEDS-ACTION");
    CHECK(apply_reply(copy, good).value().partstat == "DECLINED");
}

TEST_CASE("a reply to one instance of a series creates an override in the organizer's copy") {
    auto o = from_text(series);
    const std::string r =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:y\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:series-1\r\n"
        "DTSTAMP:20260102T000000Z\r\nRECURRENCE-ID:20260119T090000Z\r\nSEQUENCE:1\r\n"
        "ORGANIZER:mailto:anna@gemeente.example\r\nATTENDEE;PARTSTAT=DECLINED:mailto:bram@gemeente.example\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n";
    const auto out = apply_reply(o, r).value();
    CHECK(out.partstat == "DECLINED");
    const auto ix = index(o);
    CHECK(ix.override_count == 2);
    CHECK(find(ix, "mailto:bram@gemeente.example")->partstat == "NEEDS-ACTION");  // master unchanged
    const auto e = expand(o, time_range{t("20260119T000000Z"), t("20260120T000000Z")});
    REQUIRE(e.instances.size() == 1);
    CHECK(e.instances[0].overridden);
    CHECK(e.instances[0].start == t("20260119T090000Z"));
    CHECK(e.instances[0].end == t("20260119T100000Z"));
    // The result is still a valid CalDAV object.
    CHECK(validate(o.to_string()).ok());
    // An instance that is not in the series is refused.
    CHECK(apply_reply(o, replace(r, "RECURRENCE-ID:20260119T090000Z", "RECURRENCE-ID:20260120T090000Z")).error() ==
          make_error_code(polder::errc::invalid_argument));
}

TEST_CASE("itip helpers read and set one attendee's PARTSTAT and SCHEDULE-STATUS") {
    auto obj = from_text(series);
    CHECK(partstat_of(obj, "mailto:bram@gemeente.example") == std::optional<std::string>("NEEDS-ACTION"));
    CHECK(partstat_of(obj, "MAILTO:Anna@Gemeente.example") == std::optional<std::string>("ACCEPTED"));
    CHECK_FALSE(partstat_of(obj, "mailto:nobody@gemeente.example"));
    // bram attends the master and the override: both lines change.
    CHECK(set_partstat(obj, "mailto:bram@gemeente.example", "declined") == 2);
    set_schedule_status(obj, "mailto:bram@gemeente.example", "1.2");
    const auto text = obj.to_string();
    CHECK(partstat_of(obj, "mailto:bram@gemeente.example") == std::optional<std::string>("DECLINED"));
    CHECK(text.find("SCHEDULE-STATUS=1.2") != std::string::npos);
    CHECK(set_partstat(obj, "mailto:nobody@gemeente.example", "ACCEPTED") == 0);
}

TEST_CASE("itip as_resource drops METHOD so a delivered invitation validates as a calendar object") {
    auto obj = from_text(series);
    const auto msgs = requests(obj, t("20260102T000000Z"));
    REQUIRE_FALSE(msgs.empty());
    auto msg = calendar_object::parse(msgs[0].text);
    REQUIRE(msg.has_value());
    CHECK(msgs[0].text.find("METHOD:REQUEST") != std::string::npos);
    const auto stored = as_resource(*msg);
    CHECK(stored.find("METHOD") == std::string::npos);
    CHECK(validate(stored).ok());
}

TEST_CASE("itip parse_freebusy_request takes a VFREEBUSY REQUEST and refuses anything else") {
    const std::string fb =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fb-1\r\n"
        "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T000000Z\r\nDTEND:20260106T000000Z\r\n"
        "ORGANIZER:mailto:anna@gemeente.example\r\nATTENDEE:mailto:bram@gemeente.example\r\n"
        "ATTENDEE:mailto:zaal@gemeente.example\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";
    auto r = parse_freebusy_request(fb);
    REQUIRE(r.has_value());
    CHECK(r->uid == "fb-1");
    CHECK(r->organizer == "mailto:anna@gemeente.example");
    CHECK(r->attendees.size() == 2);
    CHECK(*r->range.start == t("20260105T000000Z"));
    CHECK(*r->range.end == t("20260106T000000Z"));
    CHECK_FALSE(parse_freebusy_request(replace(fb, "METHOD:REQUEST", "METHOD:REPLY")).has_value());
    CHECK_FALSE(parse_freebusy_request(replace(fb, "ATTENDEE:mailto:bram@gemeente.example\r\nATTENDEE:mailto:zaal@gemeente.example\r\n", "")).has_value());
    CHECK_FALSE(parse_freebusy_request(replace(fb, "DTEND:20260106T000000Z", "DTEND:20260104T000000Z")).has_value());
    CHECK_FALSE(parse_freebusy_request(series).has_value());
    CHECK_FALSE(parse_freebusy_request("not a calendar").has_value());
}
