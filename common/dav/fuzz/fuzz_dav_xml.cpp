// fuzz_dav_xml.cpp - libFuzzer target: request bodies through the XML parser
// (whole and split in two at a position taken from the input) and every
// request-body parser of polder::dav, then the serializer.
//
// SECURITY: checks invariants, not just "no crash": the incremental and the
// one-shot parse agree; a serialized tree parses again to the same
// serialization (the self-contained namespace property dead-property storage
// relies on); a multistatus with the values is well-formed XML.
// STANDARDS: see polder/dav/xml.hpp and requests.hpp.
#include "polder/dav/multistatus.hpp"
#include "polder/dav/requests.hpp"
#include "polder/dav/xml.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace polder::dav;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    xml_limits limits;
    limits.max_bytes = 64 * 1024;
    std::string reason;
    auto whole = parse_xml(input, reason, limits);

    // The same bytes in two pieces must give the same outcome.
    const std::size_t cut = size ? data[0] % (size + 1) : 0;
    xml_parser p(limits);
    auto fed = p.feed(input.substr(0, cut));
    if (fed) fed = p.feed(input.substr(cut));
    auto split = fed ? p.finish() : polder::result<xml_element>(fed.error());
    if (whole.has_value() != split.has_value()) std::abort();
    if (!whole) {
        if (reason.empty()) std::abort();
        return 0;
    }
    const std::string once = serialize(*whole);
    if (once != serialize(*split)) std::abort();
    std::string again_reason;
    auto again = parse_xml(once, again_reason, {.max_bytes = once.size() + 1, .max_depth = 1000, .max_elements = 1u << 30});
    if (!again || serialize(*again) != once) std::abort();

    std::string r;
    (void)parse_propfind(*whole, r);
    (void)parse_lockinfo(*whole, r);
    (void)parse_sync_collection(*whole, r);
    if (auto ops = parse_proppatch(*whole, r)) {
        multistatus ms;
        propstat_group g;
        for (const auto& op : *ops) g.props.push_back(op.prop);
        ms.add_propstat("/x", {g});
        const std::string body = ms.finish();
        std::string mr;
        if (!parse_xml(body, mr, {.max_bytes = body.size() + 1, .max_depth = 1000, .max_elements = 1u << 30})) std::abort();
    }
    return 0;
}
