// load.cpp - reading the TOML file, environment overrides, validation.
//
// What it does: parses the text with toml++ (the only translation unit that includes it),
// walks the parameter table to take each value, walks the document to find keys the table
// does not know, applies POLDER_<SECTION>_<KEY> environment variables, checks the
// relations between keys, and resolves relative paths against the config file's folder.
// Every problem is collected; nothing stops at the first one.
//
// SECURITY: the file is read with a size limit (1 MiB); values echoed back in errors are
// escaped and shortened; listener addresses must be IP literals so a typo cannot make a
// service bind somewhere unexpected; unknown keys are errors, not silently ignored.
//
// STANDARDS: TOML v1.0.0; RFC 1123 section 2.1 (host name syntax of smtp.hostname);
// RFC 4291 / RFC 791 address literals (inet_pton).
#include "polder/config/config.hpp"
#include "polder/config/parameters.hpp"
#include "polder/core/prefixes.hpp"

#include "detail.hpp"

#include <toml++/toml.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>

extern char** environ;

namespace polder::config {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_file_size = 1024 * 1024;

// raw - one value as found, before it is checked against its parameter.
struct raw {
    enum class type { integer, floating, string, boolean, other } t = type::other;
    std::int64_t i = 0;
    bool overflow = false;    // an integer (from the environment) too large for 64 bits
    std::string s;            // string value, or the original text for messages
    bool b = false;
    std::string type_name;    // "a string", "an array" ... for type errors
    std::string shown;        // how the value appears in a message
};

std::string type_name(toml::node_type t) {
    switch (t) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a floating-point number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        default: return "nothing";
    }
}

raw from_node(const toml::node& n) {
    raw r;
    r.type_name = type_name(n.type());
    if (auto v = n.as_integer()) {
        r.t = raw::type::integer;
        r.i = v->get();
        r.shown = std::to_string(r.i);
    } else if (auto f = n.as_floating_point()) {
        r.t = raw::type::floating;
        std::ostringstream os;
        os << f->get();
        r.shown = os.str();
    } else if (auto s = n.as_string()) {
        r.t = raw::type::string;
        r.s = s->get();
        r.shown = detail::quote_for_message(r.s);
    } else if (auto b = n.as_boolean()) {
        r.t = raw::type::boolean;
        r.b = b->get();
        r.shown = r.b ? "true" : "false";
    } else {
        r.t = raw::type::other;
    }
    return r;
}

// from_env - environment text read as the kind the parameter wants, so that
// POLDER_DATABASE_PORT=5433 is an integer and POLDER_LOG_LEVEL=debug a string.
raw from_env(const parameter& p, const std::string& text) {
    raw r;
    r.s = text;
    r.shown = detail::quote_for_message(text);
    if (p.type == kind::integer) {
        std::string_view t = text;
        bool negative = !t.empty() && t.front() == '-';
        if (negative) t.remove_prefix(1);
        if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            r.t = raw::type::integer;
            std::uint64_t n = 0;
            for (char c : t) {
                const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
                if (n > (UINT64_MAX - d) / 10) { r.overflow = true; break; }
                n = n * 10 + d;
            }
            if (!r.overflow && n > static_cast<std::uint64_t>(INT64_MAX)) r.overflow = true;
            if (!r.overflow) r.i = negative ? -static_cast<std::int64_t>(n) : static_cast<std::int64_t>(n);
            r.shown = text;
            return r;
        }
        r.t = raw::type::string;
        r.type_name = "a string";
        return r;
    }
    if (p.type == kind::boolean) {
        std::string lower;
        for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
            r.t = raw::type::boolean;
            r.b = true;
            return r;
        }
        if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
            r.t = raw::type::boolean;
            r.b = false;
            return r;
        }
        r.t = raw::type::string;
        r.type_name = "a string";
        return r;
    }
    r.t = raw::type::string;
    r.type_name = "a string";
    return r;
}

bool is_ip_literal(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// is_host_name - RFC 1123 section 2.1: dot-separated labels of letters, digits and
// hyphens, 1..63 each, not starting or ending with a hyphen; 253 in total.
bool is_host_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = s.find('.', start);
        std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
        }
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

// is_section - true when some parameter lives under path (so path must be a table).
bool is_section(std::string_view path) {
    for (const auto& p : parameters()) {
        if (p.key.size() > path.size() && p.key.compare(0, path.size(), path) == 0 &&
            p.key[path.size()] == '.') {
            return true;
        }
    }
    return false;
}

std::string suggestion(std::string_view path) {
    std::string best;
    std::size_t best_d = 4;   // suggest only near misses: typos, not guesses
    auto consider = [&](std::string_view candidate) {
        std::size_t d = edit_distance(path, candidate);
        if (d < best_d && d * 3 <= candidate.size()) {
            best_d = d;
            best = candidate;
        }
    };
    for (const auto& p : parameters()) {
        consider(p.key);
        for (std::size_t dot = p.key.find('.'); dot != std::string::npos; dot = p.key.find('.', dot + 1)) {
            consider(std::string_view(p.key).substr(0, dot));
        }
    }
    return best.empty() ? std::string{} : " (did you mean " + best + "?)";
}

// key_text - a TOML key as it would be written: bare if possible, else quoted, so a key
// like "a.b" (one quoted key containing a dot) never passes for the path a.b.
std::string key_text(std::string_view k) {
    bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    return bare ? std::string(k) : detail::quote_for_message(k);
}

class loader {
 public:
    explicit loader(fs::path base_dir) : base_(std::move(base_dir)) {}

    std::vector<std::string> problems;
    settings s;

    void load_document(const toml::table& doc) {
        for (const auto& p : parameters()) {
            const toml::node* n = find(doc, p.key);
            if (n != nullptr) apply(p, from_node(*n), "");
        }
        walk(doc, "");
    }

    void load_env(const std::map<std::string, std::string>& env) {
        for (const auto& p : parameters()) {
            auto it = env.find(p.env_name());
            if (it != env.end()) apply(p, from_env(p, it->second), " (from " + it->first + ")");
        }
    }

    void validate() {
        // tls: a certificate is useless without its key and the reverse.
        if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
            if (s.tls.key_file.empty()) {
                problem("tls.key_file", "must be set when tls.cert_file is set");
            } else {
                problem("tls.cert_file", "must be set when tls.key_file is set");
            }
        }
        // libargon2 (ARGON2_MIN_MEMORY): memory must be at least 8 KiB per lane.
        const std::uint64_t min_memory = 8ull * s.auth.argon2_parallelism;
        if (s.auth.argon2_memory_kib < min_memory) {
            problem("auth.argon2_memory_kib",
                    "must be at least 8 per lane (" + std::to_string(min_memory) +
                        " for auth.argon2_parallelism = " + std::to_string(s.auth.argon2_parallelism) +
                        "), got " + std::to_string(s.auth.argon2_memory_kib));
        }
        if (!is_host_name(s.smtp.hostname)) {
            problem("smtp.hostname", "must be a host name (letters, digits, hyphens, dots), got " +
                                         detail::quote_for_message(s.smtp.hostname));
        }
        for (const auto& [key, host] : {std::pair{"clients.imap_host", &s.clients.imap_host},
                                        std::pair{"clients.submission_host", &s.clients.submission_host},
                                        std::pair{"clients.dav_host", &s.clients.dav_host}}) {
            if (!host->empty() && !is_host_name(*host))
                problem(key, "must be a host name (letters, digits, hyphens, dots), got " +
                                 detail::quote_for_message(*host));
        }
        if (s.clients.imap_host.empty() && (!s.clients.submission_host.empty() || !s.clients.dav_host.empty()))
            problem("clients.imap_host", "must be set when clients.submission_host or clients.dav_host is");
        if (std::any_of(s.clients.provider_name.begin(), s.clients.provider_name.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
            problem("clients.provider_name", "must not contain control characters");
        // smtp.routes: "domain=host:port" entries separated by commas.
        for (std::string_view rest = s.smtp.routes; !rest.empty();) {
            const auto comma = rest.find(',');
            std::string_view entry = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
            while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
            const auto eq = entry.find('=');
            const auto colon = entry.rfind(':');
            bool ok = eq != std::string_view::npos && colon != std::string_view::npos && colon > eq + 1 &&
                      is_host_name(entry.substr(0, eq)) && is_host_name(entry.substr(eq + 1, colon - eq - 1));
            const auto port = ok ? entry.substr(colon + 1) : std::string_view{};
            ok = ok && !port.empty() && port.size() <= 5 &&
                 port.find_first_not_of("0123456789") == std::string_view::npos && std::stoul(std::string(port)) >= 1 &&
                 std::stoul(std::string(port)) <= 65535;
            if (!ok) {
                problem("smtp.routes", "each entry must be domain=host:port, got " +
                                           detail::quote_for_message(std::string(entry)));
                break;
            }
        }
        if (!s.smtp.smarthost.empty()) {
            const std::string_view sh = s.smtp.smarthost;
            const auto colon = sh.rfind(':');
            const auto port = colon == std::string_view::npos ? std::string_view{} : sh.substr(colon + 1);
            const bool ok = colon != std::string_view::npos && is_host_name(sh.substr(0, colon)) && !port.empty() &&
                            port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos &&
                            std::stoul(std::string(port)) >= 1 && std::stoul(std::string(port)) <= 65535;
            if (!ok) problem("smtp.smarthost", "must be host:port, got " + detail::quote_for_message(s.smtp.smarthost));
        }
        if (!s.smtp.dns_resolver.empty()) {
            // "ip", "ip:port" or "[ipv6]:port"; a bare IPv6 literal has several colons.
            std::string host = s.smtp.dns_resolver, port;
            if (host.front() == '[') {
                const auto close = host.find(']');
                if (close != std::string::npos && close + 1 < host.size() && host[close + 1] == ':')
                    port = host.substr(close + 2);
                host = close == std::string::npos ? std::string{} : host.substr(1, close - 1);
            } else if (std::count(host.begin(), host.end(), ':') == 1) {
                port = host.substr(host.find(':') + 1);
                host.resize(host.find(':'));
            }
            unsigned char buf[16];
            bool ok = inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
            if (ok && !port.empty())
                ok = port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos &&
                     std::stoul(port) >= 1 && std::stoul(port) <= 65535;
            if (!ok)
                problem("smtp.dns_resolver", "must be an IP address with an optional :port, got " +
                                                 detail::quote_for_message(s.smtp.dns_resolver));
        }
        if (s.smtp.smarthost_user.empty() != s.smtp.smarthost_password.empty())
            problem("smtp.smarthost_user", "smtp.smarthost_user and smtp.smarthost_password must be set together");
        else if (!s.smtp.smarthost_user.empty() && s.smtp.smarthost.empty())
            problem("smtp.smarthost_user", "needs smtp.smarthost");
        check_port_clashes();
        for (const auto& [svc, c] : {std::pair<const char*, const service_common*>{"smtp", &s.smtp.common},
                                     {"imap", &s.imap.common},
                                     {"caldav", &s.caldav.common},
                                     {"webdav", &s.webdav.common}}) {
            std::vector<address_prefix> prefixes;
            if (std::string bad; !parse_prefixes(c->proxy_protocol_from, prefixes, &bad))
                problem(std::string(svc) + ".proxy_protocol_from",
                        "must list IP addresses or CIDR prefixes (host bits zero) separated by commas, got " +
                            detail::quote_for_message(bad));
        }
        for (const auto& p : parameters()) {
            if (p.type != kind::path) continue;
            auto& v = std::get<string_ref>(p.ref)(s);
            if (!v.empty() && fs::path(v).is_relative()) v = (base_ / v).lexically_normal().string();
        }
    }

    void problem(const std::string& key, const std::string& what, const std::string& where = "") {
        problems.push_back(key + ": " + what + where);
    }

    static const toml::node* find(const toml::table& doc, std::string_view key) {
        const toml::table* t = &doc;
        while (true) {
            std::size_t dot = key.find('.');
            const toml::node* n = t->get(key.substr(0, dot));
            if (n == nullptr || dot == std::string_view::npos) return n;
            t = n->as_table();
            if (t == nullptr) return nullptr;   // reported by walk() as "must be a table"
            key.remove_prefix(dot + 1);
        }
    }

 private:
    void walk(const toml::table& t, const std::string& prefix) {
        for (auto&& [k, node] : t) {
            const std::string path = (prefix.empty() ? "" : prefix + ".") + key_text(k.str());
            if (find_parameter(path) != nullptr) continue;   // checked in load_document()
            if (is_section(path)) {
                if (const toml::table* sub = node.as_table()) {
                    walk(*sub, path);
                } else {
                    problem(path, "must be a table, got " + type_name(node.type()));
                }
                continue;
            }
            problem(path, "unknown key" + suggestion(path));
        }
    }

    static std::string bound_text(const parameter& p, std::uint64_t v) {
        return p.type == kind::size ? format_size(v) : std::to_string(v);
    }

    void apply(const parameter& p, const raw& r, const std::string& where) {
        switch (p.type) {
            case kind::boolean:
                if (r.t != raw::type::boolean) return type_error(p, "a boolean (true or false)", r, where);
                std::get<bool_ref>(p.ref)(s) = r.b;
                return;
            case kind::integer:
                if (r.t != raw::type::integer) return type_error(p, "an integer", r, where);
                return set_number(p, r, where);
            case kind::size:
                if (r.t == raw::type::integer) return set_number(p, r, where);
                if (r.t == raw::type::string) {
                    std::uint64_t n = 0;
                    if (!parse_size(r.s, n)) {
                        return problem(p.key,
                                       "must be a size such as 50M, 10G or a number of bytes, got " + r.shown,
                                       where);
                    }
                    raw sized;
                    sized.t = raw::type::integer;
                    sized.overflow = n > static_cast<std::uint64_t>(INT64_MAX);
                    sized.i = sized.overflow ? 0 : static_cast<std::int64_t>(n);
                    sized.shown = format_size(n);
                    return set_number(p, sized, where);
                }
                return type_error(p, "a size (an integer or a string such as \"50M\")", r, where);
            case kind::string:
            case kind::path:
            case kind::address:
            case kind::choice:
                if (r.t != raw::type::string) return type_error(p, "a string", r, where);
                return set_string(p, r, where);
        }
    }

    void type_error(const parameter& p, const std::string& wanted, const raw& r, const std::string& where) {
        std::string got = r.type_name;
        if (!r.shown.empty()) got += " (" + r.shown + ")";
        problem(p.key, "must be " + wanted + ", got " + got, where);
    }

    void set_number(const parameter& p, const raw& r, const std::string& where) {
        if (r.overflow || r.i < 0 || static_cast<std::uint64_t>(r.i) < p.min ||
            static_cast<std::uint64_t>(r.i) > p.max) {
            return problem(p.key,
                           "must be between " + bound_text(p, p.min) + " and " + bound_text(p, p.max) +
                               ", got " + (p.type == kind::size && r.i >= 0 && !r.overflow
                                               ? format_size(static_cast<std::uint64_t>(r.i))
                                               : r.shown),
                           where);
        }
        const auto v = static_cast<std::uint64_t>(r.i);
        // The table's bounds never exceed the member's type (checked by a unit test).
        std::visit(
            [&](auto ref) {
                auto& m = ref(s);
                using M = std::decay_t<decltype(m)>;
                if constexpr (std::is_integral_v<M> && !std::is_same_v<M, bool>) m = static_cast<M>(v);
            },
            p.ref);
    }

    void set_string(const parameter& p, const raw& r, const std::string& where) {
        const std::string& v = r.s;
        if (v.find('\0') != std::string::npos) return problem(p.key, "must not contain a NUL character", where);
        if (p.type == kind::address) {
            if (!is_ip_literal(v)) {
                return problem(p.key, "must be an IPv4 or IPv6 address, got " + r.shown, where);
            }
        } else if (p.type == kind::choice) {
            if (std::find(p.choices.begin(), p.choices.end(), v) == p.choices.end()) {
                std::string list;
                for (auto c : p.choices) list += (list.empty() ? "" : ", ") + std::string(c);
                return problem(p.key, "must be one of " + list + ", got " + r.shown, where);
            }
        } else {
            if (v.size() < p.min) {
                return problem(p.key,
                               p.min == 1 ? "must not be empty"
                                          : "must be at least " + std::to_string(p.min) + " characters long",
                               where);
            }
            if (v.size() > p.max) {
                return problem(p.key,
                               "must be at most " + std::to_string(p.max) + " characters long, got " +
                                   std::to_string(v.size()),
                               where);
            }
        }
        std::get<string_ref>(p.ref)(s) = v;
    }

    struct endpoint {
        std::string key;
        std::string address;
        std::uint16_t port;
    };

    static bool overlaps(const std::string& a, const std::string& b) {
        if (a == b) return true;
        const bool a6 = a.find(':') != std::string::npos, b6 = b.find(':') != std::string::npos;
        // "::" is dual-stack on Linux by default (net.ipv6.bindv6only = 0): it takes IPv4 too.
        if (a == "::" || b == "::") return true;
        if (a == "0.0.0.0") return !b6;
        if (b == "0.0.0.0") return !a6;
        return false;
    }

    // check_port_clashes - two enabled listeners (or admin listeners) on one port would make
    // the second service fail at bind time; say so now, naming both keys.
    void check_port_clashes() {
        std::vector<endpoint> eps;
        auto add = [&](const std::string& key, const std::string& addr, std::uint16_t port) {
            if (port != 0) eps.push_back({key, addr, port});
        };
        auto common = [&](const std::string& svc, const service_common& c) {
            add(svc + ".admin_port", c.admin_address, c.admin_port);
        };
        auto lst = [&](const std::string& key, const listener& l) { add(key + ".port", l.address, l.port); };
        common("smtp", s.smtp.common);
        lst("smtp.mx", s.smtp.mx);
        lst("smtp.submission", s.smtp.submission);
        lst("smtp.submissions", s.smtp.submissions);
        common("imap", s.imap.common);
        lst("imap.imap", s.imap.imap);
        lst("imap.imaps", s.imap.imaps);
        common("caldav", s.caldav.common);
        lst("caldav.https", s.caldav.https);
        lst("caldav.http", s.caldav.http);
        common("webdav", s.webdav.common);
        lst("webdav.https", s.webdav.https);
        lst("webdav.http", s.webdav.http);
        for (std::size_t i = 0; i < eps.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (eps[i].port == eps[j].port && overlaps(eps[i].address, eps[j].address)) {
                    problem(eps[i].key, "port " + std::to_string(eps[i].port) + " is also used by " + eps[j].key);
                    break;
                }
            }
        }
    }

    fs::path base_;
};

std::variant<settings, load_error> load_text(std::string_view text, const std::string& source,
                                             const fs::path& base_dir,
                                             const std::map<std::string, std::string>& env,
                                             std::string source_path) {
    load_error err;
    if (text.size() > max_file_size) {
        err.problems.push_back(source + ": larger than 1 MiB; not a Polder config file?");
        return err;
    }
    std::error_code ec;
    fs::path base = base_dir.empty() ? fs::current_path(ec) : fs::absolute(base_dir, ec);
    if (ec) base = base_dir;
    loader l(base.lexically_normal());
    try {
        toml::table doc = toml::parse(text, source);
        l.load_document(doc);
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        err.problems.push_back(source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                               ": TOML syntax error: " + std::string(e.description()));
        return err;
    }
    l.load_env(env);
    l.validate();
    if (!l.problems.empty()) {
        err.problems = std::move(l.problems);
        return err;
    }
    l.s.source_path = std::move(source_path);
    return std::move(l.s);
}

std::map<std::string, std::string> process_env() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view kv(*e);
        if (kv.rfind("POLDER_", 0) != 0) continue;
        auto eq = kv.find('=');
        if (eq == std::string_view::npos) continue;
        env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    return env;
}

}  // namespace

std::variant<settings, load_error> load(const std::filesystem::path& file) {
    std::error_code ec;
    fs::path abs = fs::absolute(file, ec);
    if (ec) abs = file;
    abs = abs.lexically_normal();
    const std::string name = abs.string();

    load_error err;
    auto os_error = [&](int e) {
        err.problems.push_back(name + ": cannot read: " + std::strerror(e));
        return err;
    };
    // O_NONBLOCK: a FIFO given by mistake must not hang start-up; it is refused below.
    int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return os_error(errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return os_error(e);
    }
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        ::close(fd);
        if (S_ISDIR(st.st_mode)) return os_error(EISDIR);
        err.problems.push_back(name + ": cannot read: not a regular file");
        return err;
    }
    std::string text;
    char buf[16384];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            return os_error(e);
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > max_file_size) break;   // load_text reports it
    }
    ::close(fd);
    return load_text(text, name, abs.parent_path(), process_env(), name);
}

std::variant<std::vector<std::string>, load_error> present_keys(std::string_view toml) {
    try {
        const toml::table doc = toml::parse(toml, std::string_view("config"));
        std::vector<std::string> keys;
        for (const auto& p : parameters()) {
            if (loader::find(doc, p.key) != nullptr) keys.push_back(p.key);
        }
        return keys;
    } catch (const toml::parse_error& e) {
        const auto& b = e.source().begin;
        return load_error{{"config:" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                           ": TOML syntax error: " + std::string(e.description())}};
    }
}

std::variant<settings, load_error> load_string(std::string_view toml, const std::filesystem::path& base_dir,
                                               const std::map<std::string, std::string>& env) {
    return load_text(toml, "config", base_dir, env, "");
}

}  // namespace polder::config
