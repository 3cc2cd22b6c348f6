# test_audit.py - every administrative change writes exactly one audit event,
# with the OS user running polderctl as its actor; read-only commands write none.

import json
import pwd
import os

ACTOR = pwd.getpwuid(os.geteuid()).pw_name
PASSWORD = "audit test password"


def new_events(sql, since):
    return sql("SELECT event, actor, details FROM audit.events WHERE id > %s ORDER BY id", (since,))


def last_id(sql):
    return sql("SELECT coalesce(max(id), 0) FROM audit.events")[0][0]


def test_every_admin_change_is_audited_with_the_os_user(migrated, polderctl, sql):
    steps = [
        (["org", "add", "audit-org"], None, "admin.org.add"),
        (["domain", "add", "audit.example", "--org", "audit-org"], None, "admin.domain.add"),
        (["user", "add", "u@audit.example", "--password-stdin"], PASSWORD, "admin.user.add"),
        (["user", "passwd", "u@audit.example"], None, "admin.user.passwd"),
        (["user", "disable", "u@audit.example"], None, "admin.user.disable"),
        (["user", "enable", "u@audit.example"], None, "admin.user.enable"),
        (["quota", "set", "u@audit.example", "2G"], None, "admin.quota.set"),
        (["alias", "add", "a@audit.example", "u@audit.example"], None, "admin.alias.add"),
        (["alias", "remove", "a@audit.example"], None, "admin.alias.remove"),
        (["group", "add", "G", "--org", "audit-org"], None, "admin.group.add"),
        (["group", "member", "add", "G", "u@audit.example"], None, "admin.group.member.add"),
        (["group", "member", "remove", "G", "u@audit.example"], None, "admin.group.member.remove"),
        (["group", "remove", "G", "--org", "audit-org"], None, "admin.group.remove"),
        (["app-password", "add", "u@audit.example", "--label", "L"], None, "admin.app_password.add"),
        (["app-password", "revoke", "u@audit.example", "APID"], None, "admin.app_password.revoke"),
        (["user", "remove", "u@audit.example"], None, "admin.user.remove"),
        (["domain", "remove", "audit.example"], None, "admin.domain.remove"),
        (["org", "remove", "audit-org"], None, "admin.org.remove"),
    ]
    app_password_id = None
    for args, stdin, event in steps:
        args = [str(app_password_id) if a == "APID" else a for a in args]
        before = last_id(sql)
        r = polderctl.ok(*args, input=(stdin + "\n") if stdin else None)
        events = new_events(sql, before)
        assert [e[0] for e in events] == [event], (args, events)
        assert events[0][1].split(" (sudo")[0] == ACTOR
        if event == "admin.app_password.add":
            app_password_id = events[0][2]["app_password_id"]
        # no secret in any event
        assert PASSWORD not in json.dumps(events[0][2])
        assert "password:" not in json.dumps(events[0][2])


def test_read_only_and_refused_commands_write_no_event(migrated, polderctl, sql):
    polderctl.ok("org", "add", "quiet-org")
    before = last_id(sql)
    polderctl.ok("org", "list")
    polderctl.ok("user", "list", "--json")
    polderctl("org", "add", "quiet-org")                 # refused: duplicate
    polderctl("domain", "add", "q.example", "--org", "none")   # refused: unknown org
    assert new_events(sql, before) == []
