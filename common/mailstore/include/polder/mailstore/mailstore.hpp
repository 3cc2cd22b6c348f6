// polder/mailstore/mailstore.hpp - the mail store shared by polder-smtpd (local delivery)
// and polder-imapd: mailboxes, delivery and APPEND, flags with modseqs, COPY/MOVE,
// EXPUNGE with tombstones, changes since a modseq, ACLs, quota and SEARCH.
//
// Two layers with the same operations:
//   * functions on a pqxx::work (namespace polder::mailstore::ops) - blocking, composable
//     inside a caller's transaction, used by the class below and by polderctl/tests;
//     those that only read take any pqxx::transaction_base;
//   * class mail_store - awaitable wrappers that run each operation in ONE transaction
//     on the db::pool, so an I/O thread never blocks on PostgreSQL. Read-only operations
//     run in autocommit mode (no BEGIN/COMMIT round trips; at READ COMMITTED each
//     statement had its own snapshot anyway), and the hot ones - FETCH, SEARCH, the
//     changes since a modseq, a plain flag STORE, the \Recent claim - are one statement
//     for the actor's own mailbox, falling back to the full rights check otherwise.
// Every operation that changes a mailbox sends pg_notify on channel mail_<owner account
// id> with payload "<mailbox id>" inside its transaction, so sessions in any process
// (IDLE, concurrent SELECTs) learn of it after COMMIT. Sessions watching a shared mailbox
// listen on its owner's channel (mailbox_info::owner_account_id).
//
// SECURITY: every operation takes the acting account and checks rights: an owner holds
// every RFC 4314 right; anyone else only what mail.acl grants to them or to a group they
// belong to. A mailbox the actor may neither look up ('l') nor read ('r') is reported as
// errc::not_found (its existence never leaks); a visible mailbox without the needed right
// gives errc::permission_denied. ACL grantees must be in the owner's organisation (also
// enforced by the schema). Sizes and counts are bounded (names.hpp, search.hpp).
// STANDARDS: RFC 3501, RFC 9051 (mailboxes, UIDs, flags, EXPUNGE), RFC 4315 (UIDPLUS:
// APPENDUID, COPYUID), RFC 6851 (MOVE), RFC 7162 (CONDSTORE, QRESYNC), RFC 6154
// (special-use), RFC 4314 (ACL), RFC 9208 (QUOTA), RFC 2342 (namespaces: "Shared/").
//
// Error values (result<T>): errc::not_found (mailbox or account not visible),
// errc::permission_denied (right missing), errc::already_exists (CREATE/RENAME target),
// errc::invalid_argument (bad name, flag, rights, INBOX deletion, \Noselect target),
// errc::quota_exceeded, errc::limit_exceeded (sizes and counts), errc::conflict (UIDs of
// a mailbox exhausted), errc::internal (blob missing). Database failures surface as the
// libpqxx exception from pool::transact (db::translate maps them).
#pragma once

#include "polder/asio/asio.hpp"
#include "polder/blob/store.hpp"
#include "polder/core/error.hpp"
#include "polder/db/group_commit.hpp"
#include "polder/db/pool.hpp"
#include "polder/mailstore/names.hpp"
#include "polder/mailstore/search.hpp"
#include "polder/mime/message.hpp"

#include <pqxx/transaction>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace polder::mailstore {

// rollback_error - thrown by an operation that found an error after it had written (so the
// transaction rolls back instead of committing half of it); mail_store returns its code.
struct rollback_error : std::runtime_error {
    explicit rollback_error(boost::system::error_code ec) : std::runtime_error(ec.message()), code(ec) {}
    boost::system::error_code code;
};

inline constexpr std::uint64_t max_message_size = 256ull * 1024 * 1024;
inline constexpr std::size_t max_recipients = 10000;
// A FUZZY search indexes at most this many pending messages of its mailbox first.
inline constexpr std::size_t max_fts_on_search = 20000;
// A SEARCH of header keys is decided in memory (ops::search_in_memory) in mailboxes of at
// most this many messages; larger ones are searched by PostgreSQL.
inline constexpr std::size_t max_memory_search = 20000;

// notify_channel - "mail_<account id>". A change to a mailbox NOTIFYs its owner's channel
// after commit with the payload "<mailbox id>", or "<mailbox id>:<modseq>" when the change
// is exactly one modseq (a flag STORE, an APPEND), so a session that already knows every change up to
// that modseq - typically the one that made it - can skip the resync.
std::string notify_channel(std::int64_t account_id);

struct mailbox_info {
    std::int64_t id = 0;
    std::int64_t owner_account_id = 0;
    std::string name;                   // as the actor sees it ("Shared/<owner>/<name>" if not own)
    std::optional<std::string> special_use;
    bool noselect = false;
    bool has_children = false;
    bool subscribed = false;
    std::string rights;                 // the actor's RFC 4314 rights
    std::uint32_t uidvalidity = 0;
};

struct mailbox_status {
    std::int64_t mailbox_id = 0;
    std::uint64_t messages = 0, unseen = 0, deleted = 0, size = 0;
    std::uint64_t recent = 0;           // not yet claimed by any session (IMAP4rev1 \Recent)
    std::uint64_t uidnext = 1;          // up to 2^32 once UIDs are exhausted
    std::uint32_t uidvalidity = 0;
    std::uint64_t highestmodseq = 0;
};

struct message_flags {
    std::uint32_t uid = 0;
    std::vector<std::string> flags;
    std::uint64_t modseq = 0;
};

struct select_snapshot {
    mailbox_info mailbox;
    std::uint64_t uidnext = 1;
    std::uint64_t highestmodseq = 0;
    std::vector<message_flags> messages;   // ascending uid
    std::vector<std::string> keywords;     // every keyword used in the mailbox (FLAGS)
};

struct changes {
    std::uint64_t highestmodseq = 0;
    std::uint64_t uidnext = 1;
    std::vector<message_flags> changed;    // new or flag-changed since, ascending uid
    std::vector<std::uint32_t> expunged;   // expunged since (tombstones), ascending
    // False when expunge records newer than `since` may have been pruned (schema 0114:
    // the asked mod-sequence is below the mailbox's vanished_floor). Then `expunged` is
    // empty and `present` holds every UID in the mailbox, ascending: any UID below
    // uidnext in neither it nor the caller's view may have been expunged since.
    bool expunges_known = true;
    std::vector<std::uint32_t> present;
};

struct message_meta {
    std::uint32_t uid = 0;
    std::int64_t message_row = 0;          // mail.messages.id
    blob::blob_id blob;
    std::uint64_t size = 0;
    std::int64_t internaldate = 0;         // Unix seconds
    std::vector<std::string> flags;
    std::uint64_t modseq = 0;
    // Prepared at delivery for SORT (RFC 5256) and THREAD: Date: as Unix seconds (nullopt if
    // absent/invalid), base subject, first addr-mailbox of From/To/Cc, thread ids.
    std::optional<std::int64_t> sent_date;
    std::string sort_subject, sort_from, sort_to, sort_cc;
    std::string message_id;
    std::vector<std::string> in_reply_to, references;
    // size, env and body filled from the stored parse (headers and text empty): use it
    // with mime::section_range for FETCH BODY[...] without re-parsing the message.
    mime::message_info parsed;
    // With fetch_needs::header_raw: the octets [0, parsed.body.body_start) when stored
    // (prepared_message::header_raw), else nullopt (read the blob).
    std::optional<std::string> header_raw;
    // raw_in_db: the message's octets are kept with its row (prepared_message::raw), so
    // there is no blob to read. raw: those octets, with fetch_needs::raw, or with
    // fetch_needs::header_raw when no header block is stored (null otherwise); shared, so
    // a message_cache can keep them without a copy.
    bool raw_in_db = false;
    std::shared_ptr<const std::string> raw;
};

// fetch_needs - which parts of the stored parse fetch() decodes into message_meta::parsed
// (decoding the JSON is the costly part of a large FETCH; what is not needed stays empty).
struct fetch_needs {
    bool envelope = true;   // parsed.env (ENVELOPE)
    bool body = true;       // parsed.body (BODY, BODYSTRUCTURE, every section)
    // With body: only the root part's offsets (header_start, body_start, body_end), read
    // from the stored JSON by PostgreSQL instead of decoding the whole structure here -
    // enough for the sections of the whole message (BODY[HEADER], BODY[TEXT],
    // BODY[HEADER.FIELDS ...], RFC822.HEADER, RFC822.TEXT), most of a client's header FETCH.
    bool root_only = false;
    // The SORT/THREAD columns (sent_date, sort_*, message_id, in_reply_to, references);
    // FETCH does not use them.
    bool sort = true;
    // message_meta::header_raw (the stored header block, when there is one).
    bool header_raw = false;
    // message_meta::raw (the octets of a message kept in the database).
    bool raw = false;
};

// The result of parsing a message once; produced by prepare_message.
struct prepared_message {
    blob::blob_id blob;
    std::uint64_t size = 0;
    mime::message_info info;
    // The message's header block (octets [0, info.body.body_start)), stored with it so a
    // FETCH of BODY[HEADER] or HEADER.FIELDS needs no blob read (as Dovecot keeps headers
    // in its index cache); nullopt when longer than max_stored_header or not plain ASCII
    // without NUL (RFC 5322 2.2): those are read from the blob as before.
    std::optional<std::string> header_raw;
    // raw - the whole message, stored with its row instead of in the blob store (schema
    // 0109): set by prepare_inline for APPENDs of at most max_inline_message octets, when
    // `blob` names no stored blob. null: the octets are the blob's. Shared, as
    // message_meta::raw, so the message_cache keeps them without a copy.
    std::shared_ptr<const std::string> raw;
};
inline constexpr std::size_t max_stored_header = 16 * 1024;
// octets_by_row - messages' octets kept in the database, by mail.messages.id.
using octets_by_row = std::vector<std::pair<std::int64_t, std::shared_ptr<const std::string>>>;
inline constexpr std::size_t max_inline_message = 64 * 1024;

// prepare_message - reads the blob (at most max_message_size) and parses it once.
// Errors: errc::not_found (no such blob), errc::limit_exceeded, blob store errors.
[[nodiscard]] result<prepared_message> prepare_message(blob::store& blobs, const blob::blob_id& id);
// prepare_bytes - the same from bytes already in memory that are the blob `id` (APPEND has
// them: no second read of what was just written). Errors: errc::limit_exceeded.
[[nodiscard]] result<prepared_message> prepare_bytes(const blob::blob_id& id, std::string_view raw);
// store_bytes - writes raw bytes as a durable blob (for tests and small callers).
[[nodiscard]] result<blob::blob_id> store_bytes(blob::store& blobs, std::string_view raw);
// prepare_inline - an APPENDed message of at most max_inline_message octets, parsed and
// kept in memory (prepared_message::raw) to be stored with its row: no blob is written,
// `blob` is the octets' SHA-256. Errors: errc::limit_exceeded (larger: use store_bytes
// and prepare_bytes).
[[nodiscard]] result<prepared_message> prepare_inline(std::string raw);

struct recipient {
    std::int64_t account_id = 0;
    std::string mailbox = "INBOX";      // falls back to INBOX when missing or not selectable
};
struct recipient_result {
    std::int64_t account_id = 0;
    boost::system::error_code error;    // ok, errc::not_found (no account), errc::quota_exceeded
    std::int64_t mailbox_id = 0;
    std::uint32_t uid = 0;
};
struct delivery_result {
    std::int64_t message_row = 0;       // 0 when no recipient got it
    std::vector<recipient_result> recipients;   // in the order given
};

struct append_result {
    std::int64_t mailbox_id = 0;
    std::uint32_t uidvalidity = 0;
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;           // of the new entry (the mailbox's new HIGHESTMODSEQ)
    std::vector<std::string> flags;     // as stored (normalized, those the actor may set)
    bool recent = false;                // claimed as \Recent (claim_if_modseq matched)
    std::int64_t message_row = 0;       // mail.messages.id
};

enum class flag_mode { add, remove, replace };
struct store_result {
    std::vector<message_flags> updated;    // rows whose flags were written (ascending uid)
    uid_set modified;                      // UNCHANGEDSINCE failures (RFC 7162 MODIFIED)
    std::uint64_t highestmodseq = 0;       // the mailbox's, as this STORE left it (it takes one
                                           // step even when no flag changed)
};

struct copy_result {
    std::int64_t destination_id = 0;
    std::uint32_t uidvalidity = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> uids;   // (source uid, new uid), ascending source
    std::vector<std::uint32_t> expunged;   // MOVE: source uids removed
};

struct quota_info {
    std::uint64_t used_bytes = 0;
    std::optional<std::uint64_t> limit_bytes;   // nullopt = unlimited
    std::uint64_t messages = 0;
};

struct acl_entry {
    std::optional<std::int64_t> account_id;
    std::optional<std::int64_t> group_id;
    std::string identifier;                 // address of the account, or group name
    std::string rights;
};

namespace ops {
// deliver - one mail.messages row, one mailbox entry per accepted recipient, quota as a
// final guard per recipient (others still delivered), NOTIFY per account.
delivery_result deliver(pqxx::work& tx, const prepared_message& msg, const std::vector<recipient>& rcpts,
                        std::int64_t internaldate);

result<std::vector<mailbox_info>> list_mailboxes(pqxx::transaction_base& tx, std::int64_t actor);
// resolve - the mailbox named as the actor sees it, if the actor holds `needed` rights.
result<mailbox_info> resolve(pqxx::transaction_base& tx, std::int64_t actor, std::string_view name, std::string_view needed);
result<std::int64_t> create_mailbox(pqxx::work& tx, std::int64_t actor, std::string_view name,
                                    std::optional<std::string> special_use = {});
result<void> delete_mailbox(pqxx::work& tx, std::int64_t actor, std::string_view name);
result<void> rename_mailbox(pqxx::work& tx, std::int64_t actor, std::string_view from, std::string_view to);
result<void> subscribe(pqxx::work& tx, std::int64_t actor, std::string_view name, bool on);
result<mailbox_status> status(pqxx::transaction_base& tx, std::int64_t actor, std::string_view name);
result<select_snapshot> select(pqxx::transaction_base& tx, std::int64_t actor, std::string_view name);
// The mailbox-id operations re-check the actor's rights and that the mailbox still has
// `uidvalidity` (deleted and recreated -> errc::not_found).
result<changes> changes_since(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                              std::uint64_t since_modseq);
result<std::vector<message_meta>> fetch(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                        std::uint32_t uidvalidity, const uid_set& uids, fetch_needs needs = {});
// raw_octets - the octets kept in the database (schema 0109) of the mail.messages rows
// `rows`, by row id; rows without any (or gone) are left out. No rights check: only for
// rows the caller read with fetch() before (a row's octets never change).
octets_by_row raw_octets(pqxx::transaction_base& tx, const std::vector<std::int64_t>& rows);
// claim_recent - IMAP4rev1 \Recent: the first session to call it after new messages
// arrived gets them as recent. Returns the lowest UID that is \Recent for this session
// (every UID >= it); the next caller starts after them.
result<std::uint32_t> claim_recent(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity);
// claim_recent_own - claim_recent in one statement for the actor's own mailbox (atomic by
// itself); nullopt, with nothing changed, when it is not the actor's or UIDVALIDITY changed.
std::optional<std::uint32_t> claim_recent_own(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                              std::uint32_t uidvalidity);
// append - with claim_if_modseq (an IMAP4rev1 session appending to the mailbox it has
// selected, passing its view's modseq): when the mailbox's modseq was exactly that before
// the append, the new message is claimed as \Recent for that session in the same
// statement (append_result::recent), so the session needs no resync to learn of it.
result<append_result> append(pqxx::work& tx, std::int64_t actor, std::string_view name, const prepared_message& msg,
                             const std::vector<std::string>& flags, std::int64_t internaldate,
                             std::optional<std::uint64_t> claim_if_modseq = {});
// append_request - one APPEND of append's case, for a batch.
struct append_request {
    std::int64_t actor = 0;
    std::string name;
    const prepared_message* msg = nullptr;
    std::vector<std::string> flags;
    std::int64_t internaldate = 0;
    std::optional<std::uint64_t> claim_if_modseq;
};
// append_batch_statement - ONE statement (mail.append_batch, schema 0116) for the
// requests (one per position of a batch; null: not an APPEND) that are APPENDs to the
// actor's own mailbox with valid flags; the other positions go into `left`. Nullopt, with
// `left` untouched, when there is none. append_batch_results - its rows into out[i] (one
// per position, as requests), as append's value; throws when a sent request has no row.
std::optional<db::statement> append_batch_statement(std::span<const append_request* const> requests,
                                                    std::vector<std::size_t>& left);
void append_batch_results(const db::async_result& rows, std::span<const append_request* const> requests,
                          std::span<std::optional<result<append_result>>* const> out);
// check_append - would an APPEND of `size` octets to `name` be refused? The checks of
// append() (mailbox exists for the actor with the insert right, selectable, the owner's
// quota) without storing anything, so IMAP can answer NO before the client uploads the
// message (RFC 9051 6.3.12). The final check still happens in append().
result<void> check_append(pqxx::transaction_base& tx, std::int64_t actor, std::string_view name, std::uint64_t size);
result<store_result> store_flags(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                                 const uid_set& uids, flag_mode mode, const std::vector<std::string>& flags,
                                 std::optional<std::uint64_t> unchangedsince = {});
// store_flags_own - store_flags without UNCHANGEDSINCE in ONE statement, for the actor's
// own mailbox: complete in itself (atomic, its own transaction in autocommit mode). nullopt
// when that case does not apply - not the actor's mailbox, UIDVALIDITY changed, mailbox
// gone, invalid flags or UIDs - and nothing was changed: store_flags then decides.
std::optional<store_result> store_flags_own(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                            std::uint32_t uidvalidity, const uid_set& uids, flag_mode mode,
                                            const std::vector<std::string>& flags);
// store_request - one flag STORE of store_flags_own's case, for a batch.
struct store_request {
    std::int64_t actor = 0;
    std::int64_t mailbox = 0;
    std::uint32_t uidvalidity = 0;
    uid_set uids;
    flag_mode mode = flag_mode::add;
    std::vector<std::string> flags;
};
// store_flags_own_batch - store_flags_own for several STOREs in one statement where it
// can (mail.store_flags_batch, schema 0108: a STORE of one UID range in a mailbox no
// earlier STORE of the batch names), one by one otherwise; out[i] as store_flags_own's
// value for requests[i].
void store_flags_own_batch(pqxx::transaction_base& tx, std::span<const store_request* const> requests,
                           std::span<std::optional<store_result>* const> out);
// store_own_statement - store_flags_own's one statement for r; nullopt when its flags or
// UIDs are not valid (then not the fast case either).
std::optional<db::statement> store_own_statement(const store_request& r);
// store_batch_statement - ONE statement for all of `requests` (store_own_statement for a
// single one, else mail.store_flags_batch), when each is a STORE of one UID range with
// valid flags and no two name one mailbox; else nullopt.
std::optional<db::statement> store_batch_statement(std::span<const store_request* const> requests);
// store_batch_results - that statement's rows into out[i], as store_flags_own's value for
// requests[i].
void store_batch_results(const db::async_result& rows, std::span<const store_request* const> requests,
                         std::span<std::optional<store_result>* const> out);
result<copy_result> copy(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                         const uid_set& uids, std::string_view destination, bool move);
// expunge - \Deleted messages (restricted to `only` when given: UID EXPUNGE).
result<std::vector<std::uint32_t>> expunge(pqxx::work& tx, std::int64_t actor, std::int64_t mailbox,
                                           std::uint32_t uidvalidity, const std::optional<uid_set>& only);
result<std::vector<std::uint32_t>> search(pqxx::transaction_base& tx, std::int64_t actor, std::int64_t mailbox,
                                          std::uint32_t uidvalidity, const search_criterion& criteria);
// search_in_memory - search() of a criteria tree that is decidable_in_memory (search.hpp),
// over the actor's own mailbox of at most max_memory_search messages: one statement reads
// the mailbox's UIDs and message rows (and lower-cases the search's strings), the header
// text of rows `cache` lacks is read in a second one and kept there, and the criteria are
// decided in memory. nullopt when it does not apply (the caller runs search(), which also
// gives every error).
std::optional<std::vector<std::uint32_t>> search_in_memory(pqxx::transaction_base& tx, std::int64_t actor,
                                                           std::int64_t mailbox, std::uint32_t uidvalidity,
                                                           const search_criterion& criteria, header_cache& cache);
// search_relevancy - like search, with each UID's RFC 6203 relevancy score (1..100): from
// the rank of the FUZZY BODY/TEXT keys, 100 for every match when there are none.
result<std::vector<std::pair<std::uint32_t, std::uint32_t>>> search_relevancy(pqxx::transaction_base& tx, std::int64_t actor,
                                                                          std::int64_t mailbox,
                                                                          std::uint32_t uidvalidity,
                                                                          const search_criterion& criteria);
// index_fts - computes the full-text vector of up to `limit` messages that have none yet
// (schema 0105), oldest first, skipping rows another indexer holds; returns how many.
std::size_t index_fts(pqxx::transaction_base& tx, std::size_t limit);
// index_fts_mailbox - the same for the pending messages of one mailbox.
std::size_t index_fts_mailbox(pqxx::transaction_base& tx, std::int64_t mailbox, std::size_t limit);
// collect_messages - deletes up to `limit` messages that no mailbox holds any more
// (schema 0112: listed when their entries were deleted, skipping any a writer holds);
// returns how many listed messages it settled (deleted, or found held again).
std::size_t collect_messages(pqxx::transaction_base& tx, std::size_t limit);
// prune_expunged - deletes up to `limit` expunge records (RFC 7162) older than
// `older_than`, oldest first (schema 0114: their mailboxes' vanished_floor rises, so
// changes_since reports expunges_known = false to a client from before); returns how many.
std::size_t prune_expunged(pqxx::transaction_base& tx, std::chrono::seconds older_than, std::size_t limit);

// Recoverable mail (schema 0115): what EXPUNGE and DELETE of a mailbox removed, kept for
// the mailbox's owner until prune_recoverable (imap.recoverable_days) or a purge.
struct recoverable_message {
    std::int64_t id = 0;
    std::string mailbox;                // the owner's name of the mailbox that held it
    std::uint64_t size = 0;
    std::vector<std::string> flags;     // without \Deleted
    std::string internaldate;           // RFC 3339, UTC
    std::string deleted_at;             // RFC 3339, UTC
    std::string subject, from;          // decoded, for people to recognise it
};
// list_recoverable - the account's recoverable messages, oldest deletion first; only
// those once in `mailbox` (or below it) when given, deleted at or after `since_epoch`.
std::vector<recoverable_message> list_recoverable(pqxx::transaction_base& tx, std::int64_t account,
                                                  const std::optional<std::string>& mailbox,
                                                  std::optional<std::int64_t> since_epoch, std::size_t limit);
struct restore_result {
    std::map<std::string, std::size_t> mailboxes;   // name -> messages put back there
    std::size_t messages = 0;
    std::uint64_t bytes = 0;
};
// restore_recoverable - puts the account's recoverable messages `ids` (all of them when
// empty) back: each into `to` when given, else into the mailbox that held it, created
// (with its parents) when it is gone; new UIDs, the flags it had, its internal date; a
// NOTIFY per mailbox so open IMAP sessions see them. Errors: not_found (an id that is not
// the account's), quota_exceeded (they do not fit; nothing restored), invalid_argument /
// permission_denied / limit_exceeded (the target mailbox cannot be created).
result<restore_result> restore_recoverable(pqxx::work& tx, std::int64_t account, const std::vector<std::int64_t>& ids,
                                           const std::optional<std::string>& to);
// purge_recoverable - deletes the account's recoverable messages `ids` (all when empty)
// for good; returns how many. Errors: not_found (an id that is not the account's).
result<std::size_t> purge_recoverable(pqxx::work& tx, std::int64_t account, const std::vector<std::int64_t>& ids);
// prune_recoverable - deletes up to `limit` recoverable messages deleted longer than
// `older_than` ago, oldest first; returns how many.
std::size_t prune_recoverable(pqxx::transaction_base& tx, std::chrono::seconds older_than, std::size_t limit);

result<quota_info> quota(pqxx::transaction_base& tx, std::int64_t actor);
// ACL (RFC 4314): needs 'a' on the mailbox. Grantee: an account address or a group name
// of the owner's organisation; anything else is errc::not_found. Empty rights = remove.
result<void> set_acl(pqxx::work& tx, std::int64_t actor, std::string_view mailbox, std::string_view grantee,
                     std::string_view rights);
result<std::vector<acl_entry>> get_acl(pqxx::transaction_base& tx, std::int64_t actor, std::string_view mailbox);
}  // namespace ops

// grouped_write - one write of a session in a batch of the mail store's writes
// (mail_store::use_group_commit): a flag STORE the batch may do together with others'
// (store, then stored: store_flags_own's value), or any function run in the batch's
// transaction (run) - for an APPEND with its request (append), which the batch's one
// statement may do instead (then appended holds append's value and run did not run).
struct grouped_write {
    const ops::store_request* store = nullptr;
    std::optional<store_result> stored;
    std::function<void(pqxx::work&)> run;
    const ops::append_request* append = nullptr;
    std::optional<result<append_result>> appended;
};
// run_grouped_writes - a batch of grouped_writes in one transaction: the functions in
// arrival order, the STOREs with ops::store_flags_own_batch (the batch_commit's function).
void run_grouped_writes(pqxx::work& tx, std::span<grouped_write* const> writes);
// grouped_writes_statement / grouped_writes_applied - the batch_commit's one_statement,
// sent outside a transaction block (no BEGIN/COMMIT round trips): a batch of STOREs only
// that store_batch_statement writes as one statement, else the batch's APPENDs that
// append_batch_statement takes (the other writes are `left` to the transaction); and its
// rows into each write's stored or appended. Nullopt for a batch with neither.
std::optional<db::statement> grouped_writes_statement(std::span<grouped_write* const> writes,
                                                      std::vector<std::size_t>& left);
void grouped_writes_applied(const db::async_result& rows, std::span<grouped_write* const> writes);
using write_batches = db::batch_commit<grouped_write>;

// mail_store - the awaitable API. Each call is one transaction on the pool.
class mail_store {
public:
    mail_store(db::pool& pool, blob::store& blobs) : pool_(pool), blobs_(blobs) {}

    // use_group_commit - the flag STOREs (without UNCHANGEDSINCE) and APPENDs of
    // concurrent sessions then run through gc (db/group_commit.hpp, batch_commit, with
    // run_grouped_writes): one transaction and one WAL flush for each batch instead of
    // one per command, and the batch's STOREs in one statement. Each command's answer
    // still comes only after the COMMIT that holds it. gc must outlive this store's calls.
    void use_group_commit(write_batches* gc) noexcept { grouped_ = gc; }
    // use_header_cache - SEARCHes of header keys in one's own mailboxes are then decided
    // in memory from the header text kept in `cache` (ops::search_in_memory), which must
    // outlive this store's calls.
    void use_header_cache(header_cache* cache) noexcept { headers_ = cache; }

    blob::store& blobs() noexcept { return blobs_; }

    // deliver - the blob must already be committed; it is parsed once (on a database
    // thread, outside the retried transaction body). Nothing is visible before COMMIT.
    awaitable<result<delivery_result>> deliver(blob::blob_id blob, std::vector<recipient> rcpts,
                                               std::int64_t internaldate);
    awaitable<result<append_result>> append(std::int64_t actor, std::string name, blob::blob_id blob,
                                            std::vector<std::string> flags, std::int64_t internaldate);

    // append - the same with the message parsed already (prepare_bytes).
    awaitable<result<append_result>> append(std::int64_t actor, std::string name, prepared_message msg,
                                            std::vector<std::string> flags, std::int64_t internaldate,
                                            std::optional<std::uint64_t> claim_if_modseq = {});

    awaitable<result<void>> check_append(std::int64_t actor, std::string name, std::uint64_t size);
    awaitable<result<std::vector<mailbox_info>>> list_mailboxes(std::int64_t actor);
    awaitable<result<std::int64_t>> create_mailbox(std::int64_t actor, std::string name,
                                                   std::optional<std::string> special_use = {});
    awaitable<result<void>> delete_mailbox(std::int64_t actor, std::string name);
    awaitable<result<void>> rename_mailbox(std::int64_t actor, std::string from, std::string to);
    awaitable<result<void>> subscribe(std::int64_t actor, std::string name, bool on);
    awaitable<result<mailbox_status>> status(std::int64_t actor, std::string name);
    awaitable<result<select_snapshot>> select(std::int64_t actor, std::string name);
    awaitable<result<changes>> changes_since(std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                                             std::uint64_t since_modseq);
    awaitable<result<std::uint32_t>> claim_recent(std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity);
    awaitable<result<std::vector<message_meta>>> fetch(std::int64_t actor, std::int64_t mailbox,
                                                       std::uint32_t uidvalidity, uid_set uids, fetch_needs needs = {});
    awaitable<result<octets_by_row>> raw_octets(std::vector<std::int64_t> rows);
    awaitable<result<store_result>> store_flags(std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                                                uid_set uids, flag_mode mode, std::vector<std::string> flags,
                                                std::optional<std::uint64_t> unchangedsince = {});
    awaitable<result<copy_result>> copy(std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                                        uid_set uids, std::string destination, bool move);
    awaitable<result<std::vector<std::uint32_t>>> expunge(std::int64_t actor, std::int64_t mailbox,
                                                          std::uint32_t uidvalidity, std::optional<uid_set> only);
    awaitable<result<std::vector<std::uint32_t>>> search(std::int64_t actor, std::int64_t mailbox,
                                                         std::uint32_t uidvalidity, search_criterion criteria);
    awaitable<result<std::vector<std::pair<std::uint32_t, std::uint32_t>>>> search_relevancy(
        std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity, search_criterion criteria);
    awaitable<result<quota_info>> quota(std::int64_t actor);
    awaitable<result<void>> set_acl(std::int64_t actor, std::string mailbox, std::string grantee, std::string rights);
    awaitable<result<std::vector<acl_entry>>> get_acl(std::int64_t actor, std::string mailbox);

private:
    db::pool& pool_;
    blob::store& blobs_;
    write_batches* grouped_ = nullptr;
    header_cache* headers_ = nullptr;
};

// activity - when a process's foreground work (a session's command) last began; the
// housekeeper waits for a quiet moment before each round. Shared by pointer between the
// sessions that touch it and the housekeeper that reads it.
class activity {
public:
    void touch() noexcept {
        ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    std::chrono::steady_clock::time_point last() const noexcept {
        return std::chrono::steady_clock::time_point(
            std::chrono::steady_clock::duration(ns_.load(std::memory_order_relaxed)));
    }

private:
    std::atomic<std::chrono::steady_clock::rep> ns_{0};
};

// housekeeper - the mail store's background work, in batches, in every process that
// stores mail (polder-smtpd, polder-imapd):
//   - deletes the messages no mailbox holds any more (after EXPUNGE of the last copy, a
//     deleted mailbox or account; schema 0112), so deleted mail leaves the database and
//     its blob becomes garbage for `polderctl file gc`;
//   - fills messages' full-text vectors (schema 0105), so deliveries never wait for
//     stemming;
//   - with an expunged_retention (polder-imapd: imap.expunged_days), deletes the expunge
//     records QRESYNC reports (RFC 7162) once they are older (schema 0114), and with a
//     recoverable_retention (imap.recoverable_days) the recoverable copies of deleted mail
//     (schema 0115), looking once a prune_interval.
// It works at most half the time of one database connection (after a round that found
// more to do it sleeps as long as the round took), so a burst of mail is accepted at full
// speed and handled in the quiet that follows; with nothing to do it looks again every
// `idle` interval. Several processes may run one each (rows are claimed with SKIP
// LOCKED). Errors are logged and retried after `idle`.
// With a `foreground` activity it also yields to the sessions: a round starts only once
// no command has begun for `quiet`, or when it has waited `max_defer` (so a process that
// is never quiet still does its rounds). A burst of APPENDs then runs on all the CPU, and
// its messages are indexed right after; nothing waits for them (a FUZZY search indexes
// its mailbox's pending messages first, and the others never read the vectors).
class housekeeper {
public:
    struct options {
        std::size_t batch = 100;            // full-text vectors per round
        std::size_t collect_batch = 1000;   // unreferenced messages per round
        std::chrono::milliseconds idle{1000};
        std::shared_ptr<const activity> foreground;   // none: rounds never wait
        std::chrono::milliseconds quiet{300};
        std::chrono::milliseconds max_defer{10000};
        std::chrono::seconds expunged_retention{0};   // 0: expunge records are kept
        // recoverable mail (schema 0115) deleted longer ago goes; none: kept (until purged)
        std::optional<std::chrono::seconds> recoverable_retention{};
        std::size_t prune_batch = 1000;               // expunge records per round
        std::chrono::seconds prune_interval{60};
    };
    housekeeper(db::pool& pool, asio::any_io_executor ex, options o);
    housekeeper(db::pool& pool, asio::any_io_executor ex) : housekeeper(pool, std::move(ex), options{}) {}
    ~housekeeper();
    void start();
    // stop - the loop ends within one round or idle interval.
    void stop();

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace polder::mailstore
