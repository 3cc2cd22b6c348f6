// ops.cpp - the mail store operations on a pqxx::work (see mailstore.hpp).
// SECURITY: all SQL is parameterized; every operation checks the acting account's rights
// before it reads or writes; invisible mailboxes are errc::not_found. Errors detected
// after a write throw rollback_error so nothing half-done can commit. Locks are taken in
// one order - accounts (quota) before mailboxes (UID/modseq allocation) - so concurrent
// deliveries and IMAP commands do not deadlock; UIDs come from UPDATE ... RETURNING on
// the mailbox row, which serializes allocators and keeps UIDs strictly ascending.
// Statements of fixed text run prepared (db::exec_cached); only SEARCH, whose SQL follows
// the client's criteria, is planned per execution.
// STANDARDS: RFC 3501, RFC 9051, RFC 4315, RFC 6851, RFC 7162, RFC 4314, RFC 9208, RFC 6154.
#include "polder/mailstore/mailstore.hpp"

#include "polder/db/arrays.hpp"
#include "polder/db/notifier.hpp"
#include "polder/db/prepared.hpp"
#include "polder/db/statement_names.hpp"
#include "polder/mime/json.hpp"
#include "polder/mime/text.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>

namespace polder::mailstore {

std::string notify_channel(std::int64_t account_id) { return "mail_" + std::to_string(account_id); }

namespace ops {
namespace {

constexpr std::size_t max_rows_per_call = 100000;
constexpr std::size_t max_mailboxes_per_account = 10000;
constexpr std::uint64_t uid_limit = 4294967296ull;   // uidnext may reach 2^32, a UID may not

const std::string rights_sql =
    "SELECT coalesce(string_agg(a.rights, ''), '') FROM mail.acl a WHERE a.mailbox_id = $1 "
    "AND (a.grantee_account_id = $2 OR a.grantee_group_id IN "
    "(SELECT gm.group_id FROM directory.group_members gm WHERE gm.account_id = $2))";

const std::string has_children_sql =
    "EXISTS (SELECT 1 FROM mail.mailboxes c WHERE c.account_id = m.account_id "
    "AND left(c.name, length(m.name) + 1) = m.name || '/')";

std::string clean(std::string_view s) { return mime::sanitize_utf8(s, false); }

std::vector<std::string> flags_of(const char* literal) {
    auto parsed = db::parse_text_array(literal);
    if (!parsed) return {};
    return std::move(*parsed);
}
std::vector<std::string> flags_of(const pqxx::field& f) { return flags_of(f.c_str()); }

std::string json_text(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// actor_rights - the actor's rights on a mailbox owned by `owner` (all when own).
std::string actor_rights(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox, std::int64_t owner) {
    if (owner == actor) return std::string(all_rights);
    auto r = db::exec_cached1(tx, rights_sql, mailbox, actor);
    auto n = normalize_rights(r[0].c_str());
    return n ? *n : std::string();
}

bool visible(std::string_view rights) { return has_rights(rights, "l") || has_rights(rights, "r"); }

mailbox_info info_from_row(const pqxx::row& r) {
    // columns: id, account_id, name, special_use, uidvalidity, noselect, has_children
    mailbox_info m;
    m.id = r[0].as<std::int64_t>();
    m.owner_account_id = r[1].as<std::int64_t>();
    m.name = r[2].as<std::string>();
    if (!r[3].is_null()) m.special_use = r[3].as<std::string>();
    m.uidvalidity = static_cast<std::uint32_t>(r[4].as<std::int64_t>());
    m.noselect = r[5].as<bool>();
    m.has_children = r[6].as<bool>();
    return m;
}

const std::string mailbox_cols =
    "m.id, m.account_id, m.name, m.special_use, m.uidvalidity, m.noselect, " + has_children_sql;

bool is_subscribed(pqxx::transaction_base& tx, std::int64_t actor, const std::string& name) {
    return !db::exec_cached(tx, "SELECT 1 FROM mail.subscriptions WHERE account_id = $1 AND name = $2", actor, name)
                .empty();
}

struct split_name {
    bool shared = false;
    std::string owner_address;   // shared only
    std::string name;            // normalized mailbox name in the owner's namespace
};

result<split_name> split(std::string_view raw) {
    auto prefix = std::string(shared_prefix) + hierarchy_separator;
    if (raw.size() > prefix.size() && raw.substr(0, prefix.size()) == prefix) {
        auto rest = raw.substr(prefix.size());
        auto slash = rest.find(hierarchy_separator);
        if (slash == std::string_view::npos || slash == 0) return errc::not_found;
        split_name s;
        s.shared = true;
        s.owner_address = std::string(rest.substr(0, slash));
        for (auto& c : s.owner_address) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto n = normalize_mailbox_name(rest.substr(slash + 1));
        if (!n) return n.error();
        s.name = std::move(*n);
        return s;
    }
    if (raw == shared_prefix) return errc::not_found;
    auto n = normalize_mailbox_name(raw);
    if (!n) return n.error();
    return split_name{false, {}, std::move(*n)};
}

std::string display_name(std::int64_t actor, std::int64_t owner, const std::string& owner_address,
                         const std::string& name) {
    if (owner == actor) return name;
    return std::string(shared_prefix) + hierarchy_separator + owner_address + hierarchy_separator + name;
}

// check_mailbox - the mailbox by id, for the actor, with uidvalidity and rights checked.
result<mailbox_info> check_mailbox(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t id, std::uint32_t uidvalidity,
                                   std::string_view needed) {
    // One round trip for the common case (the actor's own mailbox): the row, the owner's
    // address and whether the actor subscribes to the name it sees (display_name's rule).
    auto prefix = std::string(shared_prefix) + hierarchy_separator;
    auto rows = db::exec_cached(
        tx, "SELECT " + mailbox_cols + ", o.address, EXISTS (SELECT 1 FROM mail.subscriptions s WHERE s.account_id = $2 "
            "AND s.name = CASE WHEN m.account_id = $2 THEN m.name ELSE $3 || o.address || '/' || m.name END) "
            "FROM mail.mailboxes m JOIN directory.accounts o ON o.id = m.account_id WHERE m.id = $1",
        id, actor, prefix);
    if (rows.empty()) return errc::not_found;
    auto m = info_from_row(rows[0]);
    m.rights = actor_rights(tx, actor, m.id, m.owner_account_id);
    if (!visible(m.rights) || m.uidvalidity != uidvalidity) return errc::not_found;
    if (!has_rights(m.rights, needed)) return errc::permission_denied;
    m.name = display_name(actor, m.owner_account_id, rows[0][7].as<std::string>(), m.name);
    m.subscribed = rows[0][8].as<bool>();
    return m;
}

// resolve_own - resolve() for a name in the actor's own namespace, in one statement, with
// the owner's quota columns; `subscribed` is not filled. nullopt for a shared or invalid
// name: resolve() decides those. An owner holds every right, so `needed` always holds.
struct own_mailbox {
    mailbox_info info;
    std::optional<std::uint64_t> quota_bytes;
    std::uint64_t used_bytes = 0;
};
// With lock_account, the owner's usage row is locked too (FOR UPDATE, as lock_accounts
// does; the usage is then that of the latest committed row).
std::optional<result<own_mailbox>> resolve_own(pqxx::transaction_base& tx, std::int64_t actor, std::string_view raw,
                                               bool lock_account = false) {
    auto s = split(raw);
    if (!s || s->shared) return std::nullopt;
    auto rows = db::exec_cached(tx, "SELECT " + mailbox_cols + ", a.quota_bytes, u.used_bytes FROM mail.mailboxes m "
                                    "JOIN directory.accounts a ON a.id = m.account_id "
                                    "JOIN mail.account_usage u ON u.account_id = m.account_id "
                                    "WHERE m.account_id = $1 AND m.name = $2" +
                                    std::string(lock_account ? " FOR UPDATE OF u" : ""),
                                actor, s->name);
    if (rows.empty()) return result<own_mailbox>(errc::not_found);
    own_mailbox o;
    o.info = info_from_row(rows[0]);
    o.info.rights = std::string(all_rights);
    if (!rows[0][7].is_null()) o.quota_bytes = rows[0][7].as<std::uint64_t>();
    o.used_bytes = rows[0][8].as<std::uint64_t>();
    return result<own_mailbox>(std::move(o));
}

// lock_accounts - FOR UPDATE on the accounts' usage rows (mail.account_usage, schema 0113;
// ascending id: one global lock order). Returns each account's quota and usage.
std::map<std::int64_t, std::pair<std::optional<std::uint64_t>, std::uint64_t>> lock_accounts(
    pqxx::work& tx, std::vector<std::int64_t> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::map<std::int64_t, std::pair<std::optional<std::uint64_t>, std::uint64_t>> out;
    auto rows = db::exec_cached(tx, 
        "SELECT a.id, a.quota_bytes, u.used_bytes FROM directory.accounts a JOIN mail.account_usage u "
        "ON u.account_id = a.id WHERE a.id = ANY($1::bigint[]) ORDER BY a.id FOR UPDATE OF u",
        db::bigint_array(ids));
    for (const auto& r : rows) {
        std::optional<std::uint64_t> quota;
        if (!r[1].is_null()) quota = r[1].as<std::uint64_t>();
        out[r[0].as<std::int64_t>()] = {quota, r[2].as<std::uint64_t>()};
    }
    return out;
}

bool fits(const std::pair<std::optional<std::uint64_t>, std::uint64_t>& q, std::uint64_t add) {
    return !q.first || q.second + add <= *q.first;
}

struct allocation {
    std::uint64_t first_uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t uidvalidity = 0;
};

// allocate - n new UIDs and a new modseq; the row lock serializes concurrent allocators.
std::optional<allocation> allocate(pqxx::work& tx, std::int64_t mailbox, std::uint64_t n) {
    auto rows = db::exec_cached(tx, 
        "UPDATE mail.mailboxes SET uidnext = uidnext + $2::bigint, highestmodseq = highestmodseq + 1 "
        "WHERE id = $1 AND uidnext + $2::bigint <= $3::bigint RETURNING uidnext - $2::bigint, highestmodseq, uidvalidity",
        mailbox, static_cast<std::int64_t>(n), static_cast<std::int64_t>(uid_limit));
    if (rows.empty()) return std::nullopt;
    return allocation{rows[0][0].as<std::uint64_t>(), rows[0][1].as<std::uint64_t>(),
                      static_cast<std::uint32_t>(rows[0][2].as<std::int64_t>())};
}

std::uint64_t bump_modseq(pqxx::work& tx, std::int64_t mailbox) {
    return db::exec_cached1(tx, "UPDATE mail.mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 "
                           "RETURNING highestmodseq", mailbox)[0].as<std::uint64_t>();
}

void notify_mailbox(pqxx::work& tx, std::int64_t owner, std::int64_t mailbox) {
    db::notify(tx, notify_channel(owner), std::to_string(mailbox));
}

std::string uid_condition(const uid_set& set, std::vector<std::string>& params, int& next) {
    // One UID (a client's STORE or FETCH of a message): equality on the primary key. The
    // generic plan of the range form below estimates 0.5% of the mailbox's rows, the
    // custom plan one row, so PostgreSQL's plan cache kept choosing a custom plan and
    // planned the statement again on every execution (a quarter of the database's time
    // in a flag STORE); with equality both estimate one row and the plan is kept.
    if (set.size() == 1 && set.front().first == set.front().last) {
        params.push_back(std::to_string(set.front().first));
        return "mm.uid = $" + std::to_string(next++) + "::bigint";
    }
    std::vector<std::int64_t> lo, hi;
    for (const auto& r : set) {
        lo.push_back(r.first);
        hi.push_back(r.last);
    }
    std::int64_t low = lo.empty() ? 1 : *std::min_element(lo.begin(), lo.end());
    std::int64_t high = hi.empty() ? 0 : *std::max_element(hi.begin(), hi.end());
    params.push_back(db::bigint_array(lo));
    params.push_back(db::bigint_array(hi));
    params.push_back(std::to_string(low));
    params.push_back(std::to_string(high));
    std::string a = "$" + std::to_string(next++), b = "$" + std::to_string(next++);
    std::string l = "$" + std::to_string(next++), h = "$" + std::to_string(next++);
    // The outer BETWEEN lets the primary key (mailbox_id, uid) bound the scan: without it
    // a prepared (generic) plan checks the EXISTS for every message of the mailbox, so a
    // one-message STORE or FETCH cost time in proportion to the mailbox size.
    return "(mm.uid BETWEEN " + l + "::bigint AND " + h + "::bigint AND EXISTS (SELECT 1 FROM unnest(" + a +
           "::bigint[], " + b + "::bigint[]) AS r(lo, hi) WHERE mm.uid BETWEEN r.lo AND r.hi))";
}

std::string address_text(const std::vector<mime::display_address>& list) {
    std::string out;
    for (const auto& a : list) {
        if (!out.empty()) out += ", ";
        if (!a.name.empty()) out += a.name + " <" + a.address + ">";
        else out += a.address;
    }
    return clean(out);
}

std::string envelope_text(const std::vector<mime::address>& list) {
    std::string out;
    for (const auto& a : list) {
        if (!a.mailbox || !a.host) continue;
        if (!out.empty()) out += ", ";
        if (a.name) out += *a.name + " ";
        out += "<" + *a.mailbox + "@" + *a.host + ">";
    }
    return clean(out);
}

std::string first_mailbox(const std::vector<mime::address>& list) {
    for (const auto& a : list)
        if (a.mailbox && a.host) {
            std::string s = *a.mailbox;
            for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            return clean(s);
        }
    return {};
}

std::vector<std::string> clean_all(const std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (const auto& s : v) out.push_back(clean(s));
    return out;
}

// message_params - the 20 parameters of a mail.messages row ($1..$20 of insert_message_sql).
std::vector<std::string> message_params(const prepared_message& msg) {
    const auto& i = msg.info;
    nlohmann::json env = i.env, body = i.body, headers = i.headers;
    auto text = mime::sanitize_utf8(i.text, true);
    auto subject = clean(i.subject);
    std::vector<std::string> params = {
        msg.blob.hex(),
        std::to_string(msg.size),
        i.date ? std::to_string(*i.date) : std::string(),
        subject,
        base_subject(subject),
        first_mailbox(i.env.from),
        first_mailbox(i.env.to),
        first_mailbox(i.env.cc),
        address_text(i.from),
        address_text(i.to),
        address_text(i.cc),
        envelope_text(i.env.bcc),
        clean(i.message_id),
        db::text_array(clean_all(i.in_reply_to)),
        db::text_array(clean_all(i.references)),
        json_text(env),
        json_text(body),
        json_text(headers),
        text,
        msg.header_raw.value_or(std::string()),   // '' stores NULL (see insert_message_sql)
    };
    return params;
}

// fts stays NULL: the full-text vector is computed later (index_fts; schema 0105). $21,
// the octets kept with the row (schema 0109), is binary; empty stores NULL (a stored
// message is never empty).
const std::string insert_message_sql =
    "INSERT INTO mail.messages (blob_sha256, size, sent_date, subject, sort_subject, sort_from, sort_to, sort_cc, "
    "from_text, to_text, cc_text, bcc_text, message_id_hdr, in_reply_to, references_ids, envelope, bodystructure, "
    "header_fields, body_text, header_raw, raw) VALUES (decode($1, 'hex'), $2::bigint, "
    "to_timestamp(NULLIF($3, '')::bigint), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text[], $15::text[], "
    "$16::jsonb, $17::jsonb, $18::jsonb, $19, NULLIF($20::text, ''), NULLIF($21::bytea, ''::bytea)) RETURNING id";

// insert_message - the one mail.messages row of a parsed message.
std::int64_t insert_message(pqxx::work& tx, const prepared_message& msg) {
    auto params = message_params(msg);
    const std::string_view raw = msg.raw ? std::string_view(*msg.raw) : std::string_view();
    auto r = db::exec_cached1(tx, insert_message_sql, pqxx::prepare::make_dynamic_params(params),
                              pqxx::binarystring(raw.data(), raw.size()));
    return r[0].as<std::int64_t>();
}

namespace {
// The vector of Dutch and English stems (schema 0100), from at most 256 KiB of text:
// PostgreSQL refuses tsvectors over 1 MiB, and substring checks on body_text still cover
// the whole text.
const std::string fts_vector =
    "to_tsvector('dutch', left(m.body_text, 262144)) || to_tsvector('english', left(m.body_text, 262144))";
}  // namespace

std::optional<std::int64_t> find_owner(pqxx::transaction_base& tx, std::int64_t actor, const std::string& address) {
    auto rows = db::exec_cached(tx, 
        "SELECT o.id FROM directory.accounts o JOIN directory.accounts me ON me.org_id = o.org_id "
        "WHERE me.id = $1 AND o.address = $2", actor, address);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::int64_t>();
}

result<std::vector<std::pair<std::uint32_t, std::uint32_t>>> copy_rows(pqxx::work& tx, std::int64_t src,
                                                                       const std::vector<std::int64_t>& uids,
                                                                       std::int64_t dst, std::uint32_t* uidvalidity) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    if (uids.empty()) return out;
    auto a = allocate(tx, dst, uids.size());
    if (!a) throw rollback_error(errc::conflict);
    *uidvalidity = a->uidvalidity;
    db::exec_cached(tx, 
        "INSERT INTO mail.mailbox_messages (mailbox_id, uid, message_id, size, flags, modseq, internaldate) "
        "SELECT $1, $2::bigint + u.ord - 1, mm.message_id, mm.size, mm.flags, $3::bigint, mm.internaldate "
        "FROM unnest($4::bigint[]) WITH ORDINALITY AS u(uid, ord) "
        "JOIN mail.mailbox_messages mm ON mm.mailbox_id = $5 AND mm.uid = u.uid",
        dst, static_cast<std::int64_t>(a->first_uid), static_cast<std::int64_t>(a->modseq), db::bigint_array(uids),
        src);
    for (std::size_t k = 0; k < uids.size(); ++k)
        out.emplace_back(static_cast<std::uint32_t>(uids[k]), static_cast<std::uint32_t>(a->first_uid + k));
    return out;
}

std::vector<std::uint32_t> remove_rows(pqxx::work& tx, std::int64_t mailbox, const std::string& condition,
                                       std::vector<std::string> params) {
    auto modseq = bump_modseq(tx, mailbox);
    params.insert(params.begin(), {std::to_string(mailbox), std::to_string(modseq)});
    auto rows = db::exec_cached(tx, 
        "WITH gone AS (DELETE FROM mail.mailbox_messages mm WHERE mm.mailbox_id = $1::bigint AND " + condition +
            " RETURNING mm.uid) INSERT INTO mail.expunged (mailbox_id, uid, modseq) "
            "SELECT $1::bigint, uid, $2::bigint FROM gone RETURNING uid",
        pqxx::prepare::make_dynamic_params(params));
    std::vector<std::uint32_t> out;
    for (const auto& r : rows) out.push_back(static_cast<std::uint32_t>(r[0].as<std::int64_t>()));
    std::sort(out.begin(), out.end());
    return out;
}

// keep_recoverable_sql - what a removed entry leaves for recovery (schema 0115): from `gone`
// (the DELETE's RETURNING message_id, size, flags, internaldate) and `b` (the mailbox's
// account_id and name, the owner's), a row without \Deleted among its flags.
const std::string keep_recoverable_sql =
    "INSERT INTO mail.recoverable (account_id, mailbox_name, message_id, size, flags, internaldate) "
    "SELECT b.account_id, b.name, g.message_id, g.size, array_remove(g.flags, '\\Deleted'), g.internaldate "
    "FROM gone g CROSS JOIN b";

// remove_recoverably - every entry of mailbox m goes, each leaving a recoverable row for
// the mailbox's owner under the owner's name of it.
void remove_recoverably(pqxx::work& tx, const mailbox_info& m) {
    static const std::string sql =
        "WITH b AS (SELECT account_id, name FROM mail.mailboxes WHERE id = $1), "
        "gone AS (DELETE FROM mail.mailbox_messages WHERE mailbox_id = $1 "
        "RETURNING message_id, size, flags, internaldate) " + keep_recoverable_sql;
    db::exec_cached(tx, sql, m.id);
}

std::vector<std::int64_t> select_uids(pqxx::work& tx, std::int64_t mailbox, const uid_set& set) {
    std::vector<std::string> params{std::to_string(mailbox)};
    int next = 2;
    auto cond = uid_condition(set, params, next);
    auto rows = db::exec_cached(tx, "SELECT mm.uid FROM mail.mailbox_messages mm WHERE mm.mailbox_id = $1::bigint AND " +
                                   cond + " ORDER BY mm.uid LIMIT " + std::to_string(max_rows_per_call + 1),
                               pqxx::prepare::make_dynamic_params(params));
    std::vector<std::int64_t> out;
    for (const auto& r : rows) out.push_back(r[0].as<std::int64_t>());
    return out;
}

std::uint64_t size_of(pqxx::work& tx, std::int64_t mailbox, const std::vector<std::int64_t>& uids) {
    return db::exec_cached1(tx, "SELECT coalesce(sum(size), 0) FROM mail.mailbox_messages WHERE mailbox_id = $1 "
                           "AND uid = ANY($2::bigint[])", mailbox, db::bigint_array(uids))[0].as<std::uint64_t>();
}

}  // namespace

delivery_result deliver(pqxx::work& tx, const prepared_message& msg, const std::vector<recipient>& rcpts,
                        std::int64_t internaldate) {
    delivery_result out;
    out.recipients.resize(rcpts.size());
    if (rcpts.size() > max_recipients) {
        for (std::size_t k = 0; k < rcpts.size(); ++k) {
            out.recipients[k].account_id = rcpts[k].account_id;
            out.recipients[k].error = errc::limit_exceeded;
        }
        return out;
    }
    std::vector<std::int64_t> ids;
    for (const auto& r : rcpts) ids.push_back(r.account_id);
    auto quotas = lock_accounts(tx, ids);

    // target mailbox per recipient; the same (account, mailbox) twice is delivered once.
    std::map<std::int64_t, std::vector<std::size_t>> by_mailbox;
    std::map<std::int64_t, std::int64_t> owner_of;
    for (std::size_t k = 0; k < rcpts.size(); ++k) {
        auto& res = out.recipients[k];
        res.account_id = rcpts[k].account_id;
        auto q = quotas.find(rcpts[k].account_id);
        if (q == quotas.end()) {
            res.error = errc::not_found;
            continue;
        }
        auto name = normalize_mailbox_name(rcpts[k].mailbox);
        std::string wanted = name ? *name : std::string("INBOX");
        auto rows = db::exec_cached(tx, 
            "SELECT id FROM mail.mailboxes WHERE account_id = $1 AND NOT noselect AND name IN ($2, 'INBOX') "
            "ORDER BY (name = 'INBOX') LIMIT 1", rcpts[k].account_id, wanted);
        if (rows.empty()) {
            res.error = errc::not_found;
            continue;
        }
        auto mailbox = rows[0][0].as<std::int64_t>();
        bool seen = by_mailbox.count(mailbox) > 0;
        if (!seen) {
            if (!fits(q->second, msg.size)) {
                res.error = errc::quota_exceeded;
                continue;
            }
            q->second.second += msg.size;
        }
        by_mailbox[mailbox].push_back(k);
        owner_of[mailbox] = rcpts[k].account_id;
    }
    if (by_mailbox.empty()) return out;

    out.message_row = insert_message(tx, msg);
    std::set<std::pair<std::int64_t, std::int64_t>> notices;
    for (const auto& [mailbox, who] : by_mailbox) {   // ascending mailbox id: one lock order
        auto a = allocate(tx, mailbox, 1);
        if (!a) {
            for (auto k : who) out.recipients[k].error = errc::conflict;
            continue;
        }
        db::exec_cached(tx, "INSERT INTO mail.mailbox_messages (mailbox_id, uid, message_id, size, modseq, internaldate) "
                       "VALUES ($1, $2, $3, $4, $5, to_timestamp($6::bigint))",
                       mailbox, static_cast<std::int64_t>(a->first_uid), out.message_row,
                       static_cast<std::int64_t>(msg.size), static_cast<std::int64_t>(a->modseq), internaldate);
        for (auto k : who) {
            out.recipients[k].mailbox_id = mailbox;
            out.recipients[k].uid = static_cast<std::uint32_t>(a->first_uid);
        }
        notices.emplace(owner_of[mailbox], mailbox);
    }
    for (const auto& [owner, mailbox] : notices) notify_mailbox(tx, owner, mailbox);
    return out;
}

result<std::vector<mailbox_info>> list_mailboxes(pqxx::transaction_base& tx, std::int64_t actor) {
    std::vector<mailbox_info> out;
    std::set<std::string> subs;
    for (const auto& r : db::exec_cached(tx, "SELECT name FROM mail.subscriptions WHERE account_id = $1", actor))
        subs.insert(r[0].as<std::string>());
    for (const auto& r :
         db::exec_cached(tx, "SELECT " + mailbox_cols + " FROM mail.mailboxes m WHERE m.account_id = $1 ORDER BY m.name",
                        actor)) {
        auto m = info_from_row(r);
        m.rights = std::string(all_rights);
        m.subscribed = subs.count(m.name) > 0;
        out.push_back(std::move(m));
    }
    auto shared = db::exec_cached(tx, 
        "SELECT " + mailbox_cols + ", o.address, string_agg(a.rights, '') FROM mail.mailboxes m "
        "JOIN directory.accounts o ON o.id = m.account_id JOIN mail.acl a ON a.mailbox_id = m.id "
        "WHERE m.account_id <> $1 AND o.org_id = (SELECT org_id FROM directory.accounts WHERE id = $1) "
        "AND (a.grantee_account_id = $1 OR a.grantee_group_id IN "
        "(SELECT gm.group_id FROM directory.group_members gm WHERE gm.account_id = $1)) "
        "GROUP BY m.id, o.address ORDER BY o.address, m.name", actor);
    for (const auto& r : shared) {
        auto m = info_from_row(r);
        auto rights = normalize_rights(r[8].c_str());
        if (!rights || !has_rights(*rights, "l")) continue;
        m.rights = *rights;
        m.name = display_name(actor, m.owner_account_id, r[7].as<std::string>(), m.name);
        m.subscribed = subs.count(m.name) > 0;
        out.push_back(std::move(m));
    }
    return out;
}

result<mailbox_info> resolve(pqxx::transaction_base& tx, std::int64_t actor, std::string_view raw, std::string_view needed) {
    auto s = split(raw);
    if (!s) return is(s.error(), errc::invalid_argument) ? s.error() : make_error_code(errc::not_found);
    std::int64_t owner = actor;
    std::string owner_address;
    if (s->shared) {
        auto o = find_owner(tx, actor, s->owner_address);
        if (!o) return errc::not_found;
        owner = *o;
        owner_address = s->owner_address;
    }
    auto rows = db::exec_cached(tx, "SELECT " + mailbox_cols + " FROM mail.mailboxes m WHERE m.account_id = $1 AND m.name = $2",
                               owner, s->name);
    if (rows.empty()) return errc::not_found;
    auto m = info_from_row(rows[0]);
    m.rights = actor_rights(tx, actor, m.id, owner);
    if (!visible(m.rights)) return errc::not_found;
    if (!has_rights(m.rights, needed)) return errc::permission_denied;
    m.name = display_name(actor, owner, owner_address, m.name);
    m.subscribed = is_subscribed(tx, actor, m.name);
    return m;
}

result<std::int64_t> create_mailbox(pqxx::work& tx, std::int64_t actor, std::string_view raw,
                                    std::optional<std::string> special_use) {
    auto s = split(raw);
    if (!s) return s.error();
    if (s->shared || s->name == shared_prefix || s->name.rfind(std::string(shared_prefix) + "/", 0) == 0)
        return errc::permission_denied;   // other users' namespaces are not writable here
    if (special_use) {
        static const std::set<std::string> known = {"\\All", "\\Archive", "\\Drafts", "\\Flagged",
                                                    "\\Junk", "\\Sent", "\\Trash"};
        if (!known.count(*special_use)) return errc::invalid_argument;
    }
    auto count = db::exec_cached1(tx, "SELECT count(*) FROM mail.mailboxes WHERE account_id = $1", actor)[0].as<std::size_t>();
    if (count >= max_mailboxes_per_account) return errc::limit_exceeded;
    auto existing = db::exec_cached(tx, "SELECT id, noselect FROM mail.mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE",
                                   actor, s->name);
    if (!existing.empty()) {
        if (!existing[0][1].as<bool>()) return errc::already_exists;
        auto id = existing[0][0].as<std::int64_t>();
        db::exec_cached(tx, "UPDATE mail.mailboxes SET noselect = false, special_use = coalesce(NULLIF($2, ''), special_use) WHERE id = $1",
                       id, special_use ? *special_use : std::string());
        notify_mailbox(tx, actor, id);
        return id;
    }
    for (const auto& parent : parent_names(s->name))
        db::exec_cached(tx, "INSERT INTO mail.mailboxes (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", actor,
                       parent);
    auto r = db::exec_cached1(tx, "INSERT INTO mail.mailboxes (account_id, name, special_use) VALUES ($1, $2, NULLIF($3, '')) "
                             "RETURNING id", actor, s->name, special_use ? *special_use : std::string());
    auto id = r[0].as<std::int64_t>();
    notify_mailbox(tx, actor, id);
    return id;
}

result<void> delete_mailbox(pqxx::work& tx, std::int64_t actor, std::string_view raw) {
    auto m = resolve(tx, actor, raw, "x");
    if (!m) return m.error();
    if (m->owner_account_id == actor && m->name == "INBOX") return errc::invalid_argument;
    lock_accounts(tx, {m->owner_account_id});
    if (m->has_children) {
        if (m->noselect) return errc::invalid_argument;   // RFC 3501 6.3.4: already \Noselect with children
        remove_recoverably(tx, *m);
        db::exec_cached(tx, "DELETE FROM mail.expunged WHERE mailbox_id = $1", m->id);
        // A \Noselect mailbox holds no messages; it keeps UIDVALIDITY so a later CREATE is
        // safe: its records of what was expunged are gone with its messages, so a client
        // resynchronising from before (RFC 7162) is told every UID it had went (schema 0114).
        db::exec_cached(tx, "UPDATE mail.mailboxes SET noselect = true, special_use = NULL, highestmodseq = highestmodseq + 1, "
                       "vanished_floor = highestmodseq + 1 WHERE id = $1", m->id);
    } else {
        remove_recoverably(tx, *m);
        db::exec_cached(tx, "DELETE FROM mail.mailboxes WHERE id = $1", m->id);
    }
    notify_mailbox(tx, m->owner_account_id, m->id);
    return {};
}

result<void> rename_mailbox(pqxx::work& tx, std::int64_t actor, std::string_view from_raw, std::string_view to_raw) {
    auto m = resolve(tx, actor, from_raw, "x");
    if (!m) return m.error();
    auto to = split(to_raw);
    if (!to) return to.error();
    if (m->owner_account_id != actor || to->shared || to->name == shared_prefix ||
        to->name.rfind(std::string(shared_prefix) + "/", 0) == 0)
        return errc::permission_denied;   // renames stay inside the actor's own namespace
    const std::string& from = m->name;
    const std::string& dest = to->name;
    if (dest == from) return errc::already_exists;
    if (dest.rfind(from + "/", 0) == 0) return errc::invalid_argument;   // into its own subtree
    auto clash = db::exec_cached(tx, "SELECT 1 FROM mail.mailboxes WHERE account_id = $1 AND (name = $2 OR "
                                "left(name, length($2) + 1) = $2 || '/') AND NOT noselect", actor, dest);
    if (!clash.empty()) return errc::already_exists;
    auto hollow = db::exec_cached(tx, "SELECT 1 FROM mail.mailboxes WHERE account_id = $1 AND name = $2", actor, dest);
    if (!hollow.empty()) return errc::already_exists;

    if (from == "INBOX") {
        // RFC 3501 6.3.5: renaming INBOX moves its messages to a new mailbox; INBOX stays, empty.
        if (m->noselect) return errc::invalid_argument;
        for (const auto& parent : parent_names(dest))
            db::exec_cached(tx, "INSERT INTO mail.mailboxes (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", actor,
                           parent);
        auto id = db::exec_cached1(tx, "INSERT INTO mail.mailboxes (account_id, name) VALUES ($1, $2) RETURNING id", actor,
                                  dest)[0].as<std::int64_t>();
        auto uids = db::exec_cached(tx, "SELECT uid FROM mail.mailbox_messages WHERE mailbox_id = $1 ORDER BY uid", m->id);
        std::vector<std::int64_t> list;
        for (const auto& r : uids) list.push_back(r[0].as<std::int64_t>());
        std::uint32_t uv = 0;
        auto moved = copy_rows(tx, m->id, list, id, &uv);
        if (!moved) throw rollback_error(moved.error());
        if (!list.empty()) remove_rows(tx, m->id, "TRUE", {});
        notify_mailbox(tx, actor, m->id);
        notify_mailbox(tx, actor, id);
        return {};
    }
    // The mailbox and its children keep their ids and UIDVALIDITY (RFC 3501 allows it: they
    // are the same mailboxes under a new name).
    db::exec_cached(tx, "UPDATE mail.mailboxes SET name = $3 || substr(name, length($2) + 1) WHERE account_id = $1 "
                   "AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')", actor, from, dest);
    db::exec_cached(tx, "UPDATE mail.subscriptions SET name = $3 || substr(name, length($2) + 1) WHERE account_id = $1 "
                   "AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')", actor, from, dest);
    for (const auto& parent : parent_names(dest))
        db::exec_cached(tx, "INSERT INTO mail.mailboxes (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", actor,
                       parent);
    notify_mailbox(tx, actor, m->id);
    return {};
}

result<void> subscribe(pqxx::work& tx, std::int64_t actor, std::string_view raw, bool on) {
    if (on) {
        auto m = resolve(tx, actor, raw, "l");
        if (!m) return m.error();
        db::exec_cached(tx, "INSERT INTO mail.subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", actor,
                       m->name);
        return {};
    }
    // Unsubscribing works for names whose mailbox is gone (RFC 3501 6.3.7).
    auto s = split(raw);
    std::string name = s ? (s->shared ? display_name(actor, -1, s->owner_address, s->name) : s->name) : std::string(raw);
    auto r = db::exec_cached(tx, "DELETE FROM mail.subscriptions WHERE account_id = $1 AND name = $2", actor, name);
    if (r.affected_rows() == 0) return errc::not_found;
    return {};
}

result<mailbox_status> status(pqxx::transaction_base& tx, std::int64_t actor, std::string_view name) {
    auto m = resolve(tx, actor, name, "r");
    if (!m) return m.error();
    if (m->noselect) return errc::invalid_argument;
    auto r = db::exec_cached1(tx, 
        "SELECT mb.uidnext, mb.highestmodseq, s.n, s.unseen, s.deleted, s.total, "
        "(SELECT count(*) FROM mail.mailbox_messages r WHERE r.mailbox_id = $1 AND r.uid > mb.recent_uid) "
        "FROM mail.mailboxes mb, "
        "(SELECT count(*) AS n, count(*) FILTER (WHERE NOT ('\\Seen' = ANY(flags))) AS unseen, "
        "count(*) FILTER (WHERE '\\Deleted' = ANY(flags)) AS deleted, coalesce(sum(size), 0) AS total "
        "FROM mail.mailbox_messages WHERE mailbox_id = $1) s WHERE mb.id = $1", m->id);
    mailbox_status st;
    st.mailbox_id = m->id;
    st.uidvalidity = m->uidvalidity;
    st.uidnext = r[0].as<std::uint64_t>();
    st.highestmodseq = r[1].as<std::uint64_t>();
    st.messages = r[2].as<std::uint64_t>();
    st.unseen = r[3].as<std::uint64_t>();
    st.deleted = r[4].as<std::uint64_t>();
    st.size = r[5].as<std::uint64_t>();
    st.recent = r[6].as<std::uint64_t>();
    return st;
}

result<select_snapshot> select(pqxx::transaction_base& tx, std::int64_t actor, std::string_view name) {
    auto m = resolve(tx, actor, name, "r");
    if (!m) return m.error();
    if (m->noselect) return errc::invalid_argument;
    select_snapshot snap;
    // One statement, one snapshot: uidnext, highestmodseq and the rows agree.
    auto rows = db::exec_cached(tx, "SELECT mb.uidnext, mb.highestmodseq, mm.uid, mm.flags, mm.modseq FROM mail.mailboxes mb "
                               "LEFT JOIN mail.mailbox_messages mm ON mm.mailbox_id = mb.id WHERE mb.id = $1 "
                               "ORDER BY mm.uid", m->id);
    if (rows.empty()) return errc::not_found;   // deleted since resolve (each read is its own statement)
    std::set<std::string> keywords;
    for (const auto& r : rows) {
        snap.uidnext = r[0].as<std::uint64_t>();
        snap.highestmodseq = r[1].as<std::uint64_t>();
        if (r[2].is_null()) continue;
        message_flags f{static_cast<std::uint32_t>(r[2].as<std::int64_t>()), flags_of(r[3]), r[4].as<std::uint64_t>()};
        for (const auto& k : f.flags)
            if (!is_system_flag(k)) keywords.insert(k);
        snap.messages.push_back(std::move(f));
    }
    snap.keywords.assign(keywords.begin(), keywords.end());
    snap.mailbox = std::move(*m);
    return snap;
}

result<changes> changes_since(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                              std::uint64_t since) {
    auto s = static_cast<std::int64_t>(std::min<std::uint64_t>(since, INT64_MAX));
    // One statement, one snapshot, and in the common case one round trip: the check that
    // the actor owns the mailbox with this UIDVALIDITY ($3, $4) gates the rows; kind 3
    // (not the owner's own, or UIDVALIDITY changed) sends it through check_mailbox. When
    // expunge records newer than $2 may have been pruned (schema 0114: vanished_floor
    // above it), the mailbox's UIDs come instead (kind 4) and the mailbox row is kind 5.
    const std::string sql =
        "WITH mb AS (SELECT uidnext, highestmodseq, account_id = $3::bigint AND uidvalidity = $4::bigint AS own, "
        "vanished_floor > $2 AS pruned FROM mail.mailboxes WHERE id = $1) "
        "SELECT 0, uid, flags, modseq FROM mail.mailbox_messages WHERE mailbox_id = $1 AND modseq > $2 "
        "AND (SELECT own FROM mb) "
        "UNION ALL SELECT 1, uid, NULL, modseq FROM mail.expunged WHERE mailbox_id = $1 AND modseq > $2 "
        "AND (SELECT own AND NOT pruned FROM mb) "
        "UNION ALL SELECT 4, uid, NULL, NULL FROM mail.mailbox_messages WHERE mailbox_id = $1 "
        "AND (SELECT own AND pruned FROM mb) "
        "UNION ALL SELECT CASE WHEN NOT own THEN 3 WHEN pruned THEN 5 ELSE 2 END, uidnext, NULL, highestmodseq FROM mb";
    auto rows = db::exec_cached(tx, sql, mailbox, s, actor, static_cast<std::int64_t>(uidvalidity));
    bool own = false;
    for (const auto& r : rows)
        if (const auto kind = r[0].as<int>(); kind == 2 || kind == 5) own = true;
    if (!own) {
        auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
        if (!m) return m.error();
        rows = db::exec_cached(tx, sql, mailbox, s, m->owner_account_id, static_cast<std::int64_t>(uidvalidity));
    }
    changes c;
    bool seen = false;
    for (const auto& r : rows) {
        auto kind = r[0].as<int>();
        if (kind == 2 || kind == 5) {
            seen = true;
            c.uidnext = r[1].as<std::uint64_t>();
            c.highestmodseq = r[3].as<std::uint64_t>();
            c.expunges_known = kind == 2;
        } else if (kind == 4) {
            c.present.push_back(static_cast<std::uint32_t>(r[1].as<std::int64_t>()));
        } else if (kind == 1) {
            c.expunged.push_back(static_cast<std::uint32_t>(r[1].as<std::int64_t>()));
        } else if (kind == 0) {
            c.changed.push_back({static_cast<std::uint32_t>(r[1].as<std::int64_t>()), flags_of(r[2]),
                                 r[3].as<std::uint64_t>()});
        }
    }
    if (!seen) return errc::not_found;   // changed between check_mailbox and the read
    std::sort(c.expunged.begin(), c.expunged.end());
    std::sort(c.present.begin(), c.present.end());
    std::sort(c.changed.begin(), c.changed.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
    return c;
}

octets_by_row raw_octets(pqxx::transaction_base& tx, const std::vector<std::int64_t>& rows) {
    octets_by_row out;
    if (rows.empty()) return out;
    for (const auto& r : db::exec_cached(tx, "SELECT id, raw FROM mail.messages WHERE id = ANY($1::bigint[]) "
                                             "AND raw IS NOT NULL", db::bigint_array(rows)))
        out.emplace_back(r[0].as<std::int64_t>(), std::make_shared<const std::string>(pqxx::binarystring(r[1]).str()));
    return out;
}

result<std::vector<message_meta>> fetch(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                        std::uint32_t uidvalidity, const uid_set& uids, fetch_needs needs) {
    auto set = make_uid_set(uids);
    if (!set) {
        auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
        if (!m) return m.error();
        return set.error();
    }
    // One round trip in the common case: the mailbox check - the actor's own mailbox, still
    // with this UIDVALIDITY - rides along with the rows ($2, $3). When it fails (a shared
    // mailbox, or gone), check_mailbox decides with the full rights check and the rows are
    // read again as the owner's. The JSON columns nobody asked for are not sent.
    // $5: "full" (the structure's JSON), "root" (the root's offsets only), "none".
    // $4: the envelope's JSON ("t"/"f"); $6: the SORT/THREAD columns; $7: the stored header;
    // $8: the octets of a message kept in the database (schema 0109), also sent with $7
    // when no header block is stored for it (no blob to read the header from).
    std::vector<std::string> params{std::to_string(mailbox), std::to_string(actor), std::to_string(uidvalidity),
                                    needs.envelope ? "t" : "f",
                                    !needs.body ? "none" : needs.root_only ? "root" : "full",
                                    needs.sort ? "t" : "f", needs.header_raw ? "t" : "f",
                                    needs.raw ? "t" : "f"};
    int next = 9;
    auto cond = uid_condition(*set, params, next);
    const std::string sql =
        "SELECT mb.own, x.* FROM (SELECT b.account_id = $2::bigint AND b.uidvalidity = $3::bigint AS own "
        "FROM mail.mailboxes b WHERE b.id = $1::bigint) mb LEFT JOIN LATERAL ("
        "SELECT mm.uid, mm.message_id, encode(m.blob_sha256, 'hex'), mm.size, extract(epoch FROM mm.internaldate)::bigint, "
        "mm.flags, mm.modseq, CASE WHEN $4::boolean THEN m.envelope::text END, "
        "CASE WHEN $5::text = 'full' THEN m.bodystructure::text END, "
        "CASE WHEN $6::boolean THEN extract(epoch FROM m.sent_date)::bigint END, "
        "CASE WHEN $6::boolean THEN m.sort_subject END, CASE WHEN $6::boolean THEN m.sort_from END, "
        "CASE WHEN $6::boolean THEN m.sort_to END, CASE WHEN $6::boolean THEN m.sort_cc END, "
        "CASE WHEN $6::boolean THEN m.message_id_hdr END, CASE WHEN $6::boolean THEN m.in_reply_to END, "
        "CASE WHEN $6::boolean THEN m.references_ids END, "
        "CASE WHEN $5::text = 'root' THEN (m.bodystructure->>'header_start')::bigint END, "
        "CASE WHEN $5::text = 'root' THEN (m.bodystructure->>'body_start')::bigint END, "
        "CASE WHEN $5::text = 'root' THEN (m.bodystructure->>'body_end')::bigint END, "
        "CASE WHEN $7::boolean THEN m.header_raw END, m.raw IS NOT NULL, "
        "CASE WHEN $8::boolean OR ($7::boolean AND m.header_raw IS NULL) THEN m.raw END "
        "FROM mail.mailbox_messages mm JOIN mail.messages m ON m.id = mm.message_id "
        "WHERE mb.own AND mm.mailbox_id = $1::bigint AND " + cond + " ORDER BY mm.uid LIMIT " +
        std::to_string(max_rows_per_call / 10 + 1) + ") x ON TRUE ORDER BY x.uid";
    auto rows = db::exec_cached(tx, sql, pqxx::prepare::make_dynamic_params(params));
    if (rows.empty()) return errc::not_found;
    if (!rows[0][0].as<bool>()) {
        auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
        if (!m) return m.error();
        params[1] = std::to_string(m->owner_account_id);
        rows = db::exec_cached(tx, sql, pqxx::prepare::make_dynamic_params(params));
        if (rows.empty() || !rows[0][0].as<bool>()) return errc::not_found;   // changed meanwhile
    }
    if (rows.size() > max_rows_per_call / 10) return errc::limit_exceeded;
    std::vector<message_meta> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        if (r[1].is_null()) continue;   // the mailbox row alone: no message matched
        message_meta mm;
        mm.uid = static_cast<std::uint32_t>(r[1].as<std::int64_t>());
        mm.message_row = r[2].as<std::int64_t>();
        auto id = blob::blob_id::from_hex(r[3].c_str());
        if (!id) return errc::internal;
        mm.blob = *id;
        mm.size = r[4].as<std::uint64_t>();
        mm.internaldate = r[5].as<std::int64_t>();
        mm.flags = flags_of(r[6]);
        mm.modseq = r[7].as<std::uint64_t>();
        if (needs.sort) {
            if (!r[10].is_null()) mm.sent_date = r[10].as<std::int64_t>();
            mm.sort_subject = r[11].as<std::string>();
            mm.sort_from = r[12].as<std::string>();
            mm.sort_to = r[13].as<std::string>();
            mm.sort_cc = r[14].as<std::string>();
            mm.message_id = r[15].as<std::string>();
            mm.in_reply_to = flags_of(r[16]);
            mm.references = flags_of(r[17]);
        }
        try {
            mm.parsed.size = mm.size;
            if (!r[8].is_null()) nlohmann::json::parse(r[8].c_str()).get_to(mm.parsed.env);
            if (!r[9].is_null()) nlohmann::json::parse(r[9].c_str()).get_to(mm.parsed.body);
            if (!r[18].is_null() && !r[19].is_null() && !r[20].is_null()) {
                mm.parsed.body.header_start = r[18].as<std::uint64_t>();
                mm.parsed.body.body_start = r[19].as<std::uint64_t>();
                mm.parsed.body.body_end = r[20].as<std::uint64_t>();
            } else if (needs.body && needs.root_only) {
                return errc::internal;   // stored by this module: corrupt data, not client input
            }
            if (!r[21].is_null()) mm.header_raw = r[21].as<std::string>();
            mm.raw_in_db = r[22].as<bool>();
            if (!r[23].is_null()) mm.raw = std::make_shared<const std::string>(pqxx::binarystring(r[23]).str());
            // header_fields (for SEARCH HEADER, in SQL) is not read: FETCH filters header
            // fields on the raw bytes.
        } catch (const nlohmann::json::exception&) {
            return errc::internal;   // stored by this module: corrupt data, not client input
        }
        out.push_back(std::move(mm));
    }
    return out;
}

result<std::uint32_t> claim_recent(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox,
                                   std::uint32_t uidvalidity) {
    auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
    if (!m) return m.error();
    // FOR UPDATE: concurrent sessions queue here and take disjoint ranges.
    auto r = db::exec_cached1(tx, "SELECT recent_uid, uidnext FROM mail.mailboxes WHERE id = $1 FOR UPDATE", mailbox);
    db::exec_cached(tx, "UPDATE mail.mailboxes SET recent_uid = $2 WHERE id = $1", mailbox,
                   r[1].as<std::int64_t>() - 1);
    return static_cast<std::uint32_t>(std::min<std::int64_t>(r[0].as<std::int64_t>() + 1, UINT32_MAX));
}

std::optional<std::uint32_t> claim_recent_own(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                              std::uint32_t uidvalidity) {
    // claim_recent's read-then-update as one statement: the subquery locks the row (FOR
    // UPDATE: a concurrent claimer waits and then sees this claim's result) and yields
    // the old recent_uid, the UPDATE moves it to uidnext - 1.
    auto rows = db::exec_cached(
        tx, "UPDATE mail.mailboxes mb SET recent_uid = mb.uidnext - 1 FROM (SELECT id, recent_uid FROM mail.mailboxes "
            "WHERE id = $1 AND account_id = $2 AND uidvalidity = $3 FOR UPDATE) o WHERE mb.id = o.id RETURNING o.recent_uid",
        mailbox, actor, static_cast<std::int64_t>(uidvalidity));
    if (rows.empty()) return std::nullopt;
    return static_cast<std::uint32_t>(std::min<std::int64_t>(rows[0][0].as<std::int64_t>() + 1, UINT32_MAX));
}

result<append_result> append(pqxx::work& tx, std::int64_t actor, std::string_view name, const prepared_message& msg,
                             const std::vector<std::string>& flags, std::int64_t internaldate,
                             std::optional<std::uint64_t> claim_if_modseq) {
    // The actor's own mailbox (the common case): resolved with the account locked and its
    // quota read in one statement; otherwise the full rights check, then the owner's lock.
    result<mailbox_info> m = errc::not_found;
    std::pair<std::optional<std::uint64_t>, std::uint64_t> quota;
    bool locked = false;
    if (auto own = resolve_own(tx, actor, name, true)) {
        if (!*own) return own->error();
        m = std::move((*own)->info);
        quota = {(*own)->quota_bytes, (*own)->used_bytes};
        locked = true;
    } else {
        m = resolve(tx, actor, name, "i");
    }
    if (!m) return m.error();
    if (m->noselect) return errc::invalid_argument;
    auto f = normalize_flags(flags);
    if (!f) return f.error();
    // RFC 4314 4: flags the actor may not set are dropped, not refused.
    std::vector<std::string> allowed;
    for (const auto& x : *f) {
        char right = x == "\\Seen" ? 's' : x == "\\Deleted" ? 't' : 'w';
        if (m->rights.find(right) != std::string::npos) allowed.push_back(x);
    }
    if (!locked) {
        auto q = lock_accounts(tx, {m->owner_account_id});
        if (!q.count(m->owner_account_id)) return errc::quota_exceeded;
        quota = q[m->owner_account_id];
    }
    if (!fits(quota, msg.size)) return errc::quota_exceeded;
    // The mail.messages row, allocate(), the mailbox entry and the NOTIFY in one statement
    // (one round trip); no row back means the mailbox's UIDs are exhausted (uidnext would
    // pass 2^32), and the message row is rolled back with the rest. The NOTIFY names the
    // new modseq: this is a one-step change (see notify_channel). With $29 (the appending
    // session's view modseq): when nothing else changed since that view, the session
    // claims the new message as \Recent here, as its resync would have done.
    auto params = message_params(msg);   // $1..$20; $21: the octets (insert_message)
    const std::vector<std::string> more{
        std::to_string(m->id),                         // $22
        db::text_array(allowed),                       // $23
        std::to_string(internaldate),                  // $24
        notify_channel(m->owner_account_id),           // $25
        std::to_string(m->id),                         // $26 (as text)
        std::to_string(uid_limit),                     // $27
        std::to_string(msg.size),                      // $28
        std::to_string(claim_if_modseq ? std::min<std::uint64_t>(*claim_if_modseq, INT64_MAX)
                                       : std::uint64_t{0}),   // $29
        claim_if_modseq ? "t" : "f",                   // $30
    };
    static const std::string sql =
        "WITH msg AS (" + insert_message_sql + "), "
        "a AS (UPDATE mail.mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1, "
        "recent_uid = CASE WHEN $30::boolean AND highestmodseq = $29::bigint THEN uidnext ELSE recent_uid END "
        "WHERE id = $22::bigint AND uidnext + 1 <= $27::bigint "
        "RETURNING uidnext - 1 AS uid, highestmodseq, uidvalidity, recent_uid = uidnext - 1 AS claimed), "
        "i AS (INSERT INTO mail.mailbox_messages (mailbox_id, uid, message_id, size, flags, modseq, internaldate) "
        "SELECT $22::bigint, a.uid, msg.id, $28::bigint, mail.flags_union('{}', $23::text[]), a.highestmodseq, "
        "to_timestamp($24::bigint) FROM a, msg RETURNING uid, flags, message_id), "
        "n AS (SELECT pg_notify($25::text, $26::text || ':' || a.highestmodseq::text) FROM a "
        "WHERE EXISTS (SELECT 1 FROM i)) "
        "SELECT a.uid, a.highestmodseq, a.uidvalidity, i.flags, a.claimed, i.message_id FROM a JOIN i ON i.uid = a.uid "
        "LEFT JOIN n ON TRUE";
    const std::string_view raw = msg.raw ? std::string_view(*msg.raw) : std::string_view();
    auto rows = db::exec_cached(tx, sql, pqxx::prepare::make_dynamic_params(params),
                                pqxx::binarystring(raw.data(), raw.size()), pqxx::prepare::make_dynamic_params(more));
    if (rows.empty()) throw rollback_error(errc::conflict);
    append_result out;
    out.mailbox_id = m->id;
    out.uidvalidity = static_cast<std::uint32_t>(rows[0][2].as<std::int64_t>());
    out.uid = static_cast<std::uint32_t>(rows[0][0].as<std::int64_t>());
    out.modseq = rows[0][1].as<std::uint64_t>();
    out.flags = flags_of(rows[0][3]);
    out.recent = rows[0][4].as<bool>();
    out.message_row = rows[0][5].as<std::int64_t>();
    return out;
}

namespace {
// batchable_append_of - an APPEND mail.append_batch can do: to the actor's own mailbox (its
// normalised name), with valid flags (normalised), octets kept with the row of exactly the
// message's size or none.
struct batchable_append {
    std::string name;
    std::vector<std::string> flags;
};
std::optional<batchable_append> batchable_append_of(const append_request* r) {
    if (r == nullptr || r->msg == nullptr) return std::nullopt;
    auto s = split(r->name);
    if (!s || s->shared) return std::nullopt;
    auto f = normalize_flags(r->flags);
    if (!f) return std::nullopt;
    if (r->msg->raw && r->msg->raw->size() != r->msg->size) return std::nullopt;
    return batchable_append{std::move(s->name), std::move(*f)};
}
}  // namespace

std::optional<db::statement> append_batch_statement(std::span<const append_request* const> requests,
                                                    std::vector<std::size_t>& left) {
    constexpr std::size_t fields = 20;   // message_params
    std::vector<std::int64_t> items, accounts, sizes, raw_at, internaldates, claim_modseqs;
    std::vector<std::string> names, flags, channels;
    std::string claims;   // a boolean[] literal's elements
    std::vector<std::vector<std::string>> columns(fields);
    std::string raw;   // the octets kept with the rows, one after another (sent in binary)
    std::vector<std::size_t> not_sent;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        auto b = batchable_append_of(requests[i]);
        if (!b) {
            not_sent.push_back(i);
            continue;
        }
        const auto& r = *requests[i];
        auto params = message_params(*r.msg);
        for (std::size_t c = 0; c < fields; ++c) columns[c].push_back(std::move(params[c]));
        items.push_back(static_cast<std::int64_t>(i) + 1);
        accounts.push_back(r.actor);
        sizes.push_back(static_cast<std::int64_t>(r.msg->size));
        names.push_back(std::move(b->name));
        if (r.msg->raw) {
            raw_at.push_back(static_cast<std::int64_t>(raw.size()));
            raw += *r.msg->raw;
        } else {
            raw_at.push_back(-1);
        }
        flags.push_back(db::text_array(b->flags));
        internaldates.push_back(r.internaldate);
        channels.push_back(notify_channel(r.actor));
        claim_modseqs.push_back(
            static_cast<std::int64_t>(r.claim_if_modseq ? std::min<std::uint64_t>(*r.claim_if_modseq, INT64_MAX) : 0));
        claims += std::string(claims.empty() ? "" : ",") + (r.claim_if_modseq ? "t" : "f");
    }
    if (items.empty()) return std::nullopt;
    left.insert(left.end(), not_sent.begin(), not_sent.end());
    db::statement st;
    st.sql = "SELECT item, status, mailbox_id, uid, highestmodseq, uidvalidity, flags, claimed, message_id "
             "FROM mail.append_batch($1::integer[], $2::bigint[], $3::text[]";
    st.params = {db::bigint_array(items), db::bigint_array(accounts), db::text_array(names)};
    int n = 4;
    // $4..$23: the message's fields in message_params' order (the size, its second, as
    // bigints from the message itself).
    for (std::size_t c = 0; c < fields; ++c, ++n) {
        st.sql += ", $" + std::to_string(n) + (c == 1 ? "::bigint[]" : "::text[]");
        st.params.emplace_back(c == 1 ? db::bigint_array(sizes) : db::text_array(columns[c]));
    }
    st.sql += ", $24::bytea, $25::bigint[], $26::text[], $27::bigint[], $28::text[], $29::bigint[], "
              "$30::boolean[], $31::bigint)";
    st.params.emplace_back(std::move(raw));
    st.params.emplace_back(db::bigint_array(raw_at));
    st.params.emplace_back(db::text_array(flags));
    st.params.emplace_back(db::bigint_array(internaldates));
    st.params.emplace_back(db::text_array(channels));
    st.params.emplace_back(db::bigint_array(claim_modseqs));
    st.params.emplace_back("{" + claims + "}");
    st.params.emplace_back(std::to_string(uid_limit));
    st.binary.assign(st.params.size(), false);
    st.binary[23] = true;   // $24, the octets
    return st;
}

void append_batch_results(const db::async_result& rows, std::span<const append_request* const> requests,
                          std::span<std::optional<result<append_result>>* const> out) {
    for (auto* o : out)
        if (o != nullptr) o->reset();
    for (auto r : rows) {
        const auto item = r[0].as<std::int64_t>();
        if (item < 1 || static_cast<std::size_t>(item) > out.size() || out[item - 1] == nullptr)
            throw std::runtime_error("mail.append_batch: an item nobody asked for");
        auto& o = *out[item - 1];
        switch (r[1].as<int>()) {
            case 201: {
                append_result a;
                a.mailbox_id = r[2].as<std::int64_t>();
                a.uid = static_cast<std::uint32_t>(r[3].as<std::int64_t>());
                a.modseq = r[4].as<std::uint64_t>();
                a.uidvalidity = static_cast<std::uint32_t>(r[5].as<std::int64_t>());
                a.flags = flags_of(r[6].c_str());
                a.recent = r[7].as<bool>();
                a.message_row = r[8].as<std::int64_t>();
                o.emplace(std::move(a));
                break;
            }
            case 404: o.emplace(errc::not_found); break;
            case 400: o.emplace(errc::invalid_argument); break;
            case 507: o.emplace(errc::quota_exceeded); break;
            case 409: o.emplace(errc::conflict); break;
            default: throw std::runtime_error("mail.append_batch: an unknown status");
        }
    }
    for (std::size_t i = 0; i < requests.size(); ++i)
        if (batchable_append_of(requests[i]) && (out[i] == nullptr || !*out[i]))
            throw std::runtime_error("mail.append_batch: no answer for an APPEND");
}

result<void> check_append(pqxx::transaction_base& tx, std::int64_t actor, std::string_view name, std::uint64_t size) {
    if (auto own = resolve_own(tx, actor, name)) {   // one statement for the actor's own mailbox
        if (!*own) return own->error();
        if ((*own)->info.noselect) return errc::invalid_argument;
        if (!fits({(*own)->quota_bytes, (*own)->used_bytes}, size)) return errc::quota_exceeded;
        return {};
    }
    auto m = resolve(tx, actor, name, "i");
    if (!m) return m.error();
    if (m->noselect) return errc::invalid_argument;
    // No FOR UPDATE: this is advice before the upload; append() locks and decides.
    auto row = db::exec_cached(tx, "SELECT a.quota_bytes, u.used_bytes FROM directory.accounts a "
                                   "JOIN mail.account_usage u ON u.account_id = a.id WHERE a.id = $1",
                              m->owner_account_id);
    if (row.empty()) return errc::not_found;
    std::optional<std::uint64_t> quota;
    if (!row[0][0].is_null()) quota = row[0][0].as<std::uint64_t>();
    if (!fits({quota, row[0][1].as<std::uint64_t>()}, size)) return errc::quota_exceeded;
    return {};
}

namespace {

// add_store_row - one row of a STORE statement from column `at` on (highestmodseq, then
// uid, flags, modseq of a changed message, or NULLs when none changed) into out. Row is a
// pqxx::row or a db::async_row.
template <class Row>
void add_store_row(store_result& out, const Row& r, int at = 0) {
    out.highestmodseq = r[at].template as<std::uint64_t>();
    if (r[at + 1].is_null()) return;
    out.updated.push_back({static_cast<std::uint32_t>(r[at + 1].template as<std::int64_t>()),
                           flags_of(r[at + 2].c_str()), r[at + 3].template as<std::uint64_t>()});
}

// sort_updated - the changed messages in ascending UID order, as answers list them.
void sort_updated(store_result& out) {
    std::sort(out.updated.begin(), out.updated.end(), [](const auto& a, const auto& b) { return a.uid < b.uid; });
}

}  // namespace

result<store_result> store_flags(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                                 const uid_set& uids, flag_mode mode, const std::vector<std::string>& flags,
                                 std::optional<std::uint64_t> unchangedsince) {
    auto f = normalize_flags(flags);
    if (!f) return f.error();
    std::string needed = "r";
    if (mode == flag_mode::replace) needed += "stw";   // replacing can touch every kind of flag
    for (const auto& x : *f) needed += x == "\\Seen" ? 's' : x == "\\Deleted" ? 't' : 'w';
    auto m = check_mailbox(tx, actor, mailbox, uidvalidity, needed);
    if (!m) return m.error();
    auto set = make_uid_set(uids);
    if (!set) return set.error();
    store_result out;
    // $1 mailbox, $2 the owner's NOTIFY channel, $3 the flags, then the UID set.
    std::vector<std::string> params{std::to_string(mailbox), notify_channel(m->owner_account_id), db::text_array(*f)};
    int next = 4;
    auto cond = uid_condition(*set, params, next);
    std::string guard = "TRUE";
    if (unchangedsince) {
        params.push_back(std::to_string(std::min<std::uint64_t>(*unchangedsince, INT64_MAX)));
        guard = "mm.modseq <= $" + std::to_string(next++) + "::bigint";
        auto failed = db::exec_cached(tx, "SELECT mm.uid FROM mail.mailbox_messages mm WHERE mm.mailbox_id = $1::bigint AND " +
                                         cond + " AND NOT (" + guard + ") AND $2::text IS NOT NULL AND $3::text[] IS NOT NULL "
                                         "ORDER BY mm.uid", pqxx::prepare::make_dynamic_params(params));
        uid_set modified;
        for (const auto& r : failed) {
            auto u = static_cast<std::uint32_t>(r[0].as<std::int64_t>());
            modified.push_back({u, u});
        }
        auto merged = make_uid_set(std::move(modified));
        if (merged) out.modified = std::move(*merged);
    }
    std::string expr = mode == flag_mode::add      ? "mail.flags_union(mm.flags, $3::text[])"
                       : mode == flag_mode::remove ? "mail.flags_minus(mm.flags, $3::text[])"
                                                   : "mail.flags_union('{}'::text[], $3::text[])";
    // One statement, one round trip: bump the mailbox's modseq (which locks its row first,
    // as every writer does), update the flags that change, and NOTIFY "<mailbox>:<modseq>"
    // when something did (the CTE n is only read when u has rows). IMAP clients send
    // many small STOREs; each round trip costs a context switch on a busy machine.
    auto rows = db::exec_cached(
        tx, "WITH b AS (UPDATE mail.mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1::bigint "
            "RETURNING highestmodseq), "
            "u AS (UPDATE mail.mailbox_messages mm SET flags = " + expr + ", modseq = (SELECT highestmodseq FROM b) "
            "WHERE mm.mailbox_id = $1::bigint AND " + cond + " AND " + guard + " AND mm.flags IS DISTINCT FROM " +
            expr + " RETURNING mm.uid, mm.flags, mm.modseq), "
            "n AS (SELECT pg_notify($2::text, $1::bigint::text || ':' || (SELECT highestmodseq FROM b)::text) "
            "WHERE EXISTS (SELECT 1 FROM u)) "
            "SELECT b.highestmodseq, u.uid, u.flags, u.modseq FROM b LEFT JOIN u ON TRUE LEFT JOIN n ON TRUE",
        pqxx::prepare::make_dynamic_params(params));
    for (const auto& r : rows) add_store_row(out, r);
    sort_updated(out);
    return out;
}

std::optional<db::statement> store_own_statement(const store_request& r) {
    auto f = normalize_flags(r.flags);
    if (!f) return std::nullopt;
    auto set = make_uid_set(r.uids);
    if (!set) return std::nullopt;
    // $1 mailbox, $2 the NOTIFY channel, $3 the flags, $4 the actor (who must own the
    // mailbox: an owner holds every right), $5 its UIDVALIDITY, then the UID set.
    std::vector<std::string> params{std::to_string(r.mailbox), notify_channel(r.actor), db::text_array(*f),
                                    std::to_string(r.actor), std::to_string(r.uidvalidity)};
    int next = 6;
    auto cond = uid_condition(*set, params, next);
    std::string expr = r.mode == flag_mode::add      ? "mail.flags_union(mm.flags, $3::text[])"
                       : r.mode == flag_mode::remove ? "mail.flags_minus(mm.flags, $3::text[])"
                                                     : "mail.flags_union('{}'::text[], $3::text[])";
    // store_flags' statement with the mailbox check inside: b locks and bumps the mailbox
    // only when the actor owns it and UIDVALIDITY still matches, u runs only when b did.
    // No row at all means "not the fast case" (not the actor's own, or gone).
    db::statement st{
        "WITH b AS (UPDATE mail.mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1::bigint "
        "AND account_id = $4::bigint AND uidvalidity = $5::bigint RETURNING highestmodseq), "
        "u AS (UPDATE mail.mailbox_messages mm SET flags = " + expr + ", modseq = (SELECT highestmodseq FROM b) "
        "WHERE mm.mailbox_id = $1::bigint AND EXISTS (SELECT 1 FROM b) AND " + cond +
        " AND mm.flags IS DISTINCT FROM " + expr + " RETURNING mm.uid, mm.flags, mm.modseq), "
        "n AS (SELECT pg_notify($2::text, $1::bigint::text || ':' || (SELECT highestmodseq FROM b)::text) "
        "WHERE EXISTS (SELECT 1 FROM u)) "
        "SELECT b.highestmodseq, u.uid, u.flags, u.modseq FROM b LEFT JOIN u ON TRUE LEFT JOIN n ON TRUE",
        {}};
    st.params.assign(std::make_move_iterator(params.begin()), std::make_move_iterator(params.end()));
    return st;
}

namespace {

// own_result - store_own_statement's rows as store_flags_own's value.
template <class Rows>
std::optional<store_result> own_result(const Rows& rows) {
    if (rows.empty()) return std::nullopt;
    store_result out;
    for (const auto& r : rows) add_store_row(out, r);
    sort_updated(out);
    return out;
}

}  // namespace

std::optional<store_result> store_flags_own(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                            std::uint32_t uidvalidity, const uid_set& uids, flag_mode mode,
                                            const std::vector<std::string>& flags) {
    auto st = store_own_statement({actor, mailbox, uidvalidity, uids, mode, flags});
    if (!st) return std::nullopt;
    return own_result(db::exec_statement(tx, *st));
}

namespace {
// batchable - a STORE that can go into mail.store_flags_batch: valid flags, a single UID
// range, and a mailbox no earlier request (in `mailboxes`) names.
struct batchable {
    uid_range range;
    std::vector<std::string> flags;
};
std::optional<batchable> batchable_store(const store_request& r, std::set<std::int64_t>& mailboxes) {
    auto f = normalize_flags(r.flags);
    auto uids = f ? make_uid_set(r.uids) : result<uid_set>(errc::invalid_argument);
    if (f && uids && uids->size() == 1 && mailboxes.insert(r.mailbox).second)
        return batchable{uids->front(), std::move(*f)};
    return std::nullopt;
}

// batch_statement - mail.store_flags_batch for the requests `set` names, all batchable.
db::statement batch_statement(std::span<const store_request* const> requests,
                              const std::vector<std::pair<std::size_t, batchable>>& set) {
    std::vector<std::int64_t> boxes, actors, validities, lo, hi, modes;
    std::vector<std::string> flags, channels;
    for (const auto& [index, b] : set) {
        const auto& r = *requests[index];
        boxes.push_back(r.mailbox);
        actors.push_back(r.actor);
        validities.push_back(r.uidvalidity);
        lo.push_back(b.range.first);
        hi.push_back(b.range.last);
        modes.push_back(r.mode == flag_mode::add ? 0 : r.mode == flag_mode::remove ? 1 : 2);
        flags.push_back(db::text_array(b.flags));
        channels.push_back(notify_channel(r.actor));
    }
    return {"SELECT mailbox_id, highestmodseq, uid, flags, modseq FROM mail.store_flags_batch($1::bigint[], "
            "$2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::integer[], $7::text[], $8::text[])",
            {db::bigint_array(boxes), db::bigint_array(actors), db::bigint_array(validities), db::bigint_array(lo),
             db::bigint_array(hi), db::bigint_array(modes), db::text_array(flags), db::text_array(channels)}};
}

// batch_results - mail.store_flags_batch's rows into out[i] for the requests `set` names
// (a mailbox with no row was not the fast case: nullopt).
template <class Rows>
void batch_results(const Rows& rows, std::span<const store_request* const> requests,
                   std::span<std::optional<store_result>* const> out, std::span<const std::size_t> set) {
    std::map<std::int64_t, std::size_t> index_of;   // mailbox -> request
    for (auto i : set) {
        index_of[requests[i]->mailbox] = i;
        *out[i] = std::nullopt;
    }
    for (const auto& row : rows) {
        auto at = index_of.find(row[0].template as<std::int64_t>());
        if (at == index_of.end()) throw std::runtime_error("mail.store_flags_batch: a mailbox nobody asked for");
        auto& o = *out[at->second];
        if (!o) o.emplace();
        add_store_row(*o, row, 1);
    }
    for (auto i : set)
        if (auto& o = *out[i]) sort_updated(*o);
}

template <class Rows>
void apply_store_batch(const Rows& rows, std::span<const store_request* const> requests,
                       std::span<std::optional<store_result>* const> out) {
    if (requests.size() == 1) {
        *out[0] = own_result(rows);
        return;
    }
    std::vector<std::size_t> all(requests.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    batch_results(rows, requests, out, all);
}
}  // namespace

std::optional<db::statement> store_batch_statement(std::span<const store_request* const> requests) {
    if (requests.size() == 1) return store_own_statement(*requests.front());
    std::set<std::int64_t> mailboxes;
    std::vector<std::pair<std::size_t, batchable>> set;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        auto b = batchable_store(*requests[i], mailboxes);
        if (!b) return std::nullopt;
        set.emplace_back(i, std::move(*b));
    }
    if (set.empty()) return std::nullopt;
    return batch_statement(requests, set);
}

void store_batch_results(const db::async_result& rows, std::span<const store_request* const> requests,
                         std::span<std::optional<store_result>* const> out) {
    apply_store_batch(rows, requests, out);
}

void store_flags_own_batch(pqxx::transaction_base& tx, std::span<const store_request* const> requests,
                           std::span<std::optional<store_result>* const> out) {
    // Which requests go into the one statement (batchable_store); the others run alone,
    // before it: the order of different sessions' STOREs within one transaction is free.
    std::vector<std::pair<std::size_t, batchable>> set;
    std::set<std::int64_t> mailboxes;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const auto& r = *requests[i];
        *out[i] = std::nullopt;
        if (auto b = batchable_store(r, mailboxes)) {
            set.emplace_back(i, std::move(*b));
            continue;
        }
        *out[i] = store_flags_own(tx, r.actor, r.mailbox, r.uidvalidity, r.uids, r.mode, r.flags);
    }
    if (set.size() == 1) {
        const auto& r = *requests[set.front().first];
        *out[set.front().first] = store_flags_own(tx, r.actor, r.mailbox, r.uidvalidity, r.uids, r.mode, r.flags);
        return;
    }
    if (set.empty()) return;
    std::vector<std::size_t> indexes;
    for (const auto& [index, b] : set) indexes.push_back(index);
    batch_results(db::exec_statement(tx, batch_statement(requests, set)), requests, out, indexes);
}

result<copy_result> copy(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                         const uid_set& uids, std::string_view destination, bool move) {
    auto src = check_mailbox(tx, actor, mailbox, uidvalidity, move ? "rte" : "r");
    if (!src) return src.error();
    auto dst = resolve(tx, actor, destination, "i");
    if (!dst) return dst.error();
    if (dst->noselect) return errc::invalid_argument;
    auto set = make_uid_set(uids);
    if (!set) return set.error();
    auto list = select_uids(tx, mailbox, *set);
    if (list.size() > max_rows_per_call) return errc::limit_exceeded;
    copy_result out;
    out.destination_id = dst->id;
    out.uidvalidity = dst->uidvalidity;
    if (list.empty()) return out;
    auto q = lock_accounts(tx, {dst->owner_account_id, src->owner_account_id});
    std::uint64_t bytes = size_of(tx, mailbox, list);
    bool same_owner = dst->owner_account_id == src->owner_account_id;
    // A MOVE within one account does not change its usage.
    if (!(move && same_owner) && (!q.count(dst->owner_account_id) || !fits(q[dst->owner_account_id], bytes)))
        return errc::quota_exceeded;
    auto pairs = copy_rows(tx, mailbox, list, dst->id, &out.uidvalidity);
    if (!pairs) throw rollback_error(pairs.error());
    out.uids = std::move(*pairs);
    if (move) {
        std::vector<std::string> params{db::bigint_array(list)};
        out.expunged = remove_rows(tx, mailbox, "mm.uid = ANY($3::bigint[])", params);
        notify_mailbox(tx, src->owner_account_id, mailbox);
    }
    notify_mailbox(tx, dst->owner_account_id, dst->id);
    return out;
}

result<std::vector<std::uint32_t>> expunge(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox,
                                           std::uint32_t uidvalidity, const std::optional<uid_set>& only) {
    std::optional<uid_set> set;
    if (only) {
        auto checked = make_uid_set(*only);
        if (!checked) {
            auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "re");
            if (!m) return m.error();
            return checked.error();
        }
        set = std::move(*checked);
    }
    // The actor's own mailbox (the common case): the check and the lock of the account's
    // usage row (usage changes; it is locked before mailboxes, as everywhere) in one statement.
    std::int64_t owner = actor;
    auto own = db::exec_cached(tx, "SELECT u.account_id FROM mail.account_usage u JOIN mail.mailboxes m "
                                   "ON m.account_id = u.account_id "
                                   "WHERE m.id = $1 AND u.account_id = $2 AND m.uidvalidity = $3 FOR UPDATE OF u",
                               mailbox, actor, static_cast<std::int64_t>(uidvalidity));
    if (own.empty()) {
        auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "re");
        if (!m) return m.error();
        owner = m->owner_account_id;
        lock_accounts(tx, {owner});
    }
    // remove_rows() and the NOTIFY as one statement: b bumps the modseq (and locks the
    // mailbox row first: the DELETE waits for it through EXISTS), gone deletes, t leaves
    // the tombstones, r keeps the messages recoverable (schema 0115), n notifies when
    // something went.
    std::vector<std::string> params{std::to_string(mailbox), notify_channel(owner)};
    std::string cond = "'\\Deleted' = ANY(mm.flags)";
    if (set) {
        int next = 3;
        cond += " AND " + uid_condition(*set, params, next);
    }
    auto rows = db::exec_cached(
        tx, "WITH b AS (UPDATE mail.mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1::bigint "
            "RETURNING highestmodseq, account_id, name), "
            "gone AS (DELETE FROM mail.mailbox_messages mm WHERE mm.mailbox_id = $1::bigint AND EXISTS (SELECT 1 FROM b) "
            "AND " + cond + " RETURNING mm.uid, mm.message_id, mm.size, mm.flags, mm.internaldate), "
            "t AS (INSERT INTO mail.expunged (mailbox_id, uid, modseq) SELECT $1::bigint, uid, "
            "(SELECT highestmodseq FROM b) FROM gone RETURNING uid), "
            "r AS (" + keep_recoverable_sql + "), "
            "n AS (SELECT pg_notify($2::text, $1::bigint::text) WHERE EXISTS (SELECT 1 FROM t)) "
            "SELECT t.uid FROM t LEFT JOIN n ON TRUE",
        pqxx::prepare::make_dynamic_params(params));
    std::vector<std::uint32_t> gone;
    gone.reserve(rows.size());
    for (const auto& r : rows) gone.push_back(static_cast<std::uint32_t>(r[0].as<std::int64_t>()));
    std::sort(gone.begin(), gone.end());
    return gone;
}

std::size_t index_fts(pqxx::transaction_base& tx, std::size_t limit) {
    auto r = db::exec_cached(tx,
        "WITH todo AS (SELECT id FROM mail.messages WHERE fts IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
        "UPDATE mail.messages m SET fts = " + fts_vector + " FROM todo WHERE m.id = todo.id",
        static_cast<std::int64_t>(limit));
    return static_cast<std::size_t>(r.affected_rows());
}

std::size_t index_fts_mailbox(pqxx::transaction_base& tx, std::int64_t mailbox, std::size_t limit) {
    auto r = db::exec_cached(tx,
        "WITH todo AS (SELECT x.id FROM mail.messages x JOIN mail.mailbox_messages mm ON mm.message_id = x.id "
        "WHERE mm.mailbox_id = $1 AND x.fts IS NULL LIMIT $2 FOR UPDATE OF x SKIP LOCKED) "
        "UPDATE mail.messages m SET fts = " + fts_vector + " FROM todo WHERE m.id = todo.id",
        mailbox, static_cast<std::int64_t>(limit));
    return static_cast<std::size_t>(r.affected_rows());
}

std::size_t collect_messages(pqxx::transaction_base& tx, std::size_t limit) {
    const auto n = db::exec_cached1(tx, "SELECT mail.collect_messages($1::integer)",
                                    static_cast<std::int64_t>(std::min<std::size_t>(limit, 100000)))[0];
    return static_cast<std::size_t>(n.as<std::int64_t>());
}

namespace {
// prune_older - one round of a mail.prune_* function (`sql` calls it with the cutoff
// now() - $1 seconds and at most $2 rows): how many rows went.
std::size_t prune_older(pqxx::transaction_base& tx, const std::string& sql, std::chrono::seconds older_than,
                        std::size_t limit) {
    const auto n = db::exec_cached1(tx, sql, static_cast<std::int64_t>(older_than.count()),
                                    static_cast<std::int64_t>(std::min<std::size_t>(limit, 100000)))[0];
    return static_cast<std::size_t>(n.as<std::int64_t>());
}
}  // namespace

std::size_t prune_expunged(pqxx::transaction_base& tx, std::chrono::seconds older_than, std::size_t limit) {
    return prune_older(tx, "SELECT mail.prune_expunged(now() - make_interval(secs => $1::bigint), $2::integer)",
                       older_than, limit);
}

namespace {

constexpr const char* rfc3339_utc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

// own_name - a mailbox name of the account's own namespace, normalised as CREATE does.
result<std::string> own_name(std::string_view raw) {
    auto s = split(raw);
    if (!s) return s.error();
    if (s->shared) return errc::permission_denied;
    return std::move(s->name);
}

struct recoverable_row {
    std::int64_t id = 0;
    std::string mailbox;
    std::uint64_t size = 0;
};

// lock_recoverable - the account's recoverable rows among `ids` (all when empty), locked,
// the earliest deleted first; not_found when an id is not the account's.
result<std::vector<recoverable_row>> lock_recoverable(pqxx::work& tx, std::int64_t account,
                                                      const std::vector<std::int64_t>& ids) {
    auto rows = db::exec_cached(tx,
        "SELECT id, mailbox_name, size FROM mail.recoverable "
        "WHERE account_id = $1 AND (cardinality($2::bigint[]) = 0 OR id = ANY($2::bigint[])) "
        "ORDER BY deleted_at, id FOR UPDATE",
        account, db::bigint_array(ids));
    std::vector<recoverable_row> out;
    for (const auto& r : rows) out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::uint64_t>()});
    std::set<std::int64_t> wanted(ids.begin(), ids.end());
    if (!ids.empty() && out.size() != wanted.size()) return errc::not_found;
    return out;
}

// delete_recoverable - the rows go (their messages become candidates for the collector).
std::size_t delete_recoverable(pqxx::work& tx, const std::vector<recoverable_row>& rows) {
    std::vector<std::int64_t> ids;
    for (const auto& r : rows) ids.push_back(r.id);
    return static_cast<std::size_t>(
        db::exec_cached(tx, "DELETE FROM mail.recoverable WHERE id = ANY($1::bigint[])", db::bigint_array(ids))
            .affected_rows());
}

}  // namespace

std::vector<recoverable_message> list_recoverable(pqxx::transaction_base& tx, std::int64_t account,
                                                  const std::optional<std::string>& mailbox,
                                                  std::optional<std::int64_t> since_epoch, std::size_t limit) {
    std::optional<std::string> name;
    if (mailbox) {
        auto n = own_name(*mailbox);
        if (!n) return {};   // no mailbox has that name: nothing was deleted from it
        name = std::move(*n);
    }
    auto rows = db::exec_cached(tx,
        std::string("SELECT r.id, r.mailbox_name, r.size, r.flags, "
                    "to_char(r.internaldate AT TIME ZONE 'UTC', ") + rfc3339_utc + "), "
        "to_char(r.deleted_at AT TIME ZONE 'UTC', " + rfc3339_utc + "), m.subject, m.from_text "
        "FROM mail.recoverable r JOIN mail.messages m ON m.id = r.message_id "
        "WHERE r.account_id = $1 "
        "AND ($2::text IS NULL OR r.mailbox_name = $2 OR left(r.mailbox_name, length($2) + 1) = $2 || '/') "
        "AND ($3::bigint IS NULL OR r.deleted_at >= to_timestamp($3::bigint)) "
        "ORDER BY r.deleted_at, r.id LIMIT $4",
        account, name, since_epoch, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<recoverable_message> out;
    for (const auto& r : rows)
        out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::uint64_t>(), flags_of(r[3]),
                       r[4].as<std::string>(), r[5].as<std::string>(), r[6].as<std::string>(), r[7].as<std::string>()});
    return out;
}

result<restore_result> restore_recoverable(pqxx::work& tx, std::int64_t account, const std::vector<std::int64_t>& ids,
                                           const std::optional<std::string>& to) {
    std::optional<std::string> target;
    if (to) {
        auto n = own_name(*to);
        if (!n) return n.error();
        target = std::move(*n);
    }
    auto q = lock_accounts(tx, {account});
    if (!q.count(account)) return errc::not_found;
    auto locked = lock_recoverable(tx, account, ids);
    if (!locked) return locked.error();
    restore_result out;
    if (locked->empty()) return out;
    std::map<std::string, std::vector<std::int64_t>> by_mailbox;
    for (const auto& r : *locked) {
        by_mailbox[target ? *target : r.mailbox].push_back(r.id);
        out.bytes += r.size;
    }
    if (!fits(q[account], out.bytes)) return errc::quota_exceeded;
    for (const auto& [name, list] : by_mailbox) {
        auto found = db::exec_cached(tx, "SELECT id, noselect FROM mail.mailboxes WHERE account_id = $1 AND name = $2",
                                     account, name);
        std::int64_t box = 0;
        if (found.empty() || found[0][1].as<bool>()) {
            auto created = create_mailbox(tx, account, name, std::nullopt);
            if (!created) return created.error();
            box = *created;
        } else {
            box = found[0][0].as<std::int64_t>();
        }
        auto a = allocate(tx, box, list.size());
        if (!a) return errc::limit_exceeded;   // the mailbox's UIDs are exhausted
        db::exec_cached(tx,
            "INSERT INTO mail.mailbox_messages (mailbox_id, uid, message_id, size, flags, modseq, internaldate) "
            "SELECT $1, $2::bigint + u.ord - 1, r.message_id, r.size, r.flags, $3::bigint, r.internaldate "
            "FROM unnest($4::bigint[]) WITH ORDINALITY AS u(id, ord) JOIN mail.recoverable r ON r.id = u.id",
            box, static_cast<std::int64_t>(a->first_uid), static_cast<std::int64_t>(a->modseq), db::bigint_array(list));
        notify_mailbox(tx, account, box);
        out.mailboxes[name] = list.size();
        out.messages += list.size();
    }
    delete_recoverable(tx, *locked);
    return out;
}

result<std::size_t> purge_recoverable(pqxx::work& tx, std::int64_t account, const std::vector<std::int64_t>& ids) {
    auto locked = lock_recoverable(tx, account, ids);
    if (!locked) return locked.error();
    if (locked->empty()) return std::size_t{0};
    return delete_recoverable(tx, *locked);
}

std::size_t prune_recoverable(pqxx::transaction_base& tx, std::chrono::seconds older_than, std::size_t limit) {
    return prune_older(tx, "SELECT mail.prune_recoverable(now() - make_interval(secs => $1::bigint), $2::integer)",
                       older_than, limit);
}

namespace {

// Searches of at most this many distinct SQL texts run as prepared statements.
constexpr std::size_t max_prepared_searches = 64;

// exec_search - a SEARCH's SQL (also that of RETURN (RELEVANCY)), prepared (named
// polder_search_<hash>) when it is one of the first max_prepared_searches distinct texts
// this process has seen, else unprepared.
//
// Why: planning the search (a LATERAL join with the criteria's CASE and sub-plans) cost
// PostgreSQL as much as running it over a 1,000-message mailbox (1.2 ms against 1.7 ms,
// plus 0.2 ms of parsing), and clients repeat a few shapes (HEADER, SUBJECT, FROM, BODY,
// UNSEEN, a UID range) with new values. The text depends only on the criteria's keys
// and structure; values are parameters.
// SECURITY: the shapes come from clients, so they have a budget of their own
// (db::statement_names), apart from db::exec_cached's for our fixed statements: a client
// sending new shapes runs them unprepared once the budget is spent, and cannot crowd out
// other statements. Each prepared shape costs PostgreSQL a cached plan per pool connection.
pqxx::result exec_search(pqxx::transaction_base& tx, const std::string& sql, const std::vector<std::string>& params) {
    static db::statement_names searches("polder_search_", max_prepared_searches);
    const auto name = searches.name(sql);
    if (!name) return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    tx.conn().prepare(*name, sql);
    return tx.exec_prepared(*name, pqxx::prepare::make_dynamic_params(params));
}

}  // namespace

result<std::vector<std::uint32_t>> search(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                          std::uint32_t uidvalidity, const search_criterion& criteria) {
    auto cond = build_search_condition(criteria, 4);
    if (!cond) {
        auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
        if (!m) return m.error();
        return cond.error();
    }
    // FUZZY keys match the full-text vector: after the rights check, index this mailbox's
    // pending messages first (bounded; any left over still match by exact substring).
    if (!cond->rank.empty()) {
        auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
        if (!m) return m.error();
        index_fts_mailbox(tx, mailbox, max_fts_on_search);
    }
    // One round trip in the common case, as in fetch(): the check that the actor owns the
    // mailbox and UIDVALIDITY still matches ($2, $3) rides along; otherwise check_mailbox
    // decides and the search runs again as the owner's.
    std::vector<std::string> params{std::to_string(mailbox), std::to_string(actor), std::to_string(uidvalidity)};
    params.insert(params.end(), cond->params.begin(), cond->params.end());
    const std::string sql =
        "SELECT mb.own, x.uid FROM (SELECT b.account_id = $2::bigint AND b.uidvalidity = $3::bigint AS own "
        "FROM mail.mailboxes b WHERE b.id = $1::bigint) mb LEFT JOIN LATERAL (SELECT mm.uid "
        "FROM mail.mailbox_messages mm JOIN mail.messages m ON m.id = mm.message_id "
        "WHERE mb.own AND mm.mailbox_id = $1::bigint AND (" + cond->sql + ")) x ON TRUE ORDER BY x.uid";
    auto rows = exec_search(tx, sql, params);
    if (rows.empty()) return errc::not_found;
    if (!rows[0][0].as<bool>()) {
        auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
        if (!m) return m.error();
        params[1] = std::to_string(m->owner_account_id);
        rows = exec_search(tx, sql, params);
        if (rows.empty() || !rows[0][0].as<bool>()) return errc::not_found;   // changed meanwhile
    }
    std::vector<std::uint32_t> out;
    out.reserve(rows.size());
    for (const auto& r : rows)
        if (!r[1].is_null()) out.push_back(static_cast<std::uint32_t>(r[1].as<std::int64_t>()));
    return out;
}

namespace {

// normalize_uid_sets - every uid set of `c` as make_uid_set makes it (what the SQL
// condition compares); false when one is invalid.
bool normalize_uid_sets(search_criterion& c) {
    if (c.key == search_key::uid) {
        auto set = make_uid_set(c.uids);
        if (!set) return false;
        c.uids = std::move(*set);
    }
    return std::all_of(c.children.begin(), c.children.end(), [](search_criterion& x) { return normalize_uid_sets(x); });
}

// bigints - the elements of a bigint[] in PostgreSQL's text form, "{1,2,3}" (NULL: none).
std::vector<std::int64_t> bigints(const pqxx::field& f) {
    std::vector<std::int64_t> out;
    if (f.is_null()) return out;
    std::string_view s(f.c_str(), f.size());
    if (s.size() < 2 || s.front() != '{' || s.back() != '}') throw std::runtime_error("search_in_memory: not an array");
    const char* p = s.data() + 1;
    const char* end = s.data() + s.size() - 1;
    while (p < end) {
        std::int64_t v = 0;
        auto [next, ec] = std::from_chars(p, end, v);
        if (ec != std::errc{} || (next != end && *next != ',')) throw std::runtime_error("search_in_memory: bad bigint");
        out.push_back(v);
        p = next == end ? end : next + 1;
    }
    return out;
}

std::vector<std::string> texts(const pqxx::field& f) {
    if (f.is_null()) return {};
    auto items = db::parse_text_array(f.c_str());
    if (!items) throw std::runtime_error("search_in_memory: malformed text array");
    return std::move(*items);
}

}  // namespace

std::optional<std::vector<std::uint32_t>> search_in_memory(pqxx::transaction_base& tx, std::int64_t actor,
                                                           std::int64_t mailbox, std::uint32_t uidvalidity,
                                                           const search_criterion& criteria, header_cache& cache) {
    // Only what search() would answer without an error (its limits included).
    if (!decidable_in_memory(criteria) || !build_search_condition(criteria, 1)) return std::nullopt;
    search_criterion c = criteria;
    if (!normalize_uid_sets(c)) return std::nullopt;
    auto strings = memory_strings(c);
    std::vector<std::string> values;
    values.reserve(strings.size());
    for (const auto* x : strings) values.push_back(*x);
    // The actor's own mailbox with its UIDVALIDITY (as search() checks), at most
    // max_memory_search + 1 entries (in no order: sorting them here is cheaper than in the
    // aggregate), and the strings lower-cased by the database's lower() (the one the SQL
    // condition uses).
    auto rows = db::exec_cached(
        tx,
        "SELECT b.account_id = $2::bigint AND b.uidvalidity = $3::bigint, "
        "ARRAY(SELECT lower(t.v) FROM unnest($4::text[]) WITH ORDINALITY AS t(v, i) ORDER BY t.i), "
        "e.n, e.uids, e.rows FROM mail.mailboxes b CROSS JOIN LATERAL (SELECT count(*) AS n, "
        "array_agg(x.uid) AS uids, array_agg(x.message_id) AS rows "
        "FROM (SELECT mm.uid, mm.message_id FROM mail.mailbox_messages mm WHERE mm.mailbox_id = b.id "
        "AND b.account_id = $2::bigint AND b.uidvalidity = $3::bigint LIMIT $5::bigint) x) e "
        "WHERE b.id = $1::bigint",
        mailbox, actor, static_cast<std::int64_t>(uidvalidity), db::text_array(values),
        static_cast<std::int64_t>(max_memory_search + 1));
    if (rows.empty() || !rows[0][0].as<bool>()) return std::nullopt;
    if (rows[0][2].as<std::int64_t>() > static_cast<std::int64_t>(max_memory_search)) return std::nullopt;
    auto lowered = texts(rows[0][1]);
    if (lowered.size() != strings.size()) throw std::runtime_error("search_in_memory: strings lost");
    for (std::size_t i = 0; i < strings.size(); ++i) *strings[i] = std::move(lowered[i]);
    const auto uids = bigints(rows[0][3]);
    const auto ids = bigints(rows[0][4]);
    if (uids.size() != ids.size()) throw std::runtime_error("search_in_memory: uids and rows differ");

    // The header text of each entry: from the cache, else read (and kept) now.
    std::vector<std::shared_ptr<const header_text>> text(ids.size());
    std::vector<std::int64_t> missing;
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (!(text[i] = cache.get(ids[i]))) missing.push_back(ids[i]);
    if (!missing.empty()) {
        std::unordered_map<std::int64_t, std::shared_ptr<const header_text>> read;
        for (const auto& r : db::exec_cached(
                 tx,
                 "SELECT m.id, lower(m.subject), lower(m.from_text), lower(m.to_text), lower(m.cc_text), "
                 "lower(m.bcc_text), f.names, f.vals FROM mail.messages m CROSS JOIN LATERAL (SELECT "
                 "array_agg(lower(coalesce(h.f->>0, '')) ORDER BY h.i) AS names, "
                 "array_agg(lower(coalesce(h.f->>1, '')) ORDER BY h.i) AS vals FROM jsonb_array_elements("
                 "CASE WHEN jsonb_typeof(m.header_fields) = 'array' THEN m.header_fields ELSE '[]' END) "
                 "WITH ORDINALITY AS h(f, i)) f WHERE m.id = ANY($1::bigint[])",
                 db::bigint_array(missing))) {
            auto h = std::make_shared<header_text>();
            h->subject = r[1].as<std::string>();
            h->from = r[2].as<std::string>();
            h->to = r[3].as<std::string>();
            h->cc = r[4].as<std::string>();
            h->bcc = r[5].as<std::string>();
            auto names = texts(r[6]);
            auto vals = texts(r[7]);
            if (names.size() != vals.size()) throw std::runtime_error("search_in_memory: fields differ");
            h->fields.reserve(names.size());
            for (std::size_t i = 0; i < names.size(); ++i) h->fields.emplace_back(std::move(names[i]), std::move(vals[i]));
            const auto id = r[0].as<std::int64_t>();
            cache.put(id, h);
            read.emplace(id, std::move(h));
        }
        for (std::size_t i = 0; i < ids.size(); ++i)
            if (!text[i])
                if (auto it = read.find(ids[i]); it != read.end()) text[i] = it->second;
    }
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        // A row gone since the first statement was expunged and collected meanwhile.
        const auto uid = static_cast<std::uint32_t>(uids[i]);
        if (text[i] && header_matches(c, uid, *text[i])) out.push_back(uid);
    }
    std::sort(out.begin(), out.end());
    return out;
}

result<std::vector<std::pair<std::uint32_t, std::uint32_t>>> search_relevancy(pqxx::transaction_base& tx, std::int64_t actor,
                                                                          std::int64_t mailbox,
                                                                          std::uint32_t uidvalidity,
                                                                          const search_criterion& criteria) {
    auto m = check_mailbox(tx, actor, mailbox, uidvalidity, "r");
    if (!m) return m.error();
    auto cond = build_search_condition(criteria, 2);
    if (!cond) return cond.error();
    // FUZZY keys match the full-text vector: index this mailbox's pending messages first
    // (bounded; any left over still match by their exact substring).
    if (!cond->rank.empty()) index_fts_mailbox(tx, mailbox, max_fts_on_search);
    std::vector<std::string> params{std::to_string(mailbox)};
    params.insert(params.end(), cond->params.begin(), cond->params.end());
    std::string score = cond->rank.empty() ? std::string("100")
                                           : "greatest(1, least(100, ceil(100 * (" + cond->rank + "))))::integer";
    auto rows = exec_search(tx,
                            "SELECT mm.uid, " + score + " FROM mail.mailbox_messages mm JOIN mail.messages m "
                            "ON m.id = mm.message_id WHERE mm.mailbox_id = $1::bigint AND (" + cond->sql +
                            ") ORDER BY mm.uid",
                            params);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    for (const auto& r : rows)
        out.emplace_back(static_cast<std::uint32_t>(r[0].as<std::int64_t>()), r[1].as<std::uint32_t>());
    return out;
}

result<quota_info> quota(pqxx::transaction_base& tx, std::int64_t actor) {
    auto rows = db::exec_cached(tx, 
        "SELECT a.quota_bytes, u.used_bytes, (SELECT count(*) FROM mail.mailbox_messages mm JOIN mail.mailboxes m "
        "ON m.id = mm.mailbox_id WHERE m.account_id = a.id) FROM directory.accounts a "
        "JOIN mail.account_usage u ON u.account_id = a.id WHERE a.id = $1", actor);
    if (rows.empty()) return errc::not_found;
    quota_info q;
    if (!rows[0][0].is_null()) q.limit_bytes = rows[0][0].as<std::uint64_t>();
    q.used_bytes = rows[0][1].as<std::uint64_t>();
    q.messages = rows[0][2].as<std::uint64_t>();
    return q;
}

result<void> set_acl(pqxx::work& tx, std::int64_t actor, std::string_view mailbox, std::string_view grantee,
                     std::string_view rights) {
    auto m = resolve(tx, actor, mailbox, "a");
    if (!m) return m.error();
    auto r = normalize_rights(rights);
    if (!r) return r.error();
    if (grantee.empty() || grantee.size() > 320) return errc::not_found;
    std::string g(grantee);
    std::optional<std::int64_t> account, group;
    if (g.find('@') != std::string::npos) {
        for (auto& c : g) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto rows = db::exec_cached(tx, "SELECT a.id FROM directory.accounts a JOIN directory.accounts o ON o.org_id = a.org_id "
                                   "WHERE o.id = $1 AND a.address = $2", m->owner_account_id, g);
        if (rows.empty()) return errc::not_found;
        account = rows[0][0].as<std::int64_t>();
        if (*account == m->owner_account_id) return errc::invalid_argument;   // the owner keeps every right
    } else {
        auto rows = db::exec_cached(tx, "SELECT g.id FROM directory.groups g JOIN directory.accounts o ON o.org_id = g.org_id "
                                   "WHERE o.id = $1 AND lower(g.name) = lower($2)", m->owner_account_id, g);
        if (rows.empty()) return errc::not_found;
        group = rows[0][0].as<std::int64_t>();
    }
    db::exec_cached(tx, "DELETE FROM mail.acl WHERE mailbox_id = $1 AND (grantee_account_id = $2 OR grantee_group_id = $3)",
                   m->id, account.value_or(0), group.value_or(0));
    if (!r->empty()) {
        db::exec_cached(tx, "INSERT INTO mail.acl (mailbox_id, grantee_account_id, grantee_group_id, rights) "
                       "VALUES ($1, NULLIF($2, 0), NULLIF($3, 0), $4)", m->id, account.value_or(0), group.value_or(0),
                       *r);
    }
    notify_mailbox(tx, m->owner_account_id, m->id);
    return {};
}

result<std::vector<acl_entry>> get_acl(pqxx::transaction_base& tx, std::int64_t actor, std::string_view mailbox) {
    auto m = resolve(tx, actor, mailbox, "a");
    if (!m) return m.error();
    std::vector<acl_entry> out;
    auto owner = db::exec_cached1(tx, "SELECT address FROM directory.accounts WHERE id = $1", m->owner_account_id);
    out.push_back({m->owner_account_id, std::nullopt, owner[0].as<std::string>(), std::string(all_rights)});
    auto rows = db::exec_cached(tx, "SELECT acl.grantee_account_id, acl.grantee_group_id, coalesce(a.address, g.name), "
                               "acl.rights FROM mail.acl LEFT JOIN directory.accounts a ON a.id = acl.grantee_account_id "
                               "LEFT JOIN directory.groups g ON g.id = acl.grantee_group_id WHERE acl.mailbox_id = $1 "
                               "ORDER BY 3", m->id);
    for (const auto& r : rows) {
        acl_entry e;
        if (!r[0].is_null()) e.account_id = r[0].as<std::int64_t>();
        if (!r[1].is_null()) e.group_id = r[1].as<std::int64_t>();
        e.identifier = r[2].as<std::string>();
        e.rights = r[3].as<std::string>();
        out.push_back(std::move(e));
    }
    return out;
}

}  // namespace ops
}  // namespace polder::mailstore
