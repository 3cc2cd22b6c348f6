# test_mutt.py - a real mail client: mutt (in a pseudo-terminal, driven by a pushed key
# sequence and no human) logs in over implicit TLS verified against the test CA, opens
# INBOX, moves the messages matching a subject to Archive and quits; the server then
# shows the moved messages in Archive only.

import os
import pty
import select
import shutil
import subprocess
import time

import pytest

from imap_helpers import PASSWORD, message, ok

pytestmark = pytest.mark.skipif(shutil.which("mutt") is None, reason="mutt is not installed")


def run_in_pty(argv, env, timeout=60):
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        # The pty reports EOF (EIO) as mutt closes it, a moment before it exits.
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("mutt did not finish: " + output[-2000:].decode(errors="replace"))
    finally:
        os.close(master)
    return proc.returncode, output.decode(errors="replace")


def test_mutt_reads_and_moves_mail_in_batch(tmp_path, imapd, tls_files, new_org, new_user, connect):
    user = new_user(new_org())
    c = connect(user)
    for subject in ("keep this", "moveme one", "moveme two"):
        ok(c.append("INBOX", None, None, message(subject)))
    rc_file = tmp_path / "muttrc"
    rc_file.write_text(f"""
set folder="imaps://localhost:{imapd.port("imaps")}/"
set imap_user="{user}"
set imap_pass="{PASSWORD}"
set spoolfile="+INBOX"
set ssl_force_tls=yes
set ssl_ca_certificates_file="{tls_files.ca_cert}"
set certificate_file="{tmp_path}/certificates"
set header_cache=""
set message_cachedir=""
set record=""
set confirmappend=no
set confirmcreate=no
set delete=yes
set quit=yes
set move=no
set wait_key=no
set mail_check=0
""")
    env = dict(os.environ, HOME=str(tmp_path), TERM="xterm", COLUMNS="120", LINES="40")
    keys = "<tag-pattern>~s moveme<enter><tag-prefix><save-message>=Archive<enter><sync-mailbox><quit>"
    rc, out = run_in_pty(["mutt", "-n", "-F", str(rc_file), "-e", f"push '{keys}'"], env)
    assert rc == 0, out[-2000:]
    ok(c.select("Archive"))
    typ, data = c.search(None, "ALL")
    assert len(data[0].split()) == 2
    subjects = ok(c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (Subject)])"))
    assert sorted(x[1].strip() for x in subjects if isinstance(x, tuple)) == [b"Subject: moveme one", b"Subject: moveme two"]
    ok(c.select("INBOX"))
    typ, data = c.search(None, "ALL")
    assert len(data[0].split()) == 1
