# test_isolation.py - another account's or another organisation's calendars and address
# books are refused on EVERY method: alice's requests for bob's (same organisation) and
# carol's (another organisation) principal, homes, collections and objects, and
# multiget/COPY/MOVE that point at them.
#
# SECURITY: the property under test: 404 (existence not revealed) or 403, never data.
# STANDARDS: RFC 4918, RFC 4791, RFC 6352, RFC 3744.
import base64

import pytest

from test_dav import event, vcard


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

METHODS = ["GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCALENDAR", "MKCOL", "COPY", "MOVE", "REPORT"]


@pytest.fixture(scope="module")
def victims(dav, cal_org):
    # bob and carol each store an event and a contact.
    for who in (cal_org.bob, cal_org.carol):
        assert dav("PUT", cal_org.cal(who=who, obj="secret.ics"), event("secret-" + who), user=who)[0] == 201
        assert dav("PUT", cal_org.book(who=who, obj="secret.vcf"), vcard("secret-" + who), user=who)[0] == 201
    return [cal_org.bob, cal_org.carol]


def bodies(method):
    if method == "PUT":
        return event("intruder")
    if method == "PROPFIND":
        return '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
    if method == "PROPPATCH":
        return ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname>'
                "</D:prop></D:set></D:propertyupdate>")
    if method == "REPORT":
        return ('<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level>'
                "<D:prop><D:getetag/></D:prop></D:sync-collection>")
    return None


@pytest.mark.parametrize("method", METHODS)
def test_every_method_on_another_accounts_data_is_refused(dav, cal_org, victims, method):
    for who in victims:
        for path in (f"/dav/principals/{who}/", f"/dav/calendars/{who}/", cal_org.cal(who=who),
                     cal_org.cal(who=who, obj="secret.ics"), cal_org.cal(who=who, name="new"),
                     f"/dav/addressbooks/{who}/", cal_org.book(who=who), cal_org.book(who=who, obj="secret.vcf"),
                     cal_org.book(who=who, name="directory")):
            headers = {"Depth": "0" if method == "REPORT" else "1",
                       "Destination": cal_org.cal(obj="stolen.ics"), "Content-Type": "text/calendar"}
            status, _, data = dav(method, path, bodies(method), headers=headers)
            assert status in (403, 404), (method, path, status, data[:300])
            assert b"secret" not in data
    # Nothing of theirs was changed or copied.
    for who in victims:
        status, _, data = dav("GET", cal_org.cal(who=who, obj="secret.ics"), user=who)
        assert status == 200 and b"intruder" not in data
    assert dav("GET", cal_org.cal(obj="stolen.ics"))[0] == 404


def test_copy_and_move_into_another_account_are_refused(dav, cal_org, victims):
    assert dav("PUT", cal_org.cal(obj="mine.ics"), event("mine"))[0] in (201, 204)
    for who in victims:
        for method in ("COPY", "MOVE"):
            status, _, _ = dav(method, cal_org.cal(obj="mine.ics"),
                               headers={"Destination": cal_org.cal(who=who, obj="planted.ics")})
            assert status in (403, 404)
            assert dav("GET", cal_org.cal(who=who, obj="planted.ics"), user=who)[0] == 404


def test_multiget_of_another_accounts_hrefs_returns_nothing_of_theirs(dav, cal_org, victims):
    hrefs = "".join(f"<D:href>{cal_org.cal(who=who, obj='secret.ics')}</D:href>" for who in victims)
    body = ('<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:prop><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>")
    status, _, data = dav("REPORT", cal_org.cal(), body, headers={"Depth": "1"})
    assert status == 207
    assert b"secret" not in data.replace(b"secret.ics", b"")
    assert data.count(b"404") == len(victims)


def test_credentials_over_plain_http_from_non_loopback_config_are_refused(start_service, cal_org):
    svc = start_service("caldav", settings={"auth": {"allow_plaintext_on_loopback": False}})
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", svc.port("http"), timeout=30)
    conn.request("PROPFIND", "/dav/", headers={"Authorization": basic(cal_org.alice, cal_org.password), "Depth": "0"})
    r = conn.getresponse()
    r.read()
    assert r.status == 403


def test_basic_auth_over_tls_works(start_service, cal_org, tls_files):
    import http.client
    import ssl
    svc = start_service("caldav")
    ctx = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    conn = http.client.HTTPSConnection("127.0.0.1", svc.port("https"), timeout=30, context=ctx)
    conn.request("PROPFIND", "/dav/", headers={"Authorization": basic(cal_org.alice, cal_org.password), "Depth": "0"})
    r = conn.getresponse()
    r.read()
    assert r.status == 207


def test_an_app_password_logs_in_and_a_wrong_one_does_not(dav, cal_org, polderctl):
    import json
    out = polderctl.ok("app-password", "add", cal_org.alice, "--json", "--label", "caldav test")
    password = json.loads(out.stdout)["password"]
    status, _, _ = dav("PROPFIND", "/dav/", '<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>',
                       headers={"Depth": "0"}, password=password)
    assert status == 207
    status, _, _ = dav("PROPFIND", "/dav/", headers={"Depth": "0"}, password=password[:-1] + ("x" if password[-1] != "x" else "y"))
    assert status == 401
