// session.cpp - the IMAP connection loop, command table, state checks, error mapping,
// authentication, IDLE and the synchronisation of the selected mailbox (see session.hpp).
//
// SECURITY: see session.hpp. Credentials are only accepted over TLS (or loopback when the
// operator allows it); failed logins are throttled by common/auth and answered with one
// generic text; a command in the wrong state gets BAD; a parse error gets BAD with the
// parser's safe reason and the session goes on.
// STANDARDS: RFC 9051 sections 5-7, RFC 3501, RFC 2177 (IDLE), RFC 4959 (SASL-IR),
// RFC 4616 (PLAIN), RFC 8314 (implicit TLS), RFC 7162 section 3.1 (CONDSTORE enabling).
#include "session.hpp"

#include "polder/imap/proto/base64.hpp"
#include "polder/log/log.hpp"
#include "polder/net/deflate_stream.hpp"

#include <algorithm>
#include <charconv>
#include <array>

namespace polder::imap {

using proto::command_kind;
using proto::response_code;
using proto::response_status;
using proto::code_kind;

session::session(imapd& d, std::unique_ptr<net::stream> stream, net::connection_info info)
    : d_(d),
      stream_(std::move(stream)),
      info_(std::move(info)),
      parser_([&] {
          proto::parser_options o;
          o.max_command_size = d.settings.imap.max_line_length;
          o.max_append_size = d.settings.imap.max_literal_size;
          o.max_append_total = d.settings.imap.max_literal_size;
          o.max_discard = d.settings.imap.max_literal_size;
          o.non_sync = proto::non_sync_literals::plus;
          return o;
      }()),
      w_(out_) {}

session::~session() {
    if (counted_ && user_) d_.release_session(user_->account_id);
}

bool session::plaintext_login_allowed() const {
    return stream_->tls_active() || (info_.loopback && d_.settings.auth.allow_plaintext_on_loopback);
}

std::vector<std::string> session::capabilities() const {
    std::vector<std::string> caps{"IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"};
    if (state_ == proto::session_state::not_authenticated) {
        if (!stream_->tls_active() && d_.tls) caps.push_back("STARTTLS");
        if (plaintext_login_allowed())
            caps.push_back("AUTH=PLAIN");
        else
            caps.push_back("LOGINDISABLED");
        return caps;
    }
    for (const char* c : {"NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS",
                          "SPECIAL-USE", "CREATE-SPECIAL-USE", "ESEARCH", "SEARCHRES", "BINARY", "STATUS=SIZE",
                          "CONDSTORE", "QRESYNC", "QUOTA", "QUOTA=RES-STORAGE", "ACL", "RIGHTS=texk", "SORT", "SORT=DISPLAY",
                          "SEARCH=FUZZY",
                          "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"})
        caps.emplace_back(c);
    if (!compressed_) caps.emplace_back("COMPRESS=DEFLATE");
    caps.push_back("APPENDLIMIT=" + std::to_string(d_.settings.imap.max_literal_size));
    return caps;
}

awaitable<bool> session::flush() {
    if (out_.empty()) co_return true;
    std::string data;
    data.swap(out_);
    auto r = co_await stream_->write(data);
    co_return r.has_value();
}

void session::set_authenticated_timeout() {
    stream_->set_timeout(std::chrono::seconds(d_.settings.imap.idle_timeout_authenticated_seconds));
}

void session::bad(const std::string& tag, std::string_view text) { w_.tagged(tag, response_status::bad, text); }

void session::reply_error(const std::string& tag, const boost::system::error_code& ec, std::string_view what,
                          bool trycreate) {
    auto no = [&](code_kind k, std::string_view text) { w_.tagged(tag, response_status::no, response_code{k}, text); };
    if (is(ec, errc::not_found))
        no(trycreate ? code_kind::trycreate : code_kind::nonexistent, "Mailbox does not exist");
    else if (is(ec, errc::permission_denied))
        no(code_kind::noperm, "Permission denied");
    else if (is(ec, errc::already_exists))
        no(code_kind::alreadyexists, "Mailbox already exists");
    else if (is(ec, errc::invalid_argument))
        no(code_kind::cannot, std::string(what) + " not possible");
    else if (is(ec, errc::quota_exceeded))
        no(code_kind::overquota, "Quota exceeded");
    else if (is(ec, errc::limit_exceeded) || is(ec, errc::conflict))
        no(code_kind::limit, "Limit exceeded");
    else if (is(ec, errc::unavailable) || is(ec, errc::timeout) || is(ec, errc::throttled))
        no(code_kind::unavailable, "Temporarily unavailable, try again later");
    else {
        log::error("imap.internal_error", {{"conn", info_.id}, {"op", what}, {"error", ec}});
        no(code_kind::serverbug, "Internal error; details are in the server log");
    }
}

// ----------------------------------------------------------------------------- loop

awaitable<void> session::run() {
    if (info_.control) {
        std::weak_ptr<session> weak = weak_from_this();
        info_.control->on_shutdown([weak] {
            if (auto s = weak.lock()) s->stream_->cancel();
        });
    }
    auto ex = co_await asio::this_coro::executor;
    wake_ = std::make_unique<asio::steady_timer>(ex);
    if (info_.tls == net::tls_mode::implicit) {
        if (auto r = co_await stream_->start_tls(); !r) {
            log::debug("imap.tls_failed", {{"conn", info_.id}, {"error", r.error()}});
            co_return;
        }
    }
    co_await serve();
    if (sel_) deselect();
    own_sub_.reset();
    co_await stream_->shutdown();
}

awaitable<void> session::serve() {
    w_.untagged(response_status::ok, response_code::capability(capabilities()), "Polder IMAP ready");
    if (!co_await flush()) co_return;
    std::array<char, 16384> buf;
    // Hoisted: GCC 12 miscompiles co_await inside argument lists.
    auto ex = co_await asio::this_coro::executor;
    std::shared_ptr<idle_control> idle;
    std::optional<std::string> auth_tag;   // AUTHENTICATE waiting for its client response

    auto stop_idle = [&]() -> awaitable<void> {
        if (!idle) co_return;
        idle->idling = false;
        wake_->cancel();
        while (idle->running) co_await idle->finished->async_wait(use_tuple);
    };

    for (;;) {
        for (;;) {
            auto [ev, used] = parser_.feed(in_);
            in_.erase(0, used);
            if (std::holds_alternative<proto::need_more>(ev)) break;
            if (auto* cmd = std::get_if<proto::command>(&ev)) {
                if (cmd->kind == command_kind::idle) {
                    if (!proto::allowed_in(cmd->kind, state_)) {
                        bad(cmd->tag, "Command not valid in this state");
                    } else {
                        w_.continuation("idling");
                        parser_.expect_idle_done();
                        if (sel_) co_await sync(true);
                        if (!co_await flush()) co_return;
                        idle = std::make_shared<idle_control>();
                        idle->tag = cmd->tag;
                        idle->finished = std::make_unique<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
                        auto self = shared_from_this();
                        asio::co_spawn(
                            ex, [self, idle] { return idle_updater(self, idle); },
                            [idle](std::exception_ptr) {
                                idle->running = false;
                                idle->finished->cancel();
                            });
                        continue;
                    }
                } else if (cmd->kind == command_kind::authenticate && state_ == proto::session_state::not_authenticated &&
                           !cmd->get<proto::authenticate_args>().initial_response &&
                           proto::iequals(cmd->get<proto::authenticate_args>().mechanism, "PLAIN") &&
                           plaintext_login_allowed()) {
                    w_.continuation_data("");
                    parser_.expect_continuation_line();
                    auth_tag = cmd->tag;
                } else {
                    d_.activity->touch();
                    co_await execute(*cmd);
                }
            } else if (auto* req = std::get_if<proto::literal_request>(&ev)) {
                // The parser already enforced APPENDLIMIT and the command size. Before the
                // client uploads an APPEND message, tell it now if the mailbox is missing
                // (TRYCREATE), not writable or over quota (RFC 9051 6.3.12 allows NO instead
                // of the continuation); append() checks again when the data is in.
                // Skipped for a small message to the selected mailbox of one's own: it
                // existed at SELECT and the owner holds every right, so only the quota could
                // refuse it, and a few KiB sent for nothing cost less than the check's
                // database round trip on every APPEND (clients save drafts and copies to
                // Sent that way); append() still checks and answers NO [OVERQUOTA].
                const bool to_selected = sel_ && !sel_->read_only && user_ &&
                                         sel_->mailbox.owner_account_id == user_->account_id &&
                                         (req->mailbox == sel_->mailbox.name ||
                                          (proto::iequals(req->mailbox, "INBOX") &&
                                           proto::iequals(sel_->mailbox.name, "INBOX")));
                if (req->kind == command_kind::append && req->message_data && user_ &&
                    !(to_selected && req->size <= unchecked_append_size)) {
                    auto tag = req->tag;
                    auto mailbox = req->mailbox;
                    auto size = req->size;
                    auto ok = co_await d_.store.check_append(user_->account_id, std::move(mailbox), size);
                    if (!ok) {
                        parser_.reject_literal();
                        reply_error(tag, ok.error(), "APPEND", true);
                        if (!co_await flush()) co_return;
                        continue;
                    }
                }
                parser_.accept_literal();
                w_.continuation("Ready for literal data");
            } else if (auto* line = std::get_if<proto::continuation_line>(&ev)) {
                auto tag = auth_tag.value_or("*");
                auth_tag.reset();
                if (line->text == "*") {
                    bad(tag, "Authentication cancelled");
                } else if (auto decoded = proto::base64_decode(line->text); !decoded || line->too_long) {
                    bad(tag, "Invalid base64 in the SASL response");
                } else if (auto plain = proto::parse_sasl_plain(*decoded); !plain) {
                    bad(tag, "Malformed SASL PLAIN message");
                } else if (!plain->authzid.empty() && !proto::iequals(plain->authzid, plain->authcid)) {
                    w_.tagged(tag, response_status::no, response_code{code_kind::authorizationfailed},
                              "Acting as another user is not permitted");
                } else {
                    co_await finish_login(tag, plain->authcid, plain->password);
                }
            } else if (auto* done = std::get_if<proto::idle_done>(&ev)) {
                co_await stop_idle();
                auto tag = idle ? idle->tag : std::string("*");
                idle.reset();
                if (sel_) co_await sync(true);
                if (done->done)
                    w_.tagged(tag, response_status::ok, "IDLE terminated");
                else
                    bad(tag, "Expected DONE");
            } else if (auto* err = std::get_if<proto::parse_error>(&ev)) {
                if (err->tag) {
                    if (err->code)
                        w_.tagged(*err->tag, err->status, *err->code, err->reason);
                    else
                        w_.tagged(*err->tag, err->status, err->reason);
                } else {
                    w_.untagged(response_status::bad, err->reason);
                }
                if (err->close_connection) {
                    w_.untagged(response_status::bye, "Too much invalid input");
                    co_await flush();
                    co_return;
                }
            }
            if (!co_await flush()) co_return;
            if (logout_) co_return;
        }
        auto n = co_await stream_->read_some(asio::buffer(buf));
        if (!n) {
            co_await stop_idle();
            if (is(n.error(), errc::timeout)) {
                w_.untagged(response_status::bye, "Autologout; idle for too long");
                co_await flush();
            } else if (info_.shutting_down()) {
                w_.untagged(response_status::bye, "Server shutting down");
                co_await flush();
            }
            co_return;
        }
        if (info_.shutting_down() && !idle) {
            w_.untagged(response_status::bye, "Server shutting down");
            co_await flush();
            co_return;
        }
        in_.append(buf.data(), *n);
    }
}

awaitable<void> session::idle_updater(std::shared_ptr<session> self, std::shared_ptr<idle_control> idle) {
    bool writable = true;
    while (idle->idling && writable) {
        if (!self->changes_pending()) {
            self->wake_->expires_at(asio::steady_timer::time_point::max());
            co_await self->wake_->async_wait(use_tuple);
        } else {
            if (self->sel_)
                co_await self->sync(true);
            else {
                self->changes_pending_ = false;
                self->notified_modseq_ = 0;
            }
            writable = co_await self->flush();
        }
    }
}

awaitable<void> session::execute(proto::command& cmd) {
    if (!proto::allowed_in(cmd.kind, state_)) {
        if (cmd.kind == command_kind::enable && state_ == proto::session_state::selected) {
            // Clients (Thunderbird) send ENABLE after SELECT; RFC 5161 leaves it to the server.
        } else {
            bad(cmd.tag, state_ == proto::session_state::not_authenticated ? "Log in first"
                                                                           : "Command not valid in this state");
            co_return;
        }
    }
    switch (cmd.kind) {
        case command_kind::capability:
            w_.capability(capabilities());
            w_.tagged(cmd.tag, response_status::ok, "CAPABILITY completed");
            co_return;
        case command_kind::noop:
        case command_kind::check:
            if (sel_) co_await sync(true);
            w_.tagged(cmd.tag, response_status::ok, std::string(proto::command_name(cmd.kind)) + " completed");
            co_return;
        case command_kind::logout:
            w_.untagged(response_status::bye, "Logging out");
            w_.tagged(cmd.tag, response_status::ok, "LOGOUT completed");
            logout_ = true;
            co_return;
        case command_kind::starttls: co_await cmd_starttls(cmd); co_return;
        case command_kind::login: co_await cmd_login(cmd); co_return;
        case command_kind::authenticate: co_await cmd_authenticate(cmd); co_return;
        case command_kind::id: cmd_id(cmd); co_return;
        case command_kind::enable: co_await cmd_enable(cmd); co_return;
        case command_kind::namespace_: cmd_namespace(cmd); co_return;
        case command_kind::list: co_await cmd_list(cmd); break;
        case command_kind::lsub: co_await cmd_lsub(cmd); break;
        case command_kind::create: co_await cmd_create(cmd); break;
        case command_kind::delete_: co_await cmd_delete(cmd); break;
        case command_kind::rename: co_await cmd_rename(cmd); break;
        case command_kind::subscribe: co_await cmd_subscribe(cmd, true); break;
        case command_kind::unsubscribe: co_await cmd_subscribe(cmd, false); break;
        case command_kind::status: co_await cmd_status(cmd); break;
        case command_kind::select: co_await cmd_select(cmd, false); co_return;
        case command_kind::examine: co_await cmd_select(cmd, true); co_return;
        case command_kind::append: co_await cmd_append(cmd); break;
        case command_kind::getquotaroot: co_await cmd_getquotaroot(cmd); break;
        case command_kind::getquota: co_await cmd_getquota(cmd); break;
        case command_kind::setquota:
            w_.tagged(cmd.tag, response_status::no, response_code{code_kind::noperm},
                      "Quotas are set by the administrator (polderctl quota set)");
            break;
        case command_kind::getacl: co_await cmd_getacl(cmd); break;
        case command_kind::myrights: co_await cmd_myrights(cmd); break;
        case command_kind::listrights: co_await cmd_listrights(cmd); break;
        case command_kind::setacl: co_await cmd_setacl(cmd, false); break;
        case command_kind::deleteacl: co_await cmd_setacl(cmd, true); break;
        case command_kind::fetch: co_await cmd_fetch(cmd); co_return;
        case command_kind::store: co_await cmd_store(cmd); co_return;
        case command_kind::search: co_await cmd_search(cmd); co_return;
        case command_kind::copy: co_await cmd_copy(cmd, false); break;
        case command_kind::move: co_await cmd_copy(cmd, true); co_return;
        case command_kind::expunge: co_await cmd_expunge(cmd); co_return;
        case command_kind::sort: co_await cmd_sort(cmd); co_return;
        case command_kind::thread: co_await cmd_thread(cmd); co_return;
        case command_kind::close: co_await cmd_close(cmd, true); co_return;
        case command_kind::unselect: co_await cmd_close(cmd, false); co_return;
        case command_kind::compress: co_await cmd_compress(cmd); co_return;
        default:
            // Parsed but not offered in CAPABILITY (METADATA; SETQUOTA is above).
            bad(cmd.tag, "Command not supported");
            co_return;
    }
}

// ----------------------------------------------------------------------------- authentication

awaitable<void> session::cmd_starttls(const proto::command& cmd) {
    if (stream_->tls_active()) {
        bad(cmd.tag, "TLS is already active");
        co_return;
    }
    if (!d_.tls) {
        bad(cmd.tag, "TLS is not available");
        co_return;
    }
    if (!in_.empty() || !parser_.at_command_boundary()) {
        // CVE-2011-0411: bytes pipelined after STARTTLS would be read as if protected.
        bad(cmd.tag, "Pipelined data after STARTTLS");
        logout_ = true;
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, "Begin TLS negotiation now");
    if (!co_await flush()) {
        logout_ = true;
        co_return;
    }
    if (auto r = co_await stream_->start_tls(); !r) {
        log::debug("imap.starttls_failed", {{"conn", info_.id}, {"error", r.error()}});
        logout_ = true;
    }
}

// cmd_compress - RFC 4978: the tagged OK goes out uncompressed, everything after it in
// both directions is raw DEFLATE. Bytes the client pipelined after the command are
// already compressed: they go to the new stream to be inflated first.
awaitable<void> session::cmd_compress(const proto::command& cmd) {
    if (compressed_) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::compressionactive},
                  "DEFLATE is already active");
        co_return;
    }
    if (!proto::iequals(cmd.get<proto::compress_args>().mechanism, "DEFLATE")) {
        bad(cmd.tag, "Unknown compression mechanism; DEFLATE is supported");
        co_return;
    }
    if (!parser_.at_command_boundary()) {
        bad(cmd.tag, "COMPRESS inside another command");
        co_return;
    }
    w_.tagged(cmd.tag, response_status::ok, "DEFLATE active");
    if (!co_await flush()) {
        logout_ = true;
        co_return;
    }
    std::string pipelined;
    pipelined.swap(in_);
    stream_ = net::make_deflate_stream(std::move(stream_), std::move(pipelined));
    compressed_ = true;
    log::debug("imap.compress", {{"conn", info_.id}});
}

awaitable<void> session::cmd_login(const proto::command& cmd) {
    if (!plaintext_login_allowed()) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::privacyrequired},
                  "LOGIN is disabled before STARTTLS");
        co_return;
    }
    const auto& a = cmd.get<proto::login_args>();
    co_await finish_login(cmd.tag, a.user, a.password);
}

awaitable<void> session::cmd_authenticate(const proto::command& cmd) {
    const auto& a = cmd.get<proto::authenticate_args>();
    if (!plaintext_login_allowed()) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::privacyrequired},
                  "Authentication is disabled before STARTTLS");
        co_return;
    }
    if (!proto::iequals(a.mechanism, "PLAIN")) {
        w_.tagged(cmd.tag, response_status::no, "Unsupported authentication mechanism");
        co_return;
    }
    auto plain = proto::parse_sasl_plain(*a.initial_response);
    if (!plain) {
        bad(cmd.tag, "Malformed SASL PLAIN message");
        co_return;
    }
    if (!plain->authzid.empty() && !proto::iequals(plain->authzid, plain->authcid)) {
        w_.tagged(cmd.tag, response_status::no, response_code{code_kind::authorizationfailed},
                  "Acting as another user is not permitted");
        co_return;
    }
    co_await finish_login(cmd.tag, plain->authcid, plain->password);
}

awaitable<void> session::finish_login(const std::string& tag, std::string address, std::string secret) {
    // A login that succeeded within the last minute with exactly these credentials costs
    // no Argon2id verification (auth::login_cache); failures are never cached.
    result<auth::principal> who = errc::auth_failed;
    if (auto cached = d_.login_cache.find(address, secret)) {
        who = std::move(*cached);
    } else {
        who = co_await d_.authenticator.login(address, secret, info_.peer_address, "imap");
        if (who) d_.login_cache.insert(address, secret, *who);
    }
    if (!who) {
        if (is(who.error(), errc::auth_failed) || is(who.error(), errc::throttled))
            w_.tagged(tag, response_status::no, response_code{code_kind::authenticationfailed},
                      "Authentication failed");
        else
            w_.tagged(tag, response_status::no, response_code{code_kind::unavailable},
                      "Authentication temporarily unavailable");
        co_return;
    }
    if (!d_.acquire_session(who->account_id)) {
        log::info("imap.session_limit", {{"conn", info_.id}, {"account", who->account_id}});
        w_.tagged(tag, response_status::no, response_code{code_kind::limit}, "Too many sessions for this account");
        co_return;
    }
    counted_ = true;
    user_ = std::move(*who);
    state_ = proto::session_state::authenticated;
    set_authenticated_timeout();
    co_await listen_for(user_->account_id);
    log::info("imap.login", {{"conn", info_.id}, {"account", user_->account_id}, {"tls", stream_->tls_active()}});
    w_.tagged(tag, response_status::ok, response_code::capability(capabilities()), "Logged in");
}

awaitable<void> session::listen_for(std::int64_t owner) {
    std::weak_ptr<session> weak = weak_from_this();
    auto on_notify = [weak](std::string payload) {
        auto s = weak.lock();
        if (!s || !s->sel_) return;
        // "<mailbox id>" or "<mailbox id>:<modseq>" (see mailstore::notify_channel).
        std::string_view p = payload;
        std::uint64_t modseq = 0;
        if (auto colon = p.find(':'); colon != std::string_view::npos) {
            auto tail = p.substr(colon + 1);
            auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), modseq);
            if (ec != std::errc() || end != tail.data() + tail.size()) modseq = 0;
            p = p.substr(0, colon);
        }
        if (p != std::to_string(s->sel_->mailbox.id)) return;
        if (modseq != 0 && modseq <= s->sel_->highestmodseq) return;   // already in this view
        if (modseq == 0)
            s->changes_pending_ = true;
        else
            s->notified_modseq_ = std::max(s->notified_modseq_, modseq);
        s->wake_->cancel();
    };
    auto on_resync = [weak] {
        if (auto s = weak.lock(); s && s->sel_) {
            s->changes_pending_ = true;
            s->wake_->cancel();
        }
    };
    if (owner == user_->account_id) {
        own_sub_ = co_await d_.notifier.listen(mailstore::notify_channel(owner), on_notify, on_resync);
    } else if (owner != shared_owner_) {
        shared_sub_ = co_await d_.notifier.listen(mailstore::notify_channel(owner), on_notify, on_resync);
        shared_owner_ = owner;
    }
}

// ----------------------------------------------------------------------------- sync

std::uint32_t session::seq_of(std::uint32_t uid) const {
    const auto& v = sel_->messages;
    auto it = std::lower_bound(v.begin(), v.end(), uid, [](const message_state& m, std::uint32_t u) { return m.uid < u; });
    if (it == v.end() || it->uid != uid) return 0;
    return static_cast<std::uint32_t>(it - v.begin() + 1);
}

std::vector<std::uint32_t> session::view_uids() const {
    std::vector<std::uint32_t> out;
    out.reserve(sel_->messages.size());
    for (const auto& m : sel_->messages) out.push_back(m.uid);
    return out;
}

session::message_state* session::find(std::uint32_t uid) {
    auto s = seq_of(uid);
    return s ? &sel_->messages[s - 1] : nullptr;
}

void session::announce_expunges() {
    auto uids = std::move(sel_->pending_expunges);
    sel_->pending_expunges.clear();
    expunged(std::move(uids));
}

void session::expunged(std::vector<std::uint32_t> uids) {
    auto& v = sel_->messages;
    std::sort(uids.begin(), uids.end());
    std::vector<std::uint32_t> gone;
    for (auto uid : uids) {
        auto s = seq_of(uid);
        if (!s) continue;
        if (!qresync_) w_.expunge(s);
        v.erase(v.begin() + (s - 1));
        sel_->bodies.erase(uid);
        gone.push_back(uid);
    }
    if (qresync_ && !gone.empty()) w_.vanished(gone, false);
}

awaitable<void> session::sync(bool allow_expunge) {
    changes_pending_ = false;
    auto ch = co_await d_.store.changes_since(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity,
                                             sel_->highestmodseq);
    if (!ch) {
        if (is(ch.error(), errc::not_found)) {
            // Deleted (or no longer shared) under us: RFC 9051 7.1 BYE is allowed; we stay
            // connected but the view is gone.
            w_.untagged(response_status::no, "The selected mailbox was deleted or is no longer accessible");
            deselect();
            state_ = proto::session_state::authenticated;
        }
        co_return;
    }
    auto& v = sel_->messages;
    if (ch->expunges_known) {
        for (auto uid : ch->expunged)
            if (seq_of(uid)) sel_->pending_expunges.push_back(uid);
    } else {
        // Expunge records since the view's mod-sequence were pruned (schema 0114): what the
        // view holds and the mailbox no longer does went.
        for (const auto& m : v)
            if (!std::binary_search(ch->present.begin(), ch->present.end(), m.uid))
                sel_->pending_expunges.push_back(m.uid);
    }
    std::uint32_t max_uid = v.empty() ? 0 : v.back().uid;
    std::size_t added = 0;
    for (auto& c : ch->changed) {
        if (c.uid > max_uid) {
            v.push_back({c.uid, c.flags, c.modseq, false});
            max_uid = c.uid;
            ++added;
            continue;
        }
        auto* m = find(c.uid);
        if (!m) continue;
        bool differ = m->flags != c.flags;
        m->modseq = c.modseq;
        if (differ) {
            m->flags = c.flags;
            auto f = w_.fetch(seq_of(c.uid));
            std::vector<std::string> flags = m->flags;
            if (m->recent) flags.push_back("\\Recent");
            f.uid(c.uid).flags(flags);
            if (wants_modseq()) f.modseq(c.modseq);
            f.finish();
        }
    }
    sel_->highestmodseq = std::max(sel_->highestmodseq, ch->highestmodseq);
    sel_->uidnext = ch->uidnext;
    if (allow_expunge) announce_expunges();
    if (added) {
        std::uint32_t recent = 0;
        if (!sel_->read_only && !rev2_) {
            auto low = co_await d_.store.claim_recent(user_->account_id, sel_->mailbox.id, sel_->mailbox.uidvalidity);
            if (low)
                for (auto it = v.end() - static_cast<std::ptrdiff_t>(added); it != v.end(); ++it) it->recent = it->uid >= *low;
        }
        for (const auto& m : v) recent += m.recent ? 1 : 0;
        w_.exists(static_cast<std::uint32_t>(v.size()));
        if (!rev2_) w_.recent(recent);
    }
}

void session::deselect() {
    sel_.reset();
    shared_sub_.reset();
    shared_owner_ = 0;
    saved_.reset();
    changes_pending_ = false;
    notified_modseq_ = 0;
}

std::optional<std::vector<std::uint32_t>> session::resolve_set(const proto::sequence_set& set, bool uid) const {
    std::vector<std::uint32_t> out;
    const auto& v = sel_->messages;
    if (set.saved) {
        if (!saved_) return out;
        for (auto u : *saved_)
            if (seq_of(u)) out.push_back(u);
        return out;
    }
    if (uid) {
        std::uint32_t largest = v.empty() ? 0 : v.back().uid;
        for (const auto& r : set.normalized(largest)) {
            auto it = std::lower_bound(v.begin(), v.end(), r.first,
                                       [](const message_state& m, std::uint32_t u) { return m.uid < u; });
            for (; it != v.end() && it->uid <= r.last; ++it) out.push_back(it->uid);
        }
        return out;
    }
    auto count = static_cast<std::uint32_t>(v.size());
    for (const auto& r : set.normalized(count)) {
        if (r.first == 0 || r.last > count) return std::nullopt;
        for (auto s = r.first; s <= r.last; ++s) out.push_back(v[s - 1].uid);
    }
    return out;
}

}  // namespace polder::imap
