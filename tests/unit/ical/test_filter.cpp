// test_filter.cpp - calendar-query filters (RFC 4791 9.7) and collations (RFC 4790, 5051).
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "polder/ical/filter.hpp"

using namespace polder::ical;
using polder_test::read_sample;

namespace {

utc_time t(const char* s) { return from_utc_text(s).value(); }

calendar_object load(const std::string& file) {
    auto v = validate(read_sample(file));
    if (!v.ok()) throw std::runtime_error(file + ": " + v.reason);
    return std::move(*v.object);
}

comp_filter vcalendar(comp_filter inner) {
    comp_filter f{.name = "VCALENDAR"};
    f.comps.push_back(std::move(inner));
    return f;
}

bool run(const calendar_object& o, const comp_filter& f, const time_zone* tz = nullptr) {
    auto r = matches(o, f, tz);
    if (!r) throw std::runtime_error(r.error().message());
    return *r;
}

text_match match_of(std::string text, std::string coll = "i;ascii-casemap", match_type type = match_type::contains,
              bool negate = false) {
    return text_match{std::move(text), std::move(coll), type, negate};
}

}  // namespace

TEST_CASE("collations fold as RFC 4790 and RFC 5051 define them") {
    CHECK(fold(collation::ascii_casemap, "Straße é").key == "STRAßE é");
    CHECK(fold(collation::octet, "aB").key == "aB");
    CHECK(fold(collation::unicode_casemap, "é").key == fold(collation::unicode_casemap, "E\xCC\x81").key);  // NFD
    CHECK(fold(collation::unicode_casemap, "ÉCOLE").key == fold(collation::unicode_casemap, "école").key);
    CHECK_FALSE(fold(collation::unicode_casemap, "\xff\xfe").ok);
}

TEST_CASE("text-match honours collation, match type and negation") {
    CHECK(text_matches(match_of("overleg"), "Werkoverleg Burgerzaken").value());
    CHECK_FALSE(text_matches(match_of("overleg", "i;octet"), "WERKOVERLEG").value());
    CHECK(text_matches(match_of("werk", "i;ascii-casemap", match_type::starts_with), "Werkoverleg").value());
    CHECK_FALSE(text_matches(match_of("werk", "i;ascii-casemap", match_type::ends_with), "Werkoverleg").value());
    CHECK(text_matches(match_of("OVERLEG", "i;ascii-casemap", match_type::ends_with), "Werkoverleg").value());
    CHECK(text_matches(match_of("werkoverleg", "i;ascii-casemap", match_type::equals), "WerkOverleg").value());
    CHECK(text_matches(match_of("ÉÉN", "i;unicode-casemap"), "Dit is één test").value());
    CHECK_FALSE(text_matches(match_of("ÉÉN", "i;ascii-casemap"), "Dit is één test").value());
    CHECK_FALSE(text_matches(match_of("overleg", "i;ascii-casemap", match_type::contains, true), "Werkoverleg").value());
    CHECK(text_matches(match_of("x", "i;ascii-casemap", match_type::contains, true), "Werkoverleg").value());
    auto bad = text_matches(match_of("x", "i;klingon"), "y");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == make_error_code(ical_errc::unsupported_collation));
}

TEST_CASE("a comp-filter on VEVENT matches events and not tasks") {
    const auto ev = load("google_event.ics");
    const auto todo = load("todo.ics");
    const auto f = vcalendar(comp_filter{.name = "VEVENT"});
    CHECK(run(ev, f));
    CHECK_FALSE(run(todo, f));
    CHECK(run(todo, vcalendar(comp_filter{.name = "VTODO"})));
    CHECK(run(ev, comp_filter{.name = "VCALENDAR"}));
}

TEST_CASE("is-not-defined on a component, a property and a parameter") {
    const auto ev = load("thunderbird_event.ics");
    CHECK_FALSE(run(ev, vcalendar(comp_filter{.name = "VEVENT", .is_not_defined = true})));
    CHECK(run(ev, vcalendar(comp_filter{.name = "VTODO", .is_not_defined = true})));
    comp_filter no_rrule{.name = "VEVENT"};
    no_rrule.props.push_back(prop_filter{.name = "RRULE", .is_not_defined = true});
    CHECK(run(ev, vcalendar(no_rrule)));
    CHECK_FALSE(run(load("unbounded_daily.ics"), vcalendar(no_rrule)));
    // Any VEVENT counts: the Apple series' moved instance has no RRULE of its own.
    CHECK(run(load("apple_recurring.ics"), vcalendar(no_rrule)));
    comp_filter alarm{.name = "VEVENT"};
    alarm.comps.push_back(comp_filter{.name = "VALARM"});
    CHECK(run(ev, vcalendar(alarm)));
    CHECK_FALSE(run(load("google_event.ics"), vcalendar(alarm)));
    // An attendee without a ROLE parameter: Google's attendees all have one.
    comp_filter role{.name = "VEVENT"};
    role.props.push_back(prop_filter{.name = "ATTENDEE", .params = {param_filter{.name = "ROLE", .is_not_defined = true}}});
    CHECK_FALSE(run(load("google_event.ics"), vcalendar(role)));
}

TEST_CASE("a prop-filter with text-match finds the summary and attendees by PARTSTAT") {
    const auto ev = load("thunderbird_event.ics");
    comp_filter f{.name = "VEVENT"};
    f.props.push_back(prop_filter{.name = "SUMMARY", .match = match_of("burgerzaken")});
    CHECK(run(ev, vcalendar(f)));
    f.props[0].match = match_of("raadzaal");
    CHECK_FALSE(run(ev, vcalendar(f)));
    comp_filter who{.name = "VEVENT"};
    who.props.push_back(prop_filter{.name = "ATTENDEE",
                                    .match = match_of("mailto:bram@gemeente.example", "i;ascii-casemap", match_type::equals),
                                    .params = {param_filter{.name = "PARTSTAT", .match = match_of("NEEDS-ACTION")}}});
    CHECK(run(ev, vcalendar(who)));
    who.props[0].params[0].match = match_of("ACCEPTED");
    CHECK_FALSE(run(ev, vcalendar(who)));  // Bram has not accepted; Anna has, but is another ATTENDEE
    comp_filter x{.name = "VEVENT"};
    x.props.push_back(prop_filter{.name = "X-MOZ-GENERATION", .match = match_of("3", "i;octet", match_type::equals)});
    CHECK(run(ev, vcalendar(x)));
}

TEST_CASE("a time-range comp-filter uses the recurrence set and the calendar time zone") {
    const auto apple = load("apple_recurring.ics");
    auto in = [&](const calendar_object& o, const char* a, const char* b, const time_zone* tz = nullptr) {
        return run(o, vcalendar(comp_filter{.name = "VEVENT", .range = time_range{t(a), t(b)}}), tz);
    };
    CHECK(in(apple, "20260202T000000Z", "20260203T000000Z"));
    CHECK_FALSE(in(apple, "20260119T000000Z", "20260120T000000Z"));
    CHECK(in(apple, "20260127T000000Z", "20260128T000000Z"));
    const auto ams = time_zone::from_name("Europe/Amsterdam").value();
    const auto k = load("allday.ics");
    CHECK(in(k, "20260426T220000Z", "20260426T230000Z", &ams));
    CHECK_FALSE(in(k, "20260426T220000Z", "20260426T230000Z"));
    // Props are tested on the component whose instance overlaps: the moved instance has
    // its own summary.
    comp_filter moved{.name = "VEVENT", .range = time_range{t("20260127T000000Z"), t("20260128T000000Z")}};
    moved.props.push_back(prop_filter{.name = "SUMMARY", .match = match_of("verplaatst")});
    CHECK(run(apple, vcalendar(moved)));
    moved.range = time_range{t("20260202T000000Z"), t("20260203T000000Z")};
    CHECK_FALSE(run(apple, vcalendar(moved)));
}

TEST_CASE("a time-range on a VALARM and on a DATE-TIME property") {
    const auto ev = load("thunderbird_event.ics");
    comp_filter f{.name = "VEVENT"};
    f.comps.push_back(comp_filter{.name = "VALARM", .range = time_range{t("20260115T084000Z"), t("20260115T085000Z")}});
    CHECK(run(ev, vcalendar(f)));
    f.comps[0].range = time_range{t("20260115T090000Z"), t("20260115T100000Z")};
    CHECK_FALSE(run(ev, vcalendar(f)));
    comp_filter p{.name = "VEVENT"};
    p.props.push_back(prop_filter{.name = "DTSTAMP", .range = time_range{t("20260101T000000Z"), t("20260102T000000Z")}});
    CHECK(run(ev, vcalendar(p)));
    p.props[0].range = time_range{t("20260102T000000Z"), std::nullopt};
    CHECK_FALSE(run(ev, vcalendar(p)));
}

TEST_CASE("filters are checked before they run") {
    const auto ev = load("google_event.ics");
    CHECK(matches(ev, comp_filter{.name = "VEVENT"}).error() == make_error_code(ical_errc::invalid_filter));
    comp_filter f{.name = "VEVENT"};
    f.props.push_back(prop_filter{.name = "SUMMARY", .match = match_of("x", "i;nonsense")});
    CHECK(matches(ev, vcalendar(f)).error() == make_error_code(ical_errc::unsupported_collation));
    CHECK(check_filter(vcalendar(comp_filter{.name = "VEVENT", .range = time_range{}})).error() ==
          make_error_code(ical_errc::invalid_filter));
    CHECK(check_filter(vcalendar(comp_filter{.name = "VEVENT", .is_not_defined = true, .props = {prop_filter{.name = "UID"}}}))
              .error() == make_error_code(ical_errc::invalid_filter));
    comp_filter both{.name = "VEVENT"};
    both.props.push_back(prop_filter{.name = "DTSTART", .range = time_range{0, 1}, .match = match_of("x")});
    CHECK(check_filter(vcalendar(both)).error() == make_error_code(ical_errc::invalid_filter));
    comp_filter deep{.name = "VEVENT"};
    comp_filter* cur = &deep;
    for (std::size_t i = 0; i < max_filter_depth + 2; ++i) {
        cur->comps.push_back(comp_filter{.name = "VALARM"});
        cur = &cur->comps.back();
    }
    CHECK(check_filter(vcalendar(deep)).error() == make_error_code(ical_errc::invalid_filter));
}
