# test_sendfile.py - a file kept in the blob store goes out on a plain connection
# with sendfile(2), from the page cache to the socket, and through OpenSSL on a TLS
# one; both give the same bytes, whole and in ranges.
#
# What it shows: polder_http_sendfile_bytes_total grows by exactly the bytes of a
# plain GET (whole file, one range) and not at all for a TLS GET, a multipart range
# or a small file kept in PostgreSQL; every body equals what was PUT. A client that
# reads slowly through a small receive buffer (so the server's socket fills and the
# server waits for it) gets every byte, while other requests are answered meanwhile;
# one that hangs up halfway leaves the server serving.
#
# SECURITY: loopback only; the slow client shows one download does not hold the
# server's thread.
# STANDARDS: RFC 9110 9.3.1 (GET), 14 (Range, 206, multipart/byteranges), Linux sendfile(2).
import hashlib
import http.client
import os
import re
import socket
import ssl
import threading
import time
import urllib.request

import pytest

from conftest import basic

SIZE = 6 * 1024 * 1024 + 123    # more than the socket buffers hold: the server must wait
METRIC = 'polder_http_sendfile_bytes_total{service="webdav"}'


def sent_with_sendfile(svc):
    with urllib.request.urlopen(f"http://127.0.0.1:{svc.admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^" + re.escape(METRIC) + r" (\S+)$", text, re.M)
    assert m, f"{METRIC} missing"
    return int(float(m.group(1)))


@pytest.fixture(scope="module")
def content():
    return os.urandom(SIZE)


@pytest.fixture(scope="module")
def stored(webdav, dav, dav_org, content):
    path = dav_org.home() + "sendfile.bin"
    status, _, _ = dav("PUT", path, content)
    assert status == 201
    return path


def tls_get(webdav, dav_org, path, tls):
    """GET on the TLS listener (the dav fixture speaks plain HTTP): (status, body)."""
    ctx = ssl.create_default_context(cafile=str(tls.ca_cert))
    conn = http.client.HTTPSConnection("127.0.0.1", webdav.port("https"), timeout=30, context=ctx)
    conn.request("GET", path, headers={"Authorization": basic(dav_org.alice, dav_org.password)})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def test_a_plain_get_goes_by_sendfile_and_gives_the_same_bytes(webdav, dav, stored, content):
    before = sent_with_sendfile(webdav)
    status, headers, body = dav("GET", stored)
    assert status == 200 and headers["content-length"] == str(SIZE)
    assert hashlib.sha256(body).digest() == hashlib.sha256(content).digest()
    assert sent_with_sendfile(webdav) - before == SIZE


def test_a_single_range_goes_by_sendfile(webdav, dav, stored, content):
    before = sent_with_sendfile(webdav)
    status, headers, body = dav("GET", stored, headers={"Range": "bytes=1000-2000999"})
    assert status == 206 and headers["content-range"] == f"bytes 1000-2000999/{SIZE}"
    assert body == content[1000:2001000]
    # The last bytes: a suffix range.
    status, _, body = dav("GET", stored, headers={"Range": "bytes=-77"})
    assert status == 206 and body == content[-77:]
    assert sent_with_sendfile(webdav) - before == 2000000 + 77


def test_multipart_ranges_tls_and_small_files_go_through_the_buffer(webdav, dav, dav_org, stored, content,
                                                                     tls_files):
    before = sent_with_sendfile(webdav)
    status, headers, body = dav("GET", stored, headers={"Range": "bytes=0-9,5000000-5000009"})
    assert status == 206 and headers["content-type"].startswith("multipart/byteranges")
    assert content[0:10] in body and content[5000000:5000010] in body
    status, body = tls_get(webdav, dav_org, stored, tls_files)
    assert status == 200 and body == content
    small = dav_org.home() + "sendfile-small.txt"
    assert dav("PUT", small, b"kept in PostgreSQL\n")[0] == 201
    status, _, body = dav("GET", small)
    assert status == 200 and body == b"kept in PostgreSQL\n"
    assert sent_with_sendfile(webdav) == before


def raw_get(webdav, dav_org, path, rcvbuf):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect(("127.0.0.1", webdav.port("http")))
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: {basic(dav_org.alice, dav_org.password)}\r\n\r\n").encode())
    return s


def test_a_slow_reader_gets_every_byte_while_others_are_served(webdav, dav, dav_org, stored, content):
    s = raw_get(webdav, dav_org, stored, 16384)
    data = bytearray()
    answered = []

    def others():
        # While the download waits for the slow reader, other requests are answered.
        for _ in range(5):
            t = time.monotonic()
            status, _, _ = dav("PROPFIND", dav_org.home(), headers={"Depth": "0"})
            answered.append((status, time.monotonic() - t))
            time.sleep(0.05)

    worker = threading.Thread(target=others)
    worker.start()
    try:
        while True:
            chunk = s.recv(16384)
            if not chunk:
                break
            data += chunk
            head, sep, body = bytes(data).partition(b"\r\n\r\n")
            if sep and len(body) >= SIZE:
                break
            time.sleep(0.0005)
    finally:
        s.close()
        worker.join()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert hashlib.sha256(body).digest() == hashlib.sha256(content).digest()
    assert [a[0] for a in answered] == [207] * 5
    assert max(a[1] for a in answered) < 5, answered


def test_a_client_that_hangs_up_halfway_leaves_the_server_serving(webdav, dav, dav_org, stored, content):
    for _ in range(3):
        s = raw_get(webdav, dav_org, stored, 16384)
        got = 0
        while got < SIZE // 2:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()    # a reset, in the middle of the body
    status, _, body = dav("GET", stored, headers={"Range": "bytes=0-99"})
    assert status == 206 and body == content[:100]
