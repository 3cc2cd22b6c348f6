// cmd_get.cpp - OPTIONS, GET and HEAD.
//
// GET of a file streams it from the blob store one buffer at a time (the
// HTTP session pulls; the client's reading speed paces us; on a plain
// connection the session sends a single range with sendfile(2)), or from the
// bytes read with the node when a small file keeps them in PostgreSQL
// (schema/0302_files_inline.sql), with Range /
// If-Range (a single range: 206 with Content-Range; several: 206
// multipart/byteranges, RFC 9110 14.6) and the conditional fields. GET of a collection is a small HTML
// index (bounded) so a browser shows something useful.
//
// SECURITY: the blob is named by the node's blob id from the database, never
// by request text; names in the HTML index are escaped.
// STANDARDS: RFC 9110 9.3.1-9.3.2 (GET, HEAD), 13.1.1-13.1.5 (If-Match,
// If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range), 14 (Range,
// 206, 416, multipart/byteranges), RFC 4918 10.1 (DAV header), 18 (compliance classes).
#include "service.hpp"

#include "polder/dav/xml.hpp"
#include "polder/http/date.hpp"
#include "polder/http/etag.hpp"
#include "polder/http/range.hpp"

#include <cstring>
#include <random>

namespace polder::webdav {

using http::field;

namespace {

// multipart_body - a multipart/byteranges body (RFC 9110 14.6) streamed from
// the blob: each part's header, then that range's bytes from a reader opened
// only when the part starts, so memory stays one buffer whatever the ranges.
struct multipart_body {
    blob::store* blobs = nullptr;
    blob::blob_id id;
    std::shared_ptr<const std::string> held;   // the bytes, when kept in PostgreSQL
    std::vector<http::byte_range> ranges;
    std::vector<std::string> heads;   // one per range
    std::string tail;
    std::size_t part = 0;
    std::size_t offset = 0;           // into heads[part] (or tail)
    bool in_body = false;
    std::optional<blob::reader> reader;

    awaitable<result<std::size_t>> operator()(std::span<char> buffer) {
        while (part < ranges.size()) {
            if (!in_body) {
                const std::string& h = heads[part];
                if (offset < h.size()) {
                    const std::size_t n = std::min(buffer.size(), h.size() - offset);
                    std::memcpy(buffer.data(), h.data() + offset, n);
                    offset += n;
                    co_return n;
                }
                auto r = held ? blob::memory_reader(held, ranges[part].first, ranges[part].length())
                              : blobs->open(id, ranges[part].first, ranges[part].length());
                if (!r) co_return r.error();
                reader = std::move(*r);
                in_body = true;
            }
            auto n = reader->read(std::as_writable_bytes(buffer));
            if (!n) co_return n.error();
            if (*n > 0) co_return *n;
            reader.reset();
            in_body = false;
            offset = 0;
            ++part;
        }
        const std::size_t n = std::min(buffer.size(), tail.size() - std::min(offset, tail.size()));
        std::memcpy(buffer.data(), tail.data() + offset, n);
        offset += n;
        co_return n;
    }
};

// reader_source - one range of a file: pulled through read(), or, when the blob store
// keeps it in a local file, handed to the HTTP session as that file's range (sendfile
// on plain connections).
class reader_source final : public http::body_source {
public:
    explicit reader_source(blob::reader rd) : rd_(std::move(rd)) {}
    awaitable<result<std::size_t>> read(std::span<char> buffer) override {
        co_return rd_.read(std::as_writable_bytes(buffer));
    }
    std::optional<http::file_range> file() const override {
        auto f = rd_.file();
        if (!f) return std::nullopt;
        return http::file_range{f->fd, f->offset, f->length};
    }

private:
    blob::reader rd_;
};

std::string new_boundary() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[40];
    std::snprintf(buf, sizeof buf, "polder-%016llx%08llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng() & 0xffffffffu));
    return buf;
}

}  // namespace

std::unique_ptr<http::body_source> make_reader_source(blob::reader rd) {
    return std::make_unique<reader_source>(std::move(rd));
}

awaitable<http::response> service::cmd_options(ctx& c) {
    http::response r;
    r.code = http::status::ok;
    r.headers.set(field::allow,
                  "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK, REPORT");
    r.headers.set("DAV", "1, 2, 3");
    r.headers.set("MS-Author-Via", "DAV");
    r.headers.set(field::accept_ranges, "bytes");
    r.content_length = 0;
    co_return r;
}

awaitable<http::response> service::cmd_get(ctx& c) {
    struct loaded {
        std::optional<node> n;
        std::vector<node> kids;
        std::shared_ptr<const std::string> held;   // a small file's bytes kept in PostgreSQL (schema 0302)
    };
    auto data = co_await pool_.transact([&](pqxx::work& tx) {
        loaded l;
        const home h = open_home(tx, c.who, c.sp);
        l.n = store::find(tx, h.id, c.target.path);
        if (l.n && l.n->collection) {
            l.kids = store::children(tx, l.n->id);
            if (l.kids.size() > 10000) l.kids.resize(10000);
        } else if (l.n && l.n->size <= static_cast<std::int64_t>(store::inline_limit) &&
                   c.req.method() != http::verb::head) {
            // Looked for whatever webdav.inline_max_bytes is now: it may have
            // been higher when the file was written.
            if (auto bytes = store::inline_content(tx, l.n->blob_id))
                l.held = std::make_shared<const std::string>(std::move(*bytes));
        }
        return l;
    });
    if (!data.n) co_return plain(404, "not found");
    const node& n = *data.n;
    const bool head = c.req.method() == http::verb::head;

    // RFC 9110 13.2.2: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since.
    auto current = http::parse_entity_tag(n.etag);
    const auto if_match = c.req.header(field::if_match);
    if (!if_match.empty() && http::match_etag_list(if_match, current, false) == http::etag_list_match::not_matched)
        co_return plain(412, "precondition failed");
    if (if_match.empty()) {
        if (auto t = http::parse_http_date(c.req.header(field::if_unmodified_since)); t && n.modified > *t)
            co_return plain(412, "precondition failed");
    }
    const auto if_none = c.req.header(field::if_none_match);
    bool not_modified = false;
    if (!if_none.empty()) {
        const auto m = http::match_etag_list(if_none, current, true);
        not_modified = m == http::etag_list_match::matched || m == http::etag_list_match::any;
    } else if (auto t = http::parse_http_date(c.req.header(field::if_modified_since)); t && n.modified <= *t) {
        not_modified = true;
    }
    if (not_modified) {
        http::response r;
        r.code = http::status::not_modified;
        r.headers.set(field::etag, n.etag);
        r.headers.set(field::last_modified, http::format_http_date(n.modified));
        co_return r;
    }

    if (n.collection) {
        std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" +
                           dav::escape_text(n.path == c.sp.root ? c.sp.display : n.path) + "</title></head><body><ul>\n";
        for (const auto& k : data.kids) {
            const std::string link = c.href(k.path, k.collection);
            html += "<li><a href=\"" + dav::escape_attribute(link) + "\">" + dav::escape_text(k.name) +
                    (k.collection ? "/" : "") + "</a></li>\n";
        }
        html += "</ul></body></html>\n";
        auto r = http::text_response(http::status::ok, std::move(html), "text/html; charset=utf-8");
        r.headers.set(field::etag, n.etag);
        co_return r;
    }

    const auto size = static_cast<std::uint64_t>(n.size);
    std::uint64_t first = 0;
    std::uint64_t length = size;
    http::status code = http::status::ok;
    const auto range_value = c.req.header(field::range);
    std::string content_range;
    if (!range_value.empty()) {
        const auto if_range = c.req.header(field::if_range);
        if (if_range.empty() || http::if_range_allows_partial(if_range, n.etag, n.modified)) {
            auto rr = http::parse_range(range_value, size);
            if (rr.outcome == http::range_outcome::unsatisfiable) {
                auto r = plain(416, "range not satisfiable");
                r.headers.set(field::content_range, http::unsatisfied_content_range(size));
                co_return r;
            }
            if (rr.outcome == http::range_outcome::partial && rr.ranges.size() > 1) {
                // Several ranges (merged and at most 32, http::parse_range): one
                // multipart/byteranges answer with the exact Content-Length.
                const std::string type = n.content_type.empty() ? "application/octet-stream" : n.content_type;
                const std::string boundary = new_boundary();
                multipart_body body;
                body.blobs = &blobs_;
                std::uint64_t total = 0;
                for (std::size_t i = 0; i < rr.ranges.size(); ++i) {
                    std::string h = (i == 0 ? "--" : "\r\n--") + boundary + "\r\nContent-Type: " + type +
                                    "\r\nContent-Range: " + http::content_range(rr.ranges[i], size) + "\r\n\r\n";
                    total += h.size() + rr.ranges[i].length();
                    body.heads.push_back(std::move(h));
                }
                body.tail = "\r\n--" + boundary + "--\r\n";
                total += body.tail.size();
                body.ranges = rr.ranges;
                http::response r;
                r.code = http::status::partial_content;
                r.headers.set(field::etag, n.etag);
                r.headers.set(field::last_modified, http::format_http_date(n.modified));
                r.headers.set(field::accept_ranges, "bytes");
                r.headers.set(field::content_type, "multipart/byteranges; boundary=" + boundary);
                r.content_length = total;
                if (head) co_return r;
                auto blob_id = blob::blob_id::from_hex(n.blob_id);
                if (!blob_id) co_return plain(500, "internal error");
                body.id = *blob_id;
                body.held = data.held;
                r.source = http::make_body_source(std::move(body));
                co_return r;
            }
            if (rr.outcome == http::range_outcome::partial && rr.ranges.size() == 1) {
                first = rr.ranges[0].first;
                length = rr.ranges[0].length();
                code = http::status::partial_content;
                content_range = http::content_range(rr.ranges[0], size);
            }
        }
    }

    http::response r;
    r.code = code;
    r.headers.set(field::etag, n.etag);
    r.headers.set(field::last_modified, http::format_http_date(n.modified));
    r.headers.set(field::accept_ranges, "bytes");
    r.headers.set(field::content_type, n.content_type.empty() ? "application/octet-stream" : n.content_type);
    if (!content_range.empty()) r.headers.set(field::content_range, content_range);
    r.content_length = length;
    if (head || length == 0) co_return r;

    auto blob_id = blob::blob_id::from_hex(n.blob_id);
    if (!blob_id) co_return plain(500, "internal error");
    auto reader = data.held ? blob::memory_reader(data.held, first, length) : blobs_.open(*blob_id, first, length);
    if (!reader) co_return plain(500, "internal error");
    r.source = std::make_unique<reader_source>(std::move(*reader));
    co_return r;
}

}  // namespace polder::webdav
