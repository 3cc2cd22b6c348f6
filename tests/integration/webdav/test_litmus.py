# test_litmus.py - the litmus WebDAV conformance suite (Debian package
# litmus) against polder-webdavd: every suite (basic, copymove, props, locks,
# http) must report zero failures.
#
# SECURITY: loopback only, plain HTTP with plaintext auth allowed on loopback.
# STANDARDS: RFC 4918 classes 1 and 2 as litmus 0.13 tests them.
import re
import shutil
import subprocess


def test_litmus_reports_no_failures_in_any_suite(webdav, dav_org, tmp_path):
    assert shutil.which("litmus"), "litmus is not installed (apt-get install litmus)"
    url = webdav.url("http", dav_org.home())
    r = subprocess.run(["litmus", url, dav_org.alice, dav_org.password], capture_output=True, text=True,
                       timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                       cwd=tmp_path)   # litmus writes debug.log and child.log into its folder
    out = r.stdout + r.stderr
    summaries = re.findall(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed", out)
    suites = {s[0]: (int(s[1]), int(s[2]), int(s[3])) for s in summaries}
    assert set(suites) >= {"basic", "copymove", "props", "locks", "http"}, out[-4000:]
    failed = {name: v for name, v in suites.items() if v[2] != 0}
    assert not failed, out[-6000:]
    assert r.returncode == 0, out[-4000:]
