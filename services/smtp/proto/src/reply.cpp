// reply.cpp - formatting of SMTP replies (multi-line, enhanced status codes).
//
// SECURITY: control characters in reply text (which may echo client input) become '?';
// each line is cut to max_reply_text so no reply line exceeds 512 octets.
// STANDARDS: RFC 5321 §4.2, §4.5.3.1.5; RFC 2034; RFC 3463; RFC 1870 §6; RFC 6531 §3.5.
#include "polder/smtp/proto/reply.hpp"

#include <string>

namespace polder::smtp {
namespace {

void append_sanitized(std::string& out, std::string_view text) {
    std::size_t n = 0;
    for (unsigned char c : text) {
        if (n++ == max_reply_text) break;
        out.push_back((c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c));
    }
}

std::string code_text(int code) {
    // A reply code is three digits; anything else is a programming error we still render safely.
    if (code < 200 || code > 599) code = 451;
    return std::to_string(code);
}

}  // namespace

std::string reply::to_wire(bool enhanced_codes) const {
    std::string out;
    const std::string c = code_text(code);
    const bool with_enhanced = enhanced_codes && !enhanced.empty();
    const std::size_t n = lines.empty() ? 1 : lines.size();
    for (std::size_t i = 0; i < n; ++i) {
        out += c;
        out.push_back(i + 1 == n ? ' ' : '-');
        if (with_enhanced) {
            append_sanitized(out, enhanced);
            out.push_back(' ');
        }
        if (!lines.empty()) append_sanitized(out, lines[i]);
        out += "\r\n";
    }
    return out;
}

std::string reply::text() const {
    std::string out;
    for (const auto& l : lines) {
        if (!out.empty()) out += "; ";
        out += l;
    }
    return out;
}

namespace replies {

reply ok(std::string text) { return {250, "2.0.0", std::move(text)}; }
reply line_too_long() { return {500, "5.5.2", "Line too long"}; }
reply unrecognized(std::string_view verb) {
    std::string shown(verb.substr(0, 32));
    return {500, "5.5.2", shown.empty() ? std::string("Empty command") : "Command unrecognized: " + shown};
}
reply syntax(std::string text) { return {501, "5.5.4", std::move(text)}; }
reply syntax_address(std::string text) { return {501, "5.1.3", std::move(text)}; }
reply bad_sequence(std::string text) { return {503, "5.5.1", std::move(text)}; }
reply unsupported_parameter(std::string_view keyword) {
    return {555, "5.5.4", "Unsupported parameter: " + std::string(keyword.substr(0, 64))};
}
reply not_implemented(std::string_view verb) {
    return {502, "5.5.1", std::string(verb.substr(0, 32)) + " not implemented"};
}
reply too_many_errors() { return {421, "4.7.0", "Too many errors, closing connection"}; }
reply message_too_big(std::uint64_t limit) {
    return {552, "5.3.4", "Message size exceeds fixed maximum message size of " + std::to_string(limit) + " bytes"};
}
reply bare_line_ending() {
    return {550, "5.6.0", "Bare LF or bare CR in message data is not permitted; use CRLF line endings"};
}
reply non_ascii_address() {
    return {553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter on MAIL"};
}

}  // namespace replies
}  // namespace polder::smtp
