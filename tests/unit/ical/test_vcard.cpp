// test_vcard.cpp - vCard 3.0/4.0 parsing and validation on cards written the way Apple,
// Android, Thunderbird and Google write them; addressbook-query filters (RFC 6352 10.5);
// directory vCards.
#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "polder/ical/vcard.hpp"

using namespace polder::ical;
using polder_test::read_sample;

namespace {

vcard load(const std::string& file) {
    auto v = validate_vcard(read_sample(file));
    if (!v.ok()) throw std::runtime_error(file + ": " + v.reason);
    return std::move(*v.card);
}

bool run(const vcard& c, const card_filter& f) {
    auto r = matches(c, f);
    if (!r) throw std::runtime_error(r.error().message());
    return *r;
}

text_match uc(std::string text, match_type type = match_type::contains, bool negate = false) {
    return text_match{std::move(text), "i;unicode-casemap", type, negate};
}

}  // namespace

TEST_CASE("an Apple vCard 3.0 with groups, a folded photo and escapes is parsed field by field") {
    const auto c = load("apple_contact.vcf");
    CHECK(c.version == "3.0");
    CHECK(c.uid == "8D4C6C12-5E3A-4F1B-9C2D-3E4F5A6B7C8D");
    CHECK(c.fn == "dr. Anna Maria de Vries");
    REQUIRE(c.n.has_value());
    CHECK(*c.n == vcard_name{"de Vries", "Anna", "Maria", "dr.", ""});
    CHECK(c.org == "Gemeente Voorbeeld");
    REQUIRE(c.org_units.size() == 1);
    CHECK(c.org_units[0] == "Burgerzaken");
    REQUIRE(c.emails.size() == 2);
    CHECK(c.emails[0].value == "anna@gemeente.example");
    CHECK(c.emails[0].preferred);
    CHECK(c.emails[0].types == std::vector<std::string>{"internet", "work", "pref"});
    CHECK_FALSE(c.emails[1].preferred);
    REQUIRE(c.tels.size() == 2);
    CHECK(c.tels[0].value == "+31 6 12345678");
    CHECK(c.kind == "individual");
    const auto* note = c.find("NOTE");
    REQUIRE(note);
    CHECK(note->text() == "Spreekuur op dinsdag, donderdag\nAlleen op afspraak; graag mailen.");
    const auto* photo = c.find("PHOTO");
    REQUIRE(photo);
    CHECK(photo->value.size() == 1024);  // 768 octets in base64, unfolded
    CHECK(photo->value.find(' ') == std::string::npos);
    const auto* label = c.find("X-ABLABEL");
    REQUIRE(label);
    CHECK(label->group == "item1");
    const auto* adr = c.find("ADR");
    REQUIRE(adr);
    CHECK(adr->components().size() == 7);
    CHECK(adr->components()[2] == "Stadhuisplein 1");
}

TEST_CASE("an Android export with quoted-printable soft line breaks and bare types is decoded") {
    const auto c = load("android_qp.vcf");
    CHECK(c.fn == "Elif Öztürk");
    CHECK(c.n->family == "Öztürk");
    const auto* note = c.find("NOTE");
    REQUIRE(note);
    CHECK(note->text() == "Eerste regel en een heel lange tweede regel die de exporteur afbreekt met een zachte regeleinde\nen verder");
    CHECK(note->param("ENCODING") == nullptr);
    REQUIRE(c.tels.size() == 2);
    CHECK(c.tels[0].types == std::vector<std::string>{"cell", "pref"});
    CHECK(c.tels[0].preferred);
    REQUIRE(c.emails.size() == 1);
    CHECK(c.emails[0].types == std::vector<std::string>{"internet"});
}

TEST_CASE("a Latin-1 quoted-printable card is converted to UTF-8") {
    const auto c = load("latin1_qp.vcf");
    CHECK(c.fn == "Jürgen Müller");
    CHECK(c.n->given == "Jürgen");
}

TEST_CASE("a vCard 4.0 with quoted parameters, PREF and RFC 6868 escapes is parsed") {
    const auto c = load("thunderbird_v4.vcf");
    CHECK(c.version == "4.0");
    CHECK(c.uid == "urn:uuid:0c3e9d4a-8b7f-4e21-a6c5-1d2e3f4a5b6c");
    REQUIRE(c.emails.size() == 2);
    CHECK(c.emails[0].preferred);
    CHECK(c.emails[0].types == std::vector<std::string>{"work"});
    REQUIRE(c.tels.size() == 1);
    CHECK(c.tels[0].types == std::vector<std::string>{"work", "voice"});
    CHECK(c.org_units == std::vector<std::string>{"ICT; Beheer"});
    const auto* note = c.find("NOTE");
    REQUIRE(note);
    REQUIRE(note->param("ALTREP"));
    CHECK(note->param("ALTREP")->front() == "http://example.com/notes;v=1");
    CHECK(note->text() == "Contactpersoon ^ voor: servers");
    const auto* x = c.find("X-CUSTOM");
    REQUIRE(x);
    CHECK(x->param("X-PARAM")->front() == "a\"quoted\" value");
}

TEST_CASE("groups are recognised in Apple's 3.0 form and in 4.0") {
    const auto a = load("apple_group.vcf");
    CHECK(a.kind == "group");
    REQUIRE(a.members.size() == 2);
    CHECK(a.members[0] == "urn:uuid:8D4C6C12-5E3A-4F1B-9C2D-3E4F5A6B7C8D");
    const auto b = load("v4_group.vcf");
    CHECK(b.kind == "group");
    CHECK(b.members == std::vector<std::string>{"urn:uuid:8D4C6C12-5E3A-4F1B-9C2D-3E4F5A6B7C8D", "mailto:griffie@gemeente.example"});
}

TEST_CASE("vCard validation names the failed CardDAV precondition") {
    struct row {
        const char* file;
        vcard_precondition expected;
    };
    const row rows[] = {
        {"invalid_v21.vcf", vcard_precondition::supported_address_data},
        {"allday.ics", vcard_precondition::supported_address_data},
        {"invalid_no_fn.vcf", vcard_precondition::valid_address_data},
        {"invalid_no_n_v3.vcf", vcard_precondition::valid_address_data},
        {"invalid_no_uid.vcf", vcard_precondition::valid_address_data},
        {"invalid_two_cards.vcf", vcard_precondition::valid_address_data},
        {"invalid_no_end.vcf", vcard_precondition::valid_address_data},
        {"invalid_bad_line.vcf", vcard_precondition::valid_address_data},
        {"invalid_unterminated_quote.vcf", vcard_precondition::valid_address_data},
    };
    for (const auto& r : rows) {
        INFO(r.file);
        const auto v = validate_vcard(read_sample(r.file));
        CHECK(v.failed == r.expected);
        CHECK_FALSE(v.reason.empty());
        CHECK_FALSE(v.card.has_value());
    }
    CHECK(precondition_name(vcard_precondition::valid_address_data) == "valid-address-data");
}

TEST_CASE("vCard limits: size, line length, property count, parameters, NUL and bad UTF-8") {
    const auto card = read_sample("google_contact.vcf");
    vcard_limits small;
    small.max_size = 50;
    CHECK(validate_vcard(card, small).failed == vcard_precondition::max_resource_size);
    vcard_limits line;
    line.max_line = 30;
    CHECK(validate_vcard(card, line).failed == vcard_precondition::max_resource_size);
    std::string many = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nUID:x\r\n";
    for (int i = 0; i < 30; ++i) many += "NOTE:" + std::to_string(i) + "\r\n";
    many += "END:VCARD\r\n";
    vcard_limits props;
    props.max_properties = 20;
    CHECK(validate_vcard(many, props).failed == vcard_precondition::max_resource_size);
    CHECK_FALSE(parse_vcard(many, props).has_value());
    std::string params = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN";
    for (int i = 0; i < 60; ++i) params += ";X-P" + std::to_string(i) + "=v";
    params += ":x\r\nUID:x\r\nEND:VCARD\r\n";
    CHECK(validate_vcard(params).failed == vcard_precondition::max_resource_size);
    std::string nul = card;
    nul[15] = '\0';
    CHECK(validate_vcard(nul).failed == vcard_precondition::valid_address_data);
    CHECK(validate_vcard("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:\xff\xfe\r\nUID:x\r\nEND:VCARD\r\n").failed ==
          vcard_precondition::valid_address_data);
    CHECK(validate_vcard("").failed == vcard_precondition::valid_address_data);
    CHECK(validate_vcard("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nUID:a\x10" "b\r\nEND:VCARD\r\n").failed ==
          vcard_precondition::valid_address_data);
    CHECK(validate_vcard("BEGIN:VCARD\r\nVERSION:3.0\r\nN:x;;;;\r\nFN;ENCODING=QUOTED-PRINTABLE:a=10b\r\nUID:a\r\n"
                         "END:VCARD\r\n").failed == vcard_precondition::valid_address_data);
}

TEST_CASE("LF-only line ends and a UTF-8 BOM are accepted") {
    const std::string s = "\xEF\xBB\xBF" "BEGIN:VCARD\nVERSION:4.0\nFN:Lf Only\nUID:lf\nEND:VCARD\n";
    const auto v = validate_vcard(s);
    REQUIRE(v.ok());
    CHECK(v.card->fn == "Lf Only");
}

TEST_CASE("addressbook-query prop-filters with text-match, match types and anyof/allof") {
    const auto anna = load("apple_contact.vcf");
    const auto dirk = load("google_contact.vcf");
    card_filter f;
    f.props.push_back(card_prop_filter{.name = "EMAIL", .matches = {uc("@gemeente.example", match_type::ends_with)}});
    CHECK(run(anna, f));
    CHECK_FALSE(run(dirk, f));
    card_filter fn;
    fn.props.push_back(card_prop_filter{.name = "FN", .matches = {uc("ANNA")}});
    CHECK(run(anna, fn));
    fn.props[0].matches[0] = uc("dr.", match_type::starts_with);
    CHECK(run(anna, fn));
    fn.props[0].matches[0] = uc("dr.", match_type::equals);
    CHECK_FALSE(run(anna, fn));
    // allof across text-matches of one prop-filter
    card_prop_filter both{.name = "FN", .test = filter_test::allof, .matches = {uc("anna"), uc("vries")}};
    CHECK(run(anna, card_filter{.props = {both}}));
    both.matches[1] = uc("jansen");
    CHECK_FALSE(run(anna, card_filter{.props = {both}}));
    both.test = filter_test::anyof;
    CHECK(run(anna, card_filter{.props = {both}}));
    // anyof / allof across prop-filters
    card_filter two{.test = filter_test::allof,
                    .props = {card_prop_filter{.name = "ORG", .matches = {uc("partner")}},
                              card_prop_filter{.name = "CATEGORIES", .matches = {uc("leveranciers")}}}};
    CHECK(run(dirk, two));
    CHECK_FALSE(run(anna, two));
    two.test = filter_test::anyof;
    two.props[1].matches[0] = uc("nothing");
    CHECK(run(dirk, two));
    CHECK(run(anna, card_filter{}));
}

TEST_CASE("addressbook-query is-not-defined, param-filters and negation") {
    const auto anna = load("apple_contact.vcf");
    const auto dirk = load("google_contact.vcf");
    card_filter no_title{.props = {card_prop_filter{.name = "TITLE", .is_not_defined = true}}};
    CHECK_FALSE(run(anna, no_title));
    CHECK(run(dirk, no_title));
    card_filter cell{.props = {card_prop_filter{
                         .name = "TEL", .params = {card_param_filter{.name = "TYPE", .match = uc("cell", match_type::equals)}}}}};
    CHECK(run(anna, cell));
    CHECK(run(dirk, cell));
    card_filter home{.props = {card_prop_filter{
                         .name = "EMAIL", .params = {card_param_filter{.name = "TYPE", .match = uc("home", match_type::equals)}}}}};
    CHECK(run(anna, home));
    CHECK_FALSE(run(dirk, home));
    card_filter not_gemeente{.props = {card_prop_filter{.name = "EMAIL", .matches = {uc("gemeente", match_type::contains, true)}}}};
    CHECK(run(dirk, not_gemeente));
    CHECK(run(anna, not_gemeente));  // her home address does not contain it
    card_filter grouped{.props = {card_prop_filter{.name = "X-ABLABEL"}}};
    CHECK(run(anna, grouped));  // the group prefix item1. is not part of the name
}

TEST_CASE("addressbook-query filters are checked before they run") {
    const auto c = load("google_contact.vcf");
    card_filter bad{.props = {card_prop_filter{.name = "FN", .matches = {text_match{"x", "i;nope"}}}}};
    CHECK(matches(c, bad).error() == make_error_code(ical_errc::unsupported_collation));
    card_filter both{.props = {card_prop_filter{.name = "FN", .is_not_defined = true, .matches = {uc("x")}}}};
    CHECK(matches(c, both).error() == make_error_code(ical_errc::invalid_filter));
    card_filter unnamed{.props = {card_prop_filter{}}};
    CHECK(check_card_filter(unnamed).error() == make_error_code(ical_errc::invalid_filter));
}

TEST_CASE("directory vCards are valid, escaped and folded, in 3.0 and 4.0") {
    directory_entry e;
    e.uid = "0c3e9d4a-8b7f-4e21-a6c5-1d2e3f4a5b6c";
    e.display_name = "Jansen, Bram";
    e.given_name = "Bram";
    e.family_name = "Jansen";
    e.email = "bram@gemeente.example";
    e.aliases = {"b.jansen@gemeente.example", "bram@gemeente.example"};
    e.organisation = "Gemeente Voorbeeld";
    e.department = "ICT; Beheer";
    e.title = std::string(100, 'x') + "é";
    e.revision = 1768467600;
    const auto v3 = directory_vcard(e);
    const auto p3 = validate_vcard(v3);
    REQUIRE(p3.ok());
    CHECK(p3.card->version == "3.0");
    CHECK(p3.card->fn == "Jansen, Bram");
    CHECK(p3.card->uid == e.uid);
    CHECK(p3.card->n->family == "Jansen");
    REQUIRE(p3.card->emails.size() == 2);
    CHECK(p3.card->emails[0].preferred);
    CHECK(p3.card->org_units == std::vector<std::string>{"ICT; Beheer"});
    CHECK(p3.card->find("TITLE")->text() == e.title);
    CHECK(v3.find("REV:20260115T090000Z") != std::string::npos);
    std::size_t start = 0;
    while (start < v3.size()) {
        const auto eol = v3.find("\r\n", start);
        REQUIRE(eol != std::string::npos);
        CHECK(eol - start <= 75);
        start = eol + 2;
    }
    const auto v4 = directory_vcard(e, vcard_version::v4);
    const auto p4 = validate_vcard(v4);
    REQUIRE(p4.ok());
    CHECK(p4.card->version == "4.0");
    CHECK(p4.card->emails[0].preferred);

    directory_entry g;
    g.uid = "group-raad";
    g.display_name = "Raad";
    g.email = "raad@gemeente.example";
    g.is_group = true;
    g.member_uids = {e.uid, "urn:uuid:already"};
    const auto g3 = validate_vcard(directory_vcard(g));
    REQUIRE(g3.ok());
    CHECK(g3.card->kind == "group");
    CHECK(g3.card->members == std::vector<std::string>{"urn:uuid:" + e.uid, "urn:uuid:already"});
    const auto g4 = validate_vcard(directory_vcard(g, vcard_version::v4));
    REQUIRE(g4.ok());
    CHECK(g4.card->kind == "group");
    CHECK(g4.card->members.size() == 2);
}

TEST_CASE("address-data writes the card back whole or with only the selected properties") {
    for (const char* file : {"apple_contact.vcf", "android_qp.vcf", "thunderbird_v4.vcf", "latin1_qp.vcf", "apple_group.vcf"}) {
        INFO(file);
        const auto c = load(file);
        const auto back = validate_vcard(address_data(c));
        REQUIRE(back.ok());
        CHECK(back.card->uid == c.uid);
        CHECK(back.card->fn == c.fn);
        CHECK(back.card->n == c.n);
        CHECK(back.card->emails == c.emails);
        CHECK(back.card->tels == c.tels);
        CHECK(back.card->members == c.members);
        REQUIRE(back.card->properties.size() == c.properties.size());
        for (std::size_t i = 0; i < c.properties.size(); ++i) {
            CHECK(back.card->properties[i].params == c.properties[i].params);
            CHECK(back.card->properties[i].text() == c.properties[i].text());
        }
    }
    const auto anna = load("apple_contact.vcf");
    const std::vector<card_prop_selection> sel = {{"UID"}, {"FN"}, {"EMAIL"}, {"PHOTO", true}};
    const auto s = address_data(anna, &sel);
    CHECK(s.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"));
    CHECK(s.find("FN:dr. Anna Maria de Vries\r\n") != std::string::npos);
    CHECK(s.find("item1.EMAIL;TYPE=INTERNET,WORK,pref:anna@gemeente.example\r\n") != std::string::npos);
    CHECK(s.find("PHOTO;ENCODING=b;TYPE=JPEG:\r\n") != std::string::npos);
    CHECK(s.find("TEL") == std::string::npos);
    CHECK(s.find("NOTE") == std::string::npos);
    CHECK(s.ends_with("END:VCARD\r\n"));
    const auto v4 = load("thunderbird_v4.vcf");
    const std::vector<card_prop_selection> note = {{"NOTE"}, {"X-CUSTOM"}};
    const auto n = address_data(v4, &note);
    CHECK(n.find("ALTREP=\"http://example.com/notes;v=1\"") != std::string::npos);
    CHECK(n.find("X-PARAM=a^'quoted^' value") != std::string::npos);
}
