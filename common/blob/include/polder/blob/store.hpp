// polder/blob/store.hpp - the content-addressed blob store interface.
//
// What it does: bytes (message bodies, file contents) are stored once under the SHA-256
// of their content. A writer streams bytes in, hashing as it goes; commit() makes them
// durable and returns their id; a reader streams a byte range back out. Neither ever
// holds a whole blob in memory. `store` is abstract so an S3-compatible backend can sit
// beside fs_store (DESIGN.md, "Scaling beyond one machine"); callers hold a store&.
//
// SECURITY: ids are typed (blob_id), never caller text, so no request can name a path.
// A blob is acknowledged only once durable: callers insert a row referencing a blob
// only after commit() succeeded. Stores never delete eagerly; GC (for_each + remove)
// runs later and must respect a grace period (see blob_info::modified).
//
// STANDARDS: FIPS 180-4 (SHA-256 names).
#pragma once

#include "polder/blob/blob_id.hpp"
#include "polder/core/error.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace polder::blob {

inline constexpr std::uint64_t no_limit = std::numeric_limits<std::uint64_t>::max();

// Backends implement these; callers use the value types writer and reader below.
class writer_impl {
 public:
    virtual ~writer_impl() = default;   // must discard uncommitted data
    virtual result<void> write(std::span<const std::byte> data) = 0;
    virtual result<blob_id> commit() = 0;
    virtual void abort() noexcept = 0;
    virtual std::uint64_t size() const noexcept = 0;
};

// file_range - the unread rest of a reader when it is a range of an open local file.
struct file_range {
    int fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

class reader_impl {
 public:
    virtual ~reader_impl() = default;
    virtual result<std::size_t> read(std::span<std::byte> buffer) = 0;
    virtual std::uint64_t remaining() const noexcept = 0;
    virtual std::optional<file_range> file() const noexcept { return std::nullopt; }
};

// writer - streams one new blob into the store. Move-only. Destroying a writer that was
// not committed discards everything written (same as abort()).
class writer {
 public:
    writer() = default;   // empty: every call fails with errc::invalid_argument
    explicit writer(std::unique_ptr<writer_impl> impl) noexcept : impl_(std::move(impl)) {}
    writer(writer&&) noexcept = default;
    writer& operator=(writer&&) noexcept = default;
    ~writer() = default;

    // write - append bytes. Errors: errc::limit_exceeded when the total would pass the
    // writer's max size (the writer is then aborted); errc::invalid_argument after
    // commit/abort/failure; system errors from the backend (e.g. ENOSPC) - the writer is
    // then aborted too.
    [[nodiscard]] result<void> write(std::span<const std::byte> data);
    [[nodiscard]] result<void> write(std::string_view data) {
        return write(std::as_bytes(std::span<const char>(data.data(), data.size())));
    }
    // commit - make the blob durable and return its id. If the same content is already
    // stored, the new copy is dropped (dedup) and the same id returned. Errors:
    // errc::invalid_argument if already committed/aborted/failed; system errors.
    [[nodiscard]] result<blob_id> commit();
    void abort() noexcept;
    std::uint64_t size() const noexcept;   // bytes accepted so far

 private:
    std::unique_ptr<writer_impl> impl_;
};

// reader - streams a byte range of one blob. Move-only.
class reader {
 public:
    reader() = default;   // empty: read() fails with errc::invalid_argument
    explicit reader(std::unique_ptr<reader_impl> impl) noexcept : impl_(std::move(impl)) {}
    reader(reader&&) noexcept = default;
    reader& operator=(reader&&) noexcept = default;

    // read - fill up to buffer.size() bytes; returns 0 only at the end of the range.
    // Errors: errc::internal if the blob turns out shorter than when opened; system errors.
    [[nodiscard]] result<std::size_t> read(std::span<std::byte> buffer);
    std::uint64_t remaining() const noexcept;
    // file - where the unread bytes lie when the backend keeps them in a local file (the
    // file system store; not bytes in memory, not a remote store), for sendfile(2). The
    // descriptor belongs to the reader and stays open as long as it lives; reading it
    // with an explicit offset (pread, sendfile with an offset) leaves the reader as it
    // was.
    std::optional<file_range> file() const noexcept;

 private:
    std::unique_ptr<reader_impl> impl_;
};

// memory_reader - a reader over bytes already in memory (content kept outside a store,
// such as a small file's bytes read from PostgreSQL), with open()'s range rules: length
// is clamped to the end, no length = to the end. Errors: errc::invalid_argument if
// offset is past the end. The bytes are shared, not copied.
[[nodiscard]] result<reader> memory_reader(std::shared_ptr<const std::string> bytes, std::uint64_t offset = 0,
                                           std::optional<std::uint64_t> length = {});

struct blob_info {
    blob_id id;
    std::uint64_t size = 0;
    // Last commit of this content (dedup refreshes it): GC must skip recent blobs, since a
    // writer may have just committed one whose referencing row is not inserted yet.
    std::chrono::system_clock::time_point modified;
};

class store {
 public:
    virtual ~store() = default;

    // begin - start a new blob of at most max_size bytes. Errors: system errors when the
    // backend cannot prepare (e.g. the store folder is not writable).
    [[nodiscard]] virtual result<writer> begin(std::uint64_t max_size = no_limit) = 0;

    // open - read [offset, offset + length) of a blob; length is clamped to the end of the
    // blob, no length = to the end. Errors: errc::not_found; errc::invalid_argument if
    // offset is past the end; system errors.
    [[nodiscard]] virtual result<reader> open(const blob_id& id, std::uint64_t offset = 0,
                                              std::optional<std::uint64_t> length = {}) = 0;

    // size - the blob's length in bytes. Errors: errc::not_found; system errors.
    [[nodiscard]] virtual result<std::uint64_t> size(const blob_id& id) = 0;

    // exists - whether the blob is stored. Errors: system errors (never "not found").
    [[nodiscard]] virtual result<bool> exists(const blob_id& id) = 0;

    // remove - delete a blob. Only GC calls this, after checking no row references it.
    // Errors: errc::not_found; system errors.
    [[nodiscard]] virtual result<void> remove(const blob_id& id) = 0;

    // for_each - visit every stored blob (order unspecified) until f returns false.
    // Entries that are not well-formed blob names are skipped. Errors: system errors.
    [[nodiscard]] virtual result<void> for_each(const std::function<bool(const blob_info&)>& f) = 0;
};

}  // namespace polder::blob
