// merge.cpp - many stored calendar objects into one VCALENDAR (see merge.hpp).
//
// SECURITY: objects go through calendar_object::parse (size, control characters, UTF-8,
// libical errors, component/property/VTIMEZONE bounds) before anything is merged;
// header values are escaped and folded by text_content_line.
// STANDARDS: RFC 5545 3.1, 3.3.11, 3.6.5, 3.2.19; RFC 7986 5.1, 5.2.
#include "polder/ical/merge.hpp"

#include "polder/ical/calendar.hpp"

#include "libical.hpp"

#include <cstring>

namespace polder::ical {

using namespace detail;

namespace {

// comparison_key - the VTIMEZONE without the properties that do not change its rules,
// serialised: two clients' copies of one zone often differ only there.
std::string comparison_key(icalcomponent* zone) {
    component_ptr copy(icalcomponent_new_clone(zone));
    std::vector<icalproperty*> drop;
    for (icalproperty* p = icalcomponent_get_first_property(copy.get(), ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(copy.get(), ICAL_ANY_PROPERTY)) {
        const auto k = icalproperty_isa(p);
        if (k == ICAL_X_PROPERTY || k == ICAL_LASTMODIFIED_PROPERTY || k == ICAL_TZURL_PROPERTY) drop.push_back(p);
    }
    for (icalproperty* p : drop) {
        icalcomponent_remove_property(copy.get(), p);
        icalproperty_free(p);
    }
    return serialize(copy.get());
}

// rename_tzids - every TZID parameter of c and its subcomponents found in `renamed`
// gets the new name.
void rename_tzids(icalcomponent* c, const std::map<std::string, std::string>& renamed) {
    for (icalproperty* p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
        icalparameter* q = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        if (!q) continue;
        const char* tzid = icalparameter_get_tzid(q);
        if (!tzid) continue;
        auto it = renamed.find(tzid);
        if (it != renamed.end()) icalparameter_set_tzid(q, it->second.c_str());
    }
    for (icalcomponent* k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
         k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        rename_tzids(k, renamed);
}

}  // namespace

std::string text_content_line(std::string_view name, std::string_view value) {
    std::string line(name);
    line += ':';
    for (char ch : value) {
        switch (ch) {
        case '\\': line += "\\\\"; break;
        case ';': line += "\\;"; break;
        case ',': line += "\\,"; break;
        case '\n': line += "\\n"; break;
        default:
            if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) break;   // no other control characters
            line += ch;
        }
    }
    // Fold: at most 75 octets per physical line (the leading space of a continuation
    // counts), never inside a UTF-8 sequence.
    std::string out;
    std::size_t width = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const auto u = static_cast<unsigned char>(line[i]);
        const bool starts_char = (u & 0xC0) != 0x80;
        if (starts_char) {
            std::size_t len = u < 0x80 ? 1 : u >= 0xF0 ? 4 : u >= 0xE0 ? 3 : u >= 0xC0 ? 2 : 1;
            if (width + len > 75) {
                out += "\r\n ";
                width = 1;
            }
        }
        out += line[i];
        ++width;
    }
    out += "\r\n";
    return out;
}

result<std::string> calendar_merger::add(std::string_view object_text) {
    if (object_text.size() > max_object_size) return make_error_code(errc::limit_exceeded);
    limits lim;
    lim.max_size = max_object_size;
    // The store bounds an object's size, not its component count, and the service's
    // limits are configuration: a 16 MiB object holds at most this many lines.
    lim.max_components = 1'000'000;
    lim.max_properties = 4'000'000;
    auto parsed = calendar_object::parse(object_text, lim);
    if (!parsed) return parsed.error();
    icalcomponent* root = parsed->get().root.get();

    std::map<std::string, std::string> renamed;
    std::vector<icalcomponent*> zones, others;
    for (icalcomponent* c = icalcomponent_get_first_component(root, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(root, ICAL_ANY_COMPONENT))
        (icalcomponent_isa(c) == ICAL_VTIMEZONE_COMPONENT ? zones : others).push_back(c);

    for (icalcomponent* z : zones) {
        icalproperty* tp = icalcomponent_get_first_property(z, ICAL_TZID_PROPERTY);
        const char* tzid_c = tp ? icalproperty_get_tzid(tp) : nullptr;
        if (!tzid_c || !*tzid_c) continue;   // a VTIMEZONE without TZID cannot be referenced
        const std::string tzid = tzid_c;
        const std::string key = comparison_key(z);
        auto& defs = zones_[tzid];
        std::size_t idx = 0;
        while (idx < defs.size() && defs[idx].first != key) ++idx;
        const std::string name = idx == 0 ? tzid : tzid + "-" + std::to_string(idx + 1);
        if (idx == defs.size()) {
            component_ptr copy(icalcomponent_new_clone(z));
            if (idx > 0) {
                icalproperty* cp = icalcomponent_get_first_property(copy.get(), ICAL_TZID_PROPERTY);
                icalproperty_set_tzid(cp, name.c_str());
            }
            std::string text = serialize(copy.get());
            defs.emplace_back(key, text);
            zone_order_.push_back(std::move(text));
        }
        if (idx > 0) renamed[tzid] = name;
    }

    std::string out;
    for (icalcomponent* c : others) {
        if (!renamed.empty()) rename_tzids(c, renamed);
        out += serialize(c);
        ++components_;
    }
    ++objects_;
    return out;
}

std::string calendar_merger::header() const {
    std::string out = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n";
    out += text_content_line("PRODID", header_.prodid);
    out += "CALSCALE:GREGORIAN\r\n";
    if (!header_.displayname.empty()) {
        out += text_content_line("NAME", header_.displayname);
        out += text_content_line("X-WR-CALNAME", header_.displayname);
    }
    if (!header_.description.empty()) {
        out += text_content_line("DESCRIPTION", header_.description);
        out += text_content_line("X-WR-CALDESC", header_.description);
    }
    if (!header_.color.empty()) out += text_content_line("X-APPLE-CALENDAR-COLOR", header_.color);
    for (const auto& z : zone_order_) out += z;
    return out;
}

}  // namespace polder::ical
