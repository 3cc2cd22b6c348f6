# test_webdav.py - polder-webdavd over raw HTTP (http.client, curl): auth,
# account isolation, path traversal, conditional and ranged requests,
# streaming PUT/GET, interrupted uploads, quota, malformed XML, PROPFIND
# depth, folder ETags, NFC names and sync-collection.
#
# SECURITY: every refusal the server promises is asserted here with its code.
# STANDARDS: RFC 4918, RFC 6578, RFC 4331, RFC 9110 (conditional requests,
# Range), RFC 7617.
import base64
import hashlib
import http.client
import os
import re
import socket
import subprocess
import unicodedata
import urllib.parse

def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


PROPFIND_ALL = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'


def q(name):
    return urllib.parse.quote(name)


def test_options_advertises_dav_classes_without_credentials(dav, dav_org):
    status, headers, _ = dav("OPTIONS", dav_org.home(), user="")
    assert status == 200
    assert headers["dav"].replace(" ", "") == "1,2,3"
    assert "PROPFIND" in headers["allow"] and "LOCK" in headers["allow"]


def test_requests_without_or_with_wrong_credentials_get_401(dav, dav_org):
    status, headers, _ = dav("PROPFIND", dav_org.home(), user="", headers={"Depth": "0"})
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic realm=")
    status, _, _ = dav("PROPFIND", dav_org.home(), password="wrong password", headers={"Depth": "0"})
    assert status == 401


def test_another_accounts_files_are_not_found(dav, dav_org):
    assert dav("PUT", dav_org.home(dav_org.bob) + "secret.txt", body="bob", user=dav_org.bob)[0] == 201
    for method in ("GET", "PROPFIND", "PUT", "DELETE", "MKCOL", "LOCK"):
        status, _, _ = dav(method, dav_org.home(dav_org.bob) + "secret.txt", headers={"Depth": "0"})
        assert status == 404, method
    status, _, body = dav("GET", dav_org.home(dav_org.bob) + "secret.txt", user=dav_org.bob)
    assert (status, body) == (200, b"bob")


def test_path_traversal_in_any_encoding_is_refused(dav, dav_org):
    home = dav_org.home()
    assert dav("PUT", home + "t.txt", body="mine")[0] == 201
    for path in (home + "../" + dav_org.bob + "/secret.txt", home + "%2e%2e/" + q(dav_org.bob) + "/secret.txt",
                 home + "a%2F..%2F..%2Fx", home + "%2E%2E", home + "x/./y", home + "a%00b"):
        status, _, _ = dav("GET", path)
        assert status in (400, 404), path
        assert status != 200
    for dest, expected in ((f"/dav/files/{dav_org.bob}/stolen.txt", 403),
                           (home + "../" + dav_org.bob + "/stolen.txt", 400),
                           (home + "%2e%2e/%2e%2e/stolen.txt", 400),
                           ("http://elsewhere.example/dav/files/" + dav_org.alice + "/x.txt", 502),
                           ("/etc/passwd", 502),
                           ("ftp://127.0.0.1/x", 400)):
        status, _, _ = dav("COPY", home + "t.txt", headers={"Destination": dest})
        assert status == expected, dest
    assert dav("GET", dav_org.home(dav_org.bob) + "stolen.txt", user=dav_org.bob)[0] == 404


def test_names_windows_cannot_store_are_refused_with_a_reason(dav, dav_org):
    status, _, body = dav("PUT", dav_org.home() + "a%3Ab.txt", body="x")
    assert status == 400
    assert b"not allowed" in body


def test_put_get_head_with_etags_and_conditions(dav, dav_org):
    path = dav_org.home() + "cond.txt"
    status, headers, _ = dav("PUT", path, body="version one", headers={"If-None-Match": "*"})
    assert status == 201
    etag = headers["etag"]
    assert dav("PUT", path, body="again", headers={"If-None-Match": "*"})[0] == 412
    assert dav("PUT", path, body="again", headers={"If-Match": '"not-the-etag"'})[0] == 412
    status, headers, body = dav("GET", path)
    assert (status, body, headers["etag"]) == (200, b"version one", etag)
    assert headers["content-type"].startswith("text/plain")
    assert dav("GET", path, headers={"If-None-Match": etag})[0] == 304
    status, headers, body = dav("HEAD", path)
    assert status == 200 and body == b"" and headers["content-length"] == "11"
    status, headers, _ = dav("PUT", path, body="version two", headers={"If-Match": etag})
    assert status == 204 and headers["etag"] != etag


def test_range_and_if_range(dav, dav_org):
    path = dav_org.home() + "range.bin"
    data = bytes(range(256)) * 4
    etag = dav("PUT", path, body=data)[1]["etag"]
    status, headers, body = dav("GET", path, headers={"Range": "bytes=10-19"})
    assert (status, body, headers["content-range"]) == (206, data[10:20], "bytes 10-19/1024")
    status, _, body = dav("GET", path, headers={"Range": "bytes=-4"})
    assert (status, body) == (206, data[-4:])
    status, headers, _ = dav("GET", path, headers={"Range": "bytes=5000-"})
    assert status == 416 and headers["content-range"] == "bytes */1024"
    assert dav("GET", path, headers={"Range": "bytes=0-0", "If-Range": etag})[0] == 206
    status, _, body = dav("GET", path, headers={"Range": "bytes=0-0", "If-Range": '"stale"'})
    assert (status, body) == (200, data)


def test_chunked_put_and_large_streamed_round_trip(webdav, dav_org):
    data = os.urandom(1024 * 1024) * 20     # 20 MiB
    path = dav_org.home() + "big.bin"
    conn = http.client.HTTPConnection("127.0.0.1", webdav.port("http"), timeout=120)
    conn.putrequest("PUT", path)
    conn.putheader("Authorization", basic(dav_org.alice, dav_org.password))
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for i in range(0, len(data), 1 << 20):
        chunk = data[i:i + (1 << 20)]
        conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    conn.send(b"0\r\n\r\n")
    r = conn.getresponse()
    r.read()
    assert r.status == 201
    conn.request("GET", path, headers={"Authorization": basic(dav_org.alice, dav_org.password)})
    r = conn.getresponse()
    got = hashlib.sha256()
    while True:
        piece = r.read(1 << 16)
        if not piece:
            break
        got.update(piece)
    assert r.status == 200
    assert got.hexdigest() == hashlib.sha256(data).hexdigest()
    conn.close()


def test_interrupted_upload_leaves_the_old_version(webdav, dav, dav_org):
    path = dav_org.home() + "keep.txt"
    assert dav("PUT", path, body="old content")[0] == 201
    s = socket.create_connection(("127.0.0.1", webdav.port("http")), timeout=10)
    s.sendall((f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {basic(dav_org.alice, dav_org.password)}"
               "\r\nContent-Length: 100000\r\n\r\n").encode() + b"x" * 1000)
    s.close()
    status, _, body = dav("GET", path)
    assert (status, body) == (200, b"old content")


def test_quota_refuses_uploads_with_507_before_storing(webdav, dav, dav_org, polderctl):
    polderctl.ok("quota", "set", dav_org.bob, "4K")
    home = dav_org.home(dav_org.bob)
    status, _, body = dav("PUT", home + "too-big.bin", body=b"x" * 8192, user=dav_org.bob)
    assert status == 507
    assert b"quota-not-exceeded" in body
    assert dav("GET", home + "too-big.bin", user=dav_org.bob)[0] == 404
    assert dav("PUT", home + "fits.bin", body=b"y" * 1000, user=dav_org.bob)[0] == 201
    status, _, body = dav("PROPFIND", home, user=dav_org.bob, headers={"Depth": "0"},
                          body='<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/>'
                               '<D:quota-available-bytes/></D:prop></D:propfind>')
    assert status == 207
    used = int(re.search(rb"<D:quota-used-bytes>(\d+)<", body).group(1))
    avail = int(re.search(rb"<D:quota-available-bytes>(\d+)<", body).group(1))
    assert used >= 1000 and used + avail == 4096
    # Without a Content-Length the quota stops the stream itself.
    conn = http.client.HTTPConnection("127.0.0.1", webdav.port("http"), timeout=30)
    conn.putrequest("PUT", home + "chunked-too-big.bin")
    conn.putheader("Authorization", basic(dav_org.bob, dav_org.password))
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    try:
        for _ in range(8):
            conn.send(b"400\r\n" + b"z" * 1024 + b"\r\n")
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = conn.getresponse()
    assert r.status == 507
    conn.close()
    assert dav("GET", home + "chunked-too-big.bin", user=dav_org.bob)[0] == 404
    polderctl.ok("quota", "set", dav_org.bob, "unlimited")


def test_malformed_or_dangerous_xml_is_400_with_a_reason(dav, dav_org):
    home = dav_org.home()
    status, _, body = dav("PROPFIND", home, headers={"Depth": "0"}, body="<D:propfind xmlns:D='DAV:'><D:prop>")
    assert status == 400 and body.startswith(b"malformed XML")
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<D:propfind xmlns:D="DAV:"><D:prop>&x;</D:prop></D:propfind>')
    status, _, body = dav("PROPFIND", home, headers={"Depth": "0"}, body=xxe)
    assert (status, body.strip()) == (400, b"DTD not allowed")
    status, _, body = dav("PROPPATCH", home, body="<x/>")
    assert status == 400 and b"propertyupdate" in body
    deep = "<a>" * 200 + "</a>" * 200
    assert dav("PROPFIND", home, headers={"Depth": "0"}, body=deep)[0] == 400


def test_propfind_depth_infinity_is_refused_with_the_precondition(dav, dav_org):
    status, _, body = dav("PROPFIND", dav_org.home(), headers={"Depth": "infinity"}, body=PROPFIND_ALL)
    assert status == 403 and b"propfind-finite-depth" in body


def test_folder_etag_changes_when_something_below_changes(dav, dav_org):
    home = dav_org.home()
    assert dav("MKCOL", home + "outer/")[0] == 201
    assert dav("MKCOL", home + "outer/inner/")[0] == 201

    def etag(path):
        _, _, body = dav("PROPFIND", path, headers={"Depth": "0"},
                         body='<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>')
        return re.search(rb"<D:getetag>([^<]+)<", body).group(1)
    before = etag(home + "outer/")
    assert dav("PUT", home + "outer/inner/deep.txt", body="x")[0] == 201
    after = etag(home + "outer/")
    assert before != after
    assert etag(home + "outer/") == after


def test_unicode_names_are_normalised_to_nfc(dav, dav_org):
    nfd = unicodedata.normalize("NFD", "café-één.txt")
    nfc = unicodedata.normalize("NFC", nfd)
    assert nfd != nfc
    assert dav("PUT", dav_org.home() + q(nfd), body="unicode")[0] == 201
    status, _, body = dav("GET", dav_org.home() + q(nfc))
    assert (status, body) == (200, b"unicode")


def test_sync_collection_reports_changes_and_deletions(dav, dav_org):
    home = dav_org.home()
    assert dav("MKCOL", home + "sync/")[0] == 201
    assert dav("PUT", home + "sync/a.txt", body="a")[0] == 201

    def report(token, level="infinite"):
        return dav("REPORT", home + "sync/", headers={"Depth": "0"},
                   body=f'<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
                        f'<D:sync-level>{level}</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>')
    status, _, body = report("")
    assert status == 207 and b"sync/a.txt" in body
    token = re.search(rb"<D:sync-token>([^<]+)</D:sync-token>", body).group(1).decode()
    assert dav("PUT", home + "sync/b.txt", body="b")[0] == 201
    assert dav("DELETE", home + "sync/a.txt")[0] == 204
    status, _, body = report(token)
    assert status == 207
    assert b"sync/b.txt" in body
    assert re.search(rb"sync/a.txt</D:href><D:status>HTTP/1.1 404", body)
    status, _, body = report("urn:x-polder:sync:999999-1")
    assert status == 403 and b"valid-sync-token" in body


def test_tls_listener_and_plaintext_refusal(start_service, dav_org, tls_files):
    svc = start_service("webdav")
    home = dav_org.home()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u",
                        f"{dav_org.alice}:{dav_org.password}", "-X", "PROPFIND", "-H", "Depth: 0",
                        svc.url("http", home)], capture_output=True, text=True, timeout=30)
    assert r.stdout == "403"
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", str(tls_files.ca_cert),
                        "-u", f"{dav_org.alice}:{dav_org.password}", "-X", "PROPFIND", "-H", "Depth: 0",
                        svc.url("https", home)], capture_output=True, text=True, timeout=30)
    assert r.stdout == "207"
