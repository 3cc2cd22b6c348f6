# test_versions_trash.py - overwriting keeps previous versions (bounded by
# webdav.versions_keep) and deleting records the subtree in the trash, so
# nothing a user overwrites or deletes is lost at once.
#
# SECURITY: versions and trash rows stay in the owner's home.
# STANDARDS: none beyond RFC 4918 PUT / DELETE semantics (the live resource
# behaves as if nothing was kept).
import pytest


@pytest.fixture(scope="module")
def kept(start_service, dav_org):
    return start_service("webdav", settings={"auth": {"allow_plaintext_on_loopback": True},
                                             "webdav": {"versions_keep": 2, "trash_days": 30}})


def test_overwrites_keep_a_bounded_number_of_previous_versions(kept, dav, dav_org, sql):
    path = dav_org.home() + "versioned.txt"
    for n in range(4):
        assert dav("PUT", path, body=f"version {n}", port=kept.port("http"))[0] in (201, 204)
    assert dav("PUT", path, body="version 3", port=kept.port("http"))[0] == 204   # same content: no new version
    status, _, body = dav("GET", path, port=kept.port("http"))
    assert (status, body) == (200, b"version 3")
    rows = sql("SELECT v.size FROM files.versions v JOIN files.nodes n ON n.id = v.node_id "
               "JOIN files.homes h ON h.id = n.home_id JOIN directory.accounts a ON a.id = h.account_id "
               "WHERE a.address = %s AND n.path = 'versioned.txt' ORDER BY v.replaced_at DESC, v.id DESC",
               (dav_org.alice,))
    assert [r[0] for r in rows] == [len("version 2"), len("version 1")]


def test_delete_records_the_subtree_in_the_trash(kept, dav, dav_org, sql):
    home = dav_org.home()
    assert dav("MKCOL", home + "bin/", port=kept.port("http"))[0] == 201
    assert dav("PUT", home + "bin/one.txt", body="one", port=kept.port("http"))[0] == 201
    assert dav("PUT", home + "bin/two.txt", body="two!", port=kept.port("http"))[0] == 201
    assert dav("DELETE", home + "bin/", port=kept.port("http"))[0] == 204
    assert dav("GET", home + "bin/one.txt", port=kept.port("http"))[0] == 404
    rows = sql("SELECT t.original_path, t.is_collection, t.size, t.manifest, a.address FROM files.trash t "
               "JOIN files.homes h ON h.id = t.home_id JOIN directory.accounts a ON a.id = t.deleted_by "
               "WHERE h.account_id = (SELECT id FROM directory.accounts WHERE address = %s) "
               "AND t.original_path = 'bin'", (dav_org.alice,))
    assert len(rows) == 1
    path, is_collection, size, manifest, who = rows[0]
    assert (path, is_collection, size, who) == ("bin", True, 7, dav_org.alice)
    assert sorted(e["path"] for e in manifest) == ["", "/one.txt", "/two.txt"]
    assert all(len(e["blob"]) == 64 for e in manifest if not e["collection"])
