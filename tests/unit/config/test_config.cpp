// test_config.cpp - unit tests of polder::config: defaults, the example file, environment
// overrides, every kind of error with its exact message, sizes and relative paths.
//
// SECURITY: checks that the database password never appears in redacted().
//
// STANDARDS: TOML v1.0.0 inputs; RFC-derived bounds (RFC 5321, RFC 9051, RFC 7162).
#include "polder/config/config.hpp"
#include "polder/config/parameters.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace cfg = polder::config;
namespace fs = std::filesystem;

namespace {

const fs::path base = "/srv/polder";

cfg::settings load_ok(std::string_view toml, const std::map<std::string, std::string>& env = {}) {
    auto r = cfg::load_string(toml, base, env);
    if (auto* e = std::get_if<cfg::load_error>(&r)) FAIL("unexpected errors:\n" << e->message());
    return std::get<cfg::settings>(std::move(r));
}

std::vector<std::string> problems_of(std::string_view toml, const std::map<std::string, std::string>& env = {}) {
    auto r = cfg::load_string(toml, base, env);
    if (std::holds_alternative<cfg::settings>(r)) FAIL("expected errors, got none for:\n" << toml);
    return std::get<cfg::load_error>(r).problems;
}

// one_problem - the single problem a document causes.
std::string one_problem(std::string_view toml, const std::map<std::string, std::string>& env = {}) {
    auto p = problems_of(toml, env);
    INFO(cfg::load_error{p}.message());
    REQUIRE(p.size() == 1);
    return p.front();
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

const fs::path example = fs::path(POLDER_SOURCE_DIR) / "config" / "polder.example.toml";

// temp_dir - a fresh folder removed at scope exit.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "polder-config-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

TEST_CASE("default settings carry the contract's values") {
    cfg::settings s;
    CHECK(s.database.host == "127.0.0.1");
    CHECK(s.database.port == 5432);
    CHECK(s.database.pool_size == 8);
    CHECK(s.auth.argon2_memory_kib == 19456);
    CHECK(s.smtp.common.admin_port == 9025);
    CHECK(s.smtp.common.max_connections == 10000);
    CHECK(s.smtp.common.shutdown_grace_seconds == 10);
    CHECK(s.smtp.mx.port == 2525);
    CHECK(s.smtp.submissions.port == 2465);
    CHECK(s.smtp.max_message_size == 50 * cfg::MiB);
    CHECK(s.imap.common.admin_port == 9143);
    CHECK(s.imap.imaps.port == 1993);
    CHECK(s.imap.idle_timeout_authenticated_seconds == 1800);
    CHECK(s.caldav.common.admin_port == 9443);
    CHECK(s.caldav.http.port == 8008);
    CHECK(s.webdav.common.admin_port == 9444);
    CHECK(s.webdav.max_file_size == 100 * cfg::GiB);
}

TEST_CASE("an empty file loads as the defaults with paths resolved against its folder") {
    auto s = load_ok("");
    CHECK(s.database.port == 5432);
    CHECK(s.log.level == "info");
    CHECK(s.blob.path == "/srv/polder/var/blobs");
    CHECK(s.tls.cert_file.empty());
    CHECK(s.source_path.empty());
}

TEST_CASE("parameter table is consistent: unique keys and variables, defaults within bounds") {
    std::set<std::string> keys, envs;
    for (const auto& p : cfg::parameters()) {
        INFO(p.key);
        CHECK(keys.insert(p.key).second);
        CHECK(envs.insert(p.env_name()).second);
        CHECK_FALSE(p.doc.empty());
        CHECK(cfg::find_parameter(p.key) == &p);
        cfg::settings d;
        switch (p.type) {
            case cfg::kind::boolean:
                CHECK(std::holds_alternative<cfg::bool_ref>(p.ref));
                break;
            case cfg::kind::string:
            case cfg::kind::path: {
                REQUIRE(std::holds_alternative<cfg::string_ref>(p.ref));
                auto v = std::get<cfg::string_ref>(p.ref)(d);
                CHECK(v.size() >= p.min);
                CHECK(v.size() <= p.max);
                break;
            }
            case cfg::kind::address:
            case cfg::kind::choice:
                CHECK(std::holds_alternative<cfg::string_ref>(p.ref));
                break;
            case cfg::kind::integer:
            case cfg::kind::size: {
                CHECK(p.min <= p.max);
                std::uint64_t v = 0;
                std::uint64_t type_max = 0;
                std::visit(
                    [&](auto ref) {
                        using M = std::decay_t<decltype(ref(d))>;
                        if constexpr (std::is_integral_v<M> && !std::is_same_v<M, bool>) {
                            v = ref(d);
                            type_max = std::numeric_limits<M>::max();
                        }
                    },
                    p.ref);
                CHECK(type_max != 0);
                CHECK(p.max <= type_max);
                CHECK(v >= p.min);
                CHECK(v <= p.max);
                if (p.type == cfg::kind::size) CHECK(std::holds_alternative<cfg::u64_ref>(p.ref));
                break;
            }
        }
    }
    CHECK(cfg::find_parameter("database.prot") == nullptr);
    CHECK(cfg::find_parameter("smtp.mx.port")->env_name() == "POLDER_SMTP_MX_PORT");
}

TEST_CASE("the example file loads without errors and equals the defaults") {
    auto r = cfg::load(example);
    if (auto* e = std::get_if<cfg::load_error>(&r)) FAIL(e->message());
    const auto& s = std::get<cfg::settings>(r);
    CHECK(s.source_path == example.lexically_normal().string());
    CHECK(s.blob.path == (example.parent_path() / "var/blobs").lexically_normal().string());
    cfg::settings d;
    d.blob.path = s.blob.path;   // the only difference: the resolved path
    for (const auto& p : cfg::parameters()) {
        INFO(p.key);
        CHECK(cfg::value_text(p, s, true) == cfg::value_text(p, d, true));
    }
}

TEST_CASE("the example file documents every declared key") {
    const std::string text = read_file(example);
    auto r = cfg::present_keys(text);
    if (auto* e = std::get_if<cfg::load_error>(&r)) FAIL(e->message());
    const auto& present = std::get<std::vector<std::string>>(r);
    std::set<std::string> have(present.begin(), present.end());
    for (const auto& p : cfg::parameters()) {
        INFO("missing from polder.example.toml: " << p.key);
        CHECK(have.count(p.key) == 1);
    }
    // Every key carries a comment above it or in its section (the reason for its default).
    CHECK(text.find("RFC 5321 section 4.5.3.1.6") != std::string::npos);
    CHECK(text.find("RFC 9051 section 5.4") != std::string::npos);
}

TEST_CASE("present_keys only lists keys that are set") {
    auto r = cfg::present_keys("[database]\nport = 1\n[smtp.mx]\naddress = \"::\"\n");
    REQUIRE(std::holds_alternative<std::vector<std::string>>(r));
    CHECK(std::get<std::vector<std::string>>(r) == std::vector<std::string>{"database.port", "smtp.mx.address"});
    CHECK(std::holds_alternative<cfg::load_error>(cfg::present_keys("[database\n")));
}

TEST_CASE("file values replace defaults, for every kind of value") {
    auto s = load_ok(R"(
[database]
host = "db.internal"
port = 6432
password = "s3cret"
[log]
level = "debug"
format = "json"
[auth]
allow_plaintext_on_loopback = true
[smtp]
max_message_size = "20M"
[smtp.mx]
address = "::"
port = 25
[webdav]
max_file_size = 1073741824
)");
    CHECK(s.database.host == "db.internal");
    CHECK(s.database.port == 6432);
    CHECK(s.database.password == "s3cret");
    CHECK(s.log.level == "debug");
    CHECK(s.log.format == "json");
    CHECK(s.auth.allow_plaintext_on_loopback);
    CHECK(s.smtp.max_message_size == 20 * cfg::MiB);
    CHECK(s.smtp.mx.address == "::");
    CHECK(s.smtp.mx.port == 25);
    CHECK(s.webdav.max_file_size == cfg::GiB);
}

TEST_CASE("environment variables override the file, including nested listener keys") {
    auto s = load_ok("[database]\nport = 6000\n[log]\nlevel = \"warn\"\n",
                     {{"POLDER_DATABASE_PORT", "5433"},
                      {"POLDER_SMTP_MX_PORT", "25"},
                      {"POLDER_SMTP_MX_ADDRESS", "0.0.0.0"},
                      {"POLDER_LOG_LEVEL", "debug"},
                      {"POLDER_DATABASE_PASSWORD", "from-env"},
                      {"POLDER_AUTH_ALLOW_PLAINTEXT_ON_LOOPBACK", "yes"},
                      {"POLDER_IMAP_MAX_LITERAL_SIZE", "10M"},
                      {"POLDER_BLOB_PATH", "data/blobs"},
                      {"POLDER_UNRELATED", "ignored"},
                      {"POLDER_SMTP_PORT", "2525"}});   // a scripts/dev variable, not a key
    CHECK(s.database.port == 5433);
    CHECK(s.smtp.mx.port == 25);
    CHECK(s.smtp.mx.address == "0.0.0.0");
    CHECK(s.log.level == "debug");
    CHECK(s.database.password == "from-env");
    CHECK(s.auth.allow_plaintext_on_loopback);
    CHECK(s.imap.max_literal_size == 10 * cfg::MiB);
    CHECK(s.blob.path == "/srv/polder/data/blobs");
}

TEST_CASE("load reads overrides from the process environment") {
    temp_dir dir;
    const fs::path file = dir.path / "polder.toml";
    std::ofstream(file) << "[database]\nport = 6000\n";
    REQUIRE(::setenv("POLDER_DATABASE_NAME", "from_process_env", 1) == 0);
    auto r = cfg::load(file);
    ::unsetenv("POLDER_DATABASE_NAME");
    REQUIRE(std::holds_alternative<cfg::settings>(r));
    CHECK(std::get<cfg::settings>(r).database.name == "from_process_env");
    CHECK(std::get<cfg::settings>(r).database.port == 6000);
}

TEST_CASE("a value out of range names the key, the bounds and the value") {
    CHECK(one_problem("[database]\nport = 70000\n") == "database.port: must be between 1 and 65535, got 70000");
    CHECK(one_problem("[database]\nport = -1\n") == "database.port: must be between 1 and 65535, got -1");
    CHECK(one_problem("[database]\nport = 0\n") == "database.port: must be between 1 and 65535, got 0");
    CHECK(one_problem("[imap]\nidle_timeout_authenticated_seconds = 600\n") ==
          "imap.idle_timeout_authenticated_seconds: must be between 1800 and 86400, got 600");
    CHECK(one_problem("[smtp]\nmax_recipients = 10\n") == "smtp.max_recipients: must be between 100 and 100000, got 10");
    CHECK(one_problem("[smtp]\nmax_message_size = \"1K\"\n") ==
          "smtp.max_message_size: must be between 64K and 4G, got 1K");
    CHECK(one_problem("[smtp]\nmax_message_size = \"8G\"\n") ==
          "smtp.max_message_size: must be between 64K and 4G, got 8G");
}

TEST_CASE("a value of the wrong type names the key, the wanted type and what was found") {
    CHECK(one_problem("[database]\nport = \"5432\"\n") == R"(database.port: must be an integer, got a string ("5432"))");
    CHECK(one_problem("[database]\nport = 1.5\n") == "database.port: must be an integer, got a floating-point number (1.5)");
    CHECK(one_problem("[database]\nhost = 5\n") == "database.host: must be a string, got an integer (5)");
    CHECK(one_problem("[auth]\nallow_plaintext_on_loopback = \"yes\"\n") ==
          R"(auth.allow_plaintext_on_loopback: must be a boolean (true or false), got a string ("yes"))");
    CHECK(one_problem("[database]\nport = [1, 2]\n") == "database.port: must be an integer, got an array");
    CHECK(one_problem("[smtp]\nmax_message_size = true\n") ==
          R"(smtp.max_message_size: must be a size (an integer or a string such as "50M"), got a boolean (true))");
    CHECK(one_problem("smtp = 5\n") == "smtp: must be a table, got an integer");
    CHECK(one_problem("[smtp]\nmx = \"127.0.0.1:25\"\n") == "smtp.mx: must be a table, got a string");
}

TEST_CASE("bad strings, choices and addresses are refused with the value shown") {
    CHECK(one_problem("[database]\nhost = \"\"\n") == "database.host: must not be empty");
    CHECK(one_problem("[log]\nlevel = \"verbose\"\n") ==
          R"(log.level: must be one of debug, info, warn, error, got "verbose")");
    CHECK(one_problem("[smtp.mx]\naddress = \"localhost\"\n") ==
          R"(smtp.mx.address: must be an IPv4 or IPv6 address, got "localhost")");
    CHECK(one_problem("[database]\nname = \"" + std::string(64, 'n') + "\"\n") ==
          "database.name: must be at most 63 characters long, got 64");
    CHECK(one_problem("[database]\nuser = \"a\\u0000b\"\n") == "database.user: must not contain a NUL character");
    CHECK(one_problem("[smtp]\nhostname = \"mail_server\"\n") ==
          R"(smtp.hostname: must be a host name (letters, digits, hyphens, dots), got "mail_server")");
    CHECK(one_problem("[smtp]\nhostname = \"-bad.example\"\n").rfind("smtp.hostname: must be a host name", 0) == 0);
    CHECK(one_problem("[clients]\nimap_host = \"mail.gemeente.example/x\"\n") ==
          R"(clients.imap_host: must be a host name (letters, digits, hyphens, dots), got "mail.gemeente.example/x")");
    CHECK(one_problem("[clients]\ndav_host = \"dav.gemeente.example\"\n") ==
          "clients.imap_host: must be set when clients.submission_host or clients.dav_host is");
    CHECK(one_problem("[clients]\nimap_host = \"m.example\"\nimap_security = \"ssl\"\n") ==
          R"(clients.imap_security: must be one of tls, starttls, got "ssl")");
    CHECK(one_problem("[clients]\nprovider_name = \"Gemeente\\u0007\"\n") ==
          "clients.provider_name: must not contain control characters");
    // Control characters in an echoed value are escaped: a message stays one line.
    CHECK(one_problem("[log]\nformat = \"x\\ny\"\n") == R"(log.format: must be one of text, json, got "x\ny")");
}

TEST_CASE("unknown keys are errors with a suggestion for near misses") {
    CHECK(one_problem("[database]\nprot = 5432\n") == "database.prot: unknown key (did you mean database.port?)");
    CHECK(one_problem("[databse]\nport = 5432\n") == "databse: unknown key (did you mean database?)");
    CHECK(one_problem("[smtp.mx]\nadress = \"::\"\n") == "smtp.mx.adress: unknown key (did you mean smtp.mx.address?)");
    CHECK(one_problem("totally_unrelated = 1\n") == "totally_unrelated: unknown key");
    // One quoted key containing a dot is not the path database.port.
    CHECK(one_problem("\"database.port\" = 5\n") == R"("database.port": unknown key (did you mean database.port?))");
}

TEST_CASE("relations between keys are checked") {
    CHECK(one_problem("[tls]\ncert_file = \"a.pem\"\n") == "tls.key_file: must be set when tls.cert_file is set");
    CHECK(one_problem("[tls]\nkey_file = \"a.key\"\n") == "tls.cert_file: must be set when tls.key_file is set");
    CHECK(one_problem("[auth]\nargon2_parallelism = 4\nargon2_memory_kib = 16\n") ==
          "auth.argon2_memory_kib: must be at least 8 per lane (32 for auth.argon2_parallelism = 4), got 16");
    CHECK(one_problem("[smtp.submission]\nport = 2525\n") == "smtp.submission.port: port 2525 is also used by smtp.mx.port");
    CHECK(one_problem("[imap.imap]\naddress = \"0.0.0.0\"\nport = 2525\n") ==
          "imap.imap.port: port 2525 is also used by smtp.mx.port");
    // Different addresses or a disabled listener do not clash.
    load_ok("[smtp.submission]\naddress = \"127.0.0.2\"\nport = 2525\n");
    load_ok("[smtp.mx]\nport = 0\n[smtp.submission]\nport = 2525\n");
    load_ok("[smtp]\nadmin_port = 0\n[imap]\nadmin_port = 0\n");
}

TEST_CASE("every problem is listed together, one line each") {
    auto p = problems_of(R"(
[database]
port = 70000
prot = 1
[log]
level = "loud"
[auth]
min_password_length = "long"
)",
                         {{"POLDER_SMTP_THREADS", "many"}});
    REQUIRE(p.size() == 5);
    CHECK(p[0] == "database.port: must be between 1 and 65535, got 70000");
    CHECK(p[1] == R"(log.level: must be one of debug, info, warn, error, got "loud")");
    CHECK(p[2] == R"(auth.min_password_length: must be an integer, got a string ("long"))");
    CHECK(p[3] == "database.prot: unknown key (did you mean database.port?)");
    CHECK(p[4] == R"(smtp.threads: must be an integer, got a string ("many") (from POLDER_SMTP_THREADS))");
    const std::string m = cfg::load_error{p}.message();
    CHECK(std::count(m.begin(), m.end(), '\n') == 4);
}

TEST_CASE("environment problems name the variable") {
    CHECK(one_problem("", {{"POLDER_DATABASE_PORT", "70000"}}) ==
          "database.port: must be between 1 and 65535, got 70000 (from POLDER_DATABASE_PORT)");
    CHECK(one_problem("", {{"POLDER_DATABASE_PORT", "99999999999999999999999"}}) ==
          "database.port: must be between 1 and 65535, got 99999999999999999999999 (from POLDER_DATABASE_PORT)");
    CHECK(one_problem("", {{"POLDER_AUTH_ALLOW_PLAINTEXT_ON_LOOPBACK", "maybe"}}) ==
          R"(auth.allow_plaintext_on_loopback: must be a boolean (true or false), got a string ("maybe") (from POLDER_AUTH_ALLOW_PLAINTEXT_ON_LOOPBACK))");
    CHECK(one_problem("", {{"POLDER_SMTP_MAX_MESSAGE_SIZE", "lots"}}) ==
          R"(smtp.max_message_size: must be a size such as 50M, 10G or a number of bytes, got "lots" (from POLDER_SMTP_MAX_MESSAGE_SIZE))");
}

TEST_CASE("an unreadable file is reported with its path and the OS reason") {
    temp_dir dir;
    const fs::path missing = dir.path / "nope.toml";
    auto r = cfg::load(missing);
    REQUIRE(std::holds_alternative<cfg::load_error>(r));
    CHECK(std::get<cfg::load_error>(r).message() == missing.string() + ": cannot read: No such file or directory");

    auto d = cfg::load(dir.path);
    REQUIRE(std::holds_alternative<cfg::load_error>(d));
    CHECK(std::get<cfg::load_error>(d).message() == dir.path.string() + ": cannot read: Is a directory");

    const fs::path fifo = dir.path / "fifo.toml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto f = cfg::load(fifo);   // must not block waiting for a writer
    REQUIRE(std::holds_alternative<cfg::load_error>(f));
    CHECK(std::get<cfg::load_error>(f).message() == fifo.string() + ": cannot read: not a regular file");

    if (::geteuid() != 0) {   // root reads anything; the permission case needs a normal user
        const fs::path locked = dir.path / "locked.toml";
        std::ofstream(locked) << "";
        fs::permissions(locked, fs::perms::none);
        auto l = cfg::load(locked);
        REQUIRE(std::holds_alternative<cfg::load_error>(l));
        CHECK(std::get<cfg::load_error>(l).message() == locked.string() + ": cannot read: Permission denied");
    }
}

TEST_CASE("a file larger than 1 MiB is refused") {
    temp_dir dir;
    const fs::path file = dir.path / "big.toml";
    {
        std::ofstream out(file);
        std::string comment = "# " + std::string(1022, 'x') + "\n";
        for (int i = 0; i < 1100; ++i) out << comment;
    }
    auto r = cfg::load(file);
    REQUIRE(std::holds_alternative<cfg::load_error>(r));
    CHECK(std::get<cfg::load_error>(r).message() == file.string() + ": larger than 1 MiB; not a Polder config file?");
}

TEST_CASE("a TOML syntax error is reported with file, line and column") {
    temp_dir dir;
    const fs::path file = dir.path / "polder.toml";
    std::ofstream(file) << "[database]\nport = 5432\nhost = = \"x\"\n";
    auto r = cfg::load(file);
    REQUIRE(std::holds_alternative<cfg::load_error>(r));
    const auto& p = std::get<cfg::load_error>(r).problems;
    REQUIRE(p.size() == 1);
    INFO(p[0]);
    CHECK(p[0].rfind(file.string() + ":3:8: TOML syntax error: ", 0) == 0);

    auto s = problems_of("[database\n");
    REQUIRE(s.size() == 1);
    CHECK(s[0].rfind("config:1:", 0) == 0);
    CHECK(s[0].find("TOML syntax error") != std::string::npos);
}

TEST_CASE("sizes accept integers and strings with binary units") {
    struct row { std::string_view text; std::uint64_t bytes; };
    const row good[] = {
        {"0", 0},          {"100", 100},          {"100B", 100},           {"512K", 512 * cfg::KiB},
        {"512k", 512 * cfg::KiB}, {"50M", 50 * cfg::MiB}, {"50MiB", 50 * cfg::MiB}, {"50 MB", 50 * cfg::MiB},
        {"10G", 10 * cfg::GiB}, {"10GiB", 10 * cfg::GiB}, {"1T", cfg::TiB}, {"16777215T", 16777215 * cfg::TiB},
        {"18446744073709551615", UINT64_MAX},
    };
    for (const auto& g : good) {
        INFO(g.text);
        std::uint64_t v = 1234;
        CHECK(cfg::parse_size(g.text, v));
        CHECK(v == g.bytes);
    }
    const std::string_view bad[] = {"", "M", "50X", "-5", "5.5M", "50Mi", "50 ", " 50", "50  M", "50MM",
                                    "18446744073709551616", "16777216T", "50M ", "0x10"};
    for (auto b : bad) {
        INFO(b);
        std::uint64_t v = 1234;
        CHECK_FALSE(cfg::parse_size(b, v));
        CHECK(v == 1234);
    }
    CHECK(cfg::format_size(50 * cfg::MiB) == "50M");
    CHECK(cfg::format_size(1536) == "1536");
    CHECK(cfg::format_size(1536 * 1024) == "1536K");
    CHECK(cfg::format_size(1000) == "1000");
    CHECK(cfg::format_size(0) == "0");
    for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, 1536 * cfg::KiB, 3 * cfg::TiB, std::uint64_t{UINT64_MAX}}) {
        std::uint64_t back = 0;
        CHECK(cfg::parse_size(cfg::format_size(v), back));
        CHECK(back == v);
    }
    CHECK(load_ok("[caldav]\nmax_request_body = \"2M\"\n").caldav.max_request_body == 2 * cfg::MiB);
    CHECK(load_ok("[caldav]\nmax_request_body = 4096\n").caldav.max_request_body == 4096);
    CHECK(one_problem("[caldav]\nmax_request_body = \"2X\"\n") ==
          R"(caldav.max_request_body: must be a size such as 50M, 10G or a number of bytes, got "2X")");
}

TEST_CASE("relative paths resolve against the config file's folder, not the working directory") {
    auto s = load_ok(R"(
[tls]
cert_file = "tls/cert.pem"
key_file = "/etc/ssl/private/polder.key"
[blob]
path = "../shared/blobs"
)");
    CHECK(s.tls.cert_file == "/srv/polder/tls/cert.pem");
    CHECK(s.tls.key_file == "/etc/ssl/private/polder.key");
    CHECK(s.blob.path == "/srv/shared/blobs");

    temp_dir dir;
    fs::create_directories(dir.path / "etc");
    const fs::path file = dir.path / "etc" / "polder.toml";
    std::ofstream(file) << "[blob]\npath = \"blobs\"\n";
    const fs::path old = fs::current_path();
    fs::current_path("/");
    auto r = cfg::load(file);
    fs::current_path(old);
    REQUIRE(std::holds_alternative<cfg::settings>(r));
    CHECK(std::get<cfg::settings>(r).blob.path == (dir.path / "etc" / "blobs").string());
    CHECK(std::get<cfg::settings>(r).source_path == file.string());
}

TEST_CASE("redacted output lists every key and hides the password") {
    auto s = load_ok("[database]\npassword = \"hunter2\"\n");
    const std::string out = cfg::redacted(s);
    CHECK(out.find("hunter2") == std::string::npos);
    CHECK(out.find("database.password = \"<redacted>\"\n") != std::string::npos);
    CHECK(out.find("database.port = 5432\n") != std::string::npos);
    CHECK(out.find("smtp.max_message_size = \"50M\"\n") != std::string::npos);
    for (const auto& p : cfg::parameters()) CHECK(out.find(p.key + " = ") != std::string::npos);
    CHECK(cfg::default_text(*cfg::find_parameter("database.password")) == "\"<redacted>\"");
}

TEST_CASE("every value written by value_text loads back unchanged") {
    auto s = load_ok(R"(
[database]
password = "p\"a\\ss\tword"
host = "/var/run/postgresql"
[smtp]
max_message_size = 12345678
hostname = "mx1.example.nl"
[imap.imaps]
address = "::1"
port = 993
[auth]
allow_plaintext_on_loopback = true
)");
    std::string dump;
    for (const auto& p : cfg::parameters()) dump += p.key + " = " + cfg::value_text(p, s, true) + "\n";
    auto again = load_ok(dump);
    for (const auto& p : cfg::parameters()) {
        INFO(p.key);
        CHECK(cfg::value_text(p, again, true) == cfg::value_text(p, s, true));
    }
    CHECK(again.database.password == "p\"a\\ss\tword");
}

TEST_CASE("default_path honours POLDER_CONFIG") {
    const char* saved = std::getenv("POLDER_CONFIG");
    std::string keep = saved ? saved : "";
    ::setenv("POLDER_CONFIG", "/tmp/x/polder.toml", 1);
    CHECK(cfg::default_path() == "/tmp/x/polder.toml");
    ::setenv("POLDER_CONFIG", "", 1);
    CHECK(cfg::default_path() == "/etc/polder/polder.toml");
    ::unsetenv("POLDER_CONFIG");
    CHECK(cfg::default_path() == "/etc/polder/polder.toml");
    if (saved) ::setenv("POLDER_CONFIG", keep.c_str(), 1);
}

TEST_CASE("smtp outbound routes and submission limits are read and checked") {
    cfg::settings d;
    CHECK(d.smtp.max_messages_per_hour == 500);
    CHECK(d.smtp.routes.empty());
    CHECK(d.smtp.queue_retry_seconds == 300);
    CHECK(d.smtp.queue_max_age_seconds == 5 * 24 * 3600);   // RFC 5321 section 4.5.4.1: 4-5 days
    auto s = load_ok("[smtp]\nroutes = \"example.org=127.0.0.1:2526, other.example=mx.other.example:25\"\n"
                     "max_messages_per_hour = 0\nqueue_retry_seconds = 1\n");
    CHECK(s.smtp.routes == "example.org=127.0.0.1:2526, other.example=mx.other.example:25");
    CHECK(s.smtp.max_messages_per_hour == 0);
    CHECK(s.smtp.queue_retry_seconds == 1);
    CHECK(one_problem("[smtp]\nroutes = \"example.org\"\n") ==
          "smtp.routes: each entry must be domain=host:port, got \"example.org\"");
    CHECK(one_problem("[smtp]\nroutes = \"example.org=host:0\"\n") ==
          "smtp.routes: each entry must be domain=host:port, got \"example.org=host:0\"");
    CHECK(one_problem("[smtp]\nroutes = \"a.example=h:25,bad domain=h:25\"\n") ==
          "smtp.routes: each entry must be domain=host:port, got \"bad domain=h:25\"");
    CHECK(one_problem("[smtp]\nqueue_max_age_seconds = 10\n") ==
          "smtp.queue_max_age_seconds: must be between 60 and 2592000, got 10");
}

TEST_CASE("the smarthost needs host:port and its credentials come as a pair") {
    auto s = load_ok("[smtp]\nsmarthost = \"relay.example.org:587\"\nsmarthost_user = \"polder\"\n"
                     "smarthost_password = \"s3cret\"\n");
    CHECK(s.smtp.smarthost == "relay.example.org:587");
    CHECK(cfg::redacted(s).find("s3cret") == std::string::npos);
    CHECK(one_problem("[smtp]\nsmarthost = \"relay.example.org\"\n") ==
          "smtp.smarthost: must be host:port, got \"relay.example.org\"");
    CHECK(one_problem("[smtp]\nsmarthost = \"relay.example.org:25\"\nsmarthost_user = \"u\"\n") ==
          "smtp.smarthost_user: smtp.smarthost_user and smtp.smarthost_password must be set together");
    CHECK(one_problem("[smtp]\nsmarthost_user = \"u\"\nsmarthost_password = \"p\"\n") ==
          "smtp.smarthost_user: needs smtp.smarthost");
}

TEST_CASE("the load balancers of the PROXY protocol are addresses or CIDR prefixes without host bits") {
    cfg::settings d;
    CHECK(d.imap.common.proxy_protocol_from.empty());
    auto s = load_ok("[imap]\nproxy_protocol_from = \"10.0.5.10, 10.0.6.0/24 2001:db8::/48\"\n"
                     "[webdav]\nproxy_protocol_from = \"::1\"\n");
    CHECK(s.imap.common.proxy_protocol_from == "10.0.5.10, 10.0.6.0/24 2001:db8::/48");
    CHECK(s.webdav.common.proxy_protocol_from == "::1");
    CHECK(one_problem("[smtp]\nproxy_protocol_from = \"10.0.0.0/8, lb.example\"\n") ==
          "smtp.proxy_protocol_from: must list IP addresses or CIDR prefixes (host bits zero) separated by commas, "
          "got \"lb.example\"");
    CHECK(one_problem("[caldav]\nproxy_protocol_from = \"10.0.0.5/8\"\n") ==
          "caldav.proxy_protocol_from: must list IP addresses or CIDR prefixes (host bits zero) separated by commas, "
          "got \"10.0.0.5/8\"");
    CHECK(one_problem("[imap]\nproxy_protocol_from = \"2001:db8::/129\"\n") ==
          "imap.proxy_protocol_from: must list IP addresses or CIDR prefixes (host bits zero) separated by commas, "
          "got \"2001:db8::/129\"");
}
