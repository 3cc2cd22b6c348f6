// test_xml.cpp - polder::dav XML parsing and serialization.
//
// SECURITY: covers the refusals (DTD, external entities, entity expansion,
// depth, size, namespace errors) and that bodies split anywhere parse alike.
// STANDARDS: XML 1.0, Namespaces in XML 1.0.
#include "polder/dav/multistatus.hpp"
#include "polder/dav/xml.hpp"

#include <catch2/catch.hpp>

using namespace polder::dav;

namespace {
const char* propfind_doc =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<D:propfind xmlns:D=\"DAV:\" xmlns:z=\"http://example.com/z\"><D:prop><D:getetag/>"
    "<z:color/><plain xmlns=\"\"/></D:prop></D:propfind>";

polder::result<xml_element> parse_in_pieces(std::string_view doc, std::size_t piece, std::string& reason) {
    xml_parser p;
    for (std::size_t i = 0; i < doc.size(); i += piece) {
        if (auto r = p.feed(doc.substr(i, piece)); !r) {
            reason = p.reason();
            return r.error();
        }
    }
    auto root = p.finish();
    if (!root) reason = p.reason();
    return root;
}
}  // namespace

TEST_CASE("xml parser resolves namespace prefixes to URIs") {
    std::string reason;
    auto root = parse_xml(propfind_doc, reason);
    REQUIRE(root.has_value());
    CHECK(root->is("DAV:", "propfind"));
    const xml_element* prop = root->child("DAV:", "prop");
    REQUIRE(prop != nullptr);
    auto names = prop->elements();
    REQUIRE(names.size() == 3);
    CHECK(names[0]->name == dav("getetag"));
    CHECK(names[1]->name == qname{"http://example.com/z", "color"});
    CHECK(names[2]->name == qname{"", "plain"});
}

TEST_CASE("xml parser gives the same tree at every fragment size") {
    std::string reason;
    auto whole = parse_xml(propfind_doc, reason);
    REQUIRE(whole.has_value());
    const std::string expected = serialize(*whole);
    for (std::size_t piece : {1u, 2u, 3u, 5u, 7u, 13u, 100u}) {
        std::string r;
        auto split = parse_in_pieces(propfind_doc, piece, r);
        INFO("piece size " << piece << ": " << r);
        REQUIRE(split.has_value());
        CHECK(serialize(*split) == expected);
    }
}

TEST_CASE("xml parser refuses a document type declaration") {
    std::string reason;
    auto root = parse_xml("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
                          "<D:propfind xmlns:D=\"DAV:\">&xxe;</D:propfind>",
                          reason);
    CHECK_FALSE(root.has_value());
    CHECK(reason == "DTD not allowed");
}

TEST_CASE("xml parser refuses entity expansion bombs at every fragment size") {
    const std::string doc =
        "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><x>&b;&b;</x>";
    for (std::size_t piece : {1u, 4u, 1000u}) {
        std::string reason;
        CHECK_FALSE(parse_in_pieces(doc, piece, reason).has_value());
        CHECK(reason == "DTD not allowed");
    }
}

TEST_CASE("xml parser reports malformed XML with a reason") {
    std::string reason;
    CHECK_FALSE(parse_xml("<D:propfind xmlns:D=\"DAV:\"><D:prop></D:propfind>", reason).has_value());
    CHECK(reason.starts_with("malformed XML"));
    CHECK_FALSE(parse_xml("", reason).has_value());
    CHECK(reason == "empty XML body");
    CHECK_FALSE(parse_xml("not xml at all", reason).has_value());
    CHECK_FALSE(reason.empty());
}

TEST_CASE("xml parser refuses an empty namespace prefix declaration") {
    std::string reason;
    CHECK_FALSE(parse_xml("<D:propfind xmlns:D=\"DAV:\"><D:prop><bar:foo xmlns:bar=\"\"/></D:prop></D:propfind>",
                          reason).has_value());
    CHECK_FALSE(reason.empty());
}

TEST_CASE("xml parser refuses an undeclared prefix") {
    std::string reason;
    CHECK_FALSE(parse_xml("<D:propfind/>", reason).has_value());
    CHECK(reason.find("namespace") != std::string::npos);
}

TEST_CASE("xml parser enforces the depth limit") {
    std::string doc;
    for (int i = 0; i < 70; ++i) doc += "<a>";
    for (int i = 0; i < 70; ++i) doc += "</a>";
    std::string reason;
    auto r = parse_xml(doc, reason, {.max_bytes = 1 << 20, .max_depth = 64});
    CHECK_FALSE(r.has_value());
    CHECK(reason.find("deeply") != std::string::npos);
    CHECK(parse_xml(doc, reason, {.max_bytes = 1 << 20, .max_depth = 80}).has_value());
}

TEST_CASE("xml parser enforces the size limit before parsing more") {
    xml_parser p({.max_bytes = 10});
    CHECK(p.feed("<a>"));
    auto r = p.feed("<b>0123456789</b></a>");
    CHECK_FALSE(r.has_value());
    CHECK(polder::is(r.error(), polder::errc::limit_exceeded));
    CHECK(p.reason().find("too large") != std::string::npos);
}

TEST_CASE("serialize keeps namespaces self-contained and escapes text") {
    std::string reason;
    auto root = parse_xml("<p:x xmlns:p=\"urn:p\"><p:y xml:lang=\"nl\" xmlns:q=\"urn:q\" q:a=\"1&amp;&quot;\">"
                          "a&lt;b &amp; <![CDATA[c>]]></p:y><z xmlns=\"\">\xe2\x82\xac</z></p:x>",
                          reason);
    REQUIRE(root.has_value());
    const std::string inner = serialize_children(*root);
    CHECK(inner ==
          "<y xmlns=\"urn:p\" xml:lang=\"nl\" xmlns:a0=\"urn:q\" a0:a=\"1&amp;&quot;\">a&lt;b &amp; c&gt;</y>"
          "<z>\xe2\x82\xac</z>");
    // Embedded under a prefixed element, it still parses to the same names.
    auto again = parse_xml("<D:prop xmlns:D=\"DAV:\">" + inner + "</D:prop>", reason);
    REQUIRE(again.has_value());
    auto kids = again->elements();
    REQUIRE(kids.size() == 2);
    CHECK(kids[0]->name == qname{"urn:p", "y"});
    CHECK(kids[1]->name == qname{"", "z"});
    CHECK(kids[0]->text_content() == "a<b & c>");
}

TEST_CASE("multistatus writer escapes hrefs and declares foreign namespaces") {
    multistatus ms;
    propstat_group ok{200, {{qname{"urn:z", "color"}, "red"}, {dav("getetag"), escape_text("\"a&b\"")}}, std::nullopt};
    propstat_group missing{404, {{qname{"", "nons"}, ""}}, std::nullopt};
    ms.add_propstat("/dav/a&b", {ok, missing});
    ms.add_status("/dav/gone", 423, dav("lock-token-submitted"));
    const std::string body = ms.finish(std::string("urn:x-polder:sync:1-2"));
    std::string reason;
    auto root = parse_xml(body, reason);
    REQUIRE(root.has_value());
    CHECK(root->is("DAV:", "multistatus"));
    CHECK(body.find("<D:href>/dav/a&amp;b</D:href>") != std::string::npos);
    CHECK(body.find("<X:color xmlns:X=\"urn:z\">red</X:color>") != std::string::npos);
    CHECK(body.find("<nons/>") != std::string::npos);
    CHECK(body.find("HTTP/1.1 404 Not Found") != std::string::npos);
    CHECK(body.find("<D:error><D:lock-token-submitted/></D:error>") != std::string::npos);
    CHECK(body.find("<D:sync-token>urn:x-polder:sync:1-2</D:sync-token>") != std::string::npos);
}

TEST_CASE("error body names the precondition") {
    const std::string body = error_body(dav("propfind-finite-depth"));
    std::string reason;
    auto root = parse_xml(body, reason);
    REQUIRE(root.has_value());
    CHECK(root->is("DAV:", "error"));
    CHECK(root->child("DAV:", "propfind-finite-depth"));
}

TEST_CASE("xml parser refuses characters XML forbids, also when converted from a declared encoding") {
    // UTF-16LE with a byte order mark: <a>X</a> where X is U+FFFF (a noncharacter) or,
    // for comparison, U+00E9.
    auto utf16 = [](char16_t x) {
        std::string d = "\xFF\xFE";
        for (char16_t c : std::u16string(u"<a>") + x + u"</a>") {
            d.push_back(static_cast<char>(c & 0xFF));
            d.push_back(static_cast<char>(c >> 8));
        }
        return d;
    };
    std::string reason;
    auto good = parse_xml(utf16(u'\u00e9'), reason);
    REQUIRE(good.has_value());
    CHECK(serialize(*good).find("\xC3\xA9") != std::string::npos);   // converted to UTF-8
    reason.clear();
    CHECK_FALSE(parse_xml(utf16(u'\uffff'), reason).has_value());
    CHECK_FALSE(reason.empty());
    reason.clear();
    CHECK_FALSE(parse_xml("<a b=\"&#xFFFE;\"/>", reason).has_value());   // a character reference XML forbids
}

TEST_CASE("xml parser keeps an ampersand in a namespace name, and serializing round-trips it") {
    std::string reason;
    auto doc = parse_xml("<a xmlns=\"urn:x?a=1&amp;b=2\"><b xmlns:q=\"urn:y&#38;z\" q:c=\"1\"/></a>", reason);
    REQUIRE(doc.has_value());
    CHECK(doc->name.ns == "urn:x?a=1&b=2");
    REQUIRE(doc->children.size() == 1);
    REQUIRE(doc->children[0].attributes.size() == 1);
    CHECK(doc->children[0].attributes[0].name.ns == "urn:y&z");
    const std::string once = serialize(*doc);
    auto again = parse_xml(once, reason);
    REQUIRE(again.has_value());
    CHECK(serialize(*again) == once);
    CHECK(again->name.ns == "urn:x?a=1&b=2");
}
