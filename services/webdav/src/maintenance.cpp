// maintenance.cpp - trash / version expiry and blob garbage collection.
//
// SECURITY: see maintenance.hpp. Blob files are named only from blob ids the
// store listed (never from database text), and a removal happens only after
// the database said no row references the id.
// STANDARDS: PostgreSQL 15 manual 9.27.10 (pg_try_advisory_lock,
// pg_advisory_unlock: session level, so the lock outlives the transactions
// of the run and dies with the connection if the process does).
#include "maintenance.hpp"

#include "polder/db/transact.hpp"

#include <sys/stat.h>

#include <string>
#include <vector>

namespace polder::webdav::maintenance {

namespace {

constexpr std::size_t batch_size = 1000;

// session_lock - pg_try_advisory_lock for the lifetime of the object.
class session_lock {
public:
    explicit session_lock(pqxx::connection& conn) : conn_(conn) {
        pqxx::nontransaction tx(conn_);
        held_ = tx.exec_params1("SELECT pg_try_advisory_lock($1)", advisory_key)[0].as<bool>();
    }
    ~session_lock() {
        if (!held_) return;
        // A broken connection has dropped the lock with the session already.
        try {
            pqxx::nontransaction tx(conn_);
            tx.exec_params("SELECT pg_advisory_unlock($1)", advisory_key);
        } catch (...) {
        }
    }
    session_lock(const session_lock&) = delete;
    session_lock& operator=(const session_lock&) = delete;
    bool held() const { return held_; }

private:
    pqxx::connection& conn_;
    bool held_ = false;
};

// collector - the batches of old blob ids, checked and removed as they fill.
struct collector {
    pqxx::connection& conn;
    blob::fs_store& blobs;
    std::chrono::system_clock::time_point cutoff;
    bool dry_run = false;
    gc_result out;
    std::vector<std::string> batch;

    void flush() {
        if (batch.empty()) return;
        std::vector<std::string> unused;
        try {
            unused = db::transact(conn, [&](pqxx::work& tx) { return store::unreferenced_blobs(tx, batch); });
        } catch (const pqxx::failure&) {
            throw;
        } catch (const std::runtime_error& e) {
            throw unsafe(e.what());   // an unknown reference scheme (store::unreferenced_blobs)
        }
        batch.clear();
        for (const auto& hex : unused) {
            auto id = blob::blob_id::from_hex(hex);
            if (!id) continue;
            // Checked again now: a writer that deduplicated into this blob
            // since the walk refreshed its time and may be inserting its row.
            struct stat st {};
            if (::stat(blobs.path_of(*id).c_str(), &st) != 0) continue;
            if (std::chrono::system_clock::from_time_t(st.st_mtime) >= cutoff) continue;
            if (!dry_run) {
                if (auto r = blobs.remove(*id); !r) continue;
            }
            ++out.removed;
            out.bytes += static_cast<std::uint64_t>(st.st_size);
        }
    }
};

// collect_inline - the same collection for small files' contents kept in
// PostgreSQL: a batch of ids untouched since the cutoff, walked in id order,
// checked for references and deleted in one transaction, the DELETE checking
// touched_at once more (a writer reusing a row sets it and holds the row
// lock until its reference commits).
void collect_inline(collector& c, const std::atomic<bool>* cancel) {
    const auto cutoff = static_cast<std::int64_t>(std::chrono::system_clock::to_time_t(c.cutoff));
    std::string after;
    for (;;) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return;
        struct round {
            std::size_t candidates = 0;
            std::string last;
            std::uint64_t removed = 0;
            std::uint64_t bytes = 0;
        };
        round r;
        try {
            // The function may run again after a serialization failure: it
            // starts from `after` and builds its round from nothing each time.
            r = db::transact(c.conn, [&](pqxx::work& tx) {
                round out;
                const auto batch = store::inline_candidates(tx, after, cutoff, batch_size);
                out.candidates = batch.size();
                out.last = batch.empty() ? after : batch.back();
                // Called with no candidates too: it refuses an unknown reference scheme.
                const auto unused = store::unreferenced_blobs(tx, batch);
                if (c.dry_run) {
                    out.removed = unused.size();
                    out.bytes = store::inline_bytes(tx, unused);
                    return out;
                }
                for (const auto& [hex, bytes] : store::remove_inline(tx, unused, cutoff)) {
                    ++out.removed;
                    out.bytes += static_cast<std::uint64_t>(bytes);
                }
                return out;
            });
        } catch (const pqxx::failure&) {
            throw;
        } catch (const std::runtime_error& e) {
            throw unsafe(e.what());   // an unknown reference scheme (store::unreferenced_blobs)
        }
        c.out.inline_removed += r.removed;
        c.out.inline_bytes += r.bytes;
        after = r.last;
        if (r.candidates < batch_size) return;
    }
}

}  // namespace

gc_result collect_garbage(pqxx::connection& conn, blob::fs_store& blobs, std::chrono::seconds grace, bool dry_run,
                          const std::atomic<bool>* cancel) {
    collector c{conn, blobs, std::chrono::system_clock::now() - grace, dry_run, {}, {}};
    auto walked = blobs.for_each([&](const blob::blob_info& b) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return false;
        ++c.out.seen;
        if (b.modified < c.cutoff) {
            c.batch.push_back(b.id.hex());
            if (c.batch.size() >= batch_size) c.flush();
        }
        return true;
    });
    if (!walked) throw unsafe("cannot list the blob folder " + blobs.root().string() + ": " + walked.error().message());
    c.flush();
    collect_inline(c, cancel);
    if (!dry_run) {
        // A missing folder is not an error; another failure only means the
        // leftovers wait for the next run.
        if (auto swept = blobs.sweep_temp(grace)) c.out.temp_swept = *swept;
    }
    return c.out;
}

run_result run_once(pqxx::connection& conn, blob::fs_store& blobs, const store::retention& keep,
                    std::chrono::seconds grace, const std::atomic<bool>* cancel) {
    run_result r;
    session_lock lock(conn);
    if (!lock.held()) return r;
    r.ran = true;
    r.expired = db::transact(conn, [&](pqxx::work& tx) { return store::expire(tx, keep); });
    r.gc = collect_garbage(conn, blobs, grace, false, cancel);
    return r;
}

}  // namespace polder::webdav::maintenance
