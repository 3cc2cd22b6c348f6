# conftest.py - shared fixtures of Polder's integration tests (every
# tests/integration/<area>/ folder uses them).
#
# What it gives a test module:
#   pg            - the throwaway PostgreSQL server (POLDER_TEST_PGHOST/PORT/USER)
#   build_dir     - the build folder (POLDER_BUILD_DIR) with the built executables
#   database      - a fresh, empty database for this module, dropped afterwards
#   config_file   - a polder.toml in a temporary folder pointing at `database`
#   make_config   - write another config file (extra TOML, other database ...)
#   polderctl     - run polderctl with that config: polderctl(*args, input=None)
#                   returns subprocess.CompletedProcess (text, stdout/stderr captured)
#   migrated      - `database` with the schema applied (polderctl migrate)
#   sql           - sql(query, params=None): run SQL on `database`, return rows
#   unique        - unique(prefix): a short name unique in this test run
# and the plain helpers free_port(), new_database(pg), drop_database(pg, name).
#
# A missing POLDER_TEST_PG* or POLDER_BUILD_DIR variable FAILS the tests with a
# message saying what to set; nothing is silently skipped.
#
# SECURITY: test databases get unique names (t_<module>_<pid>_<random>) and are
# dropped WITH (FORCE) at the end; child processes get an environment without
# the developer's POLDER_* variables, so a local POLDER_CONFIG or
# POLDER_DATABASE_* can never point a test at a real installation.
# STANDARDS: none.

import dataclasses
import os
import re
import secrets
import socket
import subprocess
import time
from pathlib import Path

import psycopg2
import pytest

from polling import wait_for  # noqa: F401 (tests import it from here too)
from ports import free_port  # noqa: F401 (tests import it from here too)


@dataclasses.dataclass(frozen=True)
class PgServer:
    host: str
    port: int
    user: str

    def connect(self, dbname="postgres", autocommit=True):
        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=dbname,
                                connect_timeout=10)
        conn.autocommit = autocommit
        return conn


def _require_env(name, hint):
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f"{name} is not set: {hint}", pytrace=False)
    return value


@pytest.fixture(scope="session")
def pg():
    hint = ("run the suite with 'scripts/dev test', or export POLDER_TEST_PGHOST, POLDER_TEST_PGPORT "
            "and POLDER_TEST_PGUSER for a PostgreSQL server where that user may create databases")
    server = PgServer(_require_env("POLDER_TEST_PGHOST", hint),
                      int(_require_env("POLDER_TEST_PGPORT", hint)),
                      _require_env("POLDER_TEST_PGUSER", hint))
    try:
        server.connect().close()
    except psycopg2.OperationalError as e:
        pytest.fail(f"cannot reach the test PostgreSQL at {server.host}:{server.port}: {e}", pytrace=False)
    return server


@pytest.fixture(scope="session")
def build_dir():
    path = Path(_require_env("POLDER_BUILD_DIR",
                             "set it to the CMake build folder (the one holding services/admin/polderctl)"))
    if not (path / "services" / "admin" / "polderctl").is_file():
        pytest.fail(f"POLDER_BUILD_DIR={path} has no services/admin/polderctl: build it first "
                    f"(ninja -C {path} polderctl)", pytrace=False)
    return path


def new_database(pg, label="db"):
    """Create an empty database with a unique name and return the name."""
    label = re.sub(r"[^a-z0-9_]", "_", label.lower())[:30]
    name = f"t_{label}_{os.getpid()}_{secrets.token_hex(4)}"
    # Not "with conn": psycopg2 >= 2.9 opens a transaction block there even in
    # autocommit mode, and CREATE DATABASE cannot run inside one.
    conn = pg.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return name


def drop_database(pg, name):
    conn = pg.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


def clean_env(extra=None):
    """The environment for processes under test: no POLDER_* from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLDER_")}
    if extra:
        env.update(extra)
    return env


@pytest.fixture(scope="module")
def database(pg, request):
    name = new_database(pg, request.module.__name__.rsplit(".", 1)[-1])
    yield name
    drop_database(pg, name)


def write_config(path, pg, dbname, extra_toml=""):
    """Write a polder.toml for database dbname on pg, plus extra TOML text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[database]\n"
        f'host = "{pg.host}"\n'
        f"port = {pg.port}\n"
        f'name = "{dbname}"\n'
        f'user = "{pg.user}"\n'
        "connect_timeout_seconds = 5\n"
        + extra_toml)
    return path


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("config")


@pytest.fixture(scope="module")
def make_config(pg, database, config_dir):
    counter = iter(range(1_000_000))

    def make(extra_toml="", dbname=None, name=None):
        file = config_dir / (name or f"polder-{next(counter)}.toml")
        return write_config(file, pg, dbname or database, extra_toml)
    return make


@pytest.fixture(scope="module")
def config_file(make_config):
    return make_config(name="polder.toml")


class Polderctl:
    """Runs the built polderctl; polderctl(*args, input=None, config=..., env=None, timeout=...)."""

    def __init__(self, executable, config):
        self.executable = executable
        self.config = config

    def __call__(self, *args, input=None, config="default", env=None, timeout=300):
        cmd = [str(self.executable)]
        cfg = self.config if config == "default" else config
        if cfg is not None:
            cmd += ["--config", str(cfg)]
        cmd += [str(a) for a in args]
        return subprocess.run(cmd, input=input, capture_output=True, text=True, env=clean_env(env),
                              timeout=timeout)

    def ok(self, *args, **kwargs):
        """Run and assert exit code 0; returns the CompletedProcess."""
        r = self(*args, **kwargs)
        assert r.returncode == 0, f"polderctl {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr}"
        return r


@pytest.fixture(scope="module")
def polderctl(build_dir, config_file):
    return Polderctl(build_dir / "services" / "admin" / "polderctl", config_file)


@pytest.fixture(scope="module")
def migrated(polderctl, database):
    polderctl.ok("migrate")
    return database


@pytest.fixture(scope="module")
def sql(pg, database):
    conn = pg.connect(database)

    def run(query, params=None):
        with conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []
    yield run
    conn.close()


@pytest.fixture(scope="session")
def unique():
    counter = iter(range(1_000_000))
    run = secrets.token_hex(2)

    def make(prefix="x"):
        return f"{prefix}{run}{next(counter)}"
    return make


def assert_fails(result, code, *fragments):
    """A refused command: exit code `code`, exactly one line on stderr containing every fragment."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, (
        f"expected exit {code}, got {result.returncode}; stdout={result.stdout!r} stderr={result.stderr!r}")
    assert len(lines) == 1, f"expected one line on stderr, got: {result.stderr!r}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture(scope="session")
def expect_failure():
    return assert_fails


# ---------------------------------------------------------------------------
# Services under test
#
#   tls_files     - a throwaway CA and a server certificate for localhost and
#                   127.0.0.1: .ca_cert, .cert, .key (session scope)
#   start_service - start_service(kind, settings=None, env=None) starts the
#                   built polder-<kind>d ("smtp", "imap", "caldav", "webdav")
#                   on free loopback ports with this module's migrated
#                   database, TLS, a private blob folder and debug logging;
#                   `settings` adds or replaces keys: {"smtp": {"hostname":
#                   "mx.example.test"}, "smtp.mx": {...}}. It returns once
#                   /healthz on the admin port answers 200. Returns a Service:
#                   .port(listener) (e.g. "mx", "imaps", "http"), .admin_port,
#                   .url(listener, path="/") for HTTP listeners, .log() (the
#                   process output so far), .config (path), .stop() -> exit
#                   code. At module teardown every service still running is
#                   stopped with SIGTERM, and the teardown FAILS if one did not
#                   exit 0 or its output holds a sanitizer report.
#
# As root, a service reads its config and TLS key, binds, then drops to the
# system user "polder" (service::run), so its blob folder lives under a
# world-traversable temporary folder and belongs to that user.
# ---------------------------------------------------------------------------

import pwd
import shutil
import signal
import tempfile
import urllib.error
import urllib.request

SERVICE_BINARY = {"smtp": "polder-smtpd", "imap": "polder-imapd",
                  "caldav": "polder-caldavd", "webdav": "polder-webdavd"}
SERVICE_LISTENERS = {"smtp": ["mx", "submission", "submissions"], "imap": ["imap", "imaps"],
                     "caldav": ["https", "http"], "webdav": ["https", "http"]}
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    cert: Path
    key: Path


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def tls_files():
    folder = Path(tempfile.mkdtemp(prefix="polder-it-tls-"))
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Polder test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
             cwd=folder)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=folder)
    (folder / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                    "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf", cwd=folder)
    yield TlsFiles(folder / "ca.crt", folder / "server.crt", folder / "server.key")
    shutil.rmtree(folder, ignore_errors=True)


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def render_toml(sections):
    """{"a": {"k": 1}, "a.b": {...}} -> TOML text (tables in the given order)."""
    out = []
    for section, keys in sections.items():
        out.append(f"[{section}]")
        out += [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
        out.append("")
    return "\n".join(out)


class Service:
    def __init__(self, kind, process, config, log_path, ports):
        self.kind = kind
        self.process = process
        self.config = config
        self.log_path = log_path
        self.ports = ports

    @property
    def admin_port(self):
        return self.ports["admin"]

    def port(self, listener):
        return self.ports[listener]

    def url(self, listener="http", path="/"):
        scheme = "https" if listener == "https" else "http"
        return f"{scheme}://127.0.0.1:{self.ports[listener]}{path}"

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self):
        return self.process.poll() is None

    def healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/healthz", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def stop(self, timeout=30):
        """SIGTERM, wait for the graceful stop; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"{SERVICE_BINARY[self.kind]} did not stop within {timeout}s:\n{self.log()[-4000:]}")
        return self.process.returncode

    def sanitizer_report(self):
        text = self.log()
        return next((m for m in SANITIZER_MARKERS if m in text), None)


@pytest.fixture(scope="module")
def service_root():
    folder = Path(tempfile.mkdtemp(prefix="polder-it-svc-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _owned_by_service_user(path):
    if os.geteuid() == 0:
        entry = pwd.getpwnam("polder")
        os.chown(path, entry.pw_uid, entry.pw_gid)


@pytest.fixture(scope="module")
def start_service(build_dir, pg, database, migrated, tls_files, service_root):
    started = []
    counter = iter(range(1_000_000))

    def start(kind, settings=None, env=None, timeout=60):
        binary = build_dir / "services" / kind / SERVICE_BINARY[kind]
        if not binary.is_file():
            pytest.fail(f"{binary} is not built", pytrace=False)
        n = next(counter)
        blobs = service_root / "blobs"      # shared by every service of the module, as in production
        blobs.mkdir(exist_ok=True)
        _owned_by_service_user(blobs)
        ports = {"admin": free_port()}
        sections = {
            "database": {"host": pg.host, "port": pg.port, "name": database, "user": pg.user,
                         "connect_timeout_seconds": 5, "pool_size": 4},
            "tls": {"cert_file": str(tls_files.cert), "key_file": str(tls_files.key)},
            "log": {"level": "debug"},
            "blob": {"path": str(blobs)},
            kind: {"admin_port": ports["admin"], "threads": 2},
        }
        for listener in SERVICE_LISTENERS[kind]:
            ports[listener] = free_port()
            sections[f"{kind}.{listener}"] = {"address": "127.0.0.1", "port": ports[listener]}
        for section, keys in (settings or {}).items():
            sections.setdefault(section, {}).update(keys)
            if section.startswith(kind + ".") and "port" in keys:
                ports[section.split(".", 1)[1]] = keys["port"]
        config = service_root / f"{kind}-{n}.toml"
        config.write_text(render_toml(sections))
        log_path = service_root / f"{kind}-{n}.log"
        with open(log_path, "w") as out:
            process = subprocess.Popen([str(binary), "--config", str(config)], stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=subprocess.STDOUT, env=clean_env(env))
        service = Service(kind, process, config, log_path, ports)
        started.append(service)
        deadline = time.monotonic() + timeout
        while not service.healthy():
            if not service.running():
                pytest.fail(f"{binary.name} exited with {process.returncode} while starting:\n"
                            f"{service.log()[-4000:]}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"{binary.name} not healthy after {timeout}s:\n{service.log()[-4000:]}", pytrace=False)
            time.sleep(0.1)
        return service

    yield start
    problems = []
    for service in started:
        rc = service.stop()
        report = service.sanitizer_report()
        if rc != 0 or report:
            problems.append(f"{SERVICE_BINARY[service.kind]} exit {rc}"
                            f"{', ' + report if report else ''}:\n{service.log()[-6000:]}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
