# test_auth.py - login throttling, as every service replica sees it: failures
# counted per account and per client address in PostgreSQL, a throttled login
# refused before any password check, a success resetting only its own account's
# counter; and the audit trail of logins. Each polderctl run is a separate
# process with its own connection, like separate service replicas.

import time

import pytest

PASSWORD = "throttle password 1"
LIMITS = """
[auth]
max_failures_per_account = 3
max_failures_per_ip = 5
failure_window_seconds = 600
lockout_seconds = 600
"""


@pytest.fixture(scope="module")
def strict(migrated, polderctl, make_config):
    polderctl.ok("org", "add", "auth-org")
    polderctl.ok("domain", "add", "auth.example", "--org", "auth-org")
    return make_config(LIMITS, name="strict.toml")


def attempt(polderctl, config, address, secret, ip):
    return polderctl("auth", "test", address, "--remote-ip", ip, "--service", "imap", input=secret + "\n",
                     config=config)


def add_user(polderctl, address):
    polderctl.ok("user", "add", address, "--password-stdin", input=PASSWORD + "\n")


def test_an_account_is_throttled_after_its_failures_even_with_the_right_password(strict, polderctl, sql,
                                                                                 expect_failure):
    add_user(polderctl, "locked@auth.example")
    for i in range(3):   # each from another address: only the account counter grows
        r = attempt(polderctl, strict, "locked@auth.example", "wrong password!", f"192.0.2.{10 + i}")
        expect_failure(r, 1, "login failed")
    r = attempt(polderctl, strict, "locked@auth.example", PASSWORD, "192.0.2.20")
    expect_failure(r, 1, "too many failed attempts")
    events = [e[0] for e in sql("SELECT event FROM audit.events WHERE actor = 'locked@auth.example' ORDER BY id")]
    assert events == ["auth.login.failure"] * 3 + ["auth.login.throttled"]
    scope = sql("SELECT details->>'scope' FROM audit.events WHERE event = 'auth.login.throttled'"
                " AND actor = 'locked@auth.example'")
    assert scope == [("account",)]


def test_a_client_address_is_throttled_across_accounts(strict, polderctl, expect_failure):
    add_user(polderctl, "victim@auth.example")
    ip = "198.51.100.7"
    for i in range(5):
        attempt(polderctl, strict, f"guess{i}@auth.example", "wrong password!", ip)
    expect_failure(attempt(polderctl, strict, "victim@auth.example", PASSWORD, ip), 1, "too many failed attempts")
    # the same account from another address is fine
    assert attempt(polderctl, strict, "victim@auth.example", PASSWORD, "198.51.100.8").returncode == 0


def test_a_success_does_not_reset_the_address_counter_of_other_accounts(strict, polderctl, expect_failure):
    add_user(polderctl, "nat-user@auth.example")
    ip = "203.0.113.9"
    for i in range(4):
        attempt(polderctl, strict, f"other{i}@auth.example", "wrong password!", ip)
    assert attempt(polderctl, strict, "nat-user@auth.example", PASSWORD, ip).returncode == 0
    attempt(polderctl, strict, "other9@auth.example", "wrong password!", ip)   # the fifth failure
    expect_failure(attempt(polderctl, strict, "nat-user@auth.example", PASSWORD, ip), 1, "too many failed attempts")


def test_a_success_resets_the_account_counter(strict, polderctl):
    add_user(polderctl, "typo@auth.example")
    for round_ in range(3):
        for i in range(2):
            r = attempt(polderctl, strict, "typo@auth.example", "wrong password!", f"192.0.2.{100 + round_ * 2 + i}")
            assert r.returncode == 1 and "login failed" in r.stderr
        assert attempt(polderctl, strict, "typo@auth.example", PASSWORD, "192.0.2.99").returncode == 0


def test_ipv6_clients_are_counted_by_their_slash_64(strict, polderctl, expect_failure):
    add_user(polderctl, "v6@auth.example")
    for i in range(5):
        attempt(polderctl, strict, f"v6guess{i}@auth.example", "wrong password!", f"2001:db8:1:2::{i + 1}")
    expect_failure(attempt(polderctl, strict, "v6@auth.example", PASSWORD, "2001:db8:1:2:ffff::1"), 1,
                   "too many failed attempts")
    assert attempt(polderctl, strict, "v6@auth.example", PASSWORD, "2001:db8:1:3::1").returncode == 0


def test_unknown_accounts_are_throttled_like_real_ones(strict, polderctl, expect_failure):
    for i in range(3):
        attempt(polderctl, strict, "ghost@auth.example", "wrong password!", f"192.0.2.{150 + i}")
    expect_failure(attempt(polderctl, strict, "ghost@auth.example", "anything at all", "192.0.2.160"), 1,
                   "too many failed attempts")


def test_the_lock_ends_after_lockout_seconds(migrated, polderctl, make_config, sql):
    short = make_config("[auth]\nmax_failures_per_account = 2\nfailure_window_seconds = 1\nlockout_seconds = 1\n",
                        name="short.toml")
    polderctl.ok("org", "add", "lock-org")
    polderctl.ok("domain", "add", "lock.example", "--org", "lock-org")
    add_user(polderctl, "brief@lock.example")
    for i in range(2):
        attempt(polderctl, short, "brief@lock.example", "wrong password!", f"192.0.2.{200 + i}")
    r = attempt(polderctl, short, "brief@lock.example", PASSWORD, "192.0.2.210")
    assert "too many failed attempts" in r.stderr
    time.sleep(1.5)
    assert attempt(polderctl, short, "brief@lock.example", PASSWORD, "192.0.2.211").returncode == 0


def test_logins_are_audited_with_service_address_and_reason(strict, polderctl, sql):
    add_user(polderctl, "audited@auth.example")
    attempt(polderctl, strict, "audited@auth.example", PASSWORD, "192.0.2.77")
    attempt(polderctl, strict, "audited@auth.example", "wrong password!", "192.0.2.77")
    attempt(polderctl, strict, "nobody@auth.example", "wrong password!", "192.0.2.77")
    rows = sql("SELECT event, host(remote_ip), details->>'service', details->>'reason', account_id IS NOT NULL"
               " FROM audit.events WHERE remote_ip = '192.0.2.77' ORDER BY id")
    assert rows == [
        ("auth.login.success", "192.0.2.77", "imap", None, True),
        ("auth.login.failure", "192.0.2.77", "imap", "bad_password", True),
        ("auth.login.failure", "192.0.2.77", "imap", "unknown_account", False),
    ]
    # no secret ever reaches the audit trail
    assert sql("SELECT count(*) FROM audit.events WHERE details::text LIKE %s OR details::text LIKE %s",
               (f"%{PASSWORD}%", "%wrong password!%"))[0][0] == 0
