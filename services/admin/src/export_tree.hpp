// export_tree.hpp - the destination of polderctl export: a folder that must be new or
// empty, filled only through safe relative paths, with a SHA-256 manifest of every file
// written and an "in progress" marker until the export is complete.
//
// Pure helpers (names, Maildir flags, mboxrd quoting) live here too, so they can be
// unit-tested without a database.
//
// SECURITY: nothing is ever written outside the destination: every path is built from
// segments mapped by safe_segment() (no '/', no NUL or other control character, no
// leading '.', hence no "." or ".."), folders are created one level at a time with
// mkdir (an existing symlink is refused, never followed), files are created with
// O_CREAT|O_EXCL|O_NOFOLLOW (never overwritten). Files are 0600 and folders 0700: the
// export holds everybody's mail. A failed export removes what it wrote; a killed one
// leaves EXPORT-IN-PROGRESS behind and no MANIFEST.sha256.
// STANDARDS: Maildir (cr.yp.to/proto/maildir.html: "info" 2, flags D F R S T in ASCII
// order), Dovecot's dovecot-keywords file, RFC 4155 + mboxrd quoting, RFC 3986 2.1
// percent-encoding (of file name octets), GNU coreutils sha256sum check format.
#pragma once

#include "polder/blob/sha256.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polder::admin::exporter {

// safe_segment - one path segment for any stored name: '%', '/', '\', control octets and
// a leading '.' become %XX (upper-case hex); everything else (all of Unicode) stays as
// it is, so percent-decoding gives the name back. Segments longer than 200 octets are
// cut at a character boundary and end in "%~" + 16 hex digits of the name's SHA-256
// (not a valid escape: the reader knows it was shortened; long-names.json has the
// original).
std::string safe_segment(std::string_view name, bool* shortened = nullptr);

// mail_segment - safe_segment for one level of a mailbox name in the Maildir tree:
// additionally a level named cur, new or tmp, or starting with "dovecot", gets its first
// octet escaped (those are a Maildir's own entries), and a level ending in ".mbox" gets
// that dot escaped (mbox files of --mbox sit beside the Maildirs).
std::string mail_segment(std::string_view level, bool* shortened = nullptr);

// maildir_info - ":2," + the Maildir flags of the IMAP system flags (\Draft D,
// \Flagged F, \Answered R, \Seen S, \Deleted T) and the keyword letters given,
// all in ASCII order.
std::string maildir_info(const std::vector<std::string>& flags, const std::string& keyword_letters);

// mboxrd_quoter - quotes "From " lines of a message streamed through it in pieces:
// every line matching ^>*From  gets one more '>' (mboxrd).
class mboxrd_quoter {
public:
    // feed - appends the quoted form of data to out.
    void feed(std::string_view data, std::string& out);
    // finish - the message ended: appends what was still undecided.
    void finish(std::string& out);
    // ended_with_newline - after finish(): whether the last octet was '\n' (or nothing was fed).
    bool ended_with_newline() const noexcept { return at_line_start_; }

private:
    bool at_line_start_ = true;
    std::string pending_;   // the '>'s and the start of "From " of a line still undecided
};

// mbox_from_line - "From <sender> <asctime UTC>\n" (RFC 4155); sender is
// MAILER-DAEMON unless it is a plain address (printable ASCII, no space, one '@').
std::string mbox_from_line(std::string_view sender, std::int64_t unix_seconds);

// utc_stamp - "20261123T204500Z" (RFC 5545 basic form, usable in file names).
std::string utc_stamp(std::int64_t unix_seconds);
// iso_time - "2026-11-23T20:45:00Z".
std::string iso_time(std::int64_t unix_seconds);

// csv_field - RFC 4180: quoted when it holds '"', ',', CR, LF or outer spaces.
std::string csv_field(std::string_view s);

class tree;

// output_file - one new file of the tree, written through a buffer and hashed as it is
// written; close() records it in the manifest.
class output_file {
public:
    output_file(tree& t, std::string rel);
    ~output_file();
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;

    void write(std::string_view data);
    // close - flush, set the modification time (when given), close, record.
    void close(std::optional<std::int64_t> mtime = std::nullopt);
    std::uint64_t bytes() const noexcept { return bytes_; }

private:
    void flush();
    tree& tree_;
    std::string rel_;
    int fd_ = -1;
    std::string buffer_;
    blob::sha256 hash_;
    std::uint64_t bytes_ = 0;
};

class tree {
public:
    explicit tree(std::filesystem::path root) : root_(std::move(root)) {}
    ~tree();
    tree(const tree&) = delete;
    tree& operator=(const tree&) = delete;

    // prepare - the destination must not exist (it is created, 0700; its parent must
    // exist) or be an empty folder; then EXPORT-IN-PROGRESS is written. failure(refused)
    // otherwise, naming the reason.
    void prepare();
    // mkdirs - every level of rel (relative, '/'-separated, made of safe segments).
    void mkdirs(const std::string& rel);
    // folder_mtime - set at finish(), deepest first (writing into a folder changes it).
    void folder_mtime(const std::string& rel, std::int64_t unix_seconds);
    // finish - folder times, long-names.json, MANIFEST.sha256, sync; removes the marker.
    void finish();
    // discard - remove everything written (and the folder when prepare() created it).
    // Returns false when that failed (the marker then stays).
    bool discard() noexcept;

    void record(const std::string& rel, const std::string& sha256_hex, std::uint64_t bytes);
    // forget - a scratch file written through output_file that is not part of the export.
    void forget(const std::string& rel);
    void long_name(std::string mapped, std::string original) {
        long_names_.emplace_back(std::move(mapped), std::move(original));
    }
    std::filesystem::path abs(const std::string& rel) const { return root_ / rel; }
    const std::filesystem::path& root() const noexcept { return root_; }
    std::uint64_t files() const noexcept { return manifest_.size(); }
    std::uint64_t bytes() const noexcept { return bytes_; }

private:
    std::filesystem::path root_;
    bool created_root_ = false, prepared_ = false, finished_ = false;
    std::vector<std::pair<std::string, std::string>> manifest_;   // rel, hex
    std::vector<std::pair<std::string, std::int64_t>> folder_times_;
    std::vector<std::pair<std::string, std::string>> long_names_;
    std::uint64_t bytes_ = 0;
};

inline constexpr std::string_view in_progress_marker = "EXPORT-IN-PROGRESS";
inline constexpr std::string_view manifest_name = "MANIFEST.sha256";

}  // namespace polder::admin::exporter
