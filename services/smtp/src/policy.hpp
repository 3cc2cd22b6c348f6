// policy.hpp - what polder-smtpd asks the directory: is a recipient ours and which
// accounts does it reach, may an authenticated account use a sender address, and may it
// send one more message this hour.
//
// Every function runs inside the caller's transaction on a database thread (pool.run /
// pool.transact), never on an I/O thread.
//
// Recipients: an address of one of our domains reaches the account itself, an alias's
// target or a group's members (auth::resolve_recipients). "user+tag@domain" that is not
// itself an address reaches what "user@domain" reaches (plus-addressing, RFC 5233 style
// subaddress; '+' is ordinary atext, so an exact match always wins). Disabled accounts
// are skipped; a recipient whose every account is over its quota is refused with 452.
//
// SECURITY: addresses are normalised with auth::parse_address (lower-case, A-label
// domains) before any comparison, so case or IDNA spelling cannot evade the sender check.
// The sender check allows an account's own address and the aliases that point at it (and
// +tag forms of these), nothing else: not its groups, not another account of its domain.
// STANDARDS: RFC 5321 section 3.6 (relaying), 4.1.1.3 (Postmaster), RFC 6409 section 8
// (sender checks by the MSA), RFC 5233 (subaddress).
#pragma once

#include "polder/auth/login.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::smtpd {

enum class rcpt_status {
    ok,            // accounts holds who receives it (non-empty, no duplicates)
    unknown_user,  // one of our domains, but no such address
    not_local,     // not one of our domains (relaying)
    over_quota,    // every account it reaches is full
};

struct rcpt_outcome {
    rcpt_status status = rcpt_status::unknown_user;
    std::string address;                 // normalised address that matched (for logs)
    std::vector<std::int64_t> accounts;
};

// resolve_recipient - local_value and domain as parsed from RCPT TO (quoting removed);
// incoming_size is the MAIL SIZE= hint (0 if none), used for the quota check.
rcpt_outcome resolve_recipient(pqxx::work& tx, std::string_view local_value, std::string_view domain,
                               std::uint64_t incoming_size);

// normalize - the canonical spelling of an address, or nullopt if it is not one we could
// have provisioned (quoted or non-ASCII local part, address literal ...).
std::optional<std::string> normalize(std::string_view address);

// sender_identity - the addresses an authenticated account may send as.
struct sender_identity {
    std::int64_t account_id = 0;
    std::int64_t org_id = 0;
    std::string address;
    std::vector<std::string> addresses;   // normalised: the account's own + its aliases
};

sender_identity load_identity(pqxx::work& tx, const auth::principal& who);

// may_send_as - whether address (any spelling) is one of identity's addresses, directly or
// as a +tag form of one.
bool may_send_as(const sender_identity& identity, std::string_view address);

// take_rate_slot - count one message for account in its current one-hour window; false
// when that makes more than per_hour (the message must be refused). per_hour 0 = no limit.
bool take_rate_slot(pqxx::work& tx, std::int64_t account_id, unsigned per_hour);

}  // namespace polder::smtpd
