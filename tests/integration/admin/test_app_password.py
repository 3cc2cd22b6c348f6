# test_app_password.py - polderctl app-password add|list|revoke, and logging in
# with app passwords.

import json
import re

import pytest

PASSWORD = "account password 1"


@pytest.fixture(scope="module")
def user(migrated, polderctl):
    polderctl.ok("org", "add", "ap-org")
    polderctl.ok("domain", "add", "ap.example", "--org", "ap-org")
    polderctl.ok("user", "add", "carol@ap.example", "--password-stdin", input=PASSWORD + "\n")
    return "carol@ap.example"


def login(polderctl, address, secret):
    return polderctl("auth", "test", address, input=secret + "\n")


def add(polderctl, user, label):
    r = polderctl.ok("app-password", "add", user, "--label", label)
    m = re.search(r"^password: (ap-\S+)$", r.stdout, re.M)
    assert m, r.stdout
    ident = int(re.search(r"created app password (\d+)", r.stdout).group(1))
    return ident, m.group(1)


def test_several_app_passwords_each_log_in(user, polderctl, sql):
    id1, pw1 = add(polderctl, user, "Thunderbird laptop")
    id2, pw2 = add(polderctl, user, "Phone")
    assert re.fullmatch(r"ap-[a-km-np-z2-9]{8}(-[a-km-np-z2-9]{6}){4}", pw1)
    r = login(polderctl, user, pw1)
    assert r.returncode == 0 and f"app password {id1}" in r.stdout
    assert login(polderctl, user, pw2).returncode == 0
    assert login(polderctl, user, PASSWORD).returncode == 0          # the account password still works
    # typed without dashes and in capitals it is the same app password
    assert login(polderctl, user, pw2.replace("-", "").upper()).returncode == 0
    # stored as an Argon2id hash, never in clear
    hashes = sql("SELECT hash FROM directory.app_passwords WHERE id IN (%s, %s)", (id1, id2))
    assert all(h[0].startswith("$argon2id$") and pw1 not in h[0] for h in hashes)
    used = sql("SELECT last_used_at IS NOT NULL FROM directory.app_passwords WHERE id = %s", (id1,))[0][0]
    assert used


def test_app_password_list_shows_labels_not_secrets(user, polderctl):
    listing = polderctl.ok("app-password", "list", user, "--json").stdout
    items = json.loads(listing)
    assert {i["label"] for i in items} >= {"Thunderbird laptop", "Phone"}
    assert set(items[0]) == {"id", "label", "public_id", "created_at", "last_used_at", "revoked_at", "active"}
    assert "ap-" not in listing.replace('"public_id"', "")
    text = polderctl.ok("app-password", "list", user).stdout
    assert text.splitlines()[0].split()[:2] == ["ID", "LABEL"]


def test_a_revoked_app_password_no_longer_logs_in(user, polderctl, expect_failure):
    ident, pw = add(polderctl, user, "Old tablet")
    assert login(polderctl, user, pw).returncode == 0
    r = polderctl.ok("app-password", "revoke", user, str(ident))
    assert f"revoked app password {ident} ('Old tablet')" in r.stdout
    assert login(polderctl, user, pw).returncode == 1
    items = json.loads(polderctl.ok("app-password", "list", user, "--json").stdout)
    old = next(i for i in items if i["id"] == ident)
    assert old["active"] is False and old["revoked_at"]
    expect_failure(polderctl("app-password", "revoke", user, str(ident)), 1, "already revoked")
    expect_failure(polderctl("app-password", "revoke", user, "999999"), 1, "has no app password 999999")
    expect_failure(polderctl("app-password", "revoke", user, "abc"), 2)
    # the label is free again once the old one is revoked
    add(polderctl, user, "Old tablet")


def test_app_password_refusals(user, polderctl, expect_failure):
    expect_failure(polderctl("app-password", "add", user, "--label", "Phone"), 1,
                   "already has an active app password labelled 'Phone'")
    expect_failure(polderctl("app-password", "add", user, "--label", ""), 2, "bad label")
    expect_failure(polderctl("app-password", "add", "nobody@ap.example", "--label", "x"), 1, "unknown user")
    r = polderctl("app-password", "add", user)
    assert r.returncode == 2 and "--label" in r.stderr


def test_an_app_password_of_another_account_does_not_open_this_one(user, polderctl):
    polderctl.ok("user", "add", "dave@ap.example", "--password-stdin", input=PASSWORD + "\n")
    _, dave_pw = add(polderctl, "dave@ap.example", "Dave's phone")
    assert login(polderctl, "dave@ap.example", dave_pw).returncode == 0
    assert login(polderctl, user, dave_pw).returncode == 1


def test_account_passwords_may_not_look_like_app_passwords(user, polderctl, expect_failure):
    expect_failure(polderctl("user", "passwd", user, "--password-stdin",
                             input="ap-abcdefgh-abcdef-abcdef-abcdef-abcdef\n"), 2, "shape of an app password")
