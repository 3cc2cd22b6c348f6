// request_decoder.cpp - incremental request decoding: Beast's parser plus the
// framing and header checks the server relies on.
//
// SECURITY: see the header. Beast's own body limit is switched off on purpose:
// the limit depends on the route (CalDAV 10 MiB, WebDAV 100 GiB) and is enforced
// by the session, which knows it; header bytes are limited here via Beast's
// header_limit, header count by counting after the head is parsed (the byte
// limit already bounds the work).
// STANDARDS: RFC 9112 2.2, 3, 5, 6.1, 6.3, 7.1; RFC 9110 7.2, 10.1.1.
#include "polder/http/request_decoder.hpp"

#include "polder/http/uri.hpp"

#include <boost/beast/http/error.hpp>

namespace polder::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// other_http_version - the request line ends in a well-formed HTTP-version
// other than 1.x ("HTTP/2.0", "HTTP/0.9"), which Beast reports as malformed;
// RFC 9110 15.6.6 has 505 for it.
bool other_http_version(std::string_view data) {
    const auto eol = data.find('\n');
    if (eol == std::string_view::npos) return false;
    auto line = data.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto sp = line.rfind(' ');
    if (sp == std::string_view::npos) return false;
    const auto v = line.substr(sp + 1);
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (v.size() == 8 && v.starts_with("HTTP/") && digit(v[5]) && v[6] == '.' && digit(v[7])) return v[5] != '1';
    return v.size() == 6 && v.starts_with("HTTP/") && digit(v[5]) && v[5] != '1';   // "HTTP/2"
}

}  // namespace

std::string_view describe_parse_error(const boost::system::error_code& ec) {
    if (ec.category() != bhttp::make_error_code(bhttp::error::bad_method).category()) return "malformed request";
    switch (static_cast<bhttp::error>(ec.value())) {
    case bhttp::error::bad_method: return "malformed method";
    case bhttp::error::bad_target: return "malformed request target";
    case bhttp::error::bad_version: return "malformed HTTP version";
    case bhttp::error::bad_line_ending: return "malformed line ending";
    case bhttp::error::bad_field: return "malformed header field name";
    case bhttp::error::bad_value: return "malformed header field value";
    case bhttp::error::bad_content_length: return "invalid Content-Length";
    case bhttp::error::multiple_content_length: return "conflicting Content-Length values";
    case bhttp::error::bad_transfer_encoding: return "invalid Transfer-Encoding";
    case bhttp::error::bad_chunk: return "malformed chunk";
    case bhttp::error::bad_chunk_extension: return "malformed chunk extension";
    case bhttp::error::bad_obs_fold: return "obsolete line folding is not accepted";
    case bhttp::error::header_limit: return "request header fields too large";
    case bhttp::error::partial_message: return "incomplete request";
    default: return "malformed request";
    }
}

request_decoder::request_decoder(const head_limits& limits) : limits_(limits) {
    const auto cap = limits.max_header_bytes > 0xffffffffu ? 0xffffffffu : limits.max_header_bytes;
    parser_.header_limit(static_cast<std::uint32_t>(cap));
    parser_.body_limit(boost::none);   // enforced by the session per route and request
    parser_.eager(false);              // stop after the head: the session decides about the body
}

void request_decoder::fail(unsigned status, std::string_view reason) {
    state_ = state::failed;
    problem_ = {status, reason};
}

bool request_decoder::scan_for_folding(std::string_view data) {
    // Positions are relative to `data`, which starts after the bytes earlier
    // calls consumed; after_newline_ remembers whether those ended a line.
    if (fold_scan_ == 0 && after_newline_ && !data.empty()) {
        if (data[0] == ' ' || data[0] == '\t') return true;
        if (data[0] == '\r' || data[0] == '\n') {
            fold_scan_done_ = true;   // blank line: the head ends here
            return false;
        }
    }
    // A '\n' at the very end is looked at again once its successor has arrived.
    for (std::size_t i = fold_scan_; i < data.size(); ++i) {
        if (data[i] != '\n') continue;
        if (i + 1 == data.size()) {
            fold_scan_ = i;
            return false;
        }
        const char next = data[i + 1];
        if (next == ' ' || next == '\t') return true;
        if (next == '\r' || next == '\n') {
            fold_scan_done_ = true;   // the blank line ends the head; the body is not ours to scan
            return false;
        }
    }
    fold_scan_ = data.size();
    return false;
}

std::size_t request_decoder::feed_head(std::string_view data) {
    if (state_ != state::head || data.empty()) return 0;
    // RFC 9112 5.2 lets a server reject obsolete line folding with 400 instead
    // of unfolding it; rejecting is simpler and removes a parser-differential
    // (smuggling) risk. RFC 9112 2.2 likewise: whitespace before the first field.
    if (!fold_scan_done_ && scan_for_folding(data)) {
        fail(400, "obsolete line folding is not accepted");
        return 0;
    }
    beast::error_code ec;
    const std::size_t used = parser_.put(boost::asio::const_buffer(data.data(), data.size()), ec);
    // Beast may consume the request line before the fields are complete; the
    // caller drops `used` bytes, so the scan position moves with them.
    if (used > 0) {
        after_newline_ = data[used - 1] == '\n';
        fold_scan_ = fold_scan_ > used ? fold_scan_ - used : 0;
    }
    if (ec == bhttp::error::need_more) {
        // Beast only reports header_limit once it has seen that many bytes; a
        // caller that keeps feeding a growing buffer reaches that point.
        return used;
    }
    if (ec) {
        if (ec == bhttp::error::header_limit)
            fail(431, "request header fields too large");
        else if (ec == bhttp::error::bad_version && other_http_version(data))
            fail(505, "HTTP version not supported");
        else
            fail(400, describe_parse_error(ec));
        return used;
    }
    if (!parser_.is_header_done()) return used;
    validate_head();
    if (state_ == state::failed) return used;
    state_ = parser_.is_done() ? state::complete : state::body;
    return used;
}

void request_decoder::validate_head() {
    const auto& h = parser_.get().base();

    // RFC 9112 2.3: only HTTP/1.x is ours to parse; 505 tells the client why.
    if (h.version() != 10 && h.version() != 11) return fail(505, "HTTP version not supported");

    std::size_t fields = 0;
    for (auto it = h.begin(); it != h.end(); ++it) ++fields;
    if (fields > limits_.max_header_fields) return fail(431, "too many header fields");

    // RFC 9112 3.2: a 1.1 request without Host, or with several, is a 400.
    const auto hosts = h.count(bhttp::field::host);
    if (hosts > 1) return fail(400, "more than one Host header");
    if (h.version() == 11 && hosts == 0) return fail(400, "missing Host header");

    auto parts = split_target(h.target());
    if (!parts) return fail(400, "invalid request target");
    if (parts->path == "*" && h.method() != bhttp::verb::options) return fail(400, "invalid request target");
    path_ = parts->path;
    query_ = parts->query;

    // Framing (RFC 9112 6.1, 6.3): chunked is the only transfer coding we
    // accept, alone, in one field, never with Content-Length, never in 1.0.
    const auto te_count = h.count(bhttp::field::transfer_encoding);
    if (te_count > 0) {
        if (h.version() == 10) return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
        if (te_count > 1) return fail(501, "unsupported transfer coding");
        if (!iequals(trim(h[bhttp::field::transfer_encoding]), "chunked"))
            return fail(501, "unsupported transfer coding");
        if (h.count(bhttp::field::content_length) > 0)
            return fail(400, "both Transfer-Encoding and Content-Length");
        if (!parser_.chunked()) return fail(400, "invalid Transfer-Encoding");
    }
    chunked_ = parser_.chunked();
    if (const auto cl = parser_.content_length()) content_length_ = *cl;
    has_body_ = chunked_ || (content_length_ && *content_length_ > 0);

    // RFC 9110 10.1.1: 100-continue is the only expectation; 1.0 requests'
    // expectations are ignored.
    if (h.version() == 11) {
        // Walk the whole list: Beast's equal_range spans list positions, not
        // just the fields with that name.
        for (const auto& f : h) {
            if (f.name() != bhttp::field::expect) continue;
            if (!iequals(trim(f.value()), "100-continue")) return fail(417, "unsupported expectation");
            expect_continue_ = true;
        }
        // Without a body there is nothing to continue to.
        if (!has_body_) expect_continue_ = false;
    }
}

request_decoder::body_progress request_decoder::feed_body(std::string_view data, std::span<char> out) {
    body_progress p;
    while (state_ == state::body && !data.empty() && p.produced < out.size()) {
        auto& body = parser_.get().body();
        body.data = out.data() + p.produced;
        body.size = out.size() - p.produced;
        beast::error_code ec;
        const std::size_t used = parser_.put(boost::asio::const_buffer(data.data(), data.size()), ec);
        const std::size_t wrote = (out.size() - p.produced) - body.size;
        body.data = nullptr;
        body.size = 0;
        data.remove_prefix(used);
        p.consumed += used;
        p.produced += wrote;
        body_bytes_ += wrote;
        if (parser_.is_done()) {
            state_ = state::complete;
            break;
        }
        if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) {
            if (used == 0 && wrote == 0) break;   // needs more input (or more room) to progress
            continue;
        }
        if (ec) {
            fail(400, describe_parse_error(ec));
            break;
        }
        if (used == 0 && wrote == 0) break;
    }
    return p;
}

}  // namespace polder::http
