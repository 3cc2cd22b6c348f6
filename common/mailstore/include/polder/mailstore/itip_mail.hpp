// polder/mailstore/itip_mail.hpp - iMIP (RFC 6047) at local delivery: find the
// text/calendar part of a delivered message and hand it to polder-caldavd through
// cal.itip_inbound (schema/0203_cal_itip_inbound.sql), in the delivery's own transaction,
// so the mail in the INBOX and the calendar hand-off commit together (or not at all).
// polder-smtpd calls these; polder-caldavd decides what the message may change.
//
// SECURITY: the part is untrusted: only a top-level text/calendar part (or one inside
// multiparts, never inside an attached message/rfc822 - a forwarded invitation is not
// addressed to us) with method REQUEST, REPLY or CANCEL is taken; its encoded size is
// bounded before it is read and its decoded size by max_itip_bytes; the text is
// sanitised to UTF-8 without control characters (mime::decode_body_text). What the MTA
// knows about the sender (envelope sender, From:, listener, SPF/DMARC results) is
// recorded beside it for polder-caldavd's checks. Parameterized SQL only.
// STANDARDS: RFC 6047 2.2-2.4 (text/calendar with the method parameter), RFC 2045/2046
// (transfer encodings, multipart), RFC 5546 (methods), RFC 8601 (the recorded results).
#pragma once

#include "polder/blob/store.hpp"
#include "polder/mailstore/mailstore.hpp"
#include "polder/mime/message.hpp"

#include <pqxx/transaction>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::mailstore {

// Larger calendar parts are not handed on (the mail is still delivered): an invitation is
// a few KiB; the bound matches cal.itip_inbound's CHECK.
inline constexpr std::size_t max_itip_bytes = 1024 * 1024;
// The NOTIFY channel polder-caldavd listens on; the payload is the row id.
inline constexpr std::string_view itip_channel = "cal_itip_inbound";

struct itip_part {
    std::string method;   // "REQUEST", "REPLY" or "CANCEL"
    std::string text;     // the iCalendar object, UTF-8 (line ends LF or CRLF)
};

// find_itip_part - the first text/calendar (or application/ics) part outside attached
// messages, or nullptr. Its method is checked by extract_itip.
const mime::body_part* find_itip_part(const mime::message_info& m);

// extract_itip - that part read from the stored message and decoded, with its method
// (the Content-Type method parameter, else the object's METHOD property). nullopt when
// there is none, its method is not REQUEST/REPLY/CANCEL, it is over max_itip_bytes, or
// it cannot be read.
std::optional<itip_part> extract_itip(blob::store& blobs, const prepared_message& p);

struct itip_origin {
    std::string envelope_sender;           // "local@domain", "" for the null reverse-path
    std::string via = "mx";                // "mx" | "submission" (authenticated sender)
    std::optional<std::string> spf, dmarc; // inbound check results; nullopt: not checked
};

// queue_itip - one cal.itip_inbound row per account and a NOTIFY on itip_channel, inside
// the caller's (delivery) transaction. Returns the number of rows queued. Database errors
// propagate as libpqxx exceptions (the delivery rolls back with them).
std::size_t queue_itip(pqxx::work& tx, const itip_part& part, const prepared_message& p,
                       const std::vector<std::int64_t>& accounts, const itip_origin& origin);

}  // namespace polder::mailstore
