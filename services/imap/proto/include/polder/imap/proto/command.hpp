// polder/imap/proto/command.hpp - typed arguments of every IMAP command the parser knows.
//
// A parsed command is (tag, kind, uid flag, arguments). Mailbox names are already decoded
// to UTF-8 (from modified UTF-7 unless UTF-8 mode is on) and the exact name INBOX in any
// case is normalized to "INBOX". System flags are in canonical spelling. Keywords, header
// names and search strings are kept as the client sent them.
//
// SECURITY: values only. Secrets (LOGIN password, AUTHENTICATE initial response) live in
// login_args / authenticate_args; format_command(redact_secrets=true) never prints them.
// STANDARDS: RFC 3501 / RFC 9051 section 6 and 9; RFC 2177 (IDLE), RFC 2342 (NAMESPACE),
// RFC 2971 (ID), RFC 3502 (MULTIAPPEND), RFC 3516 (BINARY), RFC 4314 (ACL), RFC 4315
// (UIDPLUS), RFC 4731 (ESEARCH), RFC 4959 (SASL-IR), RFC 4978 (COMPRESS), RFC 5161
// (ENABLE), RFC 5182 (SEARCHRES), RFC 5256 (SORT, THREAD), RFC 5258 (LIST-EXTENDED),
// RFC 5464 (METADATA), RFC 5819 (LIST-STATUS), RFC 5957 (DISPLAYFROM/DISPLAYTO), RFC 6154
// (SPECIAL-USE, CREATE-SPECIAL-USE), RFC 6851 (MOVE), RFC 6855 (UTF8 APPEND), RFC 7162
// (CONDSTORE, QRESYNC), RFC 9208 (QUOTA).
#pragma once

#include "polder/imap/proto/acl.hpp"
#include "polder/imap/proto/fetch.hpp"
#include "polder/imap/proto/search.hpp"
#include "polder/imap/proto/types.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace polder::imap::proto {

enum class command_kind {
    capability, noop, logout,                                    // any state
    starttls, authenticate, login,                               // not authenticated
    enable, select, examine, create, delete_, rename, subscribe, unsubscribe, list, lsub,
    namespace_, status, append, idle, getquota, getquotaroot, setquota, getacl, setacl,
    deleteacl, listrights, myrights, id, compress, getmetadata, setmetadata,  // authenticated
    check, close, unselect, expunge, search, fetch, store, copy, move, sort, thread,  // selected
};

// command_name - the verb in upper case ("FETCH"; "UID FETCH" is built by command::name()).
std::string_view command_name(command_kind kind) noexcept;
// find_command - the kind of a verb (case-insensitive); UID variants are found with
// `uid` = true and only for COPY MOVE FETCH SEARCH STORE EXPUNGE SORT THREAD.
std::optional<command_kind> find_command(std::string_view verb, bool uid = false) noexcept;

// session_state - RFC 9051 section 3 connection states (logout needs no check).
enum class session_state { not_authenticated, authenticated, selected };

// allowed_in - whether the command is valid in the state (RFC 9051 6.1-6.4; ID in any
// state per RFC 2971; ENABLE only when authenticated and nothing selected per RFC 5161;
// COMPRESS after authentication per RFC 4978). A command outside its states gets BAD.
bool allowed_in(command_kind kind, session_state state) noexcept;

// ---------------------------------------------------------------- argument structs

struct no_args {
    bool operator==(const no_args&) const = default;
};

struct authenticate_args {
    std::string mechanism;                          // upper case: "PLAIN"
    std::optional<std::string> initial_response;    // SASL-IR, decoded ("=" gives "")
    bool operator==(const authenticate_args&) const = default;
};

struct login_args {
    std::string user;
    std::string password;
    bool operator==(const login_args&) const = default;
};

struct enable_args {
    std::vector<std::string> capabilities;          // upper case
    bool operator==(const enable_args&) const = default;
};

// qresync_params - SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids]
// [(known-sequence-set known-uid-set)])) per RFC 7162 3.2.5.1.
struct qresync_params {
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::optional<sequence_set> known_uids;
    std::optional<sequence_set> known_sequence_set;
    std::optional<sequence_set> known_uid_set;
    bool operator==(const qresync_params&) const = default;
};

struct select_args {                                // SELECT and EXAMINE
    std::string mailbox;
    bool condstore = false;
    std::optional<qresync_params> qresync;
    bool operator==(const select_args&) const = default;
};

struct create_args {
    std::string mailbox;
    std::vector<std::string> special_use;           // USE (\Drafts ...), canonical "\Drafts"
    bool operator==(const create_args&) const = default;
};

struct mailbox_args {   // DELETE SUBSCRIBE UNSUBSCRIBE GETQUOTAROOT GETACL MYRIGHTS
    std::string mailbox;
    bool operator==(const mailbox_args&) const = default;
};

struct rename_args {
    std::string from;
    std::string to;
    bool operator==(const rename_args&) const = default;
};

struct list_args {
    // selection options (RFC 5258, RFC 6154)
    bool select_subscribed = false;
    bool select_remote = false;
    bool select_recursivematch = false;
    bool select_special_use = false;
    std::string reference;
    std::vector<std::string> patterns;              // at least one; "" asks for the delimiter
    // return options
    bool return_subscribed = false;
    bool return_children = false;
    bool return_special_use = false;
    std::optional<std::vector<status_item>> return_status;   // LIST-STATUS
    bool extended = false;  // any LIST-EXTENDED syntax was used (selection, patterns list, RETURN)
    bool operator==(const list_args&) const = default;
};

struct lsub_args {
    std::string reference;
    std::string pattern;
    bool operator==(const lsub_args&) const = default;
};

struct status_args {
    std::string mailbox;
    std::vector<status_item> items;
    bool operator==(const status_args&) const = default;
};

// append_message - one message of APPEND (several with MULTIAPPEND).
struct append_message {
    std::vector<std::string> flags;
    std::optional<date_time> internal_date;
    std::uint64_t size = 0;
    bool binary = false;    // sent as literal8 (~{n}): may contain NUL, no CTE needed
    bool utf8 = false;      // RFC 6855 "UTF8 (~{n})" form
    bool streamed = false;  // data went to the server through literal_data events
    std::string data;       // the message when not streamed
    bool operator==(const append_message&) const = default;
};

struct append_args {
    std::string mailbox;
    std::vector<append_message> messages;
    bool operator==(const append_args&) const = default;
};

struct expunge_args {   // EXPUNGE (no set) and UID EXPUNGE set
    std::optional<sequence_set> uids;
    bool operator==(const expunge_args&) const = default;
};

struct search_args {
    search_return ret;
    std::optional<std::string> charset;   // upper case as sent
    search_key criteria;                  // kind and_ holding the top-level keys
    bool operator==(const search_args&) const = default;
};

struct fetch_args {
    sequence_set set;
    std::vector<fetch_attribute> attributes;  // macros ALL/FAST/FULL already expanded
    std::optional<std::uint64_t> changedsince;
    bool vanished = false;                    // UID FETCH ... (CHANGEDSINCE n VANISHED)
    bool operator==(const fetch_args&) const = default;
};

enum class store_mode { replace, add, remove };

struct store_args {
    sequence_set set;
    store_mode mode = store_mode::replace;
    bool silent = false;
    std::vector<std::string> flags;
    std::optional<std::uint64_t> unchangedsince;
    bool operator==(const store_args&) const = default;
};

struct copy_args {   // COPY and MOVE
    sequence_set set;
    std::string mailbox;
    bool operator==(const copy_args&) const = default;
};

enum class sort_key { arrival, cc, date, from, size, subject, to, displayfrom, displayto };

struct sort_criterion {
    sort_key key = sort_key::arrival;
    bool reverse = false;
    bool operator==(const sort_criterion&) const = default;
};

struct sort_args {
    std::vector<sort_criterion> criteria;
    std::string charset;
    search_key search;
    bool operator==(const sort_args&) const = default;
};

enum class thread_algorithm { orderedsubject, references };

struct thread_args {
    thread_algorithm algorithm = thread_algorithm::references;
    std::string charset;
    search_key search;
    bool operator==(const thread_args&) const = default;
};

struct getquota_args {
    std::string root;
    bool operator==(const getquota_args&) const = default;
};

struct setquota_args {
    std::string root;
    std::vector<std::pair<std::string, std::uint64_t>> limits;   // resource name upper case
    bool operator==(const setquota_args&) const = default;
};

struct setacl_args {
    std::string mailbox;
    std::string identifier;
    rights_change change;
    bool operator==(const setacl_args&) const = default;
};

struct acl_identifier_args {   // DELETEACL and LISTRIGHTS
    std::string mailbox;
    std::string identifier;
    bool operator==(const acl_identifier_args&) const = default;
};

struct id_args {
    std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> params;  // NIL -> nullopt
    bool operator==(const id_args&) const = default;
};

struct compress_args {
    std::string mechanism;   // upper case ("DEFLATE")
    bool operator==(const compress_args&) const = default;
};

enum class metadata_depth { zero, one, infinity };

struct getmetadata_args {
    std::string mailbox;   // "" = server metadata
    std::optional<std::uint32_t> maxsize;
    metadata_depth depth = metadata_depth::zero;
    std::vector<std::string> entries;
    bool operator==(const getmetadata_args&) const = default;
};

struct setmetadata_args {
    std::string mailbox;
    std::vector<std::pair<std::string, std::optional<std::string>>> entries;   // NIL removes
    bool operator==(const setmetadata_args&) const = default;
};

using command_args =
    std::variant<no_args, authenticate_args, login_args, enable_args, select_args, create_args, mailbox_args,
                 rename_args, list_args, lsub_args, status_args, append_args, expunge_args, search_args, fetch_args,
                 store_args, copy_args, sort_args, thread_args, getquota_args, setquota_args, setacl_args,
                 acl_identifier_args, id_args, compress_args, getmetadata_args, setmetadata_args>;

struct command {
    std::string tag;
    command_kind kind = command_kind::noop;
    bool uid = false;   // UID FETCH / UID SEARCH / ...
    command_args args;

    std::string name() const;   // "UID FETCH", "LOGIN"
    bool operator==(const command&) const = default;

    template <class T>
    const T& get() const {
        return std::get<T>(args);
    }
    template <class T>
    T& get() {
        return std::get<T>(args);
    }
};

// format_options - how format_command writes strings.
struct format_options {
    bool utf8 = false;            // mailbox names in UTF-8 instead of modified UTF-7
    bool redact_secrets = false;  // LOGIN password / AUTHENTICATE response become "<redacted>"
                                  // and APPEND data becomes "<n octets>" (for logs)
};

// format_command - the command in canonical IMAP syntax (upper-case verbs and keywords,
// quoted strings or synchronizing literals), ending with CRLF. Without redaction the
// output parses back to an equal command (streamed APPEND data excepted), which is what
// the tests rely on; with redaction it is a safe one-line-per-segment log form.
std::string format_command(const command& cmd, const format_options& options = {});

}  // namespace polder::imap::proto
