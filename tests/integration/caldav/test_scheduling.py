# test_scheduling.py - CalDAV scheduling inside the organisation (RFC 6638) and rooms:
# principal scheduling properties, an organizer's PUT inviting two and three users
# (inbox + calendar copies, SCHEDULE-STATUS), attendees accepting and declining (the
# organizer's copy follows), removing an attendee and deleting the event (CANCEL),
# Schedule-Tag and If-Schedule-Tag-Match, free/busy by POST to the outbox, rooms that
# auto-accept when free and decline when busy, principal-property-search finding rooms,
# and python3-caldav reading the inbox and accepting an invitation.
#
# SECURITY: invitations, replies and free/busy never cross organisations (carol, in
# another organisation, is an "invalid calendar user" and receives nothing).
# STANDARDS: RFC 6638, RFC 5546, RFC 3744 9.4.
import json
import re
import xml.etree.ElementTree as ET

import pytest

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"


def meeting(uid, organizer, attendees, start="20260302T090000Z", end="20260302T100000Z", summary="Overleg",
            sequence=0, partstats=None):
    lines = [f"ORGANIZER;CN=Organizer:mailto:{organizer}",
             f"ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:{organizer}"]
    for a in attendees:
        ps = (partstats or {}).get(a, "NEEDS-ACTION")
        cutype = ";CUTYPE=ROOM" if a.startswith("room") else ""
        lines.append(f"ATTENDEE;PARTSTAT={ps};RSVP=TRUE{cutype}:mailto:{a}")
    body = "\r\n".join(lines)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260201T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSEQUENCE:{sequence}\r\n"
            f"SUMMARY:{summary}\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def unfold(text):
    if isinstance(text, bytes):
        text = text.decode()
    return text.replace("\r\n ", "").replace("\n ", "")


def attendee_line(text, who):
    for line in unfold(text).splitlines():
        if line.startswith("ATTENDEE") and line.lower().endswith(f"mailto:{who}".lower()):
            return line
    return None


def partstat(text, who):
    line = attendee_line(text, who)
    assert line, (who, text)
    m = re.search(r"PARTSTAT=([A-Z-]+)", line)
    return m.group(1) if m else "NEEDS-ACTION"


def listing(dav, path, user):
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop></D:propfind>")
    status, _, data = dav("PROPFIND", path, body, headers={"Depth": "1"}, user=user)
    assert status == 207, data
    out = {}
    for r in ET.fromstring(data).findall(D + "response"):
        cd = r.find(f".//{C}calendar-data")
        if cd is not None and cd.text:
            out[r.find(D + "href").text] = cd.text
    return out


def find_uid(items, uid):
    return [t for t in items.values() if f"UID:{uid}" in unfold(t)]


@pytest.fixture(scope="module")
def people(cal_org, polderctl, caldav):
    erin = f"erin@{cal_org.domain}"
    polderctl.ok("user", "add", erin, "--password-stdin", input=cal_org.password + "\n")
    polderctl.ok("alias", "add", f"a.smit@{cal_org.domain}", cal_org.alice)
    room = f"room-3.14@{cal_org.domain}"
    manual = f"room-manual@{cal_org.domain}"
    polderctl.ok("resource", "add", room, "--name", "Vergaderzaal 3.14", "--kind", "room", "--capacity", "12")
    polderctl.ok("resource", "add", manual, "--name", "Raadzaal", "--kind", "room", "--manual")
    polderctl.ok("resource", "add", f"beamer-1@{cal_org.domain}", "--name", "Beamer 1", "--kind", "equipment")
    return {"erin": erin, "room": room, "manual": manual}


def test_the_principal_announces_inbox_outbox_and_its_addresses(dav, cal_org, people):
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
            "<C:schedule-inbox-URL/><C:schedule-outbox-URL/><C:calendar-user-address-set/><C:calendar-user-type/>"
            "</D:prop></D:propfind>")
    status, headers, data = dav("PROPFIND", f"/dav/principals/{cal_org.alice}/", body, headers={"Depth": "0"})
    assert status == 207
    root = ET.fromstring(data)
    assert root.find(f".//{C}schedule-inbox-URL/{D}href").text == f"/dav/calendars/{cal_org.alice}/inbox/"
    assert root.find(f".//{C}schedule-outbox-URL/{D}href").text == f"/dav/calendars/{cal_org.alice}/outbox/"
    hrefs = [h.text for h in root.findall(f".//{C}calendar-user-address-set/{D}href")]
    assert f"mailto:{cal_org.alice}" in hrefs and f"mailto:a.smit@{cal_org.domain}" in hrefs
    assert root.find(f".//{C}calendar-user-type").text == "INDIVIDUAL"
    status, headers, _ = dav("OPTIONS", "/dav/", user="")
    assert "calendar-auto-schedule" in headers["dav"]
    # The inbox and outbox have their RFC 6638 resource types.
    status, _, data = dav("PROPFIND", f"/dav/calendars/{cal_org.alice}/inbox/",
                          '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>',
                          headers={"Depth": "0"})
    assert status == 207 and ET.fromstring(data).find(f".//{D}resourcetype/{C}schedule-inbox") is not None
    status, _, data = dav("PROPFIND", f"/dav/calendars/{cal_org.alice}/outbox/",
                          '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>',
                          headers={"Depth": "1"})
    assert status == 207 and ET.fromstring(data).find(f".//{D}resourcetype/{C}schedule-outbox") is not None
    # Clients cannot put into the inbox or create collections with the reserved names.
    assert dav("PUT", f"/dav/calendars/{cal_org.alice}/inbox/x.ics", meeting("x", cal_org.alice, []))[0] == 403
    assert dav("MKCALENDAR", f"/dav/calendars/{cal_org.alice}/outbox/")[0] == 405
    assert dav("DELETE", f"/dav/calendars/{cal_org.alice}/inbox/")[0] == 403


def test_an_invitation_reaches_two_attendees_and_their_answers_reach_the_organizer(dav, cal_org, people, sql):
    erin = people["erin"]
    uid = "sched-1"
    path = cal_org.cal(obj="sched-1.ics")
    status, headers, _ = dav("PUT", path, meeting(uid, cal_org.alice, [cal_org.bob, erin, cal_org.carol]),
                             headers={"Content-Type": "text/calendar"})
    assert status == 201
    assert "schedule-tag" in headers and "etag" not in headers   # stored data differs (SCHEDULE-STATUS)
    status, _, mine = dav("GET", path)
    assert partstat(mine, cal_org.bob) == "NEEDS-ACTION"
    assert "SCHEDULE-STATUS=1.2" in attendee_line(mine, cal_org.bob)
    assert "SCHEDULE-STATUS=1.2" in attendee_line(mine, erin)
    # carol is in another organisation: not scheduled here, but sent by mail (iMIP, 1.1).
    assert "SCHEDULE-STATUS=1.1" in attendee_line(mine, cal_org.carol)
    for who in (cal_org.bob, erin):
        inbox = find_uid(listing(dav, f"/dav/calendars/{who}/inbox/", who), uid)
        assert len(inbox) == 1 and "METHOD:REQUEST" in inbox[0]
        copies = find_uid(listing(dav, f"/dav/calendars/{who}/agenda/", who), uid)
        assert len(copies) == 1 and "METHOD" not in copies[0] and partstat(copies[0], who) == "NEEDS-ACTION"
        assert "SCHEDULE-STATUS" not in copies[0]
    # carol, in another organisation, got nothing in her calendar or inbox - only a queued mail.
    assert find_uid(listing(dav, f"/dav/calendars/{cal_org.carol}/agenda/", cal_org.carol), uid) == []
    assert find_uid(listing(dav, f"/dav/calendars/{cal_org.carol}/inbox/", cal_org.carol), uid) == []
    assert sql("SELECT count(*) FROM mail.smtp_queue_rcpt WHERE recipient = %s", (cal_org.carol,))[0][0] == 1

    tag_before = dav("GET", path)[1]["schedule-tag"]
    # bob accepts, erin declines: each PUTs its copy with a new PARTSTAT.
    for who, answer in ((cal_org.bob, "ACCEPTED"), (erin, "DECLINED")):
        href, text = next((h, t) for h, t in listing(dav, f"/dav/calendars/{who}/agenda/", who).items() if f"UID:{uid}" in unfold(t))
        changed = unfold(text).replace(attendee_line(text, who), attendee_line(text, who).replace("PARTSTAT=NEEDS-ACTION", f"PARTSTAT={answer}"))
        status, h, _ = dav("PUT", href, changed, user=who, headers={"Content-Type": "text/calendar"})
        assert status == 204, (who, status)
    status, headers, mine = dav("GET", path)
    assert partstat(mine, cal_org.bob) == "ACCEPTED"
    assert partstat(mine, erin) == "DECLINED"
    # Replies do not change the organizer's Schedule-Tag (RFC 6638 3.2.10).
    assert headers["schedule-tag"] == tag_before
    replies = find_uid(listing(dav, f"/dav/calendars/{cal_org.alice}/inbox/", cal_org.alice), uid)
    assert len(replies) == 1 and "METHOD:REPLY" in replies[0]


def test_if_schedule_tag_match_protects_the_organizers_changes(dav, cal_org, people):
    path = cal_org.cal(obj="sched-1.ics")
    status, headers, data = dav("GET", path)
    tag = headers["schedule-tag"]
    status, _, _ = dav("PUT", path, unfold(data).replace("SUMMARY:Overleg", "SUMMARY:Overleg verzet"),
                       headers={"If-Schedule-Tag-Match": '"stale"', "Content-Type": "text/calendar"})
    assert status == 412
    status, headers2, _ = dav("PUT", path, unfold(data).replace("SUMMARY:Overleg", "SUMMARY:Overleg verzet"),
                              headers={"If-Schedule-Tag-Match": tag, "Content-Type": "text/calendar"})
    assert status == 204 and headers2["schedule-tag"] != tag
    # bob's answer survives an update with the same SEQUENCE; the copy shows the new summary.
    copy = find_uid(listing(dav, cal_org.cal(who=cal_org.bob), cal_org.bob), "sched-1")[0]
    assert "Overleg verzet" in copy and partstat(copy, cal_org.bob) == "ACCEPTED"


def test_removing_an_attendee_and_deleting_the_event_cancel_it(dav, cal_org, people):
    erin = people["erin"]
    uid = "sched-2"
    path = cal_org.cal(obj="sched-2.ics")
    assert dav("PUT", path, meeting(uid, cal_org.alice, [cal_org.bob, erin]))[0] == 201
    assert len(find_uid(listing(dav, cal_org.cal(who=erin), erin), uid)) == 1
    # erin is dropped: her copy goes, her inbox gets a CANCEL; bob keeps his.
    assert dav("PUT", path, meeting(uid, cal_org.alice, [cal_org.bob], sequence=1))[0] == 204
    assert find_uid(listing(dav, cal_org.cal(who=erin), erin), uid) == []
    cancel = find_uid(listing(dav, f"/dav/calendars/{erin}/inbox/", erin), uid)
    assert len(cancel) == 1 and "METHOD:CANCEL" in cancel[0]
    assert len(find_uid(listing(dav, cal_org.cal(who=cal_org.bob), cal_org.bob), uid)) == 1
    # The organizer deletes the event: bob's copy goes too.
    assert dav("DELETE", path)[0] == 204
    assert find_uid(listing(dav, cal_org.cal(who=cal_org.bob), cal_org.bob), uid) == []
    assert "METHOD:CANCEL" in find_uid(listing(dav, f"/dav/calendars/{cal_org.bob}/inbox/", cal_org.bob), uid)[0]


def test_an_attendee_deleting_its_copy_declines(dav, cal_org, people):
    uid = "sched-3"
    path = cal_org.cal(obj="sched-3.ics")
    assert dav("PUT", path, meeting(uid, cal_org.alice, [cal_org.bob, people["erin"]]))[0] == 201
    href = next(h for h, t in listing(dav, cal_org.cal(who=cal_org.bob), cal_org.bob).items() if f"UID:{uid}" in unfold(t))
    assert dav("DELETE", href, user=cal_org.bob)[0] == 204
    assert partstat(dav("GET", path)[2], cal_org.bob) == "DECLINED"
    assert partstat(dav("GET", path)[2], people["erin"]) == "NEEDS-ACTION"


FREEBUSY = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//EN\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\n"
            "UID:fb-{n}\r\nDTSTAMP:20260201T000000Z\r\nDTSTART:{day}T000000Z\r\nDTEND:{day}T235959Z\r\n"
            "ORGANIZER:mailto:{organizer}\r\n{attendees}END:VFREEBUSY\r\nEND:VCALENDAR\r\n")


def post_freebusy(dav, cal_org, organizer, attendees, user=None, n=1, day="20260302"):
    body = FREEBUSY.format(n=n, day=day, organizer=organizer, attendees="".join(f"ATTENDEE:mailto:{a}\r\n" for a in attendees))
    return dav("POST", f"/dav/calendars/{user or cal_org.alice}/outbox/", body, user=user,
               headers={"Content-Type": "text/calendar; charset=utf-8"})


def test_free_busy_by_post_to_the_outbox_across_the_organisation(dav, cal_org, people):
    assert dav("PUT", cal_org.cal(who=people["erin"], obj="busy.ics"),
               meeting("erin-busy", people["erin"], [], "20260302T130000Z", "20260302T143000Z"),
               user=people["erin"])[0] == 201
    status, headers, data = post_freebusy(dav, cal_org, cal_org.alice, [cal_org.bob, people["erin"], cal_org.carol,
                                                                        "someone@elsewhere.example"])
    assert status == 200, data
    root = ET.fromstring(data)
    assert root.tag == C + "schedule-response"
    answers = {r.find(f"{C}recipient/{D}href").text: r for r in root.findall(C + "response")}
    erin = answers[f"mailto:{people['erin']}"]
    assert erin.find(C + "request-status").text.startswith("2.0")
    fb = unfold(erin.find(C + "calendar-data").text)
    assert "METHOD:REPLY" in fb and "20260302T130000Z/20260302T143000Z" in fb
    bob = unfold(answers[f"mailto:{cal_org.bob}"].find(C + "calendar-data").text)
    assert "20260302T090000Z/20260302T100000Z" in bob   # sched-1, accepted by bob
    for outsider in (f"mailto:{cal_org.carol}", "mailto:someone@elsewhere.example"):
        assert answers[outsider].find(C + "request-status").text.startswith("3.7")
        assert answers[outsider].find(C + "calendar-data") is None
    # Only the owner's addresses may organize; another user's outbox is not reachable.
    assert post_freebusy(dav, cal_org, cal_org.bob, [people["erin"]])[0] == 403
    assert post_freebusy(dav, cal_org, cal_org.bob, [people["erin"]], user=cal_org.bob)[0] == 200
    assert dav("POST", f"/dav/calendars/{cal_org.bob}/outbox/", FREEBUSY.format(
        n=2, day="20260302", organizer=cal_org.alice, attendees=f"ATTENDEE:mailto:{people['erin']}\r\n"),
        headers={"Content-Type": "text/calendar"})[0] == 404
    assert dav("POST", f"/dav/calendars/{cal_org.alice}/outbox/", "not a calendar",
               headers={"Content-Type": "text/calendar"})[0] == 400


def test_a_room_accepts_when_free_and_declines_when_busy(dav, cal_org, people):
    room = people["room"]
    assert dav("PUT", cal_org.cal(obj="room-1.ics"),
               meeting("room-1", cal_org.alice, [room], "20260305T090000Z", "20260305T110000Z"))[0] == 201
    assert partstat(dav("GET", cal_org.cal(obj="room-1.ics"))[2], room) == "ACCEPTED"
    # bob books the same room for an overlapping hour: declined; a later hour: accepted.
    assert dav("PUT", cal_org.cal(who=cal_org.bob, obj="room-2.ics"),
               meeting("room-2", cal_org.bob, [room], "20260305T100000Z", "20260305T120000Z"), user=cal_org.bob)[0] == 201
    assert partstat(dav("GET", cal_org.cal(who=cal_org.bob, obj="room-2.ics"), user=cal_org.bob)[2], room) == "DECLINED"
    assert dav("PUT", cal_org.cal(who=cal_org.bob, obj="room-3.ics"),
               meeting("room-3", cal_org.bob, [room], "20260305T110000Z", "20260305T120000Z"), user=cal_org.bob)[0] == 201
    assert partstat(dav("GET", cal_org.cal(who=cal_org.bob, obj="room-3.ics"), user=cal_org.bob)[2], room) == "ACCEPTED"
    # A room answering by hand leaves the invitation open.
    assert dav("PUT", cal_org.cal(obj="room-4.ics"),
               meeting("room-4", cal_org.alice, [people["manual"]], "20260305T090000Z", "20260305T100000Z"))[0] == 201
    assert partstat(dav("GET", cal_org.cal(obj="room-4.ics"))[2], people["manual"]) == "NEEDS-ACTION"
    # The room's free/busy is visible to everyone in the organisation.
    status, _, data = post_freebusy(dav, cal_org, cal_org.bob, [room], user=cal_org.bob, n=3, day="20260305")
    fb = unfold(ET.fromstring(data).find(f".//{C}calendar-data").text)
    assert "20260305T090000Z/20260305T120000Z" in fb or (
        "20260305T090000Z/20260305T110000Z" in fb and "20260305T110000Z/20260305T120000Z" in fb)


def test_principal_property_search_finds_rooms(dav, cal_org, people):
    body = ('<?xml version="1.0"?><D:principal-property-search xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            "<D:property-search><D:prop><C:calendar-user-type/></D:prop><D:match>ROOM</D:match></D:property-search>"
            "<D:prop><D:displayname/><C:calendar-user-address-set/><C:calendar-user-type/></D:prop>"
            "</D:principal-property-search>")
    status, _, data = dav("REPORT", "/dav/principals/", body, headers={"Depth": "0"})
    assert status == 207, data
    found = {r.find(f".//{D}displayname").text: r for r in ET.fromstring(data).findall(D + "response")}
    assert set(found) == {"Vergaderzaal 3.14", "Raadzaal"}
    assert found["Vergaderzaal 3.14"].find(f".//{C}calendar-user-type").text == "ROOM"
    body = body.replace("<C:calendar-user-type/></D:prop><D:match>ROOM", "<D:displayname/></D:prop><D:match>vergader")
    status, _, data = dav("REPORT", "/dav/principals/", body, headers={"Depth": "0"})
    hrefs = [r.find(D + "href").text for r in ET.fromstring(data).findall(D + "response")]
    assert hrefs == [f"/dav/principals/{people['room']}/"]
    body = body.replace("<D:displayname/></D:prop><D:match>vergader", "<C:calendar-user-address-set/></D:prop><D:match>beamer")
    status, _, data = dav("REPORT", "/dav/principals/", body, headers={"Depth": "0"})
    assert "RESOURCE" in data.decode() and "Beamer 1" in data.decode()
    # Another organisation's search never sees these rooms.
    status, _, data = dav("REPORT", "/dav/principals/", body.replace("beamer", "room"), user=cal_org.carol,
                          headers={"Depth": "0"})
    assert status == 207 and b"room-" not in data


def test_polderctl_resource_list_and_remove(polderctl, cal_org, people):
    rows = {r["address"]: r for r in json.loads(polderctl.ok("resource", "list", "--org", cal_org.name, "--json").stdout)}
    assert rows[people["room"]]["kind"] == "room" and rows[people["room"]]["capacity"] == 12
    assert rows[people["manual"]]["auto_accept"] is False
    assert rows[f"beamer-1@{cal_org.domain}"]["kind"] == "equipment"
    r = polderctl("resource", "add", f"room-x@{cal_org.other_domain}", "--name", "X", "--org", cal_org.name)
    assert r.returncode != 0
    assert polderctl("resource", "remove", cal_org.bob).returncode != 0   # not a resource
    polderctl.ok("resource", "remove", f"beamer-1@{cal_org.domain}")
    assert f"beamer-1@{cal_org.domain}" not in polderctl.ok("resource", "list").stdout


def test_python_caldav_reads_the_inbox_and_accepts_an_invitation(dav, cal_org, url, people):
    lib = pytest.importorskip("caldav")
    assert dav("PUT", cal_org.cal(obj="py-invite.ics"), meeting("py-invite", cal_org.alice, [people["erin"]],
                                                                 "20260310T090000Z", "20260310T100000Z"))[0] == 201
    client = lib.DAVClient(url("/.well-known/caldav"), username=people["erin"], password=cal_org.password)
    principal = client.principal()
    items = [i for i in principal.schedule_inbox().get_items() if "py-invite" in i.data]
    assert len(items) == 1 and items[0].is_invite_request()
    items[0].accept_invite(calendar=principal.calendar(cal_id="agenda"))
    assert partstat(dav("GET", cal_org.cal(obj="py-invite.ics"))[2], people["erin"]) == "ACCEPTED"
