# conftest.py - fixtures of the polder-webdavd integration tests.
#
#   dav_org   - an organisation "dav-<unique>" with domain <unique>.test and
#               two users (alice, bob) with known passwords: .alice, .bob,
#               .password, .domain
#   webdav    - polder-webdavd started on loopback with plaintext Basic auth
#               allowed on loopback (the plain listener is what litmus and
#               curl talk to; TLS is exercised by its own test)
#   dav       - dav(method, path, body=None, headers=None, user=None,
#               password=None, port=None) -> (status, headers dict, body bytes)
#               over http.client, authenticated as alice by default
#   blob_root(service), blob_file(service, hex) - where a service's blob store
#               keeps its files (helpers, not fixtures)
#   large(text) - text made larger than webdav.inline_max_bytes (32 KiB by
#               default), so a PUT of it goes to the blob store
#
# SECURITY: loopback only; throwaway database and blob folder (conftest.py).
# STANDARDS: RFC 4918, RFC 7617.
import base64
import http.client

import pytest

from blobs import blob_path, blob_root  # noqa: F401 (the tests import blob_root from here)

PASSWORD = "correct horse battery staple"


def blob_file(service, hex_id):
    return blob_path(blob_root(service), hex_id)


def large(text):
    """Content above webdav.inline_max_bytes (32 KiB by default): kept in the blob store."""
    return text + "\n" + "." * 40000


class Org:
    def __init__(self, name, domain):
        self.name = name
        self.domain = domain
        self.alice = f"alice@{domain}"
        self.bob = f"bob@{domain}"
        self.password = PASSWORD

    def home(self, who=None):
        return f"/dav/files/{who or self.alice}/"


@pytest.fixture(scope="module")
def dav_org(polderctl, migrated, unique):
    name = unique("dav")
    domain = f"{name}.test"
    polderctl.ok("org", "add", name)
    polderctl.ok("domain", "add", domain, "--org", name)
    org = Org(name, domain)
    for user in (org.alice, org.bob):
        polderctl.ok("user", "add", user, "--password-stdin", input=PASSWORD + "\n")
    return org


@pytest.fixture(scope="module")
def webdav(start_service, dav_org):
    return start_service("webdav", settings={"auth": {"allow_plaintext_on_loopback": True},
                                             "webdav": {"max_file_size": "64M"}})


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def dav(webdav, dav_org):
    def request(method, path, body=None, headers=None, user=None, password=None, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or webdav.port("http"), timeout=30)
        h = {"Authorization": basic(user or dav_org.alice, password or dav_org.password)}
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
        return result
    return request
