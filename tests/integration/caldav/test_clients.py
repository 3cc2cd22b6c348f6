# test_clients.py - real clients against polder-caldavd: python3-caldav (discovery,
# create calendar, events with recurrences and exceptions, time-range search, todos, sync
# tokens, free/busy) and vdirsyncer (two-way sync of 200 events and 200 contacts with
# changes on both sides, checked for no loss and no duplication).
#
# SECURITY: loopback only; vdirsyncer's state lives in a temporary folder.
# STANDARDS: RFC 4791, RFC 6352, RFC 6578, RFC 6764.
import datetime
import os
import subprocess
import uuid

import pytest

caldav = pytest.importorskip("caldav")

from test_dav import event, recurring, vcard


@pytest.fixture(scope="module")
def client(caldav, cal_org, url):  # noqa: F811 - the fixture named like the module
    import caldav as lib
    return lib.DAVClient(url("/.well-known/caldav"), username=cal_org.alice, password=cal_org.password)


def utc(*args):
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc)


def test_python_caldav_discovers_the_principal_and_its_calendars(client, cal_org):
    principal = client.principal()
    assert str(principal.url).endswith(f"/dav/principals/{cal_org.alice}/")
    names = {c.name for c in principal.calendars()}
    assert {"Agenda", "Tasks"} <= names or {"Mijn agenda", "Tasks"} <= names


def test_python_caldav_creates_a_calendar_and_searches_recurrences(client):
    principal = client.principal()
    cal = principal.make_calendar(name="Python", cal_id="python-" + uuid.uuid4().hex[:8])
    cal.save_event(event("py-single", "20260106T120000Z", "20260106T130000Z", "Enkel"))
    cal.save_event(recurring("py-rec"))
    found = cal.date_search(utc(2026, 1, 19, 8), utc(2026, 1, 19, 11), expand=False)
    assert found == []
    found = cal.date_search(utc(2026, 1, 21, 13), utc(2026, 1, 21, 16), expand=True)
    assert len(found) == 1
    assert "verzet" in found[0].data
    found = cal.date_search(utc(2026, 1, 5), utc(2026, 1, 12), expand=True)
    assert sorted(e.vobject_instance.vevent.uid.value for e in found) == ["py-rec", "py-single"]
    # A whole-range expansion yields every remaining instance (10 - EXDATE = 9), as one
    # VEVENT per instance inside the object (the library does not split them here).
    expanded = cal.date_search(utc(2026, 1, 1), utc(2026, 4, 1), expand=True)
    assert sum(e.data.count("BEGIN:VEVENT") for e in expanded if "UID:py-rec" in e.data) == 9
    assert not any("RRULE" in e.data for e in expanded)


def test_python_caldav_handles_todos(client):
    principal = client.principal()
    tasks = principal.calendar(cal_id="tasks")
    tasks.save_todo("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:py-todo\r\n"
                    "DTSTAMP:20260101T000000Z\r\nSUMMARY:Nota schrijven\r\nDUE:20260110T170000Z\r\n"
                    "END:VTODO\r\nEND:VCALENDAR\r\n")
    todos = tasks.todos()
    assert "py-todo" in [t.vobject_instance.vtodo.uid.value for t in todos]
    todo = tasks.todo_by_uid("py-todo")
    todo.complete()
    assert "py-todo" not in [t.vobject_instance.vtodo.uid.value for t in tasks.todos()]
    assert "py-todo" in [t.vobject_instance.vtodo.uid.value for t in tasks.todos(include_completed=True)]


def test_python_caldav_sync_tokens_follow_changes(client):
    principal = client.principal()
    cal = principal.make_calendar(name="Sync", cal_id="pysync-" + uuid.uuid4().hex[:8])
    cal.save_event(event("s1"))
    objects = cal.objects_by_sync_token(load_objects=True)
    assert [o.vobject_instance.vevent.uid.value for o in objects] == ["s1"]
    token = objects.sync_token
    cal.save_event(event("s2", summary="Tweede"))
    cal.event_by_uid("s1").delete()
    changes = cal.objects_by_sync_token(sync_token=token, load_objects=False)
    urls = sorted(str(o.url).rsplit("/", 1)[1] for o in changes)
    assert "s2.ics" in urls
    assert len(urls) <= 2   # s2 added (and s1 deleted, if the library lists 404 members)
    assert list(cal.objects_by_sync_token(sync_token=changes.sync_token)) == []


def test_python_caldav_free_busy(client):
    principal = client.principal()
    cal = principal.make_calendar(name="FB", cal_id="fb-" + uuid.uuid4().hex[:8])
    cal.save_event(event("fb1", "20260210T090000Z", "20260210T110000Z"))
    fb = cal.freebusy_request(utc(2026, 2, 10), utc(2026, 2, 11))
    text = fb.data.replace("\r\n ", "")
    assert "FREEBUSY" in text and "20260210T090000Z" in text


# --- vdirsyncer ---------------------------------------------------------------------

def vdir_config(tmp, base_url, user, password):
    return f"""
[general]
status_path = "{tmp}/status/"

[pair cal]
a = "cal_local"
b = "cal_remote"
collections = null
conflict_resolution = "a wins"

[storage cal_local]
type = "filesystem"
path = "{tmp}/cal/"
fileext = ".ics"

[storage cal_remote]
type = "caldav"
url = "{base_url}/dav/calendars/{user}/vdir/"
username = "{user}"
password = "{password}"

[pair card]
a = "card_local"
b = "card_remote"
collections = null
conflict_resolution = "a wins"

[storage card_local]
type = "filesystem"
path = "{tmp}/card/"
fileext = ".vcf"

[storage card_remote]
type = "carddav"
url = "{base_url}/dav/addressbooks/{user}/vdir/"
username = "{user}"
password = "{password}"
"""


def run_vdirsyncer(config, *args):
    env = dict(os.environ, VDIRSYNCER_CONFIG=str(config))
    r = subprocess.run(["vdirsyncer", *args], env=env, capture_output=True, text=True, timeout=600,
                       input="y\n" * 10)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error" not in (r.stderr.lower() + r.stdout.lower()).replace("errors: 0", ""), r.stdout + r.stderr
    return r


def test_vdirsyncer_two_way_sync_of_200_events_and_200_contacts(dav, cal_org, url, tmp_path):
    user = cal_org.bob
    assert dav("MKCALENDAR", cal_org.cal(who=user, name="vdir"), user=user)[0] == 201
    mk = ('<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>'
          "<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>")
    assert dav("MKCOL", cal_org.book(who=user, name="vdir"), mk, user=user)[0] == 201
    # 100 events and 100 contacts on the server side, 100 + 100 locally.
    for i in range(100):
        start = f"202603{(i % 28) + 1:02d}T{8 + i % 8:02d}0000Z"
        end = start[:9] + f"{9 + i % 8:02d}0000Z"
        assert dav("PUT", cal_org.cal(who=user, name="vdir", obj=f"srv{i}.ics"),
                   event(f"srv-{i}", start, end, f"Server {i}"), user=user)[0] == 201
        assert dav("PUT", cal_org.book(who=user, name="vdir", obj=f"srv{i}.vcf"),
                   vcard(f"srvc-{i}", fn=f"Server Contact {i}", email=f"s{i}@example.test"), user=user)[0] == 201
    (tmp_path / "cal").mkdir()
    (tmp_path / "card").mkdir()
    for i in range(100):
        (tmp_path / "cal" / f"loc-{i}.ics").write_text(event(f"loc-{i}", "20260401T100000Z", "20260401T110000Z", f"Lokaal {i}"))
        (tmp_path / "card" / f"locc-{i}.vcf").write_text(vcard(f"locc-{i}", fn=f"Lokaal Contact {i}", email=f"l{i}@example.test"))
    config = tmp_path / "config"
    config.write_text(vdir_config(tmp_path, url("").rstrip("/"), user, cal_org.password))
    run_vdirsyncer(config, "discover")
    run_vdirsyncer(config, "sync")
    assert len(list((tmp_path / "cal").glob("*.ics"))) == 200
    assert len(list((tmp_path / "card").glob("*.vcf"))) == 200

    # Changes on both sides: the server edits 10 and deletes 10 of its events; the client
    # edits 10 and deletes 10 of its own; the same for contacts.
    for i in range(10):
        dav("PUT", cal_org.cal(who=user, name="vdir", obj=f"srv{i}.ics"),
            event(f"srv-{i}", "20260301T080000Z", "20260301T090000Z", f"Server gewijzigd {i}"), user=user)
        dav("DELETE", cal_org.cal(who=user, name="vdir", obj=f"srv{10 + i}.ics"), user=user)
        dav("PUT", cal_org.book(who=user, name="vdir", obj=f"srv{i}.vcf"),
            vcard(f"srvc-{i}", fn=f"Server Gewijzigd {i}", email=f"s{i}@example.test"), user=user)
        dav("DELETE", cal_org.book(who=user, name="vdir", obj=f"srv{10 + i}.vcf"), user=user)
    local_cal = {p.read_text().split("UID:")[1].split("\r\n")[0].split("\n")[0]: p for p in (tmp_path / "cal").glob("*.ics")}
    local_card = {p.read_text().split("UID:")[1].split("\r\n")[0].split("\n")[0]: p for p in (tmp_path / "card").glob("*.vcf")}
    for i in range(10):
        local_cal[f"loc-{i}"].write_text(event(f"loc-{i}", "20260402T100000Z", "20260402T110000Z", f"Lokaal gewijzigd {i}"))
        local_cal[f"loc-{10 + i}"].unlink()
        local_card[f"locc-{i}"].write_text(vcard(f"locc-{i}", fn=f"Lokaal Gewijzigd {i}", email=f"l{i}@example.test"))
        local_card[f"locc-{10 + i}"].unlink()
    run_vdirsyncer(config, "sync")
    run_vdirsyncer(config, "sync")

    # Both sides now hold 180 events and 180 contacts, each UID once, with the edits.
    def server_items(path, ext):
        import xml.etree.ElementTree as ET
        body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>')
        status, _, data = dav("PROPFIND", path, body, headers={"Depth": "1"}, user=user)
        assert status == 207
        hrefs = [r.find("{DAV:}href").text for r in ET.fromstring(data).findall("{DAV:}response")]
        items = [h for h in hrefs if h.endswith(ext)]
        texts = [dav("GET", h, user=user)[2].decode() for h in items]
        return [t.split("UID:")[1].split("\r\n")[0] for t in texts], "\n".join(texts)

    uids, texts = server_items(cal_org.cal(who=user, name="vdir"), ".ics")
    assert len(uids) == 180 and len(set(uids)) == 180
    assert "Server gewijzigd 3" in texts and "Lokaal gewijzigd 3" in texts
    assert "srv-15" not in uids and "loc-15" not in uids
    uids, texts = server_items(cal_org.book(who=user, name="vdir"), ".vcf")
    assert len(uids) == 180 and len(set(uids)) == 180
    assert "Server Gewijzigd 3" in texts and "Lokaal Gewijzigd 3" in texts
    local = [p.read_text() for p in (tmp_path / "cal").glob("*.ics")]
    assert len(local) == 180
    assert sum("Server gewijzigd" in t for t in local) == 10
    assert len(list((tmp_path / "card").glob("*.vcf"))) == 180
