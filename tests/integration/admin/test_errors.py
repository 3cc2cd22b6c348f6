# test_errors.py - polderctl's answers to a broken environment and a wrong
# command line: unreachable database, invalid configuration, usage errors; and
# --help on every command.

import pytest

from conftest import free_port, write_config

COMMANDS = [
    [], ["migrate"],
    ["org"], ["org", "add"], ["org", "list"], ["org", "remove"],
    ["domain"], ["domain", "add"], ["domain", "list"], ["domain", "remove"],
    ["user"], ["user", "add"], ["user", "list"], ["user", "show"], ["user", "passwd"], ["user", "disable"],
    ["user", "enable"], ["user", "remove"], ["user", "import"],
    ["app-password"], ["app-password", "add"], ["app-password", "list"], ["app-password", "revoke"],
    ["alias"], ["alias", "add"], ["alias", "list"], ["alias", "remove"],
    ["group"], ["group", "add"], ["group", "list"], ["group", "remove"],
    ["group", "member"], ["group", "member", "add"], ["group", "member", "remove"], ["group", "member", "list"],
    ["quota"], ["quota", "set"],
    ["auth"], ["auth", "test"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "polderctl")
def test_every_command_has_help(polderctl, command):
    # no config and no database needed for --help
    r = polderctl(*command, "--help", config=None)
    assert r.returncode == 0, r.stderr
    assert "Usage:" in r.stdout or "usage:" in r.stdout.lower()
    assert r.stderr == ""


def test_listing_commands_take_json_and_org(polderctl):
    for command in (["org", "list"], ["domain", "list"], ["user", "list"], ["alias", "list"], ["group", "list"],
                    ["app-password", "list"], ["group", "member", "list"]):
        help_text = polderctl(*command, "--help", config=None).stdout
        assert "--json" in help_text and "--org" in help_text, command


def test_an_unreachable_database_names_host_and_port(polderctl, make_config, expect_failure):
    port = free_port()
    config = make_config(name="unreachable.toml").read_text().replace("port = ", f"port = {port}\n#")
    path = make_config(name="unreachable2.toml")
    path.write_text(config)
    for command in (["org", "list"], ["migrate"], ["user", "add", "a@b.example"]):
        expect_failure(polderctl(*command, config=path), 69, f"127.0.0.1:{port}")


@pytest.mark.parametrize("extra, key", [
    ("[database]\nprot = 5432\n", "database.prot"),
    ("[auth]\nmin_password_length = \"long\"\n", "auth.min_password_length"),
])
def test_an_invalid_config_names_the_key(polderctl, tmp_path, pg, database, extra, key, expect_failure):
    path = tmp_path / "bad.toml"
    if extra.startswith("[database]"):
        path.write_text(f'[database]\nhost = "{pg.host}"\nport = {pg.port}\nname = "{database}"\n'
                        + extra.split("\n", 1)[1])
    else:
        write_config(path, pg, database, extra)
    expect_failure(polderctl("org", "list", config=path), 78, key)


def test_an_out_of_range_port_names_the_key(polderctl, tmp_path, expect_failure):
    path = tmp_path / "port.toml"
    path.write_text("[database]\nport = 70000\n")
    expect_failure(polderctl("org", "list", config=path), 78, "database.port")


def test_an_invalid_environment_override_names_the_variable(polderctl, expect_failure):
    expect_failure(polderctl("org", "list", env={"POLDER_DATABASE_PORT": "many"}), 78, "POLDER_DATABASE_PORT")


def test_a_missing_config_file_is_a_config_error(polderctl, tmp_path, expect_failure):
    expect_failure(polderctl("org", "list", config=tmp_path / "nope.toml"), 78, "nope.toml")


def test_the_config_can_come_from_polder_config(polderctl, config_file, migrated):
    r = polderctl("org", "list", config=None, env={"POLDER_CONFIG": str(config_file)})
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["org"], ["org", "add"], ["org", "add", "a", "b"], ["user", "add", "--quota"],
    ["app-password", "revoke", "a@b.example", "-5"],
])
def test_usage_errors_exit_2_with_one_line(polderctl, args, expect_failure):
    expect_failure(polderctl(*args, config=None), 2, "polderctl")
