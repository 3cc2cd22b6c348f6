# test_cadaver.py - cadaver, the command-line WebDAV client, drives a session
# against polder-webdavd: MKCOL, PUT, PROPFIND listing, GET, MOVE, COPY,
# PROPPATCH/PROPFIND of a dead property, LOCK/UNLOCK, DELETE, and a team
# folder reached through its URL.
#
# SECURITY: loopback only; credentials come from a private ~/.netrc in a
# temporary HOME (cadaver's documented way), never from the command line.
# STANDARDS: RFC 4918 (as spoken by cadaver / neon).
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("cadaver") is None, reason="cadaver is not installed")


def run_cadaver(tmp_path, url, user, password, script):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    netrc = home / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\nlogin {user}\npassword {password}\n")
    netrc.chmod(0o600)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    r = subprocess.run(["cadaver", url], input=script + "quit\n", capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=60)
    return r.stdout + r.stderr


# cadaver's ~/.netrc parser splits on spaces: an account with a password without any.
NETRC_PASSWORD = "cadaver-Secret-42"


@pytest.fixture(scope="module")
def cad_user(polderctl, dav_org):
    user = f"cad@{dav_org.domain}"
    polderctl.ok("user", "add", user, "--password-stdin", input=NETRC_PASSWORD + "\n")
    return user


def test_a_cadaver_session_creates_reads_moves_locks_and_deletes(webdav, dav, dav_org, cad_user, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("written by cadaver\n")
    url = f"http://127.0.0.1:{webdav.port('http')}{dav_org.home(cad_user)}"
    out = run_cadaver(tmp_path, url, cad_user, NETRC_PASSWORD, "\n".join([
        "mkcol cad",
        "cd cad",
        f"put {source} notes.txt",
        "ls",
        f"get notes.txt {tmp_path / 'back.txt'}",
        "copy notes.txt copy.txt",
        "move notes.txt moved.txt",
        "propset moved.txt colour blue",
        "propget moved.txt colour",
        "lock moved.txt",
        "unlock moved.txt",
        "delete copy.txt",
        "ls",
        "",
    ]))
    assert (tmp_path / "back.txt").read_text() == "written by cadaver\n", out
    assert "blue" in out, out
    assert "failed" not in out.lower(), out
    home = dav_org.home(cad_user)
    status, _, body = dav("GET", home + "cad/moved.txt", user=cad_user, password=NETRC_PASSWORD)
    assert (status, body) == (200, b"written by cadaver\n")
    assert dav("GET", home + "cad/notes.txt", user=cad_user, password=NETRC_PASSWORD)[0] == 404
    assert dav("GET", home + "cad/copy.txt", user=cad_user, password=NETRC_PASSWORD)[0] == 404


def test_cadaver_is_refused_another_accounts_home(webdav, dav_org, cad_user, tmp_path):
    url = f"http://127.0.0.1:{webdav.port('http')}{dav_org.home(dav_org.bob)}"
    out = run_cadaver(tmp_path, url, cad_user, NETRC_PASSWORD, "ls\n")
    assert "404" in out or "not found" in out.lower(), out
