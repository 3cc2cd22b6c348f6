# test_mbsync.py - a real sync client: mbsync (isync) syncs 500 messages from polder-imapd
# to a local Maildir over implicit TLS verified against the test CA, then both sides
# change flags and add a message, and a second sync leaves both sides equal with no loss
# and no duplicate.

import shutil
import subprocess

import pytest

from imap_helpers import PASSWORD, message, ok

COUNT = 500

pytestmark = pytest.mark.skipif(shutil.which("mbsync") is None, reason="isync (mbsync) is not installed")


def maildir_files(folder):
    return sorted(p for sub in ("cur", "new") for p in (folder / sub).iterdir())


def run_mbsync(config):
    r = subprocess.run(["mbsync", "-c", str(config), "-a"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mbsync_two_way_sync_of_500_messages(tmp_path, imapd, tls_files, new_org, new_user, connect):
    user = new_user(new_org())
    c = connect(user)
    for i in range(COUNT):
        ok(c.append("INBOX", "(\\Seen)" if i % 2 else None, None, message(f"sync {i}", body=f"Message {i}\r\n")))
    local = tmp_path / "Mail"
    local.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(f"""
IMAPAccount polder
Host localhost
Port {imapd.port("imaps")}
User {user}
Pass "{PASSWORD}"
SSLType IMAPS
CertificateFile {tls_files.ca_cert}

IMAPStore remote
Account polder

MaildirStore local
Path {local}/
Inbox {local}/INBOX

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
Sync All
SyncState *
""")
    run_mbsync(config)
    inbox = local / "INBOX"
    files = maildir_files(inbox)
    assert len(files) == COUNT
    seen_local = [f for f in files if ":2," in f.name and "S" in f.name.split(":2,")[1]]
    assert len(seen_local) == COUNT // 2

    # Local changes: flag ten messages, add one message.
    flagged = [f for f in files if any(f",U={u}:" in f.name for u in range(100, 110))]
    assert len(flagged) == 10, [f.name for f in files[:3]]
    for f in flagged:
        base, flags = f.name.split(":2,")
        f.rename(inbox / "cur" / (base + ":2," + "".join(sorted(flags + "F"))))
    (inbox / "new" / "1700000000.local.host").write_bytes(message("written locally").replace(b"\r\n", b"\n"))
    # Remote changes: mark every unseen message seen and delete one.
    ok(c.select("INBOX"))
    ok(c.store("1:*", "+FLAGS", "(\\Seen)"))
    ok(c.store("1", "+FLAGS", "(\\Deleted)"))
    ok(c.expunge())

    run_mbsync(config)
    files = maildir_files(inbox)
    assert len(files) == COUNT            # one expunged remotely, one added locally
    assert all("S" in f.name.split(":2,")[1] for f in files if ":2," in f.name and "local" not in f.name)
    typ, data = c.select("INBOX")
    assert data == [str(COUNT).encode()]
    typ, data = c.search(None, "FLAGGED")
    assert len(data[0].split()) == 10
    typ, data = c.search(None, 'SUBJECT "written locally"')
    assert len(data[0].split()) == 1
    typ, data = c.search(None, "ALL")
    subjects = ok(c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (Subject)])"))
    names = [x[1].strip() for x in subjects if isinstance(x, tuple)]
    assert len(names) == len(set(names)) == COUNT   # no duplicates
