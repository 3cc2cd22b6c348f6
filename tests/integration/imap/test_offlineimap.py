# test_offlineimap.py - a second real sync client: offlineimap (Debian's offlineimap3)
# makes one pass from polder-imapd to a local Maildir over implicit TLS verified against
# the test CA, then a second pass after changes on both sides carries a local \Seen flag
# and a local new message up, and a server-side message down, with nothing lost or doubled.

import re
import shutil
import subprocess

from imap_helpers import PASSWORD, message, ok

COUNT = 60


def run_offlineimap(config):
    if shutil.which("offlineimap") is None:
        raise AssertionError("offlineimap is not installed (Debian package offlineimap3, scripts/packages.txt)")
    r = subprocess.run(["offlineimap", "-c", str(config), "-o", "-u", "basic"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "ERROR" not in r.stdout + r.stderr, r.stdout[-3000:] + r.stderr[-3000:]


def maildir_messages(folder):
    return [p for sub in ("cur", "new") for p in (folder / sub).iterdir()]


def subjects(paths):
    out = []
    for p in paths:
        m = re.search(rb"^Subject: (.*)\r?$", p.read_bytes(), re.M)
        out.append(m.group(1).decode().strip())
    return sorted(out)


def test_offlineimap_syncs_both_ways(tmp_path, imapd, tls_files, new_org, new_user, connect):
    user = new_user(new_org())
    c = connect(user)
    for i in range(COUNT):
        ok(c.append("INBOX", None, None, message(f"offline {i}", body=f"Bericht {i}\r\n")))
    local = tmp_path / "Mail"
    config = tmp_path / "offlineimaprc"
    config.write_text(f"""
[general]
accounts = polder
metadata = {tmp_path}/meta

[Account polder]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {local}

[Repository remote]
type = IMAP
remotehost = localhost
remoteport = {imapd.port("imaps")}
remoteuser = {user}
remotepass = {PASSWORD}
ssl = yes
sslcacertfile = {tls_files.ca_cert}
folderfilter = lambda name: name == 'INBOX'
""")
    run_offlineimap(config)
    inbox = local / "INBOX"
    assert subjects(maildir_messages(inbox)) == sorted(f"offline {i}" for i in range(COUNT))

    # Local: mark one message seen and drop a new one into the Maildir; remote: one more.
    first = sorted(maildir_messages(inbox))[0]
    seen_subject = subjects([first])[0]
    info = first.name.split(":2,")
    first.rename(inbox / "cur" / (info[0] + ":2," + (info[1] if len(info) > 1 else "") + "S"))
    (inbox / "new" / "1700000000.local.host").write_bytes(message("written offline"))
    ok(c.append("INBOX", None, None, message("arrived meanwhile")))

    run_offlineimap(config)
    ok(c.select("INBOX"))
    typ, data = c.search(None, "ALL")
    assert len(data[0].split()) == COUNT + 2
    typ, data = c.uid("SEARCH", None, "SUBJECT", '"written offline"')
    assert len(data[0].split()) == 1
    typ, data = c.search(None, "SEEN", "SUBJECT", f'"{seen_subject}"')
    assert len(data[0].split()) == 1
    assert len(maildir_messages(inbox)) == COUNT + 2
    assert "arrived meanwhile" in subjects(maildir_messages(inbox))
