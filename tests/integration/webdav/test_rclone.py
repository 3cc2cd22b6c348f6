# test_rclone.py - rclone (Debian package, webdav backend, vendor "other") as
# a real sync client: a tree of 500 files (nested folders, Unicode names in
# NFC and in NFD, spaces, '%' and '#' in names, empty files, one 200 MB file)
# goes up with `rclone sync` and back down into an empty folder with identical
# SHA-256 checksums and the same set of names; then 3 files change, 2 are
# added and 1 is deleted, and a second `rclone sync` transfers exactly those
# 5 and deletes that 1 (its JSON log says so), the 200 MB file untouched.
#
# Names: polder-webdavd stores every name in NFC (docs/files.md), so a file
# written under its NFD spelling comes back under the NFC one; the name sets
# are compared after NFC normalisation, and the incremental sync must not
# treat the NFD files as changed (rclone compares names in NFC by default).
# Change detection: the "other" vendor has no settable modification times or
# hashes, so rclone compares sizes; every changed file changes its size.
#
# SECURITY: loopback only; the password reaches rclone obscured through its
# environment configuration, never on the command line.
# STANDARDS: RFC 4918 as rclone's webdav backend uses it (PROPFIND Depth 1,
# MKCOL, PUT, GET, DELETE).
import hashlib
import json
import random
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

BIG_SIZE = 200 * 1024 * 1024
FILES = 500
RCLONE_FLAGS = ["--transfers", "4", "--checkers", "8", "--retries", "1", "--low-level-retries", "2"]


def nfc(text):
    return unicodedata.normalize("NFC", text)


def tree_digest(root):
    """{NFC relative path: sha256 hex} of every file below root (read in chunks)."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            h = hashlib.sha256()
            with open(p, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            out[nfc(str(p.relative_to(root)))] = h.hexdigest()
    return out


def small_names():
    """499 relative paths: nested folders, NFC and NFD Unicode, spaces, '%', '#'."""
    folders = ["", "docs", "docs/2026", "docs/2026/Q4 reports", "Ärger/Übung", "日本語/資料",
               "100% done", "issue #42/sub folder", "deep/a/b/c/d/e", "spaces  in  a row"]
    patterns = ["file {i:03}.txt", "café {i:03}.md", "naïve ünïcødé {i:03}.bin", "100% {i:03}.dat",
                "%20 literal {i:03}.txt", "issue #{i:03}.log", "日本語 {i:03}.txt", "Ελληνικά {i:03}.csv"]
    nfd_patterns = ["résumé {i:03}.odt", "Zürich Straße {i:03}.txt", "crème brûlée {i:03}.md"]
    names = []
    i = 0
    while len(names) < FILES - 1:
        folder = folders[i % len(folders)]
        if i % 5 == 4:
            name = unicodedata.normalize("NFD", nfd_patterns[i % len(nfd_patterns)].format(i=i))
        else:
            name = patterns[i % len(patterns)].format(i=i)
        names.append(f"{folder}/{name}" if folder else name)
        i += 1
    return names


def write_tree(src):
    rng = random.Random(6)
    names = small_names()
    for n, rel in enumerate(names):
        f = src / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        # Every 25th file is empty; the others 1 byte to 24 KiB of seeded random bytes.
        size = 0 if n % 25 == 0 else rng.randint(1, 24 * 1024)
        f.write_bytes(rng.randbytes(size))
    big = src / "large files" / "big #1 100%.bin"
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as out:   # written in 1 MiB chunks: never whole in memory
        for _ in range(BIG_SIZE // (1 << 20)):
            out.write(rng.randbytes(1 << 20))
    return names, big


@pytest.fixture(scope="module")
def large(start_service):
    return start_service("webdav", settings={"auth": {"allow_plaintext_on_loopback": True},
                                             "webdav": {"max_file_size": "1G"}})


def rclone_env(service, org, home):
    obscured = subprocess.run(["rclone", "obscure", org.password], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    return {"PATH": "/usr/bin:/bin", "HOME": str(home),
            "RCLONE_CONFIG": str(home / "rclone.conf"),
            "RCLONE_CONFIG_POLDER_TYPE": "webdav",
            "RCLONE_CONFIG_POLDER_URL": service.url("http", f"/dav/files/{org.alice}/"),
            "RCLONE_CONFIG_POLDER_VENDOR": "other",
            "RCLONE_CONFIG_POLDER_USER": org.alice,
            "RCLONE_CONFIG_POLDER_PASS": obscured}


def rclone(env, *args):
    r = subprocess.run(["rclone", *args, *RCLONE_FLAGS], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    return r


def transfers(log):
    """(copied, deleted): the objects rclone's JSON log reports as copied and deleted."""
    copied, deleted = set(), set()
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        msg, obj = entry.get("msg", ""), entry.get("object", "")
        if msg.startswith("Copied"):
            copied.add(nfc(obj))
        elif msg.startswith("Deleted"):
            deleted.add(nfc(obj))
    return copied, deleted


def test_rclone_syncs_500_files_up_and_down_and_then_transfers_only_what_changed(large, dav_org, tmp_path):
    assert shutil.which("rclone"), "rclone is not installed (apt-get install rclone)"
    src = tmp_path / "src"
    names, big = write_tree(src)
    original = tree_digest(src)
    assert len(original) == FILES
    assert any(unicodedata.is_normalized("NFD", n) and not unicodedata.is_normalized("NFC", n) for n in names)

    env = rclone_env(large, dav_org, tmp_path)
    rclone(env, "sync", str(src), "polder:sync-tree")
    back = tmp_path / "back"
    back.mkdir()
    rclone(env, "sync", "polder:sync-tree", str(back))
    assert tree_digest(back) == original
    assert (back / "large files" / "big #1 100%.bin").stat().st_size == BIG_SIZE
    assert sum(1 for p in back.rglob("*") if p.is_file() and p.stat().st_size == 0) == 20

    # Three changes (one of them an NFD name), two new files, one deletion.
    rng = random.Random(7)
    changed = [names[1], names[4], names[30]]
    nfd_name = names[4].rsplit("/", 1)[-1]
    assert unicodedata.is_normalized("NFD", nfd_name) and not unicodedata.is_normalized("NFC", nfd_name)
    for rel in changed:
        f = src / rel
        f.write_bytes(f.read_bytes() + rng.randbytes(rng.randint(1, 100)))
    added = ["new folder/added one.txt", "docs/added #2 100%.md"]
    for rel in added:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rng.randbytes(3000))
    removed = names[7]
    (src / removed).unlink()

    r = rclone(env, "sync", "-v", "--use-json-log", str(src), "polder:sync-tree")
    copied, deleted = transfers(r.stderr)
    assert copied == {nfc(n) for n in changed + added}, r.stderr[-4000:]
    assert deleted == {nfc(removed)}, r.stderr[-4000:]
    assert nfc(str(big.relative_to(src))) not in copied

    # And down again into the earlier copy: the same 6 changes, nothing else.
    r = rclone(env, "sync", "-v", "--use-json-log", "polder:sync-tree", str(back))
    copied, deleted = transfers(r.stderr)
    assert copied == {nfc(n) for n in changed + added}, r.stderr[-4000:]
    assert deleted == {nfc(removed)}, r.stderr[-4000:]
    assert tree_digest(back) == tree_digest(src)
