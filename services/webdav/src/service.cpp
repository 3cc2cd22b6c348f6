// service.cpp - authentication, the method table, and what every command
// shares: XML bodies, If/lock checks, ETag preconditions, responses.
//
// SECURITY: Basic credentials are refused over plain HTTP unless the peer is
// loopback and auth.allow_plaintext_on_loopback is set (403: no credentials
// should travel in clear, and saying so helps the operator); a wrong or
// missing password is 401 with a challenge; throttling is the
// authenticator's (errc::throttled -> 429). The first URL segment must be the
// principal's own address, otherwise 404, so other accounts' existence is not
// revealed. The login cache holds only successful logins, keyed by a hash of
// user and password, for 60 seconds.
// STANDARDS: RFC 7617, RFC 4918 10.4 (If evaluation), RFC 9110 13 (conditional
// requests), RFC 6585 4 (429).
#include "service.hpp"

#include "polder/http/date.hpp"
#include "polder/http/server.hpp"
#include "polder/http/etag.hpp"
#include "polder/log/log.hpp"

#include <algorithm>
#include <array>
#include <ctime>

namespace polder::webdav {

using http::field;
using http::status;

service::service(db::pool& pool, blob::store& blobs, auth::authenticator& auth, options opts)
    : pool_(pool),
      blobs_(blobs),
      opts_(std::move(opts)),
      login_(auth, {.realm = "Polder files",
                    .service = "webdav",
                    .allow_plaintext_on_loopback = opts_.allow_plaintext_on_loopback}) {}

http::router service::routes() {
    http::router r;
    auto h = [this](http::request& req) { return handle(req); };
    // One route for every method under /dav/files/: PUT bodies up to
    // max_file_size; the other methods lower the limit before reading.
    r.add("*", std::string(files_prefix), h, {.max_body = opts_.max_file_size});
    r.add("*", std::string(teams_prefix), h, {.max_body = opts_.max_file_size});
    r.add("*", std::string(shared_prefix), h, {.max_body = opts_.max_file_size});
    r.add("*", std::string(trash_prefix), h, {.max_body = opts_.max_xml_bytes});
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

http::response service::from_failure(const ctx& c, const failure& f) {
    if (f.condition && f.status == 423 && !f.href.empty()) {
        // RFC 4918 16: lock-token-submitted names the locked resource.
        std::string body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:" +
                           f.condition->local + ">" + dav::href_element(f.href) + "</D:" + f.condition->local +
                           "></D:error>\n";
        return xml_response(f.status, std::move(body));
    }
    if (f.condition) return dav_error(f.status, *f.condition);
    return plain(f.status, f.status == 412 ? "precondition failed" : "locked");
}

awaitable<http::response> service::handle(http::request& req) {
    const std::string method(req.method_string());
    // OPTIONS needs no credentials: it reveals nothing about stored data, and
    // clients probe with it before they authenticate.
    path_error perr;
    auto target = parse_dav_path(req.path(), perr);
    if (method == "OPTIONS" && (target || perr.status == 404)) {
        ctx c{req, {}, target.value_or(dav_path{}), std::nullopt, {}};
        co_return co_await cmd_options(c);
    }
    http::response refusal;
    auto who = co_await login_.check(req, refusal);
    if (!who) co_return refusal;
    req.set_user(who->address);
    if (!target && is_trash_path(req.path())) co_return co_await cmd_trash(req, *who);
    if (!target) co_return plain(perr.status, perr.reason);
    if (target->listing) {
        ctx c{req, *who, *target, std::nullopt, {}};
        co_return co_await cmd_listing(c);
    }
    auto sp = co_await resolve_space(*who, *target);
    if (!sp) co_return plain(404, "not found");

    ctx c{req, *who, *target, std::nullopt, std::move(*sp)};
    // From here on paths are home paths; a share's requests stay below its folder.
    c.target.path = join_path(c.sp.root, c.target.path);
    if (c.target.path.size() > max_path_bytes) co_return plain(414, "path longer than 4096 bytes");
    // Read-only shares: only methods that change nothing. COPY checks its
    // Destination's space itself (reading from here is allowed).
    if (!c.sp.writable && method != "GET" && method != "HEAD" && method != "PROPFIND" && method != "REPORT" &&
        method != "COPY")
        co_return plain(403, "this folder is shared with you read-only");
    const auto if_value = req.header("If");
    if (!if_value.empty()) {
        auto parsed = dav::parse_if(if_value);
        if (!parsed) co_return plain(400, "malformed If header");
        c.if_header = std::move(*parsed);
    }
    if (method == "GET" || method == "HEAD") co_return co_await cmd_get(c);
    if (method == "PUT") co_return co_await cmd_put(c);
    if (method == "PROPFIND") co_return co_await cmd_propfind(c);
    if (method == "PROPPATCH") co_return co_await cmd_proppatch(c);
    if (method == "MKCOL") co_return co_await cmd_mkcol(c);
    if (method == "DELETE") co_return co_await cmd_delete(c);
    if (method == "COPY") co_return co_await cmd_copy_move(c, false);
    if (method == "MOVE") co_return co_await cmd_copy_move(c, true);
    if (method == "LOCK") co_return co_await cmd_lock(c);
    if (method == "UNLOCK") co_return co_await cmd_unlock(c);
    if (method == "REPORT") co_return co_await cmd_report(c);
    auto r = plain(405, "method not allowed");
    r.headers.set(field::allow, "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK, REPORT");
    co_return r;
}

namespace {

// run_blocking - the body of service::blocking, spawned on the file I/O
// threads (a coroutine function with a parameter, not a capturing lambda:
// GCC 12 miscompiles those in co_spawn).
awaitable<void> run_blocking(std::function<void()>* f) {
    (*f)();
    co_return;
}

}  // namespace

awaitable<void> service::blocking(std::function<void()>& f) {
    co_await asio::co_spawn(file_io_.get_executor(), run_blocking(&f), use_awaitable);
}

awaitable<service::xml_body> service::read_xml(http::request& req) {
    co_return co_await dav::read_xml_body(req, {.max_bytes = opts_.max_xml_bytes, .max_depth = opts_.max_xml_depth});
}

awaitable<service::propfind_input> service::read_propfind(http::request& req, bool finite_only) {
    propfind_input in;
    const auto depth_value = req.header("Depth");
    auto depth = depth_value.empty() ? std::optional(dav::depth::infinity) : dav::parse_depth(depth_value);
    if (!depth) {
        in.error = plain(400, "Depth must be 0, 1 or infinity");
        co_return in;
    }
    in.depth = *depth;
    if (finite_only && *depth == dav::depth::infinity) {
        in.error = dav_error(403, dav::dav("propfind-finite-depth"));
        co_return in;
    }
    auto body = co_await read_xml(req);
    if (body.error) {
        in.error = std::move(*body.error);
        co_return in;
    }
    if (body.root) {
        std::string reason;
        auto parsed = dav::parse_propfind(*body.root, reason);
        if (!parsed) {
            in.error = plain(400, reason);
            co_return in;
        }
        in.request = std::move(*parsed);
    }
    co_return in;
}

namespace {

// resolve_tag - the home path a resource tag of an If header names, if it is
// inside the space (its URL starts with the space's root URL).
std::optional<std::string> resolve_tag(const std::string& tag, const space& sp) {
    auto d = dav::parse_destination(tag);
    if (!d) return std::nullopt;
    path_error err;
    auto p = parse_dav_path(d->path, err);
    if (!p || p->listing) return std::nullopt;
    auto own = parse_dav_path(sp.url_root, err);
    if (!own || own->where != p->where || own->address != p->address || own->mount != p->mount) return std::nullopt;
    return join_path(sp.root, p->path);
}

bool etag_equal(const std::string& a, const std::string& b) {
    auto x = http::parse_entity_tag(a);
    auto y = http::parse_entity_tag(b);
    return x && y && http::strong_match(*x, *y);
}

}  // namespace

std::optional<service::failure> service::check_conditions(pqxx::work& tx, const ctx& c, const home& h,
                                                          const std::vector<lock_target>& targets,
                                                          bool home_has_locks) {
    std::vector<std::string> submitted;
    if (c.if_header) {
        // RFC 4918 10.4: each (tagged) group is evaluated against its
        // resource; a group holds when one of its lists holds; a list holds
        // when every condition does. Every group must hold.
        for (const auto& g : c.if_header->groups) {
            // Untagged lists are about the request URL, in the request's
            // space (open_home has set its home id); a tag names the
            // request's space or a COPY/MOVE Destination's; anything else
            // matches nothing.
            std::optional<std::string> path = c.target.path;
            std::int64_t home_id = c.sp.home_id != 0 ? c.sp.home_id : h.id;
            if (g.resource) {
                path = resolve_tag(*g.resource, c.sp);
                if (!path && c.dest && c.dest->home_id != 0) {
                    path = resolve_tag(*g.resource, *c.dest);
                    home_id = c.dest->home_id;
                }
            }
            std::optional<node> n;
            std::vector<lock> covering;
            if (path) {
                n = store::find(tx, home_id, *path);
                covering = store::locks_covering(tx, home_id, *path);
            }
            bool group_holds = false;
            for (const auto& list : g.lists) {
                bool all = true;
                for (const auto& cond : list.conditions) {
                    bool holds = false;
                    if (cond.is_etag)
                        holds = n && etag_equal(n->etag, cond.value);
                    else
                        holds = std::any_of(covering.begin(), covering.end(),
                                            [&](const lock& l) { return l.token == cond.value; });
                    if (cond.negated) holds = !holds;
                    if (!holds) {
                        all = false;
                        break;
                    }
                }
                if (all) {
                    group_holds = true;
                    for (const auto& cond : list.conditions)
                        if (!cond.is_etag && !cond.negated) submitted.push_back(cond.value);
                }
            }
            if (!group_holds) return failure{412, std::nullopt, {}};
        }
    }
    // Every lock on a target must be submitted, by the principal who holds it.
    // The home's live locks are few (usually none): one query, then the
    // covering / below tests of locks_covering and locks_below in memory.
    if (targets.empty() || !home_has_locks) return std::nullopt;
    const auto live = store::locks_in_home(tx, h.id);
    for (const auto& t : targets) {
        std::vector<lock> locks;
        for (const auto& l : live) {
            const bool covering = l.path == t.path || (l.infinite && l.path != t.path && inside(t.path, l.path));
            const bool below = t.subtree && l.path != t.path && inside(l.path, t.path);
            if (covering || below) locks.push_back(l);
        }
        for (const auto& l : locks) {
            const bool given = std::find(submitted.begin(), submitted.end(), l.token) != submitted.end();
            if (!given || l.account_id != c.who.account_id)
                return failure{423, dav::dav("lock-token-submitted"), c.href(l.path, true)};
        }
    }
    return std::nullopt;
}

unsigned service::etag_preconditions(const ctx& c, const std::optional<node>& n) {
    std::optional<http::entity_tag> current;
    if (n) current = http::parse_entity_tag(n->etag);
    const auto if_match = c.req.header(field::if_match);
    if (!if_match.empty()) {
        auto m = http::match_etag_list(if_match, current, false);
        if (m == http::etag_list_match::any ? !n : m != http::etag_list_match::matched) return 412;
    }
    const auto if_none = c.req.header(field::if_none_match);
    if (!if_none.empty()) {
        auto m = http::match_etag_list(if_none, current, true);
        if (m == http::etag_list_match::any ? n.has_value() : m == http::etag_list_match::matched) return 412;
    }
    const auto ius = c.req.header(field::if_unmodified_since);
    if (!ius.empty() && if_match.empty() && n) {
        if (auto t = http::parse_http_date(ius); t && n->modified > *t) return 412;
    }
    return 0;
}

std::string service::quota_available(const home& h) const {
    if (h.quota_bytes) return std::to_string(std::max<std::int64_t>(0, *h.quota_bytes - h.used_bytes));
    std::error_code ec;
    auto space = std::filesystem::space(opts_.blob_root, ec);
    return ec ? std::string("0") : std::to_string(space.available);
}

std::string service::activelock_xml(const lock& l, const space& sp) const {
    std::string x = "<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope>";
    x += l.exclusive ? "<D:exclusive/>" : "<D:shared/>";
    x += "</D:lockscope><D:depth>";
    x += l.infinite ? "infinity" : "0";
    x += "</D:depth>";
    if (!l.owner_xml.empty()) x += "<D:owner>" + l.owner_xml + "</D:owner>";
    x += "<D:timeout>Second-" + std::to_string(l.remaining_seconds) + "</D:timeout>";
    x += "<D:locktoken>" + dav::href_element(l.token) + "</D:locktoken>";
    x += "<D:lockroot>" + dav::href_element(sp.href(l.path, false)) + "</D:lockroot>";
    x += "</D:activelock>";
    return x;
}

std::string content_type_for(std::string_view name, std::string_view client_type) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 40> types{{
        {"txt", "text/plain; charset=utf-8"}, {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
        {"css", "text/css"}, {"csv", "text/csv"}, {"md", "text/markdown"}, {"xml", "application/xml"},
        {"json", "application/json"}, {"js", "text/javascript"}, {"pdf", "application/pdf"},
        {"zip", "application/zip"}, {"gz", "application/gzip"}, {"tar", "application/x-tar"},
        {"png", "image/png"}, {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"}, {"gif", "image/gif"},
        {"svg", "image/svg+xml"}, {"webp", "image/webp"}, {"tif", "image/tiff"}, {"tiff", "image/tiff"},
        {"mp3", "audio/mpeg"}, {"ogg", "audio/ogg"}, {"wav", "audio/wav"}, {"mp4", "video/mp4"},
        {"webm", "video/webm"}, {"odt", "application/vnd.oasis.opendocument.text"},
        {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
        {"odp", "application/vnd.oasis.opendocument.presentation"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {"doc", "application/msword"}, {"xls", "application/vnd.ms-excel"}, {"ppt", "application/vnd.ms-powerpoint"},
        {"ics", "text/calendar"}, {"vcf", "text/vcard"}, {"eml", "message/rfc822"}, {"rtf", "application/rtf"},
        {"odg", "application/vnd.oasis.opendocument.graphics"},
    }};
    const auto dot = name.rfind('.');
    if (dot != std::string_view::npos && dot + 1 < name.size()) {
        std::string ext(name.substr(dot + 1));
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        for (const auto& [e, t] : types)
            if (e == ext) return std::string(t);
    }
    // The client's type when it looks like type/subtype[; params] and is short.
    if (!client_type.empty() && client_type.size() <= 200 && client_type.find('/') != std::string_view::npos &&
        std::all_of(client_type.begin(), client_type.end(),
                    [](char ch) { return static_cast<unsigned char>(ch) >= 0x20 && static_cast<unsigned char>(ch) < 0x7f; }))
        return std::string(client_type);
    return "application/octet-stream";
}

}  // namespace polder::webdav
