# test_dev_script.py - scripts/dev up / status / down end to end, on a
# temporary instance folder (POLDER_VAR) with the binaries of the build tree
# under test (POLDER_BUILD_DIR, --no-install --no-build).
#
# What it shows: `up --detach` creates the instance (PostgreSQL cluster,
# schema, certificates, demo organisation and user) and returns once every
# built service is healthy; var/dev.env has every key tools rely on; psql and
# polderctl see the demo user; client autoconfiguration names the instance and
# imaplib logs in with what it says; PostgreSQL and the services run as the system
# user; `down` leaves no process and no port behind; a second `up` keeps what
# was added in between and does not initialise again; a foreground `up` stops
# everything on Ctrl-C.
#
# SECURITY: checks that the secret files are private, PostgreSQL listens on
# loopback only and refuses a wrong password.
# STANDARDS: none.

import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("POLDER_SOURCE_DIR") or Path(__file__).resolve().parents[3])
DEV = SOURCE_DIR / "scripts" / "dev"
PSQL = "/usr/lib/postgresql/15/bin/psql"
UP_TIMEOUT = 300        # seconds: first up of ASan-built services on a busy CI machine
DOWN_TIMEOUT = 120
REQUIRED_KEYS = ["POLDER_CONFIG", "POLDERCTL", "POLDER_PGHOST", "POLDER_PGPORT",
                 "POLDER_DEMO_USER", "POLDER_DEMO_PASS", "POLDER_CA_CERT"]
SERVICES = {   # service folder -> (binary, dev.env keys it adds)
    "smtp": ("polder-smtpd", ["POLDER_SMTP_PORT", "POLDER_SUBMISSION_PORT", "POLDER_SUBMISSIONS_PORT"]),
    "imap": ("polder-imapd", ["POLDER_IMAP_PORT", "POLDER_IMAPS_PORT"]),
    "caldav": ("polder-caldavd", ["POLDER_CALDAV_URL"]),
    "webdav": ("polder-webdavd", ["POLDER_WEBDAV_URL"]),
}
KEPT_USER = "kept@example.test"
KEPT_PASSWORD = "kept-between-ups-9f3k"


def read_env_file(path):
    """dev.env as a dict; every value must be one shell word (quoted)."""
    values = {}
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        assert sep, f"not a KEY=value line in {path}: {line!r}"
        words = shlex.split(raw)
        assert len(words) <= 1, f"value of {key} is not one shell word: {raw!r}"
        values[key] = words[0] if words else ""
    return values


def pid_alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def process_uid(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


def port_is_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


class Instance:
    def __init__(self, root, build_dir):
        self.root = root
        self.var = root / "var"
        self.build_dir = build_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("POLDER_")}
        self.env.update(POLDER_VAR=str(self.var), POLDER_BUILD_DIR=str(build_dir),
                        POLDER_DEV_SKIP_INSTALL="1", POLDER_DEV_SKIP_BUILD="1",
                        POLDER_DEV_TIMEOUT="180")
        self.present = [svc for svc, (binary, _) in SERVICES.items()
                        if (build_dir / "services" / svc / binary).is_file()]
        self.first_demo_pass = None

    def dev(self, *args, timeout=UP_TIMEOUT):
        return subprocess.run([str(DEV), *args], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def dev_ok(self, *args, timeout=UP_TIMEOUT):
        r = self.dev(*args, timeout=timeout)
        assert r.returncode == 0, (f"scripts/dev {' '.join(args)} failed ({r.returncode})\n"
                                   f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r

    def dotenv(self):
        return read_env_file(self.var / "dev.env")

    def polderctl(self, *args, input=None):
        e = self.dotenv()
        return subprocess.run([e["POLDERCTL"], "--config", e["POLDER_CONFIG"], *args], input=input,
                              capture_output=True, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if not k.startswith("POLDER_")})

    def psql(self, sql, password_file=None, extra_env=None):
        e = self.dotenv()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POLDER_", "PG"))}
        env["PGPASSFILE"] = password_file or e["POLDER_PGPASSFILE"]
        env.update(extra_env or {})
        return subprocess.run([PSQL, "-X", "-h", e["POLDER_PGHOST"], "-p", e["POLDER_PGPORT"], "-U", "polder",
                               "-d", "polder", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              capture_output=True, text=True, timeout=60, env=env)

    def service_pids(self):
        pids = {}
        for svc in self.present:
            pid_file = self.var / "run" / f"{SERVICES[svc][0]}.pid"
            if pid_file.exists():
                pids[svc] = int(pid_file.read_text().strip())
        return pids

    def postmaster_pid(self):
        pid_file = self.var / "pg" / "data" / "postmaster.pid"
        return int(pid_file.read_text().splitlines()[0]) if pid_file.exists() else None

    def ports(self):
        """Every TCP port the running instance listens on, from polder.toml and dev.env."""
        e = self.dotenv()
        ports = {int(e["POLDER_PGPORT"])}
        for line in (self.var / "polder.toml").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("port", "admin_port") and value.strip().isdigit():
                ports.add(int(value.strip()))
        return ports


@pytest.fixture(scope="module")
def instance(build_dir):
    root = Path(tempfile.mkdtemp(prefix="polder-devtest-"))
    root.chmod(0o755)   # the system user must reach var/ inside it
    inst = Instance(root, build_dir)
    yield inst
    inst.dev("down", timeout=DOWN_TIMEOUT)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def expected_uid():
    return pwd.getpwnam("polder").pw_uid if os.geteuid() == 0 else os.geteuid()


def test_first_up_detach_creates_the_instance_and_returns_when_healthy(instance):
    r = instance.dev_ok("up", "--detach")
    assert "Creating the PostgreSQL cluster" in r.stdout
    assert "Provisioning organisation Example" in r.stdout
    assert (instance.var / "pg" / "data" / "PG_VERSION").read_text().strip() == "15"
    for folder in ("blobs", "log", "run", "tls"):
        assert (instance.var / folder).is_dir(), folder
    instance.first_demo_pass = instance.dotenv()["POLDER_DEMO_PASS"]


def test_dev_env_has_every_required_key_for_the_built_services(instance):
    e = instance.dotenv()
    for key in REQUIRED_KEYS:
        assert e.get(key), f"{key} missing or empty in dev.env"
    for svc, (_, keys) in SERVICES.items():
        for key in keys:
            if svc in instance.present:
                assert e.get(key), f"{key} missing although {svc} is built"
            else:
                assert key not in e, f"{key} present although {svc} is not built"
    assert Path(e["POLDERCTL"]).resolve() == (instance.build_dir / "services" / "admin" / "polderctl").resolve()
    assert Path(e["POLDER_CONFIG"]) == instance.var / "polder.toml"
    assert e["POLDER_PGHOST"] == "127.0.0.1" and e["POLDER_PGPORT"].isdigit()
    assert e["POLDER_DEMO_USER"] == "demo@example.test"
    assert len(e["POLDER_DEMO_PASS"]) >= 12
    for key in ("POLDER_CALDAV_URL", "POLDER_WEBDAV_URL"):
        if key in e:
            assert e[key].startswith("http://127.0.0.1:"), e[key]


def test_secret_files_are_readable_by_their_owner_only(instance):
    for name in ("dev.env", "pg-password", "pgpass", "demo-password", "polder.toml", "tls/ca.key", "tls/server.key"):
        mode = stat.S_IMODE((instance.var / name).stat().st_mode)
        assert mode & 0o077 == 0, f"{name} has mode {oct(mode)}"


def test_the_ca_certificate_verifies_the_server_certificate_for_localhost(instance):
    ca = instance.dotenv()["POLDER_CA_CERT"]
    cert = instance.var / "tls" / "server.crt"
    r = subprocess.run(["openssl", "verify", "-CAfile", ca, str(cert)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["openssl", "x509", "-noout", "-in", str(cert), "-checkhost", "localhost",
                        "-checkip", "127.0.0.1"], capture_output=True, text=True)
    assert r.returncode == 0 and "does NOT match" not in r.stdout, r.stdout


def test_postgresql_runs_as_polder_on_loopback_with_password_authentication(instance, expected_uid):
    r = instance.psql("SHOW listen_addresses")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "127.0.0.1"
    assert process_uid(instance.postmaster_pid()) == expected_uid
    wrong = instance.root / "wrong-pgpass"
    wrong.write_text(f"127.0.0.1:{instance.dotenv()['POLDER_PGPORT']}:*:polder:not-the-password\n")
    wrong.chmod(0o600)
    r = instance.psql("SELECT 1", password_file=str(wrong))
    assert r.returncode != 0
    assert "password authentication failed" in r.stderr


def test_psql_and_polderctl_see_the_demo_user(instance):
    r = instance.psql("SELECT address FROM directory.accounts WHERE address = 'demo@example.test'")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "demo@example.test"
    r = instance.polderctl("user", "list", "--json")
    assert r.returncode == 0, r.stderr
    assert "demo@example.test" in r.stdout
    r = instance.polderctl("auth", "test", "demo@example.test", input=instance.dotenv()["POLDER_DEMO_PASS"] + "\n")
    assert r.returncode == 0, r.stderr
    assert "login ok" in r.stdout


def test_every_built_service_is_healthy_and_runs_as_polder(instance, expected_uid):
    pids = instance.service_pids()
    assert sorted(pids) == sorted(instance.present)
    e = instance.dotenv()
    for svc, pid in pids.items():
        assert pid_alive(pid), f"{svc} (pid {pid}) is not running"
        assert process_uid(pid) == expected_uid, f"{svc} runs as uid {process_uid(pid)}"
        url = e[f"POLDER_{svc.upper()}_ADMIN_URL"] + "healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200, url


def test_client_autoconfiguration_names_the_instance_and_imaplib_logs_in_with_it(instance):
    """The development configuration's [clients] names its own TLS ports: Thunderbird's
    document from the running caldavd sets up an IMAP login of the demo user."""
    if not {"imap", "smtp", "caldav"} <= set(instance.present):
        pytest.skip("needs polder-imapd, polder-smtpd and polder-caldavd")
    import imaplib
    import ssl
    import xml.etree.ElementTree as ET
    e = instance.dotenv()
    tls = ssl.create_default_context(cafile=e["POLDER_CA_CERT"])
    url = e["POLDER_CALDAVS_URL"] + "mail/config-v1.1.xml?emailaddress=demo%40example.test"
    with urllib.request.urlopen(url, timeout=10, context=tls) as response:
        config = ET.fromstring(response.read())
    imap = config.find("emailProvider/incomingServer[@type='imap']")
    smtp = config.find("emailProvider/outgoingServer[@type='smtp']")
    assert imap.findtext("port") == e["POLDER_IMAPS_PORT"] and imap.findtext("socketType") == "SSL"
    assert smtp.findtext("port") == e["POLDER_SUBMISSIONS_PORT"]
    c = imaplib.IMAP4_SSL(imap.findtext("hostname"), int(imap.findtext("port")), ssl_context=tls, timeout=30)
    try:
        assert c.login(e["POLDER_DEMO_USER"], e["POLDER_DEMO_PASS"])[0] == "OK"
    finally:
        c.logout()


def test_status_reports_a_healthy_instance(instance):
    r = instance.dev_ok("status", timeout=60)
    assert "PostgreSQL" in r.stdout and "running" in r.stdout


def test_a_second_up_while_running_is_refused(instance):
    r = instance.dev("up", "--detach")
    assert r.returncode != 0
    assert "already running" in r.stderr or not instance.present, r.stderr
    # The refusal must not have touched the running instance.
    r = instance.psql("SELECT 1")
    assert r.returncode == 0, r.stderr


def test_down_stops_every_process_and_frees_every_port(instance):
    r = instance.polderctl("user", "add", KEPT_USER, "--password-stdin", input=KEPT_PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    pids = list(instance.service_pids().values()) + [instance.postmaster_pid()]
    ports = instance.ports()
    instance.dev_ok("down", timeout=DOWN_TIMEOUT)
    for pid in pids:
        wait_until(lambda: not pid_alive(pid), 10, f"pid {pid} to end")
    assert instance.postmaster_pid() is None
    assert not list((instance.var / "run").glob("*.pid"))
    for port in ports:
        wait_until(lambda: port_is_free(port), 10, f"port {port} to be free")
    r = instance.dev("down", timeout=DOWN_TIMEOUT)
    assert r.returncode == 0 and "nothing was running" in r.stdout


def test_a_second_up_keeps_the_data_and_does_not_initialise_again(instance):
    r = instance.dev_ok("up", "--detach")
    assert "Creating the PostgreSQL cluster" not in r.stdout
    assert "already provisioned" in r.stdout
    assert instance.dotenv()["POLDER_DEMO_PASS"] == instance.first_demo_pass
    r = instance.psql(f"SELECT address FROM directory.accounts WHERE address = '{KEPT_USER}'")
    assert r.returncode == 0 and r.stdout.strip() == KEPT_USER, r.stdout + r.stderr
    r = instance.polderctl("auth", "test", KEPT_USER, input=KEPT_PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    instance.dev_ok("down", timeout=DOWN_TIMEOUT)


def test_foreground_up_stops_everything_on_ctrl_c(instance):
    log = instance.root / "foreground.log"
    with open(log, "w") as out:
        # A terminal's Ctrl-C sends SIGINT to the foreground process group:
        # here the script is the leader of its own group.
        proc = subprocess.Popen([str(DEV), "up"], env=instance.env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: "Press Ctrl-C" in log.read_text() or proc.poll() is not None, UP_TIMEOUT,
                   "the foreground up to be ready")
        assert proc.poll() is None, f"up exited early ({proc.returncode}):\n{log.read_text()}"
        pids = list(instance.service_pids().values()) + [instance.postmaster_pid()]
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=DOWN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 130, log.read_text()
    for pid in pids:
        wait_until(lambda: not pid_alive(pid), 10, f"pid {pid} to end")
    assert instance.postmaster_pid() is None
    text = log.read_text()
    # The whole log on failure: this check failed once under parallel load with
    # everything stopped and the line missing, and the log is the only witness.
    assert "Stopping PostgreSQL" in text, text
    if instance.present:
        assert text.index("Stopping the services") < text.index("Stopping PostgreSQL"), text


def test_an_interrupted_redirected_function_does_not_swallow_the_exit_messages(tmp_path):
    # The mechanism behind a lost "Stopping PostgreSQL": Ctrl-C's trap ran while a
    # function's output went to /dev/null (pg_running), and so did everything the
    # exit handler printed. on_exit gives the handler the script's own output back.
    script = tmp_path / "interrupted.sh"
    script.write_text(f"""
source {shlex.quote(str(SOURCE_DIR / "scripts" / "lib" / "common.sh"))}
handler() {{ echo "handler saw $1 on stdout"; echo "and on stderr" >&2; }}
quiet() {{ (sleep 0.2); }}
on_exit handler
echo ready
while :; do quiet >/dev/null 2>&1; done
""")
    proc = subprocess.Popen(["bash", str(script)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.5)   # inside `quiet`, its output redirected, nearly all of the time
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert out == "handler saw 130 on stdout\n", out
    assert "and on stderr" in err, err
