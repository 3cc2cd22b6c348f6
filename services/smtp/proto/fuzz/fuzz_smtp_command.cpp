// fuzz_smtp_command.cpp - libFuzzer target: SMTP command lines through the parser, the
// session state machine and the SASL decoder.
//
// SECURITY: checks invariants on every input, not just "no crash": a reply on the wire
// is well-formed (3-digit code, CRLF only at line ends, each line <= 512 octets), the
// session never starts a transaction before a greeting.
// STANDARDS: RFC 5321 §4.2, §4.5.3.1.5 (reply format) - see the library headers.
#include "polder/smtp/proto/command.hpp"
#include "polder/smtp/proto/sasl.hpp"
#include "polder/smtp/proto/session_state.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check_wire(const polder::smtp::reply& r) {
    const std::string w = r.to_wire();
    std::size_t start = 0;
    while (start < w.size()) {
        const std::size_t end = w.find("\r\n", start);
        if (end == std::string::npos) std::abort();
        const std::string_view line(w.data() + start, end - start);
        if (line.size() < 4 || line.size() + 2 > 512) std::abort();
        for (char c : line)
            if (c == '\r' || c == '\n') std::abort();
        start = end + 2;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace polder::smtp;
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    session_settings st;
    st.ext.starttls = size > 0 && (data[0] & 1);
    st.ext.auth = true;
    st.auth_without_tls = size > 0 && (data[0] & 2);
    st.require_auth = size > 0 && (data[0] & 4);
    st.max_errors = 1000;
    session_state s(st, size > 0 && (data[0] & 8));

    std::size_t pos = 0;
    while (pos <= input.size()) {
        std::size_t nl = input.find('\n', pos);
        if (nl == std::string_view::npos) nl = input.size();
        std::string_view line = input.substr(pos, nl - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = nl + 1;

        // The bare parser with every option combination.
        for (int mask = 0; mask < 4; ++mask) {
            parse_options o;
            o.esmtp = mask & 1;
            o.utf8_transaction = mask & 2;
            auto p = parse_command(line, o);
            if (!p) check_wire(p.error);
        }
        // The state machine, playing the server that accepts everything.
        auto d = s.on_line(line);
        check_wire(d.response);
        if (d.act == action::mail) {
            if (!s.greeted()) std::abort();
            s.mail_accepted(std::get<mail_command>(*d.cmd));
        } else if (d.act == action::rcpt) {
            if (!s.in_transaction()) std::abort();
            s.rcpt_accepted(std::get<rcpt_command>(*d.cmd));
        } else if (d.act == action::data || d.act == action::bdat) {
            if (s.recipients().empty()) std::abort();
            if (d.act == action::data || d.last_chunk) s.message_done();
        } else if (d.act == action::start_tls) {
            s.tls_started();
        } else if (d.act == action::authenticate) {
            const auto& a = std::get<auth_command>(*d.cmd);
            sasl::exchange ex(a.mechanism, a.initial_response);
            auto step = ex.start();
            check_wire(step.response);
            if (step.state == sasl::exchange::status::challenge) {
                step = ex.respond(line);
                check_wire(step.response);
            }
            if (step.state == sasl::exchange::status::done) s.authenticated(step.creds.authcid);
        } else if (d.act == action::close) {
            s = session_state(st, false);
        }
        if (nl == input.size()) break;
    }
    // Base64 round trip: whatever decodes re-encodes to the same text (strictness).
    if (auto dec = sasl::base64_decode(input)) {
        if (sasl::base64_encode(*dec) != input) std::abort();
    }
    return 0;
}
