// cmd_put.cpp - PUT: stream a body into the blob store, then point the node
// at it in one transaction.
//
// Order (habit: permission, parse, act, write): preconditions and quota are
// checked before the first body byte is read (so a client sending
// "Expect: 100-continue" sends nothing when refused, and a known
// Content-Length over the quota is 507 before any byte moves); the body goes
// into a blob writer in pieces of at most 1 MiB (memory stays flat for any size); only
// after the blob is durable (fsync + rename, on the file I/O threads so an
// I/O thread never waits for the disk) does one transaction re-check
// everything and switch the node to it; 201/204 come after COMMIT. A file
// of at most webdav.inline_max_bytes skips the blob store: its bytes are
// stored in PostgreSQL by that same transaction (schema/0302_files_inline.sql),
// so it is durable with the commit's one WAL flush. Large
// bodies are hashed and written on the file I/O threads, 1 MiB at a time. That
// transaction is shared with concurrent PUTs (db::batch_commit, run_puts below:
// a batch is read and written with a few set-based statements): writers of
// one home would otherwise wait for each other's commit on the home's row. The
// batch's PUTs that create files go first as ONE statement without BEGIN and
// COMMIT (put_new_files below); overwrites and conditional PUTs take the
// transaction. A client
// that disconnects mid-upload leaves the previous version untouched: the
// writer is discarded and no row changes.
//
// SECURITY: the body is bounded by webdav.max_file_size and by the quota left;
// Content-Range on PUT is refused (RFC 9110 14.4: a server must not apply a
// partial body as a whole one).
// STANDARDS: RFC 9110 9.3.4 (PUT, 201/204), 13.1 (If-Match, If-None-Match
// "*"), 14.4; RFC 4918 9.7 (PUT, 409 without a parent, 405 on a collection),
// 7 (write locks), RFC 4331 (507 on quota).
#include "service.hpp"

#include "polder/blob/sha256.hpp"
#include "polder/http/server.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <vector>

namespace polder::webdav {

struct put_check {
    unsigned status = 0;
    std::optional<service::failure> fail;
    std::optional<node> existing;
    std::optional<node> parent;
    std::optional<std::uint64_t> room;   // bytes the quota still allows for this file
};

// put_item - one PUT in the batch of service::run_puts: what it asks (the
// caller's, unchanged while it waits) and what the batch decided (written on
// every run of the batch function).
struct put_item {
    ctx* c = nullptr;
    std::int64_t home_before = 0;   // c->sp.home_id when the PUT started (0: the own home, found or made)
    // check - the PUT's checks on the nodes at its target and parent, the
    // home (usage as of this point of the batch) and the home's lock flag.
    std::function<put_check(pqxx::work&, const home&, std::optional<node>, std::optional<node>, bool)> check;
    std::string hex;
    std::int64_t size = 0;
    std::string type;
    std::string etag;
    const std::string* held = nullptr;   // the bytes when kept in the database
    put_check pc;
    bool created = false;
    bool in_statement = false;   // sent in the batch's one statement (service::put_new_statement)
};

// run_puts - the PUTs of one transaction (service.hpp, put_commits_): one
// files.begin_puts for all of them (their homes' locks and modseqs, then
// every target and parent), the checks of each in arrival order against the
// usage the earlier ones left, overwrites one by one (versions), and every
// new file in one insert_files. A PUT to a path an earlier one of the batch
// wrote sees that file: what is pending is written and the path read again.
void service::run_puts(pqxx::work& tx, std::span<put_item* const> items) {
    std::vector<store::put_target> targets;
    targets.reserve(items.size());
    for (auto* it : items) {
        // The same start on every run: a home made by a rolled-back batch does not exist.
        it->c->sp.home_id = it->home_before;
        it->pc = {};
        it->created = false;
        targets.push_back({it->home_before, it->c->who.account_id, it->c->target.path});
    }
    auto started = store::begin_puts(tx, targets);
    bool made = false;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (started[i]) continue;
        // The account's first use of its home: made here, then read with the others.
        targets[i].home_id = open_home(tx, items[i]->c->who, items[i]->c->sp).id;
        made = true;
    }
    if (made) started = store::begin_puts(tx, targets);

    std::map<std::int64_t, std::int64_t> used;   // home -> usage after the PUTs so far
    std::set<std::pair<std::int64_t, std::string>> written;
    std::vector<store::new_file> pending;
    auto write_pending = [&] {
        store::insert_files(tx, pending);
        pending.clear();
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto& it = *items[i];
        if (!started[i]) throw std::runtime_error("the home disappeared");
        auto& s = *started[i];
        home h = s.h;
        it.c->sp.home_id = h.id;
        auto [u, first] = used.try_emplace(h.id, h.used_bytes);
        h.used_bytes = u->second;
        const std::string& path = it.c->target.path;
        // An If header may name other resources, and a lock check reads the
        // locks: both then see the batch's files so far.
        const bool reads_more = s.locks || it.c->if_header.has_value();
        if (written.contains({h.id, path}) || (reads_more && !pending.empty())) {
            write_pending();
            bool locks = s.locks;
            auto [existing, parent] = store::find_with_parent(tx, h.id, path, &locks);
            s.existing = std::move(existing);
            s.parent = std::move(parent);
            s.locks = locks;
        }
        it.pc = it.check(tx, h, std::move(s.existing), std::move(s.parent), s.locks);
        if (it.pc.status || it.pc.fail) continue;
        if (it.pc.room && static_cast<std::uint64_t>(it.size) > *it.pc.room) {
            it.pc.status = 507;
            continue;
        }
        if (it.pc.existing) {
            if (it.held) store::put_inline(tx, it.hex, *it.held);
            store::put_file(tx, h.id, *it.pc.parent, it.pc.existing, path, it.hex, it.size, it.type, it.etag,
                            s.modseq, opts_.keep);
            store::touch_ancestors(tx, h.id, path, s.modseq);
            u->second += it.size - it.pc.existing->size;
        } else {
            pending.push_back({h.id, it.pc.parent->id, path, it.hex, it.size, it.type, it.etag, s.modseq, it.held});
            u->second += it.size;
        }
        written.insert({h.id, path});
        it.created = !it.pc.existing;
    }
    write_pending();
}

// put_new_statement / put_new_applied - the batch's PUTs that may create a
// file, in one statement (store::put_new_files, schema 0305: it commits by
// itself; batch_commit sends it on its async connection). Sent are those
// whose checks it can make alone: no If header (tokens and tagged lists) and
// no If-Match (which a missing target fails); If-None-Match holds for a file
// that does not exist, and If-Unmodified-Since is only about an existing one.
// Everything else, and whatever the statement leaves (status 0), is `left`
// to run_puts' transaction. Nullopt, with nothing sent, when no item qualifies.
//
// A batch the statement leaves whole (overwrites: a sync client uploading
// changed files) paid a round trip for nothing, 10-20% of the rate of
// overwrites. After two such batches in a row only every eighth batch tries,
// until one is decided again.
std::optional<db::statement> service::put_new_statement(std::span<put_item* const> items,
                                                       std::vector<std::size_t>& left) {
    const unsigned misses = put_new_misses_.load(std::memory_order_relaxed);
    if (misses >= 2 && misses % 8 != 0) {
        put_new_misses_.store(misses + 1, std::memory_order_relaxed);
        return std::nullopt;
    }
    std::vector<store::new_file> files;
    std::vector<std::int64_t> accounts;
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto& it = *items[i];
        it.in_statement = !it.c->if_header && it.c->req.header(http::field::if_match).empty();
        if (!it.in_statement) {
            left.push_back(i);
            continue;
        }
        files.push_back({it.home_before, 0, it.c->target.path, it.hex, it.size, it.type, it.etag, 0, it.held});
        accounts.push_back(it.c->who.account_id);
    }
    if (files.empty()) {
        left.clear();
        return std::nullopt;
    }
    return store::put_new_files(files, accounts);
}

void service::put_new_applied(const db::async_result& rows, std::span<put_item* const> items,
                              std::vector<std::size_t>& left) {
    std::vector<std::size_t> sent;
    for (std::size_t i = 0; i < items.size(); ++i)
        if (items[i]->in_statement) sent.push_back(i);
    const auto status = store::put_new_files_status(rows, sent.size());
    const bool decided = std::any_of(status.begin(), status.end(), [](int v) { return v != 0; });
    const unsigned misses = put_new_misses_.load(std::memory_order_relaxed);
    put_new_misses_.store(decided ? 0 : misses + 1, std::memory_order_relaxed);
    for (std::size_t k = 0; k < sent.size(); ++k) {
        auto& it = *items[sent[k]];
        if (status[k] == 0) {
            left.push_back(sent[k]);
            continue;
        }
        it.pc = {};
        it.pc.status = status[k] == 201 ? 0 : static_cast<unsigned>(status[k]);
        it.created = status[k] == 201;
    }
}

awaitable<http::response> service::cmd_put(ctx& c) {
    if (!c.req.header(http::field::content_range).empty()) co_return plain(400, "Content-Range is not allowed on PUT");
    if (c.at_root()) co_return plain(405, "the home folder cannot be replaced");

    // check_found - the checks on the nodes at the target and its parent
    // (found by the caller) and the home's quota.
    auto check_found = [&](pqxx::work& tx, const home& h, std::optional<node> existing, std::optional<node> parent,
                           bool locks) {
        put_check pc;
        if (!parent || !parent->collection) {
            pc.status = 409;
            return pc;
        }
        pc.existing = std::move(existing);
        pc.parent = parent;
        if (pc.existing && pc.existing->collection) {
            pc.status = 405;
            return pc;
        }
        if (auto s = etag_preconditions(c, pc.existing)) {
            pc.status = s;
            return pc;
        }
        std::vector<lock_target> targets{{c.target.path, false}};
        if (!pc.existing) targets.push_back({parent->path, false});
        if (auto f = check_conditions(tx, c, h, targets, locks)) {
            pc.fail = f;
            return pc;
        }
        if (h.quota_bytes) {
            const std::int64_t freed = pc.existing ? pc.existing->size : 0;
            pc.room = static_cast<std::uint64_t>(std::max<std::int64_t>(0, *h.quota_bytes - h.used_bytes + freed));
        }
        return pc;
    };
    auto check = [&](pqxx::work& tx, const home& h) {
        bool locks = true;
        auto [existing, parent] = store::find_with_parent(tx, h.id, c.target.path, &locks);
        return check_found(tx, h, std::move(existing), std::move(parent), locks);
    };

    // A small body with a known length is read first and everything checked
    // once, under the home's lock: one transaction per PUT instead of two
    // (at most small_put bytes are read in vain when the answer is an error).
    // Larger or chunked bodies are checked before the first byte is read.
    constexpr std::uint64_t small_put = 256 * 1024;
    const auto declared = c.req.content_length();
    const bool check_first = !declared || *declared > small_put;
    put_check pre;
    if (check_first) {
        pre = co_await pool_.transact([&](pqxx::work& tx) {
            const home h = open_home(tx, c.who, c.sp);
            return check(tx, h);
        });
        if (pre.fail) co_return from_failure(c, *pre.fail);
        if (pre.status == 409) co_return plain(409, "the parent collection does not exist");
        if (pre.status == 405) co_return plain(405, "a collection cannot be replaced by PUT");
        if (pre.status) co_return plain(pre.status, "precondition failed");
    }

    if (declared && *declared > opts_.max_file_size) co_return plain(413, "file larger than the maximum file size");
    if (declared && pre.room && *declared > *pre.room) co_return dav_error(507, dav::dav("quota-not-exceeded"));
    const std::uint64_t limit = std::min<std::uint64_t>(opts_.max_file_size, pre.room.value_or(opts_.max_file_size));
    const bool quota_binds = pre.room && *pre.room < opts_.max_file_size;

    // A body that fits webdav.inline_max_bytes is held in memory and its
    // bytes stored in PostgreSQL by the transaction below (schema 0302): one
    // WAL flush, shared with concurrent PUTs, instead of the blob file's and
    // its folder's fsyncs as well. A larger one goes to the blob store; a
    // chunked body is held until it no longer fits, then moves there.
    const std::uint64_t inline_max = std::min<std::uint64_t>(opts_.inline_max_bytes, store::inline_limit);
    std::string held;
    std::optional<blob::writer> writer;
    bool storage_down = false;
    // A small body is written piece by piece on the I/O thread (memory copies
    // only). A large one is gathered 1 MiB at a time and each piece hashed and
    // written on the file I/O threads: SHA-256, write(2) and the blob store's
    // early writeback (which may wait for the disk's queue) then never stall
    // the I/O thread, and the socket buffer keeps filling meanwhile. Memory
    // stays one buffer per upload whatever the size.
    const bool large = check_first;
    std::vector<char> buffer(large ? 1024 * 1024 : 64 * 1024);
    result<void> wrote;
    std::string_view piece;
    std::function<void()> write_piece = [&] {
        if (!writer) {
            auto w = blobs_.begin(limit);
            if (!w) {
                storage_down = true;
                wrote = w.error();
                return;
            }
            writer.emplace(std::move(*w));
            if (!held.empty()) {
                wrote = writer->write(held);
                std::string().swap(held);
                if (!wrote) return;
            }
        }
        wrote = writer->write(piece);
    };
    auto too_large = [&] {
        return quota_binds ? dav_error(507, dav::dav("quota-not-exceeded"))
                           : plain(413, "file larger than the maximum file size");
    };
    const bool may_hold = inline_max > 0 && (!declared || *declared <= inline_max);
    if (c.req.has_body()) {
        for (bool end = false; !end;) {
            std::size_t filled = 0;
            while (filled < buffer.size()) {
                auto n = co_await c.req.read_some(std::span<char>(buffer).subspan(filled));
                if (!n) {
                    const auto code = polder::is(n.error(), errc::limit_exceeded) && quota_binds
                                          ? 507u
                                          : static_cast<unsigned>(http::status_for_body_error(n.error()));
                    co_return code == 507 ? dav_error(507, dav::dav("quota-not-exceeded"))
                                          : plain(code, "request body could not be read");
                }
                if (*n == 0) {
                    end = true;
                    break;
                }
                filled += *n;
                if (!large) break;
            }
            if (filled == 0) continue;
            piece = std::string_view(buffer.data(), filled);
            if (may_hold && !writer && held.size() + piece.size() <= inline_max) {
                if (held.size() + piece.size() > limit) co_return too_large();
                held.append(piece);
                continue;
            }
            if (large)
                co_await blocking(write_piece);
            else
                write_piece();
            if (!wrote) {
                if (storage_down) co_return plain(503, "storage unavailable");
                if (polder::is(wrote.error(), errc::limit_exceeded)) co_return too_large();
                co_return plain(507, "storage full");
            }
        }
    }
    if (!may_hold && !writer) {
        // An empty body with inline storage off: an empty blob.
        piece = {};
        write_piece();
        if (!wrote) co_return plain(storage_down ? 503 : 507, "storage could not be written");
    }
    const bool inlined = !writer;
    const auto size = static_cast<std::int64_t>(inlined ? held.size() : writer->size());
    std::string hex;
    if (inlined) {
        hex = blob::sha256::of(held).hex();
    } else {
        // fsync + rename + folder fsync: on the file I/O threads (service.hpp).
        std::optional<result<blob::blob_id>> committed;
        std::function<void()> commit_blob = [&] { committed.emplace(writer->commit()); };
        co_await blocking(commit_blob);
        auto& id = *committed;
        if (!id) co_return plain(507, "storage could not be written");
        hex = id->hex();
    }
    const std::string etag = "\"" + hex.substr(0, 32) + "\"";
    const std::string type = content_type_for(name_of(c.target.path), c.req.header(http::field::content_type));

    // Through the PUT batch commit (service.hpp, run_puts above): concurrent
    // PUTs share one transaction and a few statements, so the home's row lock
    // is taken once and one WAL flush serves them all.
    put_item item;
    item.c = &c;
    item.home_before = c.sp.home_id;
    item.check = check_found;
    item.hex = hex;
    item.size = size;
    item.type = type;
    item.etag = etag;
    item.held = inlined ? &held : nullptr;
    co_await put_commits_.transact(item);
    const put_item& done = item;
    if (done.pc.fail) co_return from_failure(c, *done.pc.fail);
    if (done.pc.status == 507) co_return dav_error(507, dav::dav("quota-not-exceeded"));
    if (done.pc.status == 409) co_return plain(409, "the parent collection does not exist");
    if (done.pc.status == 405) co_return plain(405, "a collection cannot be replaced by PUT");
    if (done.pc.status) co_return plain(done.pc.status, "precondition failed");
    http::response r;
    r.code = done.created ? http::status::created : http::status::no_content;
    r.headers.set(http::field::etag, etag);
    if (done.created) r.headers.set(http::field::location, c.href(c.target.path, false));
    co_return r;
}

}  // namespace polder::webdav
