# test_ranges.py - Range requests on GET: one range gives 206 with
# Content-Range; several give 206 multipart/byteranges whose parts carry
# exactly the requested bytes; overlapping ranges are merged; If-Range with a
# stale ETag gives the whole file. Every test runs on a small file (its
# bytes kept in PostgreSQL, schema 0302) and on a larger one (in the blob
# store).
#
# SECURITY: the number of ranges is bounded (http::parse_range: 32, more is
# answered with the whole file), so a request cannot make tiny parts by the
# thousand.
# STANDARDS: RFC 9110 14.2 (Range), 14.4 (Content-Range), 14.6
# (multipart/byteranges), 13.1.5 (If-Range); RFC 2046 5.1 (multipart).
import email.parser
import email.policy

import pytest

SIZES = {"in-database": 64, "in-blob-store": 256}   # x 256 bytes: 16 KiB and 64 KiB (webdav.inline_max_bytes is 32 KiB)


class Ranged(str):
    """The file's path, with its content as .data (every byte position distinguishable)."""


@pytest.fixture(scope="module", params=sorted(SIZES))
def ranged(request, dav, dav_org, sql):
    data = bytes(range(256)) * SIZES[request.param]
    path = Ranged(dav_org.home() + f"ranges-{request.param}.bin")
    path.data = data
    assert dav("PUT", path, body=data)[0] in (201, 204)
    inline = sql("SELECT count(*) FROM files.inline_contents c JOIN files.nodes n ON n.blob_id = c.id "
                 "WHERE n.path = %s", (path.rsplit("/", 1)[1],))[0][0]
    assert inline == (1 if request.param == "in-database" else 0)
    return path


def parts_of(headers, body):
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body)
    assert message.is_multipart()
    return [(p["Content-Range"], p.get_payload(decode=True)) for p in message.iter_parts()]


def test_one_range_is_a_single_part(dav, ranged):
    status, headers, body = dav("GET", ranged, headers={"Range": "bytes=10-19"})
    assert (status, headers["content-range"], body) == (206, f"bytes 10-19/{len(ranged.data)}", ranged.data[10:20])


def test_several_ranges_are_a_multipart_byteranges_answer(dav, ranged):
    status, headers, body = dav("GET", ranged, headers={"Range": "bytes=0-9,1000-1099,-5"})
    assert status == 206
    assert headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(headers["content-length"]) == len(body)
    size = len(ranged.data)
    assert parts_of(headers, body) == [
        (f"bytes 0-9/{size}", ranged.data[0:10]),
        (f"bytes 1000-1099/{size}", ranged.data[1000:1100]),
        (f"bytes {size - 5}-{size - 1}/{size}", ranged.data[-5:]),
    ]


def test_overlapping_ranges_are_merged(dav, ranged):
    status, headers, body = dav("GET", ranged, headers={"Range": "bytes=0-99,50-149,4000-4009"})
    assert status == 206
    assert [r for r, _ in parts_of(headers, body)] == [f"bytes 0-149/{len(ranged.data)}", f"bytes 4000-4009/{len(ranged.data)}"]


def test_head_with_several_ranges_sends_headers_only(dav, ranged):
    status, headers, body = dav("HEAD", ranged, headers={"Range": "bytes=0-0,10-10"})
    assert status == 206 and body == b"" and int(headers["content-length"]) > 2


def test_a_stale_if_range_gives_the_whole_file(dav, ranged):
    status, _, body = dav("GET", ranged, headers={"Range": "bytes=0-9,20-29", "If-Range": '"stale"'})
    assert (status, body) == (200, ranged.data)


def test_too_many_ranges_give_the_whole_file(dav, ranged):
    many = ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(40))
    status, _, body = dav("GET", ranged, headers={"Range": "bytes=" + many})
    assert (status, body) == (200, ranged.data)
