// test_mailstore.cpp - polder::mailstore against a real PostgreSQL: default mailboxes,
// delivery stored once, concurrent UID allocation, quota, flags/modseq/changes, expunge
// tombstones, COPY/MOVE, RENAME INBOX, ACL sharing and tenancy, SEARCH, NOTIFY.
// SECURITY: cross-account and cross-organisation access must be refused (not_found).
// STANDARDS: RFC 3501/9051, RFC 4315, RFC 6851, RFC 7162, RFC 4314, RFC 9208.
// Needs POLDER_TEST_PGHOST/PGPORT/PGUSER; each test creates and drops its own database.
#include "polder/blob/fs_store.hpp"
#include "polder/db/db.hpp"
#include "polder/mailstore/mailstore.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

using namespace polder;
using namespace polder::mailstore;
namespace fs = std::filesystem;

namespace {

std::string random_suffix() {
    static std::mt19937_64 rng{std::random_device{}()};
    std::string s;
    for (int i = 0; i < 8; ++i) s += "0123456789abcdefghijklmnopqrstuvwxyz"[rng() % 36];
    return std::to_string(::getpid()) + "_" + s;
}

db::connection_options cluster() {
    const char* host = std::getenv("POLDER_TEST_PGHOST");
    const char* port = std::getenv("POLDER_TEST_PGPORT");
    const char* user = std::getenv("POLDER_TEST_PGUSER");
    if (!host || !*host || !port || !*port || !user || !*user)
        FAIL("the mailstore tests need a PostgreSQL cluster: set POLDER_TEST_PGHOST, POLDER_TEST_PGPORT and "
             "POLDER_TEST_PGUSER (scripts/dev test does this)");
    db::connection_options o;
    o.host = host;
    o.port = static_cast<std::uint16_t>(std::stoi(port));
    o.user = user;
    o.dbname = "postgres";
    o.application_name = "polder-test-mailstore";
    return o;
}

std::string message(std::string subject, std::string body, std::string from = "Ann <ann@example.org>") {
    return "From: " + from + "\r\nTo: Bob <bob@gemeente.nl>\r\nSubject: " + subject +
           "\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\nMessage-ID: <" + random_suffix() +
           "@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n";
}

// world - a fresh database (all migrations), a blob folder, a pool and helpers.
struct world {
    std::string dbname = "t_mailstore_" + random_suffix();
    db::connection_options options;
    std::unique_ptr<pqxx::connection> conn;
    fs::path blob_root = fs::temp_directory_path() / ("polder_mailstore_" + random_suffix());
    blob::fs_store blobs{blob_root};
    std::int64_t org1 = 0, org2 = 0, dom1 = 0, dom2 = 0;

    world() {
        auto admin = db::connect(cluster());
        pqxx::nontransaction tx(*admin);
        tx.exec("CREATE DATABASE " + tx.quote_name(dbname));
        options = cluster();
        options.dbname = dbname;
        conn = db::connect(options);
        db::migrate(*conn);
        org1 = sql1("INSERT INTO directory.orgs (name) VALUES ('gemeente') RETURNING id");
        org2 = sql1("INSERT INTO directory.orgs (name) VALUES ('other') RETURNING id");
        dom1 = sql1("INSERT INTO directory.domains (org_id, name) VALUES (" + std::to_string(org1) +
                    ", 'gemeente.nl') RETURNING id");
        dom2 = sql1("INSERT INTO directory.domains (org_id, name) VALUES (" + std::to_string(org2) +
                    ", 'other.example') RETURNING id");
    }
    ~world() {
        conn.reset();
        try {
            auto admin = db::connect(cluster());
            pqxx::nontransaction tx(*admin);
            tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(dbname) + " WITH (FORCE)");
        } catch (...) {
        }
        std::error_code ec;
        fs::remove_all(blob_root, ec);
    }

    std::int64_t sql1(const std::string& q) {
        return db::transact(*conn, [&](pqxx::work& tx) { return tx.exec1(q)[0].as<std::int64_t>(); });
    }

    std::int64_t account(const std::string& local, bool second_org = false, std::optional<std::int64_t> quota = {}) {
        auto org = second_org ? org2 : org1;
        auto dom = second_org ? dom2 : dom1;
        auto domain = second_org ? "other.example" : "gemeente.nl";
        return db::transact(*conn, [&](pqxx::work& tx) {
            return tx.exec_params1("INSERT INTO directory.accounts (org_id, domain_id, local_part, address, quota_bytes) "
                                   "VALUES ($1, $2, $3, $4, NULLIF($5, -1)) RETURNING id",
                                   org, dom, local, local + "@" + domain, quota.value_or(-1))[0]
                .as<std::int64_t>();
        });
    }

    template <class F>
    auto tx(F f) {
        return db::transact(*conn, f);
    }

    prepared_message prepare(const std::string& raw) {
        auto id = store_bytes(blobs, raw);
        REQUIRE(id.has_value());
        auto p = prepare_message(blobs, *id);
        REQUIRE(p.has_value());
        return std::move(*p);
    }

    append_result append(std::int64_t actor, const std::string& mailbox, const std::string& raw,
                         std::vector<std::string> flags = {}) {
        auto p = prepare(raw);
        auto r = tx([&](pqxx::work& w) { return ops::append(w, actor, mailbox, p, flags, 1772442000); });
        REQUIRE(r.has_value());
        return *r;
    }

    select_snapshot select(std::int64_t actor, const std::string& mailbox) {
        auto r = tx([&](pqxx::work& w) { return ops::select(w, actor, mailbox); });
        REQUIRE(r.has_value());
        return std::move(*r);
    }
};

template <class T>
T run_io(asio::io_context& io, awaitable<T> a) {
    std::optional<T> value;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) value.emplace(std::move(v));
    });
    io.run();
    io.restart();
    if (error) std::rethrow_exception(error);
    return std::move(*value);
}

std::vector<std::uint32_t> uids_of(const select_snapshot& s) {
    std::vector<std::uint32_t> out;
    for (const auto& m : s.messages) out.push_back(m.uid);
    return out;
}

}  // namespace

TEST_CASE("every new account gets INBOX and the special-use mailboxes, subscribed") {
    world w;
    auto a = w.account("anna");
    auto list = w.tx([&](pqxx::work& t) { return ops::list_mailboxes(t, a); });
    REQUIRE(list.has_value());
    std::map<std::string, std::string> got;
    for (const auto& m : *list) {
        got[m.name] = m.special_use.value_or("");
        CHECK(m.subscribed);
        CHECK(m.rights == std::string(all_rights));
        CHECK(m.uidvalidity > 0);
    }
    CHECK(got == std::map<std::string, std::string>{{"INBOX", ""}, {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},
                                                    {"Trash", "\\Trash"}, {"Junk", "\\Junk"}, {"Archive", "\\Archive"}});
    auto st = w.tx([&](pqxx::work& t) { return ops::status(t, a, "inbox"); });
    REQUIRE(st.has_value());
    CHECK(st->messages == 0);
    CHECK(st->uidnext == 1);
}

TEST_CASE("delivery to three recipients stores one message row and one blob with a UID per mailbox") {
    world w;
    auto a = w.account("anna"), b = w.account("bert"), c = w.account("cees");
    auto raw = message("Agenda", "De vergadering begint om tien uur.");
    auto blob = store_bytes(w.blobs, raw);
    REQUIRE(blob.has_value());
    asio::io_context io;
    db::pool pool(w.options, 2);
    mail_store store(pool, w.blobs);
    auto r = run_io(io, store.deliver(*blob, {{a, "INBOX"}, {b, "INBOX"}, {c, "Archive"}}, 1772442000));
    REQUIRE(r.has_value());
    REQUIRE(r->recipients.size() == 3);
    for (const auto& rr : r->recipients) {
        CHECK_FALSE(rr.error);
        CHECK(rr.uid == 1);
    }
    CHECK(w.sql1("SELECT count(*) FROM mail.messages") == 1);
    CHECK(w.sql1("SELECT count(*) FROM mail.mailbox_messages") == 3);
    std::size_t blobs = 0;
    REQUIRE(w.blobs.for_each([&](const blob::blob_info&) { ++blobs; return true; }));
    CHECK(blobs == 1);
    CHECK(w.sql1("SELECT used_bytes FROM mail.account_usage WHERE account_id = " + std::to_string(b)) ==
          static_cast<std::int64_t>(raw.size()));
    auto archive = w.select(c, "Archive");
    CHECK(uids_of(archive) == std::vector<std::uint32_t>{1});
    auto meta = run_io(io, store.fetch(a, r->recipients[0].mailbox_id, w.select(a, "INBOX").mailbox.uidvalidity,
                                       {{1, 1}}));
    REQUIRE(meta.has_value());
    REQUIRE(meta->size() == 1);
    CHECK((*meta)[0].blob == *blob);
    CHECK((*meta)[0].parsed.env.subject == std::optional<std::string>("Agenda"));
    CHECK((*meta)[0].internaldate == 1772442000);
    CHECK((*meta)[0].sort_subject == "agenda");
    CHECK((*meta)[0].sort_from == "ann");
    CHECK((*meta)[0].sent_date == std::optional<std::int64_t>(1772442000));
    CHECK_FALSE((*meta)[0].message_id.empty());
    pool.stop();
}

TEST_CASE("concurrent deliveries into one INBOX get strictly ascending gap-free UIDs") {
    world w;
    auto a = w.account("anna");
    auto blob = store_bytes(w.blobs, message("Load", "Many messages at once."));
    REQUIRE(blob.has_value());
    asio::io_context io;
    db::pool pool(w.options, 4);
    mail_store store(pool, w.blobs);
    std::atomic<int> failures{0};
    std::vector<std::uint32_t> seen;
    const std::vector<recipient> to{recipient{a, "INBOX"}};
    for (int k = 0; k < 8; ++k) {
        asio::co_spawn(io, [&]() -> awaitable<void> {
            for (int i = 0; i < 25; ++i) {
                auto r = co_await store.deliver(*blob, to, 1772442000);
                if (!r || r->recipients[0].error) ++failures;
                else seen.push_back(r->recipients[0].uid);
            }
        }, asio::detached);
    }
    io.run();
    pool.stop();
    CHECK(failures == 0);
    auto snap = w.select(a, "INBOX");
    std::vector<std::uint32_t> expected;
    for (std::uint32_t u = 1; u <= 200; ++u) expected.push_back(u);
    CHECK(uids_of(snap) == expected);
    CHECK(snap.uidnext == 201);
    std::sort(seen.begin(), seen.end());
    CHECK(seen == expected);
}

TEST_CASE("a recipient over quota is refused while the others still get the message") {
    world w;
    auto raw = message("Big", std::string(2000, 'x'));
    auto small = w.account("small", false, 1000);
    auto big = w.account("big", false, 1000000);
    auto p = w.prepare(raw);
    auto r = w.tx([&](pqxx::work& t) { return ops::deliver(t, p, {{small}, {big}, {999999}}, 1772442000); });
    CHECK(is(r.recipients[0].error, errc::quota_exceeded));
    CHECK_FALSE(r.recipients[1].error);
    CHECK(is(r.recipients[2].error, errc::not_found));
    auto q = w.tx([&](pqxx::work& t) { return ops::quota(t, big); });
    REQUIRE(q.has_value());
    CHECK(q->used_bytes == raw.size());
    CHECK(q->limit_bytes == std::optional<std::uint64_t>(1000000));
    CHECK(q->messages == 1);
    auto app = w.tx([&](pqxx::work& t) { return ops::append(t, small, "INBOX", p, {}, 0); });
    CHECK(is(app.error(), errc::quota_exceeded));
}

TEST_CASE("flag changes raise modseqs and are reported by changes since, honouring UNCHANGEDSINCE") {
    world w;
    auto a = w.account("anna");
    for (int i = 0; i < 3; ++i) w.append(a, "INBOX", message("M" + std::to_string(i), "x"));
    auto snap = w.select(a, "INBOX");
    auto mb = snap.mailbox.id;
    auto uv = snap.mailbox.uidvalidity;
    auto before = snap.highestmodseq;
    auto s = w.tx([&](pqxx::work& t) {
        return ops::store_flags(t, a, mb, uv, {{1, 2}}, flag_mode::add, {"\\seen", "$Label1"});
    });
    REQUIRE(s.has_value());
    REQUIRE(s->updated.size() == 2);
    CHECK(s->updated[0].flags == std::vector<std::string>{"$Label1", "\\Seen"});
    CHECK(s->updated[0].modseq > before);
    auto ch = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv, before); });
    REQUIRE(ch.has_value());
    REQUIRE(ch->changed.size() == 2);
    CHECK(ch->changed[1].uid == 2);
    CHECK(ch->highestmodseq == s->updated[0].modseq);
    // Setting what is already set changes nothing.
    auto again = w.tx([&](pqxx::work& t) { return ops::store_flags(t, a, mb, uv, {{1, 1}}, flag_mode::add, {"\\Seen"}); });
    REQUIRE(again.has_value());
    CHECK(again->updated.empty());
    // UNCHANGEDSINCE older than uid 1's modseq: uid 1 is MODIFIED, uid 3 is updated.
    auto cond = w.tx([&](pqxx::work& t) {
        return ops::store_flags(t, a, mb, uv, {{1, 1}, {3, 3}}, flag_mode::add, {"\\Flagged"}, before);
    });
    REQUIRE(cond.has_value());
    CHECK(cond->modified == uid_set{{1, 1}});
    REQUIRE(cond->updated.size() == 1);
    CHECK(cond->updated[0].uid == 3);
    auto rem = w.tx([&](pqxx::work& t) { return ops::store_flags(t, a, mb, uv, {{1, 3}}, flag_mode::remove, {"$label1"}); });
    REQUIRE(rem.has_value());
    CHECK(rem->updated.size() == 2);
    auto st = w.tx([&](pqxx::work& t) { return ops::status(t, a, "INBOX"); });
    REQUIRE(st.has_value());
    CHECK(st->unseen == 1);
    CHECK(st->highestmodseq == rem->updated[0].modseq);
    CHECK(w.select(a, "INBOX").keywords.empty());
    // \Recent (rev1): the first session claims uids 1..3, the next one nothing.
    auto first = w.tx([&](pqxx::work& t) { return ops::claim_recent(t, a, mb, uv); });
    REQUIRE(first.has_value());
    CHECK(*first == 1);
    auto second = w.tx([&](pqxx::work& t) { return ops::claim_recent(t, a, mb, uv); });
    REQUIRE(second.has_value());
    CHECK(*second == 4);
    auto wrong = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv + 1, 0); });
    CHECK(is(wrong.error(), errc::not_found));
    auto bad = w.tx([&](pqxx::work& t) { return ops::store_flags(t, a, mb, uv, {{1, 1}}, flag_mode::add, {"\\Recent"}); });
    CHECK(is(bad.error(), errc::invalid_argument));
}

TEST_CASE("expunge removes deleted messages and leaves tombstones for VANISHED") {
    world w;
    auto a = w.account("anna");
    for (int i = 0; i < 4; ++i) w.append(a, "INBOX", message("M", "x"), i % 2 ? std::vector<std::string>{"\\Deleted"}
                                                                                : std::vector<std::string>{});
    auto snap = w.select(a, "INBOX");
    auto mb = snap.mailbox.id;
    auto uv = snap.mailbox.uidvalidity;
    auto only = w.tx([&](pqxx::work& t) { return ops::expunge(t, a, mb, uv, uid_set{{1, 2}}); });
    REQUIRE(only.has_value());
    CHECK(*only == std::vector<std::uint32_t>{2});
    auto rest = w.tx([&](pqxx::work& t) { return ops::expunge(t, a, mb, uv, std::nullopt); });
    REQUIRE(rest.has_value());
    CHECK(*rest == std::vector<std::uint32_t>{4});
    auto ch = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv, snap.highestmodseq); });
    REQUIRE(ch.has_value());
    CHECK(ch->expunged == std::vector<std::uint32_t>{2, 4});
    CHECK(uids_of(w.select(a, "INBOX")) == std::vector<std::uint32_t>{1, 3});
    auto q = w.tx([&](pqxx::work& t) { return ops::quota(t, a); });
    CHECK(q->messages == 2);
}

TEST_CASE("copy and move report COPYUID mappings and move expunges the source") {
    world w;
    auto a = w.account("anna");
    for (int i = 0; i < 3; ++i) w.append(a, "INBOX", message("M", "x"), {"\\Seen"});
    w.append(a, "Archive", message("old", "x"));
    auto inbox = w.select(a, "INBOX");
    auto c = w.tx([&](pqxx::work& t) {
        return ops::copy(t, a, inbox.mailbox.id, inbox.mailbox.uidvalidity, {{2, 3}}, "Archive", false);
    });
    REQUIRE(c.has_value());
    CHECK(c->uids == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{2, 2}, {3, 3}});
    CHECK(c->uidvalidity == w.select(a, "Archive").mailbox.uidvalidity);
    CHECK(c->expunged.empty());
    auto m = w.tx([&](pqxx::work& t) {
        return ops::copy(t, a, inbox.mailbox.id, inbox.mailbox.uidvalidity, {{1, 2}}, "Trash", true);
    });
    REQUIRE(m.has_value());
    CHECK(m->uids == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{1, 1}, {2, 2}});
    CHECK(m->expunged == std::vector<std::uint32_t>{1, 2});
    CHECK(uids_of(w.select(a, "INBOX")) == std::vector<std::uint32_t>{3});
    auto trash = w.select(a, "Trash");
    REQUIRE(trash.messages.size() == 2);
    CHECK(trash.messages[0].flags == std::vector<std::string>{"\\Seen"});
    auto none = w.tx([&](pqxx::work& t) {
        return ops::copy(t, a, inbox.mailbox.id, inbox.mailbox.uidvalidity, {{50, 60}}, "Trash", false);
    });
    REQUIRE(none.has_value());
    CHECK(none->uids.empty());
    auto missing = w.tx([&](pqxx::work& t) {
        return ops::copy(t, a, inbox.mailbox.id, inbox.mailbox.uidvalidity, {{3, 3}}, "Nowhere", false);
    });
    CHECK(is(missing.error(), errc::not_found));
}

TEST_CASE("renaming INBOX moves its messages to a new mailbox and leaves INBOX empty") {
    world w;
    auto a = w.account("anna");
    for (int i = 0; i < 2; ++i) w.append(a, "INBOX", message("M", "x"));
    auto old_uv = w.select(a, "INBOX").mailbox.uidvalidity;
    auto r = w.tx([&](pqxx::work& t) { return ops::rename_mailbox(t, a, "inbox", "Oud/2025"); });
    REQUIRE(r.has_value());
    CHECK(w.select(a, "INBOX").messages.empty());
    CHECK(w.select(a, "INBOX").mailbox.uidvalidity == old_uv);
    CHECK(uids_of(w.select(a, "Oud/2025")) == std::vector<std::uint32_t>{1, 2});
    CHECK(w.select(a, "Oud").mailbox.has_children);
    // An ordinary rename carries children along and keeps UIDVALIDITY.
    auto uv = w.select(a, "Oud/2025").mailbox.uidvalidity;
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::rename_mailbox(t, a, "Oud", "Archief"); }).has_value());
    CHECK(w.select(a, "Archief/2025").mailbox.uidvalidity == uv);
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::rename_mailbox(t, a, "Archief", "Sent"); }).error(),
             errc::already_exists));
    // DELETE of a mailbox with children makes it \Noselect; deleting INBOX is refused.
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::delete_mailbox(t, a, "Archief"); }).has_value());
    auto list = w.tx([&](pqxx::work& t) { return ops::list_mailboxes(t, a); });
    bool noselect = false;
    for (const auto& m : *list)
        if (m.name == "Archief") noselect = m.noselect;
    CHECK(noselect);
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::delete_mailbox(t, a, "INBOX"); }).error(), errc::invalid_argument));
    // A recreated mailbox gets a new, larger UIDVALIDITY.
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::delete_mailbox(t, a, "Archief/2025"); }).has_value());
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::create_mailbox(t, a, "Archief/2025", std::nullopt); }).has_value());
    CHECK(w.select(a, "Archief/2025").mailbox.uidvalidity > uv);
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::create_mailbox(t, a, "Sent", std::nullopt); }).error(),
             errc::already_exists));
}

TEST_CASE("a shared mailbox is reachable through its ACL and never across organisations") {
    world w;
    auto info = w.account("info");
    auto anna = w.account("anna");
    auto bert = w.account("bert");
    auto stranger = w.account("eve", true);
    auto group = w.sql1("INSERT INTO directory.groups (org_id, name) VALUES (" + std::to_string(w.org1) +
                        ", 'Balie') RETURNING id");
    w.sql1("INSERT INTO directory.group_members (group_id, account_id, org_id) VALUES (" + std::to_string(group) + ", " +
           std::to_string(bert) + ", " + std::to_string(w.org1) + ") RETURNING group_id");
    w.append(info, "INBOX", message("Vraag", "Een vraag van een burger."));
    const std::string shared = "Shared/info@gemeente.nl/INBOX";

    // Before any grant the mailbox does not exist for anna, whatever she tries.
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::select(t, anna, shared); }).error(), errc::not_found));
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::set_acl(t, anna, shared, "anna@gemeente.nl", "lr"); }).error(),
             errc::not_found));

    REQUIRE(w.tx([&](pqxx::work& t) { return ops::set_acl(t, info, "INBOX", "anna@gemeente.nl", "lrs"); }).has_value());
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::set_acl(t, info, "INBOX", "balie", "lrswite"); }).has_value());
    auto snap = w.tx([&](pqxx::work& t) { return ops::select(t, anna, shared); });
    REQUIRE(snap.has_value());
    CHECK(snap->mailbox.rights == "lrs");
    CHECK(snap->messages.size() == 1);
    CHECK(snap->mailbox.owner_account_id == info);
    auto mb = snap->mailbox.id;
    auto uv = snap->mailbox.uidvalidity;
    // anna may set \Seen but not \Deleted, nor expunge, nor append.
    CHECK(w.tx([&](pqxx::work& t) { return ops::store_flags(t, anna, mb, uv, {{1, 1}}, flag_mode::add, {"\\Seen"}); }).has_value());
    CHECK(is(w.tx([&](pqxx::work& t) {
                 return ops::store_flags(t, anna, mb, uv, {{1, 1}}, flag_mode::add, {"\\Deleted"});
             }).error(),
             errc::permission_denied));
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::expunge(t, anna, mb, uv, std::nullopt); }).error(),
             errc::permission_denied));
    auto p = w.prepare(message("x", "y"));
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::append(t, anna, shared, p, {}, 0); }).error(),
             errc::permission_denied));
    // bert has the group's rights.
    CHECK(w.tx([&](pqxx::work& t) {
        return ops::store_flags(t, bert, mb, uv, {{1, 1}}, flag_mode::add, {"\\Deleted"});
    }).has_value());
    auto list = w.tx([&](pqxx::work& t) { return ops::list_mailboxes(t, bert); });
    REQUIRE(list.has_value());
    bool found = false;
    for (const auto& m : *list) found = found || m.name == shared;
    CHECK(found);
    auto acl = w.tx([&](pqxx::work& t) { return ops::get_acl(t, info, "INBOX"); });
    REQUIRE(acl.has_value());
    CHECK(acl->size() == 3);

    // The other organisation: no grant is possible and nothing is visible.
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::set_acl(t, info, "INBOX", "eve@other.example", "lr"); }).error(),
             errc::not_found));
    CHECK_THROWS(w.sql1("INSERT INTO mail.acl (mailbox_id, grantee_account_id, rights) VALUES (" + std::to_string(mb) +
                        ", " + std::to_string(stranger) + ", 'lr') RETURNING mailbox_id"));
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::select(t, stranger, shared); }).error(), errc::not_found));
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::fetch(t, stranger, mb, uv, {{1, 1}}); }).error(), errc::not_found));
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::changes_since(t, stranger, mb, uv, 0); }).error(), errc::not_found));
    CHECK(is(w.tx([&](pqxx::work& t) {
                 return ops::copy(t, stranger, mb, uv, {{1, 1}}, "INBOX", false);
             }).error(),
             errc::not_found));
    // Revoking removes visibility again.
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::set_acl(t, info, "INBOX", "anna@gemeente.nl", ""); }).has_value());
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::status(t, anna, shared); }).error(), errc::not_found));
}

TEST_CASE("search matches BODY and TEXT as substrings, FUZZY ones also by Dutch and English stem, with other criteria") {
    world w;
    auto a = w.account("anna");
    w.append(a, "INBOX", message("Uitnodiging", "De vergadering over de begroting is verplaatst naar donderdag."));
    w.append(a, "INBOX", message("Invitation", "The meeting about the budget moved to Thursday.",
                                 "Carol <carol@partner.example>"), {"\\Flagged"});
    w.append(a, "INBOX", message("Re: Uitnodiging", "Prima, tot dan."));
    auto snap = w.select(a, "INBOX");
    auto run = [&](const search_criterion& c) {
        auto r = w.tx([&](pqxx::work& t) { return ops::search(t, a, snap.mailbox.id, snap.mailbox.uidvalidity, c); });
        REQUIRE(r.has_value());
        return *r;
    };
    using v = std::vector<std::uint32_t>;
    CHECK(run(search_text(search_key::body, "vergaderingen")).empty());   // RFC: substring only
    CHECK(run(search_text(search_key::body, "meetings")).empty());
    CHECK(run(search_text(search_key::text, "meetings")).empty());
    CHECK(run(search_fuzzy(search_text(search_key::body, "vergaderingen"))) == v{1});   // Dutch stem
    CHECK(run(search_fuzzy(search_text(search_key::body, "meetings"))) == v{2});        // English stem
    CHECK(run(search_fuzzy(search_or({search_text(search_key::text, "meetings"),
                                      search_text(search_key::body, "groting")}))) == v{1, 2});
    CHECK(run(search_text(search_key::body, "groting")) == v{1});         // substring inside a word
    CHECK(run(search_fuzzy(search_text(search_key::body, "groting"))) == v{1});   // fuzzy keeps substrings
    auto ranked = w.tx([&](pqxx::work& t) {
        return ops::search_relevancy(t, a, snap.mailbox.id, snap.mailbox.uidvalidity,
                                     search_fuzzy(search_or({search_text(search_key::body, "meeting"),
                                                             search_text(search_key::body, "groting")})));
    });
    REQUIRE(ranked.has_value());
    REQUIRE(ranked->size() == 2);
    CHECK((*ranked)[0].first == 1);   // "groting" only as a substring: the lowest score
    CHECK((*ranked)[0].second == 1);
    CHECK((*ranked)[1].first == 2);
    CHECK((*ranked)[1].second > 1);
    CHECK((*ranked)[1].second <= 100);
    auto plain = w.tx([&](pqxx::work& t) {
        return ops::search_relevancy(t, a, snap.mailbox.id, snap.mailbox.uidvalidity,
                                     search_text(search_key::subject, "uitnodiging"));
    });
    REQUIRE(plain.has_value());
    CHECK(*plain == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{1, 100}, {3, 100}});
    CHECK(run(search_text(search_key::text, "partner.example")) == v{2});
    CHECK(run(search_text(search_key::subject, "uitnodiging")) == v{1, 3});
    CHECK(run(search_text(search_key::from, "CAROL")) == v{2});
    CHECK(run(search_header("Message-ID", "@example.org")) == v{1, 2, 3});
    CHECK(run(search_text(search_key::flag, "\\Flagged")) == v{2});
    CHECK(run(search_not(search_text(search_key::flag, "\\Flagged"))) == v{1, 3});
    CHECK(run(search_and({search_uids({{2, 3}}), search_text(search_key::unflag, "\\Flagged")})) == v{3});
    CHECK(run(search_or({search_text(search_key::body, "donderdag"), search_text(search_key::body, "thursday")})) ==
          v{1, 2});
    CHECK(run(search_number(search_key::sent_on, day_number(2026, 3, 2))) == v{1, 2, 3});
    CHECK(run(search_number(search_key::sent_before, day_number(2026, 3, 2))).empty());
    CHECK(run(search_number(search_key::larger, 1000000)).empty());
    CHECK(run(search_number(search_key::modseq, snap.highestmodseq)) == v{3});
}

TEST_CASE("a SEARCH of header keys decided in memory answers as PostgreSQL does, and only for the owner") {
    world w;
    auto a = w.account("anna");
    auto b = w.account("bert");
    // ASCII and non-ASCII case, an encoded-word subject, a field twice, an empty value.
    w.append(a, "INBOX", message("Uitnodiging ÉÉN", "x", "\"Élise Dupont\" <elise@example.org>"));
    w.append(a, "INBOX", "From: Bob <BOB@Example.ORG>\r\nTo: anna@gemeente.nl\r\nCc: Zoë <zoe@gemeente.nl>\r\n"
                         "Subject: =?UTF-8?Q?Vergadering_=C3=BCber?=\r\nX-Label: first\r\nX-Label: Tweede\r\n"
                         "X-Empty:\r\nMessage-ID: <m2@example.org>\r\n\r\nbody\r\n");
    w.append(a, "INBOX", message("re: uitnodiging één", "y", "Carol <carol@partner.example>"));
    w.append(a, "INBOX", message("Budget", "z"));
    auto snap = w.select(a, "INBOX");
    const auto mb = snap.mailbox.id;
    const auto uv = snap.mailbox.uidvalidity;
    header_cache cache(1 << 20);
    std::vector<search_criterion> cases{
        search_criterion{},
        search_text(search_key::subject, "uitnodiging"),
        search_text(search_key::subject, "ÉÉN"),
        search_text(search_key::subject, "één"),
        search_text(search_key::subject, "ÜBER"),
        search_text(search_key::subject, ""),
        search_text(search_key::from, "élise"),
        search_text(search_key::from, "bob@example.org"),
        search_text(search_key::to, "ANNA"),
        search_text(search_key::cc, "zoË"),
        search_text(search_key::bcc, "nobody"),
        search_header("x-label", "TWEEDE"),
        search_header("X-LABEL", "first"),
        search_header("X-Empty", ""),
        search_header("Subject", "=?utf-8?q?"),   // fields keep their raw value
        search_header("Message-ID", "@example.org"),
        search_header("X-Missing", ""),
        search_not(search_text(search_key::subject, "uitnodiging")),
        search_or({search_text(search_key::from, "carol"), search_header("x-label", "first")}),
        search_and({search_uids({{4, 2}}), search_not(search_text(search_key::subject, "budget"))}),
        search_uids({{3, 3}, {1, 1}}),
        search_fuzzy(search_text(search_key::subject, "budget")),
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(i);
        REQUIRE(decidable_in_memory(cases[i]));
        auto sql = w.tx([&](pqxx::work& t) { return ops::search(t, a, mb, uv, cases[i]); });
        REQUIRE(sql.has_value());
        for (int pass = 0; pass < 2; ++pass) {   // from the database, then from the cache
            auto mem = w.tx([&](pqxx::work& t) { return ops::search_in_memory(t, a, mb, uv, cases[i], cache); });
            REQUIRE(mem.has_value());
            CHECK(*mem == *sql);
        }
    }
    CHECK(cache.entries() == 4);
    CHECK(*w.tx([&](pqxx::work& t) { return ops::search_in_memory(t, a, mb, uv, search_text(search_key::subject, "één"),
                                                                  cache); }) == std::vector<std::uint32_t>{1, 3});
    // Not decided here: another's mailbox, a stale UIDVALIDITY, keys PostgreSQL decides,
    // criteria search() refuses.
    CHECK_FALSE(w.tx([&](pqxx::work& t) { return ops::search_in_memory(t, b, mb, uv, search_criterion{}, cache); }));
    CHECK_FALSE(w.tx([&](pqxx::work& t) { return ops::search_in_memory(t, a, mb, uv + 1, search_criterion{}, cache); }));
    CHECK_FALSE(decidable_in_memory(search_and({search_text(search_key::subject, "x"), search_text(search_key::body, "y")})));
    CHECK_FALSE(decidable_in_memory(search_text(search_key::flag, "\\Seen")));
    CHECK_FALSE(w.tx([&](pqxx::work& t) {
        return ops::search_in_memory(t, a, mb, uv, search_text(search_key::subject, std::string(max_search_string + 1, 'x')), cache);
    }));
    // An expunged message leaves the answer although its header text stays cached.
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::store_flags(t, a, mb, uv, {{1, 1}}, flag_mode::add, {"\\Deleted"}); }).has_value());
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::expunge(t, a, mb, uv, std::nullopt); }).has_value());
    CHECK(*w.tx([&](pqxx::work& t) { return ops::search_in_memory(t, a, mb, uv, search_text(search_key::subject, "één"),
                                                                  cache); }) == std::vector<std::uint32_t>{3});
    // Beyond max_memory_search entries the mailbox is PostgreSQL's to search.
    w.sql1("WITH x AS (INSERT INTO mail.mailbox_messages (mailbox_id, uid, message_id, size, modseq, internaldate) "
           "SELECT " + std::to_string(mb) + ", 100 + g, (SELECT message_id FROM mail.mailbox_messages WHERE mailbox_id = " +
           std::to_string(mb) + " AND uid = 3), 10, 1, now() FROM generate_series(1, " +
           std::to_string(max_memory_search) + ") AS g RETURNING 1) SELECT count(*) FROM x");
    CHECK_FALSE(w.tx([&](pqxx::work& t) {
        return ops::search_in_memory(t, a, mb, uv, search_text(search_key::subject, "één"), cache);
    }));
    auto many = w.tx([&](pqxx::work& t) { return ops::search(t, a, mb, uv, search_text(search_key::subject, "één")); });
    REQUIRE(many.has_value());
    CHECK(many->size() == max_memory_search + 1);
}

TEST_CASE("delivery notifies a listener on the account's channel after commit") {
    world w;
    auto a = w.account("anna");
    auto blob = store_bytes(w.blobs, message("Ping", "x"));
    REQUIRE(blob.has_value());
    asio::io_context io;
    db::pool pool(w.options, 2);
    mail_store store(pool, w.blobs);
    db::notifier notifier(io.get_executor(), w.options);
    notifier.start();
    std::string payload;
    std::int64_t delivered_to = 0;
    const std::vector<recipient> to{recipient{a, "INBOX"}};
    asio::co_spawn(io, [&]() -> awaitable<void> {
        auto sub = co_await notifier.listen(notify_channel(a), [&](std::string p) { payload = std::move(p); });
        auto r = co_await store.deliver(*blob, to, 1772442000);
        if (r) delivered_to = r->recipients[0].mailbox_id;
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (int i = 0; i < 100 && payload.empty(); ++i) {
            t.expires_after(std::chrono::milliseconds(50));
            co_await t.async_wait(use_awaitable);
        }
    }, asio::detached);
    io.run();
    notifier.stop();
    pool.stop();
    REQUIRE(delivered_to != 0);
    CHECK(payload == std::to_string(delivered_to));   // delivery: several modseqs, no ":modseq"
}

TEST_CASE("the one-statement STORE and recent claim apply to one's own mailbox only and change nothing otherwise") {
    world w;
    auto info = w.account("info");
    auto anna = w.account("anna");
    for (int i = 0; i < 3; ++i) w.append(info, "INBOX", message("M" + std::to_string(i), "x"));
    auto snap = w.select(info, "INBOX");
    auto mb = snap.mailbox.id;
    auto uv = snap.mailbox.uidvalidity;
    auto fast = w.tx([&](pqxx::work& t) {
        return ops::store_flags_own(t, info, mb, uv, {{2, 3}}, flag_mode::add, {"\\seen", "$Work"});
    });
    REQUIRE(fast.has_value());
    REQUIRE(fast->updated.size() == 2);
    CHECK(fast->updated[0].uid == 2);
    CHECK(fast->updated[0].flags == std::vector<std::string>{"$Work", "\\Seen"});
    CHECK(fast->updated[0].modseq == snap.highestmodseq + 1);
    // Nothing to change: no rows, but still "handled" (an empty result, not nullopt).
    auto same = w.tx([&](pqxx::work& t) { return ops::store_flags_own(t, info, mb, uv, {{2, 2}}, flag_mode::add, {"\\Seen"}); });
    REQUIRE(same.has_value());
    CHECK(same->updated.empty());
    // Not the owner, a stale UIDVALIDITY, or invalid flags: nullopt, and nothing changed.
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::set_acl(t, info, "INBOX", "anna@gemeente.nl", "lrsw"); }).has_value());
    auto before = w.select(info, "INBOX");
    CHECK_FALSE(w.tx([&](pqxx::work& t) {
        return ops::store_flags_own(t, anna, mb, uv, {{1, 1}}, flag_mode::add, {"\\Flagged"});
    }).has_value());
    CHECK_FALSE(w.tx([&](pqxx::work& t) {
        return ops::store_flags_own(t, info, mb, uv + 1, {{1, 1}}, flag_mode::add, {"\\Flagged"});
    }).has_value());
    CHECK_FALSE(w.tx([&](pqxx::work& t) {
        return ops::store_flags_own(t, info, mb, uv, {{1, 1}}, flag_mode::add, {"\\Recent"});
    }).has_value());
    auto after = w.select(info, "INBOX");
    CHECK(after.highestmodseq == before.highestmodseq);
    CHECK(after.messages[0].flags.empty());
    // The grantee's STORE still works through the checked path.
    auto shared = w.tx([&](pqxx::work& t) {
        return ops::store_flags(t, anna, mb, uv, {{1, 1}}, flag_mode::add, {"\\Flagged"});
    });
    REQUIRE(shared.has_value());
    CHECK(shared->updated.size() == 1);
    // \Recent: the first claim gets uids 1..3, the next nothing; a stranger's claim is not handled.
    auto first = w.tx([&](pqxx::work& t) { return ops::claim_recent_own(t, info, mb, uv); });
    REQUIRE(first.has_value());
    CHECK(*first == 1);
    auto second = w.tx([&](pqxx::work& t) { return ops::claim_recent_own(t, info, mb, uv); });
    REQUIRE(second.has_value());
    CHECK(*second == 4);
    CHECK_FALSE(w.tx([&](pqxx::work& t) { return ops::claim_recent_own(t, anna, mb, uv); }).has_value());
    CHECK_FALSE(w.tx([&](pqxx::work& t) { return ops::claim_recent_own(t, info, mb, uv + 1); }).has_value());
}

TEST_CASE("an APPEND from a session with a current view claims its message as recent, a stale view does not") {
    world w;
    auto a = w.account("anna");
    w.append(a, "INBOX", message("first", "x"));
    auto snap = w.select(a, "INBOX");
    auto p = w.prepare(message("second", "y"));
    auto r = w.tx([&](pqxx::work& t) {
        return ops::append(t, a, "INBOX", p, {"\\seen", "$Work"}, 1772442000, snap.highestmodseq);
    });
    REQUIRE(r.has_value());
    CHECK(r->uid == 2);
    CHECK(r->modseq == snap.highestmodseq + 1);
    CHECK(r->recent);
    CHECK(r->flags == std::vector<std::string>{"$Work", "\\Seen"});
    // The claim moved past uid 2: the next claimer gets only what comes after it.
    auto next = w.tx([&](pqxx::work& t) { return ops::claim_recent(t, a, snap.mailbox.id, snap.mailbox.uidvalidity); });
    REQUIRE(next.has_value());
    CHECK(*next == 3);
    // A view that missed a change (its modseq is old): no claim; a resync decides.
    auto q = w.prepare(message("third", "z"));
    auto stale = w.tx([&](pqxx::work& t) { return ops::append(t, a, "INBOX", q, {}, 1772442000, snap.highestmodseq); });
    REQUIRE(stale.has_value());
    CHECK_FALSE(stale->recent);
    CHECK(stale->modseq == r->modseq + 1);
    auto last = w.tx([&](pqxx::work& t) { return ops::claim_recent(t, a, snap.mailbox.id, snap.mailbox.uidvalidity); });
    REQUIRE(last.has_value());
    CHECK(*last == 3);
}

TEST_CASE("a message keeps its header block only when it is short plain ASCII") {
    const std::string plain = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
    auto p = prepare_bytes(blob::blob_id{}, plain);
    REQUIRE(p.has_value());
    REQUIRE(p->header_raw.has_value());
    CHECK(*p->header_raw == "From: a@example.org\r\nSubject: hi\r\n\r\n");
    auto eight_bit = prepare_bytes(blob::blob_id{}, "Subject: \xc3\xa9t\xc3\xa9\r\n\r\nbody\r\n");
    REQUIRE(eight_bit.has_value());
    CHECK(!eight_bit->header_raw);
    auto with_nul = prepare_bytes(blob::blob_id{}, std::string("Subject: a\0b\r\n\r\nbody\r\n", 22));
    REQUIRE(with_nul.has_value());
    CHECK(!with_nul->header_raw);
    std::string huge = "Subject: long\r\nX-Filler: " + std::string(max_stored_header, 'x') + "\r\n\r\nbody\r\n";
    auto big = prepare_bytes(blob::blob_id{}, huge);
    REQUIRE(big.has_value());
    CHECK(!big->header_raw);
}

TEST_CASE("search HEADER matches a value only in the named field, whatever the case, for owner and grantee alike") {
    world w;
    auto info = w.account("info");
    auto anna = w.account("anna");
    auto with_header = [](const std::string& subject, const std::string& extra) {
        return "From: Ann <ann@example.org>\r\nTo: Bob <bob@gemeente.nl>\r\nSubject: " + subject + "\r\n" + extra +
               "Date: Mon, 2 Mar 2026 10:00:00 +0100\r\n\r\nbody\r\n";
    };
    w.append(info, "INBOX", with_header("Report group-01", "X-Project: Harbour\r\n"));
    w.append(info, "INBOX", with_header("Report group-02", "X-Project: group-01\r\n"));
    w.append(info, "INBOX", with_header("Other", ""));
    auto snap = w.select(info, "INBOX");
    auto run = [&](std::int64_t who, const search_criterion& c) {
        auto r = w.tx([&](pqxx::work& t) { return ops::search(t, who, snap.mailbox.id, snap.mailbox.uidvalidity, c); });
        REQUIRE(r.has_value());
        return *r;
    };
    using v = std::vector<std::uint32_t>;
    CHECK(run(info, search_header("Subject", "GROUP-01")) == v{1});    // not message 2: only its X-Project has it
    CHECK(run(info, search_header("x-project", "group-01")) == v{2});
    CHECK(run(info, search_header("X-Project", "harb")) == v{1});
    CHECK(run(info, search_header("X-Project", "")) == v{1, 2});        // "" matches every message with the field
    CHECK(run(info, search_header("Subject", "absent")).empty());
    CHECK(run(info, search_not(search_header("Subject", "report"))) == v{3});
    // A grantee gets the same answers through the checked path; a stranger nothing.
    CHECK(is(w.tx([&](pqxx::work& t) {
                 return ops::search(t, anna, snap.mailbox.id, snap.mailbox.uidvalidity, search_header("Subject", "x"));
             }).error(),
             errc::not_found));
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::set_acl(t, info, "INBOX", "anna@gemeente.nl", "lr"); }).has_value());
    CHECK(run(anna, search_header("Subject", "group-01")) == v{1});
    auto wrong = w.tx([&](pqxx::work& t) {
        return ops::search(t, info, snap.mailbox.id, snap.mailbox.uidvalidity + 1, search_header("Subject", "x"));
    });
    CHECK(is(wrong.error(), errc::not_found));
    // FETCH of a grantee (checked path) and what it decodes.
    auto metas = w.tx([&](pqxx::work& t) {
        fetch_needs needs;
        needs.envelope = false;
        return ops::fetch(t, anna, snap.mailbox.id, snap.mailbox.uidvalidity, {{1, 3}}, needs);
    });
    REQUIRE(metas.has_value());
    REQUIRE(metas->size() == 3);
    CHECK((*metas)[0].parsed.env.subject == std::nullopt);            // not asked for
    CHECK((*metas)[0].parsed.body.body_start > 0);                     // asked for: the section ranges
    // Only the root's offsets (read by PostgreSQL from the stored JSON), no SORT columns:
    // the same ranges as the decoded structure, nothing else.
    auto roots = w.tx([&](pqxx::work& t) {
        fetch_needs needs;
        needs.envelope = false;
        needs.root_only = true;
        needs.sort = false;
        return ops::fetch(t, anna, snap.mailbox.id, snap.mailbox.uidvalidity, {{1, 3}}, needs);
    });
    REQUIRE(roots.has_value());
    REQUIRE(roots->size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& full = (*metas)[i].parsed.body;
        const auto& root = (*roots)[i].parsed.body;
        CHECK(root.header_start == full.header_start);
        CHECK(root.body_start == full.body_start);
        CHECK(root.body_end == full.body_end);
        CHECK(root.children.empty());
        CHECK((*roots)[i].sort_subject.empty());
        CHECK(!(*metas)[i].sort_subject.empty());
        CHECK(!(*metas)[i].header_raw);   // not asked for
    }
    // The header block stored at APPEND is the message's first octets up to the blank line.
    auto heads = w.tx([&](pqxx::work& t) {
        fetch_needs needs;
        needs.header_raw = true;
        return ops::fetch(t, info, snap.mailbox.id, snap.mailbox.uidvalidity, {{1, 3}}, needs);
    });
    REQUIRE(heads.has_value());
    REQUIRE(heads->size() == 3);
    for (const auto& h : *heads) {
        REQUIRE(h.header_raw.has_value());
        CHECK(h.header_raw->size() == h.parsed.body.body_start);
        CHECK(h.header_raw->rfind("From: ", 0) == 0);
        CHECK(h.header_raw->ends_with("\r\n\r\n"));
    }
    auto all = w.tx([&](pqxx::work& t) { return ops::fetch(t, info, snap.mailbox.id, snap.mailbox.uidvalidity, {{2, 2}}); });
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 1);
    CHECK((*all)[0].parsed.env.subject == std::optional<std::string>("Report group-02"));
    auto changes = w.tx([&](pqxx::work& t) {
        return ops::changes_since(t, anna, snap.mailbox.id, snap.mailbox.uidvalidity, 0);
    });
    REQUIRE(changes.has_value());
    CHECK(changes->changed.size() == 3);
    CHECK(changes->highestmodseq == snap.highestmodseq);
}

TEST_CASE("expunge records past their retention are pruned, and changes since before them list the mailbox's UIDs") {
    world w;
    auto a = w.account("anna");
    auto other = w.account("otto");
    for (int i = 0; i < 6; ++i) w.append(a, "INBOX", message("M", "x"), i % 2 ? std::vector<std::string>{"\\Deleted"}
                                                                                : std::vector<std::string>{});
    w.append(other, "INBOX", message("O", "y"), {"\\Deleted"});
    auto snap = w.select(a, "INBOX");
    auto mb = snap.mailbox.id;
    auto uv = snap.mailbox.uidvalidity;
    const auto start = snap.highestmodseq;
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::expunge(t, a, mb, uv, uid_set{{2, 2}}); }).has_value());
    const auto after_first = w.select(a, "INBOX").highestmodseq;
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::expunge(t, a, mb, uv, std::nullopt); }).has_value());
    auto osnap = w.select(other, "INBOX");
    REQUIRE(w.tx([&](pqxx::work& t) {
                return ops::expunge(t, other, osnap.mailbox.id, osnap.mailbox.uidvalidity, std::nullopt);
            }).has_value());

    // Nothing is older than an hour: nothing goes, and the changes are exact.
    CHECK(w.tx([&](pqxx::work& t) { return ops::prune_expunged(t, std::chrono::hours(1), 100); }) == 0);
    auto exact = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv, start); });
    REQUIRE(exact.has_value());
    CHECK(exact->expunges_known);
    CHECK(exact->expunged == std::vector<std::uint32_t>{2, 4, 6});
    CHECK(exact->present.empty());

    // The first EXPUNGE's record is 40 days old: pruned alone; the mailbox's floor is its
    // mod-sequence, so changes since before it are no longer exact, those since after are.
    w.tx([&](pqxx::work& t) {
        t.exec_params("UPDATE mail.expunged SET expunged_at = now() - interval '40 days' WHERE mailbox_id = $1 AND uid = 2",
                      mb);
    });
    CHECK(w.tx([&](pqxx::work& t) { return ops::prune_expunged(t, std::chrono::hours(24 * 30), 100); }) == 1);
    CHECK(w.sql1("SELECT count(*) FROM mail.expunged WHERE mailbox_id = " + std::to_string(mb)) == 2);
    CHECK(w.sql1("SELECT count(*) FROM mail.expunged WHERE mailbox_id = " + std::to_string(osnap.mailbox.id)) == 1);
    auto old = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv, start); });
    REQUIRE(old.has_value());
    CHECK_FALSE(old->expunges_known);
    CHECK(old->expunged.empty());
    CHECK(old->present == std::vector<std::uint32_t>{1, 3, 5});
    CHECK(old->uidnext == 7);
    auto recent = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv, after_first); });
    REQUIRE(recent.has_value());
    CHECK(recent->expunges_known);
    CHECK(recent->expunged == std::vector<std::uint32_t>{4, 6});
    // Another account still gets nothing of this mailbox.
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::changes_since(t, other, mb, uv, 0); }).error(), errc::not_found));

    // A mailbox row another transaction holds (an EXPUNGE in progress) is skipped, not
    // waited for; its records go in a later round.
    w.tx([&](pqxx::work& t) { t.exec("UPDATE mail.expunged SET expunged_at = now() - interval '40 days'"); });
    {
        auto holder = db::connect(w.options);
        pqxx::work h(*holder);
        h.exec_params("SELECT 1 FROM mail.mailboxes WHERE id = $1 FOR NO KEY UPDATE", mb);
        CHECK(w.tx([&](pqxx::work& t) { return ops::prune_expunged(t, std::chrono::hours(24 * 30), 100); }) == 1);
        h.commit();
    }
    CHECK(w.sql1("SELECT count(*) FROM mail.expunged WHERE mailbox_id = " + std::to_string(mb)) == 2);
    CHECK(w.tx([&](pqxx::work& t) { return ops::prune_expunged(t, std::chrono::hours(24 * 30), 1); }) == 1);
    CHECK(w.tx([&](pqxx::work& t) { return ops::prune_expunged(t, std::chrono::hours(24 * 30), 100); }) == 1);
    CHECK(w.sql1("SELECT count(*) FROM mail.expunged") == 0);
    auto none = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv, after_first); });
    REQUIRE(none.has_value());
    CHECK_FALSE(none->expunges_known);
    CHECK(none->present == std::vector<std::uint32_t>{1, 3, 5});
    auto now = w.tx([&](pqxx::work& t) { return ops::changes_since(t, a, mb, uv, none->highestmodseq); });
    REQUIRE(now.has_value());
    CHECK(now->expunges_known);
    CHECK(now->expunged.empty());

    // The housekeeper prunes by itself with a retention set.
    REQUIRE(w.tx([&](pqxx::work& t) {
                return ops::store_flags(t, a, mb, uv, {{1, 1}}, flag_mode::add, {"\\Deleted"});
            }).has_value());
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::expunge(t, a, mb, uv, std::nullopt); }).has_value());
    w.tx([&](pqxx::work& t) { t.exec("UPDATE mail.expunged SET expunged_at = now() - interval '2 hours'"); });
    asio::io_context io;
    db::pool pool(w.options, 1);
    housekeeper::options opt;
    opt.idle = std::chrono::milliseconds(20);
    opt.expunged_retention = std::chrono::hours(1);
    housekeeper hk(pool, io.get_executor(), opt);
    hk.start();
    for (int i = 0; i < 200 && w.sql1("SELECT count(*) FROM mail.expunged") > 0; ++i)
        io.run_for(std::chrono::milliseconds(20));
    hk.stop();
    io.run_for(std::chrono::milliseconds(100));
    CHECK(w.sql1("SELECT count(*) FROM mail.expunged") == 0);
}

TEST_CASE("a mailbox deleted for its children and created again reports every UID it held as gone") {
    world w;
    auto a = w.account("anna");
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::create_mailbox(t, a, "Work", std::nullopt); }).has_value());
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::create_mailbox(t, a, "Work/Sub", std::nullopt); }).has_value());
    for (int i = 0; i < 3; ++i) w.append(a, "Work", message("W", "x"));
    auto before = w.select(a, "Work");
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::delete_mailbox(t, a, "Work"); }).has_value());
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::create_mailbox(t, a, "Work", std::nullopt); }).has_value());
    w.append(a, "Work", message("W2", "y"));
    auto after = w.select(a, "Work");
    REQUIRE(after.mailbox.uidvalidity == before.mailbox.uidvalidity);
    auto ch = w.tx([&](pqxx::work& t) {
        return ops::changes_since(t, a, after.mailbox.id, after.mailbox.uidvalidity, before.highestmodseq);
    });
    REQUIRE(ch.has_value());
    CHECK_FALSE(ch->expunges_known);
    CHECK(ch->present == std::vector<std::uint32_t>{4});
    CHECK(ch->uidnext == 5);
}

TEST_CASE("expunged mail and the mail of a deleted mailbox stay recoverable until restored, purged or pruned") {
    world w;
    auto a = w.account("anna");
    auto other = w.account("otto");
    const std::string small = message("Kept", "x");
    w.append(a, "INBOX", small, {"\\Seen", "\\Deleted"});
    w.append(a, "INBOX", small, {});
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::create_mailbox(t, a, "Work/Plans", std::nullopt); }).has_value());
    w.append(a, "Work/Plans", message("Plan", "y"), {"\\Flagged"});
    auto snap = w.select(a, "INBOX");
    REQUIRE(w.tx([&](pqxx::work& t) {
                return ops::expunge(t, a, snap.mailbox.id, snap.mailbox.uidvalidity, std::nullopt);
            }).has_value());
    REQUIRE(w.tx([&](pqxx::work& t) { return ops::delete_mailbox(t, a, "Work/Plans"); }).has_value());

    auto listed = w.tx([&](pqxx::work& t) {
        return ops::list_recoverable(t, a, std::nullopt, std::nullopt, 100);
    });
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].mailbox == "INBOX");
    CHECK(listed[0].flags == std::vector<std::string>{"\\Seen"});   // without \Deleted
    CHECK(listed[0].subject == "Kept");
    CHECK(listed[1].mailbox == "Work/Plans");
    CHECK(w.tx([&](pqxx::work& t) { return ops::list_recoverable(t, a, std::string("work"), std::nullopt, 100); })
              .empty());   // names are case-sensitive (but INBOX)
    CHECK(w.tx([&](pqxx::work& t) { return ops::list_recoverable(t, a, std::string("Work"), std::nullopt, 100); })
              .size() == 1);   // the mailbox and those below it
    CHECK(w.tx([&](pqxx::work& t) { return ops::list_recoverable(t, other, std::nullopt, std::nullopt, 100); })
              .empty());
    // The messages stay while recoverable, whatever the collector does.
    CHECK(w.tx([&](pqxx::work& t) { return ops::collect_messages(t, 1000); }) >= 1);
    CHECK(w.sql1("SELECT count(*) FROM mail.messages m JOIN mail.recoverable r ON r.message_id = m.id") == 2);

    // Another account's ids are unknown to it, and restore nothing.
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::restore_recoverable(t, other, {listed[0].id}, std::nullopt); })
                 .error(),
             errc::not_found));
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::purge_recoverable(t, other, {listed[0].id}); }).error(),
             errc::not_found));

    // Restored where it was: the deleted mailbox comes back, with a new UID and the flags.
    auto r = w.tx([&](pqxx::work& t) { return ops::restore_recoverable(t, a, {listed[1].id}, std::nullopt); });
    REQUIRE(r.has_value());
    CHECK(r->messages == 1);
    CHECK(r->mailboxes == std::map<std::string, std::size_t>{{"Work/Plans", 1}});
    auto plans = w.select(a, "Work/Plans");
    CHECK(plans.messages.size() == 1);
    CHECK(w.sql1("SELECT count(*) FROM mail.mailbox_messages mm WHERE mm.mailbox_id = " +
                 std::to_string(plans.mailbox.id) + " AND mm.flags = ARRAY['\\Flagged']") == 1);
    // Over the quota: nothing restored.
    w.tx([&](pqxx::work& t) { t.exec_params("UPDATE directory.accounts SET quota_bytes = 1 WHERE id = $1", a); });
    CHECK(is(w.tx([&](pqxx::work& t) { return ops::restore_recoverable(t, a, {}, std::string("Restored")); }).error(),
             errc::quota_exceeded));
    w.tx([&](pqxx::work& t) { t.exec_params("UPDATE directory.accounts SET quota_bytes = NULL WHERE id = $1", a); });
    CHECK(w.tx([&](pqxx::work& t) { return ops::list_recoverable(t, a, std::nullopt, std::nullopt, 100); }).size() ==
          1);

    // Pruned once older than the retention; then the collector takes the message.
    const auto gone_message = w.sql1("SELECT message_id FROM mail.recoverable");
    CHECK(w.tx([&](pqxx::work& t) { return ops::prune_recoverable(t, std::chrono::hours(24), 100); }) == 0);
    w.tx([&](pqxx::work& t) { t.exec("UPDATE mail.recoverable SET deleted_at = now() - interval '20 days'"); });
    CHECK(w.tx([&](pqxx::work& t) { return ops::prune_recoverable(t, std::chrono::hours(24 * 14), 100); }) == 1);
    CHECK(w.sql1("SELECT count(*) FROM mail.recoverable") == 0);
    w.tx([&](pqxx::work& t) { return ops::collect_messages(t, 1000); });
    CHECK(w.sql1("SELECT count(*) FROM mail.messages WHERE id = " + std::to_string(gone_message)) == 0);
    CHECK(w.sql1("SELECT count(*) FROM mail.mailbox_messages") == 2);   // INBOX's other, Work/Plans's
}
