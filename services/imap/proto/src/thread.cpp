// thread.cpp - RFC 5256 base subject, RFC 2047 decoding for it, message-id parsing, and
// the ORDEREDSUBJECT and REFERENCES threading algorithms.
//
// SECURITY: every walk over the container graph is iterative with explicit stacks; parent
// links are only created after a loop check, so the graph stays a forest even for
// adversarial References headers; subject processing is linear in the subject length.
// STANDARDS: RFC 5256 sections 2.1, 2.2, 3 and 4; RFC 2047 sections 4, 5 and 6.2;
// RFC 5322 section 3.6.4; charsets ISO-8859-1, ISO-8859-15, Windows-1252.
#include "polder/imap/proto/thread.hpp"

#include "chars.hpp"

#include <algorithm>
#include <unordered_map>

namespace polder::imap::proto {

using detail::iequal;
using detail::istarts_with;
using detail::to_upper;

// ---------------------------------------------------------------- RFC 2047

namespace {

char32_t windows_1252(unsigned char c) {
    static constexpr char32_t high[32] = {
        0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
        0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178};
    if (c >= 0x80 && c <= 0x9f) return high[c - 0x80];
    return c;
}

char32_t iso_8859_15(unsigned char c) {
    switch (c) {
    case 0xa4: return 0x20ac;
    case 0xa6: return 0x0160;
    case 0xa8: return 0x0161;
    case 0xb4: return 0x017d;
    case 0xb8: return 0x017e;
    case 0xbc: return 0x0152;
    case 0xbd: return 0x0153;
    case 0xbe: return 0x0178;
    default: return c;
    }
}

enum class charset { utf8, ascii, latin1, latin9, cp1252, unknown };

charset find_charset(std::string_view name) {
    auto star = name.find('*');  // RFC 2231 language suffix: "utf-8*nl"
    if (star != std::string_view::npos) name = name.substr(0, star);
    if (iequal(name, "utf-8") || iequal(name, "utf8")) return charset::utf8;
    if (iequal(name, "us-ascii") || iequal(name, "ascii")) return charset::ascii;
    if (iequal(name, "iso-8859-1") || iequal(name, "latin1") || iequal(name, "iso8859-1")) return charset::latin1;
    if (iequal(name, "iso-8859-15") || iequal(name, "latin9") || iequal(name, "iso8859-15")) return charset::latin9;
    if (iequal(name, "windows-1252") || iequal(name, "cp1252")) return charset::cp1252;
    return charset::unknown;
}

std::string to_utf8(std::string_view bytes, charset cs) {
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t i = 0; i < bytes.size();) {
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        switch (cs) {
        case charset::utf8: {
            std::size_t n = detail::utf8_sequence_length(bytes, i);
            if (n == 0) {
                detail::append_utf8(out, 0xfffd);
                ++i;
            } else {
                out.append(bytes.substr(i, n));
                i += n;
            }
            continue;
        }
        case charset::latin1: detail::append_utf8(out, c); break;
        case charset::latin9: detail::append_utf8(out, iso_8859_15(c)); break;
        case charset::cp1252: detail::append_utf8(out, windows_1252(c)); break;
        case charset::ascii:
        case charset::unknown: detail::append_utf8(out, 0xfffd); break;
        }
        ++i;
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// lenient_base64 - encoded-words in the wild often lack padding; accept that.
bool lenient_base64(std::string_view in, std::string& out) {
    std::uint32_t buf = 0;
    int bits = 0;
    for (char ch : in) {
        int v;
        if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
        else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
        else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
        else if (ch == '+') v = 62;
        else if (ch == '/') v = 63;
        else if (ch == '=') break;
        else return false;
        buf = (buf << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            out += static_cast<char>((buf >> (bits - 8)) & 0xff);
            bits -= 8;
        }
        buf &= (1u << bits) - 1;
    }
    return true;
}

// try_encoded_word - "=?charset?X?text?=" at text[i]; on success sets `end` and `decoded`.
bool try_encoded_word(std::string_view text, std::size_t i, std::size_t& end, std::string& decoded) {
    if (text.compare(i, 2, "=?") != 0) return false;
    std::size_t q1 = text.find('?', i + 2);
    if (q1 == std::string_view::npos || q1 == i + 2 || q1 + 2 >= text.size() || text[q1 + 2] != '?') return false;
    char enc = to_upper(text[q1 + 1]);
    if (enc != 'B' && enc != 'Q') return false;
    std::size_t start = q1 + 3;
    std::size_t close = text.find("?=", start);
    if (close == std::string_view::npos) return false;
    std::string_view payload = text.substr(start, close - start);
    for (char c : payload)
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return false;  // encoded-words contain no spaces
    charset cs = find_charset(text.substr(i + 2, q1 - i - 2));
    if (cs == charset::unknown) return false;
    std::string raw;
    if (enc == 'B') {
        if (!lenient_base64(payload, raw)) return false;
    } else {
        for (std::size_t k = 0; k < payload.size(); ++k) {
            char c = payload[k];
            if (c == '_') raw += ' ';
            else if (c == '=' && k + 2 < payload.size() && hex_value(payload[k + 1]) >= 0 && hex_value(payload[k + 2]) >= 0) {
                raw += static_cast<char>(hex_value(payload[k + 1]) * 16 + hex_value(payload[k + 2]));
                k += 2;
            } else raw += c;
        }
    }
    decoded = to_utf8(raw, cs);
    end = close + 2;
    return true;
}

}  // namespace

std::string decode_encoded_words(std::string_view text) {
    std::string out;
    std::string pending_ws;
    bool last_encoded = false;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t end = 0;
        std::string decoded;
        if (text[i] == '=' && try_encoded_word(text, i, end, decoded)) {
            if (!last_encoded) out += pending_ws;  // whitespace between encoded-words vanishes
            pending_ws.clear();
            out += decoded;
            last_encoded = true;
            i = end;
            continue;
        }
        char c = text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            pending_ws += c;
        } else {
            out += pending_ws;
            pending_ws.clear();
            out += c;
            last_encoded = false;
        }
        ++i;
    }
    out += pending_ws;
    return out;
}

// ---------------------------------------------------------------- base subject

namespace {

// blob_end - if s[pos] starts a subj-blob ("[" *BLOBCHAR "]" *WSP), where it ends.
std::size_t blob_end(std::string_view s, std::size_t pos) {
    if (pos >= s.size() || s[pos] != '[') return std::string_view::npos;
    std::size_t i = pos + 1;
    while (i < s.size() && s[i] != ']' && s[i] != '[') ++i;
    if (i >= s.size() || s[i] != ']') return std::string_view::npos;
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    return i;
}

// refwd_end - if s[pos] starts a subj-refwd (("re" / ("fw" ["d"])) *WSP [subj-blob] ":").
std::size_t refwd_end(std::string_view s, std::size_t pos) {
    std::size_t i;
    std::string_view rest = s.substr(pos);
    if (istarts_with(rest, "re")) i = pos + 2;
    else if (istarts_with(rest, "fwd")) i = pos + 3;
    else if (istarts_with(rest, "fw")) i = pos + 2;
    else return std::string_view::npos;
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t b = blob_end(s, i);
    if (b != std::string_view::npos) i = b;
    if (i < s.size() && s[i] == ':') return i + 1;
    return std::string_view::npos;
}

// leader_end - subj-leader = (*subj-blob subj-refwd) / WSP
std::size_t leader_end(std::string_view s) {
    if (!s.empty() && s[0] == ' ') return 1;
    std::size_t pos = 0;
    for (;;) {
        std::size_t r = refwd_end(s, pos);
        if (r != std::string_view::npos) return r;
        std::size_t b = blob_end(s, pos);
        if (b == std::string_view::npos) return std::string_view::npos;
        pos = b;
    }
}

}  // namespace

base_subject_result extract_base_subject(std::string_view subject, bool decode) {
    base_subject_result r;
    // (1) decode, tabs and continuations to space, runs of spaces to one
    std::string text = decode ? decode_encoded_words(subject) : std::string(subject);
    std::string s;
    s.reserve(text.size());
    for (char c : text) {
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
        if (c == ' ' && !s.empty() && s.back() == ' ') continue;
        s += c;
    }
    for (;;) {
        // (2) trailing subj-trailer: "(fwd)" / WSP
        for (;;) {
            if (!s.empty() && s.back() == ' ') {
                s.pop_back();
            } else if (s.size() >= 5 && iequal(std::string_view(s).substr(s.size() - 5), "(fwd)")) {
                s.erase(s.size() - 5);
                r.reply_or_forward = true;
            } else {
                break;
            }
        }
        // (3)-(5) leaders and blobs
        for (;;) {
            bool removed = false;
            for (;;) {
                std::size_t e = leader_end(s);
                if (e == std::string_view::npos) break;
                if (s[0] != ' ') r.reply_or_forward = true;
                s.erase(0, e);
                removed = true;
            }
            std::size_t b = blob_end(s, 0);
            if (b != std::string_view::npos && b < s.size()) {
                s.erase(0, b);
                removed = true;
            }
            if (!removed) break;
        }
        // (6) "[fwd:" ... "]"
        if (s.size() >= 6 && istarts_with(s, "[fwd:") && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            r.reply_or_forward = true;
            continue;
        }
        break;
    }
    r.subject = std::move(s);
    return r;
}

int compare_ascii_casemap(std::string_view a, std::string_view b) noexcept {
    std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        unsigned char x = static_cast<unsigned char>(to_upper(a[i]));
        unsigned char y = static_cast<unsigned char>(to_upper(b[i]));
        if (x != y) return x < y ? -1 : 1;
    }
    if (a.size() == b.size()) return 0;
    return a.size() < b.size() ? -1 : 1;
}

// ---------------------------------------------------------------- message ids

std::vector<std::string> parse_msg_ids(std::string_view h, std::size_t max_ids) {
    std::vector<std::string> ids;
    std::size_t i = 0;
    int comment = 0;
    while (i < h.size()) {
        char c = h[i];
        if (comment > 0) {
            if (c == '\\') ++i;
            else if (c == '(') ++comment;
            else if (c == ')') --comment;
            ++i;
            continue;
        }
        if (c == '(') {
            comment = 1;
            ++i;
            continue;
        }
        if (c != '<') {
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        bool ok = true, at = false;
        while (j < h.size() && h[j] != '>') {
            unsigned char d = static_cast<unsigned char>(h[j]);
            if (d == '<' || d <= ' ' || d == 0x7f) {
                ok = false;
                break;
            }
            if (d == '@') at = true;
            ++j;
        }
        if (ok && j < h.size() && at && j > i + 1) {
            ids.emplace_back(h.substr(i, j - i + 1));
            if (ids.size() > max_ids) ids.erase(ids.begin());
            i = j + 1;
        } else {
            i = (j > i + 1 && j < h.size() && h[j] == '<') ? j : i + 1;
        }
    }
    return ids;
}

// ---------------------------------------------------------------- threading

namespace {

std::string casemap_key(std::string_view s) { return detail::upper(s); }

struct sort_key_of {
    std::int64_t date;
    std::uint32_t sequence;
    bool operator<(const sort_key_of& o) const {
        return date != o.date ? date < o.date : sequence < o.sequence;
    }
};

}  // namespace

thread_forest thread_orderedsubject(const std::vector<thread_message>& messages) {
    std::vector<std::string> keys(messages.size());
    for (std::size_t i = 0; i < messages.size(); ++i) keys[i] = casemap_key(extract_base_subject(messages[i].subject).subject);
    std::vector<std::size_t> order(messages.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        int c = keys[a].compare(keys[b]);
        if (c != 0) return c < 0;
        return sort_key_of{messages[a].sent_date, messages[a].sequence} <
               sort_key_of{messages[b].sent_date, messages[b].sequence};
    });
    thread_forest f;
    std::vector<std::size_t> first_of_group;
    for (std::size_t k = 0; k < order.size();) {
        std::size_t root = f.nodes.size();
        f.nodes.push_back(thread_node{messages[order[k]].id, {}});
        first_of_group.push_back(order[k]);
        std::size_t j = k + 1;
        for (; j < order.size() && keys[order[j]] == keys[order[k]]; ++j) {
            f.nodes[root].children.push_back(f.nodes.size());
            f.nodes.push_back(thread_node{messages[order[j]].id, {}});
        }
        f.roots.push_back(root);
        k = j;
    }
    // threads ordered by the sent date of their first message
    std::vector<std::size_t> idx(f.roots.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        const auto& ma = messages[first_of_group[a]];
        const auto& mb = messages[first_of_group[b]];
        return sort_key_of{ma.sent_date, ma.sequence} < sort_key_of{mb.sent_date, mb.sequence};
    });
    std::vector<std::size_t> roots;
    for (auto i : idx) roots.push_back(f.roots[i]);
    f.roots = std::move(roots);
    return f;
}

namespace {

constexpr int no_parent = -1;
constexpr int root_container = 0;

struct container {
    int message = -1;     // index into messages; -1 = dummy
    int parent = no_parent;
    std::vector<int> children;
};

class references_threader {
public:
    explicit references_threader(const std::vector<thread_message>& m) : msgs_(m) {
        c_.emplace_back();  // the root
        subjects_.reserve(m.size());
        for (const auto& msg : m) subjects_.push_back(extract_base_subject(msg.subject));
    }

    thread_forest run() {
        link_messages();
        gather_root();
        prune();
        merge_subjects();
        sort_siblings();
        return build();
    }

private:
    const std::vector<thread_message>& msgs_;
    std::vector<base_subject_result> subjects_;
    std::vector<container> c_;

    int make_container() {
        c_.emplace_back();
        return static_cast<int>(c_.size() - 1);
    }
    bool dummy(int i) const { return c_[static_cast<std::size_t>(i)].message < 0; }
    container& at(int i) { return c_[static_cast<std::size_t>(i)]; }

    // is_descendant - walk up from `node`: does it reach `ancestor`?
    bool is_descendant(int node, int ancestor) const {
        for (int n = node; n != no_parent; n = c_[static_cast<std::size_t>(n)].parent)
            if (n == ancestor) return true;
        return false;
    }
    bool would_loop(int parent, int child) const {
        if (parent == child) return true;
        if (c_[static_cast<std::size_t>(child)].children.empty()) return false;
        return is_descendant(parent, child);
    }
    void unlink(int child) {
        int p = at(child).parent;
        if (p == no_parent) return;
        auto& kids = at(p).children;
        kids.erase(std::find(kids.begin(), kids.end(), child));
        at(child).parent = no_parent;
    }
    void set_parent(int child, int parent) {
        unlink(child);
        at(child).parent = parent;
        at(parent).children.push_back(child);
    }

    // Step 1: link messages by Message-ID, References and In-Reply-To.
    void link_messages() {
        std::unordered_map<std::string, int> ids;
        std::vector<std::size_t> order(msgs_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return msgs_[a].sequence < msgs_[b].sequence; });
        auto lookup = [&](const std::string& id) {
            auto it = ids.find(id);
            if (it != ids.end()) return it->second;
            int n = make_container();
            ids.emplace(id, n);
            return n;
        };
        for (std::size_t mi : order) {
            const auto& m = msgs_[mi];
            int self;
            auto it = m.message_id.empty() ? ids.end() : ids.find(m.message_id);
            if (!m.message_id.empty() && it != ids.end() && dummy(it->second)) {
                self = it->second;  // a reference created it: fill the placeholder
            } else {
                // no Message-ID, or a duplicate of one already used: a unique container
                self = make_container();
                if (!m.message_id.empty() && it == ids.end()) ids.emplace(m.message_id, self);
            }
            at(self).message = static_cast<int>(mi);

            const std::vector<std::string>* refs = &m.references;
            std::vector<std::string> irt;
            if (refs->empty() && !m.in_reply_to.empty()) {
                irt.push_back(m.in_reply_to);
                refs = &irt;
            }
            int prev = no_parent;
            for (const auto& r : *refs) {
                if (r.empty()) continue;
                int rc = lookup(r);
                if (prev != no_parent && rc != prev && at(rc).parent == no_parent && !would_loop(prev, rc))
                    set_parent(rc, prev);
                prev = rc;
            }
            unlink(self);
            if (prev != no_parent && !would_loop(prev, self)) set_parent(self, prev);
        }
    }

    // Step 2: everything without a parent becomes a child of the root.
    void gather_root() {
        for (int i = 1; i < static_cast<int>(c_.size()); ++i)
            if (at(i).parent == no_parent) set_parent(i, root_container);
    }

    // Step 4: remove empty dummies; promote the children of dummies, except at the top
    // level where a dummy with several children stays (it groups siblings).
    void prune() {
        std::vector<int> work{root_container};
        while (!work.empty()) {
            int p = work.back();
            work.pop_back();
            std::vector<int> kept;
            std::vector<int> stack(at(p).children.rbegin(), at(p).children.rend());
            while (!stack.empty()) {
                int c = stack.back();
                stack.pop_back();
                if (dummy(c)) {
                    if (at(c).children.empty()) {
                        at(c).parent = no_parent;
                        continue;
                    }
                    if (p != root_container || at(c).children.size() == 1) {
                        for (auto it = at(c).children.rbegin(); it != at(c).children.rend(); ++it) {
                            at(*it).parent = p;
                            stack.push_back(*it);
                        }
                        at(c).children.clear();
                        at(c).parent = no_parent;
                        continue;
                    }
                }
                kept.push_back(c);
            }
            at(p).children = kept;
            for (int c : kept) work.push_back(c);
        }
    }

    const base_subject_result* thread_subject(int c) const {
        const container& k = c_[static_cast<std::size_t>(c)];
        int m = k.message;
        if (m < 0) {
            if (k.children.empty()) return nullptr;
            m = c_[static_cast<std::size_t>(k.children[0])].message;
            if (m < 0) return nullptr;
        }
        return &subjects_[static_cast<std::size_t>(m)];
    }
    bool is_reply(int c) const {
        int m = c_[static_cast<std::size_t>(c)].message;
        return m >= 0 && subjects_[static_cast<std::size_t>(m)].reply_or_forward;
    }

    // Step 5: merge top-level threads with the same base subject.
    void merge_subjects() {
        std::unordered_map<std::string, int> table;
        const std::vector<int> roots = at(root_container).children;
        for (int c : roots) {
            const auto* s = thread_subject(c);
            if (!s || s->subject.empty()) continue;
            std::string key = casemap_key(s->subject);
            auto it = table.find(key);
            if (it == table.end()) {
                table.emplace(std::move(key), c);
            } else {
                int old = it->second;
                if (!dummy(old) && (dummy(c) || (is_reply(old) && !is_reply(c)))) it->second = c;
            }
        }
        std::vector<int> list = roots;  // -1 marks a removed entry
        std::unordered_map<int, std::size_t> pos;
        for (std::size_t i = 0; i < list.size(); ++i) pos[list[i]] = i;
        for (int c : roots) {
            if (at(c).parent != root_container) continue;  // already merged under another
            const auto* s = thread_subject(c);
            if (!s || s->subject.empty()) continue;
            auto it = table.find(casemap_key(s->subject));
            int t = it->second;
            if (t == c) continue;
            if (dummy(c) && dummy(t)) {
                for (int k : at(c).children) {
                    at(k).parent = t;
                    at(t).children.push_back(k);
                }
                at(c).children.clear();
                at(c).parent = no_parent;
                list[pos[c]] = -1;
            } else if ((dummy(t) && !dummy(c)) || (is_reply(c) && !is_reply(t) && !dummy(t))) {
                at(c).parent = t;
                at(t).children.push_back(c);
                list[pos[c]] = -1;
            } else {
                int d = make_container();
                at(d).parent = root_container;
                list[pos[t]] = d;
                pos[d] = pos[t];
                at(t).parent = d;
                at(c).parent = d;
                at(d).children = {t, c};
                list[pos[c]] = -1;
                it->second = d;
            }
        }
        std::vector<int> kept;
        for (int c : list)
            if (c >= 0) kept.push_back(c);
        at(root_container).children = std::move(kept);
    }

    sort_key_of key_of(int c) const {
        const container& k = c_[static_cast<std::size_t>(c)];
        if (k.message >= 0) {
            const auto& m = msgs_[static_cast<std::size_t>(k.message)];
            return {m.sent_date, m.sequence};
        }
        if (!k.children.empty()) return key_of_first(k.children[0]);
        return {0, 0};
    }
    sort_key_of key_of_first(int c) const {
        // a dummy's key is its first child's (after sorting); dummies never nest deeply,
        // but walk iteratively anyway
        while (c_[static_cast<std::size_t>(c)].message < 0 && !c_[static_cast<std::size_t>(c)].children.empty())
            c = c_[static_cast<std::size_t>(c)].children[0];
        const container& k = c_[static_cast<std::size_t>(c)];
        if (k.message < 0) return {0, 0};
        const auto& m = msgs_[static_cast<std::size_t>(k.message)];
        return {m.sent_date, m.sequence};
    }

    // Step 6: sort siblings by sent date, deepest levels first.
    void sort_siblings() {
        std::vector<int> bfs{root_container};
        for (std::size_t i = 0; i < bfs.size(); ++i)
            for (int k : at(bfs[i]).children) bfs.push_back(k);
        for (auto it = bfs.rbegin(); it != bfs.rend(); ++it) {
            auto& kids = at(*it).children;
            std::stable_sort(kids.begin(), kids.end(), [&](int a, int b) { return key_of(a) < key_of(b); });
        }
    }

    thread_forest build() {
        thread_forest f;
        std::vector<std::pair<int, std::size_t>> stack;  // container, node index
        auto add = [&](int c) {
            std::size_t n = f.nodes.size();
            int m = at(c).message;
            f.nodes.push_back(thread_node{m >= 0 ? msgs_[static_cast<std::size_t>(m)].id : 0, {}});
            stack.emplace_back(c, n);
            return n;
        };
        for (int r : at(root_container).children) f.roots.push_back(add(r));
        while (!stack.empty()) {
            auto [c, n] = stack.back();
            stack.pop_back();
            for (int k : at(c).children) {
                std::size_t kn = add(k);
                f.nodes[n].children.push_back(kn);
            }
        }
        return f;
    }
};

}  // namespace

thread_forest thread_references(const std::vector<thread_message>& messages) {
    return references_threader(messages).run();
}

std::string format_threads(const thread_forest& threads) {
    std::string out;
    struct item {
        std::size_t node;
        const char* text;  // when non-null: literal text to emit
    };
    std::vector<item> stack;
    for (std::size_t r : threads.roots) {
        if (r >= threads.nodes.size()) continue;
        out += '(';
        stack.push_back({r, nullptr});
        while (!stack.empty()) {
            item it = stack.back();
            stack.pop_back();
            if (it.text) {
                out += it.text;
                continue;
            }
            const thread_node& n = threads.nodes[it.node];
            bool wrote = n.id != 0;
            if (wrote) out += std::to_string(n.id);
            std::vector<item> seq;
            const auto& kids = n.children;
            if (kids.size() == 1) {
                if (wrote) seq.push_back({0, " "});
                if (kids[0] < threads.nodes.size()) seq.push_back({kids[0], nullptr});
            } else if (kids.size() > 1) {
                if (wrote) seq.push_back({0, " "});
                for (std::size_t k : kids) {
                    if (k >= threads.nodes.size()) continue;
                    seq.push_back({0, "("});
                    seq.push_back({k, nullptr});
                    seq.push_back({0, ")"});
                }
            }
            for (auto s = seq.rbegin(); s != seq.rend(); ++s) stack.push_back(*s);
        }
        out += ')';
    }
    return out;
}

}  // namespace polder::imap::proto
