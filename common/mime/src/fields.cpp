// fields.cpp - RFC 5322 address lists, MIME Content-Type/Disposition/Language, msg-ids.
//
// SECURITY: hand-written lexers over string_view; comment nesting is tracked with a
// counter (no recursion); every output list is capped.
// STANDARDS: RFC 5322 §3.2-3.4, §3.6.4, §4; RFC 2045 §5.1; RFC 2183; RFC 2231; RFC 3282;
// RFC 3501 §7.4.2.
#include "polder/mime/fields.hpp"

#include <algorithm>
#include <cctype>

namespace polder::mime {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

// Skips a comment starting at s[i] == '('; returns the index after it and (optionally)
// its text without the outer parentheses. Nesting is counted, not recursed.
std::size_t skip_comment(std::string_view s, std::size_t i, std::string* text) {
    int depth = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\\' && i + 1 < s.size()) {
            if (text) text->push_back(s[i + 1]);
            ++i;
            continue;
        }
        if (c == '(') {
            if (depth > 0 && text) text->push_back(c);
            ++depth;
            continue;
        }
        if (c == ')') {
            if (--depth == 0) return i + 1;
            if (text) text->push_back(c);
            continue;
        }
        if (text && c != '\r' && c != '\n') text->push_back(c);
    }
    return s.size();   // unterminated: the rest is comment
}

// ---- RFC 5322 tokens for address lists ----

enum class tk { atom, quoted, literal, comment, special };
struct token {
    tk kind;
    std::string_view raw;   // as written (quotes/brackets included)
    std::string text;       // quoted: unescaped content; comment: content
    char ch = 0;            // special
};

bool is_address_special(char c) {
    return c == '<' || c == '>' || c == '@' || c == ',' || c == ';' || c == ':' || c == '"' || c == '(' ||
           c == ')' || c == '[' || c == ']' || c == '\\';
}

std::vector<token> tokenize(std::string_view s, std::size_t max_tokens) {
    std::vector<token> out;
    std::size_t i = 0;
    while (i < s.size() && out.size() < max_tokens) {
        const char c = s[i];
        if (is_wsp(c)) { ++i; continue; }
        if (c == '(') {
            token t{tk::comment, {}, {}, 0};
            const std::size_t end = skip_comment(s, i, &t.text);
            t.raw = s.substr(i, end - i);
            out.push_back(std::move(t));
            i = end;
            continue;
        }
        if (c == '"') {
            token t{tk::quoted, {}, {}, 0};
            std::size_t j = i + 1;
            for (; j < s.size() && s[j] != '"'; ++j) {
                if (s[j] == '\\' && j + 1 < s.size()) ++j;
                if (s[j] == '\r' || s[j] == '\n') continue;   // folding inside a quoted-string
                t.text.push_back(s[j]);
            }
            const std::size_t end = std::min(s.size(), j + 1);
            t.raw = s.substr(i, end - i);
            out.push_back(std::move(t));
            i = end;
            continue;
        }
        if (c == '[') {
            std::size_t j = s.find(']', i);
            const std::size_t end = j == std::string_view::npos ? s.size() : j + 1;
            out.push_back({tk::literal, s.substr(i, end - i), {}, 0});
            i = end;
            continue;
        }
        if (is_address_special(c)) {
            out.push_back({tk::special, s.substr(i, 1), {}, c});
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < s.size() && !is_wsp(s[j]) && !is_address_special(s[j])) ++j;
        out.push_back({tk::atom, s.substr(i, j - i), {}, 0});
        i = j;
    }
    return out;
}

class address_parser {
public:
    address_parser(std::vector<token> toks, std::size_t max) : t_(std::move(toks)), max_(max) {}

    std::vector<address> run() {
        while (i_ < t_.size() && out_.size() < max_) {
            if (is_special(',')) { ++i_; continue; }
            const std::size_t before = i_;
            parse_address(false);
            skip_to_separator(false);
            if (i_ == before) ++i_;   // always make progress
        }
        if (out_.size() > max_) out_.resize(max_);
        return std::move(out_);
    }

private:
    bool is_special(char c) const { return i_ < t_.size() && t_[i_].kind == tk::special && t_[i_].ch == c; }
    bool at_end() const { return i_ >= t_.size(); }

    void skip_comments(std::string* first_comment = nullptr) {
        while (!at_end() && t_[i_].kind == tk::comment) {
            if (first_comment && first_comment->empty()) *first_comment = std::string(trim(t_[i_].text));
            ++i_;
        }
    }

    // Skips garbage up to ',' (or ';' inside a group), not consuming ';'.
    void skip_to_separator(bool in_group) {
        while (!at_end()) {
            if (is_special(',')) return;
            if (in_group && is_special(';')) return;
            ++i_;
        }
    }

    static void add_word(std::string& phrase, std::string_view w) {
        if (!phrase.empty()) phrase.push_back(' ');
        phrase.append(w);
    }

    // domain: dot-atom or domain-literal. A comment ends it, so "a@b (Name)" keeps its
    // comment for the display name.
    std::string parse_domain() {
        std::string d;
        while (!at_end()) {
            const auto& k = t_[i_];
            if (k.kind == tk::comment && d.empty()) { ++i_; continue; }
            if (k.kind == tk::atom || k.kind == tk::literal) {
                d.append(k.raw);
                ++i_;
                continue;
            }
            break;
        }
        return d;
    }

    // local-part: words joined without spaces, quoted strings kept with their quotes
    std::string parse_local() {
        std::string l;
        while (!at_end()) {
            const auto& k = t_[i_];
            if (k.kind == tk::comment) { ++i_; continue; }
            if (k.kind == tk::atom || k.kind == tk::quoted) {
                l.append(k.raw);
                ++i_;
                continue;
            }
            break;
        }
        return l;
    }

    void emit(std::optional<std::string> name, std::optional<std::string> adl, std::string mbox, std::string host) {
        if (out_.size() >= max_) return;
        address a;
        if (name && !name->empty()) a.name = std::move(name);
        if (adl && !adl->empty()) a.adl = std::move(adl);
        a.mailbox = mbox.empty() ? std::string("MISSING_MAILBOX") : std::move(mbox);
        a.host = host.empty() ? std::string("MISSING_DOMAIN") : std::move(host);
        out_.push_back(std::move(a));
    }

    void parse_angle(std::optional<std::string> name) {
        ++i_;   // '<'
        std::string adl;
        skip_comments();
        if (is_special('@')) {
            // obs-route: "@a,@b:" (RFC 5322 §4.4)
            while (is_special('@') || is_special(',')) {
                if (is_special(',')) {
                    adl.push_back(',');
                    ++i_;
                    skip_comments();
                    continue;
                }
                ++i_;
                adl.push_back('@');
                adl += parse_domain();
            }
            if (is_special(':')) ++i_;
        }
        std::string local = parse_local();
        std::string host;
        if (is_special('@')) {
            ++i_;
            host = parse_domain();
        }
        while (!at_end() && !is_special('>') && !is_special(',')) ++i_;
        if (is_special('>')) ++i_;
        if (local.empty() && host.empty() && adl.empty()) {
            emit(std::move(name), std::nullopt, {}, {});   // "<>"
            return;
        }
        emit(std::move(name), adl.empty() ? std::nullopt : std::optional<std::string>(adl), std::move(local),
             std::move(host));
    }

    void parse_address(bool in_group) {
        std::string phrase;       // display-name form: quotes removed, words space-separated
        std::string local;        // local-part form: raw words joined
        std::string comment;
        while (!at_end()) {
            const auto& k = t_[i_];
            if (k.kind == tk::comment) {
                if (comment.empty()) comment = std::string(trim(k.text));
                ++i_;
                continue;
            }
            if (k.kind == tk::atom) {
                add_word(phrase, k.raw);
                local.append(k.raw);
                ++i_;
                continue;
            }
            if (k.kind == tk::quoted) {
                add_word(phrase, k.text);
                local.append(k.raw);
                ++i_;
                continue;
            }
            break;
        }
        if (is_special('<')) {
            parse_angle(phrase.empty() ? std::nullopt : std::optional<std::string>(phrase));
            return;
        }
        if (is_special(':') && !in_group) {
            ++i_;
            if (out_.size() < max_) out_.push_back(address{std::nullopt, std::nullopt, phrase, std::nullopt});
            while (!at_end() && out_.size() < max_) {
                if (is_special(',')) { ++i_; continue; }
                if (is_special(';')) break;
                const std::size_t before = i_;
                parse_address(true);
                skip_to_separator(true);
                if (i_ == before) ++i_;
            }
            if (is_special(';')) ++i_;
            if (out_.size() < max_) out_.push_back(address{});
            return;
        }
        if (is_special('@')) {
            ++i_;
            std::string host = parse_domain();
            std::string trailing;
            skip_comments(&trailing);
            emit(comment.empty() ? (trailing.empty() ? std::nullopt : std::optional<std::string>(trailing))
                                 : std::optional<std::string>(comment),
                 std::nullopt, std::move(local), std::move(host));
            return;
        }
        if (!local.empty()) emit(std::nullopt, std::nullopt, std::move(local), {});
    }

    std::vector<token> t_;
    std::size_t max_;
    std::size_t i_ = 0;
    std::vector<address> out_;
};

// ---- MIME parameter grammar (RFC 2045 §5.1, RFC 2231) ----

bool is_tspecial(char c) {
    switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':': case '\\': case '"':
    case '/': case '[': case ']': case '?': case '=':
        return true;
    default:
        return false;
    }
}

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 32 && u != 127 && !is_tspecial(c);
}

struct mime_lexer {
    std::string_view s;
    std::size_t i = 0;

    void skip_cfws() {
        while (i < s.size()) {
            if (is_wsp(s[i])) { ++i; continue; }
            if (s[i] == '(') { i = skip_comment(s, i, nullptr); continue; }
            break;
        }
    }
    std::string_view token() {
        const std::size_t start = i;
        while (i < s.size() && is_token_char(s[i])) ++i;
        return s.substr(start, i - start);
    }
    bool eat(char c) {
        if (i < s.size() && s[i] == c) { ++i; return true; }
        return false;
    }
    void skip_past(char c) {
        while (i < s.size() && s[i] != c) {
            if (s[i] == '"') {   // do not stop at a separator inside a quoted value
                ++i;
                while (i < s.size() && s[i] != '"') {
                    if (s[i] == '\\') ++i;
                    ++i;
                }
                if (i >= s.size()) {
                    i = s.size();
                    return;
                }
            }
            ++i;
        }
        if (i < s.size()) ++i;
    }
    std::string value() {
        if (i < s.size() && s[i] == '"') {
            std::string v;
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                if (s[i] != '\r' && s[i] != '\n') v.push_back(s[i]);
                ++i;
            }
            if (i < s.size()) ++i;
            return v;
        }
        // Lenient: an unquoted value runs to the next ';' (real mail has "name=my file.pdf"),
        // minus a trailing comment ("format=flowed (comment)").
        const std::size_t start = i;
        while (i < s.size() && s[i] != ';') ++i;
        std::string_view raw = trim(s.substr(start, i - start));
        if (!raw.empty() && raw.back() == ')') {
            const std::size_t open = raw.rfind('(');
            if (open != std::string_view::npos && open > 0 && is_wsp(raw[open - 1])) raw = trim(raw.substr(0, open));
        }
        std::string v;
        for (char c : raw)
            if (c != '\r' && c != '\n') v.push_back(c);
        return v;
    }
};

constexpr std::size_t max_params = 64;

void percent_encode_into(std::string& out, std::string_view v) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : v) {
        if (c > 32 && c < 127 && !is_tspecial(static_cast<char>(c)) && c != '*' && c != '\'' && c != '%') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
}

// Merges RFC 2231 sections: name*0, name*1* ... -> "name" or "name*" (charset'lang'pct-encoded).
std::vector<parameter> merge_rfc2231(const std::vector<parameter>& raw) {
    struct seg { int index; bool ext; const std::string* value; };
    struct group { std::string base; std::vector<seg> segs; };
    std::vector<group> groups;
    for (const auto& p : raw) {
        std::string_view n = p.name;
        bool ext = false;
        int index = -1;
        if (!n.empty() && n.back() == '*') {
            ext = true;
            n.remove_suffix(1);
        }
        const std::size_t star = n.rfind('*');
        if (star != std::string_view::npos && star + 1 < n.size() && n.size() - star - 1 <= 3 &&
            std::all_of(n.begin() + star + 1, n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            index = std::stoi(std::string(n.substr(star + 1)));
            n = n.substr(0, star);
        }
        if (n.empty()) continue;
        auto it = std::find_if(groups.begin(), groups.end(), [&](const group& g) { return g.base == n; });
        if (it == groups.end()) {
            groups.push_back({std::string(n), {}});
            it = groups.end() - 1;
        }
        it->segs.push_back({index, ext, &p.value});
    }
    std::vector<parameter> out;
    for (auto& g : groups) {
        const bool has_sections = std::any_of(g.segs.begin(), g.segs.end(), [](const seg& x) { return x.index >= 0; });
        if (!has_sections) {
            const seg& first = g.segs.front();
            out.push_back({g.base + (first.ext ? "*" : ""), *first.value});
            continue;
        }
        // Sections 0..k in order; stop at the first gap (RFC 2231 §3).
        std::vector<const seg*> ordered;
        for (int want = 0; want < 1000; ++want) {
            auto x = std::find_if(g.segs.begin(), g.segs.end(), [&](const seg& y) { return y.index == want; });
            if (x == g.segs.end()) break;
            ordered.push_back(&*x);
        }
        if (ordered.empty()) continue;
        const bool extended = ordered.front()->ext;
        std::string value;
        for (const seg* x : ordered) {
            if (!extended || x->ext) value += *x->value;
            else percent_encode_into(value, *x->value);
        }
        out.push_back({g.base + (extended ? "*" : ""), std::move(value)});
    }
    return out;
}

std::vector<parameter> parse_params(mime_lexer& lx) {
    std::vector<parameter> raw;
    while (lx.i < lx.s.size() && raw.size() < max_params) {
        lx.skip_cfws();
        if (lx.eat(';')) continue;
        if (lx.i >= lx.s.size()) break;
        const std::string_view name = lx.token();
        if (name.empty()) { lx.skip_past(';'); continue; }
        lx.skip_cfws();
        if (!lx.eat('=')) { lx.skip_past(';'); continue; }
        lx.skip_cfws();
        std::string v = lx.value();
        parameter p{lower(name), std::move(v)};
        const bool dup = std::any_of(raw.begin(), raw.end(), [&](const parameter& q) { return q.name == p.name; });
        if (!dup) raw.push_back(std::move(p));
        lx.skip_cfws();
        if (lx.i < lx.s.size() && lx.s[lx.i] != ';') lx.skip_past(';');
    }
    return merge_rfc2231(raw);
}

}  // namespace

std::string unfold(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (char c : raw)
        if (c != '\r' && c != '\n') out.push_back(c);
    return std::string(trim(out));
}

std::vector<address> parse_address_list(std::string_view value, std::size_t max_addresses) {
    if (max_addresses == 0) return {};
    address_parser p(tokenize(value, 64 * 1024), max_addresses);
    return p.run();
}

content_type parse_content_type(std::string_view value) {
    content_type ct;
    mime_lexer lx{value};
    lx.skip_cfws();
    const std::string_view type = lx.token();
    lx.skip_cfws();
    if (type.empty() || !lx.eat('/')) return ct;
    lx.skip_cfws();
    const std::string_view sub = lx.token();
    if (sub.empty()) return ct;
    ct.type = lower(type);
    ct.subtype = lower(sub);
    ct.valid = true;
    lx.skip_cfws();
    if (lx.i < lx.s.size() && lx.s[lx.i] != ';') lx.skip_past(';');
    ct.params = parse_params(lx);
    return ct;
}

std::optional<disposition> parse_disposition(std::string_view value) {
    mime_lexer lx{value};
    lx.skip_cfws();
    const std::string_view type = lx.token();
    if (type.empty()) return std::nullopt;
    disposition d;
    d.type = lower(type);
    lx.skip_cfws();
    if (lx.i < lx.s.size() && lx.s[lx.i] != ';') lx.skip_past(';');
    d.params = parse_params(lx);
    return d;
}

std::vector<std::string> parse_language(std::string_view value) {
    std::vector<std::string> out;
    mime_lexer lx{value};
    while (lx.i < value.size() && out.size() < max_params) {
        lx.skip_cfws();
        if (lx.eat(',')) continue;
        const std::size_t start = lx.i;
        while (lx.i < value.size() && value[lx.i] != ',' && value[lx.i] != '(' && !is_wsp(value[lx.i])) ++lx.i;
        if (lx.i > start) out.emplace_back(value.substr(start, lx.i - start));
        else if (lx.i < value.size() && value[lx.i] != ',' && value[lx.i] != '(') ++lx.i;
        lx.skip_cfws();
        if (lx.i < value.size() && value[lx.i] != ',') lx.skip_past(',');
    }
    return out;
}

std::vector<std::string> parse_message_ids(std::string_view value, std::size_t max_ids) {
    std::vector<std::string> out;
    std::size_t i = 0;
    bool saw_bracket = false;
    while (i < value.size() && out.size() < max_ids) {
        const char c = value[i];
        if (c == '(') { i = skip_comment(value, i, nullptr); continue; }
        if (c == '<') {
            saw_bracket = true;
            const std::size_t end = value.find('>', i + 1);
            if (end == std::string_view::npos) break;
            std::string id;
            for (char x : value.substr(i + 1, end - i - 1))
                if (!is_wsp(x)) id.push_back(x);
            if (!id.empty()) out.push_back(std::move(id));
            i = end + 1;
            continue;
        }
        ++i;
    }
    if (!saw_bracket) {
        const std::string_view t = trim(value);
        if (!t.empty() && t.size() <= 998 && std::none_of(t.begin(), t.end(), is_wsp) && max_ids > 0)
            out.emplace_back(t);
    }
    return out;
}

const std::string* find_parameter(const std::vector<parameter>& params, std::string_view name) {
    for (const auto& p : params)
        if (p.name == name) return &p.value;
    return nullptr;
}

}  // namespace polder::mime
