# test_trash_view.py - users restore what they deleted themselves: /dav/trash/ is the
# signed-in account's own trash as a WebDAV collection. A deleted small file (kept in
# PostgreSQL), a deleted large file (blob store) and a deleted folder are listed by
# PROPFIND and by rclone, read back by GET and by rclone byte for byte, restored by MOVE
# (into a new path and into the original one, folders with their contents, file ids
# kept), purged by DELETE. Refused: a restore onto an existing file (412), into another
# account's files or a listing (403), over the quota (507), every other method (403).
# Another account never sees or touches the entries. A team folder's trash
# (/dav/trash/teams/<team>/) serves every member of its group and nobody else, and
# restores only into that team folder.
#
# SECURITY: loopback only; each account reaches only its own home's trash.
# STANDARDS: RFC 4918 9.1 (PROPFIND), 9.6 (DELETE), 9.9 (MOVE), 10.3 (Destination).
import re
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from conftest import large

D = "{DAV:}"
P = "{urn:x-polder:files}"


def entries(dav, user=None):
    """{original path: (href, is folder, size or None)} of the caller's trash."""
    status, _, body = dav("PROPFIND", "/dav/trash/", headers={"Depth": "1"}, user=user)
    assert status == 207, body
    out = {}
    for r in ET.fromstring(body).findall(f"{D}response"):
        href = r.findtext(f"{D}href")
        prop = r.find(f"{D}propstat/{D}prop")
        if href.rstrip("/") == "/dav/trash":
            assert prop.find(f"{D}resourcetype/{D}collection") is not None
            continue
        original = prop.findtext(f"{P}original-path")
        size = prop.findtext(f"{D}getcontentlength")
        assert re.fullmatch(r"/dav/trash/\d+-[^/]+/?", href), href
        assert prop.findtext(f"{D}getlastmodified")
        out[original] = (href, prop.find(f"{D}resourcetype/{D}collection") is not None, size and int(size))
    return out


def delete_some(dav, org):
    home = org.home()
    assert dav("PUT", home + "notitie.txt", body="kleine notitie")[0] == 201
    assert dav("PUT", home + "groot%20bestand.bin", body=large("groot"))[0] == 201
    assert dav("MKCOL", home + "Project%20X/")[0] == 201
    assert dav("PUT", home + "Project%20X/plan.txt", body="het plan")[0] == 201
    _, _, body = dav("PROPFIND", home + "Project%20X/plan.txt", headers={"Depth": "0"},
                     body='<propfind xmlns="DAV:"><prop><file-id xmlns="urn:x-polder:files"/></prop></propfind>')
    file_id = ET.fromstring(body).findtext(f".//{P}file-id")
    for name in ("notitie.txt", "groot bestand.bin", "Project X/"):
        assert dav("DELETE", home + urllib.parse.quote(name))[0] == 204
    return file_id


def test_users_list_read_restore_and_purge_their_trash(webdav, dav, dav_org):
    home = dav_org.home()
    file_id = delete_some(dav, dav_org)
    t = entries(dav)
    assert {"/notitie.txt", "/groot bestand.bin", "/Project X"} <= set(t)
    assert t["/notitie.txt"][1:] == (False, len("kleine notitie"))
    assert t["/Project X"][1] is True and t["/Project X"][0].endswith("/")

    # Read back: a small file from PostgreSQL, a large one from the blob store.
    status, headers, body = dav("GET", t["/notitie.txt"][0])
    assert (status, body) == (200, b"kleine notitie")
    status, _, body = dav("GET", t["/groot bestand.bin"][0])
    assert (status, body) == (200, large("groot").encode())
    assert dav("GET", t["/Project X"][0])[0] == 403    # a folder comes back by MOVE
    status, _, page = dav("GET", "/dav/trash/")
    assert status == 200 and b"/groot bestand.bin" in page

    # Restore under a new name, creating the missing folder.
    dest = webdav.url("http", home + "Hersteld/notitie.txt")
    status, headers, _ = dav("MOVE", t["/notitie.txt"][0], headers={"Destination": dest})
    assert status == 201 and headers["location"].endswith("/Hersteld/notitie.txt")
    assert dav("GET", home + "Hersteld/notitie.txt")[2] == b"kleine notitie"
    assert "/notitie.txt" not in entries(dav)
    # A folder to its original path: the contents and the file id come back with it.
    status, _, _ = dav("MOVE", t["/Project X"][0], headers={"Destination": webdav.url("http", home + "Project%20X/")})
    assert status == 201
    assert dav("GET", home + "Project%20X/plan.txt")[2] == b"het plan"
    _, _, body = dav("PROPFIND", home + "Project%20X/plan.txt", headers={"Depth": "0"},
                     body='<propfind xmlns="DAV:"><prop><file-id xmlns="urn:x-polder:files"/></prop></propfind>')
    assert ET.fromstring(body).findtext(f".//{P}file-id") == file_id

    # Never replaces what is there now.
    assert dav("PUT", home + "bezet.bin", body="nieuwer")[0] == 201
    status, _, _ = dav("MOVE", t["/groot bestand.bin"][0], headers={"Destination": webdav.url("http", home + "bezet.bin"),
                                                                  "Overwrite": "T"})
    assert status == 412
    assert dav("GET", home + "bezet.bin")[2] == b"nieuwer" and "/groot bestand.bin" in entries(dav)

    # Only into the own files.
    for dest in (webdav.url("http", dav_org.home(dav_org.bob) + "buit.bin"), webdav.url("http", "/dav/teams/"),
                 webdav.url("http", home)):
        assert dav("MOVE", t["/groot bestand.bin"][0], headers={"Destination": dest})[0] == 403, dest
    assert dav("MOVE", t["/groot bestand.bin"][0], headers={"Destination": "http://elders.example/dav/files/x/y"})[0] == 502

    # Purge one, then empty the trash.
    assert dav("DELETE", t["/groot bestand.bin"][0])[0] == 204
    assert dav("GET", t["/groot bestand.bin"][0])[0] == 404
    assert dav("PUT", home + "weg.txt", body="weg")[0] == 201
    assert dav("DELETE", home + "weg.txt")[0] == 204
    assert entries(dav)
    assert dav("DELETE", "/dav/trash/")[0] == 204
    assert entries(dav) == {}


def test_the_trash_is_private_read_only_and_within_the_quota(webdav, dav, dav_org, polderctl):
    home = dav_org.home()
    assert dav("PUT", home + "geheim.bin", body=large("geheim"))[0] == 201
    assert dav("DELETE", home + "geheim.bin")[0] == 204
    href = entries(dav)["/geheim.bin"][0]

    # Bob sees none of it and can touch none of it.
    assert "/geheim.bin" not in entries(dav, user=dav_org.bob)
    for method in ("GET", "DELETE", "PROPFIND"):
        assert dav(method, href, user=dav_org.bob, headers={"Depth": "0"})[0] == 404, method
    assert dav("MOVE", href, user=dav_org.bob,
               headers={"Destination": webdav.url("http", dav_org.home(dav_org.bob) + "buit.bin")})[0] == 404
    assert dav("GET", href, user="")[0] == 401

    # Read-only apart from MOVE out and DELETE; URLs must name an entry exactly.
    for method, path in (("PUT", "/dav/trash/nieuw.txt"), ("MKCOL", "/dav/trash/map/"), ("PROPPATCH", href),
                         ("COPY", href), ("LOCK", href), ("MOVE", "/dav/trash/")):
        assert dav(method, path, body="x")[0] == 403, (method, path)
    number, name = re.fullmatch(r"/dav/trash/(\d+)-(.+)", href).groups()
    for wrong in (f"/dav/trash/{number}-ander.bin", f"/dav/trash/{number}", "/dav/trash/abc-geheim.bin",
                  f"/dav/trash/{number}-{name}/extra", f"/dav/trash/0-{name}", "/dav/trash/%ZZ"):
        assert dav("GET", wrong)[0] in (400, 404), wrong
    assert dav("PROPFIND", "/dav/trash/", headers={"Depth": "infinity"})[0] == 403

    # Over the quota: 507, and the entry stays.
    polderctl.ok("quota", "set", dav_org.alice, "20K")
    try:
        status, _, body = dav("MOVE", href, headers={"Destination": webdav.url("http", home + "geheim.bin")})
        assert status == 507 and b"quota-not-exceeded" in body
        assert "/geheim.bin" in entries(dav)
    finally:
        polderctl.ok("quota", "set", dav_org.alice, "unlimited")
    assert dav("MOVE", href, headers={"Destination": webdav.url("http", home + "geheim.bin")})[0] == 201
    assert dav("GET", home + "geheim.bin")[2] == large("geheim").encode()


@pytest.mark.skipif(subprocess.run(["which", "rclone"], capture_output=True).returncode != 0,
                    reason="rclone is not installed")
def test_rclone_lists_and_copies_from_the_trash(webdav, dav, dav_org, tmp_path):
    home = dav_org.home()
    assert dav("PUT", home + "rapport%202026.odt", body=large("rapport"))[0] == 201
    assert dav("DELETE", home + "rapport%202026.odt")[0] == 204
    href = entries(dav)["/rapport 2026.odt"][0]
    member = urllib.parse.unquote(href.rsplit("/", 1)[1])
    obscured = subprocess.run(["rclone", "obscure", dav_org.password], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
           "RCLONE_CONFIG_TRASH_TYPE": "webdav", "RCLONE_CONFIG_TRASH_URL": webdav.url("http", "/dav/trash/"),
           "RCLONE_CONFIG_TRASH_VENDOR": "other", "RCLONE_CONFIG_TRASH_USER": dav_org.alice,
           "RCLONE_CONFIG_TRASH_PASS": obscured}
    r = subprocess.run(["rclone", "lsf", "trash:"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and member in r.stdout.splitlines(), r.stderr
    r = subprocess.run(["rclone", "copyto", f"trash:{member}", str(tmp_path / "terug.odt")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "terug.odt").read_bytes() == large("rapport").encode()


def test_team_members_restore_from_the_team_folders_trash(webdav, dav, dav_org, polderctl, unique):
    """A team folder's trash is at /dav/trash/teams/<team>/ for every member of its group:
    what one member deleted, another restores into the team folder; a non-member gets 404."""
    team, group, outsider = unique("Afdeling"), unique("afd-groep"), f"eve@{dav_org.domain}"
    polderctl.ok("user", "add", outsider, "--password-stdin", input=dav_org.password + "\n")
    polderctl.ok("group", "add", group, "--org", dav_org.name)
    for user in (dav_org.alice, dav_org.bob):
        polderctl.ok("group", "member", "add", group, user)
    polderctl.ok("folder", "add", team, "--group", group, "--org", dav_org.name)
    folder = f"/dav/teams/{urllib.parse.quote(team)}/"
    trash = f"/dav/trash/teams/{urllib.parse.quote(team)}/"

    assert dav("PUT", folder + "begroting.ods", body=large("begroting"), user=dav_org.bob)[0] == 201
    assert dav("DELETE", folder + "begroting.ods", user=dav_org.bob)[0] == 204
    status, _, body = dav("PROPFIND", trash, headers={"Depth": "1"})
    assert status == 207, body
    found = {r.find(f"{D}propstat/{D}prop").findtext(f"{P}original-path"): r.findtext(f"{D}href")
             for r in ET.fromstring(body).findall(f"{D}response")}
    href = found["/begroting.ods"]
    assert href.startswith(trash)
    assert ET.fromstring(body).find(f".//{P}deleted-by").text == dav_org.bob
    assert "/begroting.ods" not in entries(dav)                 # not in alice's own trash
    assert dav("GET", href)[2] == large("begroting").encode()

    # Someone outside the group: nothing there.
    for method in ("PROPFIND", "GET", "DELETE"):
        assert dav(method, href, user=outsider, headers={"Depth": "0"})[0] == 404, method
    assert dav("PROPFIND", trash, user=outsider, headers={"Depth": "1"})[0] == 404

    # Back into the team folder only.
    assert dav("MOVE", href, headers={"Destination": webdav.url("http", dav_org.home() + "mijn.ods")})[0] == 403
    status, headers, body = dav("MOVE", href, headers={"Destination": webdav.url("http", folder + "Terug/begroting.ods")})
    assert status == 201, body
    assert headers["location"] == folder + "Terug/begroting.ods"
    assert dav("GET", folder + "Terug/begroting.ods", user=dav_org.bob)[2] == large("begroting").encode()
