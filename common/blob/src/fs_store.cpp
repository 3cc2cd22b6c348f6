// fs_store.cpp - the content-addressed blob store on a POSIX filesystem.
//
// What it does: see fs_store.hpp for the layout. A writer owns one locked temp file in
// root/tmp and a 128 KiB buffer; commit() flushes, fsyncs the file, makes sure ab/ and
// ab/cd/ exist durably, renames the temp into place (or drops it when the same content is
// already there) and fsyncs ab/cd/ - only then is the id returned, so a caller that
// inserts a row after commit() never references bytes a power cut could lose.
//
// SECURITY: names are built from blob_id bytes only. Opens use O_NOFOLLOW and O_CLOEXEC;
// new files are 0640, new folders 0750 (further narrowed by the umask). The temp file is
// renamed and unlinked while still open and flock()ed, so sweep_temp() in another process
// can never remove a temp file whose writer is alive.
//
// STANDARDS: POSIX.1-2017 open/pwrite/pread/fsync/rename/unlink/mkdir, Linux flock(2),
// sync_file_range(2),
// FIPS 180-4 SHA-256.
#include "polder/blob/fs_store.hpp"
#include "polder/blob/sha256.hpp"

#include <openssl/rand.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace polder::blob {

// durable_folders - the fan-out folders this process has made durable: ab/ (index
// 0..255, its entry in the root fsynced after it existed) and ab/cd/ (256 + 0xabcd, its
// entry in ab/ fsynced after it existed, and ab/ durable). Bits only ever get set, and
// a folder is never removed, so a set bit stays true. Lock-free: a writer that reads a
// bit as unset does the fsyncs itself, which is merely what every writer used to do.
struct durable_folders {
    static constexpr unsigned count = 256 + 65536;
    bool has(unsigned i) const noexcept {
        return (bits[i / 64].load(std::memory_order_acquire) >> (i % 64)) & 1u;
    }
    void add(unsigned i) noexcept { bits[i / 64].fetch_or(std::uint64_t{1} << (i % 64), std::memory_order_release); }
    std::array<std::atomic<std::uint64_t>, count / 64> bits{};
    std::atomic<std::uint64_t> fsyncs{0};   // folder fsyncs made by commits
};

namespace {

namespace fs = std::filesystem;

constexpr mode_t file_mode = 0640;
constexpr mode_t dir_mode = 0750;

boost::system::error_code sys_error(int e) { return {e, boost::system::system_category()}; }
boost::system::error_code last_error() { return sys_error(errno); }

// fd_guard - closes a file descriptor on scope exit.
class fd_guard {
 public:
    explicit fd_guard(int fd = -1) noexcept : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

 private:
    int fd_;
};

// fsync_dir - make a folder's entries (a rename, a new subfolder) durable.
result<void> fsync_dir(const std::string& dir) {
    fd_guard fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return last_error();
    if (::fsync(fd.get()) != 0) return last_error();
    return {};
}

// make_dir - mkdir that tolerates an existing folder; true when it created it (the
// caller must then fsync the parent before relying on the new entry).
result<bool> make_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), dir_mode) == 0) return true;
    if (errno != EEXIST) return result<bool>(boost::system::in_place_error, last_error());
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return result<bool>(boost::system::in_place_error, last_error());
    if (!S_ISDIR(st.st_mode)) return result<bool>(boost::system::in_place_error, sys_error(ENOTDIR));
    return false;
}

// ensure_dir - make_dir, and when it created the folder, fsync the parent so the new
// entry survives a crash (the blob renamed into it depends on it).
result<void> ensure_dir(const std::string& parent, const std::string& dir) {
    auto created = make_dir(dir);
    if (!created) return created.error();
    if (*created) return fsync_dir(parent);
    return {};
}

bool is_lower_hex(std::string_view s) {
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

// is_temp_name - 32 hex digits + ".tmp": the only names a writer creates in tmp/.
bool is_temp_name(std::string_view s) {
    return s.size() == 36 && s.substr(32) == ".tmp" && is_lower_hex(s.substr(0, 32));
}

std::string random_hex16() {
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) throw std::runtime_error("OpenSSL: RAND_bytes failed");
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : r) {
        out += digits[c >> 4];
        out += digits[c & 0xf];
    }
    return out;
}

// write_all - n bytes, in calls of at most fs_store::write_buffer_size: on Linux 6.x a
// single write(2) of 1 MiB into the page cache measured several times slower than the
// same bytes in 128 KiB calls (likely the larger page-cache folios it asks for).
result<void> write_all(int fd, const std::byte* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, std::min(n, fs_store::write_buffer_size));
        if (w < 0) {
            if (errno == EINTR) continue;
            return last_error();
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

std::string rel_dir1(const std::string& hex) { return hex.substr(0, 2); }
std::string rel_dir2(const std::string& hex) { return hex.substr(0, 2) + "/" + hex.substr(2, 2); }

// link_anonymous - gives an O_TMPFILE file its first name. Through /proc/self/fd, which
// needs no privilege (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH), else AT_EMPTY_PATH.
int link_anonymous(int fd, const std::string& path) {
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
    const int e = errno;
    if (e != ENOENT || ::access("/proc/self/fd", F_OK) == 0) {
        errno = e;
        return -1;
    }
    return ::linkat(fd, "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH);
}

// A writer's file is either anonymous (O_TMPFILE in root/tmp: no name until commit links
// it into place, so a crash leaves nothing behind and creating it takes no lock on the
// shared tmp/ folder) or, where the file system has no O_TMPFILE (NFS), a named, locked
// temp file that commit renames (see the header).
class fs_writer final : public writer_impl {
 public:
    // temp_path empty: fd is an O_TMPFILE file.
    fs_writer(std::string root, std::shared_ptr<durable_folders> durable, std::string temp_path, int fd,
              std::uint64_t max_size)
        : root_(std::move(root)), durable_(std::move(durable)), temp_path_(std::move(temp_path)), fd_(fd),
          max_size_(max_size) {}

    ~fs_writer() override { abort(); }

    result<void> write(std::span<const std::byte> data) override {
        if (state_ != state::open) return errc::invalid_argument;
        if (data.size() > max_size_ - size_) {
            abort();
            return errc::limit_exceeded;
        }
        if (data.empty()) return {};   // nothing to hash or copy (and data() may be null)
        hash_.update(data);
        size_ += data.size();
        if (buffered_ + data.size() <= fs_store::write_buffer_size) {
            if (!buffer_) buffer_ = std::make_unique<std::byte[]>(fs_store::write_buffer_size);
            std::memcpy(buffer_.get() + buffered_, data.data(), data.size());
            buffered_ += data.size();
            return {};
        }
        // Large pieces go straight to the file: the buffer only batches small writes.
        if (auto r = flush(); !r) return fail(r.error());
        if (data.size() < fs_store::write_buffer_size) {
            if (!buffer_) buffer_ = std::make_unique<std::byte[]>(fs_store::write_buffer_size);
            std::memcpy(buffer_.get(), data.data(), data.size());
            buffered_ = data.size();
            return {};
        }
        if (auto r = write_all(fd_.get(), data.data(), data.size()); !r) return fail(r.error());
        written(data.size());
        return {};
    }

    result<blob_id> commit() override {
        if (state_ != state::open) return errc::invalid_argument;
        if (auto r = flush(); !r) return fail(r.error());
        const blob_id id = hash_.finish();
        const std::string hex = id.hex();
        const std::string d1 = root_ + "/" + rel_dir1(hex);
        const std::string d2 = root_ + "/" + rel_dir2(hex);
        const std::string final_path = d2 + "/" + hex;
        // The folders are made before the file's fsync and their parents fsynced after
        // it: on a journalling file system (ext4, XFS) that fsync commits the mkdirs in
        // the same journal commit, and the parents' fsyncs then find nothing left to
        // write. A fresh store (every blob a new ab/cd/) paid two more journal commits
        // per blob in the other order. Every fsync still happens before the name is
        // made and the id returned, so nothing is less durable anywhere.
        // The parents are fsynced whoever made the folders: a folder found existing
        // may have been made a moment ago by a concurrent writer that has not yet
        // fsynced its parent, and this blob's name must not depend on that writer's
        // progress. Once a parent's fsync has returned after the folder existed, the
        // folder is durable for good (folders are never removed): the store remembers
        // it (durable_folders), and later blobs there skip both parents' fsyncs, which
        // even on a clean folder cost a disk cache flush each (~65 us here).
        const auto i1 = std::to_integer<unsigned>(id.bytes()[0]);   // ab/
        const auto i2 = 256 + (i1 << 8 | std::to_integer<unsigned>(id.bytes()[1]));   // ab/cd/
        const bool folders_durable = durable_->has(i2);
        if (!folders_durable) {
            if (auto made = make_dir(d1); !made) return fail(made.error());
            if (auto made = make_dir(d2); !made) return fail(made.error());
        }
        if (::fsync(fd_.get()) != 0) return fail(last_error());
        if (!folders_durable) {
            if (!durable_->has(i1)) {
                if (auto r = sync_folder(root_); !r) return fail(r.error());
                durable_->add(i1);
            }
            if (auto r = sync_folder(d1); !r) return fail(r.error());
            durable_->add(i2);
        }

        if (same_size_file(final_path)) {
            // Dedup: same name and size means same bytes (a file only ever reaches its
            // final name complete and fsynced). Refresh its mtime so a GC pass that saw it
            // unreferenced a moment ago treats it as new again.
            ::utimensat(AT_FDCWD, final_path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
            if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
        } else if (temp_path_.empty()) {
            if (auto r = link_into_place(d2, final_path); !r) return fail(r.error());
            if (auto r = sync_folder(d2); !r) {
                state_ = state::failed;   // the name exists now; only durability is unknown
                fd_.reset();
                return r.error();
            }
        } else {
            // Absent (or damaged: wrong size/type) - put ours in place. A concurrent writer of
            // the same content may rename at the same moment; either file is correct.
            if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) return fail(last_error());
            if (auto r = sync_folder(d2); !r) {
                state_ = state::failed;   // the name exists now; only durability is unknown
                fd_.reset();
                return r.error();
            }
        }
        // Closed only now: the flock held until here keeps sweep_temp() away (see header).
        fd_.reset();
        buffer_.reset();
        state_ = state::committed;
        return id;
    }

    void abort() noexcept override {
        if (state_ != state::open) return;
        if (!temp_path_.empty()) ::unlink(temp_path_.c_str());   // an anonymous file just goes
        fd_.reset();
        buffer_.reset();
        state_ = state::aborted;
    }

    std::uint64_t size() const noexcept override { return size_; }

 private:
    enum class state { open, committed, aborted, failed };

    bool same_size_file(const std::string& path) const {
        struct stat st {};
        return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
               static_cast<std::uint64_t>(st.st_size) == size_;
    }

    // link_into_place - names the anonymous file final_path. If a writer of the same
    // content got there first, that file serves (dedup); a damaged file under the name
    // (wrong size or type) is replaced atomically through a temporary second name.
    result<void> link_into_place(const std::string& dir, const std::string& final_path) {
        if (link_anonymous(fd_.get(), final_path) == 0) return {};
        if (errno != EEXIST) return last_error();
        if (same_size_file(final_path)) return {};
        const std::string side = dir + "/.replace-" + random_hex16() + ".tmp";
        if (link_anonymous(fd_.get(), side) != 0) return last_error();
        if (::rename(side.c_str(), final_path.c_str()) != 0) {
            auto ec = last_error();
            ::unlink(side.c_str());
            return ec;
        }
        return {};
    }

    result<void> flush() {
        if (buffered_ == 0) return {};
        auto r = write_all(fd_.get(), buffer_.get(), buffered_);
        if (r) written(buffered_);
        buffered_ = 0;
        return r;
    }

    // written - n more bytes are in the file. Every writeback_step bytes the kernel is
    // asked to start writing them to the disk (SYNC_FILE_RANGE_WRITE queues the I/O and
    // returns; it waits for nothing already under way), so the disk works while the rest
    // still arrives and commit()'s fsync only waits for the tail: a 1 GiB upload no
    // longer pays "receive it all, then write it all". Durability still comes from that
    // fsync alone; this only moves work earlier. Where the call is not supported
    // (EINVAL, ENOSYS, ESPIPE: some file systems) it is not tried again; any other
    // error will come back from fsync.
    void written(std::size_t n) noexcept {
        in_file_ += n;
        if (!early_writeback_ || in_file_ - started_ < fs_store::writeback_step) return;
        if (::sync_file_range(fd_.get(), static_cast<off_t>(started_), static_cast<off_t>(in_file_ - started_),
                              SYNC_FILE_RANGE_WRITE) != 0 &&
            (errno == EINVAL || errno == ENOSYS || errno == ESPIPE))
            early_writeback_ = false;
        started_ = in_file_;
    }

    boost::system::error_code fail(boost::system::error_code ec) {
        abort();
        state_ = state::failed;
        return ec;
    }

    // sync_folder - fsync_dir, counted.
    result<void> sync_folder(const std::string& dir) {
        durable_->fsyncs.fetch_add(1, std::memory_order_relaxed);
        return fsync_dir(dir);
    }

    std::string root_;
    std::shared_ptr<durable_folders> durable_;
    std::string temp_path_;
    fd_guard fd_;
    std::uint64_t max_size_;
    std::uint64_t size_ = 0;
    sha256 hash_;
    std::unique_ptr<std::byte[]> buffer_;
    std::size_t buffered_ = 0;
    std::uint64_t in_file_ = 0;   // bytes written to the file (size_ less the buffer)
    std::uint64_t started_ = 0;   // writeback requested up to here (see written())
    bool early_writeback_ = true;
    state state_ = state::open;
};

class fs_reader final : public reader_impl {
 public:
    fs_reader(int fd, std::uint64_t offset, std::uint64_t end) : fd_(fd), pos_(offset), end_(end) {}

    result<std::size_t> read(std::span<std::byte> buffer) override {
        const std::uint64_t left = end_ - pos_;
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left));
        if (want == 0) return std::size_t{0};
        while (true) {
            ssize_t n = ::pread(fd_.get(), buffer.data(), want, static_cast<off_t>(pos_));
            if (n < 0) {
                if (errno == EINTR) continue;
                return last_error();
            }
            if (n == 0) return errc::internal;   // shorter than when opened: a damaged store
            pos_ += static_cast<std::uint64_t>(n);
            return static_cast<std::size_t>(n);
        }
    }

    std::uint64_t remaining() const noexcept override { return end_ - pos_; }

    std::optional<file_range> file() const noexcept override { return file_range{fd_.get(), pos_, end_ - pos_}; }

 private:
    fd_guard fd_;
    std::uint64_t pos_;
    std::uint64_t end_;
};

}  // namespace

fs_store::fs_store(std::filesystem::path root, temp_files temps)
    : root_(std::move(root)),
      durable_(std::make_shared<durable_folders>()),
      anonymous_temp_(temps == temp_files::anonymous) {}

std::uint64_t fs_store::folder_fsyncs() const noexcept { return durable_->fsyncs.load(std::memory_order_relaxed); }

std::filesystem::path fs_store::path_of(const blob_id& id) const {
    const std::string hex = id.hex();
    return root_ / rel_dir1(hex) / hex.substr(2, 2) / hex;
}

result<void> fs_store::prepare() {
    if (prepared_.load(std::memory_order_acquire)) return {};
    std::error_code ec;
    fs::create_directories(root_, ec);
    if (ec) return boost::system::error_code(ec.value(), boost::system::system_category());
    if (auto r = ensure_dir(root_.string(), (root_ / "tmp").string()); !r) return r;
    prepared_.store(true, std::memory_order_release);
    return {};
}

result<writer> fs_store::begin(std::uint64_t max_size) {
    if (auto r = prepare(); !r) return r.error();
    if (anonymous_temp_.load(std::memory_order_relaxed)) {
        const std::string tmp = (root_ / "tmp").string();
        int fd = ::open(tmp.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, file_mode);
        if (fd >= 0) return writer(std::make_unique<fs_writer>(root_.string(), durable_, std::string(), fd, max_size));
        // No O_TMPFILE here (NFS, old kernels): named temp files from now on.
        if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
            anonymous_temp_.store(false, std::memory_order_relaxed);
        else if (errno != ENOENT)
            return last_error();
    }
    std::string temp = (root_ / "tmp" / (random_hex16() + ".tmp")).string();
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode);
    if (fd < 0 && errno == ENOENT) {
        // tmp/ vanished since prepare() (an operator cleaned up): make it again, once.
        prepared_.store(false, std::memory_order_release);
        if (auto r = prepare(); !r) return r.error();
        fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file_mode);
    }
    if (fd < 0) return last_error();
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        auto ec = last_error();
        ::close(fd);
        ::unlink(temp.c_str());
        return ec;
    }
    return writer(std::make_unique<fs_writer>(root_.string(), durable_, std::move(temp), fd, max_size));
}

result<reader> fs_store::open(const blob_id& id, std::uint64_t offset, std::optional<std::uint64_t> length) {
    const std::string p = path_of(id).string();
    fd_guard fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return errc::not_found;
        return last_error();
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return last_error();
    if (!S_ISREG(st.st_mode)) return errc::internal;
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (offset > size) return errc::invalid_argument;
    const std::uint64_t len = std::min(size - offset, length.value_or(size - offset));
    ::posix_fadvise(fd.get(), static_cast<off_t>(offset), static_cast<off_t>(len), POSIX_FADV_SEQUENTIAL);
    auto impl = std::make_unique<fs_reader>(fd.release(), offset, offset + len);
    return reader(std::move(impl));
}

result<std::uint64_t> fs_store::size(const blob_id& id) {
    struct stat st {};
    if (::lstat(path_of(id).c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return errc::not_found;
        return last_error();
    }
    if (!S_ISREG(st.st_mode)) return errc::internal;
    return static_cast<std::uint64_t>(st.st_size);
}

result<bool> fs_store::exists(const blob_id& id) {
    struct stat st {};
    if (::lstat(path_of(id).c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return false;
        // error_code converts to bool, so the error must be placed explicitly.
        return result<bool>(boost::system::in_place_error, last_error());
    }
    return S_ISREG(st.st_mode);
}

result<void> fs_store::remove(const blob_id& id) {
    if (::unlink(path_of(id).c_str()) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return errc::not_found;
        return last_error();
    }
    return {};
}

namespace {

// list_dir - names in a folder, without "." and "..". A missing folder is empty.
result<std::vector<std::string>> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
        if (errno == ENOENT) return names;
        return last_error();
    }
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    while (true) {
        errno = 0;
        dirent* e = ::readdir(d);
        if (e == nullptr) {
            if (errno != 0) return last_error();
            break;
        }
        std::string_view n(e->d_name);
        if (n == "." || n == "..") continue;
        names.emplace_back(n);
    }
    return names;
}

}  // namespace

result<void> fs_store::for_each(const std::function<bool(const blob_info&)>& f) {
    const std::string root = root_.string();
    auto top = list_dir(root);
    if (!top) return top.error();
    for (const auto& a : *top) {
        if (a.size() != 2 || !is_lower_hex(a)) continue;
        auto mid = list_dir(root + "/" + a);
        if (!mid) return mid.error();
        for (const auto& b : *mid) {
            if (b.size() != 2 || !is_lower_hex(b)) continue;
            const std::string dir = root + "/" + a + "/" + b;
            auto files = list_dir(dir);
            if (!files) return files.error();
            for (const auto& name : *files) {
                if (name.compare(0, 2, a) != 0 || name.compare(2, 2, b) != 0) continue;
                auto id = blob_id::from_hex(name);
                if (!id) continue;
                struct stat st {};
                if (::lstat((dir + "/" + name).c_str(), &st) != 0) {
                    if (errno == ENOENT) continue;   // removed meanwhile
                    return last_error();
                }
                if (!S_ISREG(st.st_mode)) continue;
                blob_info info;
                info.id = *id;
                info.size = static_cast<std::uint64_t>(st.st_size);
                info.modified = std::chrono::system_clock::time_point(
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(
                        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
                if (!f(info)) return {};
            }
        }
    }
    return {};
}

result<std::size_t> fs_store::sweep_temp(std::chrono::seconds older_than) {
    const std::string dir = (root_ / "tmp").string();
    auto names = list_dir(dir);
    if (!names) return names.error();
    const auto cutoff = std::chrono::system_clock::now() - older_than;
    std::size_t removed = 0;
    for (const auto& name : *names) {
        if (!is_temp_name(name)) continue;
        const std::string p = dir + "/" + name;
        fd_guard fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
        if (fd.get() < 0) continue;   // gone already (committed or aborted), or not ours
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        const auto mtime = std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
        if (mtime > cutoff) continue;
        // A live writer holds LOCK_EX on its temp file until it has renamed or unlinked it.
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
        // Still the file we locked? (It cannot be re-created under that random name, but a
        // rename between our open and flock would leave nothing to remove.)
        struct stat now {};
        if (::lstat(p.c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) continue;
        if (::unlink(p.c_str()) == 0) ++removed;
    }
    return removed;
}

}  // namespace polder::blob
