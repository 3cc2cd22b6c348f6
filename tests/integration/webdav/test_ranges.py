# test_ranges.py - Range requests on GET: one range gives 206 with
# Content-Range; several give 206 multipart/byteranges whose parts carry
# exactly the requested bytes; overlapping ranges are merged; If-Range with a
# stale ETag gives the whole file.
#
# SECURITY: the number of ranges is bounded (http::parse_range: 32, more is
# answered with the whole file), so a request cannot make tiny parts by the
# thousand.
# STANDARDS: RFC 9110 14.2 (Range), 14.4 (Content-Range), 14.6
# (multipart/byteranges), 13.1.5 (If-Range); RFC 2046 5.1 (multipart).
import email.parser
import email.policy

import pytest

DATA = bytes(range(256)) * 64   # 16 KiB, every byte position distinguishable


@pytest.fixture(scope="module")
def ranged(dav, dav_org):
    path = dav_org.home() + "ranges.bin"
    assert dav("PUT", path, body=DATA)[0] in (201, 204)
    return path


def parts_of(headers, body):
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body)
    assert message.is_multipart()
    return [(p["Content-Range"], p.get_payload(decode=True)) for p in message.iter_parts()]


def test_one_range_is_a_single_part(dav, ranged):
    status, headers, body = dav("GET", ranged, headers={"Range": "bytes=10-19"})
    assert (status, headers["content-range"], body) == (206, f"bytes 10-19/{len(DATA)}", DATA[10:20])


def test_several_ranges_are_a_multipart_byteranges_answer(dav, ranged):
    status, headers, body = dav("GET", ranged, headers={"Range": "bytes=0-9,1000-1099,-5"})
    assert status == 206
    assert headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert int(headers["content-length"]) == len(body)
    size = len(DATA)
    assert parts_of(headers, body) == [
        (f"bytes 0-9/{size}", DATA[0:10]),
        (f"bytes 1000-1099/{size}", DATA[1000:1100]),
        (f"bytes {size - 5}-{size - 1}/{size}", DATA[-5:]),
    ]


def test_overlapping_ranges_are_merged(dav, ranged):
    status, headers, body = dav("GET", ranged, headers={"Range": "bytes=0-99,50-149,4000-4009"})
    assert status == 206
    assert [r for r, _ in parts_of(headers, body)] == [f"bytes 0-149/{len(DATA)}", f"bytes 4000-4009/{len(DATA)}"]


def test_head_with_several_ranges_sends_headers_only(dav, ranged):
    status, headers, body = dav("HEAD", ranged, headers={"Range": "bytes=0-0,10-10"})
    assert status == 206 and body == b"" and int(headers["content-length"]) > 2


def test_a_stale_if_range_gives_the_whole_file(dav, ranged):
    status, _, body = dav("GET", ranged, headers={"Range": "bytes=0-9,20-29", "If-Range": '"stale"'})
    assert (status, body) == (200, DATA)


def test_too_many_ranges_give_the_whole_file(dav, ranged):
    many = ",".join(f"{i * 100}-{i * 100 + 1}" for i in range(40))
    status, _, body = dav("GET", ranged, headers={"Range": "bytes=" + many})
    assert (status, body) == (200, DATA)
