// policy.cpp - recipient resolution, sender authorization and the submission rate limit.
// SECURITY: parameterized SQL only; see policy.hpp. STANDARDS: see policy.hpp.
#include "policy.hpp"

#include "polder/auth/address.hpp"
#include "polder/auth/directory.hpp"

#include <algorithm>

namespace polder::smtpd {

std::optional<std::string> normalize(std::string_view address) {
    if (address.size() > auth::max_address_input_octets) return std::nullopt;
    auto a = auth::parse_address(address);
    if (!a) return std::nullopt;
    return a->str();
}

namespace {

// without_tag - "user+tag@d" -> "user@d"; nullopt when there is no tag to strip.
std::optional<std::string> without_tag(std::string_view normalized) {
    const auto at = normalized.rfind('@');
    if (at == std::string_view::npos) return std::nullopt;
    const auto plus = normalized.substr(0, at).find('+');
    if (plus == std::string_view::npos || plus == 0) return std::nullopt;
    return std::string(normalized.substr(0, plus)) + std::string(normalized.substr(at));
}

bool over_quota(const auth::account_info& a, std::uint64_t incoming) {
    if (!a.quota_bytes) return false;
    const auto quota = static_cast<std::uint64_t>(*a.quota_bytes);
    const auto used = static_cast<std::uint64_t>(std::max<std::int64_t>(a.used_bytes, 0));
    return used >= quota || incoming > quota - used;
}

}  // namespace

rcpt_outcome resolve_recipient(pqxx::work& tx, std::string_view local_value, std::string_view domain,
                               std::uint64_t incoming_size) {
    rcpt_outcome out;
    auto dom = auth::normalize_domain(domain);
    if (!dom || !auth::find_domain(tx, *dom)) {
        out.status = rcpt_status::not_local;
        return out;
    }
    auto addr = normalize(std::string(local_value) + "@" + *dom);
    if (!addr) {   // ours, but not an address we could ever have provisioned
        out.status = rcpt_status::unknown_user;
        return out;
    }
    auto found = auth::resolve_recipients(tx, *addr);
    out.address = *addr;
    if (!found) {
        if (auto base = without_tag(*addr)) {
            found = auth::resolve_recipients(tx, *base);
            out.address = *base;
        }
    }
    if (!found) {
        out.status = rcpt_status::unknown_user;
        return out;
    }
    bool any_full = false;
    for (const auto& a : *found) {
        if (over_quota(a, incoming_size)) {
            any_full = true;
            continue;
        }
        if (std::find(out.accounts.begin(), out.accounts.end(), a.id) == out.accounts.end())
            out.accounts.push_back(a.id);
    }
    out.status = out.accounts.empty() ? (any_full ? rcpt_status::over_quota : rcpt_status::unknown_user)
                                      : rcpt_status::ok;
    return out;
}

sender_identity load_identity(pqxx::work& tx, const auth::principal& who) {
    sender_identity id;
    id.account_id = who.account_id;
    id.org_id = who.org_id;
    id.address = who.address;
    id.addresses.push_back(who.address);
    for (const auto& alias : auth::list_aliases(tx, who.org_id, who.account_id)) id.addresses.push_back(alias.address);
    return id;
}

bool may_send_as(const sender_identity& identity, std::string_view address) {
    auto norm = normalize(address);
    if (!norm) return false;
    auto known = [&](const std::string& a) {
        return std::find(identity.addresses.begin(), identity.addresses.end(), a) != identity.addresses.end();
    };
    if (known(*norm)) return true;
    auto base = without_tag(*norm);
    return base && known(*base);
}

bool take_rate_slot(pqxx::work& tx, std::int64_t account_id, unsigned per_hour) {
    if (per_hour == 0) return true;
    // One statement: concurrent sessions of the same account serialize on the row lock, so
    // the count is exact across processes. A window older than an hour starts over.
    auto r = tx.exec_params1(
        "INSERT INTO mail.smtp_rate AS r (account_id, window_start, messages) VALUES ($1, now(), 1) "
        "ON CONFLICT (account_id) DO UPDATE SET "
        "  window_start = CASE WHEN r.window_start <= now() - interval '1 hour' THEN now() ELSE r.window_start END, "
        "  messages = CASE WHEN r.window_start <= now() - interval '1 hour' THEN 1 "
        "                  ELSE LEAST(r.messages, 2000000000) + 1 END "
        "RETURNING messages",
        account_id);
    return r[0].as<std::int64_t>() <= static_cast<std::int64_t>(per_hour);
}

}  // namespace polder::smtpd
