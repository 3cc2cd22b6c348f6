# test_autoconfig.py - client autoconfiguration end to end. polder-caldavd, configured
# with clients.* naming this test's own polder-imapd, polder-smtpd and its own HTTPS
# listener, hands out Thunderbird's config-v1.1.xml, Outlook's autodiscover.xml and an
# Apple configuration profile. Real clients (imaplib, smtplib, python3-caldav) are then
# set up from nothing but each document, the address and the password: they log in over
# TLS, send a message that arrives, and find the calendar and address book. Also: bad
# input gets a 4xx with its reason, another installation's domain is 404, and nothing
# answers while clients.imap_host is empty.
#
# SECURITY: loopback only; TLS with the test CA (conftest.py); no credentials are sent to
# the autoconfiguration URLs.
# STANDARDS: Mozilla autoconfig clientConfig 1.1; [MS-OXDSCLI] POX; Apple configuration
# profiles; RFC 8314; RFC 6764.
import http.client
import imaplib
import plistlib
import smtplib
import socket
import ssl
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from ports import free_port

OUTLOOK_REQUEST = ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                   "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">"
                   "<Request><EMailAddress>{}</EMailAddress>"
                   "<AcceptableResponseSchema>{}</AcceptableResponseSchema></Request></Autodiscover>")
OUTLOOK_SCHEMA = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
R = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


@pytest.fixture(scope="module")
def servers(start_service, cal_org):
    imap = start_service("imap")
    smtp = start_service("smtp", settings={"smtp": {"inbound_auth": "off", "dns_resolver": "127.0.0.1:9"}})
    https = free_port()
    caldav = start_service("caldav", settings={
        "caldav.https": {"address": "127.0.0.1", "port": https},
        "clients": {"provider_name": "Gemeente <Test> & Co", "imap_host": "localhost",
                    "imap_port": imap.port("imaps"), "submission_port": smtp.port("submissions"),
                    "dav_port": https}})
    return imap, smtp, caldav


@pytest.fixture(scope="module")
def tls(tls_files):
    return ssl.create_default_context(cafile=str(tls_files.ca_cert))


def fetch(caldav, tls, method, path, body=None, headers=None, host="localhost"):
    """One request over TLS to caldav's HTTPS listener (the certificate names localhost);
    the Host header is the name the client asked for."""
    conn = http.client.HTTPSConnection("localhost", caldav.port("https"), timeout=30, context=tls)
    h = {"Host": host}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def verified(body, tls_files):
    """The signed profile's property list, once openssl has checked the signature against
    the test CA (the TLS certificate signs it; its extended key usage is serverAuth, as
    with ACME certificates, hence -purpose any)."""
    r = subprocess.run(["openssl", "smime", "-verify", "-inform", "DER", "-CAfile", str(tls_files.ca_cert),
                        "-purpose", "any"], input=body, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return plistlib.loads(r.stdout)


def check_mail(cal_org, tls, imap_host, imap_port, imap_tls, smtp_host, smtp_port, smtp_tls, user, subject):
    """Log in with IMAP and submission as the document says, send a message to self, see it arrive."""
    assert imap_tls and smtp_tls, "the documents must ask for implicit TLS"
    with smtplib.SMTP_SSL(imap_host if smtp_host is None else smtp_host, smtp_port, context=tls, timeout=30) as s:
        s.login(user, cal_org.password)
        s.sendmail(user, [user], (f"From: {user}\r\nTo: {user}\r\nSubject: {subject}\r\n\r\nhallo\r\n").encode())
    c = imaplib.IMAP4_SSL(imap_host, imap_port, ssl_context=tls, timeout=30)
    try:
        c.login(user, cal_org.password)
        c.select("INBOX", readonly=True)
        deadline = time.monotonic() + 30
        while True:
            typ, data = c.search(None, "SUBJECT", f'"{subject}"')
            if typ == "OK" and data[0].split():
                break
            assert time.monotonic() < deadline, f"{subject} never arrived"
            time.sleep(0.2)
            c.noop()
    finally:
        c.logout()


def check_dav(cal_org, tls_files, url, user):
    """python3-caldav from the document's URL: the principal, its calendar and address book home."""
    import caldav as lib
    client = lib.DAVClient(url, username=user, password=cal_org.password, ssl_verify_cert=str(tls_files.ca_cert))
    principal = client.principal()
    assert principal.calendars(), "no calendar found from " + url
    return principal


def test_thunderbird_config_sets_up_mail_calendar_and_contacts(servers, cal_org, tls, tls_files):
    imap, smtp, caldav = servers
    q = urllib.parse.urlencode({"emailaddress": cal_org.alice.upper()})
    for path in (f"/mail/config-v1.1.xml?{q}", f"/.well-known/autoconfig/mail/config-v1.1.xml?{q}"):
        status, headers, body = fetch(caldav, tls, "GET", path, host=f"autoconfig.{cal_org.domain}")
        assert status == 200, body
        assert headers["content-type"].startswith("application/xml")
    root = ET.fromstring(body)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider.get("id") == cal_org.domain and provider.findtext("domain") == cal_org.domain
    assert provider.findtext("displayName") == "Gemeente <Test> & Co"   # escaped on the wire, intact here
    inc = provider.find("incomingServer[@type='imap']")
    out = provider.find("outgoingServer[@type='smtp']")
    user = inc.findtext("username").replace("%EMAILADDRESS%", cal_org.alice)
    assert user == cal_org.alice and out.findtext("username") == "%EMAILADDRESS%"
    check_mail(cal_org, tls, inc.findtext("hostname"), int(inc.findtext("port")), inc.findtext("socketType") == "SSL",
               out.findtext("hostname"), int(out.findtext("port")), out.findtext("socketType") == "SSL",
               user, "via Thunderbird autoconfig")
    assert root.find("calendar").findtext("username") == "%EMAILADDRESS%"
    check_dav(cal_org, tls_files, root.find("calendar").findtext("serverURL"), user)
    book = root.find("addressBook").findtext("serverURL")
    assert book.endswith("/.well-known/carddav")
    # Without emailaddress, the Host names the domain (what Thunderbird asks autoconfig.<domain>).
    status, _, body = fetch(caldav, tls, "GET", "/mail/config-v1.1.xml", host=f"autoconfig.{cal_org.domain}:443")
    assert status == 200 and ET.fromstring(body).find("emailProvider").get("id") == cal_org.domain


def test_outlook_autodiscover_sets_up_imap_and_smtp(servers, cal_org, tls):
    imap, smtp, caldav = servers
    for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
        status, headers, body = fetch(caldav, tls, "POST", path,
                                      body=OUTLOOK_REQUEST.format(cal_org.bob, OUTLOOK_SCHEMA).encode(),
                                      headers={"Content-Type": "text/xml"}, host=f"autodiscover.{cal_org.domain}")
        assert status == 200, body
    account = ET.fromstring(body).find(f"{R}Response/{R}Account")
    assert account.findtext(f"{R}AccountType") == "email" and account.findtext(f"{R}Action") == "settings"
    proto = {p.findtext(f"{R}Type"): p for p in account.findall(f"{R}Protocol")}
    i, s = proto["IMAP"], proto["SMTP"]
    assert i.findtext(f"{R}LoginName") == cal_org.bob and i.findtext(f"{R}SPA") == "off"
    check_mail(cal_org, tls, i.findtext(f"{R}Server"), int(i.findtext(f"{R}Port")), i.findtext(f"{R}Encryption") == "SSL",
               s.findtext(f"{R}Server"), int(s.findtext(f"{R}Port")), s.findtext(f"{R}Encryption") == "SSL",
               i.findtext(f"{R}LoginName"), "via Outlook autodiscover")


def test_apple_profile_sets_up_mail_calendar_and_contacts(servers, cal_org, tls, tls_files):
    imap, smtp, caldav = servers
    q = urllib.parse.urlencode({"emailaddress": cal_org.alice})
    status, headers, body = fetch(caldav, tls, "GET", f"/apple.mobileconfig?{q}")
    assert status == 200, body
    assert headers["content-type"] == "application/x-apple-aspen-config"
    assert headers["content-disposition"] == f'attachment; filename="{cal_org.domain}.mobileconfig"'
    profile = verified(body, tls_files)
    # A changed byte breaks the signature.
    at = body.index(cal_org.alice.encode())
    tampered = body[:at] + b"m" + body[at + 1:]
    assert subprocess.run(["openssl", "smime", "-verify", "-inform", "DER", "-CAfile", str(tls_files.ca_cert),
                           "-purpose", "any"], input=tampered, capture_output=True, timeout=30).returncode != 0
    assert profile["PayloadType"] == "Configuration" and profile["PayloadVersion"] == 1
    payloads = {p["PayloadType"]: p for p in profile["PayloadContent"]}
    assert set(payloads) == {"com.apple.mail.managed", "com.apple.caldav.account", "com.apple.carddav.account"}
    uuids = [profile["PayloadUUID"]] + [p["PayloadUUID"] for p in profile["PayloadContent"]]
    assert len(set(uuids)) == 4 and all(u[14] == "8" for u in uuids)   # RFC 9562 version 8
    # No secret in it: the device asks for the password.
    assert not [k for p in profile["PayloadContent"] for k, v in p.items() if "Password" in k and v is not True]
    mail = payloads["com.apple.mail.managed"]
    assert mail["EmailAddress"] == cal_org.alice and mail["EmailAccountType"] == "EmailTypeIMAP"
    check_mail(cal_org, tls, mail["IncomingMailServerHostName"], mail["IncomingMailServerPortNumber"],
               mail["IncomingMailServerUseSSL"], mail["OutgoingMailServerHostName"],
               mail["OutgoingMailServerPortNumber"], mail["OutgoingMailServerUseSSL"],
               mail["IncomingMailServerUsername"], "via Apple profile")
    cal = payloads["com.apple.caldav.account"]
    assert cal["CalDAVUseSSL"] and cal["CalDAVUsername"] == cal_org.alice
    check_dav(cal_org, tls_files, cal["CalDAVPrincipalURL"], cal["CalDAVUsername"])
    assert cal["CalDAVPrincipalURL"].startswith(f"https://{cal['CalDAVHostName']}:{cal['CalDAVPort']}/")
    card = payloads["com.apple.carddav.account"]
    assert card["CardDAVPrincipalURL"] == cal["CalDAVPrincipalURL"]
    # The same address gives the same identifiers (a newer profile replaces the older one).
    assert verified(fetch(caldav, tls, "GET", f"/apple.mobileconfig?{q}")[2], tls_files)["PayloadUUID"] == \
        profile["PayloadUUID"]
    other = verified(fetch(caldav, tls, "GET", "/apple.mobileconfig?" +
                           urllib.parse.urlencode({"emailaddress": cal_org.bob}))[2], tls_files)
    assert other["PayloadUUID"] != profile["PayloadUUID"]
    assert other["PayloadIdentifier"] != profile["PayloadIdentifier"]


def test_bad_input_unknown_domains_and_methods(servers, cal_org, tls):
    imap, smtp, caldav = servers

    def get(path, host="localhost"):
        status, _, body = fetch(caldav, tls, "GET", path, host=host)
        return status, body.decode(errors="replace")

    # A domain this installation does not host: 404, by address or by Host.
    assert get("/mail/config-v1.1.xml?emailaddress=someone%40gmail.example")[0] == 404
    assert get("/mail/config-v1.1.xml", host="autoconfig.gmail.example")[0] == 404
    # Whether the account exists is not revealed: a hosted domain answers for any name.
    assert get(f"/mail/config-v1.1.xml?emailaddress=nobody%40{cal_org.domain}")[0] == 200
    # Not an address, or one that would break out of the document.
    for bad in ("alice", "alice%40", f"a%3Cb%3E%40{cal_org.domain}", f"a%22b%40{cal_org.domain}",
                f"a%20b%40{cal_org.domain}", f"alice%40{cal_org.domain}%00", "%ZZ",
                f"{'x' * 65}%40{cal_org.domain}", f"alice%40{cal_org.domain}%2F..%2Fetc"):
        status, body = get(f"/mail/config-v1.1.xml?emailaddress={bad}")
        assert status == 400, (bad, status, body)
    status, body = get("/apple.mobileconfig")
    assert status == 400 and "emailaddress" in body
    assert get("/mail/config-v1.1.xml", host="127.0.0.1")[0] == 400
    # Methods.
    status, headers, _ = fetch(caldav, tls, "GET", "/autodiscover/autodiscover.xml")
    assert status == 405 and headers["allow"] == "POST"
    status, headers, _ = fetch(caldav, tls, "PUT", "/mail/config-v1.1.xml", body=b"x")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    # Outlook: malformed XML, a DTD (no entity expansion), another schema, a missing
    # address, a body over 64 KiB.
    for body, reason in ((b"<Autodiscover", "XML"),
                         (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', ""),
                         (OUTLOOK_REQUEST.format(cal_org.alice, "http://schemas.microsoft.com/exchange/autodiscover/"
                                                 "mobilesync/responseschema/2006").encode(), "2006a"),
                         (OUTLOOK_REQUEST.format("", OUTLOOK_SCHEMA).encode(), "not an address"),
                         (b"<x xmlns='urn:other'/>", "not an Outlook")):
        status, _, data = fetch(caldav, tls, "POST", "/autodiscover/autodiscover.xml", body=body)
        assert status == 400 and reason in data.decode(), (body, status, data)
    # Over 64 KiB: refused from the Content-Length, before the body (which is not sent
    # here: the answer and the close may come while a client still writes).
    with socket.create_connection(("127.0.0.1", caldav.port("https")), timeout=30) as raw, \
            tls.wrap_socket(raw, server_hostname="localhost") as c:
        c.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Type: text/xml\r\nContent-Length: 66560\r\n\r\n")
        assert c.recv(4096).startswith(b"HTTP/1.1 413 ")
    status, _, _ = fetch(caldav, tls, "POST", "/autodiscover/autodiscover.xml",
                         body=OUTLOOK_REQUEST.format(cal_org.carol.replace(cal_org.other_domain, "elders.example"),
                                                     OUTLOOK_SCHEMA).encode())
    assert status == 404
    # The service still serves everyone else.
    assert get(f"/mail/config-v1.1.xml?emailaddress={cal_org.bob}")[0] == 200
    assert caldav.running()


def test_off_without_imap_host(start_service, cal_org, tls):
    caldav = start_service("caldav")
    status, _, body = fetch(caldav, tls, "GET", f"/mail/config-v1.1.xml?emailaddress={cal_org.alice}")
    assert status == 404 and b"clients.imap_host" in body
