// service.cpp - authentication, the method table, and what every command shares: XML
// bodies, ETag preconditions, responses.
//
// SECURITY: Basic credentials are refused over plain HTTP unless the peer is loopback and
// auth.allow_plaintext_on_loopback is set (403); a wrong or missing password is 401 with
// a challenge; throttling is the authenticator's (errc::throttled -> 429). The owner
// segment of every principal/home/collection/object URL must be the caller's own address,
// otherwise 404 on every method - another account's or organisation's data is neither
// readable nor writable, and its existence is not revealed. OPTIONS and the well-known
// redirects need no credentials and reveal nothing stored. The login cache holds only
// successful logins, keyed by a hash of user and password, for 60 seconds.
// STANDARDS: RFC 7617 (Basic), RFC 6764 5 (well-known redirect), RFC 9110 13
// (conditional requests), RFC 6585 4 (429).
#include "service.hpp"

#include "polder/http/etag.hpp"
#include "polder/http/server.hpp"
#include "polder/log/log.hpp"


namespace polder::caldav {

using http::field;
using http::status;

service::service(db::pool& pool, auth::authenticator& auth, options opts)
    : pool_(pool),
      opts_(std::move(opts)),
      login_(auth, {.realm = "Polder calendars and contacts",
                    .service = "caldav",
                    .allow_plaintext_on_loopback = opts_.allow_plaintext_on_loopback}) {}

http::router service::routes() {
    http::router r;
    auto h = [this](http::request& req) { return handle(req); };
    // PUT bodies up to max_resource_size (+ slack so the precondition, not a bare 413,
    // answers a slightly larger object); XML methods lower the limit before reading.
    r.add("*", std::string(root_prefix), h, {.max_body = opts_.max_resource_size + 64 * 1024});
    r.add("*", "/.well-known/caldav", h, {.max_body = 64 * 1024});
    r.add("*", "/.well-known/carddav", h, {.max_body = 64 * 1024});
    // Client autoconfiguration (cmd_autoconfig.cpp); the handler matches the exact paths.
    for (const char* prefix : {"/mail", "/.well-known/autoconfig", "/autodiscover", "/Autodiscover",
                               "/apple.mobileconfig"})
        r.add("*", prefix, h, {.max_body = 64 * 1024});
    return r;
}

http::response service::plain(unsigned code, std::string_view reason) {
    return http::error_response(static_cast<status>(code), reason);
}

http::response service::xml_response(unsigned code, std::string body) {
    return http::text_response(static_cast<status>(code), std::move(body), "application/xml; charset=utf-8");
}

http::response service::dav_error(unsigned code, const dav::qname& condition) {
    return xml_response(code, dav::error_body(condition));
}

namespace {

bool owned_by(const dav_path& p, const std::string& own) {
    switch (p.where) {
    case area::root:
    case area::principals: return true;
    default: return p.owner == own;
    }
}

}  // namespace

awaitable<http::response> service::handle(http::request& req) {
    const std::string method(req.method_string());
    const auto raw = req.path();
    if (raw == "/.well-known/caldav" || raw == "/.well-known/carddav" || raw == "/.well-known/caldav/" ||
        raw == "/.well-known/carddav/") {
        // RFC 6764 5: redirect to the context path; clients then PROPFIND
        // current-user-principal there.
        if (method != "GET" && method != "HEAD" && method != "PROPFIND" && method != "OPTIONS")
            co_return plain(405, "method not allowed");
        http::response r;
        r.code = status::moved_permanently;
        r.headers.set(field::location, std::string(root_prefix) + "/");
        co_return r;
    }
    if (const auto kind = autoconfig_route(raw)) co_return co_await cmd_autoconfig(req, *kind);
    auto target = parse_path(raw);
    if (method == "OPTIONS") co_return cmd_options(target ? &*target : nullptr);
    http::response refusal;
    auto who = co_await login_.check(req, refusal);
    if (!who) co_return refusal;
    req.set_user(who->address);
    if (!target) co_return plain(404, "not found");
    ctx c{req, *who, lower(who->address), *target};
    if (!owned_by(c.target, c.own)) co_return plain(404, "not found");
    bool known;
    {
        std::lock_guard lock(mutex_);
        known = provisioned_.count(c.who.account_id) != 0;
    }
    if (!known) {
        const auto account = c.who.account_id, org = c.who.org_id;
        co_await pool_.transact([&](pqxx::work& tx) {
            store::ensure_home(tx, account, org);
            store::ensure_inbox(tx, account, org);   // homes made before scheduling existed
        });
        std::lock_guard lock(mutex_);
        if (provisioned_.size() >= 100000) provisioned_.clear();
        provisioned_.insert(account);
    }
    if (method == "GET") co_return co_await cmd_get(c, false);
    if (method == "HEAD") co_return co_await cmd_get(c, true);
    if (method == "PUT") co_return co_await cmd_put(c);
    if (method == "DELETE") co_return co_await cmd_delete(c);
    if (method == "PROPFIND") co_return co_await cmd_propfind(c);
    if (method == "PROPPATCH") co_return co_await cmd_proppatch(c);
    if (method == "MKCALENDAR") co_return co_await cmd_mkcol(c, true);
    if (method == "MKCOL") co_return co_await cmd_mkcol(c, false);
    if (method == "COPY") co_return co_await cmd_copy_move(c, false);
    if (method == "MOVE") co_return co_await cmd_copy_move(c, true);
    if (method == "REPORT") co_return co_await cmd_report(c);
    if (method == "POST") co_return co_await cmd_post(c);
    auto r = plain(405, "method not allowed");
    r.headers.set(field::allow,
                  "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCALENDAR, MKCOL, COPY, MOVE, REPORT, POST");
    co_return r;
}

http::response service::cmd_options(const dav_path* target) {
    http::response r;
    r.code = status::ok;
    if (!target) r.code = status::not_found;
    // RFC 4791 5.1, RFC 6352 6.1, RFC 5689 3, RFC 3744 7.2: the compliance classes.
    r.headers.set("DAV", "1, 3, access-control, calendar-access, addressbook, extended-mkcol, calendar-auto-schedule, calendarserver-sharing");
    std::string allow = "OPTIONS, PROPFIND, REPORT";
    if (target) {
        if (target->is_object()) allow += ", GET, HEAD, PUT, DELETE, PROPPATCH, COPY, MOVE";
        else if (target->is_collection()) allow += ", GET, HEAD, PUT, DELETE, PROPPATCH, MKCALENDAR, MKCOL, POST";
        else if (target->is_home()) allow += ", MKCALENDAR, MKCOL";
    }
    r.headers.set(field::allow, allow);
    r.content_length = 0;
    return r;
}

awaitable<service::xml_body> service::read_xml(ctx& c) {
    co_return co_await dav::read_xml_body(c.req, {.max_bytes = opts_.max_xml_bytes, .max_depth = opts_.max_xml_depth});
}

unsigned service::etag_preconditions(const ctx& c, const std::optional<std::string>& current) const {
    std::optional<http::entity_tag> tag;
    if (current) tag = http::entity_tag{*current, false};
    const auto if_match = c.req.header(field::if_match);
    if (!if_match.empty()) {
        auto m = http::match_etag_list(if_match, tag, false);
        if (m == http::etag_list_match::any ? !current : m != http::etag_list_match::matched) return 412;
    }
    const auto if_none = c.req.header(field::if_none_match);
    if (!if_none.empty()) {
        auto m = http::match_etag_list(if_none, tag, true);
        if (m == http::etag_list_match::any ? current.has_value() : m == http::etag_list_match::matched) return 412;
    }
    return 0;
}

}  // namespace polder::caldav
