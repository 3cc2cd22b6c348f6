# test_acl_quota.py - RFC 4314 ACL commands (SETACL, DELETEACL, GETACL, MYRIGHTS,
# LISTRIGHTS) with a mailbox shared to a colleague who then finds it in the Shared
# namespace, and RFC 9208 QUOTA (GETQUOTAROOT, GETQUOTA, SETQUOTA refused, OVERQUOTA).

import json

from imap_helpers import message, ok


def test_sharing_a_mailbox_with_acl_rights(raw, connect, domain, new_user):
    owner, colleague = new_user(domain), new_user(domain)
    oc = connect(owner)
    ok(oc.create("Team"))
    ok(oc.append("Team", None, None, message("team news")))
    r = raw(user=owner)
    lines = r.cmd(f"SETACL Team {colleague} lr")
    assert lines[-1].startswith("r1 OK"), lines
    lines = r.cmd("GETACL Team")
    assert lines[0] == f"* ACL Team {owner} lrswipkxtea {colleague} lr", lines
    lines = r.cmd(f"LISTRIGHTS Team {colleague}")
    assert lines[0].startswith(f'* LISTRIGHTS Team {colleague} ""'), lines
    lines = r.cmd("MYRIGHTS Team")
    assert lines[0] == "* MYRIGHTS Team lrswipkxtea", lines
    lines = r.cmd("SETACL Team nobody@nowhere.example lr")
    assert " NO " in lines[-1], lines

    shared = f"Shared/{owner}/Team"
    c = raw(user=colleague)
    lines = c.cmd('LIST "" "*"')
    assert any(shared in l for l in lines), lines
    assert any(l.startswith("* LIST") and f"Shared/{owner}" in l and "\\HasChildren" in l for l in lines), lines
    lines = c.cmd(f'MYRIGHTS "{shared}"')
    assert lines[0].endswith(" lr"), lines
    lines = c.cmd(f'SELECT "{shared}"')
    assert "[READ-ONLY]" in lines[-1] and "* 1 EXISTS" in lines, lines
    lines = c.cmd("FETCH 1 (BODY[HEADER.FIELDS (Subject)])")
    assert any("team news" in l for l in lines), lines
    lines = c.cmd("STORE 1 +FLAGS (\\Deleted)")
    assert " NO " in lines[-1], lines
    lines = c.cmd(f'GETACL "{shared}"')
    assert " NO [NOPERM]" in lines[-1], lines
    lines = c.cmd(f'DELETE "{shared}"')
    assert " NO " in lines[-1], lines

    r.cmd(f"SETACL Team {colleague} +i")
    lines = r.cmd("GETACL Team")
    assert f"{colleague} lri" in lines[0], lines
    body = message("from colleague")
    c.send_raw(b'a1 APPEND "%s" {%d+}\r\n' % (shared.encode(), len(body)) + body + b"\r\n")
    assert c.until("a1")[-1].startswith("a1 OK [APPENDUID"), "append with i right"

    lines = r.cmd(f"DELETEACL Team {colleague}")
    assert "OK" in lines[-1], lines
    lines = c.cmd(f'STATUS "{shared}" (MESSAGES)')
    assert " NO [NONEXISTENT]" in lines[-1], lines


def test_quota_root_and_overquota(raw, connect, domain, new_user):
    user = new_user(domain, "--quota", "2K")
    r = raw(user=user)
    lines = r.cmd("GETQUOTAROOT INBOX")
    assert lines[0] == '* QUOTAROOT INBOX ""', lines
    assert lines[1] == '* QUOTA "" (STORAGE 0 2)', lines
    lines = r.cmd('GETQUOTA ""')
    assert lines[0] == '* QUOTA "" (STORAGE 0 2)', lines
    lines = r.cmd('SETQUOTA "" (STORAGE 100)')
    assert " NO [NOPERM]" in lines[-1], lines
    c = connect(user)
    ok(c.append("INBOX", None, None, message("fits", body="x" * 1000 + "\r\n")))
    typ, data = c.append("INBOX", None, None, message("too big", body="y" * 1500 + "\r\n"))
    assert typ == "NO" and b"[OVERQUOTA]" in data[0], data
    lines = r.cmd('GETQUOTA ""')
    assert lines[0].startswith('* QUOTA "" (STORAGE 1 2)'), lines


def test_unlimited_account_has_no_quota_root(raw, domain, new_user):
    r = raw(user=new_user(domain))
    lines = r.cmd("GETQUOTAROOT INBOX")
    assert lines[0] == "* QUOTAROOT INBOX", lines
    lines = r.cmd('GETQUOTA ""')
    assert " NO " in lines[-1], lines


def test_polderctl_mailbox_share_with_a_group_unshare_and_list(raw, domain, new_user, polderctl, unique):
    info, member, outsider = new_user(domain), new_user(domain), new_user(domain)
    org = domain.rsplit(".", 1)[0]
    group = unique("Frontoffice")
    polderctl.ok("group", "add", group, "--org", org)
    polderctl.ok("group", "member", "add", group, member)
    r = polderctl.ok("mailbox", "share", info, "INBOX", group, "--rights", "lrs")
    assert f"shared INBOX of {info} with {group} (lrs)" in r.stdout
    listed = polderctl.ok("mailbox", "list", info).stdout
    assert f"INBOX  {group}=lrs" in listed, listed
    shared = f"Shared/{info}/INBOX"
    m = raw(user=member)
    lines = m.cmd('LIST "" "Shared/*"')
    assert any(shared in l for l in lines), lines
    assert " OK " in m.cmd(f'EXAMINE "{shared}"')[-1]
    o = raw(user=outsider)
    assert " NO [NONEXISTENT]" in o.cmd(f'EXAMINE "{shared}"')[-1]
    bad = polderctl("mailbox", "share", info, "INBOX", "nobody@nowhere.example")
    assert bad.returncode != 0 and "unknown mailbox or grantee" in bad.stderr
    bad = polderctl("mailbox", "share", info, "INBOX", group, "--rights", "lrz")
    assert bad.returncode != 0
    polderctl.ok("mailbox", "unshare", info, "INBOX", group)
    assert group not in polderctl.ok("mailbox", "list", info).stdout
    assert " NO [NONEXISTENT]" in m.cmd(f'STATUS "{shared}" (MESSAGES)')[-1]


def test_append_is_refused_before_the_upload_when_it_cannot_succeed(raw, domain, new_user):
    # RFC 9051 6.3.12: NO instead of the "+" continuation, so the client never sends data
    # that would be thrown away; the session goes on with the next command.
    user = new_user(domain, "--quota", "2K")
    r = raw(user=user)
    r.send_raw("a1 APPEND Nowhere {20}\r\n")
    line = r.readline()
    assert line.startswith("a1 NO [TRYCREATE]"), line
    r.send_raw("a2 APPEND INBOX {5000}\r\n")
    line = r.readline()
    assert line.startswith("a2 NO [OVERQUOTA]"), line
    assert r.cmd("NOOP")[-1].split()[1] == "OK"
    # A message that fits still gets the continuation and is stored.
    body = b"Subject: small\r\n\r\nfits\r\n"
    r.send_raw(f"a3 APPEND INBOX {{{len(body)}}}\r\n")
    assert r.readline().startswith("+")
    r.send_raw(body + b"\r\n")
    assert r.until("a3")[-1].startswith("a3 OK [APPENDUID")


def test_append_to_a_read_only_shared_mailbox_is_refused_before_the_upload(raw, domain, new_user, polderctl):
    owner, reader = new_user(domain), new_user(domain)
    polderctl.ok("mailbox", "share", owner, "INBOX", reader, "--rights", "lr")
    r = raw(user=reader)
    shared = [l for l in r.cmd('LIST "" "Shared/*"') if "INBOX" in l]
    assert shared, "the shared INBOX is listed"
    name = shared[0].rsplit(" ", 1)[1]
    r.send_raw(f"a1 APPEND {name} {{20}}\r\n")
    line = r.readline()
    assert line.startswith("a1 NO [NOPERM]"), line
    assert r.cmd("NOOP")[-1].split()[1] == "OK"


def test_usage_follows_every_change_of_the_accounts_mail(raw, connect, domain, new_user, polderctl, sql):
    """mail.account_usage (schema 0113): APPEND, COPY, MOVE, EXPUNGE, DELETE of a mailbox and
    removal of the account each change exactly the owner's usage, to the byte."""

    user, other = new_user(domain, "--quota", "1M"), new_user(domain)

    def used(address=user):
        return json.loads(polderctl.ok("user", "show", address, "--json").stdout)["used_bytes"]

    assert used() == 0
    a, b = message("usage a", body="a" * 3000 + "\r\n"), message("usage b", body="b" * 5000 + "\r\n")
    c = connect(user)
    ok(c.append("INBOX", None, None, a))
    ok(c.append("INBOX", None, None, b))
    assert used() == len(a) + len(b)
    ok(c.select("INBOX"))
    ok(c.uid("COPY", "1", "Archive"))                # a copy counts again (RFC 9208 STORAGE)
    assert used() == 2 * len(a) + len(b)
    ok(c.uid("MOVE", "2", "Trash"))                  # moving within the account changes nothing
    assert used() == 2 * len(a) + len(b)
    ok(c.uid("STORE", "1", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.expunge())
    assert used() == len(a) + len(b)
    ok(c.delete("Archive"))                          # the entries of a deleted mailbox go out
    assert used() == len(b)
    ok(connect(other).append("INBOX", None, None, a))   # another account's mail is its own
    assert used() == len(b) and used(other) == len(a)
    lines = raw(user=user).cmd('GETQUOTA ""')
    assert lines[0] == f'* QUOTA "" (STORAGE {len(b) // 1024} 1024)', lines
    # The counter is the sum of the entries, and goes with the account.
    [(account, counted, summed)] = sql(
        "SELECT u.account_id, u.used_bytes, (SELECT coalesce(sum(mm.size), 0) FROM mail.mailbox_messages mm "
        "JOIN mail.mailboxes m ON m.id = mm.mailbox_id WHERE m.account_id = u.account_id) "
        "FROM mail.account_usage u JOIN directory.accounts x ON x.id = u.account_id WHERE x.address = %s", (user,))
    assert counted == summed == len(b)
    polderctl.ok("user", "remove", user)
    assert sql("SELECT count(*) FROM mail.account_usage WHERE account_id = %s", (account,)) == [(0,)]
