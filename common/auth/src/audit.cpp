// audit.cpp - audit events and client-address normalisation.
//
// SECURITY: the event row is parameterized SQL in the caller's transaction;
// client addresses are parsed with inet_pton before PostgreSQL sees them, so
// garbage never aborts the caller's transaction with an inet cast error.
// STANDARDS: RFC 4291 2.2 and 2.5.5.2 (IPv6 text, IPv4-mapped), RFC 5952
// (canonical IPv6 text, as inet_ntop writes it).
#include "polder/auth/audit.hpp"

#include "polder/auth/names.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>

namespace polder::auth {
namespace {

// printable_utf8 - s with every invalid UTF-8 sequence and every control byte
// replaced by U+FFFD, cut (on a character boundary) to at most max_bytes. The
// actor of a failed login is whatever the client sent; PostgreSQL must accept it.
std::string printable_utf8(std::string_view s, std::size_t max_bytes) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        bool ok = len != 0 && i + len <= s.size() && !(c < 0x20 || c == 0x7f);
        if (ok && len > 1) ok = valid_utf8(s.substr(i, len));
        std::string_view piece = ok ? s.substr(i, len) : replacement;
        if (out.size() + piece.size() > max_bytes) break;
        out += piece;
        i += ok ? len : 1;
    }
    return out;
}

// without_nul - PostgreSQL's jsonb refuses \u0000; a NUL smuggled into a login
// name must not abort the transaction that records the attempt.
nlohmann::json without_nul(const nlohmann::json& j) {
    if (j.is_string()) {
        std::string s = j.get<std::string>();
        std::string out;
        for (char c : s) out += c == '\0' ? std::string("\xEF\xBF\xBD") : std::string(1, c);
        return out;
    }
    if (j.is_object()) {
        nlohmann::json o = nlohmann::json::object();
        for (auto it = j.begin(); it != j.end(); ++it) o[without_nul(it.key()).get<std::string>()] = without_nul(it.value());
        return o;
    }
    if (j.is_array()) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& v : j) a.push_back(without_nul(v));
        return a;
    }
    return j;
}

}  // namespace

std::int64_t purge_audit(pqxx::connection& c, std::chrono::system_clock::time_point cutoff, std::int64_t batch,
                         const std::atomic<bool>* stop) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
    std::int64_t total = 0;
    while (stop == nullptr || !*stop) {
        pqxx::work tx(c);
        // events_at_idx: the oldest rows first, each batch a short index range.
        const auto n = tx.exec_params("DELETE FROM audit.events WHERE id IN ("
                                      " SELECT id FROM audit.events"
                                      "  WHERE at < to_timestamp($1::double precision / 1000000)"
                                      "  ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                                      micros, batch)
                           .affected_rows();
        tx.commit();
        total += static_cast<std::int64_t>(n);
        if (static_cast<std::int64_t>(n) < batch) break;
    }
    return total;
}

std::optional<std::string> normalize_ip(std::string_view text) {
    if (text.empty() || text.size() > 64) return std::nullopt;
    std::string s(text);
    if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);   // fe80::1%eth0
    if (s.size() > 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
    std::array<char, INET6_ADDRSTRLEN> buf{};
    in_addr v4{};
    if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
        if (!inet_ntop(AF_INET, &v4, buf.data(), buf.size())) return std::nullopt;
        return std::string(buf.data());
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        std::memcpy(&v4, &v6.s6_addr[12], 4);
        if (!inet_ntop(AF_INET, &v4, buf.data(), buf.size())) return std::nullopt;
        return std::string(buf.data());
    }
    if (!inet_ntop(AF_INET6, &v6, buf.data(), buf.size())) return std::nullopt;
    return std::string(buf.data());
}

std::string throttle_ip_key(std::string_view remote_ip) {
    auto ip = normalize_ip(remote_ip);
    if (!ip) return "unknown";
    if (ip->find(':') == std::string::npos) return *ip;
    in6_addr v6{};
    if (inet_pton(AF_INET6, ip->c_str(), &v6) != 1) return "unknown";
    std::memset(&v6.s6_addr[8], 0, 8);
    std::array<char, INET6_ADDRSTRLEN> buf{};
    if (!inet_ntop(AF_INET6, &v6, buf.data(), buf.size())) return "unknown";
    return std::string(buf.data()) + "/64";
}

void audit(pqxx::work& tx, std::string_view event, std::optional<std::int64_t> org_id,
           std::optional<std::int64_t> account_id, std::string_view actor, std::string_view remote_ip,
           const nlohmann::json& details) {
    nlohmann::json d = details.is_object() ? details : details.is_null() ? nlohmann::json::object()
                                                                         : nlohmann::json{{"value", details}};
    std::optional<std::string> ip;
    if (!remote_ip.empty()) {
        ip = normalize_ip(remote_ip);
        if (!ip) d["remote_ip_raw"] = printable_utf8(remote_ip, 64);
    }
    std::string who = printable_utf8(actor, 256);
    if (who.empty()) who = "unknown";
    // error_handler::replace: a hostile byte sequence in a detail must not abort the
    // caller's transaction with a JSON exception.
    std::string json = without_nul(d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    tx.exec_params("INSERT INTO audit.events (org_id, account_id, actor, event, remote_ip, details) "
                   "VALUES ($1, $2, $3, $4, $5::inet, $6::jsonb)",
                   org_id, account_id, who, std::string(event), ip, json);
}

}  // namespace polder::auth
