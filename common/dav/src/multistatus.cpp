// multistatus.cpp - 207 bodies and DAV:error bodies.
//
// SECURITY: all text escaped; no input is copied unescaped except property
// values that were produced by serialize_children() or by the server itself.
// STANDARDS: RFC 4918 13, 14.5, 14.16, 14.22, 14.24, 14.28; RFC 6578 6.4.
#include "polder/dav/multistatus.hpp"

namespace polder::dav {

std::string status_line(unsigned code) {
    const char* reason = "Unknown";
    switch (code) {
    case 200: reason = "OK"; break;
    case 201: reason = "Created"; break;
    case 204: reason = "No Content"; break;
    case 400: reason = "Bad Request"; break;
    case 401: reason = "Unauthorized"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 409: reason = "Conflict"; break;
    case 412: reason = "Precondition Failed"; break;
    case 415: reason = "Unsupported Media Type"; break;
    case 422: reason = "Unprocessable Content"; break;
    case 423: reason = "Locked"; break;
    case 424: reason = "Failed Dependency"; break;
    case 500: reason = "Internal Server Error"; break;
    case 502: reason = "Bad Gateway"; break;
    case 507: reason = "Insufficient Storage"; break;
    default: break;
    }
    return "HTTP/1.1 " + std::to_string(code) + " " + reason;
}

namespace {
std::string tag_name(const qname& name) {
    if (name.ns == dav_ns) return "D:" + name.local;
    return name.ns.empty() ? name.local : "X:" + name.local;
}
std::string declaration(const qname& name) {
    if (name.ns == dav_ns || name.ns.empty()) return {};
    return " xmlns:X=\"" + escape_attribute(name.ns) + "\"";
}
}  // namespace

std::string open_element(const qname& name) {
    return "<" + tag_name(name) + declaration(name) + ">";
}

std::string close_element(const qname& name) {
    return "</" + tag_name(name) + ">";
}

std::string empty_element(const qname& name) {
    return "<" + tag_name(name) + declaration(name) + "/>";
}

std::string element(const qname& name, std::string_view value_xml) {
    if (value_xml.empty()) return empty_element(name);
    std::string out = open_element(name);
    out += value_xml;
    out += close_element(name);
    return out;
}

std::string text_element(const qname& name, std::string_view text) {
    return element(name, escape_text(text));
}

std::string href_element(std::string_view href) {
    return "<D:href>" + escape_text(href) + "</D:href>";
}

multistatus::multistatus() {
    body_ = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">";
}

void multistatus::add_propstat(std::string_view href, const std::vector<propstat_group>& groups) {
    ++responses_;
    body_ += "<D:response>";
    body_ += href_element(href);
    bool any = false;
    for (const auto& g : groups) {
        if (g.props.empty()) continue;
        any = true;
        body_ += "<D:propstat><D:prop>";
        for (const auto& p : g.props) body_ += element(p.name, g.status == 200 ? std::string_view(p.value_xml) : "");
        body_ += "</D:prop><D:status>" + status_line(g.status) + "</D:status>";
        if (g.error) body_ += "<D:error>" + empty_element(*g.error) + "</D:error>";
        body_ += "</D:propstat>";
    }
    if (!any) body_ += "<D:status>" + status_line(200) + "</D:status>";
    body_ += "</D:response>";
}

void multistatus::add_status(std::string_view href, unsigned code, const std::optional<qname>& error) {
    ++responses_;
    body_ += "<D:response>";
    body_ += href_element(href);
    body_ += "<D:status>" + status_line(code) + "</D:status>";
    if (error) body_ += "<D:error>" + empty_element(*error) + "</D:error>";
    body_ += "</D:response>";
}

std::string multistatus::finish(const std::optional<std::string>& sync_token) {
    std::string out = std::move(body_);
    if (sync_token) out += "<D:sync-token>" + escape_text(*sync_token) + "</D:sync-token>";
    out += "</D:multistatus>\n";
    body_.clear();
    return out;
}

std::string error_body(const qname& condition) {
    return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\">" + empty_element(condition) +
           "</D:error>\n";
}

}  // namespace polder::dav
