// session.hpp - one IMAP connection: greeting, the command loop fed by the pure parser
// (polder::imap::proto), the per-state command table, the selected mailbox's view
// (message sequence numbers <-> UIDs, flags, modseqs) and its synchronisation with other
// sessions' changes through LISTEN/NOTIFY.
//
// Each command handler follows the same shape (habit: Stalwart/Dovecot): check state and
// permission, resolve arguments (sequence sets -> UIDs), call the mail store, write
// untagged data, write the tagged reply. Store errors map to response codes in one place
// (reply_error).
//
// SECURITY: LOGIN/AUTHENTICATE are refused before TLS (LOGINDISABLED) unless the peer is
// loopback and auth.allow_plaintext_on_loopback is set; every store call passes the
// logged-in account so the store enforces ownership and RFC 4314 rights (another
// account's mailbox is NONEXISTENT unless shared); STARTTLS refuses pipelined plaintext
// (CVE-2011-0411); the parser bounds every input; internal errors reach the client as a
// generic SERVERBUG text while details go to the log with the connection id.
// STANDARDS: RFC 9051 (IMAP4rev2), RFC 3501 (IMAP4rev1), RFC 2177 (IDLE), RFC 2342
// (NAMESPACE), RFC 2971 (ID), RFC 3516 (BINARY), RFC 4315 (UIDPLUS), RFC 4731 (ESEARCH),
// RFC 4959 (SASL-IR), RFC 4616 (PLAIN), RFC 5161 (ENABLE), RFC 5182 (SEARCHRES), RFC 5258
// (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE), RFC 6851 (MOVE),
// RFC 7162 (CONDSTORE, QRESYNC), RFC 5256 (SORT, THREAD), RFC 5957 (SORT=DISPLAY), RFC 7888 (LITERAL+), RFC 7889 (APPENDLIMIT), RFC 8438
// (STATUS=SIZE), RFC 3348 (CHILDREN), RFC 3691 (UNSELECT), RFC 9208 (QUOTA), RFC 4314 (ACL),
// RFC 4978 (COMPRESS=DEFLATE).
#pragma once

#include "imapd.hpp"

#include "polder/imap/proto/parser.hpp"
#include "polder/imap/proto/response.hpp"
#include "polder/net/stream.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace polder::imap {

class session : public std::enable_shared_from_this<session> {
public:
    session(imapd& d, std::unique_ptr<net::stream> stream, net::connection_info info);
    ~session();

    awaitable<void> run();

    // capabilities - what this session advertises now (depends on TLS and login state).
    std::vector<std::string> capabilities() const;

private:
    struct message_state {
        std::uint32_t uid = 0;
        std::vector<std::string> flags;
        std::uint64_t modseq = 0;
        bool recent = false;
    };
    struct selected_state {
        mailstore::mailbox_info mailbox;
        bool read_only = false;
        std::vector<message_state> messages;        // ascending uid: index + 1 = sequence number
        std::uint64_t highestmodseq = 0;            // what this view has seen
        std::uint64_t uidnext = 1;
        std::vector<std::uint32_t> pending_expunges;   // seen in the store, not yet announced
        std::vector<std::string> keywords;
        // What never changes for a UID of this mailbox (the blob, its size, INTERNALDATE),
        // remembered from FETCHes of the actor's own mailbox, so a later FETCH of whole
        // messages needs no database round trip (as Dovecot serves them from its index),
        // or for a message kept in the database (in_db, schema 0109) only the lookup of
        // its octets by row. Bounded by max_cached_bodies; entries go with EXPUNGE and
        // with the view.
        struct body_ref {
            blob::blob_id blob;
            std::uint64_t size = 0;
            std::int64_t internaldate = 0;
            std::int64_t message_row = 0;
            bool in_db = false;
        };
        std::unordered_map<std::uint32_t, body_ref> bodies;
    };
    static constexpr std::size_t max_cached_bodies = 10000;   // about 1 MiB at most per session
    // APPEND to the selected mailbox of one's own up to this size gets its continuation
    // without the quota check first (session.cpp); append() checks in any case.
    static constexpr std::uint64_t unchecked_append_size = 64 * 1024;

    // IDLE runs a second coroutine that writes updates while serve() reads DONE.
    struct idle_control {
        bool idling = true;
        bool running = true;
        std::string tag;
        std::unique_ptr<asio::steady_timer> finished;
    };
    // idle_updater - parameters by value: a coroutine lambda's captures would not outlive
    // the lambda object co_spawn moves around.
    static awaitable<void> idle_updater(std::shared_ptr<session> self, std::shared_ptr<idle_control> idle);

    // I/O
    awaitable<bool> flush();
    awaitable<void> serve();
    void set_authenticated_timeout();

    // dispatch
    awaitable<void> execute(proto::command& cmd);
    void reply_error(const std::string& tag, const boost::system::error_code& ec, std::string_view what,
                     bool trycreate = false);
    void bad(const std::string& tag, std::string_view text);

    // not authenticated
    awaitable<void> cmd_starttls(const proto::command& cmd);
    awaitable<void> cmd_login(const proto::command& cmd);
    awaitable<void> cmd_authenticate(const proto::command& cmd);
    awaitable<void> finish_login(const std::string& tag, std::string address, std::string secret);
    bool plaintext_login_allowed() const;

    // authenticated
    awaitable<void> cmd_enable(const proto::command& cmd);
    void cmd_id(const proto::command& cmd);
    void cmd_namespace(const proto::command& cmd);
    awaitable<void> cmd_list(const proto::command& cmd);
    awaitable<void> cmd_lsub(const proto::command& cmd);
    awaitable<void> cmd_create(const proto::command& cmd);
    awaitable<void> cmd_delete(const proto::command& cmd);
    awaitable<void> cmd_rename(const proto::command& cmd);
    awaitable<void> cmd_subscribe(const proto::command& cmd, bool on);
    awaitable<void> cmd_status(const proto::command& cmd);
    awaitable<void> cmd_select(const proto::command& cmd, bool examine);
    awaitable<void> cmd_append(const proto::command& cmd);
    awaitable<void> cmd_idle(const proto::command& cmd);
    awaitable<void> cmd_compress(const proto::command& cmd);
    awaitable<void> cmd_getquotaroot(const proto::command& cmd);
    awaitable<void> cmd_getquota(const proto::command& cmd);
    awaitable<void> cmd_getacl(const proto::command& cmd);
    awaitable<void> cmd_myrights(const proto::command& cmd);
    awaitable<void> cmd_listrights(const proto::command& cmd);
    awaitable<void> cmd_setacl(const proto::command& cmd, bool remove);

    // selected
    awaitable<void> cmd_fetch(const proto::command& cmd);
    awaitable<void> cmd_store(const proto::command& cmd);
    awaitable<void> cmd_search(const proto::command& cmd);
    awaitable<void> cmd_copy(const proto::command& cmd, bool move);
    awaitable<void> cmd_expunge(const proto::command& cmd);
    awaitable<void> cmd_close(const proto::command& cmd, bool expunge);
    awaitable<void> cmd_sort(const proto::command& cmd);
    awaitable<void> cmd_thread(const proto::command& cmd);
    // fetch_metas - the stored data of these UIDs (ascending), in chunks the store accepts.
    awaitable<result<std::vector<mailstore::message_meta>>> fetch_metas(const std::vector<std::uint32_t>& uids);

    // helpers
    // write_status - the STATUS items of one mailbox (STATUS and LIST-STATUS).
    awaitable<boost::system::error_code> write_status(const std::string& name, const std::vector<proto::status_item>& items);
    // resolve_set - the UIDs a sequence set names in this view (UIDs not in the view are
    // dropped); nullopt when a message sequence number is out of range (BAD).
    std::optional<std::vector<std::uint32_t>> resolve_set(const proto::sequence_set& set, bool uid) const;
    std::uint32_t seq_of(std::uint32_t uid) const;   // 0 when not in the view
    message_state* find(std::uint32_t uid);
    std::vector<std::uint32_t> view_uids() const;   // the selected view's UIDs, ascending
    // sync - read the store's changes since the view's modseq and announce them:
    // EXISTS/RECENT for new messages, FETCH FLAGS for changed flags, EXPUNGE (only when
    // `allow_expunge`: never during FETCH, STORE, SEARCH - RFC 9051 7.4.1).
    // FETCH, STORE, SEARCH, SORT and THREAD sync only when a NOTIFY said another session
    // or a delivery changed the mailbox (changes_pending_): the session's own changes are
    // already in its view, and the common case then costs no extra database round trip
    // (changes_pending()).
    // NOOP, IDLE, CHECK, APPEND, COPY/MOVE and EXPUNGE always sync.
    awaitable<void> sync(bool allow_expunge);
    void announce_expunges();
    // expunged - removes these UIDs from the view, announcing them as EXPUNGE, or as one
    // VANISHED once QRESYNC is enabled (RFC 7162 3.2.10).
    void expunged(std::vector<std::uint32_t> uids);
    // qresync_select - SELECT ... (QRESYNC (...)): VANISHED (EARLIER) and FETCH for what
    // changed since the client's modseq (RFC 7162 3.2.5).
    awaitable<void> qresync_select(const proto::qresync_params& q);
    awaitable<void> listen_for(std::int64_t owner);
    void deselect();
    // to_criterion - the mail store's search tree for a SEARCH key in this view.
    result<mailstore::search_criterion> to_criterion(const proto::search_key& key) const;
    awaitable<result<std::vector<std::uint32_t>>> run_search(const proto::search_key& key);
    // run_ranked_search - run_search with RFC 6203 relevancy scores, as (uid, score) in UID order.
    awaitable<result<std::vector<std::pair<std::uint32_t, std::uint32_t>>>> run_ranked_search(const proto::search_key& key);
    bool wants_modseq() const noexcept { return condstore_; }
    std::vector<std::string> permanent_flags() const;

    imapd& d_;
    std::unique_ptr<net::stream> stream_;
    net::connection_info info_;
    proto::command_parser parser_;
    std::string out_;
    proto::response_writer w_;
    std::string in_;
    proto::session_state state_ = proto::session_state::not_authenticated;
    std::optional<auth::principal> user_;
    bool counted_ = false;
    bool logout_ = false;
    bool rev2_ = false, condstore_ = false, utf8_ = false, qresync_ = false;
    bool compressed_ = false;   // COMPRESS DEFLATE is active (RFC 4978)
    std::optional<selected_state> sel_;
    std::optional<std::vector<std::uint32_t>> saved_;   // SEARCHRES "$" (UIDs)
    db::subscription own_sub_, shared_sub_;
    std::int64_t shared_owner_ = 0;
    // What NOTIFYs said about the selected mailbox: changes_pending_ when one carried no
    // modseq (or the listener resynced), else the highest modseq announced. A NOTIFY of
    // this session's own STORE can arrive before the STORE's answer; once the answer has
    // moved the view's modseq up to it, it asks for nothing (changes_pending()).
    bool changes_pending_ = false;
    std::uint64_t notified_modseq_ = 0;
    bool changes_pending() const noexcept {
        return changes_pending_ || (sel_ && notified_modseq_ > sel_->highestmodseq);
    }
    std::unique_ptr<asio::steady_timer> wake_;
};

}  // namespace polder::imap
