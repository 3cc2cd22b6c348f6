// cmd_sort.cpp - SORT and THREAD (and UID SORT / UID THREAD): the matching messages come
// from the store's SEARCH, their sort and thread keys from what the store prepared at
// delivery (no message is parsed again), the ordering from the pure RFC 5256 functions
// in polder::imap::proto.
//
// SECURITY: the same search limits as SEARCH; work is O(n log n) in the matching messages
// and the thread algorithms are iterative (proto/thread.hpp).
// STANDARDS: RFC 5256 (SORT, THREAD=ORDEREDSUBJECT, THREAD=REFERENCES), RFC 5957
// (SORT=DISPLAY).
#include "session.hpp"

#include "polder/imap/proto/sort.hpp"
#include "polder/imap/proto/thread.hpp"

#include <algorithm>

namespace polder::imap {

using proto::response_code;
using proto::response_status;

namespace {

std::string bracketed(const std::string& id) {
    if (id.empty() || id.front() == '<') return id;
    return "<" + id + ">";
}

std::string first_address(const std::vector<mime::address>& list) {
    for (const auto& a : list) {
        if (!a.mailbox || !a.host) continue;   // group markers
        return *a.mailbox + "@" + *a.host;
    }
    return {};
}

std::string display_of(const std::vector<mime::address>& list) {
    for (const auto& a : list) {
        if (!a.mailbox || !a.host) continue;
        if (a.name && !a.name->empty()) return proto::decode_encoded_words(*a.name);
        return *a.mailbox + "@" + *a.host;
    }
    return {};
}

}  // namespace

awaitable<result<std::vector<mailstore::message_meta>>> session::fetch_metas(const std::vector<std::uint32_t>& uids) {
    std::vector<mailstore::message_meta> out;
    constexpr std::size_t chunk = 500;
    for (std::size_t start = 0; start < uids.size(); start += chunk) {
        mailstore::uid_set set;
        for (std::size_t i = start; i < std::min(uids.size(), start + chunk); ++i) {
            auto u = uids[i];
            if (!set.empty() && set.back().last + 1 == u)
                set.back().last = u;
            else
                set.push_back({u, u});
        }
        auto r = co_await d_.store.fetch(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity, std::move(set));
        if (!r) co_return r.error();
        for (auto& m : *r) out.push_back(std::move(m));
    }
    co_return out;
}

awaitable<void> session::cmd_sort(const proto::command& cmd) {
    const auto& a = cmd.get<proto::sort_args>();
    if (a.charset != "UTF-8" && a.charset != "US-ASCII") {
        w_.tagged(cmd.tag, response_status::no, response_code::badcharset({"UTF-8", "US-ASCII"}), "Unsupported charset");
        co_return;
    }
    auto found = co_await run_search(a.search);
    if (!found) {
        reply_error(cmd.tag, found.error(), "SORT");
        co_return;
    }
    auto metas = co_await fetch_metas(*found);
    if (!metas) {
        reply_error(cmd.tag, metas.error(), "SORT");
        co_return;
    }
    std::vector<proto::sort_record> records;
    records.reserve(metas->size());
    for (const auto& m : *metas) {
        auto seq = seq_of(m.uid);
        if (!seq) continue;
        proto::sort_record r;
        r.id = cmd.uid ? m.uid : seq;
        r.sequence = seq;
        r.arrival = m.internaldate;
        r.sent_date = m.sent_date.value_or(m.internaldate);
        r.size = m.size;
        r.subject = m.parsed.env.subject.value_or("");
        r.from = first_address(m.parsed.env.from);
        r.to = first_address(m.parsed.env.to);
        r.cc = first_address(m.parsed.env.cc);
        r.display_from = display_of(m.parsed.env.from);
        r.display_to = display_of(m.parsed.env.to);
        records.push_back(std::move(r));
    }
    auto ids = proto::sort_messages(records, a.criteria);
    w_.sort(ids);
    if (changes_pending()) co_await sync(false);   // only when another session changed the mailbox
    w_.tagged(cmd.tag, response_status::ok, cmd.uid ? "UID SORT completed" : "SORT completed");
}

awaitable<void> session::cmd_thread(const proto::command& cmd) {
    const auto& a = cmd.get<proto::thread_args>();
    if (a.charset != "UTF-8" && a.charset != "US-ASCII") {
        w_.tagged(cmd.tag, response_status::no, response_code::badcharset({"UTF-8", "US-ASCII"}), "Unsupported charset");
        co_return;
    }
    auto found = co_await run_search(a.search);
    if (!found) {
        reply_error(cmd.tag, found.error(), "THREAD");
        co_return;
    }
    auto metas = co_await fetch_metas(*found);
    if (!metas) {
        reply_error(cmd.tag, metas.error(), "THREAD");
        co_return;
    }
    std::vector<proto::thread_message> messages;
    messages.reserve(metas->size());
    for (const auto& m : *metas) {
        auto seq = seq_of(m.uid);
        if (!seq) continue;
        proto::thread_message t;
        t.id = cmd.uid ? m.uid : seq;
        t.sequence = seq;
        t.message_id = bracketed(m.message_id);
        for (const auto& r : m.references) t.references.push_back(bracketed(r));
        if (!m.in_reply_to.empty()) t.in_reply_to = bracketed(m.in_reply_to.front());
        t.subject = m.parsed.env.subject.value_or("");
        t.sent_date = m.sent_date.value_or(m.internaldate);
        messages.push_back(std::move(t));
    }
    auto forest = a.algorithm == proto::thread_algorithm::references ? proto::thread_references(messages)
                                                                     : proto::thread_orderedsubject(messages);
    w_.thread(forest);
    if (changes_pending()) co_await sync(false);   // only when another session changed the mailbox
    w_.tagged(cmd.tag, response_status::ok, cmd.uid ? "UID THREAD completed" : "THREAD completed");
}

}  // namespace polder::imap
