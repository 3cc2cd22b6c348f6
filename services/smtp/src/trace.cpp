// trace.cpp - see trace.hpp.
// SECURITY: client-derived text sanitised (trace.hpp). STANDARDS: RFC 5321 4.4, RFC 3848, RFC 6531.
#include "trace.hpp"

#include "polder/smtp/proto/address.hpp"

#include <array>

namespace polder::smtpd {

std::string printable(std::string_view value, bool for_comment, bool keep_utf8, std::size_t max) {
    if (keep_utf8 && !smtp::is_valid_utf8(value)) keep_utf8 = false;
    std::string out;
    for (unsigned char c : value) {
        if (out.size() >= max) break;
        const bool ok = ((c > 0x20 || (for_comment && c == 0x20)) && c < 0x7f && !(for_comment && (c == '(' || c == ')' || c == '\\'))) ||
                        (keep_utf8 && c >= 0x80);
        out += ok ? static_cast<char>(c) : '?';
    }
    return out;
}

std::string with_protocol(const trace_info& t) {
    if (!t.esmtp) return "SMTP";
    std::string p = t.smtputf8 ? "UTF8SMTP" : "ESMTP";
    if (t.tls) p += "S";
    if (t.authenticated) p += "A";
    return p;
}

std::string rfc5322_date(std::time_t when) {
    std::tm tm{};
    ::gmtime_r(&when, &tm);
    static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
                  months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::string received_field(const trace_info& t) {
    // RFC 5321 4.4: from <EHLO name> (TCP-info) by <us> with <protocol> id <id> [for <rcpt>]; <date>
    std::string helo = printable(t.helo, false, false, 255);
    if (helo.empty()) helo = "unknown";
    std::string out = "Received: from " + helo + " ([" + printable(t.peer_address, true, false, 64) + "])\r\n";
    out += "\tby " + printable(t.hostname, false, false) + " (Polder)";
    if (!t.tls_description.empty()) out += "\r\n\t(using " + printable(t.tls_description, true, false, 200) + ")";
    out += "\r\n\twith " + with_protocol(t) + " id " + printable(t.id, false, false, 64);
    if (t.for_recipient) out += "\r\n\tfor <" + printable(*t.for_recipient, false, t.smtputf8, 256) + ">";
    out += ";\r\n\t" + rfc5322_date(t.when) + "\r\n";
    return out;
}

std::string return_path_field(const std::optional<std::string>& sender) {
    // The reverse-path was validated by the grammar (no CR/LF/controls); still sanitise.
    return "Return-Path: <" + (sender ? printable(*sender, false, true, 256) : std::string()) + ">\r\n";
}

}  // namespace polder::smtpd
