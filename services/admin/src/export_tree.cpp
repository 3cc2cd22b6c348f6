// export_tree.cpp - the destination folder of polderctl export and the pure format
// helpers (see export_tree.hpp).
//
// SECURITY: see export_tree.hpp: safe segments only, mkdir level by level refusing
// symlinks, O_EXCL|O_NOFOLLOW files, 0600/0700, removal of a failed export.
// STANDARDS: Maildir, dovecot-keywords, RFC 4155 mboxrd, RFC 3986 2.1, RFC 4180,
// sha256sum check format.
#include "export_tree.hpp"

#include "context.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace polder::admin::exporter {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_segment = 200;
constexpr std::size_t buffer_size = 256 * 1024;
constexpr char hex_digits[] = "0123456789ABCDEF";

void escape_octet(std::string& out, unsigned char c) {
    out += '%';
    out += hex_digits[c >> 4];
    out += hex_digits[c & 15];
}

std::string shorten(std::string out, std::string_view original, bool* shortened) {
    if (out.size() <= max_segment) return out;
    std::size_t cut = max_segment - 18;
    // Never inside a UTF-8 sequence nor inside a %XX escape.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    for (std::size_t back = 1; back <= 2 && cut >= back; ++back)
        if (out[cut - back] == '%') cut -= back;
    out.resize(cut);
    out += "%~";
    out += blob::sha256::of(original).hex().substr(0, 16);
    if (shortened) *shortened = true;
    return out;
}

[[noreturn]] void io_failure(const std::string& what, const fs::path& p, int err) {
    refuse("cannot " + what + " " + p.string() + ": " + std::strerror(err));
}

}  // namespace

std::string safe_segment(std::string_view name, bool* shortened) {
    std::string out;
    out.reserve(name.size());
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c == '%' || c == '/' || c == '\\' || c < 0x20 || c == 0x7f || (i == 0 && c == '.'))
            escape_octet(out, c);
        else
            out += static_cast<char>(c);
    }
    if (out.empty()) out = "%";   // never stored (every name has a length check); still not "" nor "."
    return shorten(std::move(out), name, shortened);
}

std::string mail_segment(std::string_view level, bool* shortened) {
    std::string out = safe_segment(level, nullptr);
    if (level == "cur" || level == "new" || level == "tmp" || level.starts_with("dovecot")) {
        std::string e;
        escape_octet(e, static_cast<unsigned char>(level[0]));
        out = e + out.substr(1);
    }
    if (out.size() > 5 && out.ends_with(".mbox")) out = out.substr(0, out.size() - 5) + "%2Embox";
    return shorten(std::move(out), level, shortened);
}

std::string maildir_info(const std::vector<std::string>& flags, const std::string& keyword_letters) {
    std::string letters = keyword_letters;
    for (const auto& f : flags) {
        if (f == "\\Draft") letters += 'D';
        else if (f == "\\Flagged") letters += 'F';
        else if (f == "\\Answered") letters += 'R';
        else if (f == "\\Seen") letters += 'S';
        else if (f == "\\Deleted") letters += 'T';
    }
    std::sort(letters.begin(), letters.end());
    letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
    return ":2," + letters;
}

void mboxrd_quoter::feed(std::string_view data, std::string& out) {
    for (char c : data) {
        if (!pending_.empty() || at_line_start_) {
            // Undecided: the line so far is '>'* and a prefix of "From ".
            pending_ += c;
            std::size_t gt = 0;
            while (gt < pending_.size() && pending_[gt] == '>') ++gt;
            const std::string_view rest = std::string_view(pending_).substr(gt);
            constexpr std::string_view from = "From ";
            if (rest.size() <= from.size() && from.starts_with(rest)) {
                if (rest.size() == from.size()) {   // a From_ line: quote it
                    out += '>';
                    out += pending_;
                    pending_.clear();
                    at_line_start_ = false;
                }
                continue;
            }
            out += pending_;
            at_line_start_ = c == '\n';
            pending_.clear();
            continue;
        }
        out += c;
        at_line_start_ = c == '\n';
    }
}

void mboxrd_quoter::finish(std::string& out) {
    if (pending_.empty()) return;
    out += pending_;
    pending_.clear();
    at_line_start_ = false;   // pending_ never holds a newline
}

std::string mbox_from_line(std::string_view sender, std::int64_t unix_seconds) {
    bool plain = !sender.empty() && sender.size() <= 254 && std::count(sender.begin(), sender.end(), '@') == 1 &&
                 sender.front() != '@' && sender.back() != '@';
    for (char c : sender)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) plain = false;
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char date[64];
    std::strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm);
    return "From " + (plain ? std::string(sender) : std::string("MAILER-DAEMON")) + " " + date + "\n";
}

std::string utc_stamp(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

std::string iso_time(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string csv_field(std::string_view s) {
    const bool quote = s.find_first_of("\",\r\n") != std::string_view::npos ||
                       (!s.empty() && (s.front() == ' ' || s.back() == ' '));
    if (!quote) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

// --- output_file ---

output_file::output_file(tree& t, std::string rel) : tree_(t), rel_(std::move(rel)) {
    const fs::path p = tree_.abs(rel_);
    fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) io_failure("create", p, errno);
    buffer_.reserve(buffer_size);
}

output_file::~output_file() {
    if (fd_ >= 0) ::close(fd_);
}

void output_file::flush() {
    std::size_t done = 0;
    while (done < buffer_.size()) {
        ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) io_failure("write", tree_.abs(rel_), n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
}

void output_file::write(std::string_view data) {
    hash_.update(data);
    bytes_ += data.size();
    if (buffer_.size() + data.size() > buffer_size) flush();
    if (data.size() >= buffer_size) {
        buffer_.assign(data);
        flush();
        return;
    }
    buffer_ += data;
}

void output_file::close(std::optional<std::int64_t> mtime) {
    flush();
    if (mtime) {
        timespec times[2];
        times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(*mtime);
        times[0].tv_nsec = times[1].tv_nsec = 0;
        if (::futimens(fd_, times) != 0) io_failure("set the time of", tree_.abs(rel_), errno);
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) io_failure("write", tree_.abs(rel_), errno);
    tree_.record(rel_, hash_.finish().hex(), bytes_);
}

// --- tree ---

tree::~tree() = default;

void tree::prepare() {
    struct stat st{};
    if (::stat(root_.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) refuse(root_.string() + " exists and is not a folder");
        std::error_code ec;
        fs::directory_iterator it(root_, ec);
        if (ec) refuse("cannot read " + root_.string() + ": " + ec.message());
        if (it != fs::directory_iterator()) refuse(root_.string() + " is not empty: export only into a new or empty folder");
    } else if (errno == ENOENT) {
        if (::mkdir(root_.c_str(), 0700) != 0) io_failure("create", root_, errno);
        created_root_ = true;
    } else {
        io_failure("use", root_, errno);
    }
    prepared_ = true;
    const fs::path marker = root_ / std::string(in_progress_marker);
    const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        const int err = errno;
        discard();
        io_failure("write into", root_, err);
    }
    static constexpr std::string_view text =
        "polderctl export is writing this folder, or was interrupted: the export is complete only when\n"
        "this file is gone and MANIFEST.sha256 exists.\n";
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int err = errno;
    ::close(fd);
    if (!ok) {
        discard();
        io_failure("write into", root_, err);
    }
}

void tree::mkdirs(const std::string& rel) {
    fs::path p = root_;
    std::size_t start = 0;
    while (start <= rel.size()) {
        std::size_t slash = rel.find('/', start);
        if (slash == std::string::npos) slash = rel.size();
        const std::string seg = rel.substr(start, slash - start);
        start = slash + 1;
        if (seg.empty()) continue;
        if (seg == "." || seg == "..") refuse("internal error: unsafe export path " + rel);
        p /= seg;
        if (::mkdir(p.c_str(), 0700) == 0) continue;
        if (errno != EEXIST) io_failure("create", p, errno);
        struct stat st{};
        if (::lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) refuse(p.string() + " exists and is not a folder");
    }
}

void tree::folder_mtime(const std::string& rel, std::int64_t unix_seconds) { folder_times_.emplace_back(rel, unix_seconds); }

void tree::record(const std::string& rel, const std::string& sha256_hex, std::uint64_t bytes) {
    manifest_.emplace_back(rel, sha256_hex);
    bytes_ += bytes;
}

void tree::forget(const std::string& rel) {
    auto it = std::find_if(manifest_.begin(), manifest_.end(), [&](const auto& e) { return e.first == rel; });
    if (it == manifest_.end()) return;
    std::error_code ec;
    const auto size = fs::file_size(abs(rel), ec);
    if (!ec) bytes_ -= std::min<std::uint64_t>(bytes_, size);
    manifest_.erase(it);
}

void tree::finish() {
    if (!long_names_.empty()) {
        nlohmann::json j = nlohmann::json::array();
        for (const auto& [mapped, original] : long_names_) j.push_back({{"exported", mapped}, {"original", original}});
        output_file f(*this, "long-names.json");
        f.write(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        f.close();
    }
    // Deepest folders first: setting a parent's time must come after its children changed.
    std::stable_sort(folder_times_.begin(), folder_times_.end(), [](const auto& a, const auto& b) {
        return std::count(a.first.begin(), a.first.end(), '/') > std::count(b.first.begin(), b.first.end(), '/');
    });
    for (const auto& [rel, when] : folder_times_) {
        timespec times[2];
        times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(when);
        times[0].tv_nsec = times[1].tv_nsec = 0;
        if (::utimensat(AT_FDCWD, abs(rel).c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
            io_failure("set the time of", abs(rel), errno);
    }
    std::sort(manifest_.begin(), manifest_.end());
    {
        output_file m(*this, std::string(manifest_name));
        // Paths hold no backslash or newline (safe_segment escapes them), so no line
        // needs sha256sum's escaped form.
        for (const auto& [rel, hex] : manifest_) m.write(hex + "  " + rel + "\n");
        m.close();
        manifest_.pop_back();   // the manifest does not list itself
    }
    const int dfd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::syncfs(dfd);
        ::close(dfd);
    }
    const fs::path marker = root_ / std::string(in_progress_marker);
    if (::unlink(marker.c_str()) != 0) io_failure("remove", marker, errno);
    finished_ = true;
}

bool tree::discard() noexcept {
    if (!prepared_ || finished_) return true;
    std::error_code ec;
    bool ok = true;
    for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().filename() == std::string(in_progress_marker)) continue;
        std::error_code rec;
        fs::remove_all(it->path(), rec);   // does not follow symlinks
        if (rec) ok = false;
    }
    if (ec) ok = false;
    if (!ok) return false;
    std::error_code mec;
    fs::remove(root_ / std::string(in_progress_marker), mec);
    if (created_root_) fs::remove(root_, mec);
    prepared_ = false;
    return !mec;
}

}  // namespace polder::admin::exporter
