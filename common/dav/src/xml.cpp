// xml.cpp - libxml2 push parsing into polder::dav::xml_element trees, and
// the self-contained serializer.
//
// SECURITY: see xml.hpp. The parser context is created with the default SAX2
// handler copied per context, then its internalSubset hook is replaced so the
// first DOCTYPE stops the parse before any declaration inside it is read;
// XML_PARSE_NONET forbids network access; no option that loads a DTD or
// substitutes entities is set. libxml2's own limits (depth 256, name and text
// lengths without XML_PARSE_HUGE) apply underneath ours. Error reasons from
// libxml2 are cut to printable ASCII and 160 characters before they reach a
// client.
// STANDARDS: XML 1.0, Namespaces in XML 1.0.
#include "polder/dav/xml.hpp"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <cstdint>
#include <mutex>
#include <string_view>

namespace polder::dav {

std::string qname::clark() const {
    return "{" + ns + "}" + local;
}

const xml_element* xml_element::child(std::string_view ns, std::string_view local) const {
    for (const auto& c : children)
        if (c.is(ns, local)) return &c;
    return nullptr;
}

std::vector<const xml_element*> xml_element::elements() const {
    std::vector<const xml_element*> out;
    for (const auto& c : children)
        if (c.type == kind::element) out.push_back(&c);
    return out;
}

std::string xml_element::text_content() const {
    if (type == kind::text) return text;
    std::string out;
    for (const auto& c : children) out += c.text_content();
    return out;
}

namespace {

// libxml2 keeps per-thread global state that must be initialised once.
void init_libxml() {
    static std::once_flag once;
    std::call_once(once, [] { xmlInitParser(); });
}

// The first DOCTYPE ends the parse: no DTD means no entity declarations at all.
void refuse_dtd(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
    auto* ctxt = static_cast<xmlParserCtxtPtr>(ctx);
    ctxt->_private = reinterpret_cast<void*>(1);
    xmlStopParser(ctxt);
}

// libxml2 reports errors through callbacks by default; collect nothing there.
void quiet(void*, const char*, ...) {}
void quiet_structured(void*, xmlErrorPtr) {}

std::string clean_reason(const char* msg) {
    std::string out;
    if (!msg) return "malformed XML";
    for (const char* p = msg; *p && out.size() < 160; ++p) {
        const unsigned char c = static_cast<unsigned char>(*p);
        if (c == '\n' || c == '\r') continue;
        out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out.empty() ? "malformed XML" : out;
}

std::string to_string(const xmlChar* s) {
    return s ? std::string(reinterpret_cast<const char*>(s)) : std::string();
}

// namespace_name - a namespace declaration's value as the document meant it. Without
// entity substitution libxml2 hands over an "&" written as "&amp;" (or "&#38;") in an
// xmlns attribute as the five characters "&#38;" (it decodes every other reference), so
// that is turned back into "&"; otherwise serializing the tree would escape it once more
// and each round trip would change the namespace (found by fuzz_dav_xml).
std::string namespace_name(const xmlChar* href) {
    std::string s = to_string(href);
    for (std::size_t at = s.find("&#38;"); at != std::string::npos; at = s.find("&#38;", at + 1))
        s.replace(at, 5, "&");
    return s;
}

struct converter {
    const xml_limits& limits;
    std::size_t elements = 0;
    std::string reason;

    bool convert(xmlNodePtr node, xml_element& out, std::size_t depth) {
        if (depth > limits.max_depth) {
            reason = "XML nested too deeply (limit " + std::to_string(limits.max_depth) + ")";
            return false;
        }
        if (++elements > limits.max_elements) {
            reason = "too many XML elements (limit " + std::to_string(limits.max_elements) + ")";
            return false;
        }
        out.type = xml_element::kind::element;
        out.name.ns = node->ns ? namespace_name(node->ns->href) : std::string();
        out.name.local = to_string(node->name);
        for (xmlAttrPtr a = node->properties; a; a = a->next) {
            xml_attribute attr;
            attr.name.ns = a->ns ? namespace_name(a->ns->href) : std::string();
            attr.name.local = to_string(a->name);
            xmlChar* v = xmlNodeListGetString(node->doc, a->children, 1);
            attr.value = to_string(v);
            xmlFree(v);
            out.attributes.push_back(std::move(attr));
        }
        for (xmlNodePtr c = node->children; c; c = c->next) {
            switch (c->type) {
            case XML_ELEMENT_NODE: {
                xml_element e;
                if (!convert(c, e, depth + 1)) return false;
                out.children.push_back(std::move(e));
                break;
            }
            case XML_TEXT_NODE:
            case XML_CDATA_SECTION_NODE: {
                std::string t = to_string(c->content);
                if (!out.children.empty() && out.children.back().type == xml_element::kind::text)
                    out.children.back().text += t;
                else {
                    xml_element e;
                    e.type = xml_element::kind::text;
                    e.text = std::move(t);
                    out.children.push_back(std::move(e));
                }
                break;
            }
            case XML_ENTITY_REF_NODE:
                // Only reachable with a DTD, which is refused; never expand one.
                reason = "entity references are not allowed";
                return false;
            default:
                break;   // comments, processing instructions
            }
        }
        return true;
    }
};

}  // namespace

struct xml_parser::impl {
    xmlParserCtxtPtr ctxt = nullptr;
    ~impl() {
        if (ctxt) {
            if (ctxt->myDoc) xmlFreeDoc(ctxt->myDoc);
            ctxt->myDoc = nullptr;
            xmlFreeParserCtxt(ctxt);
        }
    }
};

xml_parser::xml_parser(xml_limits limits) : impl_(std::make_unique<impl>()), limits_(limits) {
    init_libxml();
    impl_->ctxt = xmlCreatePushParserCtxt(nullptr, nullptr, nullptr, 0, nullptr);
    if (!impl_->ctxt) {
        failed_ = true;
        reason_ = "XML parser unavailable";
        return;
    }
    xmlCtxtUseOptions(impl_->ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    impl_->ctxt->sax->internalSubset = refuse_dtd;
    impl_->ctxt->sax->error = quiet;
    impl_->ctxt->sax->warning = quiet;
    impl_->ctxt->sax->serror = quiet_structured;
    impl_->ctxt->vctxt.error = quiet;
    impl_->ctxt->vctxt.warning = quiet;
}

xml_parser::~xml_parser() = default;

namespace {
bool stopped_by_dtd(xmlParserCtxtPtr c) {
    return c->_private != nullptr;
}
}  // namespace

result<void> xml_parser::feed(std::string_view bytes) {
    if (failed_) return errc::invalid_argument;
    fed_ += bytes.size();
    if (fed_ > limits_.max_bytes) {
        failed_ = true;
        reason_ = "XML body too large (limit " + std::to_string(limits_.max_bytes) + " bytes)";
        return errc::limit_exceeded;
    }
    // xmlParseChunk takes an int length: feed large pieces in slices.
    while (!bytes.empty()) {
        const std::size_t n = std::min<std::size_t>(bytes.size(), 1 << 20);
        const int rc = xmlParseChunk(impl_->ctxt, bytes.data(), static_cast<int>(n), 0);
        bytes.remove_prefix(n);
        if (stopped_by_dtd(impl_->ctxt)) {
            failed_ = true;
            reason_ = "DTD not allowed";
            return errc::invalid_argument;
        }
        if (rc != 0 || !impl_->ctxt->wellFormed) {
            failed_ = true;
            const xmlError* e = xmlCtxtGetLastError(impl_->ctxt);
            reason_ = "malformed XML: " + clean_reason(e ? e->message : nullptr);
            return errc::invalid_argument;
        }
    }
    return {};
}

result<xml_element> xml_parser::finish() {
    if (failed_) return errc::invalid_argument;
    failed_ = true;   // finish() runs once
    const int rc = xmlParseChunk(impl_->ctxt, nullptr, 0, 1);
    if (stopped_by_dtd(impl_->ctxt)) {
        reason_ = "DTD not allowed";
        return errc::invalid_argument;
    }
    if (rc != 0 || !impl_->ctxt->wellFormed || !impl_->ctxt->myDoc) {
        const xmlError* e = xmlCtxtGetLastError(impl_->ctxt);
        reason_ = fed_ == 0 ? std::string("empty XML body") : "malformed XML: " + clean_reason(e ? e->message : nullptr);
        return errc::invalid_argument;
    }
    if (!impl_->ctxt->nsWellFormed) {
        const xmlError* e = xmlCtxtGetLastError(impl_->ctxt);
        reason_ = "XML namespace error: " + clean_reason(e ? e->message : nullptr);
        return errc::invalid_argument;
    }
    xmlNodePtr root = xmlDocGetRootElement(impl_->ctxt->myDoc);
    if (!root) {
        reason_ = "XML document has no root element";
        return errc::invalid_argument;
    }
    converter conv{limits_, 0, {}};
    xml_element out;
    if (!conv.convert(root, out, 1)) {
        reason_ = conv.reason;
        return conv.reason.starts_with("entity") ? errc::invalid_argument : errc::limit_exceeded;
    }
    return out;
}

result<xml_element> parse_xml(std::string_view document, std::string& reason, const xml_limits& limits) {
    xml_parser p(limits);
    if (auto r = p.feed(document); !r) {
        reason = p.reason();
        return r.error();
    }
    auto root = p.finish();
    if (!root) reason = p.reason();
    return root;
}

namespace {
void escape_into(std::string& out, std::string_view s, bool attribute) {
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '\r': out += "&#13;"; break;
        case '"':
            if (attribute) out += "&quot;";
            else out += c;
            break;
        case '\t':
        case '\n':
            if (attribute) out += c == '\t' ? "&#9;" : "&#10;";
            else out += c;
            break;
        default: out += c;
        }
    }
}

// write - one element; `default_ns` is the default namespace in effect where
// it is written (the empty string when none).
void write(std::string& out, const xml_element& e, const std::string& default_ns) {
    if (e.type == xml_element::kind::text) {
        escape_into(out, e.text, false);
        return;
    }
    out += '<';
    out += e.name.local;
    std::string inner_default = default_ns;
    if (e.name.ns != default_ns) {
        out += " xmlns=\"";
        escape_into(out, e.name.ns, true);
        out += '"';
        inner_default = e.name.ns;
    }
    int n = 0;
    for (const auto& a : e.attributes) {
        out += ' ';
        if (a.name.ns == xml_ns) {
            out += "xml:";
        } else if (!a.name.ns.empty()) {
            const std::string prefix = "a" + std::to_string(n++);
            out += "xmlns:" + prefix + "=\"";
            escape_into(out, a.name.ns, true);
            out += "\" " + prefix + ":";
        }
        out += a.name.local;
        out += "=\"";
        escape_into(out, a.value, true);
        out += '"';
    }
    if (e.children.empty()) {
        out += "/>";
        return;
    }
    out += '>';
    for (const auto& c : e.children) write(out, c, inner_default);
    out += "</";
    out += e.name.local;
    out += '>';
}
}  // namespace

std::string escape_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    escape_into(out, text, false);
    return out;
}

std::string escape_attribute(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    escape_into(out, text, true);
    return out;
}

std::string serialize(const xml_element& e) {
    std::string out;
    write(out, e, std::string());
    return out;
}

std::string serialize_children(const xml_element& e) {
    std::string out;
    for (const auto& c : e.children) write(out, c, std::string());
    return out;
}

}  // namespace polder::dav
