# test_login.py - polder-imapd greeting, CAPABILITY, LOGINDISABLED before TLS, STARTTLS
# with certificate verification, LOGIN, AUTHENTICATE PLAIN with and without SASL-IR,
# failed logins, the per-account session limit and malformed commands.

import base64
import imaplib

import pytest

from imap_helpers import PASSWORD, tls_context


@pytest.fixture(scope="module")
def anna(domain, new_user):
    return new_user(domain)


def test_greeting_over_implicit_tls_lists_capabilities_with_auth_plain(raw):
    r = raw()
    assert r.greeting.startswith("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ")
    assert "AUTH=PLAIN" in r.greeting and "SASL-IR" in r.greeting
    assert "LOGINDISABLED" not in r.greeting and "STARTTLS" not in r.greeting


def test_plaintext_port_refuses_login_before_starttls(raw, anna):
    r = raw(tls=False)
    assert "STARTTLS" in r.greeting and "LOGINDISABLED" in r.greeting and "AUTH=PLAIN" not in r.greeting
    lines = r.cmd(f'LOGIN "{anna}" "{PASSWORD}"')
    assert lines[-1].startswith("r1 NO [PRIVACYREQUIRED]"), lines
    lines = r.cmd("AUTHENTICATE PLAIN " + base64.b64encode(f"\0{anna}\0{PASSWORD}".encode()).decode())
    assert lines[-1].startswith("r2 NO [PRIVACYREQUIRED]"), lines
    lines = r.cmd("SELECT INBOX")
    assert lines[-1].startswith("r3 BAD"), lines


def test_starttls_verifies_against_the_ca_and_then_allows_login(imapd, tls_files, anna):
    c = imaplib.IMAP4("127.0.0.1", imapd.port("imap"), timeout=30)
    assert "LOGINDISABLED" in c.capabilities
    c.starttls(ssl_context=tls_context(tls_files))
    assert "LOGINDISABLED" not in c.capabilities and "STARTTLS" not in c.capabilities
    assert "AUTH=PLAIN" in c.capabilities
    typ, _ = c.login(anna, PASSWORD)
    assert typ == "OK"
    caps = c.capability()[1][0].decode().split()   # imaplib does not re-read them after LOGIN
    assert "IDLE" in caps and "MOVE" in caps
    c.logout()


def test_starttls_with_pipelined_plaintext_is_refused(raw):
    r = raw(tls=False)
    r.send_raw("a STARTTLS\r\nb NOOP\r\n")
    line = r.readline()
    assert line.startswith("a BAD"), line


def test_login_and_capability_after_login(connect, anna):
    c = connect()
    typ, data = c.login(anna, PASSWORD)
    assert typ == "OK"
    caps = c.capability()[1][0].decode().split()
    for cap in ("IMAP4rev1", "IMAP4rev2", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN",
                "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE", "ESEARCH", "SEARCHRES",
                "BINARY", "STATUS=SIZE", "CONDSTORE", "QUOTA", "ACL", "LITERAL+", "ENABLE", "ID"):
        assert cap in caps, cap
    assert any(c.startswith("APPENDLIMIT=") for c in caps)
    for cap in ("SORT", "SORT=DISPLAY", "THREAD=REFERENCES", "THREAD=ORDEREDSUBJECT", "QRESYNC", "SEARCH=FUZZY"):
        assert cap in caps, cap
    assert "COMPRESS=DEFLATE" in caps
    assert "STARTTLS" not in caps and "MULTIAPPEND" not in caps


def test_wrong_password_is_refused_with_authenticationfailed(raw, anna):
    r = raw()
    lines = r.cmd(f'LOGIN "{anna}" "not the password"')
    assert lines[-1].startswith("r1 NO [AUTHENTICATIONFAILED]"), lines
    lines = r.cmd('LOGIN "nobody@nowhere.example" "whatever password"')
    assert lines[-1].startswith("r2 NO [AUTHENTICATIONFAILED]"), lines


def test_authenticate_plain_without_initial_response(connect, anna):
    c = connect()
    typ, _ = c.authenticate("PLAIN", lambda _: f"\0{anna}\0{PASSWORD}".encode())
    assert typ == "OK"
    assert c.select("INBOX")[0] == "OK"


def test_authenticate_plain_with_sasl_ir_and_cancel(raw, anna):
    r = raw()
    tag = r.send("AUTHENTICATE PLAIN")
    assert r.readline() == "+ "
    r.send_raw("*\r\n")
    assert r.until(tag)[-1].startswith(tag + " BAD")
    token = base64.b64encode(f"\0{anna}\0{PASSWORD}".encode()).decode()
    lines = r.cmd("AUTHENTICATE PLAIN " + token)
    assert lines[-1].startswith("r2 OK [CAPABILITY "), lines
    lines = r.cmd("AUTHENTICATE PLAIN " + token)
    assert lines[-1].startswith("r3 BAD"), lines   # already authenticated


def test_authenticate_as_another_user_is_refused(raw, anna, new_user, domain):
    other = new_user(domain)
    r = raw()
    token = base64.b64encode(f"{other}\0{anna}\0{PASSWORD}".encode()).decode()
    lines = r.cmd("AUTHENTICATE PLAIN " + token)
    assert lines[-1].startswith("r1 NO [AUTHORIZATIONFAILED]"), lines


def test_malformed_commands_get_bad_and_the_session_goes_on(raw, anna):
    r = raw(user=anna)
    for bad in ("FROBNICATE", "SELECT", 'FETCH 1 (FLAGS', "LIST \"\" \"unterminated", "UID FROB 1",
                "SEARCH NOTAKEY", "STATUS INBOX (NOPE)", "NOOP extra args"):
        lines = r.cmd(bad)
        assert " BAD " in lines[-1], (bad, lines)
    r.send_raw("\r\n")   # an empty line, then the next command still works
    lines = r.cmd("SELECT INBOX")
    assert " OK [READ-WRITE]" in lines[-1], lines
    lines = r.cmd("FETCH 99 FLAGS")
    assert " BAD " in lines[-1], lines
    lines = r.cmd("NOOP")
    assert lines[-1].endswith("OK NOOP completed"), lines


def test_a_huge_line_is_refused_and_the_session_goes_on(raw, anna):
    r = raw(user=anna)
    r.send_raw("x1 NOOP " + "a" * 70000 + "\r\n")
    line = r.readline()
    assert "BAD" in line, line
    lines = r.cmd("NOOP")
    assert "OK" in lines[-1], lines


def test_id_noop_and_logout(raw, anna):
    r = raw()
    lines = r.cmd('ID ("name" "pytest")')
    assert lines[0].startswith('* ID ("name" "Polder"'), lines
    lines = r.cmd("NOOP")
    assert lines[-1].startswith("r2 OK"), lines
    lines = r.cmd("LOGOUT")
    assert lines[0].startswith("* BYE") and lines[-1].startswith("r3 OK"), lines


def test_sessions_per_account_are_limited(start_service, new_user, domain, tls_files):
    svc = start_service("imap", settings={"imap": {"max_sessions_per_account": 2}})
    user = new_user(domain)
    clients = []
    try:
        for _ in range(2):
            c = imaplib.IMAP4_SSL("127.0.0.1", svc.port("imaps"), ssl_context=tls_context(tls_files), timeout=30)
            c.login(user, PASSWORD)
            clients.append(c)
        c = imaplib.IMAP4_SSL("127.0.0.1", svc.port("imaps"), ssl_context=tls_context(tls_files), timeout=30)
        clients.append(c)
        with pytest.raises(imaplib.IMAP4.error, match="LIMIT"):
            c.login(user, PASSWORD)
        clients[0].logout()
        clients.pop(0)
        # the released slot can be used again once the first session ended
        import time
        deadline = time.monotonic() + 10
        while True:
            try:
                c.login(user, PASSWORD)
                break
            except imaplib.IMAP4.error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        for c in clients:
            try:
                c.logout()
            except Exception:
                pass


def test_plaintext_login_on_loopback_when_allowed(start_service, new_user, domain):
    svc = start_service("imap", settings={"auth": {"allow_plaintext_on_loopback": True}})
    user = new_user(domain)
    c = imaplib.IMAP4("127.0.0.1", svc.port("imap"), timeout=30)
    assert "LOGINDISABLED" not in c.capabilities and "AUTH=PLAIN" in c.capabilities
    assert c.login(user, PASSWORD)[0] == "OK"
    c.logout()
