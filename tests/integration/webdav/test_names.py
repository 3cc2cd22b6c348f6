# test_names.py - names a common OS cannot store are refused with 400 and a
# reason (trailing dot or space, Windows device names with any extension,
# control and reserved characters, segments over 255 bytes), on the request
# URL and on a COPY/MOVE Destination; Unicode names are stored in NFC, so the
# composed and decomposed spellings of a name are one file.
#
# SECURITY: refused names never reach the store (nothing is created).
# STANDARDS: RFC 3986 (percent-encoding), Unicode UAX #15 (NFC).
import urllib.parse

import pytest

BAD = [
    ("report.", "dot"),
    ("report ", "space"),
    ("CON", "reserved"),
    ("con.txt", "reserved"),
    ("Nul.tar.gz", "reserved"),
    ("PRN", "reserved"),
    ("AUX.md", "reserved"),
    ("COM1", "reserved"),
    ("com9.log", "reserved"),
    ("LPT1", "reserved"),
    ("lpt5.txt", "reserved"),
    ("a\x01b", "control"),
    ("tab\there", "control"),
    ("back\\slash", "'\\'"),
    ("co:lon", "':'"),
    ("st*ar", "'*'"),
    ("que?ry", "'?'"),
    ('quo"te', "'\"'"),
    ("less<than", "'<'"),
    ("more>than", "'>'"),
    ("pi|pe", "'|'"),
    ("x" * 256, "255"),
    ("é" * 128, "255"),          # 256 bytes of UTF-8
]


def encoded(name):
    return urllib.parse.quote(name, safe="")


@pytest.mark.parametrize("name,reason", BAD, ids=[repr(b[0][:12]) for b in BAD])
def test_a_name_a_common_os_cannot_store_is_refused_with_a_reason(dav, dav_org, name, reason):
    status, _, body = dav("PUT", dav_org.home() + encoded(name), body="x")
    assert status == 400
    assert reason.encode() in body
    assert dav("MKCOL", dav_org.home() + encoded(name) + "/")[0] == 400


def test_a_refused_name_is_refused_as_a_destination_too(dav, dav_org):
    home = dav_org.home()
    assert dav("PUT", home + "fine.txt", body="fine")[0] in (201, 204)
    for name in ("aux.txt", "trailing.", "x%3Ay"):
        status = dav("MOVE", home + "fine.txt", headers={"Destination": home + name})[0]
        assert status == 400
    assert dav("GET", home + "fine.txt")[0] == 200


def test_names_that_only_look_reserved_are_accepted(dav, dav_org):
    home = dav_org.home()
    for name in ("CONSOLE.txt", "COM10", "LPT0", "nul-and-void.txt", ".hidden", "a.b.c", " leading space",
                 "x" * 255, "é" * 127):
        assert dav("PUT", home + encoded(name), body="ok")[0] in (201, 204), name


def test_composed_and_decomposed_unicode_name_one_file(dav, dav_org):
    home = dav_org.home()
    composed = "caf\u00e9.txt"
    decomposed = "cafe\u0301.txt"
    assert dav("PUT", home + encoded(decomposed), body="one file")[0] == 201
    status, _, body = dav("GET", home + encoded(composed))
    assert (status, body) == (200, b"one file")
    assert dav("PUT", home + encoded(composed), body="still one")[0] == 204
    status, _, listing = dav("PROPFIND", home, headers={"Depth": "1"})
    assert encoded(composed).encode() in listing
    assert encoded(decomposed).encode() not in listing
