# test_small_files.py - small files keep their bytes in PostgreSQL
# (schema/0302_files_inline.sql, webdav.inline_max_bytes, 32 KiB by default):
# where each size goes, that clients see no difference (GET, HEAD, ETag,
# conditional requests, versions, COPY, MOVE, LOCK of an unmapped URL,
# export), that identical small files are stored once, that a chunked body
# moves to the blob store when it grows past the limit, that quota and size
# refusals store nothing, and that files stay readable when the limit is
# changed (or turned off) afterwards.
#
# SECURITY: a row's name is the SHA-256 of its bytes whatever program writes
# (a CHECK constraint); refused uploads leave no row.
# STANDARDS: RFC 9110 9.3.4 (PUT), 8.8.3 (ETag), RFC 9112 7.1 (chunked),
# RFC 4918 7.3 (locked empty resources), RFC 4331 (quota).
import hashlib
import http.client
import json

import psycopg2
import pytest

from conftest import basic, blob_file

LIMIT = 32 * 1024


@pytest.fixture(scope="module")
def plain(start_service, dav_org):
    """A second webdavd on the same database with inline storage off."""
    return start_service("webdav", settings={"auth": {"allow_plaintext_on_loopback": True},
                                             "webdav": {"inline_max_bytes": 0}})


def stored_where(service, sql, content):
    hex_id = hashlib.sha256(content).hexdigest()
    in_db = sql("SELECT count(*) FROM files.inline_contents WHERE id = %s", (hex_id,))[0][0]
    on_disk = blob_file(service, hex_id).exists()
    return {(1, False): "database", (0, True): "blob store", (0, False): "nowhere"}.get((in_db, on_disk), "both")


def test_sizes_up_to_the_limit_go_to_the_database_larger_ones_to_the_blob_store(dav, dav_org, webdav, sql):
    home = dav_org.home()
    cases = {"zero.bin": b"", "tiny.txt": b"hello small world\n", "at-limit.bin": b"a" * LIMIT,
             "over-limit.bin": b"b" * (LIMIT + 1)}
    for name, content in cases.items():
        status, headers, _ = dav("PUT", home + "sizes-" + name, body=content)
        assert status == 201
        assert headers["etag"] == '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    assert stored_where(webdav, sql, cases["tiny.txt"]) == "database"
    assert stored_where(webdav, sql, cases["at-limit.bin"]) == "database"
    assert stored_where(webdav, sql, cases["over-limit.bin"]) == "blob store"
    assert sql("SELECT count(*) FROM files.inline_contents WHERE id = %s",
               (hashlib.sha256(b"").hexdigest(),))[0][0] == 1
    for name, content in cases.items():
        status, headers, body = dav("GET", home + "sizes-" + name)
        assert (status, body) == (200, content)
        assert int(headers["content-length"]) == len(content)
        status, headers, body = dav("HEAD", home + "sizes-" + name)
        assert (status, body, int(headers["content-length"])) == (200, b"", len(content))
        status, _, _ = dav("GET", home + "sizes-" + name, headers={"If-None-Match": headers["etag"]})
        assert status == 304


def test_identical_small_files_are_stored_once(dav, dav_org, sql):
    home = dav_org.home()
    content = b"the same minutes, filed twice\n"
    for name in ("dup-a.txt", "dup-b.txt", "dup-c.txt"):
        assert dav("PUT", home + name, body=content)[0] == 201
    hex_id = hashlib.sha256(content).hexdigest()
    assert sql("SELECT count(*) FROM files.inline_contents WHERE id = %s", (hex_id,))[0][0] == 1
    assert sql("SELECT count(*) FROM files.nodes WHERE blob_id = %s", (hex_id,))[0][0] == 3


def chunked_put(port, path, who, password, pieces):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("PUT", path)
    conn.putheader("Authorization", basic(who, password))
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for p in pieces:
        conn.send(b"%x\r\n%s\r\n" % (len(p), p))
    conn.send(b"0\r\n\r\n")
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status


def test_a_chunked_body_stays_in_the_database_until_it_outgrows_the_limit(dav, dav_org, webdav, sql):
    home = dav_org.home()
    small = [b"chunk one;", b"chunk two;", b"chunk three"]
    assert chunked_put(webdav.port("http"), home + "chunked-small.txt", dav_org.alice, dav_org.password, small) == 201
    assert stored_where(webdav, sql, b"".join(small)) == "database"
    large = [bytes([65 + i]) * 10000 for i in range(5)]   # 50,000 bytes in pieces of 10,000
    assert chunked_put(webdav.port("http"), home + "chunked-large.bin", dav_org.alice, dav_org.password, large) == 201
    assert stored_where(webdav, sql, b"".join(large)) == "blob store"
    for name, pieces in (("chunked-small.txt", small), ("chunked-large.bin", large)):
        assert dav("GET", home + name)[2] == b"".join(pieces)


def test_versions_copy_and_move_keep_small_contents_readable(dav, dav_org, webdav, polderctl, sql):
    home = dav_org.home()
    first, second, third = b"draft one\n", b"x" * (LIMIT + 100), b"draft three\n"
    for content in (first, second, third):   # database, blob store, database
        assert dav("PUT", home + "mixed.txt", body=content)[0] in (201, 204)
    versions = polderctl.ok("file", "versions", dav_org.alice, "--path", "mixed.txt", "--json",
                            config=webdav.config).stdout
    ids = [v["id"] for v in sorted(json.loads(versions), key=lambda v: v["id"])]
    assert len(ids) == 2
    polderctl.ok("file", "restore", dav_org.alice, "--path", "mixed.txt", "--version", str(ids[0]),
                 config=webdav.config)
    assert dav("GET", home + "mixed.txt")[2] == first
    assert dav("COPY", home + "mixed.txt", headers={"Destination": home + "mixed-copy.txt"})[0] == 201
    assert dav("MOVE", home + "mixed-copy.txt", headers={"Destination": home + "mixed-moved.txt"})[0] == 201
    assert dav("GET", home + "mixed-moved.txt")[2] == first
    assert stored_where(webdav, sql, first) == "database"
    assert stored_where(webdav, sql, second) == "blob store"


def test_a_lock_on_an_unmapped_url_makes_an_empty_file_in_the_database(dav, dav_org, webdav, sql):
    home = dav_org.home()
    body = ('<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
            '<D:locktype><D:write/></D:locktype></D:lockinfo>')
    status, headers, _ = dav("LOCK", home + "lock-null.txt", body=body,
                             headers={"Content-Type": "application/xml", "Timeout": "Second-60"})
    assert status == 201
    token = headers["lock-token"]
    status, headers, data = dav("GET", home + "lock-null.txt")
    assert (status, data, headers["content-length"]) == (200, b"", "0")
    assert stored_where(webdav, sql, b"") == "database"
    assert dav("UNLOCK", home + "lock-null.txt", headers={"Lock-Token": token})[0] == 204


def test_refused_uploads_store_nothing(dav, dav_org, polderctl, sql, webdav):
    home = dav_org.home(dav_org.bob)
    polderctl.ok("quota", "set", dav_org.bob, "1K")
    try:
        content = b"over the quota " * 100   # 1,500 bytes
        status, _, _ = dav("PUT", home + "too-big.txt", body=content, user=dav_org.bob)
        assert status == 507
        assert stored_where(webdav, sql, content) == "nowhere"
        status, _, _ = dav("PUT", home + "fits.txt", body=b"fits", user=dav_org.bob)
        assert status == 201
    finally:
        polderctl.ok("quota", "set", dav_org.bob, "unlimited")
    # A failed precondition stores nothing either.
    content = b"never stored: precondition failed\n"
    status, _, _ = dav("PUT", home + "fits.txt", body=content, user=dav_org.bob, headers={"If-Match": '"nope"'})
    assert status == 412
    assert stored_where(webdav, sql, content) == "nowhere"


def test_files_stay_readable_when_inline_storage_is_turned_off(dav, dav_org, webdav, plain, sql):
    home = dav_org.home()
    kept_small = b"written while small files went to the database\n"
    assert dav("PUT", home + "before-off.txt", body=kept_small)[0] == 201
    assert stored_where(webdav, sql, kept_small) == "database"
    status, _, body = dav("GET", home + "before-off.txt", port=plain.port("http"))
    assert (status, body) == (200, kept_small)
    status, headers, body = dav("GET", home + "before-off.txt", port=plain.port("http"),
                                headers={"Range": "bytes=8-12"})
    assert (status, body) == (206, kept_small[8:13])
    new_small = b"written with inline storage off\n"
    assert dav("PUT", home + "after-off.txt", body=new_small, port=plain.port("http"))[0] == 201
    assert stored_where(plain, sql, new_small) == "blob store"
    assert dav("GET", home + "after-off.txt")[2] == new_small
    assert dav("PUT", home + "empty-off.txt", body=b"", port=plain.port("http"))[0] == 201
    assert dav("GET", home + "empty-off.txt", port=plain.port("http"))[2] == b""


def test_a_row_is_always_named_by_the_sha256_of_its_bytes(sql):
    content = b"some bytes"
    wrong = hashlib.sha256(b"other bytes").hexdigest()
    with pytest.raises(psycopg2.errors.CheckViolation):
        sql("INSERT INTO files.inline_contents (id, content) VALUES (%s, %s)", (wrong, content))
    with pytest.raises(psycopg2.errors.CheckViolation):
        sql("INSERT INTO files.inline_contents (id, content) VALUES (%s, %s)", ("not-hex", content))
