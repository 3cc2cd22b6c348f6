# test_audit.py - every administrative change writes exactly one audit event,
# with the OS user running polderctl as its actor; read-only commands write none.
# `polderctl audit list` filters and prints the trail, `audit purge` cuts it (and says so
# in the trail), and a running service deletes events older than audit.retention_days.

import json
import pwd
import os

from polling import wait_for

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


def add_event(sql, event, at, actor="someone@old.example", org_id=None, account_id=None, ip=None, details="{}"):
    """An event written at a chosen time (SQL time expression), as if it had been logged then."""
    return sql(f"INSERT INTO audit.events (at, event, actor, org_id, account_id, remote_ip, details)"
               f" VALUES ({at}, %s, %s, %s, %s, %s, %s::jsonb) RETURNING id",
               (event, actor, org_id, account_id, ip, details))[0][0]


def listed(polderctl, *args):
    return json.loads(polderctl.ok("audit", "list", "--json", "--limit", "1000000", *args).stdout)


def test_audit_list_filters_and_prints(migrated, polderctl, sql, expect_failure):
    polderctl.ok("org", "add", "list-org")
    polderctl.ok("domain", "add", "list.example", "--org", "list-org")
    polderctl.ok("user", "add", "ann@list.example", "--password-stdin", input=PASSWORD + "\n")
    polderctl.ok("org", "add", "other-org")
    org = sql("SELECT id FROM directory.orgs WHERE name = 'list-org'")[0][0]
    other = sql("SELECT id FROM directory.orgs WHERE name = 'other-org'")[0][0]
    ann = sql("SELECT id FROM directory.accounts WHERE address = 'ann@list.example'")[0][0]
    early = add_event(sql, "auth.login.failure", "'2026-01-10T09:00:00Z'", actor="ann@list.example", org_id=org,
                      account_id=ann, ip="192.0.2.7", details='{"reason": "bad password"}')
    late = add_event(sql, "auth.login.success", "'2026-01-10T10:00:00Z'", actor="ann@list.example", org_id=org,
                     account_id=ann, ip="2001:db8::7")
    eve = add_event(sql, "auth.login.failure", "'2026-01-10T09:30:00Z'", actor="eve@other.example", org_id=other)

    # A time window in UTC, and one given with an offset: the same two hours.
    for since, until in (("2026-01-10T08:59Z", "2026-01-10T10:00"), ("2026-01-10T09:59:00+01:00", "2026-01-10T11:00+01:00")):
        got = listed(polderctl, "--since", since, "--until", until)
        assert [e["id"] for e in got] == [early, eve], got
    window = ["--since", "2026-01-10", "--until", "2026-01-11"]
    got = listed(polderctl, *window)
    assert [e["id"] for e in got][0] == early and [e["id"] for e in got][-1] == late   # time order
    assert got[0] == {"id": early, "at": "2026-01-10T09:00:00.000000Z", "event": "auth.login.failure",
                      "actor": "ann@list.example", "org_id": org, "org": "list-org", "account_id": ann,
                      "account": "ann@list.example", "remote_ip": "192.0.2.7", "details": {"reason": "bad password"}}
    assert got[-1]["remote_ip"] == "2001:db8::7"

    # --event names an event or the events below it, never a mere prefix of a name.
    assert {e["event"] for e in listed(polderctl, *window, "--event", "auth.login")} == {"auth.login.failure",
                                                                                     "auth.login.success"}
    assert [e["id"] for e in listed(polderctl, *window, "--event", "auth.login.success")] == [late]
    assert listed(polderctl, *window, "--event", "auth.log") == []
    # --account, --actor and --org.
    assert [e["id"] for e in listed(polderctl, *window, "--account", "ann@list.example")] == [early, late]
    assert [e["actor"] for e in listed(polderctl, *window, "--actor", "eve@other.example")] == ["eve@other.example"]
    assert {e["org"] for e in listed(polderctl, *window, "--org", "other-org")} == {"other-org"}
    assert [e["event"] for e in listed(polderctl, "--org", "list-org", "--account", "ann@list.example",
                                       "--event", "admin")] == ["admin.user.add"]
    # --limit keeps the newest, printed oldest first.
    assert [e["id"] for e in json.loads(polderctl.ok("audit", "list", "--json", "--limit", "2", *window).stdout)] \
        == [eve, late]
    # The table for people: seconds in UTC, the details, a removed account by its id.
    polderctl.ok("user", "remove", "ann@list.example")
    text = polderctl.ok("audit", "list", *window, "--actor", "ann@list.example").stdout.splitlines()
    assert text[0].split() == ["TIME", "(UTC)", "EVENT", "ACTOR", "ACCOUNT", "IP", "DETAILS"]
    assert text[1].split()[:5] == ["2026-01-10T09:00:00Z", "auth.login.failure", "ann@list.example",
                                   f"#{ann}", "(removed)"]
    assert '{"reason": "bad password"}' in text[1]

    # Bad input: a usage error (exit 2) that names the problem; unknown names: refused (1).
    expect_failure(polderctl("audit", "list", "--since", "2026-02-30"), 2, "--since", "not a valid date")
    expect_failure(polderctl("audit", "list", "--until", "yesterday"), 2, "--until", "expected e.g. 30d")
    expect_failure(polderctl("audit", "list", "--event", "Auth.Login"), 2, "--event")
    expect_failure(polderctl("audit", "list", "--limit", "0"), 2)
    expect_failure(polderctl("audit", "list", "--account", "nobody@list.example"), 1, "unknown user")
    expect_failure(polderctl("audit", "list", "--org", "no-such-org"), 1, "unknown organisation")


def test_audit_purge_deletes_old_events_and_records_itself(migrated, polderctl, sql, expect_failure):
    old = [add_event(sql, "auth.login.failure", f"now() - interval '{400 + i} days'", actor=f"old{i}@p.example")
           for i in range(3)]
    kept = add_event(sql, "auth.login.failure", "now() - interval '300 days'", actor="kept@p.example")
    expect_failure(polderctl("audit", "purge"), 2, "--before")
    expect_failure(polderctl("audit", "purge", "--before", "2999-01-01"), 1, "in the future")
    expect_failure(polderctl("audit", "purge", "--before", "soon"), 2, "--before")
    assert sql("SELECT count(*) FROM audit.events WHERE id = ANY(%s)", (old,))[0][0] == 3

    before = last_id(sql)
    r = polderctl.ok("audit", "purge", "--before", "365d")
    assert r.stdout.strip() == f"purged {len(old)} audit events"   # nothing else was that old
    assert sql("SELECT count(*) FROM audit.events WHERE id = ANY(%s)", (old,))[0][0] == 0
    assert sql("SELECT count(*) FROM audit.events WHERE id = %s", (kept,))[0][0] == 1
    events = new_events(sql, before)
    assert [e[0] for e in events] == ["admin.audit.purge"]
    assert events[0][1].split(" (sudo")[0] == ACTOR
    assert events[0][2]["events"] == 3 and events[0][2]["before"].endswith("Z")
    assert polderctl.ok("audit", "purge", "--before", "365d").stdout.strip() == "purged 0 audit events"


def test_a_running_service_expires_events_past_the_retention(migrated, start_service, sql):
    expired = [add_event(sql, "auth.login.failure", f"now() - interval '31 days' - interval '{i} seconds'",
                         actor="gone@r.example") for i in range(5)]
    recent = add_event(sql, "auth.login.failure", "now() - interval '29 days'", actor="stays@r.example")
    service = start_service("caldav", {"audit": {"retention_days": 30, "expire_interval_seconds": 1}})
    wait_for(lambda: sql("SELECT count(*) FROM audit.events WHERE id = ANY(%s)", (expired,))[0][0] == 0,
             timeout=20, what="the service to delete the expired events")
    assert sql("SELECT count(*) FROM audit.events WHERE id = %s", (recent,))[0][0] == 1
    wait_for(lambda: "audit.expired" in service.log(), timeout=5, what="the audit.expired log line")
