// polder/dav/requests.hpp - typed request bodies of PROPFIND, PROPPATCH, LOCK
// and REPORT (sync-collection), parsed from xml_element trees.
//
// Each parse_* takes the root element of an already parsed body (see xml.hpp)
// and returns a typed struct or an error with a reason for the 400 body.
// Unknown elements are ignored where RFC 4918 section 17 says so; a body whose
// ROOT is not the expected element is an error.
//
// SECURITY: untrusted input; the number of property names in one request is
// bounded (max_props) so a PROPFIND cannot ask for a million properties.
// STANDARDS: RFC 4918 sections 9.1 (PROPFIND, 14.20 propfind, 14.8 include),
// 9.2 (PROPPATCH, 14.19 propertyupdate: instructions in document order),
// 9.10 (LOCK, 14.11 lockinfo, 14.13 lockscope, 14.15 locktype, 14.17 owner),
// RFC 3253 3.6 (REPORT), RFC 6578 3.2 / 6.1 (sync-collection, sync-level, limit).
#pragma once

#include "polder/core/error.hpp"
#include "polder/dav/xml.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace polder::dav {

inline constexpr std::size_t max_props = 1000;

struct parse_failure {
    std::string reason;
};

enum class propfind_kind { prop, allprop, propname };

struct propfind_request {
    propfind_kind kind = propfind_kind::allprop;   // an empty body means allprop
    std::vector<qname> props;                      // kind == prop
    std::vector<qname> include;                    // kind == allprop: DAV:include
};

// parse_propfind - DAV:propfind. Errors: errc::invalid_argument (reason set):
// wrong root, none or several of prop/allprop/propname, too many names.
result<propfind_request> parse_propfind(const xml_element& root, std::string& reason);

struct property {
    qname name;
    // The property's value: its content as self-contained XML (serialize_children),
    // already escaped; empty for an empty property.
    std::string value_xml;
};

struct proppatch_op {
    bool remove = false;
    property prop;   // for remove, value_xml is empty
};

// parse_proppatch - DAV:propertyupdate: set/remove instructions in document
// order (RFC 4918 9.2 requires that order). Errors: errc::invalid_argument.
result<std::vector<proppatch_op>> parse_proppatch(const xml_element& root, std::string& reason);

enum class lock_scope { exclusive, shared };

struct lock_info {
    lock_scope scope = lock_scope::exclusive;
    std::string owner_xml;   // DAV:owner content, self-contained XML; empty when absent
};

// parse_lockinfo - DAV:lockinfo with lockscope and locktype write. Errors:
// errc::invalid_argument (missing or unknown scope, a locktype other than write).
result<lock_info> parse_lockinfo(const xml_element& root, std::string& reason);

struct sync_collection_request {
    std::string sync_token;          // empty = initial synchronisation
    bool infinite = false;           // sync-level "infinite" (else "1")
    std::optional<std::size_t> limit;  // DAV:limit/DAV:nresults
    propfind_request props;          // DAV:prop (kind prop)
};

// parse_sync_collection - DAV:sync-collection. Errors: errc::invalid_argument
// (missing sync-token or sync-level element, bad sync-level, bad nresults).
result<sync_collection_request> parse_sync_collection(const xml_element& root, std::string& reason);

// report_name - the REPORT's kind: the root element's name (RFC 3253 3.6).
inline const qname& report_name(const xml_element& root) { return root.name; }

}  // namespace polder::dav
