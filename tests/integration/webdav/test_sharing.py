# test_sharing.py - team folders (polderctl folder add --group) and shared
# folders (polderctl folder share --read/--write): a permission matrix of
# every WebDAV method for the owner, a group member, a read-only sharee, a
# read-write sharee and a stranger, and COPY/MOVE between trees.
#
# SECURITY: this is the test that nobody reaches a tree they were not given:
# strangers get 404 (not even 403, which would reveal that the folder exists),
# read-only sharees get 403 on every method that changes something, including
# MOVE out of the share and COPY into it, and a share never exposes the rest
# of the owner's home.
# STANDARDS: RFC 4918 (methods), RFC 6578 (REPORT sync-collection).
import itertools
import json

import pytest

PROPPATCH = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test">'
             '<D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>')
LOCK = ('<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
        '<D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>')
SYNC = ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>'
        '<D:prop><D:getetag/></D:prop></D:sync-collection>')

counter = itertools.count()


class People:
    pass


@pytest.fixture(scope="module")
def people(polderctl, dav_org, dav, unique):
    p = People()
    d = dav_org.domain
    p.owner, p.stranger = dav_org.alice, dav_org.bob
    p.member, p.reader, p.writer, p.grouped = (f"carol@{d}", f"dave@{d}", f"erin@{d}", f"frank@{d}")
    for user in (p.member, p.reader, p.writer, p.grouped):
        polderctl.ok("user", "add", user, "--password-stdin", input=dav_org.password + "\n")
    p.team_group = unique("team")
    p.readers_group = unique("readers")
    polderctl.ok("group", "add", p.team_group, "--org", dav_org.name)
    polderctl.ok("group", "member", "add", p.team_group, p.member)
    polderctl.ok("group", "add", p.readers_group, "--org", dav_org.name)
    polderctl.ok("group", "member", "add", p.readers_group, p.grouped)
    p.team = "Projects " + unique("t")
    polderctl.ok("folder", "add", p.team, "--group", p.team_group, "--org", dav_org.name)
    # alice's home: Shared/ (shared) next to Private/ (not shared)
    home = dav_org.home()
    assert dav("MKCOL", home + "Shared/")[0] == 201
    assert dav("PUT", home + "Shared/readme.txt", body="shared text")[0] == 201
    assert dav("MKCOL", home + "Private/")[0] == 201
    assert dav("PUT", home + "Private/secret.txt", body="secret")[0] == 201
    polderctl.ok("folder", "share", "/Shared/", "--owner", p.owner, "--with", p.reader, "--read")
    polderctl.ok("folder", "share", "Shared", "--owner", p.owner, "--with", p.writer, "--write")
    polderctl.ok("folder", "share", "Shared", "--owner", p.owner, "--with", p.readers_group, "--read")
    p.team_url = "/dav/teams/" + p.team.replace(" ", "%20") + "/"
    p.share_url = f"/dav/shared/{p.owner}/Shared/"
    return p


def as_user(dav, user, password):
    def call(method, path, **kw):
        return dav(method, path, user=user, password=password, **kw)
    return call


def exercise(call, base, home, try_root=True):
    """Every method once below base; returns {method: status}."""
    n = next(counter)
    out = {}
    out["PROPFIND"] = call("PROPFIND", base, headers={"Depth": "1"})[0]
    out["REPORT"] = call("REPORT", base, body=SYNC, headers={"Depth": "0"})[0]
    out["PUT"] = call("PUT", f"{base}new{n}.txt", body="x")[0]
    out["GET"] = call("GET", f"{base}readme.txt")[0]
    out["HEAD"] = call("HEAD", f"{base}readme.txt")[0]
    out["MKCOL"] = call("MKCOL", f"{base}dir{n}/")[0]
    out["PROPPATCH"] = call("PROPPATCH", f"{base}readme.txt", body=PROPPATCH)[0]
    status, headers, _ = call("LOCK", f"{base}readme.txt", body=LOCK, headers={"Timeout": "Second-60"})
    out["LOCK"] = status
    if status == 200:
        out["UNLOCK"] = call("UNLOCK", f"{base}readme.txt", headers={"Lock-Token": headers["lock-token"]})[0]
    out["COPY"] = call("COPY", f"{base}readme.txt", headers={"Destination": f"{base}copy{n}.txt"})[0]
    out["COPY-out"] = call("COPY", f"{base}readme.txt", headers={"Destination": f"{home}out{n}.txt"})[0]
    out["COPY-in"] = call("COPY", f"{home}seed.txt", headers={"Destination": f"{base}in{n}.txt"})[0]
    out["MOVE"] = call("MOVE", f"{base}readme.txt", headers={"Destination": f"{base}moved{n}.txt"})[0]
    if out["MOVE"] == 201:
        assert call("MOVE", f"{base}moved{n}.txt", headers={"Destination": f"{base}readme.txt"})[0] == 201
    out["DELETE"] = call("DELETE", f"{base}readme.txt")[0]
    if out["DELETE"] == 204:
        assert call("PUT", f"{base}readme.txt", body="shared text")[0] == 201
    if try_root:
        out["DELETE-root"] = call("DELETE", base)[0]
    return out


ALLOWED = {"PROPFIND": 207, "REPORT": 207, "PUT": 201, "GET": 200, "HEAD": 200, "MKCOL": 201, "PROPPATCH": 207,
           "LOCK": 200, "UNLOCK": 204, "COPY": 201, "COPY-out": 201, "COPY-in": 201, "MOVE": 201, "DELETE": 204,
           "DELETE-root": 403}
READ_ONLY = {"PROPFIND": 207, "REPORT": 207, "PUT": 403, "GET": 200, "HEAD": 200, "MKCOL": 403, "PROPPATCH": 403,
             "LOCK": 403, "COPY": 403, "COPY-out": 201, "COPY-in": 403, "MOVE": 403, "DELETE": 403,
             "DELETE-root": 403}
HIDDEN = {"PROPFIND": 404, "REPORT": 404, "PUT": 404, "GET": 404, "HEAD": 404, "MKCOL": 404, "PROPPATCH": 404,
          "LOCK": 404, "COPY": 404, "COPY-out": 404, "COPY-in": 403, "MOVE": 404, "DELETE": 404, "DELETE-root": 404}


def seeded(dav, dav_org, user):
    call = as_user(dav, user, dav_org.password)
    assert call("PUT", f"/dav/files/{user}/seed.txt", body="seed")[0] in (201, 204)
    return call


def test_the_owner_may_do_everything_in_the_shared_folder_of_their_home(people, dav, dav_org):
    call = seeded(dav, dav_org, people.owner)
    # (Shared/ is an ordinary folder of the owner's home: deleting it is
    # allowed, and would end the shares, so the matrix leaves it alone.)
    got = exercise(call, dav_org.home() + "Shared/", dav_org.home(), try_root=False)
    assert got == {k: v for k, v in ALLOWED.items() if k != "DELETE-root"}


def test_a_group_member_may_do_everything_in_the_team_folder(people, dav, dav_org):
    call = seeded(dav, dav_org, people.member)
    assert call("PUT", people.team_url + "readme.txt", body="team text")[0] == 201
    got = exercise(call, people.team_url, f"/dav/files/{people.member}/")
    assert got == ALLOWED


def test_a_read_write_sharee_may_do_everything_below_the_share_but_not_delete_it(people, dav, dav_org):
    call = seeded(dav, dav_org, people.writer)
    got = exercise(call, people.share_url, f"/dav/files/{people.writer}/")
    assert got == ALLOWED
    # What the sharee wrote is in the owner's home.
    status, _, body = dav("GET", dav_org.home() + "Shared/readme.txt")
    assert (status, body) == (200, b"shared text")


def test_a_read_only_sharee_may_only_read(people, dav, dav_org):
    call = seeded(dav, dav_org, people.reader)
    got = exercise(call, people.share_url, f"/dav/files/{people.reader}/")
    assert got == READ_ONLY
    assert call("GET", people.share_url + "readme.txt")[2] == b"shared text"


def test_a_member_of_a_sharee_group_gets_the_groups_access(people, dav, dav_org):
    call = seeded(dav, dav_org, people.grouped)
    got = exercise(call, people.share_url, f"/dav/files/{people.grouped}/")
    assert got == READ_ONLY


def test_a_stranger_sees_neither_the_team_folder_nor_the_share(people, dav, dav_org):
    call = seeded(dav, dav_org, people.stranger)
    assert exercise(call, people.team_url, dav_org.home(people.stranger)) == HIDDEN
    assert exercise(call, people.share_url, dav_org.home(people.stranger)) == HIDDEN
    for listing in ("/dav/teams/", "/dav/shared/"):
        status, _, body = call("PROPFIND", listing, headers={"Depth": "1"})
        assert status == 207
        assert people.team.encode() not in body and people.owner.encode() not in body


def test_a_share_never_exposes_the_rest_of_the_owners_home(people, dav, dav_org):
    for user in (people.reader, people.writer):
        call = as_user(dav, user, dav_org.password)
        assert call("GET", dav_org.home() + "Private/secret.txt")[0] == 404
        assert call("GET", people.share_url + "..%2FPrivate/secret.txt")[0] == 400
        assert call("GET", people.share_url + "../Private/secret.txt")[0] in (400, 404)
        assert call("GET", f"/dav/shared/{people.owner}/Private/secret.txt")[0] == 404
        status = call("COPY", people.share_url + "readme.txt",
                      headers={"Destination": dav_org.home() + "Private/stolen.txt"})[0]
        assert status == 403
    assert dav("GET", dav_org.home() + "Private/stolen.txt")[0] == 404


def test_listings_show_each_user_their_team_folders_and_shares(people, dav, dav_org):
    member = as_user(dav, people.member, dav_org.password)
    status, _, body = member("PROPFIND", "/dav/teams/", headers={"Depth": "1"})
    assert status == 207 and people.team_url.encode() in body
    reader = as_user(dav, people.reader, dav_org.password)
    status, _, body = reader("PROPFIND", "/dav/shared/", headers={"Depth": "1"})
    assert status == 207 and f"/dav/shared/{people.owner}/".encode() in body
    status, _, body = reader("PROPFIND", f"/dav/shared/{people.owner}/", headers={"Depth": "1"})
    assert status == 207 and people.share_url.encode() in body
    assert reader("MKCOL", "/dav/shared/x/")[0] in (403, 404)


def test_move_between_a_team_folder_and_a_home_keeps_the_file_id(people, dav, dav_org, sql):
    call = as_user(dav, people.member, dav_org.password)
    assert call("PUT", people.team_url + "travel.txt", body="bytes that travel")[0] == 201
    before = sql("SELECT n.file_id FROM files.nodes n JOIN files.homes h ON h.id = n.home_id "
                 "WHERE h.name = %s AND n.path = 'travel.txt'", (people.team,))
    home = f"/dav/files/{people.member}/"
    assert call("MOVE", people.team_url + "travel.txt", headers={"Destination": home + "travel.txt"})[0] == 201
    assert call("GET", people.team_url + "travel.txt")[0] == 404
    status, _, body = call("GET", home + "travel.txt")
    assert (status, body) == (200, b"bytes that travel")
    after = sql("SELECT n.file_id FROM files.nodes n JOIN files.homes h ON h.id = n.home_id "
                "JOIN directory.accounts a ON a.id = h.account_id WHERE a.address = %s AND n.path = 'travel.txt'",
                (people.member,))
    assert before == after and len(after) == 1
    # and a folder tree into the team folder
    assert call("MKCOL", home + "tree/")[0] == 201
    assert call("PUT", home + "tree/leaf.txt", body="leaf")[0] == 201
    assert call("MOVE", home + "tree/", headers={"Destination": people.team_url + "tree/"})[0] == 201
    assert call("GET", people.team_url + "tree/leaf.txt")[2] == b"leaf"
    assert call("GET", home + "tree/leaf.txt")[0] == 404


def test_a_copy_into_a_team_folder_respects_its_quota(people, polderctl, dav, dav_org, unique):
    name = unique("small")
    polderctl.ok("folder", "add", name, "--group", people.team_group, "--org", dav_org.name, "--quota", "10")
    call = as_user(dav, people.member, dav_org.password)
    home = f"/dav/files/{people.member}/"
    assert call("PUT", home + "big.txt", body="more than ten bytes")[0] == 201
    status = call("COPY", home + "big.txt", headers={"Destination": f"/dav/teams/{name}/big.txt"})[0]
    assert status == 507
    assert call("PUT", f"/dav/teams/{name}/big.txt", body="more than ten bytes")[0] == 507


def test_unshare_takes_access_away_at_once(people, polderctl, dav, dav_org):
    reader = as_user(dav, people.reader, dav_org.password)
    assert reader("GET", people.share_url + "readme.txt")[0] == 200
    polderctl.ok("folder", "unshare", "Shared", "--owner", people.owner, "--with", people.reader)
    assert reader("GET", people.share_url + "readme.txt")[0] == 404
    polderctl.ok("folder", "share", "Shared", "--owner", people.owner, "--with", people.reader, "--read")


def test_folder_list_shows_team_folders_and_shares(people, polderctl, dav_org):
    out = json.loads(polderctl.ok("folder", "list", "--org", dav_org.name, "--json").stdout)
    kinds = {(e["kind"], e["name"], e.get("with"), e["access"]) for e in out}
    assert ("team", people.team, f"group {people.team_group}", "read-write") in kinds
    assert ("share", "Shared", people.reader, "read-only") in kinds
    assert ("share", "Shared", people.writer, "read-write") in kinds
    assert ("share", "Shared", f"group {people.readers_group}", "read-only") in kinds


def test_polderctl_refuses_bad_folder_requests(people, polderctl, dav_org):
    assert polderctl("folder", "share", "Private/secret.txt", "--owner", people.owner, "--with", people.reader,
                     "--read").returncode != 0
    assert polderctl("folder", "share", "Nope", "--owner", people.owner, "--with", people.reader,
                     "--read").returncode != 0
    assert polderctl("folder", "share", "Shared", "--owner", people.owner, "--with", people.owner,
                     "--write").returncode != 0
    assert polderctl("folder", "add", "CON", "--group", people.team_group, "--org", dav_org.name).returncode != 0
    assert polderctl("folder", "add", people.team, "--group", people.team_group,
                     "--org", dav_org.name).returncode != 0
