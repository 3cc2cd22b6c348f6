// imip.cpp - iMIP messages and their hand-off to polder-smtpd's outbound queue (see
// imip.hpp).
//
// SECURITY: see imip.hpp: addresses checked before use, subject encoded, bodies base64.
// STANDARDS: RFC 6047, RFC 5322, RFC 2045, RFC 2046, RFC 2047.
#include "imip.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/http/date.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <stdexcept>

namespace polder::caldav::imip {

namespace {

constexpr unsigned queue_lifetime_seconds = 5 * 86400;   // as polder-smtpd's own default queue lifetime

std::string base64(std::string_view in, std::size_t line = 76) {
    static const char* const t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out, cur;
    auto flush = [&] {
        out += cur;
        out += "\r\n";
        cur.clear();
    };
    std::size_t i = 0;
    while (i < in.size()) {
        const unsigned a = static_cast<unsigned char>(in[i]);
        const unsigned b = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0;
        const unsigned c = i + 2 < in.size() ? static_cast<unsigned char>(in[i + 2]) : 0;
        const unsigned v = (a << 16) | (b << 8) | c;
        cur += t[(v >> 18) & 63];
        cur += t[(v >> 12) & 63];
        cur += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
        cur += i + 2 < in.size() ? t[v & 63] : '=';
        i += 3;
        if (cur.size() >= line) flush();
    }
    if (!cur.empty()) flush();
    return out;
}

// header_text - RFC 2047 "B" encoded words when the text is not plain printable ASCII.
std::string header_text(std::string_view text) {
    std::string clean;
    for (char ch : text)
        if (static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f) clean += ch;
    if (clean.size() > 200) clean.resize(200);
    const bool ascii = std::all_of(clean.begin(), clean.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
    if (ascii) return clean;
    std::string out;
    // Encoded words of at most 45 input octets, split on UTF-8 character boundaries.
    std::size_t pos = 0;
    while (pos < clean.size()) {
        std::size_t end = std::min(clean.size(), pos + 45);
        while (end < clean.size() && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
        auto b = base64(std::string_view(clean).substr(pos, end - pos), 1000);
        b.resize(b.size() - 2);   // drop CRLF
        if (!out.empty()) out += "\r\n ";
        out += "=?utf-8?B?" + b + "?=";
        pos = end;
    }
    return out;
}

std::string quoted_name(std::string_view name) {
    std::string s;
    for (char ch : name) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) continue;
        if (ch == '"' || ch == '\\') s += '\\';
        s += ch;
    }
    return s;
}

std::string token(std::string_view seed) {
    static std::atomic<std::uint64_t> n{0};
    return blob::sha256::of(std::string(seed) + std::to_string(n++) + std::to_string(std::time(nullptr))).hex().substr(0, 24);
}

}  // namespace

std::optional<std::string> mail_address(std::string_view a) {
    while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
    if (a.size() >= 7) {
        std::string scheme(a.substr(0, 7));
        std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (scheme != "mailto:") return std::nullopt;
        a.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    if (a.empty() || a.size() > 254) return std::nullopt;
    const auto at = a.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == a.size() || a.find('@', at + 1) != std::string_view::npos)
        return std::nullopt;
    for (char ch : a) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c == 0x7f || ch == '<' || ch == '>' || ch == '"' || ch == ',' || ch == ';' || ch == '(' ||
            ch == ')' || ch == '[' || ch == ']' || ch == '\\')
            return std::nullopt;
    }
    std::string out(a);
    std::transform(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(), out.begin() + static_cast<std::ptrdiff_t>(at),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return out;
}

std::string build(const mail& m) {
    const std::string boundary = "polder-imip-" + token(m.to);
    const std::string domain = m.from.substr(m.from.find('@') + 1);
    std::string verb = m.method == "REPLY" ? "Reply" : m.method == "CANCEL" ? "Cancelled" : "Invitation";
    std::string date = http::format_http_date(m.date);
    if (date.size() > 4 && date.ends_with(" GMT")) date.replace(date.size() - 4, 4, " +0000");
    std::string x;
    x += "From: " + (m.from_name.empty() ? std::string() : "\"" + quoted_name(m.from_name) + "\" ") + "<" + m.from + ">\r\n";
    x += "To: <" + m.to + ">\r\n";
    x += "Subject: " + header_text(verb + ": " + (m.summary.empty() ? std::string("(no title)") : m.summary)) + "\r\n";
    x += "Date: " + date + "\r\n";
    x += "Message-ID: <" + token(m.itip) + "@" + domain + ">\r\n";
    x += "MIME-Version: 1.0\r\n";
    x += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
    x += "\r\n";
    std::string text;
    if (m.method == "REPLY") text = "The attendee's answer to \"" + m.summary + "\" is attached.\r\n";
    else if (m.method == "CANCEL") text = "\"" + m.summary + "\" has been cancelled.\r\n";
    else text = "You are invited to \"" + m.summary + "\". Your calendar program can answer the attached invitation.\r\n";
    x += "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    x += base64(text);
    x += "--" + boundary + "\r\nContent-Type: text/calendar; charset=utf-8; method=" + m.method +
         "\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    x += base64(m.itip);
    x += "--" + boundary + "--\r\n";
    return x;
}

void enqueue(pqxx::work& tx, blob::store& blobs, const mail& m, std::int64_t sender_account_id) {
    const std::string text = build(m);
    auto w = blobs.begin(text.size());
    if (!w) throw std::runtime_error("blob store: " + w.error().message());
    if (auto r = w->write(std::string_view(text)); !r) throw std::runtime_error("blob store: " + r.error().message());
    auto id = w->commit();
    if (!id) throw std::runtime_error("blob store: " + id.error().message());
    const auto row = tx.exec_params1(
        "INSERT INTO mail.smtp_queue (blob_sha256, size, sender, sender_account_id, smtputf8, expires_at) "
        "VALUES (decode($1, 'hex'), $2, $3, $4, false, now() + make_interval(secs => $5)) RETURNING id",
        id->hex(), static_cast<std::int64_t>(text.size()), m.from, sender_account_id,
        static_cast<double>(queue_lifetime_seconds));
    tx.exec_params("INSERT INTO mail.smtp_queue_rcpt (queue_id, recipient, domain) VALUES ($1, $2, $3)",
                   row[0].as<std::int64_t>(), m.to, m.to.substr(m.to.find('@') + 1));
}

}  // namespace polder::caldav::imip
