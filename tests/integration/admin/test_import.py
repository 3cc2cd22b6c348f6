# test_import.py - polderctl user import: bulk provisioning from CSV, all or
# nothing, every bad line reported with its line number, 1,000 accounts fast.

import csv
import io
import os
import re
import stat
import time

import pytest

PASSWORD = "imported password 1"


@pytest.fixture(scope="module")
def org(migrated, polderctl):
    polderctl.ok("org", "add", "import-org")
    polderctl.ok("domain", "add", "import.example", "--org", "import-org")
    polderctl.ok("org", "add", "import-other")
    polderctl.ok("domain", "add", "other-import.example", "--org", "import-other")
    return "import-org"


def count(sql, pattern):
    return sql("SELECT count(*) FROM directory.accounts WHERE address LIKE %s", (pattern,))[0][0]


def login(polderctl, address, secret):
    return polderctl("auth", "test", address, input=secret + "\n")


def test_import_of_1000_accounts_in_one_command(org, polderctl, sql, tmp_path):
    lines = ["address,display_name,quota"]
    lines += [f"bulk{i:04d}@import.example,Bulk User {i},1G" for i in range(1000)]
    f = tmp_path / "bulk.csv"
    f.write_text("\n".join(lines) + "\n")
    out = tmp_path / "bulk-passwords.csv"
    started = time.monotonic()
    r = polderctl.ok("user", "import", f, "--org", org, "--passwords-out", out)
    took = time.monotonic() - started
    print(f"\nimported 1000 accounts (Argon2id m=19 MiB, t=2) in {took:.1f} s on {os.cpu_count()} CPU(s)")
    # Speed is measured by tests/bench/polderctl_import.sh, not asserted here.
    assert "imported 1000 user(s) into import-org" in r.stdout
    assert count(sql, "bulk%@import.example") == 1000
    assert sql("SELECT count(DISTINCT password_hash), min(quota_bytes), max(quota_bytes) FROM directory.accounts"
               " WHERE address LIKE 'bulk%%'")[0] == (1000, 2 ** 30, 2 ** 30)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 1000 and rows[0]["address"] == "bulk0000@import.example"
    assert login(polderctl, rows[500]["address"], rows[500]["password"]).returncode == 0
    events = sql("SELECT count(*) FROM audit.events WHERE event = 'admin.user.add' AND details->>'via' = 'import'"
                 " AND details->>'address' LIKE 'bulk%%'")[0][0]
    assert events == 1000
    assert sql("SELECT count(*) FROM audit.events WHERE event = 'admin.user.import'")[0][0] >= 1


def test_a_bad_line_rolls_back_everything_and_every_bad_line_is_reported(org, polderctl, sql, tmp_path):
    polderctl.ok("user", "add", "taken@import.example", "--password-stdin", input=PASSWORD + "\n")
    content = (
        "address,display_name,password,quota\n"       # line 1
        "good1@import.example,Good One,,\n"           # 2 fine
        "not-an-address,Bad,,\n"                      # 3 malformed address
        "good2@import.example,Good Two,,5G\n"         # 4 fine
        "short@import.example,Short,tiny,\n"          # 5 password too short
        "taken@import.example,Taken,,\n"              # 6 already exists
        "x@nowhere.example,Nowhere,,\n"               # 7 unknown domain
        "good1@import.example,Again,,\n"              # 8 duplicate of line 2
        "q@import.example,Quota,,lots\n"              # 9 bad quota
        "few@import.example,Few\n"                    # 10 wrong field count
        "o@other-import.example,Other org,,\n"        # 11 domain of another org (with --org)
        '"multi\nline@import.example",Multi,,\n'      # 12-13 malformed (newline inside the address)
        "good3@import.example,Good Three,,\n"         # 14 fine
    )
    f = tmp_path / "bad.csv"
    f.write_text(content)
    out = tmp_path / "bad-passwords.csv"
    r = polderctl("user", "import", f, "--org", org, "--passwords-out", out)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    reported = [int(m.group(1)) for m in (re.search(r" line (\d+): ", l) for l in lines) if m]
    assert reported == [3, 5, 6, 7, 8, 9, 10, 11, 12], r.stderr
    assert "malformed address 'not-an-address'" in lines[0]
    assert "password is too short" in lines[1] and "tiny" not in lines[1]     # never echo a password
    assert "already exists" in lines[2]
    assert "unknown domain 'nowhere.example'" in lines[3]
    assert "also appears on line 2" in lines[4]
    assert "bad quota" in lines[5]
    assert "expected 4 fields, found 2" in lines[6]
    assert "unknown domain 'other-import.example' in organisation 'import-org'" in lines[7]
    assert lines[-1] == f"polderctl: import refused: 9 bad line(s) in {f}; nothing was imported"
    assert count(sql, "good%@import.example") == 0
    assert not out.exists()


def test_import_prints_generated_passwords_when_no_file_is_given(org, polderctl, sql, tmp_path):
    f = tmp_path / "print.csv"
    f.write_bytes(
        "\ufeffaddress,display_name,password\r\n"
        'print1@import.example,"Vries, Jan de",\r\n'
        f"print2@import.example,Given,{PASSWORD}\r\n".encode())
    r = polderctl.ok("user", "import", f)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["address"] for row in rows] == ["print1@import.example"]     # only generated ones
    assert "shown only this once" in r.stderr
    assert login(polderctl, "print1@import.example", rows[0]["password"]).returncode == 0
    assert login(polderctl, "print2@import.example", PASSWORD).returncode == 0
    assert sql("SELECT display_name FROM directory.accounts WHERE address = 'print1@import.example'")[0][0] == \
        "Vries, Jan de"


def test_import_refuses_to_overwrite_a_passwords_file(org, polderctl, sql, tmp_path, expect_failure):
    f = tmp_path / "one.csv"
    f.write_text("address,display_name\nkeep@import.example,Keep\n")
    out = tmp_path / "exists.csv"
    out.write_text("precious\n")
    expect_failure(polderctl("user", "import", f, "--passwords-out", out), 1, "cannot create", "File exists")
    assert out.read_text() == "precious\n"
    assert count(sql, "keep@import.example") == 0


def test_import_refuses_bad_headers_and_files(org, polderctl, tmp_path, expect_failure):
    f = tmp_path / "h.csv"
    f.write_text("address,name\na@import.example,A\n")
    expect_failure(polderctl("user", "import", f), 1, "line 1: unknown column 'name'")
    f.write_text("display_name\nA\n")
    expect_failure(polderctl("user", "import", f), 1, "must name the columns address and display_name")
    f.write_text("address,display_name\n")
    expect_failure(polderctl("user", "import", f), 1, "has a header but no accounts")
    f.write_text('address,display_name\n"open,quote\n')
    expect_failure(polderctl("user", "import", f), 1, "line 2: a quoted field is never closed")
    expect_failure(polderctl("user", "import", tmp_path / "missing.csv"), 1, "cannot read")
