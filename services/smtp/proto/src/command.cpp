// command.cpp - SMTP command line parser.
//
// SECURITY: single pass over a bounded line, no recursion; all replies are fixed text or
// short sanitised fragments. See command.hpp for the leniencies and the limits.
// STANDARDS: RFC 5321 §4.1.1, §4.1.2, appendix C; RFC 1870; RFC 6152; RFC 3030; RFC 6531;
// RFC 3461; RFC 4954; RFC 3207; RFC 3463.
#include "polder/smtp/proto/command.hpp"

#include <array>
#include <cctype>
#include <limits>
#include <vector>

namespace polder::smtp {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim_trailing_spaces(std::string_view s) {
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

std::string_view skip_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

parse_result fail(reply r, bool close = false) {
    parse_result p;
    p.error = std::move(r);
    p.close = close;
    return p;
}

parse_result ok(command c) {
    parse_result p;
    p.cmd = std::move(c);
    return p;
}

bool is_keyword_char(unsigned char c, bool first) {
    if (std::isalnum(c)) return true;
    return !first && c == '-';
}

// esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 when SMTPUTF8 is in effect (RFC 6531 §3.3).
bool valid_esmtp_value(std::string_view v, bool utf8) {
    if (v.empty()) return false;
    for (unsigned char c : v) {
        if (c >= 0x80) {
            if (!utf8) return false;
            continue;
        }
        if (c < 33 || c > 126 || c == '=') return false;
    }
    return !utf8 || is_valid_utf8(v);
}

std::optional<std::uint64_t> parse_size(std::string_view v, bool saturate) {
    if (v.empty() || v.size() > 20) return std::nullopt;
    std::uint64_t n = 0;
    for (unsigned char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        const std::uint64_t d = c - '0';
        if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
            if (!saturate) return std::nullopt;
            n = std::numeric_limits<std::uint64_t>::max();
            continue;
        }
        if (n != std::numeric_limits<std::uint64_t>::max()) n = n * 10 + d;
    }
    return n;
}

struct param { std::string_view keyword, value; bool has_value; };

// Splits "K1=V1 K2 K3=V3" into params; false on a grammar error.
bool split_params(std::string_view s, std::vector<param>& out, bool utf8) {
    s = skip_spaces(s);
    while (!s.empty()) {
        const std::size_t sp = s.find(' ');
        std::string_view tok = s.substr(0, sp);
        s = sp == std::string_view::npos ? std::string_view{} : skip_spaces(s.substr(sp));
        const std::size_t eq = tok.find('=');
        param p{tok.substr(0, eq), {}, eq != std::string_view::npos};
        if (p.keyword.empty() || p.keyword.size() > 64) return false;
        for (std::size_t i = 0; i < p.keyword.size(); ++i)
            if (!is_keyword_char(static_cast<unsigned char>(p.keyword[i]), i == 0)) return false;
        if (p.has_value) {
            p.value = tok.substr(eq + 1);
            if (!valid_esmtp_value(p.value, utf8)) return false;
        }
        if (out.size() >= 16) return false;   // more parameters than every extension together defines
        out.push_back(p);
    }
    return true;
}

// Finds the '>' closing a path that starts at s[0] == '<', skipping quoted-strings.
std::size_t find_path_end(std::string_view s) {
    bool quoted = false;
    for (std::size_t i = 1; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c == '\\') { ++i; continue; }
            if (c == '"') quoted = false;
            continue;
        }
        if (c == '"') { quoted = true; continue; }
        if (c == '>') return i;
    }
    return std::string_view::npos;
}

enum class path_kind { reverse, forward };

struct path_outcome {
    std::optional<mailbox> box;   // nullopt: null path "<>" (reverse) or <Postmaster> (forward, see postmaster)
    bool postmaster = false;
    std::optional<reply> error;
    std::string_view rest;        // after the closing '>'
};

reply address_reply(path_kind kind, address_error e) {
    if (e == address_error::non_ascii) return replies::non_ascii_address();
    const bool too_long = e == address_error::too_long;
    if (kind == path_kind::reverse)
        return {501, "5.1.7", too_long ? "Sender address too long" : "Bad sender address syntax"};
    return {501, "5.1.3", too_long ? "Recipient address too long" : "Bad recipient address syntax"};
}

// Path = "<" [ A-d-l ":" ] Mailbox ">"   (RFC 5321 §4.1.2)
path_outcome parse_path(std::string_view s, path_kind kind, bool utf8) {
    path_outcome out;
    if (s.empty() || s.front() != '<') {
        out.error = address_reply(kind, address_error::syntax);
        return out;
    }
    const std::size_t end = find_path_end(s);
    if (end == std::string_view::npos) {
        out.error = address_reply(kind, address_error::syntax);
        return out;
    }
    out.rest = s.substr(end + 1);
    if (!out.rest.empty() && out.rest.front() != ' ') {
        out.error = address_reply(kind, address_error::syntax);
        return out;
    }
    if (end + 1 > max_path) {
        out.error = address_reply(kind, address_error::too_long);
        return out;
    }
    std::string_view inner = s.substr(1, end - 1);
    if (inner.empty()) {
        if (kind == path_kind::forward) out.error = address_reply(kind, address_error::syntax);
        return out;
    }
    if (inner.front() == '@') {
        // A source route: validated as syntax, then ignored (RFC 5321 §4.1.1.3, appendix C).
        const std::size_t colon = inner.find(':');
        if (colon == std::string_view::npos) {
            out.error = address_reply(kind, address_error::syntax);
            return out;
        }
        std::string_view adl = inner.substr(0, colon);
        while (!adl.empty()) {
            if (adl.front() != '@') {
                out.error = address_reply(kind, address_error::syntax);
                return out;
            }
            const std::size_t comma = adl.find(',');
            const std::string_view dom = adl.substr(1, comma == std::string_view::npos ? std::string_view::npos : comma - 1);
            const bool ok = (!dom.empty() && dom.front() == '[') ? is_valid_address_literal(dom) : is_valid_domain(dom, utf8);
            if (!ok) {
                out.error = address_reply(kind, address_error::syntax);
                return out;
            }
            adl = comma == std::string_view::npos ? std::string_view{} : adl.substr(comma + 1);
            if (comma != std::string_view::npos && adl.empty()) {
                out.error = address_reply(kind, address_error::syntax);
                return out;
            }
        }
        inner = inner.substr(colon + 1);
    }
    if (kind == path_kind::forward && iequals(inner, "postmaster")) {
        mailbox m;
        m.local_part = std::string(inner);
        m.local_value = m.local_part;
        out.box = std::move(m);
        out.postmaster = true;
        return out;
    }
    auto r = parse_mailbox(inner, utf8);
    if (!r) {
        out.error = address_reply(kind, r.error);
        return out;
    }
    out.box = std::move(r.value);
    return out;
}

parse_result bad_param(std::string text) { return fail(replies::syntax(std::move(text))); }

parse_result parse_mail(std::string_view args, const parse_options& o) {
    if (!istarts_with(args, "FROM:")) return fail(replies::syntax("Syntax: MAIL FROM:<address>"));
    std::string_view s = skip_spaces(args.substr(5));
    // Parameters first: SMTPUTF8 among them decides whether the path may carry UTF-8.
    const std::size_t gt = s.empty() || s.front() != '<' ? std::string_view::npos : find_path_end(s);
    if (gt != std::string_view::npos && gt + 1 < s.size() && s[gt + 1] != ' ')
        return fail(address_reply(path_kind::reverse, address_error::syntax));
    std::vector<param> params;
    if (gt != std::string_view::npos && !split_params(s.substr(gt + 1), params, o.ext.smtputf8))
        return bad_param("Syntax error in MAIL parameters");
    mail_command cmd;
    bool seen_size = false, seen_body = false, seen_utf8 = false, seen_ret = false, seen_envid = false, seen_auth = false;
    for (const auto& p : params) {
        const auto dup = [&](bool& seen) { const bool d = seen; seen = true; return d; };
        if (!o.esmtp) return fail(replies::unsupported_parameter(p.keyword));
        if (iequals(p.keyword, "SIZE") && o.ext.size) {
            if (dup(seen_size)) return bad_param("Duplicate SIZE parameter");
            auto n = p.has_value ? parse_size(p.value, true) : std::nullopt;
            if (!n) return bad_param("Syntax: SIZE=<decimal octets>");
            cmd.params.size = n;
        } else if (iequals(p.keyword, "BODY") && o.ext.eightbitmime) {
            if (dup(seen_body)) return bad_param("Duplicate BODY parameter");
            if (p.has_value && iequals(p.value, "7BIT")) cmd.params.body = body_type::seven_bit;
            else if (p.has_value && iequals(p.value, "8BITMIME")) cmd.params.body = body_type::eight_bit_mime;
            else if (p.has_value && iequals(p.value, "BINARYMIME") && o.ext.binarymime && o.ext.chunking)
                cmd.params.body = body_type::binary_mime;
            else return bad_param(o.ext.binarymime && o.ext.chunking ? "Syntax: BODY=7BIT|8BITMIME|BINARYMIME"
                                                                     : "Syntax: BODY=7BIT|8BITMIME");
        } else if (iequals(p.keyword, "SMTPUTF8") && o.ext.smtputf8) {
            if (dup(seen_utf8)) return bad_param("Duplicate SMTPUTF8 parameter");
            if (p.has_value) return bad_param("SMTPUTF8 takes no value");
            cmd.params.smtputf8 = true;
        } else if (iequals(p.keyword, "RET") && o.ext.dsn) {
            if (dup(seen_ret)) return bad_param("Duplicate RET parameter");
            if (p.has_value && iequals(p.value, "FULL")) cmd.params.ret = dsn_ret::full;
            else if (p.has_value && iequals(p.value, "HDRS")) cmd.params.ret = dsn_ret::headers;
            else return bad_param("Syntax: RET=FULL|HDRS");
        } else if (iequals(p.keyword, "ENVID") && o.ext.dsn) {
            if (dup(seen_envid)) return bad_param("Duplicate ENVID parameter");
            if (!p.has_value || p.value.size() > max_envid) return bad_param("Syntax: ENVID=<xtext, at most 100 characters>");
            auto v = xtext_decode(p.value);
            if (!v) return bad_param("ENVID is not valid xtext");
            cmd.params.envid = std::move(v);
        } else if (iequals(p.keyword, "AUTH") && o.ext.auth) {
            if (dup(seen_auth)) return bad_param("Duplicate AUTH parameter");
            if (!p.has_value || p.value.size() > max_auth_param) return bad_param("Syntax: AUTH=<xtext mailbox>|<>");
            auto v = xtext_decode(p.value);
            if (!v) return bad_param("AUTH parameter is not valid xtext");
            cmd.params.auth = std::move(v);
        } else {
            return fail(replies::unsupported_parameter(p.keyword));
        }
    }
    const bool utf8 = cmd.params.smtputf8;
    auto path = parse_path(s, path_kind::reverse, utf8);
    if (path.error) return fail(std::move(*path.error));
    if (gt == std::string_view::npos) return fail(address_reply(path_kind::reverse, address_error::syntax));
    cmd.reverse_path = std::move(path.box);
    return ok(std::move(cmd));
}

parse_result parse_rcpt(std::string_view args, const parse_options& o) {
    if (!istarts_with(args, "TO:")) return fail(replies::syntax("Syntax: RCPT TO:<address>"));
    std::string_view s = skip_spaces(args.substr(3));
    auto path = parse_path(s, path_kind::forward, o.utf8_transaction);
    if (path.error) return fail(std::move(*path.error));
    std::vector<param> params;
    if (!split_params(path.rest, params, o.utf8_transaction)) return bad_param("Syntax error in RCPT parameters");
    rcpt_command cmd;
    cmd.forward_path = std::move(*path.box);
    cmd.postmaster = path.postmaster;
    for (const auto& p : params) {
        if (!o.esmtp) return fail(replies::unsupported_parameter(p.keyword));
        if (iequals(p.keyword, "NOTIFY") && o.ext.dsn) {
            if (cmd.params.notify) return bad_param("Duplicate NOTIFY parameter");
            if (!p.has_value) return bad_param("Syntax: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY");
            dsn_notify n;
            std::string_view list = p.value;
            while (true) {
                const std::size_t comma = list.find(',');
                const std::string_view item = list.substr(0, comma);
                bool* flag = iequals(item, "NEVER")     ? &n.never
                             : iequals(item, "SUCCESS") ? &n.success
                             : iequals(item, "FAILURE") ? &n.failure
                             : iequals(item, "DELAY")   ? &n.delay
                                                        : nullptr;
                if (!flag || *flag) return bad_param("Syntax: NOTIFY=NEVER|SUCCESS,FAILURE,DELAY");
                *flag = true;
                if (comma == std::string_view::npos) break;
                list = list.substr(comma + 1);
            }
            if (n.never && (n.success || n.failure || n.delay))
                return bad_param("NOTIFY=NEVER cannot be combined with other values");
            cmd.params.notify = n;
        } else if (iequals(p.keyword, "ORCPT") && o.ext.dsn) {
            if (cmd.params.orcpt) return bad_param("Duplicate ORCPT parameter");
            if (!p.has_value || p.value.size() > max_orcpt) return bad_param("Syntax: ORCPT=addr-type;xtext");
            const std::size_t semi = p.value.find(';');
            if (semi == std::string_view::npos || semi == 0) return bad_param("Syntax: ORCPT=addr-type;xtext");
            const std::string_view type = p.value.substr(0, semi);
            for (unsigned char c : type)
                if (!(std::isalnum(c) || c == '-')) return bad_param("ORCPT address type is not an atom");
            auto v = xtext_decode(p.value.substr(semi + 1));
            if (!v || v->empty()) return bad_param("ORCPT address is not valid xtext");
            cmd.params.orcpt = original_recipient{std::string(type), std::move(*v)};
        } else {
            return fail(replies::unsupported_parameter(p.keyword));
        }
    }
    return ok(std::move(cmd));
}

parse_result parse_hello(std::string_view args, bool extended) {
    const std::string_view word = args.substr(0, args.find(' '));
    if (word.empty()) return fail(replies::syntax(extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
    if (word.size() > max_domain + 2 || !is_valid_utf8(word)) return fail(replies::syntax("Invalid hostname"));
    hello_command h;
    h.extended = extended;
    h.domain = std::string(word);
    if (word.front() == '[') {
        h.address_literal = true;
        h.well_formed = is_valid_address_literal(word);
    } else {
        h.well_formed = is_valid_domain(word, true);
    }
    return ok(std::move(h));
}

parse_result parse_bdat(std::string_view args) {
    const std::size_t sp = args.find(' ');
    const auto n = parse_size(args.substr(0, sp), false);
    if (!n) return fail(replies::syntax("Syntax: BDAT <chunk-size> [LAST]"));
    bdat_command b;
    b.size = *n;
    if (sp != std::string_view::npos) {
        if (!iequals(args.substr(sp + 1), "LAST")) return fail(replies::syntax("Syntax: BDAT <chunk-size> [LAST]"));
        b.last = true;
    }
    return ok(b);
}

parse_result parse_auth(std::string_view args) {
    const std::size_t sp = args.find(' ');
    const std::string_view mech = args.substr(0, sp);
    if (mech.empty() || mech.size() > 20) return fail(replies::syntax("Syntax: AUTH mechanism [initial-response]"));
    for (unsigned char c : mech)
        if (!(std::isalnum(c) || c == '-' || c == '_')) return fail(replies::syntax("Invalid SASL mechanism name"));
    auth_command a;
    a.mechanism = upper(mech);
    if (sp != std::string_view::npos) {
        const std::string_view ir = args.substr(sp + 1);
        if (ir.empty() || ir.find(' ') != std::string_view::npos)
            return fail(replies::syntax("Syntax: AUTH mechanism [initial-response]"));
        a.initial_response = std::string(ir);
    }
    return ok(std::move(a));
}

// Verbs of other protocols: a browser, an HTTP proxy probe, a POP3 client.
constexpr std::array<std::string_view, 9> foreign_verbs{"GET", "POST", "HEAD", "PUT", "CONNECT",
                                                          "OPTIONS", "DELETE", "USER", "PASS"};

}  // namespace

parse_result parse_command(std::string_view line, const parse_options& o) {
    for (unsigned char c : line)
        if (c < 0x20 || c == 0x7f) return fail({500, "5.5.2", "Invalid character in command"});
    const std::size_t sp = line.find(' ');
    const std::string_view verb = line.substr(0, sp);
    const std::string_view args = sp == std::string_view::npos ? std::string_view{} : trim_trailing_spaces(line.substr(sp + 1));
    const bool no_args = args.empty();

    const std::size_t limit = iequals(verb, "AUTH") ? max_auth_line
                              : (iequals(verb, "MAIL") || iequals(verb, "RCPT")) ? max_mail_rcpt_line
                                                                                 : max_command_line;
    if (line.size() > limit) return fail(replies::line_too_long());

    const auto need_no_args = [&](command c, std::string_view name) {
        if (!no_args) return fail(replies::syntax(std::string("Syntax: ") + std::string(name) + " takes no arguments"));
        return ok(std::move(c));
    };
    if (iequals(verb, "EHLO")) return parse_hello(args, true);
    if (iequals(verb, "HELO")) return parse_hello(args, false);
    if (iequals(verb, "MAIL")) return parse_mail(args, o);
    if (iequals(verb, "RCPT")) return parse_rcpt(args, o);
    if (iequals(verb, "DATA")) return need_no_args(data_command{}, "DATA");
    if (iequals(verb, "BDAT")) return parse_bdat(args);
    if (iequals(verb, "RSET")) return need_no_args(rset_command{}, "RSET");
    if (iequals(verb, "NOOP")) return ok(noop_command{});   // RFC 5321 §4.1.1.9: a string argument is ignored
    if (iequals(verb, "QUIT")) return need_no_args(quit_command{}, "QUIT");
    if (iequals(verb, "STARTTLS")) return need_no_args(starttls_command{}, "STARTTLS");
    if (iequals(verb, "AUTH")) return parse_auth(args);
    if (iequals(verb, "HELP")) return ok(help_command{std::string(args)});
    if (iequals(verb, "VRFY") || iequals(verb, "EXPN")) {
        if (no_args) return fail(replies::syntax(upper(verb) + " requires an argument"));
        if (iequals(verb, "VRFY")) return ok(vrfy_command{std::string(args)});
        return ok(expn_command{std::string(args)});
    }
    for (auto f : foreign_verbs)
        if (iequals(verb, f)) return fail({421, "4.7.0", "This is an SMTP server; closing connection"}, true);
    std::string shown;
    for (unsigned char c : verb.substr(0, 16)) shown.push_back(c < 0x80 ? static_cast<char>(c) : '?');
    return fail(replies::unrecognized(shown));
}

std::string_view command_name(const command& cmd) noexcept {
    struct visitor {
        std::string_view operator()(const hello_command& h) const { return h.extended ? "EHLO" : "HELO"; }
        std::string_view operator()(const mail_command&) const { return "MAIL"; }
        std::string_view operator()(const rcpt_command&) const { return "RCPT"; }
        std::string_view operator()(const data_command&) const { return "DATA"; }
        std::string_view operator()(const bdat_command&) const { return "BDAT"; }
        std::string_view operator()(const rset_command&) const { return "RSET"; }
        std::string_view operator()(const noop_command&) const { return "NOOP"; }
        std::string_view operator()(const quit_command&) const { return "QUIT"; }
        std::string_view operator()(const vrfy_command&) const { return "VRFY"; }
        std::string_view operator()(const expn_command&) const { return "EXPN"; }
        std::string_view operator()(const help_command&) const { return "HELP"; }
        std::string_view operator()(const starttls_command&) const { return "STARTTLS"; }
        std::string_view operator()(const auth_command&) const { return "AUTH"; }
    };
    return std::visit(visitor{}, cmd);
}

}  // namespace polder::smtp
