// sasl.cpp - SASL PLAIN / LOGIN server exchange and strict base64.
//
// SECURITY: strict decoding, bounded fields, explicit cancel; see sasl.hpp.
// STANDARDS: RFC 4954, RFC 4616, draft-murchison-sasl-login, RFC 4648 §4.
#include "polder/smtp/proto/sasl.hpp"

#include "polder/smtp/proto/address.hpp"
#include "polder/smtp/proto/command.hpp"

#include <array>

namespace polder::smtp::sasl {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool field_ok(std::string_view f) { return f.size() <= max_field && is_valid_utf8(f); }

reply bad_base64() { return {501, "5.5.2", "Invalid base64 data"}; }
reply malformed() { return {501, "5.5.2", "Malformed authentication data"}; }

}  // namespace

std::optional<std::string> base64_decode(std::string_view t) {
    if (t.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(t.size() / 4 * 3);
    for (std::size_t i = 0; i < t.size(); i += 4) {
        const bool last = i + 4 == t.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const auto c = static_cast<unsigned char>(t[i + k]);
            if (c == '=' && last && k >= 2) {
                ++pad;
                v[k] = 0;
                continue;
            }
            if (pad > 0) return std::nullopt;   // data after padding
            v[k] = value_of(c);
            if (v[k] < 0) return std::nullopt;
        }
        const unsigned n = (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
        if (pad == 2 && (v[1] & 0x0f) != 0) return std::nullopt;   // non-canonical pad bits
        if (pad == 1 && (v[2] & 0x03) != 0) return std::nullopt;
        out.push_back(static_cast<char>((n >> 16) & 0xff));
        if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
        if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
    }
    return out;
}

std::string base64_encode(std::string_view b) {
    std::string out;
    out.reserve((b.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= b.size(); i += 3) {
        const unsigned n = (unsigned(static_cast<unsigned char>(b[i])) << 16) |
                           (unsigned(static_cast<unsigned char>(b[i + 1])) << 8) |
                           unsigned(static_cast<unsigned char>(b[i + 2]));
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(alphabet[(n >> 6) & 63]);
        out.push_back(alphabet[n & 63]);
    }
    if (i < b.size()) {
        unsigned n = unsigned(static_cast<unsigned char>(b[i])) << 16;
        if (i + 1 < b.size()) n |= unsigned(static_cast<unsigned char>(b[i + 1])) << 8;
        out.push_back(alphabet[(n >> 18) & 63]);
        out.push_back(alphabet[(n >> 12) & 63]);
        out.push_back(i + 1 < b.size() ? alphabet[(n >> 6) & 63] : '=');
        out.push_back('=');
    }
    return out;
}

std::optional<credentials> decode_plain(std::string_view m) {
    const std::size_t a = m.find('\0');
    if (a == std::string_view::npos) return std::nullopt;
    const std::size_t b = m.find('\0', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    credentials c;
    c.authzid = std::string(m.substr(0, a));
    c.authcid = std::string(m.substr(a + 1, b - a - 1));
    c.password = std::string(m.substr(b + 1));
    if (c.password.find('\0') != std::string::npos) return std::nullopt;
    if (c.authcid.empty() || c.password.empty()) return std::nullopt;
    if (!field_ok(c.authzid) || !field_ok(c.authcid) || !field_ok(c.password)) return std::nullopt;
    return c;
}

exchange::exchange(std::string mechanism, std::optional<std::string> initial_response)
    : mechanism_(std::move(mechanism)), initial_(std::move(initial_response)) {}

exchange::step exchange::fail(reply r) {
    phase_ = phase::finished;
    step s;
    s.state = status::failed;
    s.response = std::move(r);
    return s;
}

exchange::step exchange::start() {
    if (phase_ != phase::initial) return fail(malformed());
    if (mechanism_ == "PLAIN") {
        if (initial_) {
            if (*initial_ == "=") return fail(malformed());   // an empty PLAIN message has no credentials
            return plain(*initial_);
        }
        phase_ = phase::plain_wait;
        return {status::challenge, reply{334, "", ""}, {}};
    }
    if (mechanism_ == "LOGIN") {
        if (initial_) {
            if (*initial_ == "=") return fail(malformed());
            return login_user(*initial_);
        }
        phase_ = phase::login_user;
        return {status::challenge, reply{334, "", base64_encode("Username:")}, {}};
    }
    return fail({504, "5.5.4", "Unrecognized authentication type"});
}

exchange::step exchange::respond(std::string_view line) {
    if (line.size() > max_auth_line) return fail({500, "5.5.6", "Authentication exchange line is too long"});
    if (line == "*") return fail({501, "5.7.0", "Authentication cancelled"});
    switch (phase_) {
    case phase::plain_wait: return plain(line);
    case phase::login_user: return login_user(line);
    case phase::login_password: return login_password(line);
    default: return fail(malformed());
    }
}

exchange::step exchange::plain(std::string_view b64) {
    auto raw = base64_decode(b64);
    if (!raw) return fail(bad_base64());
    auto c = decode_plain(*raw);
    if (!c) return fail(malformed());
    phase_ = phase::finished;
    return {status::done, {}, std::move(*c)};
}

exchange::step exchange::login_user(std::string_view b64) {
    auto raw = base64_decode(b64);
    if (!raw) return fail(bad_base64());
    if (raw->empty() || raw->find('\0') != std::string::npos || !field_ok(*raw)) return fail(malformed());
    user_ = std::move(*raw);
    phase_ = phase::login_password;
    return {status::challenge, reply{334, "", base64_encode("Password:")}, {}};
}

exchange::step exchange::login_password(std::string_view b64) {
    auto raw = base64_decode(b64);
    if (!raw) return fail(bad_base64());
    if (raw->empty() || raw->find('\0') != std::string::npos || !field_ok(*raw)) return fail(malformed());
    phase_ = phase::finished;
    step s;
    s.state = status::done;
    s.creds.authcid = std::move(user_);
    s.creds.password = std::move(*raw);
    return s;
}

reply success() { return {235, "2.7.0", "Authentication successful"}; }
reply invalid_credentials() { return {535, "5.7.8", "Authentication credentials invalid"}; }
reply temporary_failure() { return {454, "4.7.0", "Temporary authentication failure"}; }

}  // namespace polder::smtp::sasl
