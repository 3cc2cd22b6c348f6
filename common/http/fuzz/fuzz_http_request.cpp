// fuzz_http_request.cpp - libFuzzer target for the request path the server runs
// on untrusted bytes: request_decoder (head and body, pipelined messages, any
// fragmentation), then the header helpers a handler applies to the parsed head
// (percent-decoding of the path, Basic credentials, Range, If-Range, ETag lists).
//
// Input layout: byte 0 picks the fragment size (how many bytes "arrive" per
// socket read, 1..256, 0 = all at once); the rest is the byte stream of one
// connection.
//
// SECURITY: asserts the decoder's invariants (progress, bounded output,
// consumed <= offered) so silent misbehaviour is caught, not just crashes.
// STANDARDS: RFC 9112 (message syntax), RFC 9110 (fields), RFC 7617.
#include "polder/http/basic_auth.hpp"
#include "polder/http/etag.hpp"
#include "polder/http/range.hpp"
#include "polder/http/request_decoder.hpp"
#include "polder/http/uri.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void exercise_head(const polder::http::request_decoder& d) {
    namespace h = polder::http;
    (void)h::percent_decode(d.path());
    (void)h::percent_decode(d.query(), {.allow_encoded_slash = true, .plus_as_space = true});
    const auto& head = d.head();
    if (auto it = head.find(boost::beast::http::field::authorization); it != head.end())
        (void)h::parse_basic_authorization(it->value());
    if (auto it = head.find(boost::beast::http::field::range); it != head.end()) {
        for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000}, ~std::uint64_t{0}}) {
            auto r = h::parse_range(it->value(), size);
            for (const auto& br : r.ranges) check(br.first <= br.last && br.last < size);
        }
    }
    if (auto it = head.find(boost::beast::http::field::if_range); it != head.end())
        (void)h::if_range_allows_partial(it->value(), "\"abc\"", 784111777);
    if (auto it = head.find(boost::beast::http::field::if_match); it != head.end())
        (void)h::match_etag_list(it->value(), h::entity_tag{"abc", false}, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t fragment = data[0] == 0 ? size : data[0];
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    polder::http::head_limits limits;
    limits.max_header_bytes = 4096;   // small, so the fuzzer reaches the limit paths
    limits.max_header_fields = 20;

    std::string buffer;   // what the session would hold
    std::size_t offered = 0;
    std::array<char, 512> out;
    int messages = 0;
    auto decoder = std::make_unique<polder::http::request_decoder>(limits);

    while (messages < 16) {
        // Deliver the next fragment, as a socket read would.
        if (offered < input.size()) {
            const auto n = std::min(fragment, input.size() - offered);
            buffer.append(input.substr(offered, n));
            offered += n;
        }
        const bool more_input = offered < input.size();
        auto& d = *decoder;
        bool progressed = false;

        if (d.current() == polder::http::request_decoder::state::head) {
            const auto used = d.feed_head(buffer);
            check(used <= buffer.size());
            buffer.erase(0, used);
            if (used > 0) progressed = true;
            if (d.current() == polder::http::request_decoder::state::head) {
                // A head may never outgrow the limit without being refused.
                check(buffer.size() <= limits.max_header_bytes);
            } else {
                progressed = true;
                if (d.current() != polder::http::request_decoder::state::failed) exercise_head(d);
            }
        }
        while (d.current() == polder::http::request_decoder::state::body && !buffer.empty()) {
            const auto before = d.body_bytes();
            const auto p = d.feed_body(buffer, out);
            check(p.consumed <= buffer.size());
            check(p.produced <= out.size());
            check(d.body_bytes() == before + p.produced);
            if (d.content_length()) check(d.body_bytes() <= *d.content_length());
            buffer.erase(0, p.consumed);
            if (p.consumed == 0 && p.produced == 0) break;
            progressed = true;
        }
        if (d.current() == polder::http::request_decoder::state::failed) break;
        if (d.current() == polder::http::request_decoder::state::complete) {
            // Pipelining: the next request starts with what is left.
            ++messages;
            decoder = std::make_unique<polder::http::request_decoder>(limits);
            continue;
        }
        if (!more_input && !progressed) break;
    }
    return 0;
}
