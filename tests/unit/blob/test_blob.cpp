// test_blob.cpp - unit tests of polder::blob: ids, SHA-256 vectors, the filesystem store's
// streaming writes, dedup, ranged reads, limits, crash leftovers and bounded memory.
//
// SECURITY: proves that malformed ids are refused before any filesystem access and that
// aborted or failed writers leave nothing behind.
//
// STANDARDS: FIPS 180-4 / NIST CAVP SHA-256 example vectors.
#include "polder/blob/fs_store.hpp"
#include "polder/blob/sha256.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <barrier>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

// Catch prints results and ids readably (boost's operator<< for result needs one for T).
template <class T>
struct Catch::StringMaker<boost::system::result<T, boost::system::error_code>> {
    static std::string convert(const boost::system::result<T, boost::system::error_code>& r) {
        return r ? std::string("value") : "error: " + r.error().message();
    }
};
template <>
struct Catch::StringMaker<polder::blob::blob_id> {
    static std::string convert(const polder::blob::blob_id& id) { return id.hex(); }
};

namespace blob = polder::blob;
namespace fs = std::filesystem;
using polder::errc;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "polder-blob-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::size_t count_files(const fs::path& dir) {
    if (!fs::exists(dir)) return 0;
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file()) ++n;
    }
    return n;
}

blob::blob_id store_string(blob::store& st, std::string_view data, std::size_t fragment = 4096) {
    auto w = st.begin();
    REQUIRE(w);
    for (std::size_t i = 0; i < data.size(); i += fragment) {
        REQUIRE(w->write(data.substr(i, fragment)));
    }
    auto id = w->commit();
    REQUIRE(id);
    return *id;
}

std::string read_all(blob::reader& r, std::size_t chunk = 1000) {
    std::string out;
    std::vector<std::byte> buf(chunk);
    while (true) {
        auto n = r.read(buf);
        REQUIRE(n);
        if (*n == 0) break;
        out.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    CHECK(r.remaining() == 0);
    return out;
}

std::string random_text(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

std::uint64_t vm_hwm_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
    }
    FAIL("no VmHWM in /proc/self/status");
    return 0;
}

void set_mtime_ago(const fs::path& p, std::chrono::seconds ago) {
    timespec ts[2];
    ::clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= ago.count();
    ts[1] = ts[0];
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), ts, 0) == 0);
}

const std::string empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string abc_sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

}  // namespace

TEST_CASE("blob id converts to and from 64 lower-case hex digits") {
    auto id = blob::blob_id::from_hex(abc_sha);
    REQUIRE(id);
    CHECK(id->hex() == abc_sha);
    CHECK(std::to_integer<int>(id->bytes()[0]) == 0xba);
    CHECK(*id == *blob::blob_id::from_hex(abc_sha));
    CHECK(*id != *blob::blob_id::from_hex(empty_sha));
    CHECK((*blob::blob_id::from_hex(abc_sha) < *blob::blob_id::from_hex(empty_sha)));   // 0xba < 0xe3
    CHECK(blob::blob_id{}.hex() == std::string(64, '0'));
}

TEST_CASE("blob id parsing refuses anything but exactly 64 lower-case hex digits") {
    const std::string bad[] = {
        "",
        abc_sha.substr(0, 63),
        abc_sha + "0",
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "../../../../etc/passwd",
        "ba/816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "..7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001\0ad", 64),
        "ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        " a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    };
    for (const auto& b : bad) {
        INFO(b);
        CHECK_FALSE(blob::blob_id::from_hex(b).has_value());
    }
}

TEST_CASE("sha256 matches the FIPS 180-4 example vectors at every fragment size") {
    struct vec { std::string input; std::string digest; };
    const vec vectors[] = {
        {"", empty_sha},
        {"abc", abc_sha},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    for (const auto& v : vectors) {
        CHECK(blob::sha256::of(v.input).hex() == v.digest);
        for (std::size_t frag : {1u, 2u, 5u, 100u, 65536u}) {
            if (v.input.size() > 100000 && frag < 100) continue;   // same code path, slower
            blob::sha256 h;
            for (std::size_t i = 0; i < v.input.size(); i += frag) h.update(std::string_view(v.input).substr(i, frag));
            CHECK(h.finish().hex() == v.digest);
        }
    }
    blob::sha256 h;
    h.update("abc");
    CHECK(h.finish().hex() == abc_sha);
    CHECK(h.finish().hex() == empty_sha);   // finish() resets
}

TEST_CASE("fs store round trip names the blob by its SHA-256 and lays it out as ab/cd/hex") {
    temp_dir dir;
    const auto temps = GENERATE(blob::fs_store::temp_files::anonymous, blob::fs_store::temp_files::named);
    blob::fs_store st(dir.path / "blobs", temps);
    for (std::size_t frag : {1u, 2u, 5u, 100u, 200000u}) {
        const std::string data = "abc";
        auto id = store_string(st, data, frag);
        CHECK(id.hex() == abc_sha);
    }
    const fs::path p = dir.path / "blobs" / "ba" / "78" / abc_sha;
    CHECK(fs::is_regular_file(p));
    CHECK(st.path_of(*blob::blob_id::from_hex(abc_sha)) == p);
    // Not readable by "other": mail bodies are private.
    CHECK((fs::status(p).permissions() & fs::perms::others_all) == fs::perms::none);

    const std::string big = random_text(1'000'003, 7);
    for (std::size_t frag : {1000u, 4096u, 131072u, 131073u, 500000u}) {
        auto id = store_string(st, big, frag);
        CHECK(id == blob::sha256::of(big));
        auto r = st.open(id);
        REQUIRE(r);
        CHECK(r->remaining() == big.size());
        CHECK(read_all(*r, 7777) == big);
    }
    CHECK(*st.size(blob::sha256::of(big)) == big.size());
    CHECK(*st.exists(blob::sha256::of(big)));
    CHECK(count_files(dir.path / "blobs" / "tmp") == 0);
}

TEST_CASE("an empty blob can be stored and read") {
    temp_dir dir;
    blob::fs_store st(dir.path);
    auto id = store_string(st, "");
    CHECK(id.hex() == empty_sha);
    auto r = st.open(id);
    REQUIRE(r);
    CHECK(read_all(*r).empty());
}

TEST_CASE("storing the same content twice keeps one file and returns the same id") {
    temp_dir dir;
    const auto temps = GENERATE(blob::fs_store::temp_files::anonymous, blob::fs_store::temp_files::named);
    blob::fs_store st(dir.path, temps);
    auto a = store_string(st, "same bytes");
    const fs::path p = st.path_of(a);
    set_mtime_ago(p, std::chrono::hours(48));
    struct stat before {};
    REQUIRE(::stat(p.c_str(), &before) == 0);
    auto b = store_string(st, "same bytes", 3);
    CHECK(a == b);
    struct stat after {};
    REQUIRE(::stat(p.c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);           // the existing file was kept
    CHECK(after.st_mtime > before.st_mtime + 3600);  // and marked recent for GC
    CHECK(count_files(dir.path) == 1);
}

TEST_CASE("a damaged file at the blob's name is replaced on the next commit") {
    temp_dir dir;
    const auto temps = GENERATE(blob::fs_store::temp_files::anonymous, blob::fs_store::temp_files::named);
    blob::fs_store st(dir.path, temps);
    auto id = store_string(st, "complete content");
    std::ofstream(st.path_of(id), std::ios::trunc) << "compl";   // simulate damage
    CHECK(store_string(st, "complete content") == id);
    auto r = st.open(id);
    REQUIRE(r);
    CHECK(read_all(*r) == "complete content");
}

TEST_CASE("ranged reads return exactly the requested bytes") {
    temp_dir dir;
    blob::fs_store st(dir.path);
    const std::string data = random_text(300'000, 3);
    auto id = store_string(st, data, 65536);
    struct rng { std::uint64_t off; std::optional<std::uint64_t> len; };
    const rng cases[] = {{0, {}}, {0, 0}, {1, 1}, {100, 1000}, {299'999, {}}, {299'999, 10},
                         {300'000, {}}, {12345, 300'000}, {150'000, 150'000}};
    for (const auto& c : cases) {
        INFO(c.off << "+" << (c.len ? std::to_string(*c.len) : "rest"));
        auto r = st.open(id, c.off, c.len);
        REQUIRE(r);
        const std::string want = data.substr(c.off, c.len.value_or(std::string::npos));
        CHECK(r->remaining() == want.size());
        CHECK(read_all(*r, 4093) == want);
        std::byte b[16];
        auto again = r->read(b);
        REQUIRE(again);
        CHECK(*again == 0);
    }
    auto past = st.open(id, 300'001);
    REQUIRE_FALSE(past);
    CHECK(polder::is(past.error(), errc::invalid_argument));
}

TEST_CASE("a missing blob is reported as not found without creating anything") {
    temp_dir dir;
    blob::fs_store st(dir.path / "store");
    auto id = *blob::blob_id::from_hex(abc_sha);
    auto r = st.open(id);
    REQUIRE_FALSE(r);
    CHECK(polder::is(r.error(), errc::not_found));
    auto sz = st.size(id);
    REQUIRE_FALSE(sz);
    CHECK(polder::is(sz.error(), errc::not_found));
    auto ex = st.exists(id);
    REQUIRE(ex);
    CHECK_FALSE(*ex);
    auto rm = st.remove(id);
    REQUIRE_FALSE(rm);
    CHECK(polder::is(rm.error(), errc::not_found));
    CHECK_FALSE(fs::exists(dir.path / "store"));
}

TEST_CASE("abort and destruction without commit leave nothing behind") {
    temp_dir dir;
    const auto temps = GENERATE(blob::fs_store::temp_files::anonymous, blob::fs_store::temp_files::named);
    blob::fs_store st(dir.path, temps);
    {
        auto w = st.begin();
        REQUIRE(w);
        REQUIRE(w->write("half a message"));
        // An anonymous (O_TMPFILE) temp file has no name at all.
        CHECK(count_files(dir.path / "tmp") == (temps == blob::fs_store::temp_files::named ? 1u : 0u));
        w->abort();
        CHECK(count_files(dir.path / "tmp") == 0);
        auto again = w->write("more");
        REQUIRE_FALSE(again);
        CHECK(polder::is(again.error(), errc::invalid_argument));
        auto c = w->commit();
        REQUIRE_FALSE(c);
        CHECK(polder::is(c.error(), errc::invalid_argument));
    }
    {
        auto w = st.begin();
        REQUIRE(w);
        REQUIRE(w->write(std::string(300'000, 'x')));   // some of it reached the file
        CHECK(count_files(dir.path / "tmp") == (temps == blob::fs_store::temp_files::named ? 1u : 0u));
    }
    CHECK(count_files(dir.path) == 0);
    CHECK_FALSE(*st.exists(blob::sha256::of(std::string(300'000, 'x'))));
}

TEST_CASE("a writer refuses use after commit, and empty handles refuse everything") {
    temp_dir dir;
    blob::fs_store st(dir.path);
    auto w = st.begin();
    REQUIRE(w);
    REQUIRE(w->write("x"));
    REQUIRE(w->commit());
    CHECK(polder::is(w->write("y").error(), errc::invalid_argument));
    CHECK(polder::is(w->commit().error(), errc::invalid_argument));

    blob::writer none;
    CHECK(polder::is(none.write("y").error(), errc::invalid_argument));
    CHECK(polder::is(none.commit().error(), errc::invalid_argument));
    CHECK(none.size() == 0);
    blob::reader nothing;
    std::byte b[4];
    CHECK(polder::is(nothing.read(b).error(), errc::invalid_argument));

    auto moved = st.begin();
    REQUIRE(moved);
    blob::writer taken = std::move(*moved);
    REQUIRE(taken.write("z"));
    CHECK(polder::is(moved->write("z").error(), errc::invalid_argument));
    CHECK(taken.commit());
}

TEST_CASE("a writer stops at its maximum size and discards what it had") {
    temp_dir dir;
    blob::fs_store st(dir.path);
    {
        auto w = st.begin(10);
        REQUIRE(w);
        REQUIRE(w->write("0123456789"));   // exactly the limit is fine
        CHECK(w->size() == 10);
        auto id = w->commit();
        REQUIRE(id);
        CHECK(*id == blob::sha256::of("0123456789"));
    }
    {
        auto w = st.begin(10);
        REQUIRE(w);
        REQUIRE(w->write("012345"));
        auto over = w->write("6789X");
        REQUIRE_FALSE(over);
        CHECK(polder::is(over.error(), errc::limit_exceeded));
        CHECK(count_files(dir.path / "tmp") == 0);
        CHECK(polder::is(w->write("a").error(), errc::invalid_argument));
        CHECK(polder::is(w->commit().error(), errc::invalid_argument));
    }
    {
        // A single huge write is refused without writing any of it.
        auto w = st.begin(1000);
        REQUIRE(w);
        auto over = w->write(std::string(200'000, 'y'));
        CHECK(polder::is(over.error(), errc::limit_exceeded));
    }
    CHECK(count_files(dir.path) == 1);
}

TEST_CASE("concurrent writers committing identical content all succeed") {
    temp_dir dir;
    const auto temps = GENERATE(blob::fs_store::temp_files::anonymous, blob::fs_store::temp_files::named);
    blob::fs_store st(dir.path, temps);
    const std::string data = random_text(1'000'000, 11);
    constexpr int n = 8;
    std::vector<std::optional<blob::blob_id>> ids(n);
    std::vector<std::string> errors(n);
    std::barrier sync(n);
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) {
        threads.emplace_back([&, t] {
            auto w = st.begin();
            if (!w) { errors[t] = w.error().message(); sync.arrive_and_drop(); return; }
            for (std::size_t i = 0; i < data.size(); i += 50'000) {
                if (auto r = w->write(std::string_view(data).substr(i, 50'000)); !r) errors[t] = r.error().message();
            }
            sync.arrive_and_wait();   // commit at the same moment
            auto id = w->commit();
            if (id) ids[t] = *id; else errors[t] = id.error().message();
        });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < n; ++t) {
        INFO("thread " << t << ": " << errors[t]);
        REQUIRE(ids[t]);
        CHECK(*ids[t] == blob::sha256::of(data));
    }
    CHECK(count_files(dir.path / "tmp") == 0);
    CHECK(count_files(dir.path) == 1);
    auto r = st.open(*ids[0]);
    REQUIRE(r);
    CHECK(read_all(*r, 65536) == data);
}

TEST_CASE("pieces larger than the write buffer, across early-writeback steps, are stored exactly") {
    // 1 MiB and odd-sized pieces take the direct write path (split into buffer-sized
    // write calls) and cross several fs_store::writeback_step boundaries, into a fresh
    // store whose ab/ and ab/cd/ folders the commit must create.
    temp_dir dir;
    const auto temps = GENERATE(blob::fs_store::temp_files::anonymous, blob::fs_store::temp_files::named);
    blob::fs_store st(dir.path / "blobs", temps);
    const std::string data = random_text(2 * blob::fs_store::writeback_step + 3 * 1024 * 1024 + 12345, 11);
    const std::size_t pieces[] = {1024 * 1024, 3 * 1024 * 1024 + 1, 7, blob::fs_store::write_buffer_size + 1};
    auto w = st.begin();
    REQUIRE(w);
    std::size_t at = 0;
    for (std::size_t i = 0; at < data.size(); ++i) {
        const std::size_t n = std::min(pieces[i % std::size(pieces)], data.size() - at);
        REQUIRE(w->write(std::string_view(data).substr(at, n)));
        at += n;
    }
    CHECK(w->size() == data.size());
    auto id = w->commit();
    REQUIRE(id);
    CHECK(*id == blob::sha256::of(data));
    CHECK(fs::is_regular_file(st.path_of(*id)));
    CHECK(fs::file_size(st.path_of(*id)) == data.size());
    auto r = st.open(*id);
    REQUIRE(r);
    CHECK(read_all(*r, 1 << 20) == data);
    CHECK(count_files(dir.path / "blobs" / "tmp") == 0);
}

TEST_CASE("a 200 MiB blob streams in and out with bounded memory") {
    temp_dir dir;
    blob::fs_store st(dir.path);
    constexpr std::size_t total = 200u * 1024 * 1024;
    constexpr std::size_t chunk = 64 * 1024;
    std::vector<std::byte> buf(chunk);
    for (std::size_t i = 0; i < chunk; ++i) buf[i] = static_cast<std::byte>(i * 31 + 7);

    // Reset the peak-RSS counter (Linux >= 4.0) so the check below sees only this test.
    {
        std::ofstream clear("/proc/self/clear_refs");
        REQUIRE(clear);
        clear << "5";
    }
    const std::uint64_t before = vm_hwm_kib();

    blob::sha256 expect;
    auto w = st.begin();
    REQUIRE(w);
    for (std::size_t done = 0; done < total; done += chunk) {
        buf[0] = static_cast<std::byte>(done / chunk);   // vary content per chunk
        expect.update(buf);
        REQUIRE(w->write(buf));
    }
    auto id = w->commit();
    REQUIRE(id);
    CHECK(*id == expect.finish());
    CHECK(*st.size(*id) == total);

    auto r = st.open(*id);
    REQUIRE(r);
    blob::sha256 got;
    std::uint64_t read = 0;
    while (true) {
        auto n = r->read(buf);
        REQUIRE(n);
        if (*n == 0) break;
        got.update(std::span<const std::byte>(buf.data(), *n));
        read += *n;
    }
    CHECK(read == total);
    CHECK(got.finish() == *id);

    const std::uint64_t after = vm_hwm_kib();
    INFO("VmHWM grew by " << (after - before) << " KiB while streaming 200 MiB");
    CHECK(after - before < 32 * 1024);
}

TEST_CASE("sweep_temp removes stale temp files of dead writers only") {
    temp_dir dir;
    blob::fs_store st(dir.path, blob::fs_store::temp_files::named);
    auto live = st.begin();   // also creates tmp/
    REQUIRE(live);
    REQUIRE(live->write("still writing"));
    REQUIRE(live->write(std::string(200'000, 'l')));   // reach the file

    const fs::path tmp = dir.path / "tmp";
    fs::path live_file;
    for (const auto& e : fs::directory_iterator(tmp)) live_file = e.path();
    REQUIRE_FALSE(live_file.empty());
    set_mtime_ago(live_file, std::chrono::hours(72));   // old, but its writer is alive

    const fs::path stale = tmp / "0123456789abcdef0123456789abcdef.tmp";
    const fs::path fresh = tmp / "fedcba9876543210fedcba9876543210.tmp";
    const fs::path foreign = tmp / "notes.txt";
    std::ofstream(stale) << "crashed writer";
    std::ofstream(fresh) << "recent";
    std::ofstream(foreign) << "not ours";
    set_mtime_ago(stale, std::chrono::hours(48));
    set_mtime_ago(foreign, std::chrono::hours(48));

    auto n = st.sweep_temp(std::chrono::hours(24));
    REQUIRE(n);
    CHECK(*n == 1);
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(fresh));
    CHECK(fs::exists(foreign));
    CHECK(fs::exists(live_file));

    auto id = live->commit();   // the live writer is unharmed
    REQUIRE(id);
    CHECK(*st.size(*id) == 13 + 200'000);

    auto none = blob::fs_store(dir.path / "never-used").sweep_temp(std::chrono::seconds(0));
    REQUIRE(none);
    CHECK(*none == 0);
}

TEST_CASE("for_each lists every stored blob and skips foreign files") {
    temp_dir dir;
    blob::fs_store st(dir.path);
    std::map<blob::blob_id, std::uint64_t> stored;
    for (int i = 0; i < 20; ++i) {
        const std::string s = random_text(static_cast<std::size_t>(i * 100), static_cast<unsigned>(i));
        stored[store_string(st, s)] = s.size();
    }
    fs::create_directories(dir.path / "zz" / "yy");
    std::ofstream(dir.path / "zz" / "yy" / "junk") << "x";
    std::ofstream(dir.path / "README") << "x";
    auto some = stored.begin()->first;
    std::ofstream(st.path_of(some).parent_path() / "not-a-blob") << "x";
    auto other_dir = st.path_of(some).parent_path() / std::string(64, 'a');   // wrong prefix
    std::ofstream(other_dir) << "x";

    std::map<blob::blob_id, std::uint64_t> seen;
    auto r = st.for_each([&](const blob::blob_info& b) {
        seen[b.id] = b.size;
        CHECK(b.modified > std::chrono::system_clock::now() - std::chrono::hours(1));
        return true;
    });
    REQUIRE(r);
    CHECK(seen == stored);

    int visits = 0;
    REQUIRE(st.for_each([&](const blob::blob_info&) { return ++visits < 3; }));
    CHECK(visits == 3);

    REQUIRE(st.remove(some));
    CHECK_FALSE(*st.exists(some));
    CHECK(polder::is(st.remove(some).error(), errc::not_found));
}

TEST_CASE("a memory reader follows the store's range rules over shared bytes") {
    auto bytes = std::make_shared<const std::string>("0123456789");
    auto drain = [](blob::reader r) {
        std::string out;
        std::array<std::byte, 3> buf{};
        for (;;) {
            auto n = r.read(buf);
            REQUIRE(n);
            if (*n == 0) break;
            out.append(reinterpret_cast<const char*>(buf.data()), *n);
        }
        return out;
    };
    auto whole = blob::memory_reader(bytes);
    REQUIRE(whole);
    CHECK(whole->remaining() == 10);
    CHECK(drain(std::move(*whole)) == "0123456789");
    auto middle = blob::memory_reader(bytes, 2, 5);
    REQUIRE(middle);
    CHECK(drain(std::move(*middle)) == "23456");
    auto clamped = blob::memory_reader(bytes, 7, 100);
    REQUIRE(clamped);
    CHECK(drain(std::move(*clamped)) == "789");
    auto at_end = blob::memory_reader(bytes, 10);
    REQUIRE(at_end);
    CHECK(drain(std::move(*at_end)).empty());
    auto past = blob::memory_reader(bytes, 11);
    REQUIRE_FALSE(past);
    CHECK(polder::is(past.error(), errc::invalid_argument));
    CHECK_FALSE(blob::memory_reader(nullptr));
    CHECK(bytes.use_count() == 1);   // readers gone, nothing kept
}

TEST_CASE("writing an empty piece changes nothing") {
    temp_dir dir;
    blob::fs_store st(dir.path);
    auto w = st.begin();
    REQUIRE(w);
    REQUIRE(w->write(std::span<const std::byte>{}));
    REQUIRE(w->write(std::string_view("abc")));
    REQUIRE(w->write(std::string_view{}));
    CHECK(w->size() == 3);
    auto id = w->commit();
    REQUIRE(id);
    CHECK(*id == blob::sha256::of(std::string_view("abc")));
}

TEST_CASE("a folder made durable once is not fsynced again by later blobs in it") {
    // durable_folders (fs_store.cpp): the first blob in ab/cd/ fsyncs the root (for ab/),
    // ab/ (for cd/) and ab/cd/ (for its own name); a later blob in the same ab/cd/ only
    // ab/cd/; a blob in a new cd/ under a known ab/ fsyncs ab/ and its cd/.
    temp_dir dir;
    const auto temps = GENERATE(blob::fs_store::temp_files::anonymous, blob::fs_store::temp_files::named);
    blob::fs_store st(dir.path / "blobs", temps);
    // Contents whose names share the first four hex digits, and one sharing two only.
    std::string first, same_folder, same_parent;
    std::string first_hex;
    for (int i = 0; same_folder.empty() || same_parent.empty(); ++i) {
        REQUIRE(i < 2'000'000);
        std::string text = "content " + std::to_string(i);
        const std::string hex = blob::sha256::of(text).hex();
        if (first.empty()) {
            first = text;
            first_hex = hex;
            continue;
        }
        if (same_folder.empty() && hex.compare(0, 4, first_hex, 0, 4) == 0) same_folder = text;
        if (same_parent.empty() && hex.compare(0, 2, first_hex, 0, 2) == 0 && hex.compare(2, 2, first_hex, 2, 2) != 0)
            same_parent = text;
    }
    store_string(st, first, 4096);
    CHECK(st.folder_fsyncs() == 3);
    store_string(st, same_folder, 4096);
    CHECK(st.folder_fsyncs() == 4);
    store_string(st, same_parent, 4096);
    CHECK(st.folder_fsyncs() == 6);
    // Stored the same content again (dedup): the folders are known, nothing is renamed.
    store_string(st, first, 4096);
    CHECK(st.folder_fsyncs() == 6);
    for (const auto& text : {first, same_folder, same_parent}) {
        auto r = st.open(blob::sha256::of(text));
        REQUIRE(r);
        CHECK(read_all(*r, 4096) == text);
    }
    // Another store object on the same folder (another process) knows nothing yet.
    blob::fs_store other(dir.path / "blobs", temps);
    store_string(other, same_folder + "!", 4096);
    CHECK(other.folder_fsyncs() == 3);
}
