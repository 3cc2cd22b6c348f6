# test_expiry.py - polder-webdavd's own periodic clean-up (webdav.
# expire_interval_seconds): trash entries and versions past their retention
# are dropped and the blobs only they referenced are removed once older than
# webdav.gc_grace_hours, while blobs a current file references, young blobs
# and young trash entries stay. Two webdavds share the database, and while
# another session holds the expiry advisory lock neither of them works.
#
# Ages are made by moving timestamps back (deleted_at / replaced_at in SQL,
# the blob files' mtime with os.utime): retention is counted in days.
#
# SECURITY: nothing referenced is ever collected; the lock keeps replicas
# from working at once.
# STANDARDS: none.
import os
import time

import pytest

from conftest import blob_file, large

ADVISORY_KEY = 0x706f6c6465726678   # services/webdav/src/maintenance.hpp
TWO_DAYS = 2 * 86400
SETTINGS = {"auth": {"allow_plaintext_on_loopback": True},
            "webdav": {"expire_interval_seconds": 1, "trash_days": 1, "versions_keep": 5,
                       "versions_max_age_days": 1, "gc_grace_hours": 1}}


@pytest.fixture(scope="module")
def cleaners(start_service):
    return [start_service("webdav", settings=SETTINGS), start_service("webdav", settings=SETTINGS)]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_the_service_expires_trash_and_versions_and_collects_their_blobs(cleaners, dav, dav_org, sql, pg, database):
    svc = cleaners[0]
    port = svc.port("http")
    home = dav_org.home()
    marker = os.urandom(8).hex()
    # Hold the expiry lock, as another webdavd in the middle of a run would.
    holder = pg.connect(database)
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_KEY,))

    def put(path, body):
        assert dav("PUT", home + path, body=large(body), port=port)[0] in (201, 204)

    put("old-trash.txt", f"old trash {marker}")
    put("young-trash.txt", f"young trash {marker}")
    put("versioned.txt", f"version one {marker}")
    put("versioned.txt", f"version two {marker}")
    put("kept.txt", f"kept {marker}")
    assert dav("DELETE", home + "old-trash.txt", port=port)[0] == 204
    assert dav("DELETE", home + "young-trash.txt", port=port)[0] == 204

    def trash_blob(name):
        return sql("SELECT manifest->0->>'blob' FROM files.trash WHERE original_path = %s", (name,))[0][0]

    old_trash = trash_blob("old-trash.txt")
    young_trash = trash_blob("young-trash.txt")
    old_version = sql("SELECT v.blob_id FROM files.versions v JOIN files.nodes n ON n.id = v.node_id "
                      "WHERE n.path = 'versioned.txt'")[0][0]
    kept = sql("SELECT blob_id FROM files.nodes WHERE path = 'kept.txt'")[0][0]
    sql("UPDATE files.trash SET deleted_at = now() - interval '2 days' WHERE original_path = 'old-trash.txt'")
    sql("UPDATE files.versions SET replaced_at = now() - interval '2 days'")
    for hex_id in (old_trash, young_trash, old_version, kept):
        age(blob_file(svc, hex_id), TWO_DAYS)

    # While the lock is held by someone else, both services skip their rounds.
    time.sleep(3.5)
    assert sql("SELECT count(*) FROM files.trash WHERE original_path = 'old-trash.txt'")[0][0] == 1
    assert sql("SELECT count(*) FROM files.versions")[0][0] == 1
    assert blob_file(svc, old_trash).exists()
    for s in cleaners:
        assert "webdav.expiry_skipped" in s.log(), s.log()[-3000:]

    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
    holder.close()

    wait_for(lambda: not blob_file(svc, old_trash).exists() and not blob_file(svc, old_version).exists(),
             timeout=30, what="the expired trash entry's and version's blobs to be collected")
    assert sql("SELECT original_path FROM files.trash") == [("young-trash.txt",)]
    assert sql("SELECT count(*) FROM files.versions")[0][0] == 0
    # Referenced by a current file, or by a trash entry still within retention: kept.
    assert blob_file(svc, kept).exists()
    assert blob_file(svc, young_trash).exists()
    status, _, body = dav("GET", home + "kept.txt", port=port)
    assert (status, body) == (200, large(f"kept {marker}").encode())
    status, _, body = dav("GET", home + "versioned.txt", port=port)
    assert (status, body) == (200, large(f"version two {marker}").encode())
    assert any("webdav.expiry" in s.log() and "blobs_removed" in s.log() for s in cleaners)


def test_a_blob_within_the_grace_period_is_not_collected(cleaners, dav, dav_org, sql):
    svc = cleaners[0]
    port = svc.port("http")
    marker = os.urandom(8).hex()
    path = dav_org.home() + "fresh-trash.txt"
    assert dav("PUT", path, body=large(f"fresh {marker}"), port=port)[0] == 201
    assert dav("DELETE", path, port=port)[0] == 204
    blob = sql("SELECT manifest->0->>'blob' FROM files.trash WHERE original_path = 'fresh-trash.txt'")[0][0]
    # The trash entry is past retention, but its blob was written just now.
    sql("UPDATE files.trash SET deleted_at = now() - interval '2 days' WHERE original_path = 'fresh-trash.txt'")
    wait_for(lambda: not sql("SELECT 1 FROM files.trash WHERE original_path = 'fresh-trash.txt'"), timeout=30,
             what="the trash entry to expire")
    time.sleep(2.5)   # two more rounds
    assert blob_file(svc, blob).exists()


def test_small_files_contents_in_the_database_are_collected_like_blobs(cleaners, dav, dav_org, sql):
    # Small files keep their bytes in files.inline_contents (schema 0302): an
    # expired trash entry's and version's contents go once untouched for the
    # grace period; a current file's, a young trash entry's and a recently
    # touched one stay.
    svc = cleaners[0]
    port = svc.port("http")
    home = dav_org.home()
    marker = os.urandom(8).hex()

    def put(path, body):
        assert dav("PUT", home + path, body=body, port=port)[0] in (201, 204)

    put("s-old-trash.txt", f"small old trash {marker}")
    put("s-young-trash.txt", f"small young trash {marker}")
    put("s-versioned.txt", f"small version one {marker}")
    put("s-versioned.txt", f"small version two {marker}")
    put("s-kept.txt", f"small kept {marker}")
    put("s-touched.txt", f"small touched {marker}")
    for name in ("s-old-trash.txt", "s-young-trash.txt", "s-touched.txt"):
        assert dav("DELETE", home + name, port=port)[0] == 204

    def trash_blob(name):
        return sql("SELECT manifest->0->>'blob' FROM files.trash WHERE original_path = %s", (name,))[0][0]

    old_trash, young_trash, touched = (trash_blob(n) for n in ("s-old-trash.txt", "s-young-trash.txt",
                                                                "s-touched.txt"))
    old_version = sql("SELECT v.blob_id FROM files.versions v JOIN files.nodes n ON n.id = v.node_id "
                      "WHERE n.path = 's-versioned.txt'")[0][0]
    kept = sql("SELECT blob_id FROM files.nodes WHERE path = 's-kept.txt'")[0][0]
    ids = (old_trash, young_trash, touched, old_version, kept)

    def stored():
        return {r[0] for r in sql("SELECT id FROM files.inline_contents WHERE id = ANY(%s)", (list(ids),))}

    assert stored() == set(ids)
    for path in ids:   # no blob file for any of them
        assert not blob_file(svc, path).exists()
    sql("UPDATE files.trash SET deleted_at = now() - interval '2 days' "
        "WHERE original_path IN ('s-old-trash.txt', 's-touched.txt')")
    sql("UPDATE files.versions v SET replaced_at = now() - interval '2 days' FROM files.nodes n "
        "WHERE n.id = v.node_id AND n.path = 's-versioned.txt'")
    sql("UPDATE files.inline_contents SET touched_at = now() - interval '2 days' WHERE id = ANY(%s)", (list(ids),))
    # The same bytes stored again just now: touched, so not collected though
    # both trash entries naming them expire.
    put("s-touched-again.txt", f"small touched {marker}")
    assert dav("DELETE", home + "s-touched-again.txt", port=port)[0] == 204
    sql("UPDATE files.trash SET deleted_at = now() - interval '2 days' WHERE original_path = 's-touched-again.txt'")

    wait_for(lambda: old_trash not in stored() and old_version not in stored(), timeout=30,
             what="the expired trash entry's and version's contents to be collected")
    time.sleep(2.5)   # two more rounds
    assert stored() == {young_trash, touched, kept}
    status, _, body = dav("GET", home + "s-kept.txt", port=port)
    assert (status, body) == (200, f"small kept {marker}".encode())
    status, _, body = dav("GET", home + "s-versioned.txt", port=port)
    assert (status, body) == (200, f"small version two {marker}".encode())
    assert not sql("SELECT 1 FROM files.trash WHERE original_path IN ('s-touched.txt', 's-touched-again.txt')")
    assert any("inline_removed" in s.log() for s in cleaners)
