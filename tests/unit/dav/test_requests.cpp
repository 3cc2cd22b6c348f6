// test_requests.cpp - PROPFIND, PROPPATCH, LOCK and sync-collection bodies.
//
// SECURITY: wrong roots and missing parts are refused with reasons.
// STANDARDS: RFC 4918 9.1, 9.2, 9.10; RFC 6578 3.2.
#include "polder/dav/requests.hpp"

#include <catch2/catch.hpp>

using namespace polder::dav;

namespace {
xml_element doc(std::string_view text) {
    std::string reason;
    auto r = parse_xml(text, reason);
    INFO(reason);
    REQUIRE(r.has_value());
    return *r;
}
}  // namespace

TEST_CASE("propfind parser reads prop, allprop with include, and propname") {
    std::string reason;
    auto p = parse_propfind(doc("<propfind xmlns=\"DAV:\"><prop><getetag/><x xmlns=\"urn:x\"/></prop></propfind>"), reason);
    REQUIRE(p.has_value());
    CHECK(p->kind == propfind_kind::prop);
    REQUIRE(p->props.size() == 2);
    CHECK(p->props[1] == qname{"urn:x", "x"});

    auto a = parse_propfind(doc("<propfind xmlns=\"DAV:\"><allprop/><include><quota-used-bytes/></include></propfind>"),
                            reason);
    REQUIRE(a.has_value());
    CHECK(a->kind == propfind_kind::allprop);
    CHECK(a->include == std::vector<qname>{dav("quota-used-bytes")});

    auto n = parse_propfind(doc("<propfind xmlns=\"DAV:\"><propname/></propfind>"), reason);
    REQUIRE(n.has_value());
    CHECK(n->kind == propfind_kind::propname);
}

TEST_CASE("propfind parser refuses a body without exactly one request kind") {
    std::string reason;
    CHECK_FALSE(parse_propfind(doc("<propfind xmlns=\"DAV:\"/>"), reason).has_value());
    CHECK_FALSE(reason.empty());
    CHECK_FALSE(parse_propfind(doc("<propfind xmlns=\"DAV:\"><allprop/><propname/></propfind>"), reason).has_value());
    CHECK_FALSE(parse_propfind(doc("<propfind xmlns=\"urn:other\"><allprop/></propfind>"), reason).has_value());
    CHECK(reason == "expected a DAV:propfind body");
}

TEST_CASE("proppatch parser keeps set and remove in document order") {
    std::string reason;
    auto ops = parse_proppatch(doc("<D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:z\">"
                                   "<D:set><D:prop><Z:a>1</Z:a></D:prop></D:set>"
                                   "<D:remove><D:prop><Z:b/></D:prop></D:remove>"
                                   "<D:set><D:prop><Z:b><Z:c>x</Z:c></Z:b></D:prop></D:set>"
                                   "</D:propertyupdate>"),
                               reason);
    REQUIRE(ops.has_value());
    REQUIRE(ops->size() == 3);
    CHECK_FALSE((*ops)[0].remove);
    CHECK((*ops)[0].prop.value_xml == "1");
    CHECK((*ops)[1].remove);
    CHECK((*ops)[1].prop.name == qname{"urn:z", "b"});
    CHECK((*ops)[2].prop.value_xml == "<c xmlns=\"urn:z\">x</c>");
}

TEST_CASE("proppatch parser refuses an update without properties") {
    std::string reason;
    CHECK_FALSE(parse_proppatch(doc("<propertyupdate xmlns=\"DAV:\"/>"), reason).has_value());
    CHECK_FALSE(parse_proppatch(doc("<propertyupdate xmlns=\"DAV:\"><set/></propertyupdate>"), reason).has_value());
}

TEST_CASE("lockinfo parser reads scope and owner") {
    std::string reason;
    auto l = parse_lockinfo(doc("<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:shared/></D:lockscope>"
                                "<D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:a@b</D:href></D:owner>"
                                "</D:lockinfo>"),
                            reason);
    REQUIRE(l.has_value());
    CHECK(l->scope == lock_scope::shared);
    CHECK(l->owner_xml == "<href xmlns=\"DAV:\">mailto:a@b</href>");
    CHECK_FALSE(parse_lockinfo(doc("<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope>"
                                   "<D:locktype><D:read/></D:locktype></D:lockinfo>"),
                               reason).has_value());
}

TEST_CASE("sync-collection parser reads token, level, limit and props") {
    std::string reason;
    auto s = parse_sync_collection(doc("<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token> urn:t:1 </D:sync-token>"
                                       "<D:sync-level>infinite</D:sync-level><D:limit><D:nresults>5</D:nresults>"
                                       "</D:limit><D:prop><D:getetag/></D:prop></D:sync-collection>"),
                                   reason);
    REQUIRE(s.has_value());
    CHECK(s->sync_token == "urn:t:1");
    CHECK(s->infinite);
    CHECK(s->limit == std::size_t{5});
    CHECK(s->props.props == std::vector<qname>{dav("getetag")});
    CHECK_FALSE(parse_sync_collection(doc("<D:sync-collection xmlns:D=\"DAV:\"><D:sync-token/>"
                                          "<D:sync-level>2</D:sync-level></D:sync-collection>"),
                                      reason).has_value());
    CHECK(report_name(doc("<C:calendar-query xmlns:C=\"urn:ietf:params:xml:ns:caldav\"/>")) ==
          qname{"urn:ietf:params:xml:ns:caldav", "calendar-query"});
}
