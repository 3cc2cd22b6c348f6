// test_export_tree.cpp - polderctl export's pure helpers and destination folder:
// reversible safe names, Maildir info, mboxrd quoting fed at every fragment size,
// RFC 4180 fields, and a destination that must be new or empty, is never overwritten
// and is removed again when the export fails.
#include <catch2/catch.hpp>

#include "context.hpp"
#include "export_tree.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace polder::admin::exporter;
namespace fs = std::filesystem;

namespace {

std::string quote(const std::string& in, std::size_t step) {
    mboxrd_quoter q;
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += step) q.feed(std::string_view(in).substr(i, step), out);
    q.finish(out);
    return out;
}

std::string percent_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

struct scratch {
    fs::path dir = fs::temp_directory_path() / ("polder-export-test-" + std::to_string(::getpid()));
    scratch() { fs::remove_all(dir); }
    ~scratch() { fs::remove_all(dir); }
};

}  // namespace

TEST_CASE("safe segments escape what a path cannot hold and decode back to the name") {
    for (std::string name : {"..", ".", ".hidden", "a/b", "50%", "back\\slash", "tab\there", "ü ✓ 日本", "-rf", "x:y"}) {
        const std::string s = safe_segment(name);
        CHECK(s.find('/') == std::string::npos);
        CHECK(s.front() != '.');
        CHECK(s != "..");
        CHECK(percent_decode(s) == name);
    }
    CHECK(safe_segment("..") == "%2E.");
    CHECK(safe_segment("a/b%") == "a%2Fb%25");
}

TEST_CASE("a segment too long is shortened at a character boundary with a hash") {
    bool shortened = false;
    const std::string name = std::string(90, 'x') + std::string(60, '%') + "\xC3\xBC\xC3\xBC";
    const std::string s = safe_segment(name, &shortened);
    CHECK(shortened);
    CHECK(s.size() <= 200);
    CHECK(s.find("%~") != std::string::npos);
    CHECK(safe_segment(name + "y") != s);   // different names, different hashes
    bool not_short = false;
    CHECK(safe_segment("kort", &not_short) == "kort");
    CHECK_FALSE(not_short);
}

TEST_CASE("mail segments never collide with a Maildir's own entries or the mbox files") {
    CHECK(mail_segment("cur") == "%63ur");
    CHECK(mail_segment("new") == "%6Eew");
    CHECK(mail_segment("tmp") == "%74mp");
    CHECK(mail_segment("dovecot-keywords") == "%64ovecot-keywords");
    CHECK(mail_segment("lijst.mbox") == "lijst%2Embox");
    CHECK(mail_segment("Archief") == "Archief");
    CHECK(percent_decode(mail_segment("lijst.mbox")) == "lijst.mbox");
}

TEST_CASE("maildir info lists the flags in ASCII order with the keyword letters") {
    CHECK(maildir_info({}, "") == ":2,");
    CHECK(maildir_info({"\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted"}, "") == ":2,DFRST");
    CHECK(maildir_info({"\\Seen", "$Label1"}, "ca") == ":2,Sac");
}

TEST_CASE("mboxrd quoting gives the same bytes at every fragment size") {
    const std::string in = "From: a\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\nFro\r\n>Fr\r\nFromage\r\n\r\nFrom";
    const std::string want =
        "From: a\r\n\r\n>From here\r\n>>From there\r\n>>>From x\r\nFro\r\n>Fr\r\nFromage\r\n\r\nFrom";
    for (std::size_t step = 1; step <= in.size(); ++step) CHECK(quote(in, step) == want);
    CHECK(quote("From x", 3) == ">From x");   // the first line too
}

TEST_CASE("mbox From_ lines carry a plain sender or MAILER-DAEMON and the UTC date") {
    CHECK(mbox_from_line("a@b.example", 1700000000) == "From a@b.example Tue Nov 14 22:13:20 2023\n");
    CHECK(mbox_from_line("a b@c", 0) == "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
    CHECK(mbox_from_line("@", 0).starts_with("From MAILER-DAEMON "));
    CHECK(mbox_from_line("x@y\n", 0).starts_with("From MAILER-DAEMON "));
}

TEST_CASE("csv fields are quoted only when RFC 4180 needs it") {
    CHECK(csv_field("plain") == "plain");
    CHECK(csv_field("Naam, met komma") == "\"Naam, met komma\"");
    CHECK(csv_field("a\"b") == "\"a\"\"b\"");
    CHECK(csv_field(" lead") == "\" lead\"");
}

TEST_CASE("an export folder is created, never overwritten, and removed when the export fails") {
    scratch s;
    {
        tree t(s.dir);
        t.prepare();
        CHECK(fs::exists(s.dir / "EXPORT-IN-PROGRESS"));
        t.mkdirs("a/b");
        output_file f(t, "a/b/file");
        f.write("hello");
        f.close(1700000000);
        struct stat st {};
        REQUIRE(::stat((s.dir / "a/b/file").c_str(), &st) == 0);
        CHECK(st.st_mtime == 1700000000);
        CHECK((st.st_mode & 0777) == 0600);
        CHECK_THROWS_AS(output_file(t, "a/b/file"), polder::admin::failure);   // never overwritten
        CHECK(t.discard());
    }
    CHECK_FALSE(fs::exists(s.dir));   // created by the export: removed entirely

    fs::create_directories(s.dir);
    {
        tree t(s.dir);
        t.prepare();
        t.mkdirs("x");
        output_file f(t, "x/y");
        f.write("data");
        f.close();
        t.finish();
    }
    CHECK_FALSE(fs::exists(s.dir / "EXPORT-IN-PROGRESS"));
    std::ifstream manifest(s.dir / "MANIFEST.sha256");
    std::string line;
    std::getline(manifest, line);
    // sha256("data")
    CHECK(line == "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7  x/y");
    CHECK_FALSE(std::getline(manifest, line));
    {
        tree again(s.dir);
        CHECK_THROWS_AS(again.prepare(), polder::admin::failure);   // not empty
    }
    CHECK(fs::exists(s.dir / "x/y"));
}

TEST_CASE("a path through a symlink planted in the export is refused") {
    scratch s;
    tree t(s.dir);
    t.prepare();
    fs::create_directory_symlink(fs::temp_directory_path(), s.dir / "link");
    CHECK_THROWS_AS(t.mkdirs("link/x"), polder::admin::failure);
    CHECK(t.discard());
}
