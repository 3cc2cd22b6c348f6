# test_dav.py - polder-caldavd over raw HTTP (http.client, as curl would): discovery,
# collection properties, PUT/GET/DELETE with ETags and every RFC 4791 / RFC 6352
# precondition, calendar-query (time ranges over recurrences, text-match collations),
# multiget, expand, free/busy, sync-collection tokens, MKCALENDAR / extended MKCOL,
# PROPPATCH, COPY/MOVE and the organisation directory address book.
#
# SECURITY: checks that malformed input gets a 4xx with the precise DAV:error, never a 500.
# STANDARDS: RFC 4918, RFC 4791, RFC 6352, RFC 5689, RFC 6578, RFC 6764, RFC 5397.
import re
import uuid
import xml.etree.ElementTree as ET

import pytest

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
CR = "{urn:ietf:params:xml:ns:carddav}"


def event(uid, start="20260105T090000Z", end="20260105T100000Z", summary="Overleg", extra=""):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
            f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n")


def todo(uid, summary="Taak"):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//EN\r\nBEGIN:VTODO\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{summary}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")


def vcard(uid, fn="Jan Jansen", email="jan@example.test", version="3.0"):
    n = "N:Jansen;Jan;;;\r\n"
    return (f"BEGIN:VCARD\r\nVERSION:{version}\r\nUID:{uid}\r\nFN:{fn}\r\n{n}"
            f"EMAIL;TYPE=work:{email}\r\nEND:VCARD\r\n")


def xml(body):
    return ET.fromstring(body)


def error_of(body):
    root = xml(body)
    assert root.tag == D + "error", body
    return [child.tag for child in root]


def responses(body):
    root = xml(body)
    out = {}
    for r in root.findall(D + "response"):
        href = r.find(D + "href").text
        out[href] = r
    return out


def calendar_query(filter_xml, props="<D:getetag/>"):
    return ('<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:prop>{props}</D:prop><C:filter>{filter_xml}</C:filter></C:calendar-query>")


def week_filter(start, end, comp="VEVENT"):
    return (f'<C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}">'
            f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter>')


PROPFIND_PRINCIPAL = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
                      'xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:current-user-principal/>'
                      "<C:calendar-home-set/><CR:addressbook-home-set/><C:calendar-user-address-set/>"
                      "<D:resourcetype/><D:displayname/></D:prop></D:propfind>")


def test_well_known_uris_redirect_to_the_context_path(dav):
    for path in ("/.well-known/caldav", "/.well-known/carddav"):
        status, headers, _ = dav("GET", path, user="")
        assert status == 301
        assert headers["location"] == "/dav/"


def test_options_announces_the_dav_classes_without_credentials(dav, cal_org):
    status, headers, _ = dav("OPTIONS", cal_org.cal(), user="")
    assert status == 200
    classes = [c.strip() for c in headers["dav"].split(",")]
    for c in ("1", "3", "access-control", "calendar-access", "addressbook", "extended-mkcol"):
        assert c in classes
    assert "MKCALENDAR" in headers["allow"]


def test_requests_without_credentials_get_a_basic_challenge(dav, cal_org):
    status, headers, _ = dav("PROPFIND", "/dav/", user="", headers={"Depth": "0"})
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic")
    status, _, _ = dav("PROPFIND", "/dav/", password="wrong", headers={"Depth": "0"})
    assert status == 401


def test_discovery_finds_principal_and_homes(dav, cal_org):
    status, _, body = dav("PROPFIND", "/dav/", PROPFIND_PRINCIPAL, headers={"Depth": "0"})
    assert status == 207
    principal = xml(body).find(f".//{D}current-user-principal/{D}href").text
    assert principal == f"/dav/principals/{cal_org.alice}/"
    status, _, body = dav("PROPFIND", principal, PROPFIND_PRINCIPAL, headers={"Depth": "0"})
    assert status == 207
    root = xml(body)
    assert root.find(f".//{C}calendar-home-set/{D}href").text == f"/dav/calendars/{cal_org.alice}/"
    assert root.find(f".//{CR}addressbook-home-set/{D}href").text == f"/dav/addressbooks/{cal_org.alice}/"
    addresses = [h.text for h in root.findall(f".//{C}calendar-user-address-set/{D}href")]
    assert f"mailto:{cal_org.alice}" in addresses
    assert root.find(f".//{D}resourcetype/{D}principal") is not None


def test_a_new_account_has_a_default_calendar_task_list_and_address_book(dav, cal_org):
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:resourcetype/><D:displayname/><C:supported-calendar-component-set/>"
            "<D:sync-token/><D:supported-report-set/><D:current-user-privilege-set/></D:prop></D:propfind>")
    status, _, data = dav("PROPFIND", f"/dav/calendars/{cal_org.bob}/", body, headers={"Depth": "1"}, user=cal_org.bob)
    assert status == 207
    rs = responses(data)
    agenda = rs[f"/dav/calendars/{cal_org.bob}/agenda/"]
    assert agenda.find(f".//{D}displayname").text == "Agenda"
    assert [c.get("name") for c in agenda.findall(f".//{C}supported-calendar-component-set/{C}comp")] == ["VEVENT"]
    assert agenda.find(f".//{D}resourcetype/{C}calendar") is not None
    assert agenda.find(f".//{D}supported-report/{D}report/{C}calendar-query") is not None
    assert agenda.find(f".//{D}privilege/{D}write") is not None
    tasks = rs[f"/dav/calendars/{cal_org.bob}/tasks/"]
    assert [c.get("name") for c in tasks.findall(f".//{C}supported-calendar-component-set/{C}comp")] == ["VTODO"]
    status, _, data = dav("PROPFIND", f"/dav/addressbooks/{cal_org.bob}/", body, headers={"Depth": "1"}, user=cal_org.bob)
    rs = responses(data)
    assert f"/dav/addressbooks/{cal_org.bob}/contacts/" in rs
    assert f"/dav/addressbooks/{cal_org.bob}/directory/" in rs


def test_propfind_with_infinite_depth_is_refused(dav, cal_org):
    status, _, body = dav("PROPFIND", cal_org.cal(), PROPFIND_PRINCIPAL, headers={"Depth": "infinity"})
    assert status == 403
    assert D + "propfind-finite-depth" in error_of(body)


def test_malformed_xml_is_a_400_not_a_500(dav, cal_org):
    status, _, _ = dav("PROPFIND", cal_org.cal(), "<D:propfind xmlns:D='DAV:'><D:prop>", headers={"Depth": "0"})
    assert status == 400
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"/>'
    status, _, _ = dav("PROPFIND", cal_org.cal(), doctype, headers={"Depth": "0"})
    assert status == 400
    deep = "<a>" * 200 + "</a>" * 200
    status, _, _ = dav("REPORT", cal_org.cal(), deep, headers={"Depth": "1"})
    assert status in (400, 413)


def test_put_get_delete_with_etags(dav, cal_org):
    uid = str(uuid.uuid4())
    path = cal_org.cal(obj=f"{uid}.ics")
    status, headers, _ = dav("PUT", path, event(uid), headers={"Content-Type": "text/calendar", "If-None-Match": "*"})
    assert status == 201
    etag = headers["etag"]
    status, headers, body = dav("GET", path)
    assert status == 200 and headers["etag"] == etag
    assert f"UID:{uid}" in body.decode()
    assert headers["content-type"].startswith("text/calendar")
    # If-None-Match: * on an existing resource, and a stale If-Match, are 412.
    status, _, _ = dav("PUT", path, event(uid), headers={"If-None-Match": "*"})
    assert status == 412
    status, _, _ = dav("PUT", path, event(uid, summary="Nieuw"), headers={"If-Match": '"stale"'})
    assert status == 412
    status, headers, _ = dav("PUT", path, event(uid, summary="Nieuw"), headers={"If-Match": etag})
    assert status == 204 and headers["etag"] != etag
    status, _, _ = dav("DELETE", path, headers={"If-Match": etag})
    assert status == 412
    status, _, _ = dav("DELETE", path)
    assert status == 204
    status, _, _ = dav("GET", path)
    assert status == 404


@pytest.mark.parametrize("body,condition", [
    ("this is not iCalendar", "valid-calendar-data"),
    ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:2026xx05\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
     "valid-calendar-data"),
    ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
     "DTSTART:20260105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "valid-calendar-object-resource"),
    ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
     "DTSTART:20260105T090000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20260101T000000Z\r\n"
     "DTSTART:20260105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "valid-calendar-object-resource"),
])
def test_invalid_calendar_data_is_refused_with_its_precondition(dav, cal_org, body, condition):
    status, _, data = dav("PUT", cal_org.cal(obj="bad.ics"), body, headers={"Content-Type": "text/calendar"})
    assert status == 403
    assert C + condition in error_of(data)


def test_a_todo_in_an_event_calendar_is_an_unsupported_component(dav, cal_org):
    status, _, data = dav("PUT", cal_org.cal(obj="t.ics"), todo("t1"), headers={"Content-Type": "text/calendar"})
    assert status == 403
    assert C + "supported-calendar-component" in error_of(data)
    status, _, _ = dav("PUT", cal_org.cal(name="tasks", obj="t.ics"), todo("t1"), headers={"Content-Type": "text/calendar"})
    assert status == 201


def test_a_vcard_in_a_calendar_is_unsupported_calendar_data(dav, cal_org):
    status, _, data = dav("PUT", cal_org.cal(obj="v.ics"), vcard("v1"), headers={"Content-Type": "text/vcard"})
    assert status == 403
    assert C + "supported-calendar-data" in error_of(data)


def test_an_oversized_object_fails_max_resource_size(dav, cal_org):
    big = event("big", extra="DESCRIPTION:" + "x" * 70 + "\r\n " + ("y" * 70 + "\r\n ") * 4000 + "z\r\n")
    status, _, data = dav("PUT", cal_org.cal(obj="big.ics"), big, headers={"Content-Type": "text/calendar"})
    assert status == 403
    assert C + "max-resource-size" in error_of(data)


def test_the_same_uid_twice_in_a_collection_is_a_uid_conflict(dav, cal_org):
    uid = str(uuid.uuid4())
    assert dav("PUT", cal_org.cal(obj="one.ics"), event(uid))[0] == 201
    status, _, data = dav("PUT", cal_org.cal(obj="two.ics"), event(uid))
    assert status == 403
    root = xml(data)
    conflict = root.find(C + "no-uid-conflict")
    assert conflict is not None
    assert conflict.find(D + "href").text.endswith("/agenda/one.ics")
    # Changing the UID of an existing resource is refused too.
    status, _, data = dav("PUT", cal_org.cal(obj="one.ics"), event(str(uuid.uuid4())))
    assert status == 403
    dav("DELETE", cal_org.cal(obj="one.ics"))


def recurring(uid):
    # Weekly on Monday 09:00 UTC from 5 Jan 2026, 10 times; the 19 Jan instance moved to
    # Wednesday 21 Jan 14:00, and 2 Feb removed with EXDATE.
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//EN\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n"
            "DTEND:20260105T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE:20260202T090000Z\r\n"
            "SUMMARY:Weekstart\r\nEND:VEVENT\r\n"
            f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260119T090000Z\r\n"
            "DTSTART:20260121T140000Z\r\nDTEND:20260121T150000Z\r\nSUMMARY:Weekstart (verzet)\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")


@pytest.fixture(scope="module")
def query_calendar(dav, cal_org):
    path = cal_org.cal(name="query")
    body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:set><D:prop><D:displayname>Query</D:displayname></D:prop></D:set></C:mkcalendar>")
    assert dav("MKCALENDAR", path, body)[0] == 201
    items = {
        "single.ics": event("single", "20260106T120000Z", "20260106T130000Z", "Lunch met Ærøskøbing"),
        "later.ics": event("later", "20260301T120000Z", "20260301T130000Z", "Maart"),
        "rec.ics": recurring("rec"),
        "allday.ics": event("allday", "", "", "Vrije dag").replace("DTSTART:\r\nDTEND:\r\n",
                                                                    "DTSTART;VALUE=DATE:20260109\r\nDTEND;VALUE=DATE:20260110\r\n"),
        "endless.ics": event("endless", "20250106T080000Z", "20250106T083000Z", "Dagstart",
                             "RRULE:FREQ=DAILY\r\n"),
    }
    for name, data in items.items():
        status, _, body = dav("PUT", path + name, data, headers={"Content-Type": "text/calendar"})
        assert status == 201, body
    return path


def query_names(dav, path, filter_xml, props="<D:getetag/>", depth="1"):
    status, _, body = dav("REPORT", path, calendar_query(filter_xml, props), headers={"Depth": depth})
    assert status == 207, body
    return sorted(h.rsplit("/", 1)[1] for h in responses(body))


def test_time_range_query_sees_recurrences_overrides_exdates_all_day_and_endless_rules(dav, query_calendar):
    # Week of 5 Jan: single, the first instance, the all-day event, the endless daily rule.
    assert query_names(dav, query_calendar, week_filter("20260105T000000Z", "20260112T000000Z")) == \
        ["allday.ics", "endless.ics", "rec.ics", "single.ics"]
    # Monday 19 Jan 09:00 was moved to Wednesday: a window on the Monday morning misses it...
    assert query_names(dav, query_calendar, week_filter("20260119T080000Z", "20260119T110000Z")) == ["endless.ics"]
    # ... and a window on the Wednesday afternoon finds it.
    assert query_names(dav, query_calendar, week_filter("20260121T133000Z", "20260121T160000Z")) == ["rec.ics"]
    # 2 Feb is excluded with EXDATE.
    assert query_names(dav, query_calendar, week_filter("20260202T083000Z", "20260202T110000Z")) == []
    # After the COUNT ends (10 weeks from 5 Jan: last 9 Mar) only the endless rule remains.
    assert query_names(dav, query_calendar, week_filter("20260316T083000Z", "20260316T110000Z")) == []
    assert query_names(dav, query_calendar, week_filter("20260316T000000Z", "20260317T000000Z")) == ["endless.ics"]


def test_text_match_uses_the_requested_collation(dav, query_calendar):
    def summary(text, collation, negate="no"):
        return ('<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
                f'<C:text-match collation="{collation}" negate-condition="{negate}">{text}</C:text-match>'
                "</C:prop-filter></C:comp-filter></C:comp-filter>")
    assert query_names(dav, query_calendar, summary("LUNCH", "i;ascii-casemap")) == ["single.ics"]
    assert query_names(dav, query_calendar, summary("LUNCH", "i;octet")) == []
    assert query_names(dav, query_calendar, summary("ÆRØSKØBING", "i;unicode-casemap")) == ["single.ics"]
    assert "single.ics" not in query_names(dav, query_calendar, summary("lunch", "i;ascii-casemap", "yes"))
    status, _, body = dav("REPORT", query_calendar, calendar_query(summary("x", "i;klingon")), headers={"Depth": "1"})
    assert status == 403
    assert C + "supported-collation" in error_of(body)


def test_a_filter_without_vcalendar_is_an_invalid_filter(dav, query_calendar):
    status, _, body = dav("REPORT", query_calendar, calendar_query('<C:comp-filter name="VEVENT"/>'),
                          headers={"Depth": "1"})
    assert status == 403
    assert C + "valid-filter" in error_of(body)


def test_calendar_data_expand_returns_one_component_per_instance(dav, query_calendar):
    props = ('<D:getetag/><C:calendar-data><C:expand start="20260105T000000Z" end="20260126T000000Z"/>'
             "</C:calendar-data>")
    status, _, body = dav("REPORT", query_calendar,
                          calendar_query(week_filter("20260105T000000Z", "20260126T000000Z"), props),
                          headers={"Depth": "1"})
    assert status == 207
    data = responses(body)[query_calendar + "rec.ics"].find(f".//{C}calendar-data").text
    assert data.count("BEGIN:VEVENT") == 3
    assert "RRULE" not in data
    assert "RECURRENCE-ID:20260119T090000Z" in data.replace(";VALUE=DATE-TIME", "")


def test_multiget_returns_requested_objects_and_404_for_unknown_hrefs(dav, query_calendar, cal_org):
    body = ('<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            f"<D:href>{query_calendar}single.ics</D:href><D:href>{query_calendar}missing.ics</D:href>"
            f"<D:href>/dav/calendars/{cal_org.bob}/agenda/x.ics</D:href></C:calendar-multiget>")
    status, _, data = dav("REPORT", query_calendar, body, headers={"Depth": "1"})
    assert status == 207
    rs = responses(data)
    assert "UID:single" in rs[query_calendar + "single.ics"].find(f".//{C}calendar-data").text
    assert "404" in rs[query_calendar + "missing.ics"].find(D + "status").text
    assert "404" in rs[f"/dav/calendars/{cal_org.bob}/agenda/x.ics"].find(D + "status").text


def test_free_busy_query_reports_busy_time(dav, query_calendar):
    body = ('<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
            '<C:time-range start="20260106T000000Z" end="20260107T000000Z"/></C:free-busy-query>')
    status, headers, data = dav("REPORT", query_calendar, body, headers={"Depth": "1"})
    assert status == 200
    assert headers["content-type"].startswith("text/calendar")
    text = data.decode().replace("\r\n ", "")
    assert "BEGIN:VFREEBUSY" in text
    assert "20260106T120000Z/20260106T130000Z" in text or "20260106T120000Z/PT1H" in text


def test_sync_collection_reports_changes_and_deletions_since_a_token(dav, cal_org):
    path = cal_org.cal(name="sync")
    assert dav("MKCALENDAR", path)[0] == 201

    def sync(token):
        body = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:">'
                f"<D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>"
                "<D:prop><D:getetag/></D:prop></D:sync-collection>")
        return dav("REPORT", path, body, headers={"Depth": "0"})

    status, _, body = sync("")
    assert status == 207
    token = xml(body).find(D + "sync-token").text
    assert dav("PUT", path + "a.ics", event("a"))[0] == 201
    assert dav("PUT", path + "b.ics", event("b"))[0] == 201
    status, _, body = sync(token)
    assert sorted(h.rsplit("/", 1)[1] for h in responses(body)) == ["a.ics", "b.ics"]
    token2 = xml(body).find(D + "sync-token").text
    assert dav("DELETE", path + "a.ics")[0] == 204
    status, _, body = sync(token2)
    rs = responses(body)
    assert list(rs) == [path + "a.ics"]
    assert "404" in rs[path + "a.ics"].find(D + "status").text
    for bad in ("urn:x-polder:sync:1-999999999", "nonsense", token2.replace("sync:", "sync:9")):
        status, _, body = sync(bad)
        assert status == 403
        assert D + "valid-sync-token" in error_of(body)


def test_mkcalendar_sets_properties_and_refuses_an_existing_name(dav, cal_org):
    path = cal_org.cal(name="team-" + uuid.uuid4().hex[:6])
    body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
            'xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>Team</D:displayname>'
            "<C:calendar-description>Teamafspraken</C:calendar-description><A:calendar-color>#ff0000</A:calendar-color>"
            '<C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set>'
            "</D:prop></D:set></C:mkcalendar>")
    status, _, _ = dav("MKCALENDAR", path, body)
    assert status == 201
    status, _, data = dav("MKCALENDAR", path, body)
    assert status == 405
    find = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
            'xmlns:A="http://apple.com/ns/ical/"><D:prop><D:displayname/><C:calendar-description/>'
            "<A:calendar-color/><C:supported-calendar-component-set/></D:prop></D:propfind>")
    status, _, data = dav("PROPFIND", path, find, headers={"Depth": "0"})
    root = xml(data)
    assert root.find(f".//{D}displayname").text == "Team"
    assert root.find(f".//{C}calendar-description").text == "Teamafspraken"
    assert root.find(".//{http://apple.com/ns/ical/}calendar-color").text == "#ff0000"
    assert [c.get("name") for c in root.findall(f".//{C}comp")] == ["VTODO"]
    assert dav("DELETE", path)[0] == 204
    assert dav("PROPFIND", path, find, headers={"Depth": "0"})[0] == 404


def test_extended_mkcol_creates_calendars_and_address_books(dav, cal_org):
    cal = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
           "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Via MKCOL</D:displayname>"
           "</D:prop></D:set></D:mkcol>")
    assert dav("MKCOL", cal_org.cal(name="mkcol-cal"), cal)[0] == 201
    book = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
            "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>")
    assert dav("MKCOL", cal_org.book(name="mkcol-book"), book)[0] == 201
    status, _, data = dav("MKCOL", cal_org.cal(name="mkcol-wrong"), book)
    assert status == 403
    assert b"valid-resourcetype" in data
    assert dav("MKCOL", cal_org.cal(name="plain"))[0] == 403


def test_proppatch_is_atomic_and_refuses_protected_properties(dav, cal_org):
    path = cal_org.cal()
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example:x"><D:set><D:prop>'
            "<D:displayname>Gewijzigd</D:displayname><D:getetag>x</D:getetag></D:prop></D:set></D:propertyupdate>")
    status, _, data = dav("PROPPATCH", path, body)
    assert status == 207
    text = data.decode()
    assert "403" in text and "424" in text and "cannot-modify-protected-property" in text
    find = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>'
    assert xml(dav("PROPFIND", path, find, headers={"Depth": "0"})[2]).find(f".//{D}displayname").text == "Agenda"
    body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example:x"><D:set><D:prop>'
            "<D:displayname>Mijn agenda</D:displayname><X:dead>waarde</X:dead></D:prop></D:set></D:propertyupdate>")
    status, _, data = dav("PROPPATCH", path, body)
    assert status == 207 and "403" not in data.decode()
    find = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:X="urn:example:x"><D:prop><D:displayname/>'
            "<X:dead/></D:prop></D:propfind>")
    root = xml(dav("PROPFIND", path, find, headers={"Depth": "0"})[2])
    assert root.find(f".//{D}displayname").text == "Mijn agenda"
    assert root.find(".//{urn:example:x}dead").text == "waarde"


def test_copy_and_move_between_own_calendars(dav, cal_org):
    dav("MKCALENDAR", cal_org.cal(name="second"))
    uid = str(uuid.uuid4())
    src = cal_org.cal(obj="m.ics")
    assert dav("PUT", src, event(uid))[0] == 201
    dest = cal_org.cal(name="second", obj="m.ics")
    status, _, _ = dav("COPY", src, headers={"Destination": dest})
    assert status == 201
    assert dav("GET", dest)[0] == 200
    # The copy holds the UID now: a MOVE of the same UID into it under another name conflicts.
    status, _, data = dav("MOVE", src, headers={"Destination": cal_org.cal(name="second", obj="other.ics")})
    assert status == 403 and b"no-uid-conflict" in data
    assert dav("DELETE", dest)[0] == 204
    status, _, _ = dav("MOVE", src, headers={"Destination": dest})
    assert status == 201
    assert dav("GET", src)[0] == 404
    assert dav("GET", dest)[0] == 200
    # Calendars and address books do not mix.
    status, _, _ = dav("COPY", dest, headers={"Destination": cal_org.book(obj="m.vcf")})
    assert status == 403


def test_queries_are_planned_from_precomputed_time_columns(dav, query_calendar, sql):
    # The bounded series is stored with its 9 instances (10 weekly, one moved, one
    # excluded) and answered without a parse; the endless rule and the all-day event are
    # left to the exact check; the single event is exact by its span.
    rows = dict((name, (exact, recurring, floating)) for name, exact, recurring, floating in sql(
        "SELECT o.name, o.exact, o.recurring, o.floating FROM cal.objects o JOIN cal.collections c "
        "ON c.id = o.collection_id WHERE c.name = 'query'"))
    assert rows["rec.ics"] == (True, True, False)
    assert rows["single.ics"] == (True, False, False)
    assert rows["endless.ics"][0] is False
    assert rows["allday.ics"][:1] == (False,) and rows["allday.ics"][2] is True
    spans = [r[0] for r in sql(
        "SELECT i.span::text FROM cal.instances i JOIN cal.objects o ON o.id = i.object_id "
        "JOIN cal.collections c ON c.id = o.collection_id WHERE c.name = 'query' AND o.name = 'rec.ics' "
        "ORDER BY lower(i.span)")]
    assert len(spans) == 9
    assert spans[2] == "[1769004000,1769007600)"   # the moved instance: Wed 21 Jan 14:00-15:00 UTC


def test_limit_recurrence_set_keeps_the_master_and_only_overrides_in_range(dav, query_calendar):
    props = ('<C:calendar-data><C:limit-recurrence-set start="20260101T000000Z" end="20260110T000000Z"/>'
             "</C:calendar-data>")
    body = ('<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:prop>{props}</D:prop><D:href>{query_calendar}rec.ics</D:href></C:calendar-multiget>")
    status, _, data = dav("REPORT", query_calendar, body, headers={"Depth": "1"})
    assert status == 207
    text = responses(data)[query_calendar + "rec.ics"].find(f".//{C}calendar-data").text
    assert "RRULE:FREQ=WEEKLY;COUNT=10" in text
    assert "RECURRENCE-ID" not in text   # the 19 Jan override lies outside the limit


def test_calendar_timezone_must_be_a_valid_vtimezone(dav, cal_org):
    def patch(value):
        body = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                f"<D:set><D:prop><C:calendar-timezone>{value}</C:calendar-timezone></D:prop></D:set></D:propertyupdate>")
        return dav("PROPPATCH", cal_org.cal(), body)
    status, _, data = patch("not a time zone")
    assert status == 207 and b"403" in data and b"valid-calendar-data" in data
    tz = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\n"
          "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n"
          "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\n"
          "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
          "END:VTIMEZONE\r\nEND:VCALENDAR\r\n")
    status, _, data = patch(tz)
    assert status == 207 and b"403" not in data
    find = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
            "<C:calendar-timezone/></D:prop></D:propfind>")
    text = xml(dav("PROPFIND", cal_org.cal(), find, headers={"Depth": "0"})[2]).find(f".//{C}calendar-timezone").text
    assert "TZID:Europe/Amsterdam" in text


def test_an_xml_body_over_the_limit_is_refused_before_parsing(dav, cal_org):
    big = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>' + "<D:getetag/>" * 100000 + "</D:prop></D:propfind>"
    status, _, _ = dav("PROPFIND", cal_org.cal(), big, headers={"Depth": "0"})
    assert status == 413


def test_unknown_reports_are_refused_with_supported_report(dav, cal_org):
    body = '<?xml version="1.0"?><D:expand-property xmlns:D="DAV:"/>'
    status, _, data = dav("REPORT", cal_org.cal(), body, headers={"Depth": "0"})
    assert status == 403
    assert D + "supported-report" in error_of(data)
