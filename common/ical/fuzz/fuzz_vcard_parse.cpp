// fuzz_vcard_parse.cpp - libFuzzer target: the vCard content-line parser, validation,
// addressbook-query evaluation and directory vCard generation.
//
// SECURITY: checks guarantees, not just "no crash": a valid card has a UID, FN and a
// supported VERSION, every value it carries is UTF-8, the card written back by
// address_data validates again with the same UID, FN and property count, and a directory
// vCard built from its fields validates again with the same UID and FN.
// STANDARDS: see polder/ical/vcard.hpp.
#include "polder/ical/vcard.hpp"

#include <glib.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void require(bool ok) {
    if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace polder::ical;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    vcard_limits lim;
    lim.max_size = 64 * 1024;
    lim.max_line = 16 * 1024;
    (void)parse_vcard(text, lim);
    const auto v = validate_vcard(text, lim);
    if (!v.ok()) {
        require(!v.reason.empty() && !v.card);
        return 0;
    }
    const auto& c = *v.card;
    require(!c.uid.empty() && c.find("FN") && (c.version == "3.0" || c.version == "4.0"));
    for (const auto& p : c.properties) require(g_utf8_validate(p.value.data(), static_cast<gssize>(p.value.size()), nullptr));
    card_filter f;
    card_prop_filter email;
    email.name = "EMAIL";
    email.matches.push_back(text_match{"@", "i;unicode-casemap", match_type::contains, false});
    card_prop_filter fn;
    fn.name = "FN";
    card_param_filter type;
    type.name = "TYPE";
    fn.params.push_back(type);
    f.props = {email, fn};
    require(matches(c, f).has_value());
    const auto written = validate_vcard(address_data(c), lim);
    require(written.ok() && written.card->uid == c.uid && written.card->fn == c.fn &&
            written.card->properties.size() == c.properties.size());
    directory_entry e;
    e.uid = c.uid;
    e.display_name = c.fn.empty() ? "x" : c.fn;
    if (!c.emails.empty()) e.email = c.emails.front().value;
    e.organisation = c.org;
    const auto again = validate_vcard(directory_vcard(e));
    require(again.ok() && again.card->uid == c.uid && again.card->fn == e.display_name);
    return 0;
}
