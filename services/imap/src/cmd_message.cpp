// cmd_message.cpp - the selected-state commands: FETCH, STORE, SEARCH, COPY, MOVE,
// EXPUNGE, CLOSE, UNSELECT (and their UID forms).
//
// SECURITY: message numbers are resolved against this session's view only, UIDs are
// checked by the store against the mailbox and the actor's rights; FETCH reads only byte
// ranges the stored parse names (never beyond the message); a read-only mailbox never gets
// \Seen set by FETCH. Output is built by the proto serializer, which quotes or literals
// every stored string so message data can never inject protocol lines.
// STANDARDS: RFC 9051 6.4, RFC 3501 6.4, RFC 3516 (BINARY), RFC 4315 (UIDPLUS: COPYUID,
// UID EXPUNGE), RFC 4731 (ESEARCH), RFC 5182 (SEARCHRES), RFC 6851 (MOVE), RFC 7162
// (CONDSTORE: MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, MODIFIED), RFC 3691 (UNSELECT).
#include "render.hpp"
#include "session.hpp"

#include "polder/log/log.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace polder::imap {

using proto::command_kind;
using proto::response_code;
using proto::response_status;
using proto::code_kind;
using proto::fetch_item;

namespace {

// to_uid_set - ascending UIDs as ranges.
mailstore::uid_set to_uid_set(const std::vector<std::uint32_t>& uids) {
    mailstore::uid_set out;
    for (auto u : uids) {
        if (!out.empty() && out.back().last + 1 == u)
            out.back().last = u;
        else if (out.empty() || out.back().last < u)
            out.push_back({u, u});
    }
    return out;
}

bool has_flag(const std::vector<std::string>& flags, std::string_view f) {
    return std::find(flags.begin(), flags.end(), f) != flags.end();
}

result<std::string> read_range(blob::store& blobs, const blob::blob_id& id, std::uint64_t begin, std::uint64_t length) {
    std::string out;
    if (length == 0) return out;
    auto r = blobs.open(id, begin, length);
    if (!r) return r.error();
    out.resize(r->remaining());
    std::size_t have = 0;
    while (have < out.size()) {
        auto n = r->read(std::as_writable_bytes(std::span<char>(out.data() + have, out.size() - have)));
        if (!n) return n.error();
        if (*n == 0) return errc::internal;
        have += *n;
    }
    return out;
}

struct blob_range {
    const blob::blob_id* blob = nullptr;
    std::uint64_t begin = 0;
    std::uint64_t length = 0;
};

// read_ranges - the bytes of each range, in order (runs on a blob thread); the first
// failure fails all of them.
result<std::vector<std::string>> read_ranges(blob::store& blobs, const std::vector<blob_range>& ranges) {
    std::vector<std::string> out;
    out.reserve(ranges.size());
    for (const auto& r : ranges) {
        auto bytes = read_range(blobs, *r.blob, r.begin, r.length);
        if (!bytes) return bytes.error();
        out.push_back(std::move(*bytes));
    }
    return out;
}

proto::fetch_attribute attribute(fetch_item item) {
    proto::fetch_attribute a;
    a.item = item;
    return a;
}

bool uses_modseq(const proto::search_key& k) {
    if (k.kind == proto::search_kind::modseq) return true;
    return std::any_of(k.children.begin(), k.children.end(), uses_modseq);
}

}  // namespace

// ----------------------------------------------------------------------------- FETCH

awaitable<void> session::cmd_fetch(const proto::command& cmd) {
    const auto& a = cmd.get<proto::fetch_args>();
    auto uids = resolve_set(a.set, cmd.uid);
    if (!uids) {
        bad(cmd.tag, "Invalid message sequence number");
        co_return;
    }
    auto atts = a.attributes;
    auto has_item = [&](fetch_item i) {
        return std::any_of(atts.begin(), atts.end(), [&](const auto& x) { return x.item == i; });
    };
    if (cmd.uid && !has_item(fetch_item::uid)) atts.insert(atts.begin(), attribute(fetch_item::uid));
    if (a.changedsince || has_item(fetch_item::modseq)) condstore_ = true;
    if (condstore_ && a.changedsince && !has_item(fetch_item::modseq))
        atts.push_back(attribute(fetch_item::modseq));
    if (a.vanished) {
        // RFC 7162 3.2.6: UIDs of the set expunged since CHANGEDSINCE, as VANISHED (EARLIER).
        if (!qresync_ || !cmd.uid || !a.changedsince) {
            bad(cmd.tag, "VANISHED needs ENABLE QRESYNC, UID FETCH and CHANGEDSINCE");
            co_return;
        }
        auto ch = co_await d_.store.changes_since(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity,
                                                 *a.changedsince);
        if (!ch) {
            reply_error(cmd.tag, ch.error(), "FETCH");
            co_return;
        }
        std::uint32_t largest = sel_->messages.empty() ? 0 : sel_->messages.back().uid;
        if (ch->expunges_known) {
            std::vector<std::uint32_t> gone;
            for (auto u : ch->expunged)
                if (a.set.contains(u, largest) && !seq_of(u)) gone.push_back(u);
            if (!gone.empty()) w_.vanished(gone, true);
        } else {
            // Expunge records since CHANGEDSINCE were pruned (schema 0114): every UID of the
            // set not in the mailbox, as RFC 7162 section 3.2.6 allows.
            const auto top = static_cast<std::uint32_t>(std::min<std::uint64_t>(ch->uidnext - 1, UINT32_MAX));
            const auto within = a.set.normalized(largest);
            const auto gone = proto::missing_ranges(ch->present, view_uids(), top, &within);
            if (!gone.empty()) w_.vanished(std::span<const proto::seq_range>(gone), true);
        }
    }
    if (a.changedsince) {
        std::erase_if(*uids, [&](std::uint32_t u) {
            auto* m = find(u);
            return !m || m->modseq <= *a.changedsince;
        });
    }
    bool sets_seen = !sel_->read_only && mailstore::has_rights(sel_->mailbox.rights, "s") &&
                     std::any_of(atts.begin(), atts.end(), [](const auto& x) { return x.sets_seen(); });
    std::set<std::uint32_t> seen_now;
    if (sets_seen) {
        std::vector<std::uint32_t> unseen;
        for (auto u : *uids)
            if (auto* m = find(u); m && !has_flag(m->flags, "\\Seen")) unseen.push_back(u);
        if (!unseen.empty()) {
            // A named vector: GCC 12 mishandles braced lists inside co_await expressions.
            std::vector<std::string> seen_flag;
            seen_flag.emplace_back("\\Seen");
            auto r = co_await d_.store.store_flags(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity,
                                                   to_uid_set(unseen), mailstore::flag_mode::add, std::move(seen_flag));
            if (r) {
                for (const auto& u : r->updated) {
                    if (auto* m = find(u.uid)) {
                        m->flags = u.flags;
                        m->modseq = u.modseq;
                        seen_now.insert(u.uid);
                    }
                }
            }
        }
    }
    bool needs_meta = std::any_of(atts.begin(), atts.end(), [](const auto& x) {
        return x.item != fetch_item::flags && x.item != fetch_item::uid && x.item != fetch_item::modseq;
    });
    // Only what the attributes use is read from the stored parse: decoding the envelope
    // and body structure JSON of every message was most of a large header FETCH.
    mailstore::fetch_needs needs;
    needs.envelope = has_item(fetch_item::envelope);
    needs.body = std::any_of(atts.begin(), atts.end(), [](const auto& x) {
        switch (x.item) {
            case fetch_item::body_section:
            case fetch_item::binary:
            case fetch_item::binary_size:
                // The whole message (BODY[], BINARY[]) is [0, size): no structure needed.
                return !x.section.part.empty() || x.section.text != proto::section_text::none;
            case fetch_item::body:
            case fetch_item::bodystructure:
            case fetch_item::rfc822_header:
            case fetch_item::rfc822_text: return true;
            default: return false;   // RFC822 is the whole message too
        }
    });
    needs.sort = false;   // the SORT/THREAD columns
    // The stored header block serves BODY[HEADER], HEADER.FIELDS (.NOT) and RFC822.HEADER.
    needs.header_raw = std::any_of(atts.begin(), atts.end(), [](const auto& x) {
        if (x.item == fetch_item::rfc822_header) return true;
        return x.item == fetch_item::body_section && x.section.part.empty() &&
               (x.section.text == proto::section_text::header || x.section.text == proto::section_text::header_fields ||
                x.section.text == proto::section_text::header_fields_not);
    });
    // The octets of messages kept in the database (small APPENDs, schema 0109) come with
    // their rows whenever a section beyond the stored header block may be read.
    needs.raw = std::any_of(atts.begin(), atts.end(), [](const auto& x) {
        switch (x.item) {
            case fetch_item::rfc822:
            case fetch_item::rfc822_text:
            case fetch_item::binary:
            case fetch_item::binary_size: return true;
            case fetch_item::body_section:
                return !(x.section.part.empty() && (x.section.text == proto::section_text::header ||
                                                    x.section.text == proto::section_text::header_fields ||
                                                    x.section.text == proto::section_text::header_fields_not));
            default: return false;
        }
    });
    // Sections of the whole message only (BODY[HEADER], BODY[TEXT], HEADER.FIELDS,
    // RFC822.HEADER/TEXT): the root's offsets are enough, no structure to decode.
    needs.root_only = std::all_of(atts.begin(), atts.end(), [](const auto& x) {
        switch (x.item) {
            case fetch_item::body:
            case fetch_item::bodystructure: return false;
            case fetch_item::body_section:
            case fetch_item::binary:
            case fetch_item::binary_size: return x.section.part.empty();
            default: return true;
        }
    });
    // Only UID, FLAGS, MODSEQ, sizes, INTERNALDATE and whole-message sections: what the
    // view's remembered bodies can answer without the database.
    const bool whole_only = std::all_of(atts.begin(), atts.end(), [](const auto& x) {
        switch (x.item) {
            case fetch_item::uid:
            case fetch_item::flags:
            case fetch_item::modseq:
            case fetch_item::rfc822_size:
            case fetch_item::internaldate:
            case fetch_item::rfc822: return true;
            case fetch_item::body_section:
            case fetch_item::binary:
            case fetch_item::binary_size:
                return x.section.part.empty() && x.section.text == proto::section_text::none;
            default: return false;
        }
    });
    bool unknown_cte = false;
    // Messages per database read; when the rows bring the octets of messages kept in the
    // database (up to 64 KiB each), fewer, so one read holds at most 2 MiB of them.
    const std::size_t chunk = needs.raw ? 32 : 500;
    // Section bytes of consecutive messages are read in one trip to the blob threads, up
    // to batch_bytes (a larger message goes alone), instead of one trip per message: the
    // two thread switches per message cost more than reading a small header.
    constexpr std::uint64_t batch_bytes = 1024 * 1024;
    struct pending {
        std::uint32_t uid = 0;
        const mailstore::message_meta* meta = nullptr;
        std::vector<std::optional<std::string>> data;
    };
    struct section_read {
        std::size_t message = 0;   // index in the batch
        std::size_t att = 0;
        section_plan plan;
        bool direct = true;
        blob_range range;
        std::optional<std::string> stored;   // the bytes, from the stored header block
    };
    for (std::size_t start = 0; start < uids->size(); start += chunk) {
        std::vector<std::uint32_t> part(uids->begin() + static_cast<std::ptrdiff_t>(start),
                                        uids->begin() + static_cast<std::ptrdiff_t>(std::min(uids->size(), start + chunk)));
        std::vector<mailstore::message_meta> metas;
        const bool own = sel_->mailbox.owner_account_id == user_->account_id;
        bool from_view = needs_meta && own && whole_only &&
                         std::all_of(part.begin(), part.end(), [&](std::uint32_t u) { return sel_->bodies.count(u) > 0; });
        if (from_view) {
            metas.reserve(part.size());
            std::vector<std::int64_t> in_db;
            for (auto u : part) {
                const auto& b = sel_->bodies.at(u);
                mailstore::message_meta mm;
                mm.uid = u;
                mm.blob = b.blob;
                mm.size = b.size;
                mm.internaldate = b.internaldate;
                mm.parsed.size = b.size;
                mm.message_row = b.message_row;
                mm.raw_in_db = b.in_db;
                if (b.in_db && needs.raw && !(mm.raw = d_.message_cache.get(b.message_row)))
                    in_db.push_back(b.message_row);
                metas.push_back(std::move(mm));
            }
            if (!in_db.empty()) {
                // The octets of messages kept in the database and not in the process's
                // cache: one lookup by row.
                auto raws = co_await d_.store.raw_octets(std::move(in_db));
                if (!raws) {
                    reply_error(cmd.tag, raws.error(), "FETCH");
                    co_return;
                }
                std::unordered_map<std::int64_t, std::shared_ptr<const std::string>> by_row;
                for (auto& [row, octets] : *raws) {
                    d_.message_cache.put(row, octets);
                    by_row.emplace(row, std::move(octets));
                }
                for (auto& mm : metas)
                    if (mm.raw_in_db && !mm.raw)
                        if (auto it = by_row.find(mm.message_row); it != by_row.end()) mm.raw = it->second;
            }
            // A row gone meanwhile (expunged and collected): skipped as expunged.
            if (needs.raw) std::erase_if(metas, [](const auto& mm) { return mm.raw_in_db && !mm.raw; });
        } else if (needs_meta) {
            auto r = co_await d_.store.fetch(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity,
                                             to_uid_set(part), needs);
            if (!r) {
                reply_error(cmd.tag, r.error(), "FETCH");
                co_return;
            }
            metas = std::move(*r);
            for (const auto& mm : metas)
                if (mm.raw) d_.message_cache.put(mm.message_row, mm.raw);
            if (own && sel_)
                for (const auto& mm : metas)
                    if (sel_->bodies.size() < max_cached_bodies && find(mm.uid))
                        sel_->bodies.emplace(mm.uid, selected_state::body_ref{mm.blob, mm.size, mm.internaldate,
                                                                              mm.message_row, mm.raw_in_db});
        }
        std::size_t mi = 0;
        std::size_t k = 0;
        while (k < part.size()) {
            std::vector<pending> batch;
            std::vector<section_read> reads;
            std::uint64_t bytes = 0;
            for (; k < part.size() && (batch.empty() || bytes < batch_bytes); ++k) {
                auto u = part[k];
                const mailstore::message_meta* meta = nullptr;
                if (needs_meta) {
                    while (mi < metas.size() && metas[mi].uid < u) ++mi;
                    if (mi >= metas.size() || metas[mi].uid != u) continue;   // expunged meanwhile
                    meta = &metas[mi];
                }
                if (!find(u)) continue;
                pending p;
                p.uid = u;
                p.meta = meta;
                p.data.resize(atts.size());
                for (std::size_t i = 0; i < atts.size() && meta; ++i) {
                    const auto& att = atts[i];
                    proto::fetch_attribute eff = att;
                    switch (att.item) {
                        case fetch_item::rfc822: eff = attribute(fetch_item::body_section); break;
                        case fetch_item::rfc822_header: eff = attribute(fetch_item::body_section); eff.section.text = proto::section_text::header; break;
                        case fetch_item::rfc822_text: eff = attribute(fetch_item::body_section); eff.section.text = proto::section_text::text; break;
                        case fetch_item::body_section:
                        case fetch_item::binary:
                        case fetch_item::binary_size: break;
                        default: continue;
                    }
                    auto plan = plan_section(meta->parsed, eff);
                    if (!plan) {
                        p.data[i] = std::string();
                        continue;
                    }
                    if (plan->decode && !known_encoding(plan->encoding)) {
                        unknown_cte = true;
                        continue;
                    }
                    section_read sr;
                    sr.message = batch.size();
                    sr.att = i;
                    sr.direct = !plan->filter_fields && !plan->decode;
                    sr.range = {&meta->blob, plan->range.begin, plan->range.size()};
                    if (sr.direct && eff.partial) {
                        // Read only the requested window of the part.
                        auto off = std::min<std::uint64_t>(eff.partial->offset, sr.range.length);
                        sr.range.begin += off;
                        sr.range.length = std::min<std::uint64_t>(sr.range.length - off, eff.partial->length);
                    }
                    sr.plan = std::move(*plan);
                    // Within the header block kept in the database, or a message kept
                    // there whole: no blob read.
                    if (!sr.plan.decode && meta->header_raw &&
                        sr.range.begin + sr.range.length <= meta->header_raw->size())
                        sr.stored = meta->header_raw->substr(sr.range.begin, sr.range.length);
                    else if (meta->raw_in_db) {
                        if (!meta->raw || sr.range.begin + sr.range.length > meta->raw->size()) {
                            reply_error(cmd.tag, errc::internal, "FETCH");   // fetch_needs::raw missed a case
                            co_return;
                        }
                        sr.stored = meta->raw->substr(sr.range.begin, sr.range.length);
                    } else
                        bytes += sr.range.length;
                    reads.push_back(std::move(sr));
                }
                batch.push_back(std::move(p));
            }
            // Section data is read before the responses start, so an error never leaves
            // half a FETCH response on the wire.
            if (!reads.empty()) {
                std::vector<blob_range> ranges;
                ranges.reserve(reads.size());
                for (const auto& r : reads)
                    if (!r.stored) ranges.push_back(r.range);
                result<std::vector<std::string>> got{std::vector<std::string>{}};
                if (!ranges.empty())
                    got = co_await d_.on_blob_thread([&] { return read_ranges(d_.store.blobs(), ranges); });
                if (!got) {
                    reply_error(cmd.tag, got.error(), "FETCH");
                    co_return;
                }
                std::size_t next_read = 0;
                for (std::size_t j = 0; j < reads.size(); ++j) {
                    auto& r = reads[j];
                    const auto& att = atts[r.att];
                    std::string value = r.stored ? std::move(*r.stored) : std::move((*got)[next_read++]);
                    if (r.plan.filter_fields)
                        value = filter_header_fields(value, att.section.fields,
                                                     att.section.text == proto::section_text::header_fields_not);
                    if (r.plan.decode) value = decode_transfer_encoding(value, r.plan.encoding);
                    if (!r.direct && att.partial) value = std::string(apply_partial(value, att.partial));
                    batch[r.message].data[r.att] = std::move(value);
                }
            }
            for (auto& p : batch) {
                auto u = p.uid;
                const auto* meta = p.meta;
                auto* m = find(u);
                if (!m) continue;
                auto& data = p.data;
                auto f = w_.fetch(seq_of(u));
                bool flags_written = false;
                for (std::size_t i = 0; i < atts.size(); ++i) {
                    const auto& att = atts[i];
                    switch (att.item) {
                        case fetch_item::flags: {
                            auto flags = m->flags;
                            if (m->recent) flags.push_back("\\Recent");
                            f.flags(flags);
                            flags_written = true;
                            break;
                        }
                        case fetch_item::uid: f.uid(u); break;
                        case fetch_item::modseq: f.modseq(m->modseq); break;
                        case fetch_item::internaldate: f.internaldate(proto::from_unix(meta->internaldate, 0)); break;
                        case fetch_item::rfc822_size: f.rfc822_size(meta->size); break;
                        case fetch_item::envelope: f.envelope(to_envelope(meta->parsed.env)); break;
                        case fetch_item::body: f.body(to_body_structure(meta->parsed.body)); break;
                        case fetch_item::bodystructure: f.bodystructure(to_body_structure(meta->parsed.body)); break;
                        case fetch_item::binary_size:
                            if (data[i]) f.binary_size(att, data[i]->size());
                            break;
                        default:
                            if (data[i]) f.section(att, std::string_view(*data[i]));
                            break;
                    }
                }
                if (seen_now.count(u) && !flags_written) {
                    auto flags = m->flags;
                    if (m->recent) flags.push_back("\\Recent");
                    f.flags(flags);
                }
                f.finish();
                if (out_.size() > 256 * 1024 && !co_await flush()) {
                    logout_ = true;
                    co_return;
                }
            }
        }
    }
    if (changes_pending()) co_await sync(false);   // only when another session changed the mailbox
    if (unknown_cte)
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::unknown_cte},
                  "A part has a content-transfer-encoding the server cannot decode");
    else
        w_.tagged(cmd.tag, response_status::ok, cmd.uid ? "UID FETCH completed" : "FETCH completed");
}

// ----------------------------------------------------------------------------- STORE

awaitable<void> session::cmd_store(const proto::command& cmd) {
    const auto& a = cmd.get<proto::store_args>();
    auto uids = resolve_set(a.set, cmd.uid);
    if (!uids) {
        bad(cmd.tag, "Invalid message sequence number");
        co_return;
    }
    if (a.unchangedsince) condstore_ = true;
    if (sel_->read_only) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::read_only}, "The mailbox is read-only");
        co_return;
    }
    std::vector<std::string> flags;
    for (const auto& f : a.flags)
        if (!proto::iequals(f, "\\Recent")) flags.push_back(f);
    auto mode = a.mode == proto::store_mode::add      ? mailstore::flag_mode::add
                : a.mode == proto::store_mode::remove ? mailstore::flag_mode::remove
                                                      : mailstore::flag_mode::replace;
    std::set<std::uint32_t> modified;
    if (!uids->empty()) {
        auto r = co_await d_.store.store_flags(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity,
                                               to_uid_set(*uids), mode, flags, a.unchangedsince);
        if (!r) {
            reply_error(cmd.tag, r.error(), "STORE");
            co_return;
        }
        // This session's own change: when it is the only one since what the view has seen
        // (one modseq step, taken even when no flag changed), the view is complete up to
        // it and the NOTIFY it causes is ignored instead of costing a resync.
        {
            const auto m = r->highestmodseq;
            bool one_step = std::all_of(r->updated.begin(), r->updated.end(), [m](const auto& u) { return u.modseq == m; });
            if (one_step && m == sel_->highestmodseq + 1) sel_->highestmodseq = m;
        }
        std::set<std::string> known(sel_->keywords.begin(), sel_->keywords.end());
        bool new_keyword = false;
        for (const auto& u : r->updated) {
            if (auto* m = find(u.uid)) {
                m->flags = u.flags;
                m->modseq = u.modseq;
            }
            for (const auto& f : u.flags)
                if (!f.empty() && f[0] != '\\' && known.insert(f).second) new_keyword = true;
        }
        if (new_keyword) {
            sel_->keywords.assign(known.begin(), known.end());
            std::vector<std::string> all{"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"};
            all.insert(all.end(), sel_->keywords.begin(), sel_->keywords.end());
            w_.flags(all);
            w_.untagged(response_status::ok, response_code::permanentflags(permanent_flags()), "Flags permitted");
        }
        for (const auto& rg : r->modified)
            for (auto u = rg.first; u <= rg.last && u != 0; ++u) {
                modified.insert(u);
                if (u == UINT32_MAX) break;
            }
        std::set<std::uint32_t> changed;
        for (const auto& u : r->updated) changed.insert(u.uid);
        for (auto u : *uids) {
            if (modified.count(u)) continue;
            // .SILENT suppresses the flags echo; a CONDSTORE-aware client still learns the
            // new modseq of what changed (RFC 7162 3.1.3, as Dovecot does).
            if (a.silent && !(condstore_ && changed.count(u))) continue;
            auto* m = find(u);
            if (!m) continue;
            auto f = w_.fetch(seq_of(u));
            if (!a.silent) {
                auto fl = m->flags;
                if (m->recent) fl.push_back("\\Recent");
                f.flags(fl);
            }
            if (cmd.uid) f.uid(u);
            if (condstore_) f.modseq(m->modseq);
            f.finish();
        }
    }
    if (changes_pending()) co_await sync(false);   // only when another session changed the mailbox
    if (!modified.empty()) {
        std::vector<std::uint32_t> numbers;
        for (auto u : modified) {
            if (cmd.uid) numbers.push_back(u);
            else if (auto s = seq_of(u)) numbers.push_back(s);
        }
        w_.tagged(cmd.tag, response_status::ok, response_code::modified(numbers), "Conditional STORE failed for some");
    } else {
        w_.tagged(cmd.tag, response_status::ok, cmd.uid ? "UID STORE completed" : "STORE completed");
    }
}

// ----------------------------------------------------------------------------- SEARCH

result<mailstore::search_criterion> session::to_criterion(const proto::search_key& k) const {
    using mailstore::search_key;
    using K = proto::search_kind;
    auto nothing = [] { return mailstore::search_not(mailstore::search_criterion{}); };
    auto uids_of = [&](const std::vector<std::uint32_t>& u) -> mailstore::search_criterion {
        if (u.empty()) return nothing();
        return mailstore::search_uids(to_uid_set(u));
    };
    auto children = [&](mailstore::search_key kind) -> result<mailstore::search_criterion> {
        mailstore::search_criterion c;
        c.key = kind;
        for (const auto& ch : k.children) {
            auto x = to_criterion(ch);
            if (!x) return x.error();
            c.children.push_back(std::move(*x));
        }
        if (c.children.empty()) return mailstore::search_criterion{};
        return c;
    };
    auto day = [](const proto::date& d) { return mailstore::day_number(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day)); };
    auto recent_uids = [&] {
        std::vector<std::uint32_t> u;
        for (const auto& m : sel_->messages)
            if (m.recent) u.push_back(m.uid);
        return u;
    };
    switch (k.kind) {
        case K::all: return mailstore::search_criterion{};
        case K::and_: return children(search_key::all_of);
        case K::or_: return children(search_key::any_of);
        case K::not_: {
            auto x = to_criterion(k.children.at(0));
            if (!x) return x.error();
            return mailstore::search_not(std::move(*x));
        }
        case K::fuzzy: {
            auto x = to_criterion(k.children.at(0));
            if (!x) return x.error();
            return mailstore::search_fuzzy(std::move(*x));
        }
        case K::sequence_set: {
            std::vector<std::uint32_t> u;
            if (k.set.saved) {
                if (saved_) u = *saved_;
            } else {
                auto count = static_cast<std::uint32_t>(sel_->messages.size());
                for (const auto& r : k.set.normalized(count))
                    for (auto s = std::max<std::uint32_t>(r.first, 1); s <= std::min(r.last, count); ++s)
                        u.push_back(sel_->messages[s - 1].uid);
            }
            return uids_of(u);
        }
        case K::uid: {
            if (k.set.saved) return uids_of(saved_.value_or(std::vector<std::uint32_t>{}));
            std::uint32_t largest = sel_->messages.empty() ? 0 : sel_->messages.back().uid;
            mailstore::uid_set s;
            for (const auto& r : k.set.normalized(largest))
                if (r.first != 0) s.push_back({r.first, r.last});
            if (s.empty()) return nothing();
            return mailstore::search_uids(std::move(s));
        }
        case K::answered: return mailstore::search_text(search_key::flag, "\\Answered");
        case K::deleted: return mailstore::search_text(search_key::flag, "\\Deleted");
        case K::draft: return mailstore::search_text(search_key::flag, "\\Draft");
        case K::flagged: return mailstore::search_text(search_key::flag, "\\Flagged");
        case K::seen: return mailstore::search_text(search_key::flag, "\\Seen");
        case K::unanswered: return mailstore::search_text(search_key::unflag, "\\Answered");
        case K::undeleted: return mailstore::search_text(search_key::unflag, "\\Deleted");
        case K::undraft: return mailstore::search_text(search_key::unflag, "\\Draft");
        case K::unflagged: return mailstore::search_text(search_key::unflag, "\\Flagged");
        case K::unseen: return mailstore::search_text(search_key::unflag, "\\Seen");
        case K::keyword: return mailstore::search_text(search_key::flag, k.text);
        case K::unkeyword: return mailstore::search_text(search_key::unflag, k.text);
        case K::recent: return uids_of(recent_uids());
        case K::new_: return mailstore::search_and({uids_of(recent_uids()), mailstore::search_text(search_key::unflag, "\\Seen")});
        case K::old: return mailstore::search_not(uids_of(recent_uids()));
        case K::bcc: return mailstore::search_text(search_key::bcc, k.text);
        case K::body: return mailstore::search_text(search_key::body, k.text);
        case K::cc: return mailstore::search_text(search_key::cc, k.text);
        case K::from: return mailstore::search_text(search_key::from, k.text);
        case K::subject: return mailstore::search_text(search_key::subject, k.text);
        case K::text: return mailstore::search_text(search_key::text, k.text);
        case K::to: return mailstore::search_text(search_key::to, k.text);
        case K::header: return mailstore::search_header(k.header_name, k.text);
        case K::before: return mailstore::search_number(search_key::before, day(k.date));
        case K::on: return mailstore::search_number(search_key::on, day(k.date));
        case K::since: return mailstore::search_number(search_key::since, day(k.date));
        case K::sentbefore: return mailstore::search_number(search_key::sent_before, day(k.date));
        case K::senton: return mailstore::search_number(search_key::sent_on, day(k.date));
        case K::sentsince: return mailstore::search_number(search_key::sent_since, day(k.date));
        case K::larger: return mailstore::search_number(search_key::larger, static_cast<std::int64_t>(std::min<std::uint64_t>(k.number, INT64_MAX)));
        case K::smaller: return mailstore::search_number(search_key::smaller, static_cast<std::int64_t>(std::min<std::uint64_t>(k.number, INT64_MAX)));
        case K::modseq: return mailstore::search_number(search_key::modseq, static_cast<std::int64_t>(std::min<std::uint64_t>(k.number, INT64_MAX)));
    }
    return errc::invalid_argument;
}

awaitable<result<std::vector<std::pair<std::uint32_t, std::uint32_t>>>> session::run_ranked_search(
    const proto::search_key& key) {
    auto crit = to_criterion(key);
    if (!crit) co_return crit.error();
    auto r = co_await d_.store.search_relevancy(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity,
                                                std::move(*crit));
    if (!r) co_return r.error();
    std::erase_if(*r, [&](const auto& hit) { return seq_of(hit.first) == 0; });
    std::sort(r->begin(), r->end());
    co_return std::move(*r);
}

awaitable<result<std::vector<std::uint32_t>>> session::run_search(const proto::search_key& key) {
    auto crit = to_criterion(key);
    if (!crit) co_return crit.error();
    auto r = co_await d_.store.search(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity, std::move(*crit));
    if (!r) co_return r.error();
    // Only messages this session has been told about (new ones are announced first).
    std::erase_if(*r, [&](std::uint32_t u) { return seq_of(u) == 0; });
    std::sort(r->begin(), r->end());
    co_return std::move(*r);
}

awaitable<void> session::cmd_search(const proto::command& cmd) {
    const auto& a = cmd.get<proto::search_args>();
    if (a.charset && *a.charset != "UTF-8" && *a.charset != "US-ASCII") {
        w_.tagged(cmd.tag, response_status::no, response_code::badcharset({"UTF-8", "US-ASCII"}), "Unsupported charset");
        co_return;
    }
    if (uses_modseq(a.criteria)) condstore_ = true;
    const auto& ret = a.ret;
    // RFC 6203: RELEVANCY scores come with the ALL result, in its order.
    std::optional<std::vector<std::uint32_t>> scores;
    result<std::vector<std::uint32_t>> found = std::vector<std::uint32_t>{};
    if (ret.relevancy) {
        auto ranked = co_await run_ranked_search(a.criteria);
        if (ranked) {
            found = std::vector<std::uint32_t>{};
            scores.emplace();
            for (const auto& [u, s] : *ranked) {
                found->push_back(u);
                scores->push_back(s);
            }
        } else {
            found = ranked.error();
        }
    } else {
        found = co_await run_search(a.criteria);
    }
    if (!found) {
        if (is(found.error(), errc::invalid_argument) || is(found.error(), errc::limit_exceeded))
            bad(cmd.tag, "Invalid or too complex search criteria");
        else
            reply_error(cmd.tag, found.error(), "SEARCH");
        co_return;
    }
    if (ret.save) saved_ = *found;
    std::optional<std::uint64_t> modseq;
    if (uses_modseq(a.criteria) && !found->empty()) {
        std::uint64_t mx = 0;
        for (auto u : *found)
            if (auto* m = find(u)) mx = std::max(mx, m->modseq);
        modseq = mx;
    }
    std::vector<std::uint32_t> numbers;
    for (auto u : *found) numbers.push_back(cmd.uid ? u : seq_of(u));
    if (ret.requested || rev2_) {
        bool only_save = ret.requested && ret.save && !ret.min && !ret.max && !ret.all && !ret.count && !ret.relevancy;
        if (!only_save) {
            proto::esearch_response e;
            e.tag = cmd.tag;
            e.uid = cmd.uid;
            bool none = !ret.min && !ret.max && !ret.all && !ret.count;
            if (!numbers.empty()) {
                if (ret.min) e.min = numbers.front();
                if (ret.max) e.max = numbers.back();
                if (ret.all || none || ret.relevancy) e.all = numbers;
                if (ret.relevancy) e.relevancy = std::move(scores);
            }
            if (ret.count) e.count = static_cast<std::uint32_t>(numbers.size());
            e.modseq = modseq;
            w_.esearch(e);
        }
    } else {
        w_.search(numbers, modseq);
    }
    if (changes_pending()) co_await sync(false);   // only when another session changed the mailbox
    w_.tagged(cmd.tag, response_status::ok, cmd.uid ? "UID SEARCH completed" : "SEARCH completed");
}

// ----------------------------------------------------------------------------- COPY, MOVE

awaitable<void> session::cmd_copy(const proto::command& cmd, bool move) {
    const auto& a = cmd.get<proto::copy_args>();
    auto uids = resolve_set(a.set, cmd.uid);
    if (!uids) {
        bad(cmd.tag, "Invalid message sequence number");
        co_return;
    }
    std::string_view verb = move ? (cmd.uid ? "UID MOVE" : "MOVE") : (cmd.uid ? "UID COPY" : "COPY");
    if (uids->empty()) {
        w_.tagged(cmd.tag, response_status::ok, std::string(verb) + " completed (no messages)");
        co_return;
    }
    if (move && sel_->read_only) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::read_only}, "The mailbox is read-only");
        co_return;
    }
    auto r = co_await d_.store.copy(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity, to_uid_set(*uids),
                                    a.mailbox, move);
    if (!r) {
        reply_error(cmd.tag, r.error(), verb, true);
        co_return;
    }
    std::vector<std::uint32_t> src, dst;
    for (auto [s, d] : r->uids) {
        src.push_back(s);
        dst.push_back(d);
    }
    auto code = response_code::copyuid(r->uidvalidity, src, dst);
    if (!move) {
        co_await sync(true);
        if (src.empty())
            w_.tagged(cmd.tag, response_status::ok, std::string(verb) + " completed");
        else
            w_.tagged(cmd.tag, response_status::ok, code, std::string(verb) + " completed");
        co_return;
    }
    if (!src.empty()) w_.untagged(response_status::ok, code, "Moved");
    expunged(r->expunged);
    co_await sync(true);
    w_.tagged(cmd.tag, response_status::ok, std::string(verb) + " completed");
}

// ----------------------------------------------------------------------------- EXPUNGE, CLOSE

awaitable<void> session::cmd_expunge(const proto::command& cmd) {
    if (sel_->read_only) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::read_only}, "The mailbox is read-only");
        co_return;
    }
    std::optional<mailstore::uid_set> only;
    if (cmd.uid) {
        auto uids = resolve_set(*cmd.get<proto::expunge_args>().uids, true);
        if (!uids || uids->empty()) {
            co_await sync(true);
            w_.tagged(cmd.tag, response_status::ok, "UID EXPUNGE completed");
            co_return;
        }
        only = to_uid_set(*uids);
    }
    auto r = co_await d_.store.expunge(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity, only);
    if (!r) {
        reply_error(cmd.tag, r.error(), "EXPUNGE");
        co_return;
    }
    expunged(std::move(*r));
    co_await sync(true);
    w_.tagged(cmd.tag, response_status::ok, cmd.uid ? "UID EXPUNGE completed" : "EXPUNGE completed");
}

awaitable<void> session::cmd_close(const proto::command& cmd, bool expunge) {
    if (expunge && !sel_->read_only && mailstore::has_rights(sel_->mailbox.rights, "e")) {
        // CLOSE expunges silently (RFC 9051 6.4.1); a failure does not keep the mailbox selected.
        auto r = co_await d_.store.expunge(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity, std::nullopt);
        if (!r) log::warn("imap.close_expunge_failed", {{"conn", info_.id}, {"error", r.error()}});
    }
    deselect();
    state_ = proto::session_state::authenticated;
    w_.tagged(cmd.tag, response_status::ok, expunge ? "CLOSE completed" : "UNSELECT completed");
}

}  // namespace polder::imap
