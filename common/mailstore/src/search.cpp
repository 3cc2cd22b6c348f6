// search.cpp - typed IMAP SEARCH criteria to a parameterized SQL condition.
// SECURITY: the SQL text is built only from fixed fragments and "$n" placeholders;
// every client value goes into params. Depth, node count and string sizes are bounded.
// STANDARDS: RFC 3501 / RFC 9051 section 6.4.4, RFC 7162 section 3.1.5.
#include "polder/mailstore/search.hpp"

#include "polder/db/arrays.hpp"

#include <algorithm>
#include <chrono>

namespace polder::mailstore {
namespace {

class builder {
public:
    explicit builder(int first) : next_(first) {}

    result<std::string> build(const search_criterion& c, std::size_t depth, bool fuzzy = false) {
        fuzzy = fuzzy || c.fuzzy;
        if (depth > max_search_depth || ++nodes_ > max_search_nodes) return errc::limit_exceeded;
        if (c.text.size() > max_search_string || c.field.size() > max_search_string) return errc::limit_exceeded;
        switch (c.key) {
            case search_key::all: return std::string("TRUE");
            case search_key::uid: {
                auto set = make_uid_set(c.uids);
                if (!set) return set.error();
                std::vector<std::int64_t> lo, hi;
                for (const auto& r : *set) {
                    lo.push_back(r.first);
                    hi.push_back(r.last);
                }
                auto a = param(db::bigint_array(lo));
                auto b = param(db::bigint_array(hi));
                return "EXISTS (SELECT 1 FROM unnest(" + a + "::bigint[], " + b +
                       "::bigint[]) AS r(lo, hi) WHERE mm.uid BETWEEN r.lo AND r.hi)";
            }
            case search_key::flag:
            case search_key::unflag: {
                auto f = normalize_flag(c.text);
                if (!f) return f.error();
                std::string e = "mail.has_flag(mm.flags, " + param(*f) + "::text)";
                return c.key == search_key::flag ? e : "NOT " + e;
            }
            case search_key::before: return day_compare("mm.internaldate", "<", c);
            case search_key::on: return day_compare("mm.internaldate", "=", c);
            case search_key::since: return day_compare("mm.internaldate", ">=", c);
            case search_key::sent_before: return day_compare("m.sent_date", "<", c);
            case search_key::sent_on: return day_compare("m.sent_date", "=", c);
            case search_key::sent_since: return day_compare("m.sent_date", ">=", c);
            case search_key::larger:
            case search_key::smaller:
            case search_key::modseq: {
                if (c.number < 0) return errc::invalid_argument;
                auto p = param(std::to_string(c.number)) + "::bigint";
                if (c.key == search_key::larger) return "mm.size > " + p;
                if (c.key == search_key::smaller) return "mm.size < " + p;
                return "mm.modseq >= " + p;
            }
            case search_key::header: {
                if (c.field.empty()) return errc::invalid_argument;
                for (char ch : c.field)
                    if (static_cast<unsigned char>(ch) <= 0x20 || ch == ':' || static_cast<unsigned char>(ch) >= 0x7f)
                        return errc::invalid_argument;
                auto name = param(c.field);
                auto value = param(c.text);
                // header_values (schema 0103) holds every field value lower-cased as the
                // check below does: without the string there, no field can match, and the
                // walk over the JSON runs only for the messages that may (CASE fixes the order).
                return "CASE WHEN strpos(m.header_values, lower(" + value + "::text)) > 0 THEN "
                       "EXISTS (SELECT 1 FROM jsonb_array_elements(m.header_fields) AS h(f) WHERE lower(h.f->>0) = "
                       "lower(" + name + "::text) AND strpos(lower(coalesce(h.f->>1, '')), lower(" + value +
                       "::text)) > 0) ELSE false END";
            }
            case search_key::from: return contains_text("m.from_text", c.text);
            case search_key::to: return contains_text("m.to_text", c.text);
            case search_key::cc: return contains_text("m.cc_text", c.text);
            case search_key::bcc: return contains_text("m.bcc_text", c.text);
            case search_key::subject: return contains_text("m.subject", c.text);
            case search_key::body: {
                if (fuzzy) {
                    auto p = param(c.text);
                    ranks_.push_back(rank(p));
                    return "(" + fts(p) + " OR strpos(lower(m.body_text), lower(" + p + "::text)) > 0)";
                }
                return contains_text("m.body_text", c.text);
            }
            case search_key::text: {
                auto p = param(c.text);
                std::string stemmed;
                if (fuzzy) {
                    ranks_.push_back(rank(p));
                    stemmed = fts(p) + " OR ";
                }
                return "(" + stemmed + "strpos(lower(m.body_text), lower(" + p + "::text)) > 0 OR EXISTS (SELECT 1 FROM jsonb_array_elements(m.header_fields) AS h(f) WHERE "
                       "strpos(lower(coalesce(h.f->>0, '') || ': ' || coalesce(h.f->>1, '')), lower(" + p +
                       "::text)) > 0))";
            }
            case search_key::all_of:
            case search_key::any_of:
            case search_key::none_of: {
                if (c.children.empty()) return errc::invalid_argument;
                std::string out = c.key == search_key::none_of ? "NOT (" : "(";
                const char* op = c.key == search_key::any_of ? " OR " : " AND ";
                for (std::size_t i = 0; i < c.children.size(); ++i) {
                    auto sub = build(c.children[i], depth + 1, fuzzy);
                    if (!sub) return sub.error();
                    if (i) out += op;
                    out += "(" + *sub + ")";
                }
                return out + ")";
            }
        }
        return errc::invalid_argument;
    }

    std::vector<std::string> params;

    // The best rank among the FUZZY full-text keys; empty without any.
    std::string rank_expression() const {
        if (ranks_.empty()) return {};
        if (ranks_.size() == 1) return ranks_[0];
        std::string out = "greatest(";
        for (std::size_t i = 0; i < ranks_.size(); ++i) out += (i ? ", " : "") + ranks_[i];
        return out + ")";
    }

private:
    std::string param(std::string value) {
        params.push_back(std::move(value));
        return "$" + std::to_string(next_++);
    }

    // Dates disregard time and timezone (RFC 3501 6.4.4): compare UTC calendar days.
    result<std::string> day_compare(const char* column, const char* op, const search_criterion& c) {
        if (c.number < -1000000 || c.number > 1000000) return errc::invalid_argument;
        return std::string("((") + column + " AT TIME ZONE 'UTC')::date " + op + " DATE '1970-01-01' + " +
               param(std::to_string(c.number)) + "::integer)";
    }

    std::string contains_text(const char* column, const std::string& text) {
        return std::string("strpos(lower(") + column + "), lower(" + param(text) + "::text)) > 0";
    }

    // Normalization 32 maps the rank to rank / (rank + 1), into [0, 1).
    static std::string rank(const std::string& p) {
        return "ts_rank(m.fts, plainto_tsquery('dutch', " + p + "::text) || plainto_tsquery('english', " + p +
               "::text), 32)";
    }

    static std::string fts(const std::string& p) {
        return "m.fts @@ (plainto_tsquery('dutch', " + p + "::text) || plainto_tsquery('english', " + p + "::text))";
    }

    int next_;
    std::size_t nodes_ = 0;
    std::vector<std::string> ranks_;
};

}  // namespace

result<sql_condition> build_search_condition(const search_criterion& c, int first_param) {
    builder b(first_param);
    auto sql = b.build(c, 1);
    if (!sql) return sql.error();
    return sql_condition{std::move(*sql), std::move(b.params), b.rank_expression()};
}

search_criterion search_text(search_key key, std::string text) {
    search_criterion c;
    c.key = key;
    c.text = std::move(text);
    return c;
}

search_criterion search_number(search_key key, std::int64_t number) {
    search_criterion c;
    c.key = key;
    c.number = number;
    return c;
}

search_criterion search_header(std::string field, std::string text) {
    search_criterion c;
    c.key = search_key::header;
    c.field = std::move(field);
    c.text = std::move(text);
    return c;
}

search_criterion search_uids(uid_set uids) {
    search_criterion c;
    c.key = search_key::uid;
    c.uids = std::move(uids);
    return c;
}

search_criterion search_and(std::vector<search_criterion> children) {
    search_criterion c;
    c.key = search_key::all_of;
    c.children = std::move(children);
    return c;
}

search_criterion search_or(std::vector<search_criterion> children) {
    search_criterion c;
    c.key = search_key::any_of;
    c.children = std::move(children);
    return c;
}

search_criterion search_not(search_criterion child) {
    search_criterion c;
    c.key = search_key::none_of;
    c.children.push_back(std::move(child));
    return c;
}

search_criterion search_fuzzy(search_criterion c) {
    c.fuzzy = true;   // build() hands it down to the children
    return c;
}

std::size_t header_text::size() const noexcept {
    std::size_t n = sizeof(header_text) + subject.size() + from.size() + to.size() + cc.size() + bcc.size();
    for (const auto& [name, value] : fields) n += sizeof(fields[0]) + name.size() + value.size();
    return n;
}

bool decidable_in_memory(const search_criterion& c) noexcept {
    switch (c.key) {
        case search_key::all:
        case search_key::uid:
        case search_key::header:
        case search_key::subject:
        case search_key::from:
        case search_key::to:
        case search_key::cc:
        case search_key::bcc: return true;
        case search_key::all_of:
        case search_key::any_of:
        case search_key::none_of:
            return std::all_of(c.children.begin(), c.children.end(),
                               [](const search_criterion& x) { return decidable_in_memory(x); });
        default: return false;
    }
}

std::vector<std::string*> memory_strings(search_criterion& c) {
    std::vector<std::string*> out;
    auto walk = [&out](auto& self, search_criterion& x) -> void {
        if (x.key == search_key::header) out.push_back(&x.field);
        if (x.key == search_key::header || x.key == search_key::subject || x.key == search_key::from ||
            x.key == search_key::to || x.key == search_key::cc || x.key == search_key::bcc)
            out.push_back(&x.text);
        for (auto& child : x.children) self(self, child);
    };
    walk(walk, c);
    return out;
}

// Each case is the SQL of build() above: strpos(lower(column), lower(text)) > 0 is a
// find in the lower-cased column (an empty text is found everywhere); HEADER is the
// EXISTS over the fields (its CASE on header_values only skips fields that cannot match).
bool header_matches(const search_criterion& c, std::uint32_t uid, const header_text& h) noexcept {
    auto has = [](const std::string& in, const std::string& what) { return in.find(what) != std::string::npos; };
    switch (c.key) {
        case search_key::all: return true;
        case search_key::uid: return contains(c.uids, uid);
        case search_key::header:
            return std::any_of(h.fields.begin(), h.fields.end(), [&](const auto& f) {
                return f.first == c.field && has(f.second, c.text);
            });
        case search_key::subject: return has(h.subject, c.text);
        case search_key::from: return has(h.from, c.text);
        case search_key::to: return has(h.to, c.text);
        case search_key::cc: return has(h.cc, c.text);
        case search_key::bcc: return has(h.bcc, c.text);
        case search_key::all_of:
            return std::all_of(c.children.begin(), c.children.end(),
                               [&](const search_criterion& x) { return header_matches(x, uid, h); });
        case search_key::any_of:
            return std::any_of(c.children.begin(), c.children.end(),
                               [&](const search_criterion& x) { return header_matches(x, uid, h); });
        case search_key::none_of:
            return !std::all_of(c.children.begin(), c.children.end(),
                                [&](const search_criterion& x) { return header_matches(x, uid, h); });
        default: return false;   // not decidable_in_memory
    }
}

std::int64_t day_number(int year, unsigned month, unsigned day) {
    using namespace std::chrono;
    return sys_days{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{day}}
        .time_since_epoch()
        .count();
}

}  // namespace polder::mailstore
