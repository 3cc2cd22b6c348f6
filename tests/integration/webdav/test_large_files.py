# test_large_files.py - a 2 GiB file streams into polder-webdavd (PUT) and
# back out (GET) while the service's resident memory stays flat: its RSS,
# sampled from /proc/<pid>/status during both transfers, never grows more
# than 64 MiB above what it was before. The body is generated while it is
# sent and hashed while it is received, so the test never holds it either.
#
# SECURITY: loopback only; the bound proves a client cannot make the server
# buffer an upload or a download in memory.
# STANDARDS: RFC 9110 9.3.1 (GET), 9.3.4 (PUT with Content-Length).
import base64
import hashlib
import http.client
import os
import re
import threading

import pytest

SIZE = 2 * 1024 * 1024 * 1024
CHUNK = 1024 * 1024
MAX_GROWTH = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def big(start_service):
    # Under AddressSanitizer every freed block waits in a quarantine (256 MiB by default)
    # before it is reused, so the per-chunk allocations of a 2 GiB transfer show up in RSS
    # as up to 256 MiB of memory the server no longer holds (measured: 64-67 MiB of growth
    # with the default, against the 64 MiB bound; it passes with 16 MiB). A small quarantine keeps ASan's
    # checks and lets RSS measure what the server holds; the bound is the same.
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=16"}
    return start_service("webdav", settings={"auth": {"allow_plaintext_on_loopback": True},
                                             "webdav": {"max_file_size": "3G"}}, env=env)


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024


class Sampler:
    """Samples a process's RSS every 20 ms in a thread; .peak is the highest seen."""

    def __init__(self, pid):
        self.pid = pid
        self.peak = rss(pid)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss(self.pid))
            self.samples += 1

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def generated(digest):
    """SIZE bytes in 1 MiB chunks, each distinct (a counter in front of a fixed random block)."""
    block = hashlib.sha256(b"seed").digest() * (CHUNK // 32)
    for n in range(SIZE // CHUNK):
        chunk = n.to_bytes(8, "big") + block[8:]
        digest.update(chunk)
        yield chunk


def test_a_2_gib_file_streams_in_and_out_with_flat_memory(big, dav, dav_org):
    port = big.port("http")
    path = dav_org.home() + "two-gib.bin"
    token = base64.b64encode(f"{dav_org.alice}:{dav_org.password}".encode()).decode()
    auth = {"Authorization": "Basic " + token}
    # Warm up: the first requests grow pools and caches that then stay.
    for n in range(3):
        assert dav("PUT", dav_org.home() + f"warm-{n}.bin", body=b"w" * (1 << 20), port=port)[0] in (201, 204)
        assert dav("GET", dav_org.home() + f"warm-{n}.bin", port=port)[0] == 200
    pid = big.process.pid
    baseline = rss(pid)

    sent = hashlib.sha256()
    with Sampler(pid) as up:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("PUT", path, body=generated(sent),
                     headers={**auth, "Content-Length": str(SIZE), "Content-Type": "application/octet-stream"})
        r = conn.getresponse()
        r.read()
        conn.close()
    assert r.status == 201
    assert up.samples > 10
    assert up.peak - baseline < MAX_GROWTH, f"RSS grew {(up.peak - baseline) >> 20} MiB during the PUT"

    received = hashlib.sha256()
    length = 0
    with Sampler(pid) as down:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", path, headers=auth)
        r = conn.getresponse()
        assert r.status == 200
        assert int(r.getheader("Content-Length")) == SIZE
        while chunk := r.read(CHUNK):
            received.update(chunk)
            length += len(chunk)
        conn.close()
    assert length == SIZE
    assert received.hexdigest() == sent.hexdigest()
    assert down.samples > 10
    print(f"RSS baseline {baseline >> 20} MiB, peak growth PUT {(up.peak - baseline) >> 20} MiB, "
          f"GET {(down.peak - baseline) >> 20} MiB ({up.samples} + {down.samples} samples)")
    assert down.peak - baseline < MAX_GROWTH, f"RSS grew {(down.peak - baseline) >> 20} MiB during the GET"
