// fuzz_smtp_data.cpp - libFuzzer target: the DATA and BDAT readers.
//
// SECURITY: the property that matters against smuggling is checked on every input: the
// reader ends exactly at the first CRLF "." CRLF of the stream (never at a bare-LF or
// bare-CR variant), and feeding the same bytes in fragments of any size gives the same
// consumed count and status as feeding them whole (and the same output when accepted).
// STANDARDS: RFC 5321 §4.1.1.4, §4.5.2; RFC 3030.
#include "polder/smtp/proto/data_reader.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

struct run {
    std::size_t consumed = 0;
    bool done = false;
    polder::smtp::content_status status{};
    std::string out;
};

run feed(std::string_view in, std::size_t step, std::uint64_t max) {
    polder::smtp::data_reader r(max);
    run res;
    while (res.consumed < in.size() && !r.done()) {
        const std::string_view piece = in.substr(res.consumed, step);
        res.consumed += r.feed(piece, [&](std::string_view b) {
            if (b.empty()) std::abort();
            res.out.append(b);
        });
    }
    res.done = r.done();
    res.status = r.status();
    return res;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace polder::smtp;
    if (size < 2) return 0;
    const std::size_t step = 1 + data[0] % 17;
    const std::uint64_t max = data[1] < 128 ? data[1] * 8u : UINT64_MAX;
    const std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);

    const run whole = feed(in, in.size() + 1, max);
    const run parts = feed(in, step, max);
    if (whole.consumed != parts.consumed || whole.done != parts.done || whole.status != parts.status)
        std::abort();
    // Content is compared only for accepted messages: of a refused one, whatever had been
    // streamed before the offending octet depends on the fragmentation (and is discarded).
    if (whole.status == polder::smtp::content_status::ok && whole.out != parts.out) std::abort();

    // The end is exactly the first CRLF.CRLF (the data starts at a line start).
    const std::string framed = "\r\n" + std::string(in);
    const std::size_t marker = framed.find("\r\n.\r\n");
    if (marker == std::string::npos) {
        if (whole.done) std::abort();
    } else {
        if (!whole.done || whole.consumed != marker + 5 - 2) std::abort();
    }
    if (whole.status == content_status::ok && whole.done) {
        // An accepted message has only CRLF line ends.
        for (std::size_t i = 0; i < whole.out.size(); ++i) {
            if (whole.out[i] == '\n' && (i == 0 || whole.out[i - 1] != '\r')) std::abort();
            if (whole.out[i] == '\r' && (i + 1 == whole.out.size() || whole.out[i + 1] != '\n')) std::abort();
        }
    }

    // BDAT: chunks of `step` octets; the content is passed through unchanged when accepted.
    bdat_reader b(max, true);
    std::string out;
    std::size_t pos = 0;
    while (pos < in.size()) {
        b.begin_chunk(std::min<std::size_t>(step, in.size() - pos));
        while (!b.chunk_done()) pos += b.feed(in.substr(pos, 3), [&](std::string_view c) { out.append(c); });
    }
    b.finish();
    if (b.status() == content_status::ok && out != in) std::abort();
    if (b.size() != in.size()) std::abort();
    return 0;
}
