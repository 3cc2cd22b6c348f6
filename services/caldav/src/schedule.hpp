// schedule.hpp - implicit scheduling inside the organisation (RFC 6638 3.2): what happens
// to other calendars when a scheduling object resource is stored or deleted, all inside
// the caller's transaction so the PUT/DELETE and every delivery commit together.
//
//   organizer PUT  -> an iTIP REQUEST into each internal attendee's schedule inbox and a
//                     copy in their default calendar (their earlier answer kept while the
//                     SEQUENCE stays the same); rooms and equipment with auto-accept
//                     answer at once (ACCEPTED when free, DECLINED when busy);
//                     SCHEDULE-STATUS on each ATTENDEE line of the stored copy; attendees
//                     removed since the last version get a CANCEL (their copy removed)
//   attendee PUT   -> when its PARTSTAT changed, a REPLY into the organizer's inbox,
//                     applied to the organizer's copy (only that PARTSTAT changes)
//   organizer DELETE -> CANCEL to every internal attendee (copies removed)
//   attendee DELETE  -> REPLY with PARTSTAT=DECLINED to the organizer
//
// Attendees outside the organisation get the message by mail (iMIP, imip.hpp) and
// SCHEDULE-STATUS 1.1; without a mail address (or a blob store) 3.7. An attendee's answer
// to an organizer outside goes by mail too.
//
// SECURITY: attendees and organizers are resolved only inside the caller's organisation
// (store::find_user scopes by org), so nothing is ever delivered across tenants; a user
// is an organizer only for its own addresses (account address and aliases); a REPLY can
// only change the replying attendee's PARTSTAT (ical::apply_reply); every delivered copy
// is validated like a PUT before it is stored.
// STANDARDS: RFC 6638 3.2 (implicit scheduling), 3.2.10 (Schedule-Tag), 7.3
// (SCHEDULE-STATUS), RFC 5546 3.2.2 / 3.2.3 / 3.2.5 (REQUEST, REPLY, CANCEL) and 3.6
// (request status codes: 1.2 delivered, 3.7 invalid calendar user, 5.x failures).
#pragma once

#include "service.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polder::caldav::sched {

// actor - the authenticated calendar user: account, organisation and addresses.
struct actor {
    std::int64_t account_id = 0;
    std::int64_t org_id = 0;
    std::vector<std::string> addresses;   // own address and aliases, lower case
    std::string display_name;
};
actor actor_of(pqxx::work& tx, const ctx& c);

struct put_effect {
    bool scheduling = false;            // a scheduling object resource (gets a Schedule-Tag)
    bool organizer = false;             // the caller organizes it (a new Schedule-Tag on PUT)
    std::optional<std::string> data;    // what to store instead of the request body
};

// on_put - the scheduling side of a PUT of `new_data` (valid) over `old_data` (if any)
// into one of the caller's own calendars.
put_effect on_put(pqxx::work& tx, const actor& who, const options& o, const std::string* old_data,
                  const std::string& new_data);

// on_delete - the scheduling side of deleting `old_data` from the caller's own calendar.
void on_delete(pqxx::work& tx, const actor& who, const options& o, const std::string& old_data);

// may_schedule - whether data can be a scheduling object at all (it names an
// ORGANIZER): a cheap test that spares plain events a second parse.
bool may_schedule(std::string_view data);

// new_schedule_tag - a fresh opaque Schedule-Tag value.
std::string new_schedule_tag(std::string_view seed);

// --- iMIP received by mail (schema/0203_cal_itip_inbound.sql, itip_inbound.hpp) ---

// inbound_message - one cal.itip_inbound row: an iTIP message polder-smtpd delivered to
// account_id, with what the MTA knew about its sender.
struct inbound_message {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
    std::int64_t org_id = 0;
    std::string method;            // REQUEST / REPLY / CANCEL (the mail's)
    std::string itip;              // the iCalendar text
    std::string envelope_sender;   // "" = null reverse-path
    std::string from_address;      // first From: mailbox
    std::string via;               // "mx" | "submission"
    std::optional<std::string> spf, dmarc;   // nullopt: not checked
};

struct inbound_outcome {
    bool applied = false;   // something in the account's calendars changed
    std::string result;     // "applied", "unchanged", or why it was refused (a log word)
};

// apply_inbound - what the message may change, inside the caller's transaction:
//   REPLY   from an attendee outside the organisation to an organizer here: that
//           attendee's PARTSTAT on the organizer's copy (ical::apply_reply), the reply in
//           the organizer's schedule inbox;
//   REQUEST from an organizer outside to an attendee here: into the attendee's schedule
//           inbox and default calendar (NEEDS-ACTION; an answer kept while SEQUENCE stays);
//   CANCEL  from that organizer: the attendee's copy (or the instance) marked cancelled.
// Refused (nothing changes; `result` says why): SPF or DMARC "fail"; a sender (From: and
// envelope sender) other than the attendee the REPLY speaks for / the ORGANIZER of a
// REQUEST or CANCEL; an attendee or organizer who is a user of this organisation (they
// schedule through CalDAV; by mail from outside that is a forgery) unless it came through
// authenticated submission; an unknown UID; a REPLY for an event the account does not
// organise or that does not list the attendee; a REQUEST/CANCEL for a UID the account
// holds from another organizer; an outdated SEQUENCE/DTSTAMP; malformed iCalendar;
// a REQUEST to a room or equipment (booked only from inside).
inbound_outcome apply_inbound(pqxx::work& tx, const inbound_message& m, const options& o);

}  // namespace polder::caldav::sched
