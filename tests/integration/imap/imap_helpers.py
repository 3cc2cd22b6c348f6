# imap_helpers.py - helpers shared by the polder-imapd scenarios: the test password, TLS
# context for the test CA, a raw line client, test messages and result checks.

import re
import ssl

PASSWORD = "correct horse battery staple"


def tls_context(tls_files):
    return ssl.create_default_context(cafile=str(tls_files.ca_cert))


class Raw:
    """A line-level IMAP client: send(text) -> tag, until(tag) -> response lines."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.n = 0

    def readline(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed; got " + repr(self.buf))
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def send(self, text):
        self.n += 1
        tag = f"r{self.n}"
        self.send_raw(f"{tag} {text}\r\n")
        return tag

    def until(self, tag):
        lines = []
        while True:
            line = self.readline()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, text):
        return self.until(self.send(text))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def message(subject, body="Hello there.\r\n", sender="anna@example.org", to="bert@example.org", headers=""):
    return (f"From: Anna <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{re.sub(r'[^A-Za-z0-9]', '', subject)}@test>\r\n"
            f"{headers}\r\n{body}").encode()


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data
