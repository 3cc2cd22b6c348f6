// maintenance.hpp - what keeps the file store bounded: expiry of the trash
// and of previous versions (store::expire) and garbage collection of blobs
// no row references any more. One implementation for both callers:
// polder-webdavd's periodic task (expiry_task.hpp) and `polderctl file
// expire|gc`.
//
// SECURITY: collect_garbage never removes a blob that any row of any module
// references (store::unreferenced_blobs: every blob_id / blob_sha256 column
// and the trash manifests; an unknown blob-like column stops it with
// maintenance::unsafe), nor one written or deduplicated within the grace
// period (a writer may have committed a blob and not yet inserted its row);
// the modification time is read again right before each removal. run_once
// does its work only while it holds a PostgreSQL advisory lock, so of several
// processes sharing a database one works and the others skip that round.
// STANDARDS: PostgreSQL 15 manual 9.27.10 (advisory lock functions).
#pragma once

#include "store.hpp"

#include "polder/blob/fs_store.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace polder::webdav::maintenance {

// unsafe - collecting cannot be done safely (an unknown blob reference
// column, or the blob folder cannot be listed); nothing more is removed.
struct unsafe : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The advisory lock key of the expiry / collection run ("polderfx" in ASCII):
// one key for every process of the installation.
inline constexpr std::int64_t advisory_key = 0x706f6c6465726678;

struct gc_result {
    std::uint64_t seen = 0;      // blobs in the store
    std::uint64_t removed = 0;   // (dry run: would be removed)
    std::uint64_t bytes = 0;     // their bytes
    std::uint64_t temp_swept = 0;   // leftover temp files of crashed writers removed
    // small files' contents kept in PostgreSQL (schema/0302_files_inline.sql)
    std::uint64_t inline_removed = 0;   // (dry run: would be removed)
    std::uint64_t inline_bytes = 0;
};

// collect_garbage - remove blobs older than grace that no row references,
// checking references in batches of 1,000 (one short transaction each on
// conn), temp files older than grace that no writer holds, and small files'
// contents in PostgreSQL not touched within grace that no row references
// (checked and deleted in one transaction per batch). dry_run only
// counts. When *cancel becomes true (a service stopping) the walk ends
// early; what was removed so far is reported. Throws unsafe (see above) and
// the database's exceptions.
gc_result collect_garbage(pqxx::connection& conn, blob::fs_store& blobs, std::chrono::seconds grace, bool dry_run,
                          const std::atomic<bool>* cancel = nullptr);

struct run_result {
    bool ran = false;   // false: another process held the lock; nothing was done
    store::expired expired;
    gc_result gc;
};

// run_once - under the advisory lock (tried, never waited for): expire the
// trash and versions per keep in one transaction, commit, then collect
// garbage, so blobs the expiry released are collected in the same run. The
// lock is session-level on conn and always released before returning.
// Throws like collect_garbage.
run_result run_once(pqxx::connection& conn, blob::fs_store& blobs, const store::retention& keep,
                    std::chrono::seconds grace, const std::atomic<bool>* cancel = nullptr);

}  // namespace polder::webdav::maintenance
