# test_compress.py - COMPRESS=DEFLATE (RFC 4978): after the tagged OK both directions are
# raw DEFLATE; commands, literals and IDLE keep working; a second COMPRESS gets
# [COMPRESSIONACTIVE]; commands pipelined right behind COMPRESS are already compressed;
# corrupt compressed input ends only that session.

import zlib

import pytest

from imap_helpers import message


class Deflated:
    """The client side of a compressed IMAP session over a Raw client's socket."""

    def __init__(self, raw, already=b""):
        self.raw = raw
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inf = zlib.decompressobj(-15)
        self.buf = self.inf.decompress(already)
        self.n = 100

    def send_raw(self, data):
        self.raw.sock.sendall(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    def send(self, text):
        self.n += 1
        tag = f"z{self.n}"
        self.send_raw(f"{tag} {text}\r\n".encode())
        return tag

    def readline(self):
        while b"\r\n" not in self.buf:
            data = self.raw.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; got " + repr(self.buf))
            self.buf += self.inf.decompress(data)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until(self, tag):
        lines = []
        while True:
            lines.append(self.readline())
            if lines[-1].startswith(tag + " "):
                return lines

    def cmd(self, text):
        return self.until(self.send(text))


def start(raw, user):
    r = raw(user=user)
    caps = " ".join(r.cmd("CAPABILITY"))
    assert "COMPRESS=DEFLATE" in caps
    tag = r.send("COMPRESS DEFLATE")
    # The OK is the last plaintext line; whatever follows it in the buffer is compressed.
    assert r.readline().startswith(f"{tag} OK"), "COMPRESS refused"
    z = Deflated(r, r.buf)
    r.buf = b""
    return z


def test_a_compressed_session_appends_fetches_and_searches(raw, user):
    z = start(raw, user)
    body = ("Vergadering over de begroting.\r\n" * 400)
    msg = message("Begroting 2027", body=body)
    z.send_raw(f"z1 APPEND INBOX {{{len(msg)}}}\r\n".encode())
    assert z.readline().startswith("+")
    z.send_raw(msg + b"\r\n")
    assert z.until("z1")[-1].startswith("z1 OK")
    assert any("EXISTS" in l for l in z.cmd("SELECT INBOX"))
    fetched = z.cmd("FETCH 1 (BODY[TEXT])")
    assert fetched[-1].startswith("z") and " OK " in fetched[-1]
    assert sum(l == "Vergadering over de begroting." for l in fetched) == 400
    assert "* SEARCH 1" in z.cmd('SEARCH SUBJECT "Begroting"')
    caps = " ".join(z.cmd("CAPABILITY"))
    assert "COMPRESS=DEFLATE" not in caps
    again = z.cmd("COMPRESS DEFLATE")[-1]
    assert " NO [COMPRESSIONACTIVE]" in again
    assert z.cmd("LOGOUT")[-1].split()[1] == "OK"


def test_idle_pushes_through_the_compressed_stream(raw, connect, user):
    z = start(raw, user)
    z.cmd("SELECT INBOX")
    tag = z.send("IDLE")
    assert z.readline().startswith("+")
    other = connect(user)
    other.append("INBOX", None, None, message("Pushed while compressed"))
    line = z.readline()
    while "EXISTS" not in line:
        line = z.readline()
    z.send_raw(b"DONE\r\n")
    assert z.until(tag)[-1].startswith(f"{tag} OK")


def test_commands_pipelined_behind_compress_are_read_as_compressed(raw, user):
    r = raw(user=user)
    zc = zlib.compressobj(6, zlib.DEFLATED, -15)
    pipelined = zc.compress(b"z9 NOOP\r\n") + zc.flush(zlib.Z_SYNC_FLUSH)
    r.send_raw(b"c1 COMPRESS DEFLATE\r\n" + pipelined)
    assert r.readline().startswith("c1 OK")
    z = Deflated(r, r.buf)
    z.out = zc
    assert z.until("z9")[-1].startswith("z9 OK")


def test_unknown_mechanism_and_compress_before_login_are_refused(raw, user):
    r = raw(user=user)
    assert r.cmd("COMPRESS ZSTD")[-1].split()[1] == "BAD"
    anonymous = raw()
    assert anonymous.cmd("COMPRESS DEFLATE")[-1].split()[1] == "BAD"
    assert r.cmd("NOOP")[-1].split()[1] == "OK"   # both sessions go on uncompressed


def test_corrupt_compressed_input_ends_only_that_session(raw, connect, user):
    z = start(raw, user)
    z.raw.sock.sendall(b"\xff\xfe\xfd\xfc this is not deflate data\r\n")
    z.raw.sock.settimeout(10)
    with pytest.raises((EOFError, ConnectionError, zlib.error)):
        z.readline()
    c = connect(user)   # the server still serves everyone else
    assert c.noop()[0] == "OK"
