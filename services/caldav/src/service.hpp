// service.hpp - polder-caldavd's request handling: CalDAV (RFC 4791) and CardDAV
// (RFC 6352) on the shared WebDAV core (polder::dav), one function from an authenticated
// request to a response per method (the table is in service.cpp, one file per group of
// commands: cmd_*.cpp).
//
// Every request: authenticate (HTTP Basic over TLS, or plain HTTP from loopback when
// auth.allow_plaintext_on_loopback), map the URL (paths.hpp) - a principal, home,
// collection or object of another account, in this organisation or another, is 404 on
// every method, so nothing reveals whether it exists - provision the caller's home on
// first use, check preconditions, act in one database transaction, answer. A PUT answers
// 201/204 only after COMMIT.
//
// SECURITY: request bodies are bounded (caldav.max_request_body; XML bodies by
// options::max_xml_bytes and max_xml_depth); XML through polder::dav (no DTD, no
// entities); iCalendar and vCard validated by polder::ical before anything is stored;
// malformed input is a 4xx with a DAV:error naming the failed precondition, never a 500.
// The organisation directory address book is generated, read-only (403 on writes).
// STANDARDS: RFC 4918 (WebDAV), RFC 4791 (CalDAV), RFC 6352 (CardDAV), RFC 5689
// (extended MKCOL), RFC 6578 (sync-collection), RFC 6764 (well-known URIs), RFC 5397
// (current-user-principal), RFC 3744 (current-user-privilege-set, principals), RFC 7617
// (Basic), RFC 9110 (conditional requests).
#pragma once

#include "autoconfig.hpp"
#include "paths.hpp"
#include "query.hpp"
#include "store.hpp"

#include "polder/asio/asio.hpp"
#include "polder/blob/store.hpp"
#include "polder/net/tls_context.hpp"
#include "polder/service/http_login.hpp"
#include "polder/auth/login.hpp"
#include "polder/dav/body.hpp"
#include "polder/dav/headers.hpp"
#include "polder/dav/multistatus.hpp"
#include "polder/dav/requests.hpp"
#include "polder/db/pool.hpp"
#include "polder/http/router.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace polder::caldav {

struct options {
    std::uint64_t max_resource_size = 10u << 20;   // one calendar object or vCard (max-resource-size)
    std::size_t max_xml_bytes = 1 << 20;           // PROPFIND/PROPPATCH/REPORT/MKCALENDAR bodies
    std::size_t max_xml_depth = 64;
    bool allow_plaintext_on_loopback = false;
    // Client autoconfiguration (autoconfig.hpp, cmd_autoconfig.cpp); nullopt: off (404).
    std::optional<autoconfig::endpoints> clients;
    // The TLS certificate that signs Apple profiles (the current one after a reload);
    // null: profiles go out unsigned.
    std::shared_ptr<net::tls_context> profile_signer;
    // iMIP (imip.hpp): where invitations to people outside the organisation are written
    // before they are queued for polder-smtpd; nullptr: they are not sent (SCHEDULE-STATUS 3.7).
    blob::store* blobs = nullptr;
};

// ctx - one authenticated request.
struct ctx {
    http::request& req;
    auth::principal who;
    std::string own;   // the caller's address, lower case
    dav_path target;
};

// resource - what a URL resolved to (collections and objects loaded from the store).
struct resource {
    dav_path path;
    std::optional<store::collection> coll;   // calendar / address book (also for objects)
    std::optional<store::object> obj;
    bool directory = false;                  // the organisation directory address book (or a card in it)
    std::int64_t fingerprint = 0;            // directory: a hash of all its cards (its sync-token)
    // Sharing (schema/0201_cal_sharing.sql): a bound collection of another account (or a
    // member of one) is `shared`, writable only through a read-write share; `owner` is
    // the owner's address. Collections (not their members) carry their sharees.
    bool shared = false;
    bool writable = true;
    std::string owner, owner_name;
    std::vector<store::share_row> sharees;
    // Scheduling (RFC 6638): the outbox has no row; principals carry their addresses
    // (calendar-user-address-set) and calendar-user-type.
    bool outbox = false;
    std::vector<std::string> addresses;
    std::string user_type = "INDIVIDUAL";
};

class service {
public:
    service(db::pool& pool, auth::authenticator& auth, options opts);
    http::router routes();
    awaitable<http::response> handle(http::request& req);

    // Commands (cmd_*.cpp).
    enum class autoconfig_kind { thunderbird, outlook, apple };
    // autoconfig_route - which autoconfiguration document a raw path asks for, if any.
    static std::optional<autoconfig_kind> autoconfig_route(std::string_view raw_path);
    awaitable<http::response> cmd_autoconfig(http::request& req, autoconfig_kind kind);
    http::response cmd_options(const dav_path* target);
    awaitable<http::response> cmd_get(ctx& c, bool head);
    awaitable<http::response> cmd_put(ctx& c);
    awaitable<http::response> cmd_delete(ctx& c);
    awaitable<http::response> cmd_propfind(ctx& c);
    awaitable<http::response> cmd_proppatch(ctx& c);
    awaitable<http::response> cmd_mkcol(ctx& c, bool mkcalendar);
    awaitable<http::response> cmd_copy_move(ctx& c, bool move);
    awaitable<http::response> cmd_report(ctx& c);
    awaitable<http::response> cmd_post(ctx& c);   // cmd_share.cpp: CS:share
    awaitable<http::response> cmd_outbox(ctx& c); // cmd_schedule.cpp: free/busy POST
    // cmd_schedule.cpp: principal-property-search and principal-search-property-set (RFC 3744 9.4/9.5)
    awaitable<http::response> cmd_principal_report(ctx& c, const dav::xml_element& root);

    // Shared helpers (service.cpp).
    using xml_body = dav::xml_body;   // root (nullopt: empty body) or the 400/413 to send
    awaitable<xml_body> read_xml(ctx& c);
    // etag_preconditions - If-Match / If-None-Match for a state-changing request on a
    // resource whose current ETag (opaque) is `current` (nullopt: absent). 0 = pass, else 412.
    unsigned etag_preconditions(const ctx& c, const std::optional<std::string>& current) const;

    static http::response xml_response(unsigned code, std::string body);
    static http::response dav_error(unsigned code, const dav::qname& condition);
    static http::response plain(unsigned code, std::string_view reason);

    const options& opts() const { return opts_; }
    db::pool& pool() { return pool_; }

private:
    db::pool& pool_;
    options opts_;
    polder::service::http_login login_;   // Basic over TLS, throttling answers, 60-second cache
    std::mutex mutex_;            // guards provisioned_
    std::set<std::int64_t> provisioned_;   // accounts whose home exists (saves a query per request)
};

// --- bodies (cmd_object.cpp) ---

// validated - a calendar object or vCard checked against its collection, with the
// precomputed index columns (0200_cal.sql).
struct validated {
    unsigned status = 0;                 // 0 = valid
    std::optional<dav::qname> condition;
    std::string reason;
    std::string uid, component;
    store::object_times times;
};
validated validate_body(const std::string& body, bool calendar, const store::collection& coll, const options& o);
// content_etag - the opaque ETag of stored bytes.
std::string content_etag(std::string_view data);

// --- properties (props.cpp) ---

// open_collection - a collection of the caller's home by its URL name: its own, or a
// bound collection ("shared-<id>") shared with the caller; nullopt = 404.
std::optional<store::access> open_collection(pqxx::work& tx, const ctx& c, std::string_view kind,
                                             std::string_view name);

// load - resolve a path of the caller's own tree inside a transaction; nullopt = 404.
std::optional<resource> load(pqxx::work& tx, const ctx& c, const dav_path& p, bool with_data);

// prop_context - what property values need beyond the resource.
struct prop_context {
    const ctx& c;
    const options& opts;
};

// propstats - the propstat groups of a resource for a PROPFIND-like request. `computed`
// values (calendar-data, address-data of REPORTs) take precedence over stored ones.
std::vector<dav::propstat_group> propstats(const resource& r, const dav::propfind_request& req,
                                           const std::vector<store::dead_property>& dead, const prop_context& pc,
                                           const std::vector<dav::property>& computed = {});

// etag_of - the quoted ETag of an object.
std::string etag_of(const store::object& o);
// sync_token - "urn:x-polder:sync:<collection>-<modseq>"; parse_sync_token the inverse.
std::string sync_token(std::int64_t collection_id, std::int64_t modseq);
std::optional<std::int64_t> parse_sync_token(std::string_view token, std::int64_t collection_id);

// directory_cards - the organisation's directory address book as (name, object with data).
std::vector<store::object> directory_cards(pqxx::work& tx, std::int64_t org_id, std::int64_t& fingerprint);

}  // namespace polder::caldav
