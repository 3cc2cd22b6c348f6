// cmd_mailbox.cpp - the authenticated-state commands: ENABLE, ID, NAMESPACE, LIST, LSUB,
// CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, SELECT, EXAMINE, APPEND, QUOTA
// and ACL commands.
//
// SECURITY: every mailbox name goes to the mail store with the logged-in account, which
// checks ownership and RFC 4314 rights (unknown and invisible mailboxes are the same
// NONEXISTENT); APPEND data is bounded by the parser (APPENDLIMIT) before it arrives here
// and stored durably before the mailbox row references it.
// STANDARDS: RFC 9051 6.3, RFC 3501 6.3, RFC 5161 (ENABLE), RFC 2971 (ID), RFC 2342
// (NAMESPACE), RFC 5258 (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE,
// CREATE-SPECIAL-USE), RFC 3348 (CHILDREN), RFC 4315 (APPENDUID), RFC 7889 (APPENDLIMIT),
// RFC 8438 (STATUS=SIZE), RFC 7162 (HIGHESTMODSEQ, CONDSTORE enabling), RFC 9208 (QUOTA),
// RFC 4314 (ACL).
#include "session.hpp"

#include "polder/log/log.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>

namespace polder::imap {

using proto::command_kind;
using proto::response_code;
using proto::response_status;
using proto::code_kind;

namespace {

// wildcard_match - RFC 9051 6.3.9: "*" matches anything, "%" anything but the delimiter.
bool wildcard_match(std::string_view name, std::string_view pattern) {
    // Iterative matching with backtracking to the last wildcard; "%" cannot cross '/'.
    std::vector<std::vector<char>> memo(pattern.size() + 1, std::vector<char>(name.size() + 1, -1));
    auto rec = [&](auto&& self, std::size_t p, std::size_t n) -> bool {
        auto& m = memo[p][n];
        if (m >= 0) return m;
        bool r;
        if (p == pattern.size()) {
            r = n == name.size();
        } else if (pattern[p] == '*') {
            r = self(self, p + 1, n) || (n < name.size() && self(self, p, n + 1));
        } else if (pattern[p] == '%') {
            r = self(self, p + 1, n) || (n < name.size() && name[n] != '/' && self(self, p, n + 1));
        } else {
            r = n < name.size() && name[n] == pattern[p] && self(self, p + 1, n + 1);
        }
        m = r;
        return r;
    };
    return rec(rec, 0, 0);
}

// canonical_pattern - "inbox..." as the first level means INBOX (RFC 9051 5.1).
std::string canonical_pattern(std::string reference, std::string_view pattern) {
    std::string full = std::move(reference);
    if (!full.empty() && full.back() != '/' && !pattern.empty()) full += '/';
    full += pattern;
    if (full.size() >= 5 && proto::iequals(full.substr(0, 5), "INBOX") && (full.size() == 5 || full[5] == '/'))
        full.replace(0, 5, "INBOX");
    return full;
}

struct list_item {
    std::string name;
    const mailstore::mailbox_info* info = nullptr;   // null: a parent that does not exist itself
    bool has_children = false;
    bool subscribed = false;
    bool child_subscribed = false;
};

std::vector<list_item> list_items(const std::vector<mailstore::mailbox_info>& boxes) {
    std::map<std::string, list_item> items;
    for (const auto& b : boxes) {
        auto& it = items[b.name];
        it.name = b.name;
        it.info = &b;
        it.subscribed = b.subscribed;
    }
    for (const auto& b : boxes) {
        for (const auto& parent : mailstore::parent_names(b.name)) {
            auto& it = items[parent];
            it.name = parent;
            it.has_children = true;
            if (b.subscribed) it.child_subscribed = true;
        }
    }
    std::vector<list_item> out;
    for (auto& [_, it] : items) out.push_back(std::move(it));
    return out;
}

}  // namespace

awaitable<void> session::cmd_enable(const proto::command& cmd) {
    std::vector<std::string> enabled;
    for (const auto& c : cmd.get<proto::enable_args>().capabilities) {
        if (c == "IMAP4REV2" && !rev2_) {
            rev2_ = true;
            utf8_ = true;
            parser_.set_utf8(true);
            w_.set_utf8(true);
            enabled.push_back("IMAP4rev2");
        } else if (c == "CONDSTORE" && !condstore_) {
            condstore_ = true;
            enabled.push_back("CONDSTORE");
        } else if (c == "QRESYNC" && !qresync_) {
            qresync_ = true;   // implies CONDSTORE (RFC 7162 3.2.3)
            condstore_ = true;
            enabled.push_back("QRESYNC");
        }
    }
    if (!enabled.empty()) w_.enabled(enabled);
    w_.tagged(cmd.tag, response_status::ok, "ENABLE completed");
    co_return;
}

void session::cmd_id(const proto::command& cmd) {
    std::vector<std::pair<std::string, std::optional<std::string>>> params{{"name", "Polder"}, {"vendor", "Polder"}};
    w_.id(params);
    w_.tagged(cmd.tag, response_status::ok, "ID completed");
}

void session::cmd_namespace(const proto::command& cmd) {
    std::vector<proto::namespace_entry> personal{{"", '/'}};
    std::vector<proto::namespace_entry> other{{std::string(mailstore::shared_prefix) + "/", '/'}};
    w_.namespaces(personal, other, {});
    w_.tagged(cmd.tag, response_status::ok, "NAMESPACE completed");
}

awaitable<void> session::cmd_list(const proto::command& cmd) {
    const auto& a = cmd.get<proto::list_args>();
    if (a.patterns.size() == 1 && a.patterns[0].empty() && !a.select_subscribed && !a.select_special_use) {
        // RFC 9051 6.3.9: an empty pattern asks for the hierarchy delimiter and root.
        proto::list_entry e{{"\\Noselect"}, '/', "", false, std::nullopt};
        w_.list(e);
        w_.tagged(cmd.tag, response_status::ok, "LIST completed");
        co_return;
    }
    auto boxes = co_await d_.store.list_mailboxes(user_->account_id);
    if (!boxes) {
        reply_error(cmd.tag, boxes.error(), "LIST");
        co_return;
    }
    std::vector<std::string> patterns;
    for (const auto& p : a.patterns)
        if (!p.empty()) patterns.push_back(canonical_pattern(a.reference, p));
    const bool show_special = a.return_special_use || a.select_special_use || !a.extended;
    for (const auto& it : list_items(*boxes)) {
        if (std::none_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return wildcard_match(it.name, p); }))
            continue;
        bool childinfo = false;
        if (a.select_subscribed && !it.subscribed) {
            if (!(a.select_recursivematch && it.child_subscribed)) continue;
            childinfo = true;
        }
        if (a.select_special_use && !(it.info && it.info->special_use)) continue;
        proto::list_entry e;
        e.delimiter = '/';
        e.name = it.name;
        e.childinfo_subscribed = childinfo;
        if (!it.info) {
            e.attributes.push_back(a.extended ? "\\NonExistent" : "\\Noselect");
        } else if (it.info->noselect) {
            e.attributes.push_back("\\Noselect");
        }
        e.attributes.push_back(it.has_children ? "\\HasChildren" : "\\HasNoChildren");
        if (show_special && it.info && it.info->special_use) e.attributes.push_back(*it.info->special_use);
        if ((a.return_subscribed || a.select_subscribed) && it.subscribed) e.attributes.push_back("\\Subscribed");
        w_.list(e);
        if (a.return_status && it.info && !it.info->noselect) {
            auto ec = co_await write_status(it.name, *a.return_status);
            (void)ec;   // RFC 5819: a mailbox whose STATUS fails just gets no STATUS response
        }
    }
    w_.tagged(cmd.tag, response_status::ok, "LIST completed");
}

awaitable<void> session::cmd_lsub(const proto::command& cmd) {
    const auto& a = cmd.get<proto::lsub_args>();
    auto boxes = co_await d_.store.list_mailboxes(user_->account_id);
    if (!boxes) {
        reply_error(cmd.tag, boxes.error(), "LSUB");
        co_return;
    }
    auto pattern = canonical_pattern(a.reference, a.pattern);
    for (const auto& it : list_items(*boxes)) {
        if (!wildcard_match(it.name, pattern)) continue;
        if (!it.subscribed) {
            // RFC 3501 6.3.9: "%" may return a parent of subscribed mailboxes as \Noselect.
            if (!(it.child_subscribed && pattern.find('%') != std::string::npos)) continue;
            w_.lsub({{"\\Noselect"}, '/', it.name, false, std::nullopt});
            continue;
        }
        proto::list_entry e{{}, '/', it.name, false, std::nullopt};
        if (!it.info || it.info->noselect) e.attributes.push_back("\\Noselect");
        w_.lsub(e);
    }
    w_.tagged(cmd.tag, response_status::ok, "LSUB completed");
}

awaitable<void> session::cmd_create(const proto::command& cmd) {
    const auto& a = cmd.get<proto::create_args>();
    std::optional<std::string> use;
    if (a.special_use.size() > 1) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::useattr},
                  "Only one special-use attribute per mailbox");
        co_return;
    }
    if (!a.special_use.empty()) use = a.special_use[0];
    std::string name = a.mailbox;
    while (!name.empty() && name.back() == '/') name.pop_back();   // RFC 9051 6.3.4: trailing delimiter
    auto r = co_await d_.store.create_mailbox(user_->account_id, name, use);
    if (!r) {
        if (use && is(r.error(), errc::invalid_argument))
            w_.tagged(cmd.tag, response_status::no, response_code{code_kind::useattr}, "Unsupported special-use attribute");
        else
            reply_error(cmd.tag, r.error(), "CREATE");
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, "CREATE completed");
}

awaitable<void> session::cmd_delete(const proto::command& cmd) {
    // Deleting the selected mailbox is allowed; the next sync finds it gone and deselects.
    const auto& name = cmd.get<proto::mailbox_args>().mailbox;
    auto r = co_await d_.store.delete_mailbox(user_->account_id, name);
    if (!r) {
        reply_error(cmd.tag, r.error(), "DELETE");
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, "DELETE completed");
}

awaitable<void> session::cmd_rename(const proto::command& cmd) {
    const auto& a = cmd.get<proto::rename_args>();
    std::string to = a.to;
    while (!to.empty() && to.back() == '/') to.pop_back();
    auto r = co_await d_.store.rename_mailbox(user_->account_id, a.from, to);
    if (!r) {
        reply_error(cmd.tag, r.error(), "RENAME");
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, "RENAME completed");
}

awaitable<void> session::cmd_subscribe(const proto::command& cmd, bool on) {
    auto r = co_await d_.store.subscribe(user_->account_id, cmd.get<proto::mailbox_args>().mailbox, on);
    if (!r) {
        reply_error(cmd.tag, r.error(), on ? "SUBSCRIBE" : "UNSUBSCRIBE");
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

awaitable<boost::system::error_code> session::write_status(const std::string& name,
                                                           const std::vector<proto::status_item>& items) {
    auto st = co_await d_.store.status(user_->account_id, name);
    if (!st) co_return st.error();
    std::vector<std::pair<proto::status_item, std::uint64_t>> values;
    for (auto item : items) {
        std::uint64_t v = 0;
        switch (item) {
            case proto::status_item::messages: v = st->messages; break;
            case proto::status_item::uidnext: v = st->uidnext; break;
            case proto::status_item::uidvalidity: v = st->uidvalidity; break;
            case proto::status_item::unseen: v = st->unseen; break;
            case proto::status_item::deleted: v = st->deleted; break;
            case proto::status_item::size: v = st->size; break;
            case proto::status_item::recent: v = st->recent; break;
            case proto::status_item::highestmodseq: v = st->highestmodseq; break;
            case proto::status_item::appendlimit: v = d_.settings.imap.max_literal_size; break;
        }
        values.emplace_back(item, v);
    }
    w_.status(name, values);
    if (std::find(items.begin(), items.end(), proto::status_item::highestmodseq) != items.end()) condstore_ = true;
    co_return boost::system::error_code{};
}

awaitable<void> session::cmd_status(const proto::command& cmd) {
    const auto& a = cmd.get<proto::status_args>();
    auto ec = co_await write_status(a.mailbox, a.items);
    if (ec) {
        reply_error(cmd.tag, ec, "STATUS");
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, "STATUS completed");
}

std::vector<std::string> session::permanent_flags() const {
    std::vector<std::string> out;
    const auto& r = sel_->mailbox.rights;
    if (sel_->read_only) return out;
    if (mailstore::has_rights(r, "w")) {
        out.insert(out.end(), {"\\Answered", "\\Flagged", "\\Draft"});
    }
    if (mailstore::has_rights(r, "t")) out.push_back("\\Deleted");
    if (mailstore::has_rights(r, "s")) out.push_back("\\Seen");
    if (mailstore::has_rights(r, "w")) {
        out.insert(out.end(), sel_->keywords.begin(), sel_->keywords.end());
        out.push_back("\\*");
    }
    return out;
}

awaitable<void> session::cmd_select(const proto::command& cmd, bool examine) {
    const auto& a = cmd.get<proto::select_args>();
    if (a.qresync && !qresync_) {
        bad(cmd.tag, "ENABLE QRESYNC first");
        co_return;
    }
    if (sel_) {
        deselect();
        state_ = proto::session_state::authenticated;
        if (qresync_) w_.untagged(response_status::ok, response_code{code_kind::closed}, "Previous mailbox closed");
    }
    if (a.condstore) condstore_ = true;
    auto snap = co_await d_.store.select(user_->account_id, a.mailbox);
    if (!snap) {
        reply_error(cmd.tag, snap.error(), examine ? "EXAMINE" : "SELECT");
        co_return;
    }
    selected_state s;
    s.mailbox = std::move(snap->mailbox);
    const auto& rights = s.mailbox.rights;
    s.read_only = examine || !(mailstore::has_rights(rights, "s") || mailstore::has_rights(rights, "w") ||
                               mailstore::has_rights(rights, "t") || mailstore::has_rights(rights, "e"));
    s.highestmodseq = snap->highestmodseq;
    s.uidnext = snap->uidnext;
    s.keywords = std::move(snap->keywords);
    for (auto& m : snap->messages) s.messages.push_back({m.uid, std::move(m.flags), m.modseq, false});
    sel_ = std::move(s);
    notified_modseq_ = 0;   // what earlier NOTIFYs said was about another view
    state_ = proto::session_state::selected;
    std::uint32_t recent = 0;
    if (!sel_->read_only && !rev2_) {
        auto low = co_await d_.store.claim_recent(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity);
        if (low)
            for (auto& m : sel_->messages)
                if (m.uid >= *low) {
                    m.recent = true;
                    ++recent;
                }
    }
    if (sel_->mailbox.owner_account_id != user_->account_id) co_await listen_for(sel_->mailbox.owner_account_id);

    std::vector<std::string> flags{"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"};
    flags.insert(flags.end(), sel_->keywords.begin(), sel_->keywords.end());
    w_.flags(flags);
    w_.untagged(response_status::ok, response_code::permanentflags(permanent_flags()), "Flags permitted");
    w_.exists(static_cast<std::uint32_t>(sel_->messages.size()));
    if (!rev2_) {
        w_.recent(recent);
        for (std::size_t i = 0; i < sel_->messages.size(); ++i) {
            const auto& f = sel_->messages[i].flags;
            if (std::find(f.begin(), f.end(), "\\Seen") == f.end()) {
                w_.untagged(response_status::ok, response_code::unseen(static_cast<std::uint32_t>(i + 1)),
                            "First unseen");
                break;
            }
        }
    }
    w_.untagged(response_status::ok, response_code::uidvalidity(sel_->mailbox.uidvalidity), "UIDs valid");
    w_.untagged(response_status::ok,
                response_code::uidnext(static_cast<std::uint32_t>(std::min<std::uint64_t>(sel_->uidnext, UINT32_MAX))),
                "Predicted next UID");
    w_.untagged(response_status::ok, response_code::highestmodseq(sel_->highestmodseq), "Highest");
    if (a.qresync && a.qresync->uidvalidity == sel_->mailbox.uidvalidity) co_await qresync_select(*a.qresync);
    if (rev2_) {
        proto::list_entry e{{}, '/', sel_->mailbox.name, false, std::nullopt};
        if (sel_->mailbox.special_use) e.attributes.push_back(*sel_->mailbox.special_use);
        w_.list(e);
    }
    w_.tagged(cmd.tag, response_status::ok, response_code{sel_->read_only ? code_kind::read_only : code_kind::read_write},
              examine ? "EXAMINE completed" : "SELECT completed");
}

awaitable<void> session::qresync_select(const proto::qresync_params& q) {
    auto ch = co_await d_.store.changes_since(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity, q.modseq);
    if (!ch) co_return;   // the SELECT itself succeeded; the client falls back to a full resync
    std::uint32_t largest = sel_->messages.empty() ? 0 : sel_->messages.back().uid;
    if (ch->expunges_known) {
        std::vector<std::uint32_t> gone;
        for (auto u : ch->expunged)
            if ((!q.known_uids || q.known_uids->contains(u, std::max(largest, u))) && !seq_of(u)) gone.push_back(u);
        if (!gone.empty()) w_.vanished(gone, true);
    } else {
        // The records of expunges since the client's mod-sequence were pruned (schema 0114):
        // every UID it may know that is not in the mailbox (RFC 7162 section 3.2.6).
        const auto top = static_cast<std::uint32_t>(std::min<std::uint64_t>(ch->uidnext - 1, UINT32_MAX));
        std::optional<std::vector<proto::seq_range>> known;
        if (q.known_uids) known = q.known_uids->normalized(std::max(largest, top));
        const auto gone = proto::missing_ranges(ch->present, view_uids(), top, known ? &*known : nullptr);
        if (!gone.empty()) w_.vanished(std::span<const proto::seq_range>(gone), true);
    }
    for (const auto& c : ch->changed) {
        auto* m = find(c.uid);
        if (!m) continue;
        if (q.known_uids && !q.known_uids->contains(c.uid, largest)) continue;
        auto f = w_.fetch(seq_of(c.uid));
        auto flags = m->flags;
        if (m->recent) flags.push_back("\\Recent");
        f.uid(c.uid).flags(flags).modseq(m->modseq);
        f.finish();
    }
}

awaitable<void> session::cmd_append(const proto::command& cmd) {
    auto& a = const_cast<proto::command&>(cmd).get<proto::append_args>();
    if (a.messages.size() != 1) {
        bad(cmd.tag, "MULTIAPPEND is not supported");
        co_return;
    }
    auto& msg = a.messages[0];
    if (msg.data.empty()) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::cannot}, "Empty messages are not stored");
        co_return;
    }
    std::vector<std::string> flags;
    for (auto& f : msg.flags)
        if (f != "\\Recent") flags.push_back(f);
    std::int64_t internaldate = msg.internal_date ? proto::to_unix(*msg.internal_date)
                                                  : std::chrono::duration_cast<std::chrono::seconds>(
                                                        std::chrono::system_clock::now().time_since_epoch())
                                                        .count();
    // A small message is parsed here and stored with its row, made durable by the commit
    // (schema 0109): no blob file, no flush of its own, no trip to the blob threads. A
    // larger one is written durably to the blob store, then parsed from the bytes in
    // memory (not read back from the blob).
    result<mailstore::prepared_message> prepared = errc::internal;
    if (msg.data.size() <= mailstore::max_inline_message) {
        prepared = mailstore::prepare_inline(std::move(msg.data));
    } else {
        prepared = co_await d_.on_blob_thread([&]() -> result<mailstore::prepared_message> {
            auto blob = mailstore::store_bytes(d_.store.blobs(), msg.data);
            if (!blob) return blob.error();
            return mailstore::prepare_bytes(*blob, msg.data);
        });
    }
    if (!prepared) {
        reply_error(cmd.tag, prepared.error(), "APPEND");
        co_return;
    }
    std::string().swap(msg.data);
    // Kept for the process's message cache once stored (imapd.hpp).
    auto octets = prepared->raw;
    // Appending to the selected mailbox: an IMAP4rev1 session claims the new message as
    // \Recent in the same statement when nothing else changed since its view.
    std::optional<std::uint64_t> claim;
    if (sel_ && !sel_->read_only && !rev2_) claim = sel_->highestmodseq;
    auto r = co_await d_.store.append(user_->account_id, a.mailbox, std::move(*prepared), flags, internaldate, claim);
    if (!r) {
        reply_error(cmd.tag, r.error(), "APPEND", true);
        co_return;
    }
    if (octets) d_.message_cache.put(r->message_row, std::move(octets));
    if (sel_ && r->mailbox_id == sel_->mailbox.id) {
        auto& v = sel_->messages;
        if (r->modseq == sel_->highestmodseq + 1 && (v.empty() || v.back().uid < r->uid)) {
            // Exactly one change since this view, and it is this APPEND: the view is
            // complete with the new message, so no resync round trip (what sync() would
            // announce: expunges seen earlier, EXISTS, and RECENT for IMAP4rev1).
            announce_expunges();
            v.push_back({r->uid, r->flags, r->modseq, r->recent});
            sel_->highestmodseq = r->modseq;
            sel_->uidnext = std::max<std::uint64_t>(sel_->uidnext, std::uint64_t{r->uid} + 1);
            w_.exists(static_cast<std::uint32_t>(v.size()));
            if (!rev2_) {
                std::uint32_t recent = 0;
                for (const auto& m : v) recent += m.recent ? 1 : 0;
                w_.recent(recent);
            }
        } else {
            co_await sync(true);
        }
    }
    std::array<std::uint32_t, 1> uids{r->uid};
    w_.tagged(cmd.tag, response_status::ok, response_code::appenduid(r->uidvalidity, uids), "APPEND completed");
}

// ----------------------------------------------------------------------------- QUOTA

awaitable<void> session::cmd_getquotaroot(const proto::command& cmd) {
    const auto& name = cmd.get<proto::mailbox_args>().mailbox;
    auto st = co_await d_.store.status(user_->account_id, name);
    if (!st) {
        reply_error(cmd.tag, st.error(), "GETQUOTAROOT");
        co_return;
    }
    auto q = co_await d_.store.quota(user_->account_id);
    if (!q) {
        reply_error(cmd.tag, q.error(), "GETQUOTAROOT");
        co_return;
    }
    // One quota root, "", for the account's own mailboxes; shared ones count against
    // their owner, whose quota is not the caller's business.
    bool own = name.rfind(std::string(mailstore::shared_prefix) + "/", 0) != 0;
    std::vector<std::string> roots;
    if (own && q->limit_bytes) roots.push_back("");
    w_.quotaroot(name, roots);
    if (!roots.empty()) {
        std::vector<proto::quota_resource> res{{"STORAGE", q->used_bytes / 1024, *q->limit_bytes / 1024}};
        w_.quota("", res);
    }
    w_.tagged(cmd.tag, response_status::ok, "GETQUOTAROOT completed");
}

awaitable<void> session::cmd_getquota(const proto::command& cmd) {
    const auto& root = cmd.get<proto::getquota_args>().root;
    auto q = co_await d_.store.quota(user_->account_id);
    if (!q) {
        reply_error(cmd.tag, q.error(), "GETQUOTA");
        co_return;
    }
    if (!root.empty() || !q->limit_bytes) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::nonexistent}, "No such quota root");
        co_return;
    }
    std::vector<proto::quota_resource> res{{"STORAGE", q->used_bytes / 1024, *q->limit_bytes / 1024}};
    w_.quota("", res);
    w_.tagged(cmd.tag, response_status::ok, "GETQUOTA completed");
}

// ----------------------------------------------------------------------------- ACL

awaitable<void> session::cmd_getacl(const proto::command& cmd) {
    const auto& name = cmd.get<proto::mailbox_args>().mailbox;
    auto acl = co_await d_.store.get_acl(user_->account_id, name);
    if (!acl) {
        reply_error(cmd.tag, acl.error(), "GETACL");
        co_return;
    }
    std::vector<proto::acl_entry> entries;
    for (const auto& e : *acl) entries.push_back({e.identifier, e.rights});
    w_.acl(name, entries);
    w_.tagged(cmd.tag, response_status::ok, "GETACL completed");
}

awaitable<void> session::cmd_myrights(const proto::command& cmd) {
    const auto& name = cmd.get<proto::mailbox_args>().mailbox;
    auto boxes = co_await d_.store.list_mailboxes(user_->account_id);
    if (!boxes) {
        reply_error(cmd.tag, boxes.error(), "MYRIGHTS");
        co_return;
    }
    auto it = std::find_if(boxes->begin(), boxes->end(), [&](const auto& b) { return b.name == name; });
    if (it == boxes->end()) {
        reply_error(cmd.tag, make_error_code(errc::not_found), "MYRIGHTS");
        co_return;
    }
    w_.myrights(name, it->rights);
    w_.tagged(cmd.tag, response_status::ok, "MYRIGHTS completed");
}

awaitable<void> session::cmd_listrights(const proto::command& cmd) {
    const auto& a = cmd.get<proto::acl_identifier_args>();
    // LISTRIGHTS needs the administer right like GETACL (RFC 4314 4): get_acl checks it.
    auto acl = co_await d_.store.get_acl(user_->account_id, a.mailbox);
    if (!acl) {
        reply_error(cmd.tag, acl.error(), "LISTRIGHTS");
        co_return;
    }
    bool owner = !acl->empty() && proto::iequals(acl->front().identifier, a.identifier);
    if (owner) {
        w_.listrights(a.mailbox, a.identifier, mailstore::all_rights, {});
    } else {
        std::vector<std::string> optional;
        for (char c : mailstore::all_rights) optional.emplace_back(1, c);
        w_.listrights(a.mailbox, a.identifier, "", optional);
    }
    w_.tagged(cmd.tag, response_status::ok, "LISTRIGHTS completed");
}

awaitable<void> session::cmd_setacl(const proto::command& cmd, bool remove) {
    std::string mailbox, identifier;
    std::string rights;
    if (remove) {
        const auto& a = cmd.get<proto::acl_identifier_args>();
        mailbox = a.mailbox;
        identifier = a.identifier;
    } else {
        const auto& a = cmd.get<proto::setacl_args>();
        mailbox = a.mailbox;
        identifier = a.identifier;
        proto::rights current;
        if (a.change.op != proto::rights_op::replace) {
            auto acl = co_await d_.store.get_acl(user_->account_id, mailbox);
            if (!acl) {
                reply_error(cmd.tag, acl.error(), "SETACL");
                co_return;
            }
            for (const auto& e : *acl)
                if (proto::iequals(e.identifier, identifier))
                    if (auto r = proto::parse_rights(e.rights)) current = *r;
        }
        rights = proto::format_rights(a.change.apply(current), false);
    }
    if (!identifier.empty() && identifier[0] == '-') {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::cannot}, "Negative rights are not supported");
        co_return;
    }
    auto r = co_await d_.store.set_acl(user_->account_id, mailbox, identifier, rights);
    if (!r) {
        if (is(r.error(), errc::not_found) || is(r.error(), errc::invalid_argument)) {
            // not_found may mean the mailbox or the identifier; ask the store which one.
            auto acl = co_await d_.store.get_acl(user_->account_id, mailbox);
            if (acl) {
                w_.tagged(cmd.tag, response_status::no, response_code{code_kind::cannot},
                          "Unknown identifier, or rights that cannot be changed");
                co_return;
            }
        }
        reply_error(cmd.tag, r.error(), remove ? "DELETEACL" : "SETACL");
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, remove ? "DELETEACL completed" : "SETACL completed");
}

}  // namespace polder::imap
