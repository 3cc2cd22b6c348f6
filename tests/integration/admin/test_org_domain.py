# test_org_domain.py - polderctl org add|list|remove and domain add|list|remove,
# including their refusals.

import json


def test_org_add_list_and_json(migrated, polderctl, unique):
    name = unique("org")
    r = polderctl.ok("org", "add", name.upper())
    assert f"created organisation {name}" in r.stdout      # names are stored lower-case
    listing = polderctl.ok("org", "list").stdout
    assert name in listing and listing.splitlines()[0].split() == ["ORG", "DOMAINS", "ACCOUNTS", "CREATED"]
    orgs = json.loads(polderctl.ok("org", "list", "--json").stdout)
    mine = [o for o in orgs if o["name"] == name]
    assert len(mine) == 1
    assert set(mine[0]) == {"name", "domains", "accounts", "created_at"}
    assert mine[0]["domains"] == 0 and mine[0]["accounts"] == 0
    only = json.loads(polderctl.ok("org", "list", "--json", "--org", name).stdout)
    assert [o["name"] for o in only] == [name]


def test_org_add_refuses_a_duplicate_and_a_malformed_name(migrated, polderctl, unique, expect_failure):
    name = unique("dup")
    polderctl.ok("org", "add", name)
    expect_failure(polderctl("org", "add", name), 1, f"organisation '{name}' already exists")
    expect_failure(polderctl("org", "add", "bad name"), 2, "malformed organisation name", "only letters")
    expect_failure(polderctl("org", "add", "x" * 64), 2, "longer than 63")


def test_domain_add_list_remove(migrated, polderctl, unique, sql):
    org = unique("dorg")
    polderctl.ok("org", "add", org)
    domain = f"{org}.example"
    r = polderctl.ok("domain", "add", domain.upper(), "--org", org)
    assert f"added domain {domain} to organisation {org}" in r.stdout
    domains = json.loads(polderctl.ok("domain", "list", "--org", org, "--json").stdout)
    assert domains == [{"name": domain, "org": org, "accounts": 0, "created_at": domains[0]["created_at"]}]
    assert domain in polderctl.ok("domain", "list").stdout
    r = polderctl.ok("domain", "remove", domain)
    assert f"removed domain {domain}" in r.stdout
    assert sql("SELECT count(*) FROM directory.domains WHERE name = %s", (domain,))[0][0] == 0


def test_domain_add_stores_internationalised_names_as_a_labels(migrated, polderctl, unique):
    org = unique("idn")
    polderctl.ok("org", "add", org)
    r = polderctl.ok("domain", "add", f"bücher-{org}.example", "--org", org)
    domains = json.loads(polderctl.ok("domain", "list", "--org", org, "--json").stdout)
    assert domains[0]["name"].startswith("xn--")
    assert domains[0]["name"] in r.stdout
    # the same domain typed as its A-label is the same domain
    r = polderctl("domain", "add", domains[0]["name"], "--org", org)
    assert r.returncode == 1 and "already exists" in r.stderr


def test_domain_add_refuses_unknown_org_duplicate_and_malformed_domain(migrated, polderctl, unique, expect_failure):
    org = unique("dref")
    other = unique("dother")
    polderctl.ok("org", "add", org)
    polderctl.ok("org", "add", other)
    expect_failure(polderctl("domain", "add", f"{org}.example", "--org", "no-such-org"), 1,
                   "unknown organisation 'no-such-org'")
    polderctl.ok("domain", "add", f"{org}.example", "--org", org)
    expect_failure(polderctl("domain", "add", f"{org}.example", "--org", other), 1,
                   f"domain '{org}.example' already exists", f"organisation '{org}'")
    for bad, why in [("no_underscore.example", "'_'"), ("localhost", "two labels"), ("a..b.example", "empty label"),
                     ("a-.example", "hyphen"), ("10.1.2.3", "all digits"), ("[10.1.2.3]", "address literals")]:
        expect_failure(polderctl("domain", "add", bad, "--org", org), 2, "malformed domain", why)
    # A leading hyphen reads as an option unless it follows "--", as with every CLI.
    expect_failure(polderctl("domain", "add", "--org", org, "--", "-a.example"), 2, "malformed domain", "hyphen")
    r = polderctl("domain", "add", f"{org}.example")
    assert r.returncode == 2 and "--org" in r.stderr       # --org is required


def test_removing_a_non_empty_org_or_domain_needs_force(migrated, polderctl, unique, sql, expect_failure):
    org = unique("force")
    polderctl.ok("org", "add", org)
    polderctl.ok("domain", "add", f"{org}.example", "--org", org)
    polderctl.ok("user", "add", f"a@{org}.example", "--password-stdin", input="a long enough password\n")
    polderctl.ok("alias", "add", f"alias@{org}.example", f"a@{org}.example")

    line = expect_failure(polderctl("domain", "remove", f"{org}.example"), 1, "still has 1 account", "--force")
    assert "1 alias" in line
    line = expect_failure(polderctl("org", "remove", org), 1, "still has 1 domain, 1 account, 1 alias and 0 groups",
                          "--force")
    assert sql("SELECT count(*) FROM directory.accounts WHERE address = %s", (f"a@{org}.example",))[0][0] == 1

    r = polderctl.ok("org", "remove", org, "--force")
    assert f"removed organisation {org} with 1 domain, 1 account, 1 alias and 0 groups" in r.stdout
    for table in ("orgs", "domains", "accounts", "aliases", "addresses"):
        column = "name" if table in ("orgs", "domains") else "address"
        pattern = org if table == "orgs" else f"%{org}%"
        assert sql(f"SELECT count(*) FROM directory.{table} WHERE {column} LIKE %s", (pattern,))[0][0] == 0


def test_removing_an_empty_org_needs_no_force(migrated, polderctl, unique, expect_failure):
    org = unique("empty")
    polderctl.ok("org", "add", org)
    assert f"removed organisation {org}" in polderctl.ok("org", "remove", org).stdout
    expect_failure(polderctl("org", "remove", org), 1, f"unknown organisation '{org}'")
    expect_failure(polderctl("domain", "remove", f"nothing-{org}.example"), 1, "unknown domain")
