# test_carddav.py - CardDAV on polder-caldavd over raw HTTP: vCard 3.0 and 4.0 PUT with
# validation, addressbook-query (prop-filter, text-match, param-filter, limit),
# addressbook-multiget, sync-collection, and the read-only organisation directory.
#
# SECURITY: the directory book lists only the caller's organisation and refuses writes.
# STANDARDS: RFC 6352, RFC 6350, RFC 2426, RFC 6578.
import uuid
import xml.etree.ElementTree as ET

from test_dav import CR, D, error_of, responses, vcard, xml


def query(filter_xml, test="anyof", limit=None, props="<D:getetag/><CR:address-data/>"):
    lim = f"<CR:limit><CR:nresults>{limit}</CR:nresults></CR:limit>" if limit is not None else ""
    return ('<?xml version="1.0"?><CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">'
            f'<D:prop>{props}</D:prop><CR:filter test="{test}">{filter_xml}</CR:filter>{lim}</CR:addressbook-query>')


def test_vcards_3_and_4_are_stored_and_invalid_ones_refused(dav, cal_org):
    book = cal_org.book()
    assert dav("PUT", book + "v3.vcf", vcard("v3", email="drie@example.test"), headers={"Content-Type": "text/vcard"})[0] == 201
    v4 = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:v4\r\nFN:Vier\r\nEMAIL;TYPE=home:vier@example.test\r\nEND:VCARD\r\n"
    assert dav("PUT", book + "v4.vcf", v4, headers={"Content-Type": "text/vcard"})[0] == 201
    status, _, data = dav("PUT", book + "bad.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nEND:VCARD\r\n",
                          headers={"Content-Type": "text/vcard"})
    assert status == 403
    assert CR + "valid-address-data" in error_of(data)
    status, _, data = dav("PUT", book + "cal.vcf", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                          headers={"Content-Type": "text/calendar"})
    assert status == 403
    assert CR + "supported-address-data" in error_of(data)
    status, _, data = dav("PUT", book + "dup.vcf", vcard("v3"), headers={"Content-Type": "text/vcard"})
    assert status == 403
    assert ET.fromstring(data).find(CR + "no-uid-conflict") is not None


def test_addressbook_query_filters_on_properties_and_parameters(dav, cal_org):
    book = cal_org.book(name="q")
    mk = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
          "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>")
    assert dav("MKCOL", book, mk)[0] == 201
    for i, (fn, email) in enumerate([("Anna de Vries", "anna@gemeente.test"), ("Bram Bakker", "bram@elders.test"),
                                     ("Cees de Boer", "cees@gemeente.test")]):
        assert dav("PUT", f"{book}{i}.vcf", vcard(f"q{i}", fn=fn, email=email))[0] == 201

    def names(body):
        status, _, data = dav("REPORT", book, body, headers={"Depth": "1"})
        assert status == 207, data
        return sorted(h.rsplit("/", 1)[1] for h in responses(data) if h != book)

    ends = '<CR:prop-filter name="EMAIL"><CR:text-match match-type="ends-with">@GEMEENTE.TEST</CR:text-match></CR:prop-filter>'
    assert names(query(ends)) == ["0.vcf", "2.vcf"]
    de = '<CR:prop-filter name="FN"><CR:text-match match-type="contains">de </CR:text-match></CR:prop-filter>'
    bram = '<CR:prop-filter name="FN"><CR:text-match match-type="starts-with">bram</CR:text-match></CR:prop-filter>'
    assert names(query(de + bram, test="anyof")) == ["0.vcf", "1.vcf", "2.vcf"]
    assert names(query(de + ends, test="allof")) == ["0.vcf", "2.vcf"]
    param = ('<CR:prop-filter name="EMAIL"><CR:param-filter name="TYPE"><CR:text-match match-type="equals">work'
             "</CR:text-match></CR:param-filter></CR:prop-filter>")
    assert names(query(param)) == ["0.vcf", "1.vcf", "2.vcf"]
    status, _, data = dav("REPORT", book, query(ends, limit=1), headers={"Depth": "1"})
    rs = responses(data)
    assert len([h for h in rs if h != book]) == 1
    assert "507" in rs[book].find(D + "status").text
    bad = '<CR:prop-filter name="FN"><CR:text-match collation="i;nonsense">x</CR:text-match></CR:prop-filter>'
    status, _, data = dav("REPORT", book, query(bad), headers={"Depth": "1"})
    assert status == 403
    assert CR + "supported-collation" in error_of(data)


def test_addressbook_multiget_and_address_data_selection(dav, cal_org):
    book = cal_org.book()
    assert dav("PUT", book + "sel.vcf", vcard("sel", fn="Selectie", email="sel@example.test"))[0] == 201
    body = ('<?xml version="1.0"?><CR:addressbook-multiget xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">'
            '<D:prop><D:getetag/><CR:address-data><CR:prop name="FN"/></CR:address-data></D:prop>'
            f"<D:href>{book}sel.vcf</D:href><D:href>{book}none.vcf</D:href></CR:addressbook-multiget>")
    status, _, data = dav("REPORT", book, body, headers={"Depth": "1"})
    assert status == 207
    rs = responses(data)
    card = rs[book + "sel.vcf"].find(f".//{CR}address-data").text
    assert "FN:Selectie" in card and "EMAIL" not in card
    assert "404" in rs[book + "none.vcf"].find(D + "status").text


def test_the_organisation_directory_lists_accounts_and_groups_and_is_read_only(dav, cal_org):
    book = cal_org.book(name="directory")
    status, _, data = dav("REPORT", book, query(""), headers={"Depth": "1"})
    assert status == 207
    cards = "".join(r.find(f".//{CR}address-data").text for r in responses(data).values())
    assert cal_org.alice in cards and cal_org.bob in cards
    assert cal_org.carol not in cards   # another organisation
    assert "X-ADDRESSBOOKSERVER-KIND:group" in cards and "Team" in cards
    status, _, data = dav("PUT", book + "x.vcf", vcard("x"))
    assert status == 403
    assert D + "need-privileges" in error_of(data)
    assert dav("DELETE", book)[0] == 403
    listing = dav("REPORT", book, query(""), headers={"Depth": "1"})[2]
    some = next(iter(responses(listing)))
    assert dav("DELETE", some)[0] == 403
    assert dav("GET", some)[0] == 200
    # Bob's view of his own directory shows the same organisation.
    status, _, data = dav("REPORT", cal_org.book(who=cal_org.bob, name="directory"), query(""),
                          headers={"Depth": "1"}, user=cal_org.bob)
    assert status == 207 and cal_org.alice.encode() in data
    # Carol's directory does not show alice.
    status, _, data = dav("REPORT", cal_org.book(who=cal_org.carol, name="directory"), query(""),
                          headers={"Depth": "1"}, user=cal_org.carol)
    assert status == 207 and cal_org.alice.encode() not in data and cal_org.carol.encode() in data
