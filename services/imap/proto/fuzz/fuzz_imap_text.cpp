// fuzz_imap_text.cpp - libFuzzer target for the pure text helpers of polder::imap_proto:
// modified UTF-7, base64, SASL PLAIN, sequence sets, dates, rights, RFC 5256 base subjects
// and message-id lists.
//
// Invariants checked (abort on violation): a decoded modified UTF-7 name re-encodes to the
// same octets (canonical form), encoding valid UTF-8 decodes back to it, canonical base64
// re-encodes identically, sequence sets and date-times survive format/parse.
//
// SECURITY: exercises decoders of client-supplied names and data under ASan/UBSan.
// STANDARDS: RFC 3501 5.1.3, RFC 4648, RFC 4616, RFC 9051 section 9, RFC 4314.
#include "polder/imap/proto/acl.hpp"
#include "polder/imap/proto/base64.hpp"
#include "polder/imap/proto/mutf7.hpp"
#include "polder/imap/proto/thread.hpp"
#include "polder/imap/proto/types.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace polder::imap::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);

    if (auto decoded = mutf7_decode(s)) {
        auto again = mutf7_encode(*decoded);
        if (!again || *again != s) std::abort();
    }
    if (auto encoded = mutf7_encode(s)) {
        auto back = mutf7_decode(*encoded);
        if (!back || *back != s) std::abort();
    }
    if (auto bytes = base64_decode(s)) {
        if (base64_encode(*bytes) != s) std::abort();
        (void)parse_sasl_plain(*bytes);
    }
    if (auto set = parse_sequence_set(s)) {
        auto back = parse_sequence_set(format_sequence_set(*set));
        if (!back || !(*back == *set)) std::abort();
        (void)set->normalized(1000);
    }
    if (auto t = parse_date_time(s)) {
        auto back = parse_date_time(format_date_time(*t));
        if (!back || !(*back == *t)) std::abort();
        if (!(from_unix(to_unix(*t), t->zone_minutes) == *t) && t->second != 60) std::abort();
    }
    if (auto d = parse_date(s)) {
        auto back = parse_date(format_date(*d));
        if (!back || !(*back == *d)) std::abort();
    }
    if (auto r = parse_rights_change(s)) (void)format_rights(r->value);

    // The base subject is a fixed point: extracting it again changes nothing.
    auto base = extract_base_subject(s);
    auto again = extract_base_subject(base.subject, false);
    if (again.subject != base.subject) std::abort();
    (void)parse_msg_ids(s);
    return 0;
}
