// store.hpp - polder-caldavd's view of the cal schema (schema/0200_cal.sql): homes,
// collections, dead properties, objects, change tracking.
//
// Every function runs inside the caller's transaction and takes the owning account id
// (collections) or a collection id that the caller obtained for that account, so no
// function can reach another account's rows. Database errors propagate as libpqxx
// exceptions; the service maps unique violations (no-uid-conflict races) itself.
//
// SECURITY: parameterized SQL only; every lookup is scoped by account_id.
// STANDARDS: RFC 6578 (modseq per collection, tombstones), RFC 4791 / RFC 6352 (one UID
// per collection).
#pragma once

#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polder::caldav::store {

struct collection {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
    std::string kind;   // "calendar" / "addressbook"
    std::string name;
    std::string displayname, description, color, timezone;
    std::vector<std::string> components;   // calendars: supported component names
    std::int64_t modseq = 0;
    std::int64_t created = 0;
};

struct object {
    std::int64_t id = 0;
    std::string name, uid, component, etag;   // etag: opaque part
    std::string data;                         // empty unless asked for
    std::int64_t size = 0;
    std::int64_t modseq = 0;
    bool recurring = false;
    bool floating = false;
    bool transparent = false;
    bool exact = false;
    std::int64_t modified = 0;
    std::string schedule_tag;                 // RFC 6638 3.2.10; "" when not a scheduling object
};

// The precomputed time columns of an object (see 0200_cal.sql).
struct object_times {
    bool has_span = false;
    std::optional<std::int64_t> lo;   // absent: unbounded below
    std::optional<std::int64_t> hi;   // absent: unbounded above
    bool recurring = false;
    bool floating = false;
    bool transparent = false;
    bool exact = false;
    // Recurring exact objects: each instance's [start, end) in UTC seconds.
    std::vector<std::pair<std::int64_t, std::int64_t>> instances;
};

struct dead_property {
    std::string ns, local, value_xml;
};

// ensure_home - provisions the account on first use: the home row and the default
// collections ("agenda" VEVENT calendar, "tasks" VTODO list, "contacts" address book).
// Returns true when it provisioned just now.
bool ensure_home(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id);

std::vector<collection> collections(pqxx::work& tx, std::int64_t account_id, std::string_view kind);
std::optional<collection> find_collection(pqxx::work& tx, std::int64_t account_id, std::string_view kind,
                                          std::string_view name);
// create_collection - nullopt when the name is taken.
std::optional<std::int64_t> create_collection(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id,
                                              const collection& c);
void update_collection(pqxx::work& tx, const collection& c);   // displayname, description, color, timezone
void delete_collection(pqxx::work& tx, std::int64_t id);
// bump - the collection's next modseq (serialises writers of one collection).
std::int64_t bump(pqxx::work& tx, std::int64_t collection_id);

std::vector<dead_property> dead_properties(pqxx::work& tx, std::int64_t collection_id);
void set_dead_property(pqxx::work& tx, std::int64_t collection_id, const dead_property& p);
void remove_dead_property(pqxx::work& tx, std::int64_t collection_id, std::string_view ns, std::string_view local);

std::optional<object> find_object(pqxx::work& tx, std::int64_t collection_id, std::string_view name, bool with_data);
std::vector<object> objects(pqxx::work& tx, std::int64_t collection_id, bool with_data);
std::vector<object> objects_named(pqxx::work& tx, std::int64_t collection_id, const std::vector<std::string>& names,
                                  bool with_data);
// objects_in_range - objects whose span overlaps [lo, hi) (absent = unbounded) plus, when
// include_untimed, objects without any time (they go to the exact check). With
// by_instances, recurring exact objects only when one of their instances overlaps.
std::vector<object> objects_in_range(pqxx::work& tx, std::int64_t collection_id, std::optional<std::int64_t> lo,
                                     std::optional<std::int64_t> hi, bool include_untimed, bool with_data,
                                     bool by_instances = false);
// name_of_uid - the resource holding that UID in the collection, if any.
std::optional<std::string> name_of_uid(pqxx::work& tx, std::int64_t collection_id, std::string_view uid);

// put_object - insert or replace by name; returns the object's modseq.
std::int64_t put_object(pqxx::work& tx, std::int64_t collection_id, std::string_view name, std::string_view uid,
                        std::string_view component, std::string_view etag, std::string_view data,
                        const object_times& t);
// delete_object - removes it and leaves a tombstone. False when it did not exist.
bool delete_object(pqxx::work& tx, std::int64_t collection_id, std::string_view name);

std::vector<object> changed_since(pqxx::work& tx, std::int64_t collection_id, std::int64_t modseq, bool with_data);
std::vector<std::string> deleted_since(pqxx::work& tx, std::int64_t collection_id, std::int64_t modseq);

// Directory rows for the organisation address book.
struct directory_row {
    std::int64_t id = 0;
    bool group = false;
    std::string address, display_name;
    std::vector<std::string> aliases;
    std::vector<std::int64_t> members;   // groups: account ids
    std::int64_t changed = 0;            // seconds since the epoch
};
std::vector<directory_row> directory(pqxx::work& tx, std::int64_t org_id);
std::string org_name(pqxx::work& tx, std::int64_t org_id);

// --- scheduling (schema/0202_cal_scheduling.sql) ---

inline constexpr std::string_view inbox_name = "inbox";
inline constexpr std::string_view outbox_name = "outbox";

// ensure_inbox - the account's schedule inbox (created when missing); its collection id.
std::int64_t ensure_inbox(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id);
// set_schedule_tag - after put_object (empty tag: none).
void set_schedule_tag(pqxx::work& tx, std::int64_t collection_id, std::string_view name, std::string_view tag);

// The copy of a scheduling object (by UID) among an account's calendars (never the inbox).
struct located {
    collection coll;
    object obj;   // with data
};
std::optional<located> find_by_uid(pqxx::work& tx, std::int64_t account_id, std::string_view uid);
// default_calendar - where invitations of `component` land: "agenda" when it takes them,
// else the first calendar that does (never the inbox).
std::optional<collection> default_calendar(pqxx::work& tx, std::int64_t account_id, std::string_view component);
// busy_objects - data of the account's VEVENT/VFREEBUSY objects (inbox excluded) whose
// span overlaps [lo, hi), except those with UID `except`.
std::vector<std::string> busy_objects(pqxx::work& tx, std::int64_t account_id, std::int64_t lo, std::int64_t hi,
                                      std::string_view except = {});

struct resource_info {
    std::string kind;   // "room" | "equipment"
    bool auto_accept = true;
    std::optional<int> capacity;
};
std::optional<resource_info> find_resource(pqxx::work& tx, std::int64_t account_id);

// --- calendar users of an organisation ---

struct calendar_user {
    std::int64_t account_id = 0;
    std::string address;        // the account's own address (lower case)
    std::string display_name;
    std::string kind;           // "user" | "resource"
};
// find_user - the enabled account an address (its own or an alias, "mailto:" allowed)
// belongs to, inside org_id only.
std::optional<calendar_user> find_user(pqxx::work& tx, std::int64_t org_id, std::string_view address);
// find_group - a group of org_id by its address or its name.
std::optional<std::int64_t> find_group(pqxx::work& tx, std::int64_t org_id, std::string_view address_or_name);
// user_addresses - the account's own address and its aliases, lower case.
std::vector<std::string> user_addresses(pqxx::work& tx, std::int64_t account_id);

// principal_row - a calendar user of the organisation for principal-property-search.
struct principal_row {
    std::string address, display_name;
    std::string user_type;                // "INDIVIDUAL" | "ROOM" | "RESOURCE"
    std::vector<std::string> addresses;   // own address and aliases
};
std::vector<principal_row> org_principals(pqxx::work& tx, std::int64_t org_id);

// --- sharing (schema/0201_cal_sharing.sql) ---

// A collection as one account reaches it: its own, or another's shared with it.
struct access {
    collection coll;
    bool shared = false;     // reached through a share (a bound collection in the sharee's home)
    bool writable = true;    // the sharee may change members (an own collection always)
    std::string owner;       // the owner's address, lower case
    std::string owner_name;  // the owner's display name
};

// shared_collection - collection `id` of `kind` when it is shared with the account
// directly or through a group it is a member of now (read-write when any share is).
std::optional<access> shared_collection(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id,
                                        std::string_view kind, std::int64_t id);
// shared_with - every collection of `kind` shared with the account, by collection id.
std::vector<access> shared_with(pqxx::work& tx, std::int64_t account_id, std::int64_t org_id, std::string_view kind);

struct share_row {
    bool group = false;
    std::string address;        // the sharee's address ("" for a group without one)
    std::string name;           // display name or group name
    bool writable = false;
};
// shares_of - who a collection is shared with (for CS:invite), users first.
std::vector<share_row> shares_of(pqxx::work& tx, std::int64_t collection_id);
// set_share - create or change the share with an account or a group (exactly one given).
void set_share(pqxx::work& tx, std::int64_t org_id, std::int64_t collection_id, std::optional<std::int64_t> account_id,
               std::optional<std::int64_t> group_id, bool writable);
// remove_share - false when there was none.
bool remove_share(pqxx::work& tx, std::int64_t collection_id, std::optional<std::int64_t> account_id,
                  std::optional<std::int64_t> group_id);

}  // namespace polder::caldav::store
