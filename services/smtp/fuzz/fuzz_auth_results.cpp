// fuzz_auth_results.cpp - libFuzzer target: the header-section handling of the inbound
// checks (src/auth_results.hpp) on untrusted message headers: split_fields,
// authserv_id_of, remove_forged_results, and pvalue / authentication_results_field on
// values taken from the input.
//
// SECURITY: checked on every input: no crash or sanitizer report; removing forged fields
// only ever shortens the block and leaves no field naming our authserv-id; the generated
// field never contains a CR or LF that does not start a folded continuation line.
// STANDARDS: RFC 8601 (2.2, 5), RFC 5322 2.2.3.
#include "auth_results.hpp"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace polder::smtpd;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto block = in.substr(0, header_end(in));
    std::size_t joined = 0;
    for (auto f : split_fields(block)) joined += f.size();
    if (joined != block.size()) std::abort();

    constexpr std::string_view id = "mx.gemeente.example";
    std::size_t removed = 0;
    const auto kept = remove_forged_results(block, id, &removed);
    if (kept.size() > block.size()) std::abort();
    for (auto f : split_fields(kept)) {
        auto name = field_name(f);
        if (name.size() != 22) continue;
        std::string lower(name);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower != "authentication-results") continue;
        auto parsed = authserv_id_of(f.substr(f.find(':') + 1));
        if (parsed) {
            std::string p = *parsed;
            for (auto& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (p == id) std::abort();
        }
    }

    // Values from the input in the field we write: no header injection.
    const auto half = in.substr(0, in.size() / 2), rest = in.substr(in.size() / 2);
    const auto field = authentication_results_field(
        id, {{"dkim", "fail", std::string(half), {{"header.d", std::string(rest)}, {"header.s", std::string(half)}}}});
    for (std::size_t i = 0; i < field.size(); ++i) {
        const char c = field[i];
        if (c == '\n' && (i == 0 || field[i - 1] != '\r')) std::abort();
        if (c == '\r') {
            if (i + 1 >= field.size() || field[i + 1] != '\n') std::abort();
            if (i + 2 < field.size() && field[i + 2] != '\t') std::abort();   // only folding
        }
    }
    return 0;
}
