// polder/dav/multistatus.hpp - writing 207 Multi-Status bodies, DAV:error
// bodies and the XML of common live properties.
//
// The writer declares the DAV: namespace once, as prefix "D", on the root and
// never declares a default namespace, so property values made by
// serialize_children() (which declare what they use) can be embedded as they
// are. Properties in other namespaces get a prefix declared on their own
// element.
//
// SECURITY: every href and text is escaped here; hrefs are expected already
// percent-encoded by the caller (http::percent_encode_path), and escaping them
// again for XML keeps a name like "a&b<c" harmless.
// STANDARDS: RFC 4918 13 (multistatus), 14.16 (multistatus), 14.22 (propstat),
// 14.24 (response), 14.28 (status), 14.5 (error), 16 (precondition/postcondition
// codes); RFC 6578 6.4 (sync-token in multistatus); RFC 9110 15 (status lines).
#pragma once

#include "polder/dav/requests.hpp"
#include "polder/dav/xml.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polder::dav {

// status_line - "HTTP/1.1 404 Not Found" for DAV:status.
std::string status_line(unsigned code);

// open_element / close_element - a tag for `name` in the writer's scheme
// (DAV: as "D:", other namespaces with a local xmlns:x declaration).
std::string open_element(const qname& name);
std::string close_element(const qname& name);
std::string empty_element(const qname& name);
// element - <name>value_xml</name> (value_xml is already XML).
std::string element(const qname& name, std::string_view value_xml);
// text_element - <name>escaped text</name>.
std::string text_element(const qname& name, std::string_view text);

struct propstat_group {
    unsigned status = 200;
    std::vector<property> props;   // for 404/403/424 the values are empty
    std::optional<qname> error;    // DAV:error with this precondition element
};

class multistatus {
public:
    multistatus();
    // add_propstat - a response for href with one propstat per group (empty
    // groups skipped; a response with no group at all gets "HTTP/1.1 200 OK").
    void add_propstat(std::string_view href, const std::vector<propstat_group>& groups);
    // add_status - a response for href with only a status (and optional error).
    void add_status(std::string_view href, unsigned code, const std::optional<qname>& error = std::nullopt);
    // finish - the whole body; sync_token (RFC 6578) is added when given.
    std::string finish(const std::optional<std::string>& sync_token = std::nullopt);
    std::size_t responses() const { return responses_; }
    std::size_t size() const { return body_.size(); }

private:
    std::string body_;
    std::size_t responses_ = 0;
};

// error_body - <D:error xmlns:D="DAV:"><condition/></D:error> (RFC 4918 16),
// the body of a 403/409/412/423 that names the failed pre- or postcondition.
std::string error_body(const qname& condition);

// href_element - <D:href>escaped href</D:href>.
std::string href_element(std::string_view href);

}  // namespace polder::dav
