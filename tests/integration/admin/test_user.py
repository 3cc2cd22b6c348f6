# test_user.py - polderctl user add|list|show|passwd|disable|enable|remove and
# quota set, with every refusal the issue lists.

import json
import re

import pytest

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def org(migrated, polderctl):
    polderctl.ok("org", "add", "users-org")
    polderctl.ok("domain", "add", "users.example", "--org", "users-org")
    return "users-org"


def login(polderctl, address, secret, *extra):
    return polderctl("auth", "test", address, *extra, input=secret + "\n")


def test_user_add_with_password_from_stdin(org, polderctl, sql):
    r = polderctl.ok("user", "add", "Anna.Jansen@Users.Example", "--password-stdin", "--name", "Anna Jansen",
                     "--quota", "10G", input=PASSWORD + "\n")
    assert "created user anna.jansen@users.example in organisation users-org" in r.stdout
    assert "password:" not in r.stdout          # nothing generated, nothing printed
    row = sql("SELECT display_name, quota_bytes, password_hash FROM directory.accounts WHERE address = %s",
              ("anna.jansen@users.example",))
    assert row[0][0] == "Anna Jansen"
    assert row[0][1] == 10 * 1024 ** 3
    assert row[0][2].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in row[0][2]
    assert login(polderctl, "anna.jansen@users.example", PASSWORD).returncode == 0
    assert login(polderctl, "ANNA.JANSEN@users.example", PASSWORD).returncode == 0   # case-insensitive login


def test_user_add_without_password_generates_and_prints_one_once(org, polderctl):
    r = polderctl.ok("user", "add", "bert@users.example")
    m = re.search(r"^password: (\S+)$", r.stdout, re.M)
    assert m, r.stdout
    generated = m.group(1)
    assert re.fullmatch(r"[a-km-np-z2-9]{6}(-[a-km-np-z2-9]{6}){3}", generated)
    assert login(polderctl, "bert@users.example", generated).returncode == 0
    shown = polderctl.ok("user", "show", "bert@users.example").stdout
    assert generated not in shown


def test_user_add_json_reports_the_generated_password(org, polderctl):
    r = polderctl.ok("user", "add", "json@users.example", "--json")
    j = json.loads(r.stdout)
    assert j["address"] == "json@users.example" and j["org"] == "users-org"
    assert login(polderctl, "json@users.example", j["password"]).returncode == 0


def test_user_add_refuses_bad_input(org, polderctl, expect_failure):
    expect_failure(polderctl("user", "add", "anna.jansen@users.example", "--password-stdin", input=PASSWORD + "\n"),
                   1, "user 'anna.jansen@users.example' already exists")
    expect_failure(polderctl("user", "add", "someone@unknown-domain.example"), 1,
                   "unknown domain 'unknown-domain.example'", "polderctl domain add")
    expect_failure(polderctl("user", "add", "short@users.example", "--password-stdin", input="tooshort\n"), 2,
                   "password is too short: 8 characters, at least 12 required")
    expect_failure(polderctl("user", "add", "empty@users.example", "--password-stdin", input=""), 2,
                   "no password on standard input")
    expect_failure(polderctl("user", "add", "quota@users.example", "--quota", "lots"), 2, "bad quota 'lots'")
    expect_failure(polderctl("user", "add", "name@users.example", "--name", "a\tb"), 2, "display name",
                   "control character")
    expect_failure(polderctl("user", "add", "scoped@users.example", "--org", "no-such-org"), 1,
                   "unknown organisation 'no-such-org'")


@pytest.mark.parametrize("address, reason", [
    ("no-at-sign.users.example", "no '@'"),
    ("@users.example", "empty"),
    ("a..b@users.example", "consecutive dots"),
    (".a@users.example", "starts or ends with a dot"),
    ("a b@users.example", "a space"),
    ('"quoted"@users.example', "quoted local parts"),
    ("jos\u00e9@users.example", "non-ASCII local parts"),
    ("x" * 65 + "@users.example", "longer than 64"),
    ("a@users..example", "empty label"),
    ("a@-users.example", "hyphen"),
    ("a@[192.0.2.1]", "address literals"),
    ("a@localhost", "two labels"),
])
def test_user_add_refuses_malformed_addresses(org, polderctl, expect_failure, address, reason):
    expect_failure(polderctl("user", "add", address, "--password-stdin", input=PASSWORD + "\n"), 2,
                   "malformed address", reason)


def test_user_list_and_show(org, polderctl):
    listing = polderctl.ok("user", "list", "--org", "users-org").stdout.splitlines()
    assert listing[0].split() == ["ADDRESS", "ORG", "NAME", "QUOTA", "USED", "STATUS"]
    assert any(l.startswith("anna.jansen@users.example") and "10 GiB" in l for l in listing)
    users = json.loads(polderctl.ok("user", "list", "--org", "users-org", "--json").stdout)
    anna = next(u for u in users if u["address"] == "anna.jansen@users.example")
    assert set(anna) == {"address", "org", "domain", "display_name", "kind", "disabled", "quota_bytes",
                         "used_bytes", "has_password", "created_at"}
    assert anna["quota_bytes"] == 10 * 1024 ** 3 and anna["disabled"] is False and anna["kind"] == "user"
    by_domain = json.loads(polderctl.ok("user", "list", "--domain", "users.example", "--json").stdout)
    assert {u["address"] for u in by_domain} == {u["address"] for u in users}

    show = json.loads(polderctl.ok("user", "show", "anna.jansen@users.example", "--json").stdout)
    assert show["display_name"] == "Anna Jansen" and show["aliases"] == [] and show["groups"] == []
    assert show["app_passwords"] == {"active": 0, "revoked": 0}
    text = polderctl.ok("user", "show", "anna.jansen@users.example").stdout
    assert "Anna Jansen" in text and "10 GiB" in text


def test_user_passwd_changes_the_password(org, polderctl, expect_failure):
    polderctl.ok("user", "add", "pw@users.example", "--password-stdin", input=PASSWORD + "\n")
    polderctl.ok("user", "passwd", "pw@users.example", "--password-stdin", input="another long password\n")
    assert login(polderctl, "pw@users.example", PASSWORD).returncode == 1
    assert login(polderctl, "pw@users.example", "another long password").returncode == 0
    r = polderctl.ok("user", "passwd", "pw@users.example")
    generated = re.search(r"^password: (\S+)$", r.stdout, re.M).group(1)
    assert login(polderctl, "pw@users.example", generated).returncode == 0
    expect_failure(polderctl("user", "passwd", "pw@users.example", "--password-stdin", input="short\n"), 2,
                   "too short")
    expect_failure(polderctl("user", "passwd", "nobody@users.example", "--password-stdin", input=PASSWORD + "\n"),
                   1, "unknown user 'nobody@users.example'")


def test_disabled_users_cannot_log_in_until_enabled(org, polderctl, sql):
    polderctl.ok("user", "add", "dis@users.example", "--password-stdin", input=PASSWORD + "\n")
    assert "disabled user dis@users.example" in polderctl.ok("user", "disable", "dis@users.example").stdout
    assert "already disabled" in polderctl.ok("user", "disable", "dis@users.example").stdout
    r = login(polderctl, "dis@users.example", PASSWORD)
    assert r.returncode == 1 and "login failed" in r.stderr
    reason = sql("SELECT details->>'reason' FROM audit.events WHERE event = 'auth.login.failure'"
                 " AND details->>'address' = 'dis@users.example' ORDER BY id DESC LIMIT 1")
    assert reason == [("account_disabled",)]
    polderctl.ok("user", "enable", "dis@users.example")
    assert login(polderctl, "dis@users.example", PASSWORD).returncode == 0


def test_quota_set(org, polderctl, sql, expect_failure):
    polderctl.ok("user", "add", "q@users.example", "--password-stdin", input=PASSWORD + "\n")
    assert "is now 1.5 GiB" in polderctl.ok("quota", "set", "q@users.example", "1.5G").stdout
    assert sql("SELECT quota_bytes FROM directory.accounts WHERE address = 'q@users.example'")[0][0] == 3 * 2 ** 29
    assert "unlimited" in polderctl.ok("quota", "set", "q@users.example", "unlimited").stdout
    assert sql("SELECT quota_bytes FROM directory.accounts WHERE address = 'q@users.example'")[0][0] is None
    expect_failure(polderctl("quota", "set", "q@users.example", "-1G"), 2, "bad quota")
    expect_failure(polderctl("quota", "set", "q@users.example", "999999999P"), 2, "too large")
    expect_failure(polderctl("quota", "set", "nobody@users.example", "1G"), 1, "unknown user")
    events = sql("SELECT details FROM audit.events WHERE event = 'admin.quota.set'"
                 " AND details->>'address' = 'q@users.example' ORDER BY id")
    assert [e[0]["quota_bytes"] for e in events] == [3 * 2 ** 29, None]


def test_user_remove_takes_aliases_along(org, polderctl, sql, expect_failure):
    polderctl.ok("user", "add", "gone@users.example", "--password-stdin", input=PASSWORD + "\n")
    polderctl.ok("alias", "add", "gone-alias@users.example", "gone@users.example")
    r = polderctl.ok("user", "remove", "gone@users.example")
    assert "removed user gone@users.example and 1 alias(es)" in r.stdout
    assert sql("SELECT count(*) FROM directory.addresses WHERE address LIKE 'gone%%'")[0][0] == 0
    expect_failure(polderctl("user", "remove", "gone@users.example"), 1, "unknown user 'gone@users.example'")


def test_an_alias_address_is_not_a_user(org, polderctl, expect_failure):
    polderctl.ok("user", "add", "target@users.example", "--password-stdin", input=PASSWORD + "\n")
    polderctl.ok("alias", "add", "info@users.example", "target@users.example")
    expect_failure(polderctl("user", "show", "info@users.example"), 1, "is an alias, not a user")
    expect_failure(polderctl("user", "add", "info@users.example"), 1, "already in use by an alias")


def test_resource_accounts_have_no_password(org, polderctl, expect_failure):
    r = polderctl.ok("user", "add", "room-1@users.example", "--resource", "--name", "Room 1")
    assert "password:" not in r.stdout
    assert login(polderctl, "room-1@users.example", PASSWORD).returncode == 1
    expect_failure(polderctl("user", "passwd", "room-1@users.example"), 1, "is a resource")
