// metrics.hpp - polder-smtpd's Prometheus metrics, registered once in the global registry.
// SECURITY: label values are fixed words from code (listener names, reasons), never client text.
// STANDARDS: Prometheus text exposition format (via polder::metrics).
#pragma once

#include "polder/metrics/metrics.hpp"

#include <string_view>

namespace polder::smtpd {

struct smtp_metrics {
    // accepted - messages answered 250 after commit, per listener ("mx", "submission", "submissions").
    metrics::counter& accepted(std::string_view listener);
    // rejected - refusals by reason: unknown_user, relay_denied, over_quota, spoofed_sender,
    // rate_limited, too_large, bare_line_ending, auth_failed, auth_throttled, temporary_failure.
    metrics::counter& rejected(std::string_view reason);
    // inbound_auth - results of the MX listener's checks: method spf|dkim|dmarc, result one
    // of RFC 8601's words (pass, fail, softfail, neutral, none, temperror, permerror).
    metrics::counter& inbound_auth(std::string_view method, std::string_view result);
    metrics::counter& delivered;         // mailbox entries created (one per local account)
    metrics::counter& bytes_received;    // message octets accepted
    metrics::histogram& delivery_seconds;   // end of data -> commit of the delivery

    static smtp_metrics& get();
};

}  // namespace polder::smtpd
