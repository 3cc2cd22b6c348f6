// response_code.cpp - formatting of response codes.
//
// SECURITY: list items that must be atoms (capabilities, flags, charsets) are written as
// atoms only when they are atoms; a charset that is not an atom is quoted (RFC 9051 allows
// astring there), any other non-atom list item is dropped so it cannot break the line.
// STANDARDS: RFC 9051 section 7.1, RFC 5530, RFC 4315, RFC 7162, RFC 4978, RFC 6154.
#include "polder/imap/proto/response_code.hpp"

#include "polder/imap/proto/types.hpp"
#include "polder/imap/proto/wire.hpp"

namespace polder::imap::proto {

std::string_view status_name(response_status s) noexcept {
    switch (s) {
    case response_status::ok: return "OK";
    case response_status::no: return "NO";
    case response_status::bad: return "BAD";
    case response_status::preauth: return "PREAUTH";
    case response_status::bye: return "BYE";
    }
    return "BAD";
}

response_code response_code::permanentflags(std::vector<std::string> flags) {
    response_code c{code_kind::permanentflags};
    c.list = std::move(flags);
    return c;
}

response_code response_code::capability(std::vector<std::string> caps) {
    response_code c{code_kind::capability};
    c.list = std::move(caps);
    return c;
}

response_code response_code::badcharset(std::vector<std::string> charsets) {
    response_code c{code_kind::badcharset};
    c.list = std::move(charsets);
    return c;
}

response_code response_code::appenduid(std::uint32_t uidvalidity, std::span<const std::uint32_t> uids) {
    response_code c{code_kind::appenduid};
    c.number = uidvalidity;
    c.set = compress_numbers_in_order(uids);
    return c;
}

response_code response_code::copyuid(std::uint32_t uidvalidity, std::span<const std::uint32_t> source,
                                     std::span<const std::uint32_t> destination) {
    response_code c{code_kind::copyuid};
    c.number = uidvalidity;
    c.set = compress_numbers_in_order(source);
    c.set2 = compress_numbers_in_order(destination);
    return c;
}

response_code response_code::modified(std::span<const std::uint32_t> numbers) {
    response_code c{code_kind::modified};
    c.set = compress_numbers(numbers);
    return c;
}

namespace {

std::string_view code_name(code_kind k) {
    switch (k) {
    case code_kind::alert: return "ALERT";
    case code_kind::alreadyexists: return "ALREADYEXISTS";
    case code_kind::appenduid: return "APPENDUID";
    case code_kind::authenticationfailed: return "AUTHENTICATIONFAILED";
    case code_kind::authorizationfailed: return "AUTHORIZATIONFAILED";
    case code_kind::badcharset: return "BADCHARSET";
    case code_kind::cannot: return "CANNOT";
    case code_kind::capability: return "CAPABILITY";
    case code_kind::clientbug: return "CLIENTBUG";
    case code_kind::closed: return "CLOSED";
    case code_kind::compressionactive: return "COMPRESSIONACTIVE";
    case code_kind::contactadmin: return "CONTACTADMIN";
    case code_kind::copyuid: return "COPYUID";
    case code_kind::corruption: return "CORRUPTION";
    case code_kind::expired: return "EXPIRED";
    case code_kind::expungeissued: return "EXPUNGEISSUED";
    case code_kind::haschildren: return "HASCHILDREN";
    case code_kind::highestmodseq: return "HIGHESTMODSEQ";
    case code_kind::inuse: return "INUSE";
    case code_kind::limit: return "LIMIT";
    case code_kind::modified: return "MODIFIED";
    case code_kind::nomodseq: return "NOMODSEQ";
    case code_kind::nonexistent: return "NONEXISTENT";
    case code_kind::noperm: return "NOPERM";
    case code_kind::notsaved: return "NOTSAVED";
    case code_kind::overquota: return "OVERQUOTA";
    case code_kind::parse: return "PARSE";
    case code_kind::permanentflags: return "PERMANENTFLAGS";
    case code_kind::privacyrequired: return "PRIVACYREQUIRED";
    case code_kind::read_only: return "READ-ONLY";
    case code_kind::read_write: return "READ-WRITE";
    case code_kind::serverbug: return "SERVERBUG";
    case code_kind::toobig: return "TOOBIG";
    case code_kind::trycreate: return "TRYCREATE";
    case code_kind::uidnext: return "UIDNEXT";
    case code_kind::uidnotsticky: return "UIDNOTSTICKY";
    case code_kind::uidvalidity: return "UIDVALIDITY";
    case code_kind::unavailable: return "UNAVAILABLE";
    case code_kind::unknown_cte: return "UNKNOWN-CTE";
    case code_kind::unseen: return "UNSEEN";
    case code_kind::useattr: return "USEATTR";
    }
    return "ALERT";
}

bool is_flag_text(std::string_view f) {
    if (f == "\\*") return true;
    if (!f.empty() && f[0] == '\\') f.remove_prefix(1);
    return is_atom(f);
}

}  // namespace

std::string format_response_code(const response_code& code) {
    std::string out = "[";
    out += code_name(code.kind);
    switch (code.kind) {
    case code_kind::uidvalidity:
    case code_kind::uidnext:
    case code_kind::unseen:
    case code_kind::highestmodseq:
        out += ' ';
        out += std::to_string(code.number);
        break;
    case code_kind::appenduid:
        out += ' ';
        out += std::to_string(code.number);
        out += ' ';
        out += code.set;
        break;
    case code_kind::copyuid:
        out += ' ';
        out += std::to_string(code.number);
        out += ' ';
        out += code.set;
        out += ' ';
        out += code.set2;
        break;
    case code_kind::modified:
        out += ' ';
        out += code.set;
        break;
    case code_kind::capability:
        for (const auto& c : code.list)
            if (is_atom(c)) {
                out += ' ';
                out += c;
            }
        break;
    case code_kind::permanentflags: {
        out += " (";
        bool first = true;
        for (const auto& f : code.list) {
            if (!is_flag_text(f)) continue;
            if (!first) out += ' ';
            first = false;
            out += f;
        }
        out += ')';
        break;
    }
    case code_kind::badcharset:
        if (!code.list.empty()) {
            out += " (";
            for (std::size_t i = 0; i < code.list.size(); ++i) {
                if (i) out += ' ';
                if (is_atom(code.list[i])) out += code.list[i];
                else append_quoted(out, sanitize_text(code.list[i], false));
            }
            out += ')';
        }
        break;
    default: break;
    }
    out += ']';
    return out;
}

}  // namespace polder::imap::proto
