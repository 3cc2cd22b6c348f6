# test_tenancy.py - two accounts in different organisations cannot see each
# other through any polderctl listing: --org filters show only their own
# organisation, unfiltered listings label every row with its own organisation,
# and --org-scoped commands treat the other organisation's objects as unknown.

import json

import pytest

PASSWORD = "tenant password 1"
ORGS = {"tenant-a": "tenant-a.example", "tenant-b": "tenant-b.example"}


@pytest.fixture(scope="module")
def tenants(migrated, polderctl):
    for org, domain in ORGS.items():
        polderctl.ok("org", "add", org)
        polderctl.ok("domain", "add", domain, "--org", org)
        polderctl.ok("user", "add", f"user@{domain}", "--password-stdin", input=PASSWORD + "\n")
        polderctl.ok("alias", "add", f"alias@{domain}", f"user@{domain}")
        polderctl.ok("group", "add", "Everyone", "--org", org, "--address", f"everyone@{domain}")
        polderctl.ok("group", "member", "add", "Everyone", f"user@{domain}")
        polderctl.ok("app-password", "add", f"user@{domain}", "--label", f"{org} phone")
    return ORGS


def listing(polderctl, *args):
    return json.loads(polderctl.ok(*args, "--json").stdout)


@pytest.mark.parametrize("org, other", [("tenant-a", "tenant-b"), ("tenant-b", "tenant-a")])
def test_org_filtered_listings_show_only_that_organisation(tenants, polderctl, org, other):
    other_domain = tenants[other]
    outputs = {
        "org": listing(polderctl, "org", "list", "--org", org),
        "domain": listing(polderctl, "domain", "list", "--org", org),
        "user": listing(polderctl, "user", "list", "--org", org),
        "alias": listing(polderctl, "alias", "list", "--org", org),
        "group": listing(polderctl, "group", "list", "--org", org),
        "member": listing(polderctl, "group", "member", "list", "Everyone", "--org", org),
        "app-password": listing(polderctl, "app-password", "list", f"user@{tenants[org]}", "--org", org),
        "show": listing(polderctl, "user", "show", f"user@{tenants[org]}", "--org", org),
    }
    for what, value in outputs.items():
        text = json.dumps(value)
        assert other not in text, f"{what} --org {org} shows {other}: {text}"
        assert other_domain not in text, f"{what} --org {org} shows {other_domain}: {text}"
    assert [u["address"] for u in outputs["user"]] == [f"user@{tenants[org]}"]
    assert outputs["member"] == [f"user@{tenants[org]}"]
    assert [p["label"] for p in outputs["app-password"]] == [f"{org} phone"]
    assert outputs["show"]["aliases"] == [f"alias@{tenants[org]}"]
    # text output too
    for command in (["domain", "list"], ["user", "list"], ["alias", "list"], ["group", "list"]):
        text = polderctl.ok(*command, "--org", org).stdout
        assert other_domain not in text and other not in text, (command, text)


def test_unfiltered_listings_label_every_row_with_its_own_organisation(tenants, polderctl):
    for command, key in ((["domain", "list"], "name"), (["user", "list"], "address"), (["alias", "list"], "address"),
                         (["group", "list"], "address")):
        for row in listing(polderctl, *command):
            for org, domain in tenants.items():
                if row[key] and row[key].endswith(domain):
                    assert row["org"] == org, (command, row)
    for group in listing(polderctl, "group", "list"):
        if group["org"] in tenants:
            assert all(m.endswith(tenants[group["org"]]) for m in group["members"]), group


def test_org_scoped_commands_treat_the_other_organisation_as_unknown(tenants, polderctl, expect_failure):
    a, b = tenants["tenant-a"], tenants["tenant-b"]
    for args in (["user", "show", f"user@{b}"], ["app-password", "list", f"user@{b}"],
                 ["user", "passwd", f"user@{b}", "--password-stdin"], ["user", "disable", f"user@{b}"],
                 ["quota", "set", f"user@{b}", "1G"], ["user", "remove", f"user@{b}"],
                 ["app-password", "add", f"user@{b}", "--label", "x"]):
        expect_failure(polderctl(*args, "--org", "tenant-a", input=PASSWORD + "\n"), 1,
                       f"unknown user 'user@{b}' in organisation 'tenant-a'")
    expect_failure(polderctl("alias", "remove", f"alias@{b}", "--org", "tenant-a"), 1, "unknown alias")
    expect_failure(polderctl("domain", "remove", b, "--org", "tenant-a"), 1, "unknown domain")
    expect_failure(polderctl("user", "list", "--domain", b, "--org", "tenant-a"), 1, "unknown domain")
    expect_failure(polderctl("group", "member", "list", f"everyone@{b}", "--org", "tenant-a"), 1, "unknown group")
    expect_failure(polderctl("user", "add", f"new@{b}", "--org", "tenant-a"), 1,
                   f"unknown domain '{b}' in organisation 'tenant-a'")
    # nothing changed in tenant-b
    assert listing(polderctl, "user", "show", f"user@{b}")["disabled"] is False


def test_cross_organisation_links_are_refused(tenants, polderctl, sql, expect_failure):
    a, b = tenants["tenant-a"], tenants["tenant-b"]
    expect_failure(polderctl("alias", "add", f"link@{a}", f"user@{b}"), 1, "belongs to organisation")
    expect_failure(polderctl("group", "member", "add", "Everyone", f"user@{b}", "--org", "tenant-a"), 1, "unknown user")
    # and the database itself refuses them, whatever program tries
    import psycopg2
    with pytest.raises(psycopg2.Error, match="group_members_account_fk|violates foreign key"):
        sql("INSERT INTO directory.group_members (group_id, account_id, org_id)"
            " SELECT g.id, a.id, g.org_id FROM directory.groups g, directory.accounts a"
            " WHERE g.address = %s AND a.address = %s", (f"everyone@{a}", f"user@{b}"))


def test_an_app_password_only_opens_its_own_account(tenants, polderctl):
    a, b = tenants["tenant-a"], tenants["tenant-b"]
    r = polderctl.ok("app-password", "add", f"user@{b}", "--label", "cross", "--json")
    secret = json.loads(r.stdout)["password"]
    assert polderctl("auth", "test", f"user@{b}", input=secret + "\n").returncode == 0
    assert polderctl("auth", "test", f"user@{a}", input=secret + "\n").returncode == 1
