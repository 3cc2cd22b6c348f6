# test_cadaver.py - raw DAV with cadaver (Debian package cadaver, a neon-based command-line
# WebDAV client) against polder-caldavd: it reads its commands from stdin and its
# credentials from ~/.netrc of a temporary HOME. Listing the calendar home, PROPFIND of a
# collection's and an object's properties, PUT of a file, GET back, DELETE, and a
# refused PUT of something that is not iCalendar.
#
# SECURITY: loopback only; the .netrc (mode 0600) lives in a temporary folder.
# STANDARDS: RFC 4918 (PROPFIND, PUT, GET, DELETE), RFC 4791 (calendar collections).
import os
import shutil
import subprocess

import pytest

UID = "cadaver-event-1"
EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//cadaver//EN\r\nBEGIN:VEVENT\r\n"
         f"UID:{UID}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260501T080000Z\r\nDTEND:20260501T090000Z\r\n"
         "SUMMARY:Met cadaver geplaatst\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


# cadaver's ~/.netrc parser splits on spaces: an account whose password has none.
NETRC_PASSWORD = "cadaver-Secret-42"


@pytest.fixture(scope="module")
def cad_user(polderctl, cal_org):
    user = f"cad@{cal_org.domain}"
    polderctl.ok("user", "add", user, "--password-stdin", input=NETRC_PASSWORD + "\n")
    return user


@pytest.fixture(scope="module")
def cadaver(caldav, cad_user, tmp_path_factory):
    binary = shutil.which("cadaver")
    if binary is None:
        pytest.fail("cadaver is not installed (Debian package cadaver, scripts/packages.txt)", pytrace=False)
    home = tmp_path_factory.mktemp("cadaver-home")
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin {cad_user}\npassword {NETRC_PASSWORD}\n")
    os.chmod(netrc, 0o600)
    work = tmp_path_factory.mktemp("cadaver-files")

    def run(path, *commands):
        """cadaver on http://127.0.0.1:<port><path>, the commands on stdin; its output."""
        url = f"http://127.0.0.1:{caldav.port('http')}{path}"
        env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "dumb",
               "LC_ALL": "C.UTF-8"}
        r = subprocess.run([binary, url], input="\n".join(commands) + "\nquit\n", capture_output=True, text=True,
                           cwd=work, env=env, timeout=60)
        return r.stdout + r.stderr
    run.work = work
    return run


def test_cadaver_lists_the_calendar_home(cadaver, cad_user):
    out = cadaver(f"/dav/calendars/{cad_user}/", "ls")
    assert "Coll:" in out and "agenda" in out and "tasks" in out, out


def test_cadaver_reads_collection_properties(cadaver, cal_org, cad_user):
    out = cadaver(cal_org.cal(who=cad_user), f"propget {cal_org.cal(who=cad_user)}")
    assert "resourcetype" in out and "calendar" in out, out
    assert "sync-token" in out or "getctag" in out or "displayname" in out, out


def test_cadaver_puts_gets_propgets_and_deletes_an_event(cadaver, cal_org, cad_user, dav):
    (cadaver.work / "event.ics").write_bytes(EVENT.encode())
    out = cadaver(cal_org.cal(who=cad_user), "put event.ics cadaver-1.ics")
    assert "succeeded" in out, out
    status, headers, data = dav("GET", cal_org.cal(who=cad_user, obj="cadaver-1.ics"),
                                user=cad_user, password=NETRC_PASSWORD)
    assert status == 200 and f"UID:{UID}" in data.decode()

    out = cadaver(cal_org.cal(who=cad_user), "ls")
    assert "cadaver-1.ics" in out, out
    out = cadaver(cal_org.cal(who=cad_user), "propget cadaver-1.ics")
    assert "getetag" in out and headers["etag"].strip('"') in out, out
    assert "text/calendar" in out, out

    out = cadaver(cal_org.cal(who=cad_user), "get cadaver-1.ics copy.ics")
    assert "succeeded" in out, out
    assert f"UID:{UID}" in (cadaver.work / "copy.ics").read_text()

    out = cadaver(cal_org.cal(who=cad_user), "delete cadaver-1.ics")
    assert "succeeded" in out, out
    assert dav("GET", cal_org.cal(who=cad_user, obj="cadaver-1.ics"),
               user=cad_user, password=NETRC_PASSWORD)[0] == 404


def test_cadaver_cannot_put_something_that_is_not_icalendar(cadaver, cal_org, cad_user, dav):
    (cadaver.work / "notes.txt").write_text("just some text, not a calendar\n")
    out = cadaver(cal_org.cal(who=cad_user), "put notes.txt notes.ics")
    assert "succeeded" not in out and "403" in out, out
    assert dav("GET", cal_org.cal(who=cad_user, obj="notes.ics"),
               user=cad_user, password=NETRC_PASSWORD)[0] == 404
