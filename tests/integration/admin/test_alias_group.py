# test_alias_group.py - polderctl alias add|list|remove and group
# add|list|remove, group member add|remove|list.

import json

import pytest

PASSWORD = "group test password"


@pytest.fixture(scope="module")
def setup(migrated, polderctl):
    for org in ("ag-one", "ag-two"):
        polderctl.ok("org", "add", org)
        polderctl.ok("domain", "add", f"{org}.example", "--org", org)
        for user in ("erik", "fien"):
            polderctl.ok("user", "add", f"{user}@{org}.example", "--password-stdin", input=PASSWORD + "\n")


def test_alias_add_list_remove(setup, polderctl, sql):
    r = polderctl.ok("alias", "add", "Sales@ag-one.example", "erik@ag-one.example")
    assert "added alias sales@ag-one.example -> erik@ag-one.example" in r.stdout
    aliases = json.loads(polderctl.ok("alias", "list", "--org", "ag-one", "--json").stdout)
    assert aliases == [{"address": "sales@ag-one.example", "org": "ag-one", "target": "erik@ag-one.example",
                        "created_at": aliases[0]["created_at"]}]
    by_target = json.loads(polderctl.ok("alias", "list", "--target", "erik@ag-one.example", "--json").stdout)
    assert [a["address"] for a in by_target] == ["sales@ag-one.example"]
    assert "sales@ag-one.example" in polderctl.ok("alias", "list").stdout
    assert sql("SELECT kind FROM directory.addresses WHERE address = 'sales@ag-one.example'") == [("alias",)]
    polderctl.ok("alias", "remove", "sales@ag-one.example")
    assert sql("SELECT count(*) FROM directory.aliases WHERE address = 'sales@ag-one.example'")[0][0] == 0


def test_alias_refusals(setup, polderctl, expect_failure):
    expect_failure(polderctl("alias", "add", "fien@ag-one.example", "erik@ag-one.example"), 1,
                   "already in use by a user")
    expect_failure(polderctl("alias", "add", "x@ag-two.example", "erik@ag-one.example"), 1,
                   "belongs to organisation 'ag-two'", "'ag-one'")
    expect_failure(polderctl("alias", "add", "x@nowhere.example", "erik@ag-one.example"), 1, "unknown domain")
    expect_failure(polderctl("alias", "add", "x@ag-one.example", "nobody@ag-one.example"), 1, "unknown user")
    expect_failure(polderctl("alias", "add", "x..y@ag-one.example", "erik@ag-one.example"), 2, "malformed address")
    expect_failure(polderctl("alias", "remove", "nothing@ag-one.example"), 1, "unknown alias")


def test_group_add_members_and_remove(setup, polderctl, sql):
    r = polderctl.ok("group", "add", "Team Finance", "--org", "ag-one", "--address", "finance@ag-one.example")
    assert "created group Team Finance in organisation ag-one with address finance@ag-one.example" in r.stdout
    polderctl.ok("group", "member", "add", "Team Finance", "erik@ag-one.example")
    polderctl.ok("group", "member", "add", "finance@ag-one.example", "fien@ag-one.example")
    members = json.loads(polderctl.ok("group", "member", "list", "team finance", "--org", "ag-one", "--json").stdout)
    assert members == ["erik@ag-one.example", "fien@ag-one.example"]
    groups = json.loads(polderctl.ok("group", "list", "--org", "ag-one", "--json").stdout)
    assert groups == [{"name": "Team Finance", "org": "ag-one", "address": "finance@ag-one.example",
                       "members": members, "created_at": groups[0]["created_at"]}]
    show = json.loads(polderctl.ok("user", "show", "erik@ag-one.example", "--json").stdout)
    assert show["groups"] == ["Team Finance"]
    polderctl.ok("group", "member", "remove", "Team Finance", "erik@ag-one.example")
    members = json.loads(polderctl.ok("group", "member", "list", "Team Finance", "--json").stdout)
    assert members == ["fien@ag-one.example"]
    polderctl.ok("group", "remove", "Team Finance", "--org", "ag-one")
    assert sql("SELECT count(*) FROM directory.addresses WHERE address = 'finance@ag-one.example'")[0][0] == 0
    # members stay
    assert sql("SELECT count(*) FROM directory.accounts WHERE address = 'fien@ag-one.example'")[0][0] == 1


def test_group_refusals(setup, polderctl, expect_failure):
    polderctl.ok("group", "add", "Staff", "--org", "ag-one")
    polderctl.ok("group", "add", "Staff", "--org", "ag-two")
    expect_failure(polderctl("group", "add", "staff", "--org", "ag-one"), 1, "already exists")
    expect_failure(polderctl("group", "add", "G", "--org", "ag-one", "--address", "erik@ag-one.example"), 1,
                   "already in use by a user")
    expect_failure(polderctl("group", "add", "G", "--org", "ag-one", "--address", "g@ag-two.example"), 1,
                   "unknown domain 'ag-two.example' in organisation 'ag-one'")
    expect_failure(polderctl("group", "add", "a@b", "--org", "ag-one"), 2, "bad group name")
    expect_failure(polderctl("group", "remove", "Staff"), 1, "exists in several organisations", "--org")
    expect_failure(polderctl("group", "member", "add", "Staff", "erik@ag-two.example", "--org", "ag-one"), 1,
                   "unknown user 'erik@ag-two.example' in organisation 'ag-one'")
    # without --org the member's organisation picks the group
    polderctl.ok("group", "member", "add", "Staff", "erik@ag-two.example")
    expect_failure(polderctl("group", "member", "add", "Staff", "erik@ag-two.example"), 1, "already a member")
    expect_failure(polderctl("group", "member", "remove", "Staff", "fien@ag-two.example"), 1, "is not a member")
    one = json.loads(polderctl.ok("group", "member", "list", "Staff", "--org", "ag-one", "--json").stdout)
    assert one == []
    expect_failure(polderctl("group", "remove", "Nothing", "--org", "ag-one"), 1, "unknown group 'Nothing'")
