// polder/imap/proto/response_code.hpp - response status and response codes
// ("[UIDVALIDITY 3857529045]", "[NONEXISTENT]", ...).
//
// SECURITY: codes are built from typed values; free-form parts (ALERT text, BADCHARSET
// names, PERMANENTFLAGS) are sanitized or validated when written.
// STANDARDS: RFC 9051 section 7.1 (resp-text-code), RFC 3501 7.1, RFC 5530 (IMAP response
// codes), RFC 4315 (APPENDUID, COPYUID, UIDNOTSTICKY), RFC 7162 (HIGHESTMODSEQ, NOMODSEQ,
// MODIFIED, CLOSED), RFC 4978 (COMPRESSIONACTIVE), RFC 6154 (USEATTR), RFC 7889 (TOOBIG
// for APPENDLIMIT), RFC 4469/9051 (TOOBIG).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace polder::imap::proto {

enum class response_status { ok, no, bad, preauth, bye };
std::string_view status_name(response_status s) noexcept;

enum class code_kind {
    alert,
    alreadyexists,
    appenduid,             // number = uidvalidity, set = uids
    authenticationfailed,
    authorizationfailed,
    badcharset,            // list = supported charsets (may be empty)
    cannot,
    capability,            // list = capabilities
    clientbug,
    closed,
    compressionactive,
    contactadmin,
    copyuid,               // number = uidvalidity, set = source uids, set2 = destination uids
    corruption,
    expired,
    expungeissued,
    haschildren,
    highestmodseq,         // number
    inuse,
    limit,
    modified,              // set = failed message numbers/UIDs
    nomodseq,
    nonexistent,
    noperm,
    notsaved,
    overquota,
    parse,
    permanentflags,        // list = flags (may include "\*")
    privacyrequired,
    read_only,
    read_write,
    serverbug,
    toobig,
    trycreate,
    uidnext,               // number
    uidnotsticky,
    uidvalidity,           // number
    unavailable,
    unknown_cte,
    unseen,                // number (IMAP4rev1 only)
    useattr,
};

struct response_code {
    code_kind kind = code_kind::alert;
    std::uint64_t number = 0;
    std::vector<std::string> list;
    std::string set;   // formatted sequence/UID set
    std::string set2;

    response_code() = default;
    explicit response_code(code_kind k) : kind(k) {}

    bool operator==(const response_code&) const = default;

    static response_code of(code_kind k) { return response_code{k}; }
    static response_code uidvalidity(std::uint32_t v) { return with_number(code_kind::uidvalidity, v); }
    static response_code uidnext(std::uint32_t v) { return with_number(code_kind::uidnext, v); }
    static response_code unseen(std::uint32_t v) { return with_number(code_kind::unseen, v); }
    static response_code highestmodseq(std::uint64_t v) { return with_number(code_kind::highestmodseq, v); }
    static response_code permanentflags(std::vector<std::string> flags);
    static response_code capability(std::vector<std::string> caps);
    static response_code badcharset(std::vector<std::string> charsets = {});
    // appenduid - uids in the order the messages were appended (MULTIAPPEND keeps order).
    static response_code appenduid(std::uint32_t uidvalidity, std::span<const std::uint32_t> uids);
    // copyuid - source and destination uids, element by element (RFC 4315 section 3).
    static response_code copyuid(std::uint32_t uidvalidity, std::span<const std::uint32_t> source,
                                 std::span<const std::uint32_t> destination);
    // modified - the messages a conditional STORE did not change (RFC 7162 3.1.3).
    static response_code modified(std::span<const std::uint32_t> numbers);

private:
    static response_code with_number(code_kind k, std::uint64_t v) {
        response_code c{k};
        c.number = v;
        return c;
    }
};

// format_response_code - "[UIDVALIDITY 3857529045]" (with the brackets).
std::string format_response_code(const response_code& code);

}  // namespace polder::imap::proto
