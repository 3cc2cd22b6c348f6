// fuzz_itip_inbound.cpp - libFuzzer target: the calendar part of a mail received by
// polder-smtpd, as polder-caldavd's inbound iMIP handling treats it (itip_inbound.hpp,
// sched::apply_inbound): parsed with a PUT's limits, its METHOD read, then applied as a
// REPLY to an organizer's copy and as a CANCEL to an attendee's copy (a recurring event
// with an override, so instance replies and cancels are reached), and the results
// serialised and validated again. Must never crash, leak or hang.
//
// SECURITY: exercises untrusted-input parsing only.
// STANDARDS: RFC 5546 3.2.3, 3.2.5; RFC 6047.
#include "polder/ical/calendar.hpp"
#include "polder/ical/itip.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view copy_text =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder fuzz//EN\r\nBEGIN:VEVENT\r\nUID:fuzz-1\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=10\r\nSEQUENCE:1\r\nSUMMARY:Weekly\r\nORGANIZER:mailto:org@example.org\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:org@example.org\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:guest@partner.example\r\n"
    "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:fuzz-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260112T090000Z\r\n"
    "DTSTART:20260112T110000Z\r\nDTEND:20260112T120000Z\r\nSEQUENCE:1\r\nSUMMARY:Moved\r\n"
    "ORGANIZER:mailto:org@example.org\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:org@example.org\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:guest@partner.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace polder;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    ical::limits lim;
    lim.max_size = 1 << 20;
    auto msg = ical::calendar_object::parse(text, lim);
    if (msg) {
        (void)ical::method_of(*msg);
        (void)ical::index(*msg, lim);
    }
    static const auto base = ical::calendar_object::parse(copy_text);
    if (!base) return 0;
    auto organizer_copy = base->clone();
    if (auto r = ical::apply_reply(organizer_copy, text, std::nullopt, lim); r)
        (void)ical::validate(organizer_copy.to_string());
    auto attendee_copy = base->clone();
    if (auto r = ical::apply_cancel(attendee_copy, text, lim); r) (void)ical::validate(attendee_copy.to_string());
    return 0;
}
