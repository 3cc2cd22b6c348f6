// fuzz_smtpd_input.cpp - libFuzzer target: polder-smtpd's byte input (services/smtp/src/
// input.cpp) driven the way a session drives it: command lines, and after each "DATA" line
// the message content up to its end marker, over an in-memory stream in fragments.
//
// SECURITY: checked on every input: no crash or sanitizer report, memory bounded, and the
// session consumes the input identically whatever the fragment size (network bytes arrive
// split anywhere, so a fragment-dependent result would be a desynchronisation - the root
// of SMTP smuggling).
// STANDARDS: RFC 5321 2.3.8, 4.1.1.4, 4.5.2.
#include "input.hpp"

#include "polder/net/memory_stream.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace polder;

std::vector<std::string> drive(std::string_view bytes, std::size_t fragment) {
    asio::io_context io;
    net::memory_stream s(io.get_executor(), std::string(bytes), fragment);
    s.feed_eof();
    std::vector<std::string> events;
    // A named lambda: its captures must outlive the coroutine, which runs in io.run() below.
    auto session = [&]() -> awaitable<void> {
            smtpd::input in(s);
            for (int guard = 0; guard < 10000; ++guard) {
                auto l = co_await in.read_line(510);
                if (!l) {
                    if (is(l.error(), errc::limit_exceeded)) {
                        events.push_back("too-long");
                        continue;
                    }
                    events.push_back("end");
                    co_return;
                }
                events.push_back("line:" + std::string(l->text) + (l->bare_lf ? "|lf" : ""));
                if (l->text == "DATA") {
                    smtp::data_reader r(4096);
                    std::string content;
                    auto d = co_await in.read_data(r, [&](std::string_view b) { content += b; });
                    if (!d) {
                        events.push_back("data-end");
                        co_return;
                    }
                    // What a refused message emitted before its fault depends on buffering
                    // and is discarded by the session, so only accepted content must match.
                    const bool ok = r.status() == smtp::content_status::ok;
                    events.push_back("data:" + std::to_string(static_cast<int>(r.status())) + ":" +
                                     (ok ? content : std::string()));
                }
            }
    };
    asio::co_spawn(io, session(), asio::detached);
    io.run();
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto whole = drive(in, static_cast<std::size_t>(-1));
    for (std::size_t frag : {1u, 3u, 7u}) {
        if (drive(in, frag) != whole) std::abort();
    }
    return 0;
}
