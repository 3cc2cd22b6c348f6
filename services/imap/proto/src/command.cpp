// command.cpp - command names, verb lookup and the canonical command formatter.
//
// SECURITY: format_command with redact_secrets never writes passwords, SASL responses or
// message data, so it is the form to log. Strings are written with the wire rules of
// wire.hpp (quoted or literal), so odd octets cannot forge extra lines in a log or a
// re-sent command.
// STANDARDS: RFC 9051 section 9 and the extension grammars listed in command.hpp.
#include "polder/imap/proto/command.hpp"

#include "polder/imap/proto/base64.hpp"
#include "polder/imap/proto/wire.hpp"

#include "chars.hpp"

#include <array>
#include <utility>

namespace polder::imap::proto {

namespace {

struct verb_entry {
    std::string_view name;
    command_kind kind;
    bool uid_variant;
};

constexpr std::array<verb_entry, 43> verbs = {{
    {"CAPABILITY", command_kind::capability, false},     {"NOOP", command_kind::noop, false},
    {"LOGOUT", command_kind::logout, false},             {"STARTTLS", command_kind::starttls, false},
    {"AUTHENTICATE", command_kind::authenticate, false}, {"LOGIN", command_kind::login, false},
    {"ENABLE", command_kind::enable, false},             {"SELECT", command_kind::select, false},
    {"EXAMINE", command_kind::examine, false},           {"CREATE", command_kind::create, false},
    {"DELETE", command_kind::delete_, false},            {"RENAME", command_kind::rename, false},
    {"SUBSCRIBE", command_kind::subscribe, false},       {"UNSUBSCRIBE", command_kind::unsubscribe, false},
    {"LIST", command_kind::list, false},                 {"LSUB", command_kind::lsub, false},
    {"NAMESPACE", command_kind::namespace_, false},      {"STATUS", command_kind::status, false},
    {"APPEND", command_kind::append, false},             {"IDLE", command_kind::idle, false},
    {"GETQUOTA", command_kind::getquota, false},         {"GETQUOTAROOT", command_kind::getquotaroot, false},
    {"SETQUOTA", command_kind::setquota, false},         {"GETACL", command_kind::getacl, false},
    {"SETACL", command_kind::setacl, false},             {"DELETEACL", command_kind::deleteacl, false},
    {"LISTRIGHTS", command_kind::listrights, false},     {"MYRIGHTS", command_kind::myrights, false},
    {"ID", command_kind::id, false},                     {"COMPRESS", command_kind::compress, false},
    {"GETMETADATA", command_kind::getmetadata, false},   {"SETMETADATA", command_kind::setmetadata, false},
    {"CHECK", command_kind::check, false},               {"CLOSE", command_kind::close, false},
    {"UNSELECT", command_kind::unselect, false},         {"EXPUNGE", command_kind::expunge, true},
    {"SEARCH", command_kind::search, true},              {"FETCH", command_kind::fetch, true},
    {"STORE", command_kind::store, true},                {"COPY", command_kind::copy, true},
    {"MOVE", command_kind::move, true},                  {"SORT", command_kind::sort, true},
    {"THREAD", command_kind::thread, true},
}};

}  // namespace

std::string_view command_name(command_kind kind) noexcept {
    for (const auto& v : verbs)
        if (v.kind == kind) return v.name;
    return "NOOP";
}

std::optional<command_kind> find_command(std::string_view verb, bool uid) noexcept {
    for (const auto& v : verbs)
        if (detail::iequal(verb, v.name) && (!uid || v.uid_variant)) return v.kind;
    return std::nullopt;
}

bool allowed_in(command_kind kind, session_state state) noexcept {
    switch (kind) {
    case command_kind::capability:
    case command_kind::noop:
    case command_kind::logout:
    case command_kind::id: return true;
    case command_kind::starttls:
    case command_kind::authenticate:
    case command_kind::login: return state == session_state::not_authenticated;
    case command_kind::enable: return state == session_state::authenticated;
    case command_kind::check:
    case command_kind::close:
    case command_kind::unselect:
    case command_kind::expunge:
    case command_kind::search:
    case command_kind::fetch:
    case command_kind::store:
    case command_kind::copy:
    case command_kind::move:
    case command_kind::sort:
    case command_kind::thread: return state == session_state::selected;
    default: return state != session_state::not_authenticated;
    }
}

std::string command::name() const {
    std::string n = uid ? "UID " : "";
    n += command_name(kind);
    return n;
}

namespace {

class formatter {
public:
    formatter(std::string& out, const format_options& o) : out_(out), o_(o) {}

    void mailbox(std::string_view name) { append_mailbox(out_, name, o_.utf8); }
    void astring(std::string_view s) { append_astring(out_, s, o_.utf8); }
    void string(std::string_view s) { append_string(out_, s, o_.utf8); }
    void secret(std::string_view s) {
        if (o_.redact_secrets) out_ += "<redacted>";
        else astring(s);
    }

    void flags(const std::vector<std::string>& f) { append_flag_list(out_, f); }

    void status_items(const std::vector<status_item>& items) {
        out_ += '(';
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i) out_ += ' ';
            out_ += status_item_name(items[i]);
        }
        out_ += ')';
    }

    void key(const search_key& k, bool top = false) {
        auto word = [&](std::string_view w) { out_ += w; };
        auto with_string = [&](std::string_view w) {
            out_ += w;
            out_ += ' ';
            astring(k.text);
        };
        auto with_date = [&](std::string_view w) {
            out_ += w;
            out_ += ' ';
            out_ += format_date(k.date);
        };
        switch (k.kind) {
        case search_kind::all: word("ALL"); break;
        case search_kind::and_:
            if (!top) out_ += '(';
            for (std::size_t i = 0; i < k.children.size(); ++i) {
                if (i) out_ += ' ';
                key(k.children[i]);
            }
            if (!top) out_ += ')';
            break;
        case search_kind::or_:
            out_ += "OR";
            for (const auto& c : k.children) {
                out_ += ' ';
                key(c);
            }
            break;
        case search_kind::not_:
            out_ += "NOT ";
            if (!k.children.empty()) key(k.children[0]);
            break;
        case search_kind::fuzzy:
            out_ += "FUZZY ";
            if (!k.children.empty()) key(k.children[0]);
            break;
        case search_kind::sequence_set: out_ += format_sequence_set(k.set); break;
        case search_kind::uid:
            out_ += "UID ";
            out_ += format_sequence_set(k.set);
            break;
        case search_kind::answered: word("ANSWERED"); break;
        case search_kind::deleted: word("DELETED"); break;
        case search_kind::draft: word("DRAFT"); break;
        case search_kind::flagged: word("FLAGGED"); break;
        case search_kind::seen: word("SEEN"); break;
        case search_kind::recent: word("RECENT"); break;
        case search_kind::new_: word("NEW"); break;
        case search_kind::old: word("OLD"); break;
        case search_kind::unanswered: word("UNANSWERED"); break;
        case search_kind::undeleted: word("UNDELETED"); break;
        case search_kind::undraft: word("UNDRAFT"); break;
        case search_kind::unflagged: word("UNFLAGGED"); break;
        case search_kind::unseen: word("UNSEEN"); break;
        case search_kind::keyword:
            out_ += "KEYWORD ";
            out_ += k.text;
            break;
        case search_kind::unkeyword:
            out_ += "UNKEYWORD ";
            out_ += k.text;
            break;
        case search_kind::bcc: with_string("BCC"); break;
        case search_kind::body: with_string("BODY"); break;
        case search_kind::cc: with_string("CC"); break;
        case search_kind::from: with_string("FROM"); break;
        case search_kind::subject: with_string("SUBJECT"); break;
        case search_kind::text: with_string("TEXT"); break;
        case search_kind::to: with_string("TO"); break;
        case search_kind::header:
            out_ += "HEADER ";
            astring(k.header_name);
            out_ += ' ';
            astring(k.text);
            break;
        case search_kind::before: with_date("BEFORE"); break;
        case search_kind::on: with_date("ON"); break;
        case search_kind::since: with_date("SINCE"); break;
        case search_kind::sentbefore: with_date("SENTBEFORE"); break;
        case search_kind::senton: with_date("SENTON"); break;
        case search_kind::sentsince: with_date("SENTSINCE"); break;
        case search_kind::larger:
            out_ += "LARGER ";
            out_ += std::to_string(k.number);
            break;
        case search_kind::smaller:
            out_ += "SMALLER ";
            out_ += std::to_string(k.number);
            break;
        case search_kind::modseq:
            out_ += "MODSEQ ";
            if (!k.modseq_entry.empty()) {
                append_quoted(out_, k.modseq_entry);
                out_ += ' ';
                out_ += k.modseq_type;
                out_ += ' ';
            }
            out_ += std::to_string(k.number);
            break;
        }
    }

    void message(const append_message& m) {
        if (!m.flags.empty()) {
            flags(m.flags);
            out_ += ' ';
        }
        if (m.internal_date) {
            out_ += '"';
            out_ += format_date_time(*m.internal_date);
            out_ += "\" ";
        }
        if (m.utf8) out_ += "UTF8 (";
        if (o_.redact_secrets || m.streamed) {
            out_ += m.binary ? "~{" : "{";
            out_ += std::to_string(m.size);
            out_ += '}';
            if (o_.redact_secrets) {
                out_ += " <";
                out_ += std::to_string(m.size);
                out_ += " octets>";
            }
        } else if (m.binary) {
            append_literal8(out_, m.data);
        } else {
            append_literal(out_, m.data);
        }
        if (m.utf8) out_ += ')';
    }

    void write(const command& c) {
        out_ += c.tag;
        out_ += ' ';
        out_ += c.name();
        std::visit([&](const auto& a) { args(c, a); }, c.args);
        out_ += "\r\n";
    }

private:
    std::string& out_;
    const format_options& o_;

    void sp() { out_ += ' '; }

    void args(const command&, const no_args&) {}

    void args(const command&, const authenticate_args& a) {
        sp();
        out_ += a.mechanism;
        if (a.initial_response) {
            sp();
            if (o_.redact_secrets) out_ += "<redacted>";
            else if (a.initial_response->empty()) out_ += '=';
            else out_ += base64_encode(*a.initial_response);
        }
    }

    void args(const command&, const login_args& a) {
        sp();
        astring(a.user);
        sp();
        secret(a.password);
    }

    void args(const command&, const enable_args& a) {
        for (const auto& c : a.capabilities) {
            sp();
            out_ += c;
        }
    }

    void args(const command&, const select_args& a) {
        sp();
        mailbox(a.mailbox);
        if (!a.condstore && !a.qresync) return;
        out_ += " (";
        if (a.condstore) out_ += "CONDSTORE";
        if (a.qresync) {
            if (a.condstore) sp();
            const auto& q = *a.qresync;
            out_ += "QRESYNC (";
            out_ += std::to_string(q.uidvalidity);
            sp();
            out_ += std::to_string(q.modseq);
            if (q.known_uids) {
                sp();
                out_ += format_sequence_set(*q.known_uids);
            }
            if (q.known_sequence_set && q.known_uid_set) {
                out_ += " (";
                out_ += format_sequence_set(*q.known_sequence_set);
                sp();
                out_ += format_sequence_set(*q.known_uid_set);
                out_ += ')';
            }
            out_ += ')';
        }
        out_ += ')';
    }

    void args(const command&, const create_args& a) {
        sp();
        mailbox(a.mailbox);
        if (!a.special_use.empty()) {
            out_ += " (USE ";
            flags(a.special_use);
            out_ += ')';
        }
    }

    void args(const command&, const mailbox_args& a) {
        sp();
        mailbox(a.mailbox);
    }

    void args(const command&, const rename_args& a) {
        sp();
        mailbox(a.from);
        sp();
        mailbox(a.to);
    }

    void args(const command&, const list_args& a) {
        bool any_select = a.select_subscribed || a.select_remote || a.select_recursivematch || a.select_special_use;
        bool any_return = a.return_subscribed || a.return_children || a.return_special_use || a.return_status;
        if (any_select || (a.extended && a.patterns.size() == 1 && !any_return)) {
            out_ += " (";
            std::vector<std::string_view> opts;
            if (a.select_subscribed) opts.push_back("SUBSCRIBED");
            if (a.select_remote) opts.push_back("REMOTE");
            if (a.select_recursivematch) opts.push_back("RECURSIVEMATCH");
            if (a.select_special_use) opts.push_back("SPECIAL-USE");
            for (std::size_t i = 0; i < opts.size(); ++i) {
                if (i) sp();
                out_ += opts[i];
            }
            out_ += ')';
        }
        sp();
        mailbox(a.reference);
        sp();
        if (a.patterns.size() != 1) out_ += '(';
        for (std::size_t i = 0; i < a.patterns.size(); ++i) {
            if (i) sp();
            mailbox(a.patterns[i]);
        }
        if (a.patterns.size() != 1) out_ += ')';
        if (any_return) {
            out_ += " RETURN (";
            std::vector<std::string> opts;
            if (a.return_subscribed) opts.push_back("SUBSCRIBED");
            if (a.return_children) opts.push_back("CHILDREN");
            if (a.return_special_use) opts.push_back("SPECIAL-USE");
            for (std::size_t i = 0; i < opts.size(); ++i) {
                if (i) sp();
                out_ += opts[i];
            }
            if (a.return_status) {
                if (!opts.empty()) sp();
                out_ += "STATUS ";
                status_items(*a.return_status);
            }
            out_ += ')';
        }
    }

    void args(const command&, const lsub_args& a) {
        sp();
        mailbox(a.reference);
        sp();
        mailbox(a.pattern);
    }

    void args(const command&, const status_args& a) {
        sp();
        mailbox(a.mailbox);
        sp();
        status_items(a.items);
    }

    void args(const command&, const append_args& a) {
        sp();
        mailbox(a.mailbox);
        for (const auto& m : a.messages) {
            sp();
            message(m);
        }
    }

    void args(const command&, const expunge_args& a) {
        if (a.uids) {
            sp();
            out_ += format_sequence_set(*a.uids);
        }
    }

    void args(const command&, const search_args& a) {
        if (a.ret.requested) {
            out_ += " RETURN (";
            std::vector<std::string_view> opts;
            if (a.ret.min) opts.push_back("MIN");
            if (a.ret.max) opts.push_back("MAX");
            if (a.ret.all) opts.push_back("ALL");
            if (a.ret.count) opts.push_back("COUNT");
            if (a.ret.save) opts.push_back("SAVE");
            if (a.ret.relevancy) opts.push_back("RELEVANCY");
            for (std::size_t i = 0; i < opts.size(); ++i) {
                if (i) sp();
                out_ += opts[i];
            }
            out_ += ')';
        }
        if (a.charset) {
            out_ += " CHARSET ";
            astring(*a.charset);
        }
        sp();
        key(a.criteria, true);
    }

    void args(const command&, const fetch_args& a) {
        sp();
        out_ += format_sequence_set(a.set);
        out_ += " (";
        for (std::size_t i = 0; i < a.attributes.size(); ++i) {
            if (i) sp();
            out_ += request_name(a.attributes[i]);
        }
        out_ += ')';
        if (a.changedsince || a.vanished) {
            out_ += " (";
            if (a.changedsince) {
                out_ += "CHANGEDSINCE ";
                out_ += std::to_string(*a.changedsince);
            }
            if (a.vanished) out_ += a.changedsince ? " VANISHED" : "VANISHED";
            out_ += ')';
        }
    }

    void args(const command&, const store_args& a) {
        sp();
        out_ += format_sequence_set(a.set);
        if (a.unchangedsince) {
            out_ += " (UNCHANGEDSINCE ";
            out_ += std::to_string(*a.unchangedsince);
            out_ += ')';
        }
        sp();
        if (a.mode == store_mode::add) out_ += '+';
        if (a.mode == store_mode::remove) out_ += '-';
        out_ += a.silent ? "FLAGS.SILENT " : "FLAGS ";
        flags(a.flags);
    }

    void args(const command&, const copy_args& a) {
        sp();
        out_ += format_sequence_set(a.set);
        sp();
        mailbox(a.mailbox);
    }

    void args(const command&, const sort_args& a) {
        out_ += " (";
        for (std::size_t i = 0; i < a.criteria.size(); ++i) {
            if (i) sp();
            if (a.criteria[i].reverse) out_ += "REVERSE ";
            switch (a.criteria[i].key) {
            case sort_key::arrival: out_ += "ARRIVAL"; break;
            case sort_key::cc: out_ += "CC"; break;
            case sort_key::date: out_ += "DATE"; break;
            case sort_key::from: out_ += "FROM"; break;
            case sort_key::size: out_ += "SIZE"; break;
            case sort_key::subject: out_ += "SUBJECT"; break;
            case sort_key::to: out_ += "TO"; break;
            case sort_key::displayfrom: out_ += "DISPLAYFROM"; break;
            case sort_key::displayto: out_ += "DISPLAYTO"; break;
            }
        }
        out_ += ") ";
        astring(a.charset);
        sp();
        key(a.search, true);
    }

    void args(const command&, const thread_args& a) {
        out_ += a.algorithm == thread_algorithm::references ? " REFERENCES " : " ORDEREDSUBJECT ";
        astring(a.charset);
        sp();
        key(a.search, true);
    }

    void args(const command&, const getquota_args& a) {
        sp();
        astring(a.root);
    }

    void args(const command&, const setquota_args& a) {
        sp();
        astring(a.root);
        out_ += " (";
        for (std::size_t i = 0; i < a.limits.size(); ++i) {
            if (i) sp();
            out_ += a.limits[i].first;
            sp();
            out_ += std::to_string(a.limits[i].second);
        }
        out_ += ')';
    }

    void args(const command&, const setacl_args& a) {
        sp();
        mailbox(a.mailbox);
        sp();
        astring(a.identifier);
        sp();
        std::string r;
        if (a.change.op == rights_op::add) r += '+';
        if (a.change.op == rights_op::remove) r += '-';
        r += format_rights(a.change.value, false);
        string(r);
    }

    void args(const command&, const acl_identifier_args& a) {
        sp();
        mailbox(a.mailbox);
        sp();
        astring(a.identifier);
    }

    void args(const command&, const id_args& a) {
        sp();
        if (!a.params) {
            out_ += "NIL";
            return;
        }
        out_ += '(';
        for (std::size_t i = 0; i < a.params->size(); ++i) {
            if (i) sp();
            string((*a.params)[i].first);
            sp();
            append_nstring(out_, (*a.params)[i].second, o_.utf8);
        }
        out_ += ')';
    }

    void args(const command&, const compress_args& a) {
        sp();
        out_ += a.mechanism;
    }

    void args(const command&, const getmetadata_args& a) {
        if (a.maxsize || a.depth != metadata_depth::zero) {
            out_ += " (";
            if (a.maxsize) {
                out_ += "MAXSIZE ";
                out_ += std::to_string(*a.maxsize);
            }
            if (a.depth != metadata_depth::zero) {
                if (a.maxsize) sp();
                out_ += a.depth == metadata_depth::one ? "DEPTH 1" : "DEPTH infinity";
            }
            out_ += ')';
        }
        sp();
        mailbox(a.mailbox);
        out_ += " (";
        for (std::size_t i = 0; i < a.entries.size(); ++i) {
            if (i) sp();
            astring(a.entries[i]);
        }
        out_ += ')';
    }

    void args(const command&, const setmetadata_args& a) {
        sp();
        mailbox(a.mailbox);
        out_ += " (";
        for (std::size_t i = 0; i < a.entries.size(); ++i) {
            if (i) sp();
            astring(a.entries[i].first);
            sp();
            const auto& v = a.entries[i].second;
            if (v && v->find('\0') != std::string::npos) append_literal8(out_, *v);
            else append_nstring(out_, v, o_.utf8);
        }
        out_ += ')';
    }
};

}  // namespace

std::string format_command(const command& cmd, const format_options& options) {
    std::string out;
    formatter f(out, options);
    f.write(cmd);
    return out;
}

}  // namespace polder::imap::proto
