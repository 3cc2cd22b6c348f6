// polder/ical/itip.hpp - iTIP messages for CalDAV scheduling: the organizer's REQUEST and
// CANCEL per attendee, an attendee's REPLY, applying a REPLY to the organizer's copy, and
// applying an outside organizer's CANCEL (received by mail) to an attendee's copy.
// The scheduling service decides when to call these (RFC 6638 3.2) and delivers the
// messages (schedule inbox or iMIP); this module only builds and applies iCalendar.
//
// SECURITY: a REPLY is untrusted input: it is parsed with the same limits as a PUT, must
// carry METHOD:REPLY, the organizer copy's UID and exactly one ATTENDEE per component, and
// it only ever changes that attendee's PARTSTAT (never times, summary or other attendees).
// A reply with an older SEQUENCE, or the same SEQUENCE and an older DTSTAMP than the last
// one applied, is refused as outdated (RFC 5546 2.1.5).
// STANDARDS: RFC 5546 3.2.2 (REQUEST), 3.2.3 (REPLY), 3.2.5 (CANCEL), 2.1.4-2.1.5
// (SEQUENCE and DTSTAMP ordering); RFC 6638 3.2 (scheduling: attendees whose
// SCHEDULE-AGENT is not SERVER are not scheduled by the server), 7.1-7.3 (SCHEDULE-AGENT,
// SCHEDULE-STATUS and SCHEDULE-FORCE-SEND never appear in iTIP messages).
#pragma once

#include "polder/ical/calendar.hpp"
#include "polder/ical/time_range.hpp"

#include <optional>
#include <string>
#include <vector>

namespace polder::ical {

struct itip_message {
    std::string recipient;  // calendar user address ("mailto:...")
    std::string method;     // "REQUEST", "CANCEL", "REPLY"
    std::string text;       // the iCalendar object with METHOD
};

// same_address - calendar user addresses compared as RFC 6638 suggests: "mailto:" scheme
// and e-mail address case-insensitively.
bool same_address(std::string_view a, std::string_view b) noexcept;

// scheduled_attendees - the attendees the server schedules for (SCHEDULE-AGENT absent or
// SERVER), organizer excluded, across all components, in first-seen order.
std::vector<std::string> scheduled_attendees(const calendar_object& organizer_copy);

// requests - one METHOD:REQUEST per scheduled attendee, holding the components that
// attendee is invited to (an attendee of one instance only gets that override), without
// VALARMs and without the RFC 6638 scheduling parameters; DTSTAMP set to `dtstamp`.
std::vector<itip_message> requests(const calendar_object& organizer_copy, utc_time dtstamp);

// cancels - METHOD:CANCEL for the given attendees (empty: every scheduled attendee), e.g.
// when the organizer deletes the event or removes attendees. SEQUENCE is the copy's plus
// `sequence_bump` (1 when the object is deleted, 0 when the caller already raised it).
// recurrence_id: cancel one instance only.
std::vector<itip_message> cancels(const calendar_object& organizer_copy, utc_time dtstamp,
                                  const std::vector<std::string>& attendees = {}, int sequence_bump = 1,
                                  std::optional<utc_time> recurrence_id = std::nullopt);

// reply - the attendee's METHOD:REPLY from the attendee's copy (their PARTSTAT per
// component). Errors: not_found (the address is not an attendee), invalid_argument (no
// ORGANIZER).
[[nodiscard]] result<itip_message> reply(const calendar_object& attendee_copy, std::string_view attendee_address,
                                         utc_time dtstamp);

struct reply_outcome {
    std::string attendee;               // the replying attendee's address
    std::string partstat;               // the PARTSTAT of the master (or the first component)
    utc_time dtstamp = 0;               // the reply's DTSTAMP: store it, pass it back next time
    int sequence = 0;
    std::size_t components_updated = 0; // incl. overrides created for single-instance replies
    bool changed = false;               // some PARTSTAT actually changed
};

// apply_reply - update the organizer's copy with a REPLY. last_dtstamp: the DTSTAMP of the
// last reply applied for this attendee (if the store keeps it).
// Errors: invalid_argument (not a REPLY, malformed, wrong UID, not one ATTENDEE),
// not_found (attendee not invited: RFC 5546 "party crasher", refused), conflict (outdated
// SEQUENCE/DTSTAMP), limit_exceeded.
[[nodiscard]] result<reply_outcome> apply_reply(calendar_object& organizer_copy, std::string_view reply_text,
                                                std::optional<utc_time> last_dtstamp = std::nullopt,
                                                const limits& lim = {});

// apply_cancel - an organizer's CANCEL on an attendee's copy (iMIP from outside): a
// component without RECURRENCE-ID marks every component STATUS:CANCELLED; one with
// RECURRENCE-ID marks that override, or adds an EXDATE to the master when there is none.
// Returns the number of components changed. Errors: invalid_argument (not METHOD:CANCEL,
// malformed, other UID or component type), conflict (SEQUENCE older than the copy's),
// limit_exceeded.
[[nodiscard]] result<std::size_t> apply_cancel(calendar_object& attendee_copy, std::string_view cancel_text,
                                               const limits& lim = {});

// --- helpers of the scheduling service (CalDAV implicit scheduling, RFC 6638 3.2) ---

// partstat_of - the PARTSTAT of `address` on the master component (or the first one);
// nullopt when it is not an attendee. Absent PARTSTAT is "NEEDS-ACTION".
std::optional<std::string> partstat_of(const calendar_object& obj, std::string_view address);

// set_partstat - PARTSTAT of `address` on every component where it attends (an
// attendee's or a room's answer); returns the number of ATTENDEE lines changed.
std::size_t set_partstat(calendar_object& obj, std::string_view address, std::string_view partstat);

// set_schedule_status - SCHEDULE-STATUS (RFC 6638 7.3, e.g. "1.2") on the organizer's
// copy, for `address` on every component where it attends.
void set_schedule_status(calendar_object& obj, std::string_view address, std::string_view status);

// method_of - the object's METHOD in upper case ("REQUEST", "REPLY", ...), "" when it has
// none, "X" for an extension method.
std::string method_of(const calendar_object& obj);

// as_resource - an iTIP message (or any object) without METHOD: what is stored as a
// calendar object resource (RFC 4791 4.1 forbids METHOD there).
std::string as_resource(const calendar_object& obj);

// A VFREEBUSY scheduling request (RFC 6638 5 / RFC 5546 3.3.2) POSTed to an outbox.
struct freebusy_request {
    std::string uid;
    std::string organizer;
    std::vector<std::string> attendees;
    time_range range;
};
// parse_freebusy_request - METHOD:REQUEST with one VFREEBUSY holding DTSTART, DTEND
// (both bound the range), ORGANIZER and at least one ATTENDEE.
// Errors: invalid_argument (anything else), limit_exceeded.
[[nodiscard]] result<freebusy_request> parse_freebusy_request(std::string_view text, const limits& lim = {});

}  // namespace polder::ical
