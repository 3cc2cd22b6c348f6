// mail_store.cpp - the awaitable mail store: each operation is one transaction on the
// db::pool (run on a database thread, never on an I/O thread) - for reads and single-
// statement writes an autocommit one, without BEGIN/COMMIT round trips; blob reading and
// MIME parsing happen once, before the (possibly retried) transaction body.
// SECURITY: database exceptions become error codes here (details logged, not returned);
// rollback_error carries a domain error out of a transaction that must not commit.
// STANDARDS: see mailstore.hpp.
#include "polder/mailstore/mailstore.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/db/connection.hpp"
#include "polder/log/log.hpp"

#include <pqxx/pqxx>

#include <span>

namespace polder::mailstore {

result<blob::blob_id> store_bytes(blob::store& blobs, std::string_view raw) {
    if (raw.size() > max_message_size) return errc::limit_exceeded;
    auto w = blobs.begin(max_message_size);
    if (!w) return w.error();
    if (auto r = w->write(raw); !r) return r.error();
    return w->commit();
}

namespace {
// stored_header - the header block worth keeping in the database, if it is (see
// prepared_message::header_raw).
std::optional<std::string> stored_header(std::string_view raw, const mime::message_info& info) {
    const auto end = info.body.body_start;
    if (end == 0 || end > raw.size() || end > max_stored_header) return std::nullopt;
    const auto head = raw.substr(0, end);
    for (unsigned char c : head)
        if (c == 0 || c >= 0x80) return std::nullopt;
    return std::string(head);
}
}  // namespace

result<prepared_message> prepare_bytes(const blob::blob_id& id, std::string_view raw) {
    if (raw.size() > max_message_size) return errc::limit_exceeded;
    prepared_message p;
    p.blob = id;
    p.size = raw.size();
    p.info = mime::parse(raw);
    p.header_raw = stored_header(raw, p.info);
    return p;
}

result<prepared_message> prepare_inline(std::string raw) {
    if (raw.size() > max_inline_message) return errc::limit_exceeded;
    auto p = prepare_bytes(blob::sha256::of(std::string_view(raw)), raw);
    if (!p) return p.error();
    p->raw = std::make_shared<const std::string>(std::move(raw));
    return p;
}

result<prepared_message> prepare_message(blob::store& blobs, const blob::blob_id& id) {
    auto r = blobs.open(id);
    if (!r) return r.error();
    if (r->remaining() > max_message_size) return errc::limit_exceeded;
    std::string raw;
    raw.resize(r->remaining());
    std::size_t have = 0;
    while (have < raw.size()) {
        auto n = r->read(std::as_writable_bytes(std::span<char>(raw.data() + have, raw.size() - have)));
        if (!n) return n.error();
        if (*n == 0) return errc::internal;   // shorter than announced
        have += *n;
    }
    prepared_message p;
    p.blob = id;
    p.size = raw.size();
    p.info = mime::parse(raw);
    p.header_raw = stored_header(raw, p.info);
    return p;
}

namespace {

template <class T>
result<T> from_exception(const std::exception& e, std::string_view op) {
    if (auto* rb = dynamic_cast<const rollback_error*>(&e)) return rb->code;
    log::warn("mailstore.db_error", {{"op", op}, {"error", std::string(e.what())}});
    auto ec = db::translate(e);
    if (!ec) ec = errc::internal;
    return ec;
}

// from_exception_ptr - from_exception of what p holds (a std::exception: the coroutines
// below keep only those, and translate them after leaving their catch handlers).
template <class T>
result<T> from_exception_ptr(std::exception_ptr p, std::string_view op) {
    try {
        std::rethrow_exception(p);
    } catch (const std::exception& e) {
        return from_exception<T>(e, op);
    }
}

// transact_grouped - w through the batches; what that failed with, or null.
awaitable<std::exception_ptr> transact_grouped(write_batches& gc, grouped_write& w) {
    std::exception_ptr failure;
    try {
        co_await gc.transact(w);
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    co_return failure;
}

// guarded - runs f(pqxx::work&) -> result<T> in a transaction of its own; exceptions
// become errors.
template <class T, class F>
awaitable<result<T>> guarded(db::pool& pool, std::string_view op, F f) {
    std::exception_ptr failure;
    try {
        co_return co_await pool.transact(std::move(f));
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    co_return from_exception_ptr<T>(failure, op);
}

// autocommit - runs f(pqxx::transaction_base&) -> result<T> in autocommit mode
// (pqxx::nontransaction): each statement is its own transaction. For an operation that
// only reads, that is what a BEGIN ... COMMIT around the statements gave too at READ
// COMMITTED (every statement takes a fresh snapshot either way), minus the two round trips
// of BEGIN and COMMIT; a write must then be ONE statement (atomic by itself). With
// retry_broken (reads only), a connection that broke is retried once on a fresh one:
// nothing was written, so running it again cannot apply anything twice.
template <class T, class F>
awaitable<result<T>> autocommit(db::pool& pool, std::string_view op, bool retry_broken, F f) {
    for (int attempt = 1;; ++attempt) {
        std::exception_ptr failure;
        bool broken = false;
        try {
            co_return co_await pool.run([&f](pqxx::connection& c) {
                pqxx::nontransaction tx(c);
                return f(static_cast<pqxx::transaction_base&>(tx));
            });
        } catch (const pqxx::broken_connection&) {
            failure = std::current_exception();
            broken = true;
        } catch (const std::exception&) {
            failure = std::current_exception();
        }
        if (broken && retry_broken && attempt < 2) continue;
        co_return from_exception_ptr<T>(failure, op);
    }
}

template <class T, class F>
awaitable<result<T>> guarded_read(db::pool& pool, std::string_view op, F f) {
    co_return co_await autocommit<T>(pool, op, true, std::move(f));
}

}  // namespace

awaitable<result<delivery_result>> mail_store::deliver(blob::blob_id blob, std::vector<recipient> rcpts,
                                                       std::int64_t internaldate) {
    auto prepared = co_await pool_.run([&](pqxx::connection&) { return prepare_message(blobs_, blob); });
    if (!prepared) co_return prepared.error();
    co_return co_await guarded<delivery_result>(pool_, "deliver", [&](pqxx::work& tx) -> result<delivery_result> {
        return ops::deliver(tx, *prepared, rcpts, internaldate);
    });
}

awaitable<result<append_result>> mail_store::append(std::int64_t actor, std::string name, blob::blob_id blob,
                                                    std::vector<std::string> flags, std::int64_t internaldate) {
    auto prepared = co_await pool_.run([&](pqxx::connection&) { return prepare_message(blobs_, blob); });
    if (!prepared) co_return prepared.error();
    co_return co_await guarded<append_result>(pool_, "append", [&](pqxx::work& tx) {
        return ops::append(tx, actor, name, *prepared, flags, internaldate);
    });
}

awaitable<result<append_result>> mail_store::append(std::int64_t actor, std::string name, prepared_message msg,
                                                    std::vector<std::string> flags, std::int64_t internaldate,
                                                    std::optional<std::uint64_t> claim_if_modseq) {
    auto run = [&](pqxx::work& tx) { return ops::append(tx, actor, name, msg, flags, internaldate, claim_if_modseq); };
    if (grouped_ == nullptr) co_return co_await guarded<append_result>(pool_, "append", run);
    // In the batch of concurrent sessions' writes: with the batch's other APPENDs in one
    // statement when it can (grouped_writes_statement), else in its transaction.
    const ops::append_request request{actor, name, &msg, flags, internaldate, claim_if_modseq};
    // The batch may run `run` more than once (rolled back, then alone): the value of the
    // run that committed is the one left in `value`.
    std::optional<result<append_result>> value;
    grouped_write w;
    w.run = [&value, &run](pqxx::work& tx) { value.emplace(run(tx)); };
    w.append = &request;
    if (auto failure = co_await transact_grouped(*grouped_, w)) co_return from_exception_ptr<append_result>(failure, "append");
    if (w.appended) co_return std::move(*w.appended);
    co_return std::move(*value);
}

awaitable<result<std::vector<mailbox_info>>> mail_store::list_mailboxes(std::int64_t actor) {
    co_return co_await guarded_read<std::vector<mailbox_info>>(pool_, "list", [&](pqxx::transaction_base& tx) {
        return ops::list_mailboxes(tx, actor);
    });
}

awaitable<result<std::int64_t>> mail_store::create_mailbox(std::int64_t actor, std::string name,
                                                           std::optional<std::string> special_use) {
    co_return co_await guarded<std::int64_t>(pool_, "create", [&](pqxx::work& tx) {
        return ops::create_mailbox(tx, actor, name, special_use);
    });
}

awaitable<result<void>> mail_store::delete_mailbox(std::int64_t actor, std::string name) {
    co_return co_await guarded<void>(pool_, "delete", [&](pqxx::work& tx) { return ops::delete_mailbox(tx, actor, name); });
}

awaitable<result<void>> mail_store::rename_mailbox(std::int64_t actor, std::string from, std::string to) {
    co_return co_await guarded<void>(pool_, "rename", [&](pqxx::work& tx) {
        return ops::rename_mailbox(tx, actor, from, to);
    });
}

awaitable<result<void>> mail_store::subscribe(std::int64_t actor, std::string name, bool on) {
    co_return co_await guarded<void>(pool_, "subscribe", [&](pqxx::work& tx) { return ops::subscribe(tx, actor, name, on); });
}

awaitable<result<void>> mail_store::check_append(std::int64_t actor, std::string name, std::uint64_t size) {
    co_return co_await guarded_read<void>(pool_, "check_append",
                                          [&](pqxx::transaction_base& tx) { return ops::check_append(tx, actor, name, size); });
}

awaitable<result<mailbox_status>> mail_store::status(std::int64_t actor, std::string name) {
    co_return co_await guarded_read<mailbox_status>(pool_, "status", [&](pqxx::transaction_base& tx) { return ops::status(tx, actor, name); });
}

awaitable<result<select_snapshot>> mail_store::select(std::int64_t actor, std::string name) {
    co_return co_await guarded_read<select_snapshot>(pool_, "select", [&](pqxx::transaction_base& tx) { return ops::select(tx, actor, name); });
}

awaitable<result<changes>> mail_store::changes_since(std::int64_t actor, std::int64_t mailbox,
                                                     std::uint32_t uidvalidity, std::uint64_t since_modseq) {
    co_return co_await guarded_read<changes>(pool_, "changes", [&](pqxx::transaction_base& tx) {
        return ops::changes_since(tx, actor, mailbox, uidvalidity, since_modseq);
    });
}

awaitable<result<std::uint32_t>> mail_store::claim_recent(std::int64_t actor, std::int64_t mailbox,
                                                         std::uint32_t uidvalidity) {
    auto fast = co_await autocommit<std::optional<std::uint32_t>>(
        pool_, "recent", false, [&](pqxx::transaction_base& tx) -> result<std::optional<std::uint32_t>> {
            return ops::claim_recent_own(tx, actor, mailbox, uidvalidity);
        });
    if (!fast) co_return fast.error();
    if (*fast) co_return **fast;
    co_return co_await guarded<std::uint32_t>(pool_, "recent", [&](pqxx::work& tx) {
        return ops::claim_recent(tx, actor, mailbox, uidvalidity);
    });
}

awaitable<result<std::vector<message_meta>>> mail_store::fetch(std::int64_t actor, std::int64_t mailbox,
                                                               std::uint32_t uidvalidity, uid_set uids,
                                                               fetch_needs needs) {
    co_return co_await guarded_read<std::vector<message_meta>>(pool_, "fetch", [&](pqxx::transaction_base& tx) {
        return ops::fetch(tx, actor, mailbox, uidvalidity, uids, needs);
    });
}

awaitable<result<octets_by_row>> mail_store::raw_octets(std::vector<std::int64_t> rows) {
    co_return co_await guarded_read<octets_by_row>(
        pool_, "raw_octets", [&](pqxx::transaction_base& tx) { return ops::raw_octets(tx, rows); });
}

awaitable<result<store_result>> mail_store::store_flags(std::int64_t actor, std::int64_t mailbox,
                                                        std::uint32_t uidvalidity, uid_set uids, flag_mode mode,
                                                        std::vector<std::string> flags,
                                                        std::optional<std::uint64_t> unchangedsince) {
    if (!unchangedsince && grouped_ != nullptr) {
        // The common case, in the batch of concurrent sessions' writes: with the batch's
        // other STOREs in one statement (run_grouped_writes).
        const ops::store_request request{actor, mailbox, uidvalidity, uids, mode, flags};
        grouped_write w;
        w.store = &request;
        if (auto failure = co_await transact_grouped(*grouped_, w))
            co_return from_exception_ptr<store_result>(failure, "store");
        if (w.stored) co_return std::move(*w.stored);
    } else if (!unchangedsince) {
        // The common case in one statement and one round trip (no BEGIN, no COMMIT: the
        // statement commits by itself before its answer arrives, so durability is the same).
        auto fast = co_await autocommit<std::optional<store_result>>(
            pool_, "store", false,
            [&](pqxx::transaction_base& tx) -> result<std::optional<store_result>> {
                return ops::store_flags_own(tx, actor, mailbox, uidvalidity, uids, mode, flags);
            });
        if (!fast) co_return fast.error();
        if (*fast) co_return std::move(**fast);
    }
    co_return co_await guarded<store_result>(pool_, "store", [&](pqxx::work& tx) {
        return ops::store_flags(tx, actor, mailbox, uidvalidity, uids, mode, flags, unchangedsince);
    });
}

void run_grouped_writes(pqxx::work& tx, std::span<grouped_write* const> writes) {
    std::vector<const ops::store_request*> stores;
    std::vector<std::optional<store_result>*> stored;
    for (auto* w : writes) {
        w->stored.reset();
        w->appended.reset();
        if (w->store) {
            stores.push_back(w->store);
            stored.push_back(&w->stored);
        } else {
            w->run(tx);
        }
    }
    if (!stores.empty()) ops::store_flags_own_batch(tx, stores, stored);
}

namespace {
// store_requests_of - the batch's STORE requests and their outcome slots; false when a
// write is not a STORE.
bool store_requests_of(std::span<grouped_write* const> writes, std::vector<const ops::store_request*>& stores,
                       std::vector<std::optional<store_result>*>& stored) {
    for (auto* w : writes) {
        if (!w->store) return false;
        stores.push_back(w->store);
        stored.push_back(&w->stored);
    }
    return true;
}

// append_requests_of - the batch's APPEND requests, one per write (null: not an APPEND).
std::vector<const ops::append_request*> append_requests_of(std::span<grouped_write* const> writes) {
    std::vector<const ops::append_request*> appends;
    for (auto* w : writes) appends.push_back(w->append);
    return appends;
}
}  // namespace

std::optional<db::statement> grouped_writes_statement(std::span<grouped_write* const> writes,
                                                      std::vector<std::size_t>& left) {
    std::vector<const ops::store_request*> stores;
    std::vector<std::optional<store_result>*> stored;
    if (store_requests_of(writes, stores, stored)) return ops::store_batch_statement(stores);
    return ops::append_batch_statement(append_requests_of(writes), left);
}

void grouped_writes_applied(const db::async_result& rows, std::span<grouped_write* const> writes) {
    std::vector<const ops::store_request*> stores;
    std::vector<std::optional<store_result>*> stored;
    if (store_requests_of(writes, stores, stored)) {
        ops::store_batch_results(rows, stores, stored);
        return;
    }
    std::vector<std::optional<result<append_result>>*> appended;
    for (auto* w : writes) appended.push_back(w->append ? &w->appended : nullptr);
    ops::append_batch_results(rows, append_requests_of(writes), appended);
}

awaitable<result<copy_result>> mail_store::copy(std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity,
                                                uid_set uids, std::string destination, bool move) {
    co_return co_await guarded<copy_result>(pool_, move ? "move" : "copy", [&](pqxx::work& tx) {
        return ops::copy(tx, actor, mailbox, uidvalidity, uids, destination, move);
    });
}

awaitable<result<std::vector<std::uint32_t>>> mail_store::expunge(std::int64_t actor, std::int64_t mailbox,
                                                                  std::uint32_t uidvalidity, std::optional<uid_set> only) {
    co_return co_await guarded<std::vector<std::uint32_t>>(pool_, "expunge", [&](pqxx::work& tx) {
        return ops::expunge(tx, actor, mailbox, uidvalidity, only);
    });
}

awaitable<result<std::vector<std::uint32_t>>> mail_store::search(std::int64_t actor, std::int64_t mailbox,
                                                                 std::uint32_t uidvalidity, search_criterion criteria) {
    const bool in_memory = headers_ != nullptr && decidable_in_memory(criteria);
    co_return co_await guarded_read<std::vector<std::uint32_t>>(pool_, "search", [&](pqxx::transaction_base& tx) {
        if (in_memory)
            if (auto found = ops::search_in_memory(tx, actor, mailbox, uidvalidity, criteria, *headers_))
                return result<std::vector<std::uint32_t>>(std::move(*found));
        return ops::search(tx, actor, mailbox, uidvalidity, criteria);
    });
}

awaitable<result<std::vector<std::pair<std::uint32_t, std::uint32_t>>>> mail_store::search_relevancy(
    std::int64_t actor, std::int64_t mailbox, std::uint32_t uidvalidity, search_criterion criteria) {
    co_return co_await guarded_read<std::vector<std::pair<std::uint32_t, std::uint32_t>>>(pool_, "search", [&](pqxx::transaction_base& tx) { return ops::search_relevancy(tx, actor, mailbox, uidvalidity, criteria); });
}

awaitable<result<quota_info>> mail_store::quota(std::int64_t actor) {
    co_return co_await guarded_read<quota_info>(pool_, "quota", [&](pqxx::transaction_base& tx) { return ops::quota(tx, actor); });
}

awaitable<result<void>> mail_store::set_acl(std::int64_t actor, std::string mailbox, std::string grantee,
                                            std::string rights) {
    co_return co_await guarded<void>(pool_, "setacl", [&](pqxx::work& tx) {
        return ops::set_acl(tx, actor, mailbox, grantee, rights);
    });
}

awaitable<result<std::vector<acl_entry>>> mail_store::get_acl(std::int64_t actor, std::string mailbox) {
    co_return co_await guarded_read<std::vector<acl_entry>>(pool_, "getacl", [&](pqxx::transaction_base& tx) {
        return ops::get_acl(tx, actor, mailbox);
    });
}

}  // namespace polder::mailstore
