// cmd_export.cpp - polderctl export user ADDRESS --to DIR and polderctl export org NAME
// --to DIR: every byte an account (or a whole organisation) has in Polder, written in
// open formats another system reads without Polder: Maildir (and mboxrd with --mbox) for
// mail, one iCalendar file per calendar, one vCard file per address book, plain files and
// folders with their times, previous versions and trash, JSON for the account and the
// directory, users.csv in the format 'polderctl user import' reads, and a
// MANIFEST.sha256 that 'sha256sum -c' checks. Layout: docs/operations.md, "Export".
//
// Consistency: each account is read in ONE read-only REPEATABLE READ transaction, so its
// mailboxes, calendars and files are one snapshot even while users keep working; large
// tables are read in keyset-paged batches and message and file bytes are streamed from
// the blob store through a fixed buffer, so memory does not grow with the data (a small
// file whose bytes PostgreSQL keeps, at most webdav::store::inline_limit, is read whole).
//
// SECURITY: polderctl runs as the operator with the database credentials; the export
// holds private data, so it is written 0700/0600, into a folder that must be new or
// empty, only through names mapped by export_tree.hpp (no stored name can reach outside
// it). An organisation's export selects accounts, groups, team folders by that
// organisation's id only; shared-in calendars and mailboxes of other accounts are not
// exported under the sharee. A failure removes what was written (see export_tree.hpp).
// STANDARDS: Maildir, Dovecot LAYOUT=fs folders and dovecot-keywords, RFC 4155 (mboxrd),
// RFC 5545 (via polder::ical::calendar_merger), RFC 6350/2426 (vCards as stored),
// RFC 4180 (users.csv), RFC 8259 (JSON).
#include "commands.hpp"
#include "export_tree.hpp"
#include "output.hpp"

#include "polder/db/arrays.hpp"
#include "polder/blob/fs_store.hpp"
#include "store.hpp"   // polder-webdavd's files schema functions (small files' bytes)
#include "polder/ical/merge.hpp"
#include "polder/mailstore/names.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

namespace polder::admin {
namespace {

namespace fs = std::filesystem;
using exporter::output_file;
using exporter::tree;
using nlohmann::json;

constexpr std::size_t mail_batch = 500;
constexpr std::size_t node_batch = 1000;
constexpr std::int64_t object_batch_bytes = 32 << 20;
constexpr std::size_t copy_buffer = 128 * 1024;

struct kinds {
    bool mail = true, calendar = true, contacts = true, files = true;
};

struct totals {
    std::int64_t accounts = 0;
    std::int64_t mailboxes = 0, messages = 0, mail_bytes = 0, mbox_files = 0;
    std::int64_t calendars = 0, events = 0, calendar_bytes = 0, inbox_items = 0;
    std::int64_t addressbooks = 0, cards = 0, contact_bytes = 0;
    std::int64_t folders = 0, files = 0, file_bytes = 0, versions = 0, trash_entries = 0, trash_files = 0;
    std::int64_t team_folders = 0;
};

struct options {
    fs::path to;
    kinds only;
    bool mbox = false;
    bool json = false;
};

// --- reading in one snapshot ---

// in_snapshot - f(tx) in a read-only REPEATABLE READ transaction (one snapshot of
// everything it reads); database errors become failures.
template <class F>
void in_snapshot(context& ctx, F&& f) {
    ctx.require_current_schema();
    ctx.guarded([&] {
        pqxx::work tx(ctx.connection());
        tx.exec0("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        f(tx);
        tx.commit();
        return 0;
    });
}

std::vector<std::string> text_array(const pqxx::field& f) {
    auto v = db::parse_text_array(f.c_str());
    if (!v) throw std::runtime_error("malformed text array from the database");
    return std::move(*v);
}

void progress(const std::string& line) { std::cerr << "polderctl: export: " << line << '\n'; }

// --- the exporter of one account or team folder ---

class exporter_run {
public:
    exporter_run(context& ctx, tree& t, const options& opt, totals& sum)
        : ctx_(ctx), tree_(t), opt_(opt), sum_(sum), blobs_(ctx.settings().blob.path) {}

    std::string seg(std::string_view name, const std::string& where) {
        bool shortened = false;
        std::string s = exporter::safe_segment(name, &shortened);
        if (shortened) tree_.long_name(where.empty() ? s : where + "/" + s, std::string(name));
        return s;
    }
    std::string mail_seg(std::string_view name, const std::string& where) {
        bool shortened = false;
        std::string s = exporter::mail_segment(name, &shortened);
        if (shortened) tree_.long_name(where + "/" + s, std::string(name));
        return s;
    }

    // copy_blob - stream one blob into the open file(s); returns the bytes copied.
    std::uint64_t copy_blob(const std::string& hex, output_file& out, output_file* mbox = nullptr,
                            exporter::mboxrd_quoter* quoter = nullptr) {
        auto id = blob::blob_id::from_hex(hex);
        if (!id) refuse("malformed blob id '" + hex + "' in the database");
        auto r = blobs_.open(*id);
        if (!r) refuse("cannot read blob " + hex + " from the blob store " + blobs_.root().string() + ": " + r.error().message());
        std::vector<std::byte> buf(copy_buffer);
        std::uint64_t total = 0;
        for (;;) {
            auto n = r->read(buf);
            if (!n) refuse("cannot read blob " + hex + ": " + n.error().message());
            if (*n == 0) break;
            copy_piece(std::string_view(reinterpret_cast<const char*>(buf.data()), *n), out, mbox, quoter);
            total += *n;
        }
        return total;
    }

    // copy_piece - bytes of a message or file into the open file(s).
    static void copy_piece(std::string_view piece, output_file& out, output_file* mbox,
                           exporter::mboxrd_quoter* quoter) {
        out.write(piece);
        if (mbox) {
            std::string quoted;
            quoter->feed(piece, quoted);
            mbox->write(quoted);
        }
    }

    // copy_file - a file's content: the bytes PostgreSQL keeps for small
    // files (schema/0302_files_inline.sql), else the blob.
    std::uint64_t copy_file(pqxx::work& tx, const std::string& hex, output_file& out) {
        if (auto held = webdav::store::inline_content(tx, hex)) {
            out.write(*held);
            return held->size();
        }
        return copy_blob(hex, out);
    }

    // --- mail ---
    void mail(pqxx::work& tx, std::int64_t account_id, const std::string& base) {
        const std::string root = base + "/mail";
        tree_.mkdirs(root);
        std::vector<std::string> overflow;   // keywords beyond the 26 letters of a Maildir
        std::int64_t messages = 0, boxes = 0;
        for (const auto& b : tx.exec_params("SELECT id, name, uidvalidity, noselect FROM mail.mailboxes WHERE account_id = $1 "
                                            "ORDER BY name COLLATE \"C\"",
                                            account_id)) {
            const std::int64_t box = b[0].as<std::int64_t>();
            const std::string name = b[1].as<std::string>();
            const std::int64_t uidvalidity = b[2].as<std::int64_t>();
            std::string rel = root;
            std::size_t start = 0;
            while (start <= name.size()) {
                std::size_t slash = name.find(mailstore::hierarchy_separator, start);
                if (slash == std::string::npos) slash = name.size();
                rel += "/" + mail_seg(std::string_view(name).substr(start, slash - start), rel);
                start = slash + 1;
            }
            tree_.mkdirs(rel);
            if (b[3].as<bool>()) continue;   // \Noselect: a folder that only holds others
            ++boxes;
            for (const char* sub : {"/cur", "/new", "/tmp"}) tree_.mkdirs(rel + sub);

            // Keywords: letters a..z in dovecot-keywords order, sorted ignoring case.
            std::vector<std::string> keywords;
            for (const auto& k : tx.exec_params("SELECT DISTINCT ON (lower(f)) f FROM mail.mailbox_messages mm, "
                                                "unnest(mm.flags) AS f WHERE mm.mailbox_id = $1 AND left(f, 1) <> '\\' "
                                                "ORDER BY lower(f), f",
                                                box))
                keywords.push_back(k[0].as<std::string>());
            std::map<std::string, char> letter;   // lower-cased keyword -> letter
            if (!keywords.empty()) {
                output_file kw(tree_, rel + "/dovecot-keywords");
                for (std::size_t i = 0; i < keywords.size() && i < 26; ++i) {
                    kw.write(std::to_string(i) + " " + keywords[i] + "\n");
                    std::string lower = keywords[i];
                    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
                    letter[lower] = static_cast<char>('a' + i);
                }
                kw.close();
            }

            std::optional<output_file> mbox;
            if (opt_.mbox) {
                mbox.emplace(tree_, rel + ".mbox");
                ++sum_.mbox_files;
            }
            std::int64_t after = 0;
            for (;;) {
                auto rows = tx.exec_params(
                    "SELECT mm.uid, mm.flags, extract(epoch FROM mm.internaldate)::bigint, encode(m.blob_sha256, 'hex'), "
                    "coalesce(m.envelope->'from'->0->>2, '') || '@' || coalesce(m.envelope->'from'->0->>3, ''), m.raw "
                    "FROM mail.mailbox_messages mm JOIN mail.messages m ON m.id = mm.message_id "
                    "WHERE mm.mailbox_id = $1 AND mm.uid > $2 ORDER BY mm.uid LIMIT $3",
                    box, after, static_cast<std::int64_t>(mail_batch));
                for (const auto& m : rows) {
                    const std::int64_t uid = m[0].as<std::int64_t>();
                    after = uid;
                    const auto flags = text_array(m[1]);
                    const std::int64_t internaldate = m[2].as<std::int64_t>();
                    std::string letters;
                    std::vector<std::string> extra;
                    for (const auto& f : flags) {
                        if (f.starts_with("\\")) continue;
                        std::string lower = f;
                        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
                        auto it = letter.find(lower);
                        if (it != letter.end()) letters += it->second;
                        else extra.push_back(f);
                    }
                    const std::string file = std::to_string(internaldate) + "." + std::to_string(uid) + "." +
                                             std::to_string(uidvalidity) + ".polder" + exporter::maildir_info(flags, letters);
                    for (const auto& k : extra) overflow.push_back(rel.substr(base.size() + 1) + "/cur/" + file + "\t" + k);
                    output_file out(tree_, rel + "/cur/" + file);
                    exporter::mboxrd_quoter quoter;
                    if (mbox) mbox->write(exporter::mbox_from_line(m[4].as<std::string>(), internaldate));
                    // The octets kept with the row (small APPENDs, schema 0109), else the blob.
                    std::uint64_t n = 0;
                    if (!m[5].is_null()) {
                        const pqxx::binarystring raw(m[5]);
                        copy_piece(std::string_view(raw.get(), raw.size()), out, mbox ? &*mbox : nullptr, &quoter);
                        n = raw.size();
                    } else {
                        n = copy_blob(m[3].as<std::string>(), out, mbox ? &*mbox : nullptr, &quoter);
                    }
                    out.close(internaldate);
                    if (mbox) {
                        std::string tail;
                        quoter.finish(tail);
                        if (!quoter.ended_with_newline()) tail += "\n";
                        tail += "\n";   // the empty line before the next From_ line
                        mbox->write(tail);
                    }
                    ++messages;
                    sum_.mail_bytes += static_cast<std::int64_t>(n);
                }
                if (rows.size() < mail_batch) break;
            }
            if (mbox) mbox->close();
        }
        if (!overflow.empty()) {
            output_file f(tree_, base + "/mail-keywords-overflow.tsv");
            for (const auto& line : overflow) f.write(line + "\n");
            f.close();
        }
        sum_.mailboxes += boxes;
        sum_.messages += messages;
        progress(base + ": mail: " + std::to_string(boxes) + " mailbox(es), " + std::to_string(messages) + " message(s)");
    }

    // objects_in_batches - f(name, data) for every object of a collection, by name,
    // fetching at most object_batch_bytes of data per query.
    template <class F>
    void objects_in_batches(pqxx::work& tx, std::int64_t collection_id, F&& f) {
        std::vector<std::pair<std::int64_t, std::int64_t>> ids;
        for (const auto& r : tx.exec_params("SELECT id, octet_length(data) FROM cal.objects WHERE collection_id = $1 "
                                            "ORDER BY name COLLATE \"C\"",
                                            collection_id))
            ids.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::int64_t>());
        std::size_t i = 0;
        while (i < ids.size()) {
            std::vector<std::int64_t> batch;
            std::int64_t bytes = 0;
            while (i < ids.size() && (batch.empty() || bytes + ids[i].second <= object_batch_bytes)) {
                bytes += ids[i].second;
                batch.push_back(ids[i++].first);
            }
            for (const auto& r : tx.exec_params("SELECT name, data FROM cal.objects WHERE id = ANY($1::bigint[]) "
                                                "ORDER BY name COLLATE \"C\"",
                                                db::bigint_array(batch)))
                f(r[0].as<std::string>(), r[1].as<std::string>());
        }
    }

    // --- calendars and contacts ---
    void calendars(pqxx::work& tx, std::int64_t account_id, const std::string& base, bool with_calendars,
                   bool with_contacts) {
        // Only the account's own collections: shared-in ones are exported with their owner.
        auto cols = tx.exec_params("SELECT id, kind, name, displayname, description, color FROM cal.collections "
                                   "WHERE account_id = $1 ORDER BY kind, name COLLATE \"C\"",
                                   account_id);
        std::int64_t ncal = 0, nbook = 0, nobj = 0, ncard = 0;
        for (const auto& c : cols) {
            const std::int64_t id = c[0].as<std::int64_t>();
            const std::string kind = c[1].as<std::string>();
            const std::string name = c[2].as<std::string>();
            if (kind == "calendar" && with_calendars) {
                const std::string dir = base + "/calendars";
                tree_.mkdirs(dir);
                if (name == "inbox") {   // the RFC 6638 schedule inbox: iTIP messages, each with its METHOD
                    const std::string inbox = dir + "/schedule-inbox";
                    tree_.mkdirs(inbox);
                    objects_in_batches(tx, id, [&](const std::string& oname, const std::string& data) {
                        std::string file = seg(oname, inbox);
                        if (!file.ends_with(".ics")) file += ".ics";
                        output_file out(tree_, inbox + "/" + file);
                        out.write(data);
                        out.close();
                        ++sum_.inbox_items;
                        sum_.calendar_bytes += static_cast<std::int64_t>(data.size());
                    });
                    continue;
                }
                ical::calendar_merger merger({c[3].as<std::string>(), c[4].as<std::string>(), c[5].as<std::string>()});
                const std::string file = seg(name, dir) + ".ics";
                // Components first into a side file (a leading '.' never comes out of
                // safe_segment), then header with every VTIMEZONE + components + footer.
                const std::string part = dir + "/." + file + ".part";
                std::uint64_t part_bytes = 0;
                {
                    output_file side(tree_, part);
                    objects_in_batches(tx, id, [&](const std::string& oname, const std::string& data) {
                        auto comps = merger.add(data);
                        if (!comps) {
                            // Not mergeable (cannot happen for what polder-caldavd stored):
                            // kept as it is beside the calendar, never dropped.
                            const std::string raw_dir = dir + "/" + seg(name, dir) + ".unmerged";
                            tree_.mkdirs(raw_dir);
                            output_file raw(tree_, raw_dir + "/" + seg(oname, raw_dir));
                            raw.write(data);
                            raw.close();
                            progress(base + ": calendar " + name + ": object " + oname +
                                     " could not be merged (" + comps.error().message() + "); kept as is");
                            return;
                        }
                        side.write(*comps);
                        ++nobj;
                    });
                    side.close();
                    part_bytes = side.bytes();
                }
                tree_.forget(part);
                output_file out(tree_, dir + "/" + file);
                out.write(merger.header());
                {
                    std::FILE* in = std::fopen(tree_.abs(part).c_str(), "rb");
                    if (!in) refuse("cannot read back " + tree_.abs(part).string());
                    std::vector<char> buf(copy_buffer);
                    std::uint64_t seen = 0;
                    for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), in)) > 0;) {
                        out.write(std::string_view(buf.data(), n));
                        seen += n;
                    }
                    std::fclose(in);
                    if (seen != part_bytes) refuse("cannot read back " + tree_.abs(part).string());
                    ::unlink(tree_.abs(part).c_str());
                }
                out.write(ical::calendar_merger::footer());
                out.close();
                sum_.calendar_bytes += static_cast<std::int64_t>(out.bytes());
                ++ncal;
            } else if (kind == "addressbook" && with_contacts) {
                const std::string dir = base + "/contacts";
                tree_.mkdirs(dir);
                output_file out(tree_, dir + "/" + seg(name, dir) + ".vcf");
                objects_in_batches(tx, id, [&](const std::string&, const std::string& data) {
                    out.write(data);
                    if (!data.ends_with("\n")) out.write("\r\n");   // the next BEGIN:VCARD on its own line
                    ++ncard;
                });
                out.close();
                sum_.contact_bytes += static_cast<std::int64_t>(out.bytes());
                ++nbook;
            }
        }
        sum_.calendars += ncal;
        sum_.events += nobj;
        sum_.addressbooks += nbook;
        sum_.cards += ncard;
        if (with_calendars) progress(base + ": calendars: " + std::to_string(ncal) + " calendar(s), " + std::to_string(nobj) + " object(s)");
        if (with_contacts) progress(base + ": contacts: " + std::to_string(nbook) + " address book(s), " + std::to_string(ncard) + " card(s)");
    }

    // mapped_path - a stored relative path ("a/b/c") as safe segments under dir.
    std::string mapped_path(const std::string& dir, std::string_view path) {
        std::string rel = dir;
        std::size_t start = 0;
        while (start < path.size()) {
            std::size_t slash = path.find('/', start);
            if (slash == std::string::npos) slash = path.size();
            if (slash > start) rel += "/" + seg(path.substr(start, slash - start), rel);
            start = slash + 1;
        }
        return rel;
    }

    // --- files (a personal home or a team folder) ---
    void files(pqxx::work& tx, std::int64_t home_id, const std::string& base, const std::string& label) {
        const std::string root = base + "/files";
        tree_.mkdirs(root);
        std::int64_t nfiles = 0, nfolders = 0;
        std::string after;
        bool first = true;
        for (;;) {
            auto rows = tx.exec_params(
                "SELECT path, is_collection, blob_id, extract(epoch FROM modified_at)::bigint FROM files.nodes "
                "WHERE home_id = $1 AND ($2 OR path COLLATE \"C\" > $3) ORDER BY path COLLATE \"C\" LIMIT $4",
                home_id, first, after, static_cast<std::int64_t>(node_batch));
            first = false;
            for (const auto& r : rows) {
                const std::string path = r[0].as<std::string>();
                after = path;
                const std::int64_t modified = r[3].as<std::int64_t>();
                const std::string rel = mapped_path(root, path);
                if (r[1].as<bool>()) {
                    tree_.mkdirs(rel);
                    tree_.folder_mtime(rel, modified);
                    if (!path.empty()) ++nfolders;
                    continue;
                }
                tree_.mkdirs(rel.substr(0, rel.rfind('/')));
                output_file out(tree_, rel);
                sum_.file_bytes += static_cast<std::int64_t>(copy_file(tx, r[2].as<std::string>(), out));
                out.close(modified);
                ++nfiles;
            }
            if (rows.size() < node_batch) break;
        }

        // Previous versions: files-versions/<folder>/<when written>-<name>.
        std::int64_t nversions = 0;
        std::set<std::string> used;
        for (const auto& r : tx.exec_params("SELECT n.path, v.blob_id, extract(epoch FROM v.modified_at)::bigint "
                                            "FROM files.versions v JOIN files.nodes n ON n.id = v.node_id "
                                            "WHERE n.home_id = $1 ORDER BY n.path COLLATE \"C\", v.modified_at, v.id",
                                            home_id)) {
            const std::string path = r[0].as<std::string>();
            const std::int64_t when = r[2].as<std::int64_t>();
            const std::size_t slash = path.rfind('/');
            const std::string folder = slash == std::string::npos ? std::string() : path.substr(0, slash);
            const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
            const std::string dir = mapped_path(base + "/files-versions", folder);
            tree_.mkdirs(dir);
            const std::string stamp = exporter::utc_stamp(when);
            std::string rel = dir + "/" + stamp + "-" + seg(name, dir);
            for (int n = 2; used.count(rel); ++n) rel = dir + "/" + stamp + "." + std::to_string(n) + "-" + seg(name, dir);
            used.insert(rel);
            output_file out(tree_, rel);
            sum_.file_bytes += static_cast<std::int64_t>(copy_file(tx, r[1].as<std::string>(), out));
            out.close(when);
            ++nversions;
        }

        // Trash: files-trash/<when deleted>-<id>/<original path>, and files-trash/index.json.
        std::int64_t ntrash = 0;
        json index = json::array();
        for (const auto& t : tx.exec_params("SELECT t.id, t.original_path, t.is_collection, t.manifest::text, "
                                            "extract(epoch FROM t.deleted_at)::bigint, coalesce(a.address, '') "
                                            "FROM files.trash t LEFT JOIN directory.accounts a ON a.id = t.deleted_by "
                                            "WHERE t.home_id = $1 ORDER BY t.id",
                                            home_id)) {
            const std::int64_t id = t[0].as<std::int64_t>();
            const std::string original = t[1].as<std::string>();
            const std::int64_t deleted = t[4].as<std::int64_t>();
            const std::string entry = base + "/files-trash/" + exporter::utc_stamp(deleted) + "-" + std::to_string(id);
            tree_.mkdirs(entry);
            const json manifest = json::parse(t[3].as<std::string>());
            const std::string top = mapped_path(entry, original);
            for (const auto& item : manifest) {
                // 'path' is relative to the deleted node: "" for itself, "/x/y" below it.
                const std::string rel = mapped_path(top, item.at("path").get<std::string>());
                const std::int64_t modified = item.value("modified", std::int64_t{0});
                if (item.at("collection").get<bool>()) {
                    tree_.mkdirs(rel);
                    if (modified > 0) tree_.folder_mtime(rel, modified);
                    continue;
                }
                tree_.mkdirs(rel.substr(0, rel.rfind('/')));
                output_file out(tree_, rel);
                sum_.file_bytes += static_cast<std::int64_t>(copy_file(tx, item.at("blob").get<std::string>(), out));
                if (modified > 0) out.close(modified);
                else out.close();
                ++sum_.trash_files;
            }
            index.push_back({{"id", id}, {"folder", entry.substr(base.size() + 1)}, {"original_path", original},
                             {"is_folder", t[2].as<bool>()}, {"deleted_at", exporter::iso_time(deleted)},
                             {"deleted_by", t[5].as<std::string>()}});
            ++ntrash;
        }
        if (ntrash > 0) {
            output_file out(tree_, base + "/files-trash/index.json");
            out.write(index.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
            out.close();
        }
        sum_.files += nfiles;
        sum_.folders += nfolders;
        sum_.versions += nversions;
        sum_.trash_entries += ntrash;
        progress(label + ": files: " + std::to_string(nfiles) + " file(s) in " + std::to_string(nfolders) +
                 " folder(s), " + std::to_string(nversions) + " version(s), " + std::to_string(ntrash) + " trash entr" +
                 (ntrash == 1 ? "y" : "ies"));
    }

    // account_json - what the directory says about the account.
    json account_json(pqxx::work& tx, const auth::account_info& a) {
        json aliases = json::array();
        for (const auto& al : auth::list_aliases(tx, a.org_id, a.id)) aliases.push_back(al.address);
        json groups = json::array();
        for (const auto& g : auth::list_groups(tx, a.org_id, a.id))
            groups.push_back({{"name", g.name}, {"address", g.address ? json(*g.address) : json(nullptr)}});
        return {{"address", a.address},
                {"display_name", a.display_name},
                {"org", a.org},
                {"kind", a.kind},
                {"disabled", a.disabled},
                {"quota_bytes", a.quota_bytes ? json(*a.quota_bytes) : json(nullptr)},
                {"used_bytes", a.used_bytes},
                {"created_at", a.created_at},
                {"aliases", aliases},
                {"groups", groups}};
    }

    void write_json(const std::string& rel, const json& j) {
        output_file out(tree_, rel);
        out.write(j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
        out.close();
    }

    // account - everything of one account, in one snapshot.
    void account(std::int64_t account_id) {
        in_snapshot(ctx_, [&](pqxx::work& tx) {
            auto a = auth::find_account_by_id(tx, account_id);
            if (!a) refuse("the account disappeared during the export");
            const std::string base = seg(a->address, "");
            tree_.mkdirs(base);
            json aj = account_json(tx, *a);
            aj["exported_at"] = tx.exec("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")[0][0]
                                    .as<std::string>();
            write_json(base + "/account.json", aj);
            if (opt_.only.mail) mail(tx, a->id, base);
            if (opt_.only.calendar || opt_.only.contacts) calendars(tx, a->id, base, opt_.only.calendar, opt_.only.contacts);
            if (opt_.only.files) {
                auto home = tx.exec_params("SELECT id FROM files.homes WHERE account_id = $1", a->id);
                if (!home.empty()) files(tx, home[0][0].as<std::int64_t>(), base, base);
                else tree_.mkdirs(base + "/files");
            }
            ++sum_.accounts;
        });
    }

    // team_folder - one team folder of an organisation, in its own snapshot.
    void team_folder(std::int64_t home_id) {
        in_snapshot(ctx_, [&](pqxx::work& tx) {
            auto r = tx.exec_params("SELECT name FROM files.homes WHERE id = $1 AND group_id IS NOT NULL", home_id);
            if (r.empty()) return;   // removed meanwhile
            tree_.mkdirs("_team-folders");
            const std::string base = "_team-folders/" + seg(r[0][0].as<std::string>(), "_team-folders");
            tree_.mkdirs(base);
            files(tx, home_id, base, "team folder " + r[0][0].as<std::string>());
            ++sum_.team_folders;
        });
    }

    void write_text(const std::string& rel, const std::string& text) {
        output_file out(tree_, rel);
        out.write(text);
        out.close();
    }

private:
    context& ctx_;
    tree& tree_;
    const options& opt_;
    totals& sum_;
    blob::fs_store blobs_;
};

kinds parse_only(const std::vector<std::string>& list) {
    if (list.empty()) return {};
    kinds k{false, false, false, false};
    for (const auto& item : list) {
        if (item == "mail") k.mail = true;
        else if (item == "calendar" || item == "calendars") k.calendar = true;
        else if (item == "contacts") k.contacts = true;
        else if (item == "files") k.files = true;
        else usage_error("--only takes mail, calendar, contacts, files (comma-separated), not '" + item + "'");
    }
    return k;
}

json summary_json(const totals& s, const tree& t) {
    return {{"to", t.root().string()},
            {"accounts", s.accounts},
            {"team_folders", s.team_folders},
            {"mail", {{"mailboxes", s.mailboxes}, {"messages", s.messages}, {"bytes", s.mail_bytes}, {"mbox_files", s.mbox_files}}},
            {"calendars", {{"calendars", s.calendars}, {"objects", s.events}, {"schedule_inbox_items", s.inbox_items},
                           {"bytes", s.calendar_bytes}}},
            {"contacts", {{"addressbooks", s.addressbooks}, {"cards", s.cards}, {"bytes", s.contact_bytes}}},
            {"files", {{"files", s.files}, {"folders", s.folders}, {"versions", s.versions},
                       {"trash_entries", s.trash_entries}, {"trash_files", s.trash_files}, {"bytes", s.file_bytes}}},
            {"written", {{"files", t.files()}, {"bytes", t.bytes()}}},
            {"manifest", std::string(exporter::manifest_name)}};
}

void report(const options& opt, const totals& s, const tree& t) {
    if (opt.json) {
        print_json(summary_json(s, t));
        return;
    }
    std::cout << "exported " << s.accounts << " account(s) to " << t.root().string() << ": " << s.messages
              << " message(s) in " << s.mailboxes << " mailbox(es), " << s.events << " calendar object(s) in " << s.calendars
              << " calendar(s), " << s.cards << " card(s) in " << s.addressbooks << " address book(s), " << s.files
              << " file(s), " << s.versions << " version(s), " << s.trash_entries << " trash entr"
              << (s.trash_entries == 1 ? "y" : "ies") << "; " << t.files() << " files, " << t.bytes()
              << " bytes; check with: cd " << t.root().string() << " && sha256sum -c " << exporter::manifest_name << '\n';
}

// run_export - prepare the destination, run body, finish; on failure remove what was
// written and say so in the one error line.
template <class F>
void run_export(const options& opt, tree& t, F&& body) {
    t.prepare();
    try {
        body();
        t.finish();
    } catch (const failure& f) {
        const bool removed = t.discard();
        throw failure(f.code(), std::string(f.what()) + (removed ? "; the partial export was removed"
                                                                   : "; the partial export could not be removed and is "
                                                                     "marked by EXPORT-IN-PROGRESS"));
    } catch (const std::exception& e) {
        const bool removed = t.discard();
        throw failure(exit_code::software, std::string("internal error: ") + e.what() +
                                               (removed ? "; the partial export was removed"
                                                        : "; the partial export is marked by EXPORT-IN-PROGRESS"));
    }
    (void)opt;
}

}  // namespace

void add_export_commands(CLI::App& app, action& chosen) {
    auto* exp = app.add_subcommand("export", "Export data in open formats: Maildir/mbox, iCalendar, vCard, files, JSON");
    exp->require_subcommand(1);
    struct args_t {
        std::string address, org, to;
        std::vector<std::string> only;
        bool mbox = false, json = false;
    };
    auto args = std::make_shared<args_t>();
    auto common = [&](CLI::App* sub) {
        sub->add_option("--to", args->to, "Destination folder: must not exist (its parent must) or be empty")->required();
        sub->add_option("--only", args->only, "Only these kinds: mail, calendar, contacts, files (comma-separated)")
            ->delimiter(',');
        sub->add_flag("--mbox", args->mbox, "Also write every mailbox as an mboxrd file <mailbox>.mbox");
        sub->add_flag("--json", args->json, "Print the summary (counts and bytes per kind) as JSON");
    };

    auto* user = exp->add_subcommand("user", "Export one account: mail, calendars, contacts, files, account.json");
    user->add_option("address", args->address, "The account's address")->required();
    add_org_option(user, args->org, "Refuse unless the account belongs to this organisation");
    common(user);
    on_run(user, chosen, [args](context& ctx) {
        options opt{args->to, parse_only(args->only), args->mbox, args->json};
        const auth::address addr = parse_address_arg(args->address);
        std::int64_t id = 0;
        ctx.transact([&](pqxx::work& tx) {
            id = account_in(tx, addr.str(), org_filter(tx, args->org)).id;
            return 0;
        });
        (void)ctx.settings();
        tree t(opt.to);
        totals sum;
        run_export(opt, t, [&] {
            exporter_run run(ctx, t, opt, sum);
            run.account(id);
        });
        report(opt, sum, t);
    });

    auto* org = exp->add_subcommand(
        "org", "Export an organisation: every account, its team folders, directory.json and users.csv");
    org->add_option("name", args->org, "The organisation")->required();
    common(org);
    on_run(org, chosen, [args](context& ctx) {
        options opt{args->to, parse_only(args->only), args->mbox, args->json};
        std::int64_t org_id = 0;
        ctx.transact([&](pqxx::work& tx) {
            org_id = org_filter(tx, args->org)->id;
            return 0;
        });
        tree t(opt.to);
        totals sum;
        run_export(opt, t, [&] {
            exporter_run run(ctx, t, opt, sum);
            std::vector<std::int64_t> accounts, teams;
            json directory;
            std::string users_csv = "address,display_name,quota\r\n";
            in_snapshot(ctx, [&](pqxx::work& tx) {
                auto o = auth::find_org_by_id(tx, org_id);
                if (!o) refuse("organisation '" + args->org + "' disappeared during the export");
                json domains = json::array();
                for (const auto& d : auth::list_domains(tx, org_id)) domains.push_back(d.name);
                json accs = json::array();
                for (const auto& a : auth::list_accounts(tx, org_id)) {
                    accounts.push_back(a.id);
                    accs.push_back(run.account_json(tx, a));
                    // users.csv: what 'polderctl user import' reads; resources cannot be
                    // created by it (directory.json lists them).
                    if (a.kind == "user")
                        users_csv += exporter::csv_field(a.address) + "," + exporter::csv_field(a.display_name) + "," +
                                     (a.quota_bytes ? std::to_string(*a.quota_bytes) : std::string("unlimited")) + "\r\n";
                }
                json aliases = json::array();
                for (const auto& al : auth::list_aliases(tx, org_id)) aliases.push_back({{"address", al.address}, {"target", al.target}});
                json groups = json::array();
                for (const auto& g : auth::list_groups(tx, org_id))
                    groups.push_back({{"name", g.name}, {"address", g.address ? json(*g.address) : json(nullptr)},
                                      {"members", g.members}});
                json team_folders = json::array();
                for (const auto& r : tx.exec_params("SELECT h.id, h.name, g.name FROM files.homes h JOIN directory.groups g "
                                                    "ON g.id = h.group_id AND g.org_id = h.org_id WHERE h.org_id = $1 "
                                                    "ORDER BY lower(h.name)",
                                                    org_id)) {
                    teams.push_back(r[0].as<std::int64_t>());
                    team_folders.push_back({{"name", r[1].as<std::string>()}, {"group", r[2].as<std::string>()}});
                }
                directory = {{"format", "polder-export-directory"}, {"version", 1},
                             {"org", {{"name", o->name}, {"created_at", o->created_at}}},
                             {"domains", domains}, {"accounts", accs}, {"aliases", aliases}, {"groups", groups},
                             {"team_folders", team_folders},
                             {"exported_at", tx.exec("SELECT to_char(now() AT TIME ZONE 'UTC', "
                                                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")[0][0].as<std::string>()}};
            });
            run.write_json("directory.json", directory);
            run.write_text("users.csv", users_csv);
            progress("organisation " + args->org + ": " + std::to_string(accounts.size()) + " account(s), " +
                     std::to_string(teams.size()) + " team folder(s)");
            for (auto id : accounts) run.account(id);
            if (opt.only.files)
                for (auto id : teams) run.team_folder(id);
        });
        report(opt, sum, t);
    });
}

}  // namespace polder::admin
