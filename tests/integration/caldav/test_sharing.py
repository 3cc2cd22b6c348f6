# test_sharing.py - shared calendars and address books: polderctl calendar share/unshare
# and list, the bound collection in the sharee's home with its privileges, read-only
# sharees refused on PUT/DELETE/PROPPATCH, read-write sharees writing, group shares
# following membership changes, non-members and other organisations refused, the
# CalendarServer CS:invite property and CS:share POST, and python3-caldav as a sharee.
#
# SECURITY: the properties under test: a share reaches exactly its sharees (403/404 for
# everyone else, never data), read-only is read-only, and no share crosses organisations.
# STANDARDS: RFC 4918, RFC 4791, RFC 6352, RFC 3744 (current-user-privilege-set,
# need-privileges), CalendarServer caldav-sharing (CS:invite, CS:shared-url, CS:share).
import json
import re
import xml.etree.ElementTree as ET

import pytest

from test_dav import event, vcard

D = "{DAV:}"
CS = "{http://calendarserver.org/ns/}"

PROPS = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop>'
         "<D:resourcetype/><D:displayname/><D:owner/><D:current-user-privilege-set/><CS:invite/><CS:shared-url/>"
         "</D:prop></D:propfind>")


def members(dav, path, user):
    status, _, data = dav("PROPFIND", path, PROPS, headers={"Depth": "1"}, user=user)
    assert status == 207, data
    out = {}
    for r in ET.fromstring(data).findall(D + "response"):
        out[r.find(D + "href").text] = r
    return out


def privileges(response):
    return {p[0].tag for p in response.iter(D + "privilege")}


def shared_path(out):
    # "... : /dav/calendars/<sharee>/shared-<id>/"
    return re.search(r"(shared-\d+)/", out).group(1)


@pytest.fixture(scope="module")
def dave(cal_org, polderctl):
    address = f"dave@{cal_org.domain}"
    polderctl.ok("user", "add", address, "--password-stdin", input=cal_org.password + "\n")
    return address


@pytest.fixture(scope="module")
def shared(dav, cal_org, polderctl, caldav):
    # alice: her agenda read-only with bob; a "team" calendar read-write with group Team;
    # her contacts read-only with bob.
    assert dav("PUT", cal_org.cal(obj="plan.ics"), event("plan", summary="Begroting"))[0] == 201
    assert dav("MKCALENDAR", cal_org.cal(name="team"))[0] == 201
    assert dav("PUT", cal_org.book(obj="jan.vcf"), vcard("jan"))[0] == 201
    ro = polderctl.ok("calendar", "share", cal_org.alice, "agenda", "--with", cal_org.bob, "--read").stdout
    rw = polderctl.ok("calendar", "share", cal_org.alice, "team", "--group", "Team", "--read-write").stdout
    book = polderctl.ok("calendar", "share", cal_org.alice, "contacts", "--with", cal_org.bob, "--read").stdout
    return {"agenda": shared_path(ro), "team": shared_path(rw), "contacts": shared_path(book)}


def test_a_shared_calendar_appears_in_the_sharees_home_with_read_privileges_only(dav, cal_org, shared):
    home = members(dav, f"/dav/calendars/{cal_org.bob}/", cal_org.bob)
    href = f"/dav/calendars/{cal_org.bob}/{shared['agenda']}/"
    assert href in home
    r = home[href]
    assert r.find(f".//{D}resourcetype/{CS}shared") is not None
    assert r.find(f".//{D}owner/{D}href").text == f"/dav/principals/{cal_org.alice}/"
    assert r.find(f".//{CS}shared-url/{D}href").text == f"/dav/calendars/{cal_org.alice}/agenda/"
    privs = privileges(r)
    assert D + "read" in privs and D + "write" not in privs and D + "write-content" not in privs
    team = home[f"/dav/calendars/{cal_org.bob}/{shared['team']}/"]
    assert {D + "read", D + "write-content", D + "bind"} <= privileges(team)


def test_a_read_only_sharee_reads_events_and_is_refused_every_change(dav, cal_org, shared):
    base = f"/dav/calendars/{cal_org.bob}/{shared['agenda']}/"
    status, _, data = dav("GET", base + "plan.ics", user=cal_org.bob)
    assert status == 200 and b"Begroting" in data
    assert dav("PUT", base + "plan.ics", event("plan", summary="Gewijzigd"), user=cal_org.bob)[0] == 403
    assert dav("PUT", base + "new.ics", event("new-by-bob"), user=cal_org.bob)[0] == 403
    assert dav("DELETE", base + "plan.ics", user=cal_org.bob)[0] == 403
    patch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Van mij'
             "</D:displayname></D:prop></D:set></D:propertyupdate>")
    assert dav("PROPPATCH", base, patch, user=cal_org.bob)[0] == 403
    assert dav("MOVE", base + "plan.ics", user=cal_org.bob,
               headers={"Destination": cal_org.cal(who=cal_org.bob, obj="taken.ics")})[0] == 403
    # The owner's copy is untouched.
    status, _, data = dav("GET", cal_org.cal(obj="plan.ics"))
    assert status == 200 and b"Begroting" in data
    assert dav("GET", cal_org.cal(obj="new.ics"))[0] == 404


def test_a_read_write_group_sharee_writes_and_the_owner_sees_it(dav, cal_org, shared):
    base = f"/dav/calendars/{cal_org.bob}/{shared['team']}/"
    status, headers, _ = dav("PUT", base + "retro.ics", event("retro", summary="Retrospectief"), user=cal_org.bob)
    assert status == 201 and headers.get("etag")
    status, _, data = dav("GET", cal_org.cal(name="team", obj="retro.ics"))
    assert status == 200 and b"Retrospectief" in data
    assert dav("DELETE", base + "retro.ics", user=cal_org.bob)[0] == 204
    assert dav("GET", cal_org.cal(name="team", obj="retro.ics"))[0] == 404


def test_group_membership_changes_take_effect_without_sharing_again(dav, cal_org, shared, dave, polderctl):
    base = f"/dav/calendars/{dave}/{shared['team']}/"
    assert dav("PROPFIND", base, PROPS, headers={"Depth": "0"}, user=dave)[0] == 404
    assert base not in members(dav, f"/dav/calendars/{dave}/", dave)
    polderctl.ok("group", "member", "add", "Team", dave)
    assert base in members(dav, f"/dav/calendars/{dave}/", dave)
    assert dav("PUT", base + "dave.ics", event("dave-1"), user=dave)[0] == 201
    polderctl.ok("group", "member", "remove", "Team", dave)
    assert dav("GET", base + "dave.ics", user=dave)[0] == 404
    assert dav("PUT", base + "dave2.ics", event("dave-2"), user=dave)[0] in (404, 409)


def test_non_members_and_other_organisations_cannot_reach_a_share(dav, cal_org, shared, dave):
    for who in (dave, cal_org.carol):
        for name in (shared["agenda"], shared["team"]):
            for path in (f"/dav/calendars/{who}/{name}/", f"/dav/calendars/{who}/{name}/plan.ics",
                         f"/dav/calendars/{cal_org.bob}/{name}/plan.ics"):
                method = "PROPFIND" if path.endswith("/") else "GET"
                status, _, data = dav(method, path, PROPS if method == "PROPFIND" else None, user=who,
                                      headers={"Depth": "1"})
                assert status in (403, 404) and b"Begroting" not in data and b"plan.ics" not in data
                assert dav("PUT", path if path.endswith(".ics") else path + "x.ics", event("intruder"),
                           user=who)[0] in (403, 404, 409)
    # The owner does not see her own collection bound a second time.
    assert dav("GET", f"/dav/calendars/{cal_org.alice}/{shared['agenda']}/plan.ics")[0] == 404


def test_polderctl_refuses_to_share_across_organisations_and_with_unknown_groups(polderctl, cal_org, expect_failure):
    r = polderctl("calendar", "share", cal_org.alice, "agenda", "--with", cal_org.carol, "--read")
    assert r.returncode != 0 and "unknown user" in (r.stdout + r.stderr)
    r = polderctl("calendar", "share", cal_org.alice, "agenda", "--group", "Nobody", "--read")
    assert r.returncode != 0
    r = polderctl("calendar", "share", cal_org.alice, "agenda", "--with", cal_org.alice, "--read")
    assert r.returncode != 0
    r = polderctl("calendar", "share", cal_org.alice, "agenda", "--with", cal_org.bob)
    assert r.returncode != 0   # neither --read nor --read-write


def test_a_shared_address_book_is_readable_and_read_only(dav, cal_org, shared):
    base = f"/dav/addressbooks/{cal_org.bob}/{shared['contacts']}/"
    home = members(dav, f"/dav/addressbooks/{cal_org.bob}/", cal_org.bob)
    assert base in home
    status, _, data = dav("GET", base + "jan.vcf", user=cal_org.bob)
    assert status == 200 and b"Jan Jansen" in data
    assert dav("PUT", base + "piet.vcf", vcard("piet"), user=cal_org.bob)[0] == 403


def test_the_owner_reads_cs_invite_and_shares_by_cs_share_post(dav, cal_org, shared, dave):
    r = members(dav, cal_org.cal(name="agenda"), cal_org.alice)[cal_org.cal(name="agenda")]
    assert r.find(f".//{D}resourcetype/{CS}shared-owner") is not None
    users = {u.find(D + "href").text: u for u in r.iter(CS + "user")}
    assert f"mailto:{cal_org.bob}" in users
    assert users[f"mailto:{cal_org.bob}"].find(f"{CS}access/{CS}read") is not None
    # Share with dave read-write through the CalendarServer POST, then remove bob.
    body = ('<?xml version="1.0"?><CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
            f"<CS:set><D:href>mailto:{dave}</D:href><CS:read-write/></CS:set>"
            f"<CS:remove><D:href>mailto:{cal_org.bob}</D:href></CS:remove></CS:share>")
    assert dav("POST", cal_org.cal(name="agenda"), body, headers={"Content-Type": "application/xml"})[0] == 200
    base = f"/dav/calendars/{dave}/{shared['agenda']}/"
    assert dav("PUT", base + "by-dave.ics", event("by-dave"), user=dave)[0] == 201
    assert dav("GET", f"/dav/calendars/{cal_org.bob}/{shared['agenda']}/plan.ics", user=cal_org.bob)[0] == 404
    # A sharee of another organisation is refused and nothing changes.
    body = ('<?xml version="1.0"?><CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
            f"<CS:set><D:href>mailto:{cal_org.carol}</D:href><CS:read/></CS:set>"
            f"<CS:remove><D:href>mailto:{dave}</D:href></CS:remove></CS:share>")
    assert dav("POST", cal_org.cal(name="agenda"), body, headers={"Content-Type": "application/xml"})[0] == 403
    assert dav("GET", base + "by-dave.ics", user=dave)[0] == 200
    # A sharee cannot re-share what it was given.
    assert dav("POST", base, body, user=dave, headers={"Content-Type": "application/xml"})[0] == 403
    # Put the fixture's share back for the tests that follow.
    body = ('<?xml version="1.0"?><CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
            f"<CS:set><D:href>mailto:{cal_org.bob}</D:href><CS:read/></CS:set>"
            f"<CS:remove><D:href>mailto:{dave}</D:href></CS:remove></CS:share>")
    assert dav("POST", cal_org.cal(name="agenda"), body, headers={"Content-Type": "application/xml"})[0] == 200


def test_polderctl_calendar_list_shows_shares_both_ways(polderctl, cal_org, shared):
    rows = {(r["kind"], r["name"]): r for r in json.loads(polderctl.ok("calendar", "list", cal_org.alice, "--json").stdout)}
    assert {"with": cal_org.bob, "access": "read"} in rows[("calendar", "agenda")]["shares"]
    assert {"with": "group Team", "access": "read-write"} in rows[("calendar", "team")]["shares"]
    rows = {(r["kind"], r["name"]): r for r in json.loads(polderctl.ok("calendar", "list", cal_org.bob, "--json").stdout)}
    mine = rows[("calendar", shared["agenda"])]
    assert mine["owner"] == cal_org.alice and mine["access"] == "read"
    assert rows[("calendar", shared["team"])]["access"] == "read-write"
    assert "SHARED WITH" in polderctl.ok("calendar", "list", cal_org.alice).stdout


def test_unshare_removes_the_bound_collection(dav, cal_org, polderctl, shared):
    polderctl.ok("calendar", "share", cal_org.alice, "tasks", "--with", cal_org.bob, "--read")
    home = members(dav, f"/dav/calendars/{cal_org.bob}/", cal_org.bob)
    bound = [h for h in home if "shared-" in h]
    assert len(bound) == 3
    polderctl.ok("calendar", "unshare", cal_org.alice, "tasks", "--with", cal_org.bob)
    assert len([h for h in members(dav, f"/dav/calendars/{cal_org.bob}/", cal_org.bob) if "shared-" in h]) == 2
    r = polderctl("calendar", "unshare", cal_org.alice, "tasks", "--with", cal_org.bob)
    assert r.returncode != 0


def test_names_of_bound_collections_cannot_be_created(dav, cal_org):
    assert dav("MKCALENDAR", cal_org.cal(name="shared-999"))[0] == 405


def test_python_caldav_sees_and_reads_a_shared_calendar(caldav, cal_org, url, shared):
    lib = pytest.importorskip("caldav")
    client = lib.DAVClient(url("/.well-known/caldav"), username=cal_org.bob, password=cal_org.password)
    cals = {str(c.url).rstrip("/").rsplit("/", 1)[1]: c for c in client.principal().calendars()}
    assert shared["agenda"] in cals
    uids = [e.vobject_instance.vevent.uid.value for e in cals[shared["agenda"]].events()]
    assert "plan" in uids
    team = cals[shared["team"]]
    team.save_event(event("py-team", summary="Via python"))
    assert "Via python" in dav_get(url, cal_org, cal_org.cal(name="team"))


def dav_get(url, cal_org, path):
    import base64
    import urllib.request
    req = urllib.request.Request(url(path), method="PROPFIND", headers={
        "Depth": "1", "Authorization": "Basic " + base64.b64encode(f"{cal_org.alice}:{cal_org.password}".encode()).decode()},
        data=b'<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
             b'<D:prop><C:calendar-data/></D:prop></D:propfind>')
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode()
