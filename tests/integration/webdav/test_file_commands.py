# test_file_commands.py - polderctl file versions|restore|trash list|trash
# restore|trash purge|expire|gc against files written over WebDAV: round trips
# of versions and trash, expiry by the configured limits, and blob garbage
# collection that removes only what nothing references.
#
# SECURITY: gc must never remove a blob a file, a version or a trash entry
# still uses, nor anything when an unknown blob column exists.
# STANDARDS: none.
import json
import os
import time

import pytest

from conftest import blob_root, large


@pytest.fixture(scope="module")
def kept(start_service, dav_org):
    return start_service("webdav", settings={"auth": {"allow_plaintext_on_loopback": True},
                                             "webdav": {"versions_keep": 5, "trash_days": 30}})


@pytest.fixture(scope="module")
def ctl(polderctl, kept):
    """polderctl with the service's configuration (database, blob folder, [webdav])."""
    def run(*args, ok=True):
        r = polderctl(*args, config=kept.config)
        if ok:
            assert r.returncode == 0, f"polderctl {args} failed: {r.stderr}"
        return r
    return run


def put(dav, kept, path, body):
    status = dav("PUT", path, body=body, port=kept.port("http"))[0]
    assert status in (201, 204)


def get(dav, kept, path):
    return dav("GET", path, port=kept.port("http"))


def test_a_previous_version_can_be_listed_and_restored(kept, dav, dav_org, ctl):
    path = dav_org.home() + "report.txt"
    for text in ("first draft", "second draft", "final"):
        put(dav, kept, path, text)
    versions = json.loads(ctl("file", "versions", dav_org.alice, "--path", "/report.txt", "--json").stdout)
    assert [v["size"] for v in versions] == [len("second draft"), len("first draft")]
    ctl("file", "restore", dav_org.alice, "--path", "report.txt", "--version", str(versions[1]["id"]))
    assert get(dav, kept, path)[2] == b"first draft"
    after = json.loads(ctl("file", "versions", dav_org.alice, "--path", "report.txt", "--json").stdout)
    assert [v["size"] for v in after] == [len("final"), len("second draft")]
    assert ctl("file", "restore", dav_org.alice, "--path", "report.txt", "--version", "999999", ok=False).returncode != 0


def test_a_deleted_folder_comes_back_from_the_trash_with_its_ids_and_properties(kept, dav, dav_org, ctl, sql):
    home = dav_org.home()
    port = kept.port("http")
    assert dav("MKCOL", home + "Minutes/", port=port)[0] == 201
    put(dav, kept, home + "Minutes/jan.txt", "january")
    put(dav, kept, home + "Minutes/feb.txt", "february")
    patch = ('<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:set><D:prop>'
             '<Z:tag>kept</Z:tag></D:prop></D:set></D:propertyupdate>')
    assert dav("PROPPATCH", home + "Minutes/jan.txt", body=patch, port=port)[0] == 207
    ids = sql("SELECT path, file_id FROM files.nodes WHERE path LIKE 'Minutes%%' ORDER BY path")
    assert dav("DELETE", home + "Minutes/", port=port)[0] == 204
    assert get(dav, kept, home + "Minutes/jan.txt")[0] == 404
    entries = json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)
    entry = next(e for e in entries if e["path"] == "Minutes")
    assert (entry["folder"], entry["items"], entry["size"], entry["deleted_by"]) == (True, 3, 15, dav_org.alice)
    ctl("file", "trash", "restore", dav_org.alice, "--id", str(entry["id"]))
    assert get(dav, kept, home + "Minutes/jan.txt")[2] == b"january"
    assert get(dav, kept, home + "Minutes/feb.txt")[2] == b"february"
    status, _, body = dav("PROPFIND", home + "Minutes/jan.txt", port=port, headers={"Depth": "0"},
                          body='<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:x-test">'
                               '<D:prop><Z:tag/></D:prop></D:propfind>')
    assert status == 207 and b">kept<" in body
    assert sql("SELECT path, file_id FROM files.nodes WHERE path LIKE 'Minutes%%' ORDER BY path") == ids
    # The entry is gone; restoring twice is refused, and so is restoring over an existing path.
    assert ctl("file", "trash", "restore", dav_org.alice, "--id", str(entry["id"]), ok=False).returncode != 0
    assert dav("DELETE", home + "Minutes/feb.txt", port=port)[0] == 204
    put(dav, kept, home + "Minutes/feb.txt", "a new february")
    entries = json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)
    feb = next(e for e in entries if e["path"] == "Minutes/feb.txt")
    assert ctl("file", "trash", "restore", dav_org.alice, "--id", str(feb["id"]), ok=False).returncode != 0
    ctl("file", "trash", "restore", dav_org.alice, "--id", str(feb["id"]), "--to", "Old/feb.txt")
    assert get(dav, kept, home + "Old/feb.txt")[2] == b"february"


def test_trash_purge_removes_one_entry_or_all(kept, dav, dav_org, ctl):
    home = dav_org.home()
    for name in ("p1.txt", "p2.txt", "p3.txt"):
        put(dav, kept, home + name, name)
        assert dav("DELETE", home + name, port=kept.port("http"))[0] == 204
    entries = json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)
    one = next(e for e in entries if e["path"] == "p1.txt")
    ctl("file", "trash", "purge", dav_org.alice, "--id", str(one["id"]))
    left = {e["path"] for e in json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)}
    assert "p1.txt" not in left and {"p2.txt", "p3.txt"} <= left
    assert ctl("file", "trash", "purge", dav_org.alice, ok=False).returncode != 0   # neither --id nor --all
    ctl("file", "trash", "purge", dav_org.alice, "--all")
    assert json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout) == []


def test_expire_drops_trash_and_versions_past_the_configured_limits(kept, dav, dav_org, ctl, sql):
    home = dav_org.home()
    put(dav, kept, home + "old.txt", "old")
    assert dav("DELETE", home + "old.txt", port=kept.port("http"))[0] == 204
    put(dav, kept, home + "fresh.txt", "fresh")
    assert dav("DELETE", home + "fresh.txt", port=kept.port("http"))[0] == 204
    for n in range(3):
        put(dav, kept, home + "aging.txt", f"v{n}")
    sql("UPDATE files.trash SET deleted_at = now() - interval '31 days' WHERE original_path = 'old.txt'")
    sql("UPDATE files.versions SET replaced_at = now() - interval '40 days' WHERE id = "
        "(SELECT min(v.id) FROM files.versions v JOIN files.nodes n ON n.id = v.node_id WHERE n.path = 'aging.txt')")
    out = ctl("file", "expire").stdout
    assert "expired 1 trash entries and 1 versions" in out
    left = {e["path"] for e in json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)}
    assert "old.txt" not in left and "fresh.txt" in left
    versions = json.loads(ctl("file", "versions", dav_org.alice, "--path", "aging.txt", "--json").stdout)
    assert len(versions) == 1


def blob_files(kept):
    return {p.name: p for p in blob_root(kept).glob("??/??/*") if len(p.name) == 64}


def age_all(files):
    old = time.time() - 3 * 86400
    for p in files.values():
        os.utime(p, (old, old))


def test_gc_removes_only_blobs_nothing_references(kept, dav, dav_org, ctl, sql):
    home = dav_org.home()
    put(dav, kept, home + "gc-current.txt", large("current content"))
    put(dav, kept, home + "gc-versioned.txt", large("old content of a versioned file"))
    put(dav, kept, home + "gc-versioned.txt", large("new content of a versioned file"))
    put(dav, kept, home + "gc-trashed.txt", large("content in the trash"))
    assert dav("DELETE", home + "gc-trashed.txt", port=kept.port("http"))[0] == 204
    put(dav, kept, home + "gc-gone.txt", large("content nobody keeps"))
    gone_blob = sql("SELECT blob_id FROM files.nodes WHERE path = 'gc-gone.txt'")[0][0]
    assert dav("DELETE", home + "gc-gone.txt", port=kept.port("http"))[0] == 204
    entries = json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)
    ctl("file", "trash", "purge", dav_org.alice, "--id", str(next(e["id"] for e in entries if e["path"] == "gc-gone.txt")))

    files = blob_files(kept)
    assert gone_blob in files
    # Within the grace period nothing goes, even unreferenced.
    assert "removed 0 " in ctl("file", "gc").stdout
    age_all(files)
    dry = ctl("file", "gc", "--dry-run").stdout
    assert dry.startswith("would remove ") and gone_blob in blob_files(kept)
    ctl("file", "gc")
    after = blob_files(kept)
    assert gone_blob not in after
    assert get(dav, kept, home + "gc-current.txt")[2] == large("current content").encode()
    referenced = {r[0] for r in sql("SELECT blob_id FROM files.nodes WHERE blob_id IS NOT NULL "
                                    "UNION SELECT blob_id FROM files.versions "
                                    "UNION SELECT e->>'blob' FROM files.trash, jsonb_array_elements(manifest) e "
                                    "WHERE e->>'blob' IS NOT NULL")}
    small = {r[0] for r in sql("SELECT id FROM files.inline_contents")}
    assert referenced <= set(after) | small
    versions = json.loads(ctl("file", "versions", dav_org.alice, "--path", "gc-versioned.txt", "--json").stdout)
    ctl("file", "restore", dav_org.alice, "--path", "gc-versioned.txt", "--version", str(versions[0]["id"]))
    assert get(dav, kept, home + "gc-versioned.txt")[2] == large("old content of a versioned file").encode()


def test_gc_removes_only_small_contents_nothing_references(kept, dav, dav_org, ctl, sql):
    # Small files keep their bytes in files.inline_contents (schema 0302);
    # `polderctl file gc` collects them by the same rules as blobs.
    home = dav_org.home()
    put(dav, kept, home + "sgc-current.txt", "small current content")
    put(dav, kept, home + "sgc-versioned.txt", "small old content")
    put(dav, kept, home + "sgc-versioned.txt", "small new content")
    put(dav, kept, home + "sgc-trashed.txt", "small content in the trash")
    assert dav("DELETE", home + "sgc-trashed.txt", port=kept.port("http"))[0] == 204
    put(dav, kept, home + "sgc-gone.txt", "small content nobody keeps")
    gone = sql("SELECT blob_id FROM files.nodes WHERE path = 'sgc-gone.txt'")[0][0]
    assert dav("DELETE", home + "sgc-gone.txt", port=kept.port("http"))[0] == 204
    entries = json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)
    ctl("file", "trash", "purge", dav_org.alice, "--id", str(next(e["id"] for e in entries if e["path"] == "sgc-gone.txt")))

    def stored():
        return {r[0] for r in sql("SELECT id FROM files.inline_contents")}

    assert gone in stored() and gone not in blob_files(kept)
    # Within the grace period nothing goes, even unreferenced.
    assert "and 0 small files" in ctl("file", "gc").stdout and gone in stored()
    sql("UPDATE files.inline_contents SET touched_at = now() - interval '3 days'")

    def small_count(out):   # "... blobs (N bytes) and K small files' contents ..."
        return int(out.split(" and ")[1].split()[0])

    dry = ctl("file", "gc", "--dry-run").stdout
    assert dry.startswith("would remove ") and small_count(dry) >= 1 and gone in stored()
    out = ctl("file", "gc").stdout
    assert small_count(out) == small_count(dry) and gone not in stored(), out
    referenced = {r[0] for r in sql("SELECT blob_id FROM files.nodes WHERE blob_id IS NOT NULL "
                                    "UNION SELECT blob_id FROM files.versions "
                                    "UNION SELECT e->>'blob' FROM files.trash, jsonb_array_elements(manifest) e "
                                    "WHERE e->>'blob' IS NOT NULL")}
    assert referenced <= stored() | set(blob_files(kept))
    assert get(dav, kept, home + "sgc-current.txt")[2] == b"small current content"
    versions = json.loads(ctl("file", "versions", dav_org.alice, "--path", "sgc-versioned.txt", "--json").stdout)
    ctl("file", "restore", dav_org.alice, "--path", "sgc-versioned.txt", "--version", str(versions[0]["id"]))
    assert get(dav, kept, home + "sgc-versioned.txt")[2] == b"small old content"
    entries = json.loads(ctl("file", "trash", "list", dav_org.alice, "--json").stdout)
    ctl("file", "trash", "restore", dav_org.alice, "--id",
        str(next(e["id"] for e in entries if e["path"] == "sgc-trashed.txt")))
    assert get(dav, kept, home + "sgc-trashed.txt")[2] == b"small content in the trash"


def test_gc_refuses_to_run_beside_an_unknown_blob_column(kept, ctl, sql):
    sql("CREATE TABLE public.unknown_blob_refs (blob_ref text)")
    try:
        r = ctl("file", "gc", ok=False)
        assert r.returncode != 0 and "unknown_blob_refs" in r.stderr
    finally:
        sql("DROP TABLE public.unknown_blob_refs")
