-- 0305_files_put_new_files.sql - a batch of new files in ONE statement.
--
-- polder-webdavd commits concurrent PUTs together (db::batch_commit, 0304). A
-- batch still cost four round trips: BEGIN, files.begin_puts, files.insert_files
-- and COMMIT, each a query for PostgreSQL (~0.1 ms of CPU on a small machine,
-- whatever the query) and a wait for the PUTs' clients. With a WAL flush of
-- ~0.15 ms on an SSD, those round trips, not the disk, set the rate of small
-- PUTs.
--
-- files.put_new_files does what that transaction does for the common case, a
-- PUT that creates a file, in one statement sent outside a transaction block
-- (it commits by itself): it resolves the items' homes and takes their changes
-- (files.begin_change, ascending home id: the global lock order of 0304), reads
-- the nodes at every item's path and parent after the locks (a new snapshot,
-- READ COMMITTED), decides each item in arrival order, and writes the ones it
-- takes with files.insert_files. Per item it answers:
--   201  created;
--   409  no parent collection;
--   405  a collection is at the path;
--   507  the home's quota would be exceeded (usage counted in arrival order);
--   0    left to the caller's transaction (files.begin_puts and the checks in
--        polder-webdavd): a file at the path (an overwrite keeps versions), a
--        path an earlier item of the batch takes, a home with any live lock
--        (the lock rules need the If header), an account without a home yet.
-- The caller sends only PUTs without If, If-Match (a missing target fails
-- them) and If-Unmodified-Since is only about an existing file.
--
-- The bytes of files kept in the database come as ONE bytea parameter, sent
-- in binary: file i's are p_sizes[i] octets at offset p_content_at[i] (-1:
-- in the blob store). As a bytea[] they came as hex text that PostgreSQL
-- scanned twice (the array's parser, then hex decoding): a tenth of its time
-- for a batch of 4 KiB files.
--
-- SECURITY: homes are named by id or resolved from the caller's own account,
-- as begin_puts does; the checks are those of polder-webdavd's PUT for a new
-- file (parent, collection, quota; live locks send the item to the full
-- checks). Fixed SQL with parameters.
-- STANDARDS: RFC 4918 9.7.1 (409 without a parent, 405 on a collection),
-- RFC 4331 (507), PostgreSQL 15 manual 13.2.1 (a snapshot per statement).

CREATE FUNCTION files.put_new_files(p_homes bigint[], p_accounts bigint[], p_paths text[], p_parents text[],
                                    p_names text[], p_blobs text[], p_sizes bigint[], p_types text[],
                                    p_etags text[], p_content bytea, p_content_at bigint[])
RETURNS TABLE (item integer, status integer)
LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
    SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    n integer := cardinality(p_paths);
    homes bigint[];
    hid bigint;
    c record;
    ids bigint[] := '{}';
    mods bigint[] := '{}';
    useds bigint[] := '{}';
    quotas bigint[] := '{}';
    locked boolean[] := '{}';
    parent_ids bigint[];
    parent_dirs boolean[];
    target_dirs boolean[];
    st integer[];
    k integer;
    taken text[] := '{}';
    t_homes bigint[] := '{}';
    t_parents bigint[] := '{}';
    t_paths text[] := '{}';
    t_names text[] := '{}';
    t_blobs text[] := '{}';
    t_sizes bigint[] := '{}';
    t_types text[] := '{}';
    t_etags text[] := '{}';
    t_modseqs bigint[] := '{}';
    c_ids text[];
    c_contents bytea[];
    a_homes bigint[];
    a_paths text[];
    a_modseqs bigint[];
BEGIN
    IF n IS NULL OR n = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(coalesce(NULLIF(t.h, 0), (SELECT ho.id FROM files.homes ho WHERE ho.account_id = t.a))
                     ORDER BY t.o)
      INTO homes
      FROM unnest(p_homes, p_accounts) WITH ORDINALITY AS t(h, a, o);
    FOR hid IN SELECT DISTINCT x.id FROM unnest(homes) AS x(id) WHERE x.id IS NOT NULL ORDER BY x.id LOOP
        SELECT b.modseq, b.used_bytes, b.quota_bytes INTO c FROM files.begin_change(hid) b;
        ids := ids || hid;
        mods := mods || c.modseq;
        useds := useds || c.used_bytes;
        quotas := quotas || c.quota_bytes;
        locked := locked || EXISTS (SELECT 1 FROM files.locks l WHERE l.home_id = hid AND l.expires_at > now());
    END LOOP;
    -- The nodes, read after the locks: the parent's id and kind, whether the
    -- target exists and is a collection (NULL: nothing there).
    SELECT array_agg(pn.id ORDER BY t.o), array_agg(pn.is_collection ORDER BY t.o),
           array_agg(tn.is_collection ORDER BY t.o)
      INTO parent_ids, parent_dirs, target_dirs
      FROM unnest(homes, p_paths, p_parents) WITH ORDINALITY AS t(h, p, pp, o)
      LEFT JOIN files.nodes pn ON pn.home_id = t.h AND pn.path = t.pp
      LEFT JOIN files.nodes tn ON tn.home_id = t.h AND tn.path = t.p;
    st := array_fill(0, ARRAY[n]);
    FOR i IN 1 .. n LOOP
        hid := homes[i];
        CONTINUE WHEN hid IS NULL;
        k := array_position(ids, hid);
        CONTINUE WHEN locked[k];
        CONTINUE WHEN (hid::text || '/' || p_paths[i]) = ANY (taken);
        IF parent_ids[i] IS NULL OR NOT parent_dirs[i] THEN
            st[i] := 409;
        ELSIF target_dirs[i] THEN
            st[i] := 405;
        ELSIF target_dirs[i] IS NOT NULL THEN
            CONTINUE;   -- a file is there: an overwrite
        ELSIF quotas[k] IS NOT NULL AND p_sizes[i] > greatest(0, quotas[k] - useds[k]) THEN
            st[i] := 507;
        ELSE
            st[i] := 201;
            useds[k] := useds[k] + p_sizes[i];
            taken := taken || (hid::text || '/' || p_paths[i]);
            t_homes := t_homes || hid;
            t_parents := t_parents || parent_ids[i];
            t_paths := t_paths || p_paths[i];
            t_names := t_names || p_names[i];
            t_blobs := t_blobs || p_blobs[i];
            t_sizes := t_sizes || p_sizes[i];
            t_types := t_types || p_types[i];
            t_etags := t_etags || p_etags[i];
            t_modseqs := t_modseqs || mods[k];
        END IF;
    END LOOP;
    IF cardinality(t_paths) > 0 THEN
        -- Contents kept in the database, each listed once (ON CONFLICT DO UPDATE
        -- may not touch a row twice in one statement).
        SELECT coalesce(array_agg(d.id), '{}'),
               coalesce(array_agg(substring(p_content FROM (d.at + 1)::integer FOR d.size::integer)), '{}')
          INTO c_ids, c_contents
          FROM (SELECT DISTINCT ON (x.id) x.id, x.at, x.size
                  FROM unnest(p_blobs, p_content_at, p_sizes, st) AS x(id, at, size, s)
                 WHERE x.s = 201 AND x.at >= 0
                 ORDER BY x.id) d;
        -- Every ancestor of a new file ('' the root, then each prefix), once.
        SELECT coalesce(array_agg(a.h), '{}'), coalesce(array_agg(a.p), '{}'), coalesce(array_agg(a.m), '{}')
          INTO a_homes, a_paths, a_modseqs
          FROM (SELECT DISTINCT f.h, array_to_string((string_to_array(f.p, '/'))[1:g.k], '/') AS p, f.m
                  FROM unnest(t_homes, t_paths, t_modseqs) AS f(h, p, m),
                       generate_series(0, cardinality(string_to_array(f.p, '/')) - 1) AS g(k)) a;
        PERFORM files.insert_files(c_ids, c_contents, a_homes, a_paths, a_modseqs, t_homes, t_parents, t_paths,
                                   t_names, t_blobs, t_sizes, t_types, t_etags, t_modseqs);
    END IF;
    RETURN QUERY SELECT s.o::integer, s.v FROM unnest(st) WITH ORDINALITY AS s(v, o);
END
$$;

COMMENT ON FUNCTION files.put_new_files(bigint[], bigint[], text[], text[], text[], text[], bigint[], text[], text[],
                                        bytea, bigint[]) IS
    'A batch of PUTs creating files, in one statement; items it cannot decide alone are left (status 0)';
