// polder/auth/audit.hpp - writing security-relevant events to audit.events.
//
// The audit row is written in the caller's transaction, so a change and its
// audit event commit together or not at all: there is no admin change without
// its event and no event for a change that was rolled back.
//
// SECURITY: callers put ids, addresses, labels and reasons in details, never
// passwords or other secrets. Over-long actors are truncated, unparsable client
// addresses are stored as NULL with the raw text (truncated) in details, so a
// hostile value can neither break the insert nor bloat the trail.
// STANDARDS: RFC 4291 / RFC 791 textual IP addresses (inet).
#pragma once

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polder::auth {

// audit - insert one event (dotted lower-case name, e.g. "auth.login.failure",
// "admin.user.add"). actor: who acted (an address for logins, the OS user for
// polderctl). remote_ip may be empty. details must be a JSON object (anything
// else is wrapped as {"value": ...}). Throws what pqxx throws.
void audit(pqxx::work& tx, std::string_view event, std::optional<std::int64_t> org_id,
           std::optional<std::int64_t> account_id, std::string_view actor, std::string_view remote_ip,
           const nlohmann::json& details);

// purge_audit - delete the events older than `cutoff`, at most `batch` rows per
// transaction (a first purge of years of events never holds one long transaction),
// until none is left or *stop turns true. Concurrent callers (every service runs this)
// skip each other's rows (FOR UPDATE SKIP LOCKED) instead of waiting. Returns how many
// it deleted. Throws what pqxx throws; the batches committed before stay deleted.
std::int64_t purge_audit(pqxx::connection& c, std::chrono::system_clock::time_point cutoff, std::int64_t batch,
                         const std::atomic<bool>* stop = nullptr);

// normalize_ip - the canonical text of an IPv4 or IPv6 address (IPv4-mapped
// IPv6 becomes IPv4; an IPv6 zone suffix is dropped), or nothing.
[[nodiscard]] std::optional<std::string> normalize_ip(std::string_view text);

// throttle_ip_key - the key the per-IP login counter uses: the IPv4 address,
// or the /64 prefix of an IPv6 address (one subscriber usually holds a whole
// /64, so counting single IPv6 addresses would not limit anyone); "unknown"
// when remote_ip is empty or unparsable.
[[nodiscard]] std::string throttle_ip_key(std::string_view remote_ip);

}  // namespace polder::auth
