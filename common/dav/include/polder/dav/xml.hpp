// polder/dav/xml.hpp - namespace-aware XML values for WebDAV request and
// response bodies, parsed with libxml2 and serialized by hand.
//
// What it does: parse_xml() turns a request body into a small owned tree of
// xml_element values (element names are (namespace URI, local name) pairs;
// prefixes are gone); xml_parser does the same incrementally, fed in pieces
// as the body arrives from the socket. serialize_children()/serialize() turn
// a tree back into text that is self-contained with respect to namespaces
// (it never relies on a prefix or default namespace declared outside it), so
// a dead property value can be stored and later embedded in any multistatus.
//
// SECURITY: untrusted input. libxml2 runs with XML_PARSE_NONET, without
// XML_PARSE_NOENT / DTDLOAD / DTDATTR, and any document type declaration stops
// the parse ("DTD not allowed"), so external entities (XXE), entity expansion
// ("billion laughs") and network fetches are impossible. Size (bytes fed),
// element depth and element count are limited; every failure is a value
// carrying a short reason fit for a 400 response body.
// STANDARDS: XML 1.0 (fifth edition), Namespaces in XML 1.0 (third edition),
// RFC 4918 section 17 (XML extensibility: unknown elements are ignored by
// callers, not rejected here).
#pragma once

#include "polder/core/error.hpp"

#include <compare>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace polder::dav {

inline constexpr std::string_view dav_ns = "DAV:";
inline constexpr std::string_view xml_ns = "http://www.w3.org/XML/1998/namespace";

// qname - an expanded XML name; ns empty = no namespace.
struct qname {
    std::string ns;
    std::string local;
    friend auto operator<=>(const qname&, const qname&) = default;
    friend bool operator==(const qname&, const qname&) = default;
    std::string clark() const;   // "{ns}local", for logs and tests
};

inline qname dav(std::string_view local) { return {std::string(dav_ns), std::string(local)}; }

struct xml_attribute {
    qname name;
    std::string value;
};

// xml_element - an element or a text node (CDATA is text). Comments and
// processing instructions are dropped while parsing.
struct xml_element {
    enum class kind { element, text };
    kind type = kind::element;
    qname name;                          // elements only
    std::string text;                    // text nodes only (UTF-8)
    std::vector<xml_attribute> attributes;
    std::vector<xml_element> children;

    bool is(std::string_view ns, std::string_view local) const {
        return type == kind::element && name.ns == ns && name.local == local;
    }
    // child - first child element with that name, nullptr when none.
    const xml_element* child(std::string_view ns, std::string_view local) const;
    // elements - the child elements (text between them skipped).
    std::vector<const xml_element*> elements() const;
    // text_content - concatenated text of this element and its descendants.
    std::string text_content() const;
};

struct xml_limits {
    std::size_t max_bytes = 1024 * 1024;   // document size
    std::size_t max_depth = 64;            // element nesting
    std::size_t max_elements = 100000;     // elements in the document
};

// xml_parser - incremental parse: feed() pieces as they arrive, then finish().
// Errors of feed()/finish(): errc::limit_exceeded (size, depth, element count;
// the reason says which) or errc::invalid_argument (not well-formed, a DTD,
// not namespace-well-formed); reason() then holds a short explanation.
class xml_parser {
public:
    explicit xml_parser(xml_limits limits = {});
    ~xml_parser();
    xml_parser(const xml_parser&) = delete;
    xml_parser& operator=(const xml_parser&) = delete;

    result<void> feed(std::string_view bytes);
    result<xml_element> finish();   // the root element
    const std::string& reason() const { return reason_; }

    struct impl;

private:
    std::unique_ptr<impl> impl_;
    xml_limits limits_;
    std::size_t fed_ = 0;
    std::string reason_;
    bool failed_ = false;
};

// parse_xml - a whole document at once. On failure `reason` explains why.
result<xml_element> parse_xml(std::string_view document, std::string& reason, const xml_limits& limits = {});

// escape_text / escape_attribute - XML character escaping for writers.
std::string escape_text(std::string_view text);
std::string escape_attribute(std::string_view text);

// serialize - the element as self-contained XML (no XML declaration): each
// element in a namespace carries the xmlns declaration it needs; elements in
// no namespace are written where no default namespace is in effect.
std::string serialize(const xml_element& e);
// serialize_children - the content of e (text and elements), self-contained.
std::string serialize_children(const xml_element& e);

}  // namespace polder::dav
