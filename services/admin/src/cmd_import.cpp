// cmd_import.cpp - polderctl user import FILE.csv: bulk provisioning from an HR
// export, all or nothing.
//
// Steps: read and check every line (syntax, address, name, password policy,
// quota, duplicates within the file); check every line against the database
// (domain known and in --org, address free); report EVERY bad line with its
// line number and stop if there is one; generate missing passwords and hash all
// of them on all CPUs; create the passwords file (if asked); insert every
// account in ONE transaction, each with its audit event. If anything fails,
// nothing is imported and the passwords file is removed again.
//
// SECURITY: the CSV file is untrusted input: bounded (64 MiB, 100,000 accounts,
// 4 KiB per field) and parsed by a pure reader. Passwords from the file must
// pass the policy and are never echoed in messages. The passwords file is
// created with O_EXCL|O_NOFOLLOW and mode 0600 (never overwrites, never follows
// a planted symlink) and fsynced before the transaction commits.
// STANDARDS: RFC 4180 (CSV).
#include "commands.hpp"
#include "output.hpp"

#include "polder/auth/audit.hpp"
#include "polder/auth/csv.hpp"
#include "polder/auth/names.hpp"
#include "polder/auth/password.hpp"
#include "polder/auth/size.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace polder::admin {
namespace {

constexpr std::uintmax_t max_file_bytes = 64ull << 20;
constexpr std::size_t max_accounts = 100'000;

struct import_row {
    std::size_t line = 0;
    auth::address addr;
    std::string display_name;
    std::optional<std::string> password;   // from the file; otherwise generated
    std::optional<std::int64_t> quota;
    bool generated = false;
    std::string hash;
};

struct columns {
    int address = -1, display_name = -1, password = -1, quota = -1;
    std::size_t count = 0;
};

std::vector<auth::csv_reader::record> read_csv(const std::string& file) {
    std::error_code ec;
    auto size = std::filesystem::file_size(file, ec);
    if (ec) refuse("cannot read " + file + ": " + ec.message());
    if (size > max_file_bytes) refuse(file + " is larger than 64 MiB");
    std::ifstream in(file, std::ios::binary);
    if (!in) refuse("cannot read " + file + ": " + std::strerror(errno));
    auth::csv_reader::limits limits;
    limits.max_records = max_accounts + 1;
    limits.max_fields = 16;
    auth::csv_reader reader(limits);
    std::vector<auth::csv_reader::record> records;
    std::string chunk(64 * 1024, '\0');
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) break;
        if (!reader.feed(std::string_view(chunk.data(), n), records)) refuse(file + " " + reader.fatal_error());
    }
    if (in.bad()) refuse("cannot read " + file + ": " + std::strerror(errno));
    if (!reader.finish(records)) refuse(file + " " + reader.fatal_error());
    return records;
}

columns read_header(const auth::csv_reader::record& header, const std::string& file) {
    columns c;
    c.count = header.fields.size();
    if (!header.error.empty()) refuse(file + " line " + std::to_string(header.line) + ": " + header.error);
    for (std::size_t i = 0; i < header.fields.size(); ++i) {
        std::string name = auth::to_lower_ascii(auth::trim(header.fields[i]));
        int* slot = name == "address"        ? &c.address
                    : name == "display_name" ? &c.display_name
                    : name == "password"     ? &c.password
                    : name == "quota"        ? &c.quota
                                             : nullptr;
        if (!slot)
            refuse(file + " line " + std::to_string(header.line) + ": unknown column '" + name +
                   "' (the header names address, display_name and optionally password, quota)");
        if (*slot != -1)
            refuse(file + " line " + std::to_string(header.line) + ": column '" + name + "' appears twice");
        *slot = static_cast<int>(i);
    }
    if (c.address < 0 || c.display_name < 0)
        refuse(file + " line " + std::to_string(header.line) +
               ": the header must name the columns address and display_name (and optionally password, quota)");
    return c;
}

// check_rows - every row's own problems (no database), one message per bad line.
std::vector<import_row> check_rows(const std::vector<auth::csv_reader::record>& records, const columns& c,
                                   const config::auth_settings& settings, std::vector<std::string>& errors) {
    std::vector<import_row> rows;
    std::map<std::string, std::size_t> seen;
    for (std::size_t r = 1; r < records.size(); ++r) {
        const auto& rec = records[r];
        const std::string at = "line " + std::to_string(rec.line) + ": ";
        if (!rec.error.empty()) {
            errors.push_back(at + rec.error);
            continue;
        }
        if (rec.fields.size() != c.count) {
            errors.push_back(at + "expected " + std::to_string(c.count) + " fields, found " +
                             std::to_string(rec.fields.size()));
            continue;
        }
        import_row row;
        row.line = rec.line;
        const std::string& address_text = rec.fields[static_cast<std::size_t>(c.address)];
        auto addr = auth::parse_address(auth::trim(address_text));
        if (!addr) {
            errors.push_back(at + "malformed address '" + failure::one_line(address_text) + "': " + addr.reason());
            continue;
        }
        row.addr = std::move(addr).value();
        auto name = auth::check_display_name(rec.fields[static_cast<std::size_t>(c.display_name)]);
        if (!name) {
            errors.push_back(at + "bad display name: " + name.reason());
            continue;
        }
        row.display_name = std::move(name).value();
        if (c.password >= 0 && !rec.fields[static_cast<std::size_t>(c.password)].empty()) {
            const std::string& pw = rec.fields[static_cast<std::size_t>(c.password)];
            if (auto why = auth::check_password_policy(pw, settings)) {
                errors.push_back(at + *why);
                continue;
            }
            row.password = pw;
        }
        if (c.quota >= 0 && !auth::trim(rec.fields[static_cast<std::size_t>(c.quota)]).empty()) {
            auto q = auth::parse_quota(rec.fields[static_cast<std::size_t>(c.quota)]);
            if (!q) {
                errors.push_back(at + "bad quota: " + q.reason());
                continue;
            }
            if (q->has_value()) row.quota = static_cast<std::int64_t>(**q);
        }
        auto [it, fresh] = seen.emplace(row.addr.str(), rec.line);
        if (!fresh) {
            errors.push_back(at + "address " + row.addr.str() + " also appears on line " + std::to_string(it->second));
            continue;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

// check_against_directory - domain known (and in org), address free.
void check_against_directory(pqxx::work& tx, const std::vector<import_row>& rows,
                             const std::optional<auth::org_info>& org, std::vector<std::string>& errors) {
    std::map<std::string, std::optional<auth::domain_info>> domains;
    for (const auto& row : rows) {
        const std::string at = "line " + std::to_string(row.line) + ": ";
        auto it = domains.find(row.addr.domain);
        if (it == domains.end()) {
            auto d = auth::find_domain(tx, row.addr.domain);
            it = domains.emplace(row.addr.domain, d ? std::optional<auth::domain_info>(*d) : std::nullopt).first;
        }
        if (!it->second || (org && it->second->org_id != org->id)) {
            errors.push_back(at + "unknown domain '" + row.addr.domain + "'" +
                             (org ? " in organisation '" + org->name + "'" : std::string()));
            continue;
        }
        if (auto owner = auth::find_address(tx, row.addr.str())) {
            errors.push_back(at + (owner->kind == "account"
                                       ? "user '" + row.addr.str() + "' already exists"
                                       : "address '" + row.addr.str() + "' is already in use by " +
                                             describe_owner(owner->kind)));
        }
    }
}

// hash_all - generate missing passwords and hash every row, on every CPU
// (Argon2id is the whole cost of an import).
void hash_all(std::vector<import_row>& rows, const config::auth_settings& settings) {
    for (auto& row : rows) {
        if (!row.password) {
            row.password = auth::generate_password();
            row.generated = true;
        }
    }
    const unsigned threads = static_cast<unsigned>(
        std::min<std::size_t>(rows.size(), std::max(1u, std::thread::hardware_concurrency())));
    std::atomic<std::size_t> next{0};
    std::mutex error_mutex;
    std::exception_ptr error;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (std::size_t i = next++; i < rows.size(); i = next++) {
                try {
                    rows[i].hash = auth::hash_password(*rows[i].password, settings);
                } catch (...) {
                    std::lock_guard lock(error_mutex);
                    if (!error) error = std::current_exception();
                    next = rows.size();
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
}

// secret_file - the passwords file: exclusive creation, 0600, removed again
// unless keep() is called.
class secret_file {
public:
    explicit secret_file(std::string path) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd_ < 0)
            refuse("cannot create " + path_ + ": " + std::strerror(errno) +
                   (errno == EEXIST ? " (refusing to overwrite it)" : ""));
    }
    ~secret_file() {
        if (fd_ >= 0) ::close(fd_);
        if (!kept_) ::unlink(path_.c_str());
    }
    secret_file(const secret_file&) = delete;
    secret_file& operator=(const secret_file&) = delete;

    void write_all(const std::string& data) {
        std::size_t done = 0;
        while (done < data.size()) {
            ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) refuse("cannot write " + path_ + ": " + std::strerror(errno));
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd_) != 0) refuse("cannot write " + path_ + ": " + std::strerror(errno));
    }
    void keep() { kept_ = true; }

private:
    std::string path_;
    int fd_ = -1;
    bool kept_ = false;
};

std::string passwords_csv(const std::vector<import_row>& rows) {
    std::string out = "address,password\n";
    for (const auto& row : rows)
        if (row.generated) out += row.addr.str() + "," + *row.password + "\n";   // neither needs quoting
    return out;
}

}  // namespace

void add_import_command(CLI::App* user, action& chosen) {
    struct args_t {
        std::string file, org, passwords_out;
    };
    auto args = std::make_shared<args_t>();
    auto* sub = user->add_subcommand(
        "import",
        "Create users from a CSV file in one transaction: header address,display_name[,password][,quota]. "
        "Every bad line is reported; if there is one, nothing is imported. Generated passwords go to "
        "--passwords-out, else to stdout as CSV (the summary then goes to stderr)");
    sub->add_option("file", args->file, "CSV file (UTF-8, RFC 4180)")->required();
    add_org_option(sub, args->org, "Refuse lines whose domain does not belong to this organisation");
    sub->add_option("--passwords-out", args->passwords_out,
                    "Write generated passwords to this new file (mode 0600; must not exist)");
    on_run(sub, chosen, [args](context& ctx) {
        const auto started = std::chrono::steady_clock::now();
        const auto& settings = ctx.settings().auth;
        auto records = read_csv(args->file);
        if (records.empty()) refuse(args->file + " is empty (it needs a header line)");
        const columns cols = read_header(records.front(), args->file);

        std::vector<std::string> errors;
        auto rows = check_rows(records, cols, settings, errors);
        ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            check_against_directory(tx, rows, org, errors);
            return 0;
        });
        if (!errors.empty()) {
            std::sort(errors.begin(), errors.end(), [](const std::string& a, const std::string& b) {
                auto num = [](const std::string& s) { return std::stoull(s.substr(5)); };   // "line N: ..."
                return num(a) < num(b);
            });
            for (const auto& e : errors) std::cerr << "polderctl: " << args->file << " " << failure::one_line(e) << '\n';
            refuse("import refused: " + std::to_string(errors.size()) + " bad line(s) in " + args->file +
                   "; nothing was imported");
        }
        if (rows.empty()) refuse(args->file + " has a header but no accounts");

        hash_all(rows, settings);
        std::size_t generated = 0;
        for (const auto& r : rows) generated += r.generated ? 1 : 0;
        std::optional<secret_file> out;
        if (!args->passwords_out.empty() && generated > 0) {
            out.emplace(args->passwords_out);
            out->write_all(passwords_csv(rows));
        }

        auto imported = ctx.transact([&](pqxx::work& tx) {
            auto org = org_filter(tx, args->org);
            std::map<std::string, auth::domain_info> domains;
            std::set<std::string> orgs;
            for (const auto& row : rows) {
                const std::string at = args->file + " line " + std::to_string(row.line) + ": ";
                auto it = domains.find(row.addr.domain);
                if (it == domains.end()) {
                    auto d = auth::find_domain(tx, row.addr.domain);
                    if (!d || (org && d->org_id != org->id)) refuse(at + "unknown domain '" + row.addr.domain + "'");
                    it = domains.emplace(row.addr.domain, *d).first;
                }
                auth::new_account n{row.addr, row.display_name, row.hash, row.quota, "user"};
                auto a = auth::add_account(tx, it->second, n, ctx.who(),
                                           {{"via", "import"}, {"file", args->file}, {"line", row.line}});
                if (!a) refuse(at + "user '" + row.addr.str() + "' was created meanwhile; nothing was imported");
                orgs.insert(it->second.org);
            }
            auth::audit(tx, "admin.user.import", org ? std::optional<std::int64_t>(org->id) : std::nullopt,
                        std::nullopt, ctx.who().actor, "",
                        {{"file", args->file}, {"accounts", rows.size()}, {"generated_passwords", generated}});
            return orgs;
        });
        if (out) out->keep();

        const auto seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::string org_list;
        for (const auto& o : imported) org_list += (org_list.empty() ? "" : ", ") + o;
        char took[32];
        std::snprintf(took, sizeof took, "%.1f", seconds);
        std::string summary =
            "imported " + std::to_string(rows.size()) + " user(s) into " + org_list + " in " + took + " s";
        if (generated == 0) {
            std::cout << summary << '\n';
        } else if (out) {
            std::cout << summary << "; " << generated << " generated password(s) written to " << args->passwords_out
                      << '\n';
        } else {
            std::cout << passwords_csv(rows) << std::flush;
            std::cerr << summary << "; the " << generated
                      << " generated password(s) above are shown only this once\n";
        }
    });
}

}  // namespace polder::admin
