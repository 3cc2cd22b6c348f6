// polder/blob/fs_store.hpp - the blob store on a local (or shared POSIX) filesystem.
//
// What it does: layout under root:
//     tmp/<32 hex>.tmp          named temp files of live writers (where O_TMPFILE is missing)
//     ab/cd/abcd<60 more hex>   committed blobs, named by their SHA-256
// A writer streams into a temp file through a small fixed buffer, hashing as it goes.
// The temp file is anonymous (O_TMPFILE in tmp/) where the file system allows it, so it
// has no name to clean up after a crash and creating it takes no lock on tmp/; elsewhere
// (NFS) it is a named tmp/<32 hex>.tmp as below.
// While a writer writes, every few MiB are handed to the disk early (sync_file_range), so
// the fsync at commit waits for the tail only. commit(): flush, create ab/ and ab/cd/ if
// needed, fsync the file, fsync the folders' parents (one journal commit covers the
// mkdirs and the file), link (anonymous) or rename (named) the temp into place, fsync
// ab/cd/. The store remembers which folders it has made durable (their entries in their
// parents fsynced after they existed): a later blob in the same ab/cd/ fsyncs only its
// file and ab/cd/, two flushes instead of four. Folders are never removed (the store
// deletes blob files only), so what is remembered stays true while the process runs. If the name already exists with the same size the temp is dropped and the existing file's mtime refreshed (dedup). Two
// writers committing the same content at once both succeed: rename() over an identical
// file is atomic and harmless. Temp files of crashed writers are removed by sweep_temp().
//
// SECURITY: file names come from blob_id bytes only; files are opened with O_NOFOLLOW
// and created 0640 in 0750 folders. Every live temp file holds an flock() so sweep_temp()
// never removes a temp file some process is still writing.
//
// STANDARDS: POSIX.1-2017 (open, pwrite, fsync, rename, flock as in Linux), FIPS 180-4.
#pragma once

#include "polder/blob/store.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace polder::blob {

// Thread-safe: any number of threads (and processes) may use one store at once.
class fs_store final : public store {
 public:
    // How writers make their temp files: anonymous (O_TMPFILE; falls back to named by
    // itself where the file system refuses it) or named (tmp/<32 hex>.tmp, for tests of
    // that path and for file systems that claim O_TMPFILE but mishandle it).
    enum class temp_files { anonymous, named };

    // root need not exist yet: it and root/tmp are created by the first begin().
    explicit fs_store(std::filesystem::path root, temp_files temps = temp_files::anonymous);

    [[nodiscard]] result<writer> begin(std::uint64_t max_size = no_limit) override;
    [[nodiscard]] result<reader> open(const blob_id& id, std::uint64_t offset = 0,
                                      std::optional<std::uint64_t> length = {}) override;
    [[nodiscard]] result<std::uint64_t> size(const blob_id& id) override;
    [[nodiscard]] result<bool> exists(const blob_id& id) override;
    [[nodiscard]] result<void> remove(const blob_id& id) override;
    [[nodiscard]] result<void> for_each(const std::function<bool(const blob_info&)>& f) override;

    // sweep_temp - remove temp files not modified for older_than that no live writer holds
    // (a crash's leftovers). Returns how many were removed. Errors: system errors listing
    // root/tmp (a missing tmp folder is not an error).
    [[nodiscard]] result<std::size_t> sweep_temp(std::chrono::seconds older_than);

    const std::filesystem::path& root() const noexcept { return root_; }
    std::filesystem::path path_of(const blob_id& id) const;   // root/ab/cd/<hex>

    // folder_fsyncs - how many folder fsyncs the store's writers have made (for
    // monitoring and tests: a busy store makes about one per blob).
    std::uint64_t folder_fsyncs() const noexcept;

    // Bytes a writer buffers before a write(2); the only per-writer memory.
    static constexpr std::size_t write_buffer_size = 128 * 1024;
    // Bytes after which a writer asks the kernel to start writing its file to the disk
    // (sync_file_range), so that commit()'s fsync waits only for the last few MiB.
    static constexpr std::uint64_t writeback_step = 8 * 1024 * 1024;

 private:
    result<void> prepare();

    std::filesystem::path root_;
    std::shared_ptr<struct durable_folders> durable_;   // shared with the writers
    std::atomic<bool> prepared_{false};
    std::atomic<bool> anonymous_temp_{true};   // O_TMPFILE works here (until it fails once)
};

}  // namespace polder::blob
