// metrics.cpp - see metrics.hpp.
// SECURITY: bounded label sets. STANDARDS: Prometheus text format.
#include "metrics.hpp"

#include <string>

namespace polder::smtpd {

metrics::counter& smtp_metrics::accepted(std::string_view listener) {
    return metrics::registry::global().counter_("polder_smtp_messages_accepted_total",
                                                "Messages accepted (250 after commit) by listener",
                                                {{"listener", std::string(listener)}});
}

metrics::counter& smtp_metrics::rejected(std::string_view reason) {
    return metrics::registry::global().counter_("polder_smtp_rejected_total", "SMTP refusals by reason",
                                                {{"reason", std::string(reason)}});
}

metrics::counter& smtp_metrics::inbound_auth(std::string_view method, std::string_view result) {
    return metrics::registry::global().counter_("polder_smtp_inbound_auth_total",
                                                "Inbound SPF/DKIM/DMARC results (Authentication-Results)",
                                                {{"method", std::string(method)}, {"result", std::string(result)}});
}

smtp_metrics& smtp_metrics::get() {
    auto& r = metrics::registry::global();
    static smtp_metrics m{
        r.counter_("polder_smtp_delivered_total", "Messages delivered into a local mailbox (one per account)"),
        r.counter_("polder_smtp_received_bytes_total", "Octets of accepted messages"),
        r.histogram_("polder_smtp_delivery_seconds", "Time from the end of message data to the committed delivery"),
    };
    return m;
}

}  // namespace polder::smtpd
