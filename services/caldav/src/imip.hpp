// imip.hpp - iMIP (RFC 6047): iTIP messages for calendar users outside the organisation,
// sent as mail through polder-smtpd's outbound queue (schema/0110_smtp.sql). The message
// is written to the blob store (durable before the row refers to it) and queued inside
// the caller's transaction, so an organizer's PUT and its invitations commit together;
// polder-smtpd's workers deliver (DKIM-signed, retried, bounced to the organizer) like
// any mail its users send.
//
// SECURITY: only the authenticated organizer's (or replying attendee's) own address is
// ever the sender; the recipient is a calendar user address from the event, checked to
// be a plain mailto: address (no CR/LF, no spaces, one '@', at most 254 octets) before it
// reaches a header or the envelope; the subject is RFC 2047-encoded and stripped of
// control characters; the body parts are base64 so no line can be longer than 76 octets.
// STANDARDS: RFC 6047 (iMIP: multipart with text/calendar; method=...), RFC 5322
// (headers), RFC 2045/2046 (MIME, base64, multipart/alternative), RFC 2047 (encoded
// words), RFC 5546 (the iTIP payload).
#pragma once

#include "polder/blob/store.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::caldav::imip {

// mail_address - the bare address of a "mailto:" calendar user address, lower-cased
// domain; nullopt when it is not a plain, safe e-mail address.
std::optional<std::string> mail_address(std::string_view calendar_user_address);

struct mail {
    std::string from;         // bare address
    std::string from_name;    // display name ("" = none)
    std::string to;           // bare address
    std::string method;       // REQUEST / REPLY / CANCEL
    std::string summary;      // the event's SUMMARY
    std::string itip;         // the iCalendar text with METHOD
    std::int64_t date = 0;    // unix seconds
};

// build - the RFC 5322 message text (CRLF line ends).
std::string build(const mail& m);

// enqueue - write the message to the blob store and queue it for `to` from `from`
// (sender_account_id: the sender's account). Errors propagate as exceptions (blob
// failures as std::runtime_error) so the caller's transaction rolls back.
void enqueue(pqxx::work& tx, blob::store& blobs, const mail& m, std::int64_t sender_account_id);

}  // namespace polder::caldav::imip
