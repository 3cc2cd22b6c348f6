// polder/imap/proto/sort.hpp - RFC 5256 SORT ordering as a pure function over per-message
// records (what the store prepared at delivery), for the server's SORT command.
//
// SECURITY: std::stable_sort over precomputed keys: O(n log n), no recursion on input.
// STANDARDS: RFC 5256 sections 2.2 (sent date), 3 (sort keys, i;ascii-casemap, ties by
// sequence number), RFC 5957 (DISPLAYFROM, DISPLAYTO).
#pragma once

#include "polder/imap/proto/command.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace polder::imap::proto {

struct sort_record {
    std::uint32_t id = 0;          // what the response shows: UID or sequence number
    std::uint32_t sequence = 0;    // message sequence number (final tie-breaker)
    std::int64_t arrival = 0;      // internal date (Unix time)
    std::int64_t sent_date = 0;    // Date: header, else internal date (RFC 5256 2.2)
    std::uint64_t size = 0;        // RFC822.SIZE
    std::string subject;           // raw Subject header value (base subject taken here)
    std::string from, to, cc;      // addr-mailbox of the first address of each field
    std::string display_from;      // RFC 5957: display name of the first From, else addr-spec
    std::string display_to;
};

// sort_messages - ids in SORT order for the criteria (REVERSE applies to its own key).
std::vector<std::uint32_t> sort_messages(const std::vector<sort_record>& records,
                                         std::span<const sort_criterion> criteria);

}  // namespace polder::imap::proto
