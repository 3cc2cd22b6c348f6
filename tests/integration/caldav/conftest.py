# conftest.py - fixtures of the polder-caldavd integration tests.
#
#   cal_org  - two organisations: "cal-<unique>" with users alice and bob (and a group
#              "Team" holding both), and "other-<unique>" with carol; all with the same
#              known password: .alice .bob .carol .password .domain .other_domain
#   caldav   - polder-caldavd started on loopback with plaintext Basic auth allowed on
#              loopback (the plain listener is what the clients talk to; TLS has its own test)
#   dav      - dav(method, path, body=None, headers=None, user=None, password=None)
#              -> (status, headers dict, body bytes) over http.client, as alice by default
#   url      - url(path) -> "http://127.0.0.1:<port><path>"
#
# SECURITY: loopback only; throwaway database (conftest.py).
# STANDARDS: RFC 4791, RFC 6352, RFC 7617.
import base64
import http.client
import urllib.parse

import pytest

PASSWORD = "correct horse battery staple"


class Org:
    def __init__(self, name, domain, other_domain):
        self.name = name
        self.domain = domain
        self.other_domain = other_domain
        self.alice = f"alice@{domain}"
        self.bob = f"bob@{domain}"
        self.carol = f"carol@{other_domain}"
        self.password = PASSWORD

    def cal(self, who=None, name="agenda", obj=None):
        path = f"/dav/calendars/{who or self.alice}/{name}/"
        return path + obj if obj else path

    def book(self, who=None, name="contacts", obj=None):
        path = f"/dav/addressbooks/{who or self.alice}/{name}/"
        return path + obj if obj else path


@pytest.fixture(scope="module")
def cal_org(polderctl, migrated, unique):
    name = unique("cal")
    other = unique("other")
    domain = f"{name}.test"
    other_domain = f"{other}.test"
    polderctl.ok("org", "add", name)
    polderctl.ok("domain", "add", domain, "--org", name)
    polderctl.ok("org", "add", other)
    polderctl.ok("domain", "add", other_domain, "--org", other)
    org = Org(name, domain, other_domain)
    for user in (org.alice, org.bob, org.carol):
        polderctl.ok("user", "add", user, "--password-stdin", input=PASSWORD + "\n")
    polderctl.ok("group", "add", "Team", "--org", name)
    for user in (org.alice, org.bob):
        polderctl.ok("group", "member", "add", "Team", user)
    return org


@pytest.fixture(scope="module")
def caldav(start_service, cal_org):
    return start_service("caldav", settings={"auth": {"allow_plaintext_on_loopback": True},
                                             "caldav": {"max_request_body": "256K"}})


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def url(caldav):
    def make(path="/"):
        return f"http://127.0.0.1:{caldav.port('http')}{path}"
    return make


@pytest.fixture(scope="module")
def dav(caldav, cal_org):
    def request(method, path, body=None, headers=None, user=None, password=None):
        conn = http.client.HTTPConnection("127.0.0.1", caldav.port("http"), timeout=60)
        h = {"Authorization": basic(user or cal_org.alice, password or cal_org.password)}
        if user == "":
            h = {}
        h.update(headers or {})
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        result = (r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        conn.close()
        if r.status >= 500:
            # Never expected: show the service's log in the failure report.
            print(f"{method} {path} -> {r.status}\n" + caldav.log()[-6000:])
        return result
    return request


def quote(path):
    return urllib.parse.quote(path)
