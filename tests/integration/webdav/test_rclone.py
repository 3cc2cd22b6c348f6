# test_rclone.py - rclone (Debian package) as a real sync client: a tree with
# Unicode names, spaces, empty files and a multi-MiB file goes up to
# polder-webdavd and back down with identical checksums; a second run copies
# only what changed.
#
# SECURITY: loopback only; the password reaches rclone obscured through its
# environment configuration, never on the command line.
# STANDARDS: RFC 4918 as rclone's webdav backend ("other" vendor) uses it.
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

NAMES = ["plain.txt", "with space.txt", "café.txt", "ünïcødé €/nested file.md", "empty.bin",
         "deep/er/still/file.txt", "percent%20sign.txt", "日本語.txt"]


def tree_digest(root):
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def rclone(env, *args):
    r = subprocess.run(["rclone", *args], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
    return r


def test_rclone_copies_a_tree_up_and_down_and_then_only_changes(webdav, dav_org, tmp_path):
    assert shutil.which("rclone"), "rclone is not installed (apt-get install rclone)"
    src = tmp_path / "src"
    for i, name in enumerate(NAMES):
        f = src / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"" if name == "empty.bin" else (name.encode() * (i + 1)))
    for n in range(40):
        (src / "many" / f"file {n:03}.txt").parent.mkdir(parents=True, exist_ok=True)
        (src / "many" / f"file {n:03}.txt").write_text(f"content {n}\n")
    (src / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))

    obscured = subprocess.run(["rclone", "obscure", dav_org.password], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "RCLONE_CONFIG": str(tmp_path / "rclone.conf"),
           "RCLONE_CONFIG_POLDER_TYPE": "webdav",
           "RCLONE_CONFIG_POLDER_URL": webdav.url("http", f"/dav/files/{dav_org.alice}/"),
           "RCLONE_CONFIG_POLDER_VENDOR": "other",
           "RCLONE_CONFIG_POLDER_USER": dav_org.alice,
           "RCLONE_CONFIG_POLDER_PASS": obscured}
    rclone(env, "copy", str(src), "polder:rclone-tree")
    back = tmp_path / "back"
    rclone(env, "copy", "polder:rclone-tree", str(back))
    assert tree_digest(back) == tree_digest(src)
    assert (back / "empty.bin").stat().st_size == 0

    (src / "plain.txt").write_text("changed, and longer than before\n")
    r = rclone(env, "copy", "-v", str(src), "polder:rclone-tree")
    copied = re.findall(r"INFO\s+: (.+?): Copied", r.stderr)
    assert copied == ["plain.txt"], r.stderr[-3000:]
    back2 = tmp_path / "back2"
    rclone(env, "copy", "polder:rclone-tree", str(back2))
    assert tree_digest(back2) == tree_digest(src)
