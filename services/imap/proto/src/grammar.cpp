// grammar.cpp - recursive-descent IMAP command grammar producing typed arguments.
//
// Syntax errors are raised as an internal exception (syntax_error) and a missing literal
// as another (need_literal); both are caught in run_grammar and never leave this file, so
// the public API reports outcomes as values. Using exceptions here keeps the several
// hundred grammar productions readable; errors are bounded by the input rate.
//
// SECURITY: strict RFC grammar (single spaces, no trailing garbage); all numbers
// overflow-checked (uint32 for numbers and sequence numbers, 63 bits for number64 and
// mod-sequences); nesting bounded by max_depth; literal data reachable only through
// registered literal slots; mailbox names decoded strictly and rejected when they contain
// control characters; ID limits of RFC 2971 enforced.
// STANDARDS: RFC 9051 section 9, RFC 3501 section 9, and the extension grammars listed in
// command.hpp (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CONDSTORE/QRESYNC, ESEARCH,
// SEARCHRES, SORT/THREAD, QUOTA, ACL, ID, COMPRESS, METADATA, UTF8 APPEND, MULTIAPPEND).
#include "grammar.hpp"

#include "polder/imap/proto/base64.hpp"
#include "polder/imap/proto/mutf7.hpp"

#include "chars.hpp"

#include <limits>

namespace polder::imap::proto::detail {

namespace {

constexpr std::uint64_t max_number32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t max_number64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

struct syntax_error {
    std::string reason;
};
struct need_literal {
    pending_literal info;
};

class grammar {
public:
    grammar(framed_command& f, const parser_options& o, append_progress* progress)
        : f_(f), t_(f.text), o_(o), progress_(progress) {}

    command parse();

private:
    framed_command& f_;
    std::string_view t_;
    const parser_options& o_;
    append_progress* progress_;
    std::size_t p_ = 0;
    std::size_t lit_ = 0;
    unsigned depth_ = 0;
    bool in_message_ = false;
    pending_literal message_info_;
    bool uid_ = false;

    struct depth_guard {
        grammar& g;
        explicit depth_guard(grammar& gr) : g(gr) {
            if (++g.depth_ > g.o_.max_depth) g.fail("Arguments are nested too deeply");
        }
        ~depth_guard() { --g.depth_; }
    };

    [[noreturn]] void fail(std::string reason) { throw syntax_error{std::move(reason)}; }

    int peek(std::size_t ahead = 0) const noexcept {
        return p_ + ahead < t_.size() ? static_cast<unsigned char>(t_[p_ + ahead]) : -1;
    }
    bool at_end() const noexcept { return p_ >= t_.size(); }
    bool at_literal() const noexcept { return lit_ < f_.literals.size() && f_.literals[lit_].header_pos == p_; }

    void sp(const char* before) {
        if (peek() != ' ') {
            if (at_end()) fail(std::string("Missing ") + before);
            fail(std::string("Expected a space before ") + before);
        }
        ++p_;
    }
    bool try_sp() {
        if (peek() == ' ') {
            ++p_;
            return true;
        }
        return false;
    }
    void expect(char c, const char* what) {
        if (peek() != static_cast<unsigned char>(c)) fail(std::string("Expected ") + what);
        ++p_;
    }
    bool try_char(char c) {
        if (peek() == static_cast<unsigned char>(c)) {
            ++p_;
            return true;
        }
        return false;
    }

    // word - letters, digits, '.', '-' and '+' (keywords such as BODY.PEEK, +FLAGS.SILENT,
    // SPECIAL-USE), upper-cased.
    std::string word() {
        std::size_t start = p_;
        while (!at_end() && !at_literal()) {
            unsigned char c = static_cast<unsigned char>(t_[p_]);
            if (is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '+' || c == '_') ++p_;
            else break;
        }
        return upper(t_.substr(start, p_ - start));
    }

    // peek_word - the upcoming word (not consumed) followed by a delimiter.
    bool peek_word(std::string_view w) const {
        if (!istarts_with(t_.substr(p_), w)) return false;
        int after = peek(w.size());
        return after == -1 || after == ' ' || after == '(' || after == ')';
    }

    std::string_view atom(const char* what) {
        std::size_t start = p_;
        while (!at_end() && !at_literal() && is_atom_char(static_cast<unsigned char>(t_[p_]))) ++p_;
        if (p_ == start) fail(std::string("Expected ") + what);
        return t_.substr(start, p_ - start);
    }

    std::uint64_t digits(std::uint64_t max, const char* what) {
        std::size_t start = p_;
        std::uint64_t v = 0;
        while (!at_end() && is_digit(static_cast<unsigned char>(t_[p_]))) {
            unsigned d = static_cast<unsigned>(t_[p_] - '0');
            if (v > (max - d) / 10) fail(std::string(what) + " is too large");
            v = v * 10 + d;
            ++p_;
        }
        if (p_ == start) fail(std::string("Expected ") + what);
        return v;
    }
    std::uint32_t number(const char* what) { return static_cast<std::uint32_t>(digits(max_number32, what)); }
    std::uint32_t nz_number(const char* what) {
        auto v = number(what);
        if (v == 0) fail(std::string(what) + " must not be zero");
        return v;
    }
    std::uint64_t number64(const char* what) { return digits(max_number64, what); }

    // ------------------------------------------------------------ strings

    const literal_slot& enter_literal(bool allow_binary) {
        const literal_slot& s = f_.literals[lit_];
        if (s.binary && !allow_binary) fail("literal8 is not allowed here");
        if (!s.complete) {
            pending_literal info = in_message_ ? message_info_ : pending_literal{};
            info.literal_index = lit_;
            info.message_data = in_message_;
            throw need_literal{std::move(info)};
        }
        ++lit_;
        p_ = s.data_pos + (s.storage == slot_storage::inline_text ? s.size : 0);
        return s;
    }

    std::string literal_text() {
        const literal_slot& s = enter_literal(false);
        if (s.storage != slot_storage::inline_text) fail("Unexpected message literal");
        std::string_view data = t_.substr(s.data_pos, static_cast<std::size_t>(s.size));
        if (data.find('\0') != std::string_view::npos) fail("NUL octet in a literal");
        return std::string(data);
    }

    std::string quoted() {
        expect('"', "a quoted string");
        std::string out;
        for (;;) {
            if (at_end() || at_literal()) fail("Unterminated quoted string");
            char c = t_[p_];
            if (c == '"') {
                ++p_;
                return out;
            }
            if (c == '\\') {
                ++p_;
                int e = peek();
                if (e != '"' && e != '\\') fail("Invalid escape in a quoted string");
                out += static_cast<char>(e);
                ++p_;
                continue;
            }
            if (c == '\0') fail("NUL octet in a quoted string");
            out += c;
            ++p_;
        }
    }

    std::string string_(const char* what) {
        if (peek() == '"') return quoted();
        if (at_literal()) return literal_text();
        fail(std::string("Expected ") + what);
    }

    std::string astring(const char* what) {
        if (peek() == '"' || at_literal()) return string_(what);
        std::size_t start = p_;
        while (!at_end() && !at_literal() && is_astring_char(static_cast<unsigned char>(t_[p_]))) ++p_;
        if (p_ == start) fail(std::string("Expected ") + what);
        return std::string(t_.substr(start, p_ - start));
    }

    bool try_nil() {
        if (istarts_with(t_.substr(p_), "NIL")) {
            int after = peek(3);
            if (after == -1 || !is_astring_char(static_cast<unsigned char>(after))) {
                p_ += 3;
                return true;
            }
        }
        return false;
    }

    std::optional<std::string> nstring(const char* what) {
        if (try_nil()) return std::nullopt;
        return string_(what);
    }

    // ------------------------------------------------------------ mailbox names

    std::string decode_name(std::string raw, bool normalize_inbox) {
        if (normalize_inbox && iequal(raw, "INBOX")) return "INBOX";
        std::string name;
        if (o_.utf8) {
            if (!is_valid_utf8(raw)) fail("Mailbox name is not valid UTF-8");
            name = std::move(raw);
        } else {
            if (!is_ascii(raw)) fail("Mailbox name contains 8-bit characters: use modified UTF-7 or ENABLE UTF8=ACCEPT");
            auto decoded = mutf7_decode(raw);
            if (!decoded) fail("Mailbox name is not valid modified UTF-7");
            name = std::move(*decoded);
        }
        for (unsigned char c : name)
            if (c < 0x20 || c == 0x7f) fail("Mailbox name contains control characters");
        return name;
    }

    std::string mailbox() { return decode_name(astring("a mailbox name"), true); }

    std::string list_mailbox() {
        std::string raw;
        if (peek() == '"' || at_literal()) {
            raw = string_("a mailbox pattern");
        } else {
            std::size_t start = p_;
            while (!at_end() && !at_literal() && is_list_char(static_cast<unsigned char>(t_[p_]))) ++p_;
            if (p_ == start) fail("Expected a mailbox pattern");
            raw = std::string(t_.substr(start, p_ - start));
        }
        return decode_name(std::move(raw), false);
    }

    // ------------------------------------------------------------ small productions

    sequence_set seq_set(bool allow_star = true, bool allow_saved = true) {
        std::size_t start = p_;
        while (!at_end()) {
            char c = t_[p_];
            if (is_digit(static_cast<unsigned char>(c)) || c == '*' || c == ':' || c == ',' || c == '$') ++p_;
            else break;
        }
        if (p_ == start) fail("Expected a sequence set");
        auto parsed = parse_sequence_set(t_.substr(start, p_ - start));
        if (!parsed) fail("Invalid sequence set");
        if (!allow_saved && parsed->saved) fail("\"$\" is not allowed here");
        if (!allow_star && parsed->uses_star()) fail("\"*\" is not allowed here");
        return std::move(*parsed);
    }

    std::string flag() {
        if (try_char('\\')) {
            std::string f = "\\";
            f += atom("a flag name");
            return canonical_flag(f);
        }
        return std::string(atom("a flag"));
    }

    std::vector<std::string> flag_list() {
        depth_guard g(*this);
        expect('(', "a flag list");
        std::vector<std::string> flags;
        if (try_char(')')) return flags;
        for (;;) {
            flags.push_back(flag());
            if (try_char(')')) return flags;
            sp("the next flag");
        }
    }

    date search_date() {
        std::string text;
        if (peek() == '"') {
            text = quoted();
        } else {
            std::size_t start = p_;
            while (!at_end() && (is_alpha(static_cast<unsigned char>(t_[p_])) || is_digit(static_cast<unsigned char>(t_[p_])) ||
                                 t_[p_] == '-'))
                ++p_;
            text = std::string(t_.substr(start, p_ - start));
        }
        auto d = parse_date(text);
        if (!d) fail("Invalid date (expected d-Mon-yyyy)");
        return *d;
    }

    date_time quoted_date_time() {
        if (peek() != '"') fail("Expected a date-time");
        std::string text = quoted();
        auto t = parse_date_time(text);
        if (!t) fail("Invalid date-time (expected \"dd-Mon-yyyy hh:mm:ss +zzzz\")");
        return *t;
    }

    std::string charset() {
        if (peek() == '"') return upper(quoted());
        return upper(atom("a charset"));
    }

    // ------------------------------------------------------------ commands

    authenticate_args parse_authenticate() {
        authenticate_args a;
        sp("the SASL mechanism");
        a.mechanism = upper(atom("a SASL mechanism"));
        if (try_sp()) {
            std::size_t start = p_;
            while (!at_end()) {
                unsigned char c = static_cast<unsigned char>(t_[p_]);
                if (is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '=') ++p_;
                else break;
            }
            std::string_view ir = t_.substr(start, p_ - start);
            if (ir.empty()) fail("Expected a base64 initial response");
            if (ir == "=") {
                a.initial_response = std::string();
            } else {
                auto decoded = base64_decode(ir);
                if (!decoded) fail("Invalid base64 in the initial response");
                a.initial_response = std::move(*decoded);
            }
        }
        return a;
    }

    login_args parse_login() {
        login_args a;
        sp("the user name");
        a.user = astring("a user name");
        sp("the password");
        a.password = astring("a password");
        return a;
    }

    enable_args parse_enable() {
        enable_args a;
        do {
            sp("a capability name");
            a.capabilities.push_back(upper(atom("a capability name")));
        } while (peek() == ' ');
        return a;
    }

    qresync_params parse_qresync() {
        depth_guard g(*this);
        qresync_params q;
        expect('(', "\"(\" after QRESYNC");
        q.uidvalidity = nz_number("UIDVALIDITY");
        sp("the mod-sequence");
        q.modseq = number64("the mod-sequence");
        auto seq_match = [&] {
            depth_guard g2(*this);
            expect('(', "\"(\"");
            q.known_sequence_set = seq_set(false, false);
            sp("the known UID set");
            q.known_uid_set = seq_set(false, false);
            expect(')', "\")\" after the sequence match data");
        };
        if (try_sp()) {
            if (peek() == '(') {
                seq_match();
            } else {
                q.known_uids = seq_set(false, false);
                if (try_sp()) seq_match();
            }
        }
        expect(')', "\")\" after the QRESYNC parameters");
        return q;
    }

    select_args parse_select() {
        select_args a;
        sp("the mailbox name");
        a.mailbox = mailbox();
        if (try_sp()) {
            depth_guard g(*this);
            expect('(', "\"(\" before the SELECT parameters");
            for (;;) {
                std::string name = word();
                if (name == "CONDSTORE") {
                    a.condstore = true;
                } else if (name == "QRESYNC") {
                    if (a.qresync) fail("QRESYNC given twice");
                    sp("the QRESYNC parameters");
                    a.qresync = parse_qresync();
                } else {
                    fail("Unknown SELECT parameter");
                }
                if (try_char(')')) break;
                sp("the next SELECT parameter");
            }
        }
        return a;
    }

    create_args parse_create() {
        create_args a;
        sp("the mailbox name");
        a.mailbox = mailbox();
        if (try_sp()) {
            depth_guard g(*this);
            expect('(', "\"(\" before the CREATE parameters");
            for (;;) {
                std::string name = word();
                if (name != "USE") fail("Unknown CREATE parameter");
                sp("the special-use list");
                depth_guard g2(*this);
                expect('(', "\"(\" before the special-use attributes");
                if (!try_char(')')) {
                    for (;;) {
                        if (peek() != '\\') fail("Special-use attributes start with \"\\\"");
                        a.special_use.push_back(canonical_special_use(flag()));
                        if (try_char(')')) break;
                        sp("the next special-use attribute");
                    }
                }
                if (try_char(')')) break;
                sp("the next CREATE parameter");
            }
        }
        return a;
    }

    static std::string canonical_special_use(std::string attr) {
        for (std::string_view known : {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"})
            if (iequal(attr, known)) return std::string(known);
        return attr;
    }

    mailbox_args parse_mailbox_only() {
        mailbox_args a;
        sp("the mailbox name");
        a.mailbox = mailbox();
        return a;
    }

    rename_args parse_rename() {
        rename_args a;
        sp("the mailbox name");
        a.from = mailbox();
        sp("the new mailbox name");
        a.to = mailbox();
        return a;
    }

    std::vector<status_item> status_items() {
        depth_guard g(*this);
        expect('(', "\"(\" before the STATUS items");
        std::vector<status_item> items;
        for (;;) {
            auto item = parse_status_item(word());
            if (!item) fail("Unknown STATUS item");
            items.push_back(*item);
            if (try_char(')')) return items;
            sp("the next STATUS item");
        }
    }

    list_args parse_list() {
        list_args a;
        sp("the reference name");
        if (peek() == '(') {
            a.extended = true;
            depth_guard g(*this);
            ++p_;
            if (!try_char(')')) {
                for (;;) {
                    std::string opt = word();
                    if (opt == "SUBSCRIBED") a.select_subscribed = true;
                    else if (opt == "REMOTE") a.select_remote = true;
                    else if (opt == "RECURSIVEMATCH") a.select_recursivematch = true;
                    else if (opt == "SPECIAL-USE") a.select_special_use = true;
                    else fail("Unknown LIST selection option");
                    if (try_char(')')) break;
                    sp("the next selection option");
                }
            }
            if (a.select_recursivematch && !a.select_subscribed && !a.select_special_use)
                fail("RECURSIVEMATCH needs another selection option");
            sp("the reference name");
        }
        a.reference = decode_name(astring("a reference name"), false);
        sp("the mailbox pattern");
        if (peek() == '(') {
            a.extended = true;
            depth_guard g(*this);
            ++p_;
            for (;;) {
                a.patterns.push_back(list_mailbox());
                if (try_char(')')) break;
                sp("the next mailbox pattern");
            }
        } else {
            a.patterns.push_back(list_mailbox());
        }
        if (try_sp()) {
            if (word() != "RETURN") fail("Expected RETURN");
            a.extended = true;
            sp("the return options");
            depth_guard g(*this);
            expect('(', "\"(\" before the return options");
            if (!try_char(')')) {
                for (;;) {
                    std::string opt = word();
                    if (opt == "SUBSCRIBED") a.return_subscribed = true;
                    else if (opt == "CHILDREN") a.return_children = true;
                    else if (opt == "SPECIAL-USE") a.return_special_use = true;
                    else if (opt == "STATUS") {
                        sp("the STATUS items");
                        a.return_status = status_items();
                    } else fail("Unknown LIST return option");
                    if (try_char(')')) break;
                    sp("the next return option");
                }
            }
        }
        return a;
    }

    lsub_args parse_lsub() {
        lsub_args a;
        sp("the reference name");
        a.reference = decode_name(astring("a reference name"), false);
        sp("the mailbox pattern");
        a.pattern = list_mailbox();
        return a;
    }

    status_args parse_status() {
        status_args a;
        sp("the mailbox name");
        a.mailbox = mailbox();
        sp("the STATUS items");
        a.items = status_items();
        return a;
    }

    void read_message_data(append_message& m, bool require_binary) {
        if (!at_literal()) fail("Expected the message literal");
        const literal_slot& s = enter_literal(true);
        if (require_binary && !s.binary) fail("UTF8 message data must be a literal8");
        if (!s.binary && s.has_nul) fail("NUL octet in the message literal (binary data needs literal8)");
        m.size = s.size;
        m.binary = s.binary;
        switch (s.storage) {
        case slot_storage::streamed: m.streamed = true; break;
        case slot_storage::external: m.data = std::move(f_.external[s.external_index]); break;
        case slot_storage::inline_text: m.data = std::string(t_.substr(s.data_pos, static_cast<std::size_t>(s.size))); break;
        }
    }

    append_args parse_append() {
        append_args local;
        append_args& args = progress_ ? progress_->args : local;
        if (progress_ && progress_->started) {
            p_ = progress_->pos;
            lit_ = progress_->literal;
        } else {
            sp("the mailbox name");
            args.mailbox = mailbox();
            if (progress_) {
                progress_->started = true;
                progress_->pos = p_;
                progress_->literal = lit_;
            }
        }
        do {
            if (args.messages.size() >= o_.max_literals) fail("Too many messages in one APPEND");
            sp("the message");
            append_message m;
            if (peek() == '(') {
                m.flags = flag_list();
                sp("the message");
            }
            if (peek() == '"') {
                m.internal_date = quoted_date_time();
                sp("the message");
            }
            message_info_ = pending_literal{};
            message_info_.message_index = args.messages.size();
            message_info_.mailbox = args.mailbox;
            message_info_.flags = m.flags;
            message_info_.internal_date = m.internal_date;
            in_message_ = true;
            if (at_literal()) {
                read_message_data(m, false);
            } else if (word() == "UTF8") {
                m.utf8 = true;
                sp("the UTF8 message");
                depth_guard g(*this);
                expect('(', "\"(\" before the UTF8 message");
                read_message_data(m, true);
                expect(')', "\")\" after the UTF8 message");
            } else {
                fail("Expected the message literal");
            }
            in_message_ = false;
            args.messages.push_back(std::move(m));
            if (progress_) {
                progress_->pos = p_;
                progress_->literal = lit_;
            }
        } while (!at_end());
        append_args out = std::move(args);
        if (progress_) progress_->clear();
        return out;
    }

    // ------------------------------------------------------------ SEARCH

    search_key simple(search_kind k) {
        search_key key;
        key.kind = k;
        return key;
    }

    search_key search_key_() {
        depth_guard g(*this);
        int c = peek();
        if (c == '(') {
            ++p_;
            search_key key = simple(search_kind::and_);
            for (;;) {
                key.children.push_back(search_key_());
                if (try_char(')')) return key;
                sp("the next search key");
            }
        }
        if (c == '*' || c == '$' || (c >= '0' && c <= '9')) {
            search_key key = simple(search_kind::sequence_set);
            key.set = seq_set();
            return key;
        }
        std::string w = word();
        if (w.empty()) fail("Expected a search key");
        struct flag_key {
            std::string_view name;
            search_kind kind;
        };
        static constexpr flag_key no_arg[] = {
            {"ALL", search_kind::all},           {"ANSWERED", search_kind::answered},
            {"DELETED", search_kind::deleted},   {"DRAFT", search_kind::draft},
            {"FLAGGED", search_kind::flagged},   {"NEW", search_kind::new_},
            {"OLD", search_kind::old},           {"RECENT", search_kind::recent},
            {"SEEN", search_kind::seen},         {"UNANSWERED", search_kind::unanswered},
            {"UNDELETED", search_kind::undeleted}, {"UNDRAFT", search_kind::undraft},
            {"UNFLAGGED", search_kind::unflagged}, {"UNSEEN", search_kind::unseen},
        };
        for (const auto& k : no_arg)
            if (w == k.name) return simple(k.kind);
        static constexpr flag_key string_arg[] = {
            {"BCC", search_kind::bcc},         {"BODY", search_kind::body}, {"CC", search_kind::cc},
            {"FROM", search_kind::from},       {"SUBJECT", search_kind::subject},
            {"TEXT", search_kind::text},       {"TO", search_kind::to},
        };
        for (const auto& k : string_arg)
            if (w == k.name) {
                search_key key = simple(k.kind);
                sp("the search string");
                key.text = astring("a search string");
                return key;
            }
        static constexpr flag_key date_arg[] = {
            {"BEFORE", search_kind::before},         {"ON", search_kind::on},
            {"SINCE", search_kind::since},           {"SENTBEFORE", search_kind::sentbefore},
            {"SENTON", search_kind::senton},         {"SENTSINCE", search_kind::sentsince},
        };
        for (const auto& k : date_arg)
            if (w == k.name) {
                search_key key = simple(k.kind);
                sp("the date");
                key.date = search_date();
                return key;
            }
        if (w == "KEYWORD" || w == "UNKEYWORD") {
            search_key key = simple(w == "KEYWORD" ? search_kind::keyword : search_kind::unkeyword);
            sp("the keyword");
            key.text = std::string(atom("a keyword"));
            return key;
        }
        if (w == "HEADER") {
            search_key key = simple(search_kind::header);
            sp("the header field name");
            key.header_name = astring("a header field name");
            sp("the search string");
            key.text = astring("a search string");
            return key;
        }
        if (w == "LARGER" || w == "SMALLER") {
            search_key key = simple(w == "LARGER" ? search_kind::larger : search_kind::smaller);
            sp("the size");
            key.number = number64("a size");
            return key;
        }
        if (w == "FUZZY") {   // RFC 6203: FUZZY SP search-key
            search_key key = simple(search_kind::fuzzy);
            sp("the fuzzy search key");
            key.children.push_back(search_key_());
            return key;
        }
        if (w == "NOT") {
            search_key key = simple(search_kind::not_);
            sp("the negated search key");
            key.children.push_back(search_key_());
            return key;
        }
        if (w == "OR") {
            search_key key = simple(search_kind::or_);
            sp("the first OR operand");
            key.children.push_back(search_key_());
            sp("the second OR operand");
            key.children.push_back(search_key_());
            return key;
        }
        if (w == "UID") {
            search_key key = simple(search_kind::uid);
            sp("the UID set");
            key.set = seq_set();
            return key;
        }
        if (w == "MODSEQ") {
            search_key key = simple(search_kind::modseq);
            sp("the mod-sequence");
            if (peek() == '"') {
                key.modseq_entry = quoted();
                if (!istarts_with(key.modseq_entry, "/flags/") || key.modseq_entry.size() <= 7)
                    fail("MODSEQ entry names must be \"/flags/<flag>\"");
                sp("the entry type");
                std::string type = word();
                if (type != "PRIV" && type != "SHARED" && type != "ALL") fail("MODSEQ entry type must be priv, shared or all");
                for (auto& ch : type) ch = to_lower(ch);
                key.modseq_type = type;
                sp("the mod-sequence");
            }
            key.number = number64("a mod-sequence");
            return key;
        }
        fail("Unknown search key");
    }

    search_key search_keys() {
        search_key root = simple(search_kind::and_);
        for (;;) {
            root.children.push_back(search_key_());
            if (!try_sp()) return root;
        }
    }

    search_args parse_search() {
        search_args a;
        sp("the search criteria");
        if (peek_word("RETURN")) {
            word();
            a.ret.requested = true;
            sp("the RETURN options");
            depth_guard g(*this);
            expect('(', "\"(\" before the RETURN options");
            if (try_char(')')) {
                a.ret.all = true;  // RFC 4731 3.1: RETURN () means RETURN (ALL)
            } else {
                for (;;) {
                    std::string opt = word();
                    if (opt == "MIN") a.ret.min = true;
                    else if (opt == "MAX") a.ret.max = true;
                    else if (opt == "ALL") a.ret.all = true;
                    else if (opt == "COUNT") a.ret.count = true;
                    else if (opt == "SAVE") a.ret.save = true;
                    else if (opt == "RELEVANCY") a.ret.relevancy = true;
                    else fail("Unknown SEARCH RETURN option");
                    if (try_char(')')) break;
                    sp("the next RETURN option");
                }
            }
            sp("the search criteria");
        }
        if (peek_word("CHARSET")) {
            word();
            sp("the charset");
            a.charset = charset();
            sp("the search criteria");
        }
        a.criteria = search_keys();
        return a;
    }

    // ------------------------------------------------------------ FETCH

    std::vector<std::uint32_t> part_numbers() {
        std::vector<std::uint32_t> parts;
        parts.push_back(nz_number("a part number"));
        while (peek() == '.' && is_digit(static_cast<unsigned char>(peek(1) < 0 ? 0 : peek(1)))) {
            ++p_;
            parts.push_back(nz_number("a part number"));
        }
        return parts;
    }

    section_spec section() {
        expect('[', "\"[\"");
        section_spec s;
        if (try_char(']')) return s;
        bool has_parts = false;
        if (is_digit(static_cast<unsigned char>(peek() < 0 ? 0 : peek()))) {
            s.part = part_numbers();
            has_parts = true;
            if (try_char(']')) return s;
            expect('.', "\".\" or \"]\" after the part number");
        }
        std::string w = word();
        if (w == "HEADER") s.text = section_text::header;
        else if (w == "TEXT") s.text = section_text::text;
        else if (w == "MIME" && has_parts) s.text = section_text::mime;
        else if (w == "HEADER.FIELDS" || w == "HEADER.FIELDS.NOT") {
            s.text = w == "HEADER.FIELDS" ? section_text::header_fields : section_text::header_fields_not;
            sp("the header field list");
            depth_guard g(*this);
            expect('(', "\"(\" before the header field names");
            for (;;) {
                s.fields.push_back(astring("a header field name"));
                if (try_char(')')) break;
                sp("the next header field name");
            }
        } else {
            fail("Invalid section specification");
        }
        expect(']', "\"]\" after the section");
        return s;
    }

    section_spec binary_section() {
        expect('[', "\"[\"");
        section_spec s;
        if (!try_char(']')) {
            s.part = part_numbers();
            expect(']', "\"]\" after the part number");
        }
        return s;
    }

    std::optional<partial_range> partial() {
        if (!try_char('<')) return std::nullopt;
        partial_range r;
        r.offset = number64("a partial offset");
        expect('.', "\".\" in the partial range");
        r.length = number64("a partial length");
        if (r.length == 0) fail("Partial length must not be zero");
        expect('>', "\">\" after the partial range");
        return r;
    }

    fetch_attribute fetch_att() {
        fetch_attribute a;
        std::string w = word();
        if (w == "ENVELOPE") a.item = fetch_item::envelope;
        else if (w == "FLAGS") a.item = fetch_item::flags;
        else if (w == "INTERNALDATE") a.item = fetch_item::internaldate;
        else if (w == "RFC822") a.item = fetch_item::rfc822;
        else if (w == "RFC822.HEADER") a.item = fetch_item::rfc822_header;
        else if (w == "RFC822.SIZE") a.item = fetch_item::rfc822_size;
        else if (w == "RFC822.TEXT") a.item = fetch_item::rfc822_text;
        else if (w == "BODYSTRUCTURE") a.item = fetch_item::bodystructure;
        else if (w == "UID") a.item = fetch_item::uid;
        else if (w == "MODSEQ") a.item = fetch_item::modseq;
        else if (w == "BODY" || w == "BODY.PEEK") {
            if (peek() != '[') {
                if (w == "BODY.PEEK") fail("BODY.PEEK needs a section");
                a.item = fetch_item::body;
                return a;
            }
            a.item = fetch_item::body_section;
            a.peek = w == "BODY.PEEK";
            a.section = section();
            a.partial = partial();
        } else if (w == "BINARY" || w == "BINARY.PEEK") {
            a.item = fetch_item::binary;
            a.peek = w == "BINARY.PEEK";
            a.section = binary_section();
            a.partial = partial();
        } else if (w == "BINARY.SIZE") {
            a.item = fetch_item::binary_size;
            a.section = binary_section();
        } else {
            fail("Unknown FETCH attribute");
        }
        return a;
    }

    fetch_args parse_fetch() {
        fetch_args a;
        sp("the sequence set");
        a.set = seq_set();
        sp("the FETCH attributes");
        auto simple_att = [](fetch_item i) {
            fetch_attribute f;
            f.item = i;
            return f;
        };
        if (peek() == '(') {
            depth_guard g(*this);
            ++p_;
            for (;;) {
                a.attributes.push_back(fetch_att());
                if (try_char(')')) break;
                sp("the next FETCH attribute");
            }
        } else if (peek_word("ALL") || peek_word("FAST") || peek_word("FULL")) {
            std::string m = word();
            a.attributes = {simple_att(fetch_item::flags), simple_att(fetch_item::internaldate),
                            simple_att(fetch_item::rfc822_size)};
            if (m != "FAST") a.attributes.push_back(simple_att(fetch_item::envelope));
            if (m == "FULL") a.attributes.push_back(simple_att(fetch_item::body));
        } else {
            a.attributes.push_back(fetch_att());
        }
        if (try_sp()) {
            depth_guard g(*this);
            expect('(', "\"(\" before the FETCH modifiers");
            for (;;) {
                std::string m = word();
                if (m == "CHANGEDSINCE") {
                    sp("the mod-sequence");
                    a.changedsince = number64("a mod-sequence");
                } else if (m == "VANISHED") {
                    a.vanished = true;
                } else {
                    fail("Unknown FETCH modifier");
                }
                if (try_char(')')) break;
                sp("the next FETCH modifier");
            }
            // RFC 7162 3.2.6: VANISHED only in UID FETCH, and only with CHANGEDSINCE.
            if (a.vanished && (!uid_ || !a.changedsince)) fail("VANISHED requires UID FETCH with CHANGEDSINCE");
        }
        return a;
    }

    // ------------------------------------------------------------ STORE, COPY, MOVE

    store_args parse_store() {
        store_args a;
        sp("the sequence set");
        a.set = seq_set();
        sp("the flags");
        if (peek() == '(') {
            depth_guard g(*this);
            ++p_;
            if (word() != "UNCHANGEDSINCE") fail("Unknown STORE modifier");
            sp("the mod-sequence");
            a.unchangedsince = number64("a mod-sequence");
            expect(')', "\")\" after the STORE modifier");
            sp("the flags");
        }
        std::string item = word();
        std::string_view v = item;
        if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
            a.mode = v[0] == '+' ? store_mode::add : store_mode::remove;
            v.remove_prefix(1);
        }
        if (v == "FLAGS.SILENT") a.silent = true;
        else if (v != "FLAGS") fail("Expected FLAGS, +FLAGS or -FLAGS");
        sp("the flag list");
        if (peek() == '(') {
            a.flags = flag_list();
        } else {
            for (;;) {
                a.flags.push_back(flag());
                if (!try_sp()) break;
            }
        }
        return a;
    }

    copy_args parse_copy() {
        copy_args a;
        sp("the sequence set");
        a.set = seq_set();
        sp("the mailbox name");
        a.mailbox = mailbox();
        return a;
    }

    expunge_args parse_expunge() {
        expunge_args a;
        if (uid_) {
            sp("the UID set");
            a.uids = seq_set();
        }
        return a;
    }

    // ------------------------------------------------------------ SORT, THREAD

    sort_args parse_sort() {
        sort_args a;
        sp("the sort criteria");
        {
            depth_guard g(*this);
            expect('(', "\"(\" before the sort criteria");
            for (;;) {
                sort_criterion c;
                std::string w = word();
                if (w == "REVERSE") {
                    c.reverse = true;
                    sp("the sort key");
                    w = word();
                }
                if (w == "ARRIVAL") c.key = sort_key::arrival;
                else if (w == "CC") c.key = sort_key::cc;
                else if (w == "DATE") c.key = sort_key::date;
                else if (w == "FROM") c.key = sort_key::from;
                else if (w == "SIZE") c.key = sort_key::size;
                else if (w == "SUBJECT") c.key = sort_key::subject;
                else if (w == "TO") c.key = sort_key::to;
                else if (w == "DISPLAYFROM") c.key = sort_key::displayfrom;
                else if (w == "DISPLAYTO") c.key = sort_key::displayto;
                else fail("Unknown sort key");
                a.criteria.push_back(c);
                if (try_char(')')) break;
                sp("the next sort key");
            }
        }
        sp("the charset");
        a.charset = charset();
        sp("the search criteria");
        a.search = search_keys();
        return a;
    }

    thread_args parse_thread() {
        thread_args a;
        sp("the threading algorithm");
        std::string alg = upper(atom("a threading algorithm"));
        if (alg == "REFERENCES") a.algorithm = thread_algorithm::references;
        else if (alg == "ORDEREDSUBJECT") a.algorithm = thread_algorithm::orderedsubject;
        else fail("Unknown threading algorithm");
        sp("the charset");
        a.charset = charset();
        sp("the search criteria");
        a.search = search_keys();
        return a;
    }

    // ------------------------------------------------------------ QUOTA, ACL, ID, ...

    getquota_args parse_getquota() {
        getquota_args a;
        sp("the quota root");
        a.root = astring("a quota root");
        return a;
    }

    setquota_args parse_setquota() {
        setquota_args a;
        sp("the quota root");
        a.root = astring("a quota root");
        sp("the resource limits");
        depth_guard g(*this);
        expect('(', "\"(\" before the resource limits");
        if (try_char(')')) return a;
        for (;;) {
            std::string name = upper(atom("a resource name"));
            sp("the resource limit");
            a.limits.emplace_back(std::move(name), number64("a resource limit"));
            if (try_char(')')) return a;
            sp("the next resource");
        }
    }

    setacl_args parse_setacl() {
        setacl_args a;
        sp("the mailbox name");
        a.mailbox = mailbox();
        sp("the identifier");
        a.identifier = astring("an identifier");
        sp("the rights");
        auto change = parse_rights_change(astring("rights"));
        if (!change) fail("Unknown right in the rights list");
        a.change = *change;
        return a;
    }

    acl_identifier_args parse_acl_identifier_args() {
        acl_identifier_args a;
        sp("the mailbox name");
        a.mailbox = mailbox();
        sp("the identifier");
        a.identifier = astring("an identifier");
        return a;
    }

    id_args parse_id() {
        id_args a;
        sp("the ID parameters");
        if (try_nil()) return a;
        depth_guard g(*this);
        expect('(', "\"(\" or NIL");
        a.params.emplace();
        if (try_char(')')) return a;
        // RFC 2971 3.3: at most 30 pairs, fields of at most 30 octets, values of at most 1024.
        for (;;) {
            if (a.params->size() >= 30) fail("Too many ID parameters (at most 30)");
            std::string field = string_("an ID field name");
            if (field.size() > 30) fail("ID field names are at most 30 octets");
            sp("the ID value");
            auto value = nstring("an ID value");
            if (value && value->size() > 1024) fail("ID values are at most 1024 octets");
            a.params->emplace_back(std::move(field), std::move(value));
            if (try_char(')')) return a;
            sp("the next ID field");
        }
    }

    compress_args parse_compress() {
        compress_args a;
        sp("the compression mechanism");
        a.mechanism = upper(atom("a compression mechanism"));
        return a;
    }

    getmetadata_args parse_getmetadata() {
        getmetadata_args a;
        sp("the mailbox name");
        if (peek() == '(') {
            depth_guard g(*this);
            ++p_;
            for (;;) {
                std::string opt = word();
                if (opt == "MAXSIZE") {
                    sp("the maximum size");
                    a.maxsize = number("a maximum size");
                } else if (opt == "DEPTH") {
                    sp("the depth");
                    std::string d = word();
                    if (d == "0") a.depth = metadata_depth::zero;
                    else if (d == "1") a.depth = metadata_depth::one;
                    else if (d == "INFINITY") a.depth = metadata_depth::infinity;
                    else fail("DEPTH must be 0, 1 or infinity");
                } else {
                    fail("Unknown GETMETADATA option");
                }
                if (try_char(')')) break;
                sp("the next GETMETADATA option");
            }
            sp("the mailbox name");
        }
        a.mailbox = mailbox();
        sp("the entry names");
        if (peek() == '(') {
            depth_guard g(*this);
            ++p_;
            for (;;) {
                a.entries.push_back(astring("an entry name"));
                if (try_char(')')) break;
                sp("the next entry name");
            }
        } else {
            a.entries.push_back(astring("an entry name"));
        }
        return a;
    }

    setmetadata_args parse_setmetadata() {
        setmetadata_args a;
        sp("the mailbox name");
        a.mailbox = mailbox();
        sp("the entries");
        depth_guard g(*this);
        expect('(', "\"(\" before the entries");
        for (;;) {
            std::string entry = astring("an entry name");
            sp("the entry value");
            std::optional<std::string> value;
            if (at_literal() && f_.literals[lit_].binary) {
                const literal_slot& s = enter_literal(true);
                if (s.storage != slot_storage::inline_text) fail("Unexpected message literal");
                value = std::string(t_.substr(s.data_pos, static_cast<std::size_t>(s.size)));
            } else {
                value = nstring("an entry value");
            }
            a.entries.emplace_back(std::move(entry), std::move(value));
            if (try_char(')')) return a;
            sp("the next entry");
        }
    }

    command_args parse_args(command_kind kind) {
        switch (kind) {
        case command_kind::capability:
        case command_kind::noop:
        case command_kind::logout:
        case command_kind::starttls:
        case command_kind::namespace_:
        case command_kind::idle:
        case command_kind::check:
        case command_kind::close:
        case command_kind::unselect: return no_args{};
        case command_kind::authenticate: return parse_authenticate();
        case command_kind::login: return parse_login();
        case command_kind::enable: return parse_enable();
        case command_kind::select:
        case command_kind::examine: return parse_select();
        case command_kind::create: return parse_create();
        case command_kind::delete_:
        case command_kind::subscribe:
        case command_kind::unsubscribe:
        case command_kind::getquotaroot:
        case command_kind::getacl:
        case command_kind::myrights: return parse_mailbox_only();
        case command_kind::rename: return parse_rename();
        case command_kind::list: return parse_list();
        case command_kind::lsub: return parse_lsub();
        case command_kind::status: return parse_status();
        case command_kind::append: return parse_append();
        case command_kind::expunge: return parse_expunge();
        case command_kind::search: return parse_search();
        case command_kind::fetch: return parse_fetch();
        case command_kind::store: return parse_store();
        case command_kind::copy:
        case command_kind::move: return parse_copy();
        case command_kind::sort: return parse_sort();
        case command_kind::thread: return parse_thread();
        case command_kind::getquota: return parse_getquota();
        case command_kind::setquota: return parse_setquota();
        case command_kind::setacl: return parse_setacl();
        case command_kind::deleteacl:
        case command_kind::listrights: return parse_acl_identifier_args();
        case command_kind::id: return parse_id();
        case command_kind::compress: return parse_compress();
        case command_kind::getmetadata: return parse_getmetadata();
        case command_kind::setmetadata: return parse_setmetadata();
        }
        fail("Unknown command");
    }
};

command grammar::parse() {
    command c;
    std::size_t start = p_;
    while (!at_end() && !at_literal() && is_tag_char(static_cast<unsigned char>(t_[p_]))) ++p_;
    if (p_ == start) fail("Missing or invalid tag");
    c.tag = std::string(t_.substr(start, p_ - start));
    sp("the command name");
    std::string verb = upper(atom("a command name"));
    std::optional<command_kind> kind;
    if (verb == "UID") {
        sp("the UID command");
        uid_ = true;
        c.uid = true;
        kind = find_command(upper(atom("a UID command")), true);
        if (!kind) fail("Unknown UID command");
    } else {
        kind = find_command(verb, false);
        if (!kind) fail("Unknown command");
    }
    c.kind = *kind;
    c.args = parse_args(*kind);
    if (!at_end()) fail("Unexpected characters after the arguments");
    return c;
}

}  // namespace

grammar_outcome run_grammar(framed_command& f, const parser_options& options, append_progress* progress) {
    grammar_outcome out;
    try {
        grammar g(f, options, progress);
        out.cmd = g.parse();
        out.st = grammar_outcome::status::complete;
    } catch (syntax_error& e) {
        out.st = grammar_outcome::status::error;
        out.reason = std::move(e.reason);
    } catch (need_literal& n) {
        out.st = grammar_outcome::status::incomplete;
        out.pending = std::move(n.info);
    }
    return out;
}

command_head scan_head(std::string_view text) {
    command_head h;
    std::size_t i = 0;
    while (i < text.size() && is_tag_char(static_cast<unsigned char>(text[i]))) ++i;
    if (i == 0 || i >= text.size() || text[i] != ' ') {
        // A tag must be followed by a space; if the line ended right after it, it is
        // still the tag the client will look for.
        if (i > 0 && i == text.size()) h.tag = std::string(text);
        return h;
    }
    h.tag = std::string(text.substr(0, i));
    std::size_t v = ++i;
    while (i < text.size() && is_atom_char(static_cast<unsigned char>(text[i]))) ++i;
    std::string verb = upper(text.substr(v, i - v));
    if (verb == "UID" && i < text.size() && text[i] == ' ') {
        std::size_t s = ++i;
        while (i < text.size() && is_atom_char(static_cast<unsigned char>(text[i]))) ++i;
        h.kind = find_command(upper(text.substr(s, i - s)), true);
        h.uid = h.kind.has_value();
    } else {
        h.kind = find_command(verb, false);
    }
    return h;
}

}  // namespace polder::imap::proto::detail
