-- 0304_files_batch_puts.sql - a batch of PUTs read and written with a few
-- set-based statements.
--
-- polder-webdavd commits concurrent PUTs in one transaction (db::batch_commit).
-- Until now each PUT of a batch ran its own statements: begin_change_at
-- (lock, modseq, the target's and parent's nodes), then one INSERT. Most of
-- the database's time for a small file went to the statement round trips
-- and per-statement work (executor start-up, constraint expressions loaded
-- again, a row trigger's UPDATE of the home row per file), not to the row.
--
-- files.begin_puts does for a whole batch what begin_change_at (0303, dropped
-- here) did for one PUT: it resolves each item's home (p_homes[i] = 0: the
-- personal home of p_accounts[i]), takes each distinct home's change (files.begin_change,
-- 0303) in ascending id order - one global lock order, so two batches, or a
-- batch and anything else locking homes ascending, never deadlock - and then,
-- in a statement of its own (READ COMMITTED: a new snapshot, taken after the
-- locks), reads the nodes at every item's path and parent. One row per node
-- found, one row with node NULL for an item where neither exists; an item
-- whose account has no home yet gets no row (the caller creates the home and
-- asks again).
--
-- The quota trigger becomes statement-level for INSERT and DELETE, with
-- transition tables: a statement inserting 30 files updates the home's row
-- once, not 30 times (each UPDATE of the row leaves a row version behind that
-- later ones walk past until the transaction ends). UPDATE OF size, home_id
-- keeps the row-level trigger: transition tables are not allowed with a
-- column list, and without one every modseq stamp of an ancestor would
-- build them.
--
-- files.insert_files writes the new files of a batch with one statement.
-- These functions run with one generic plan of a fixed shape (see
-- insert_files).
--
-- SECURITY: homes are named by id or resolved from the caller's own account,
-- as begin_change_at did; every statement is fixed SQL with parameters.
-- STANDARDS: PostgreSQL 15 manual 43.10 (trigger functions, transition
-- tables), 13.2.1 (READ COMMITTED snapshots per statement).

CREATE FUNCTION files.begin_puts(p_homes bigint[], p_accounts bigint[], p_paths text[], p_parents text[])
RETURNS TABLE (item integer, home_id bigint, modseq bigint, used_bytes bigint, quota_bytes bigint,
               any_lock boolean, node files.nodes)
LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
    SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    homes bigint[];
    hid bigint;
    c record;
    ids bigint[] := '{}';
    mods bigint[] := '{}';
    useds bigint[] := '{}';
    quotas bigint[] := '{}';
    locked boolean[] := '{}';
BEGIN
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
    RETURN QUERY
        SELECT t.o::integer, t.h, s.m, s.u, s.q, s.l, n
          FROM unnest(homes, p_paths, p_parents) WITH ORDINALITY AS t(h, p, pp, o)
          JOIN unnest(ids, mods, useds, quotas, locked) AS s(id, m, u, q, l) ON s.id = t.h
          LEFT JOIN files.nodes n ON n.home_id = t.h AND n.path = ANY (ARRAY[t.p, t.pp])
         ORDER BY t.o;
END
$$;

COMMENT ON FUNCTION files.begin_puts(bigint[], bigint[], text[], text[]) IS
    'begin_change_at for a batch of PUTs: homes locked in ascending order, then every item''s target and parent';

-- files.insert_files - new files of a batch in one statement: their nodes,
-- their contents kept in the database (files.inline_contents; a content
-- listed once however many files share it, p_content_ids[i] its SHA-256 in
-- hex), and the modseq stamped on their ancestors (listed once each).
-- Every part runs (PostgreSQL executes every data-modifying WITH part); the
-- new rows are not among the ancestors, so the parts touch disjoint rows. A
-- content already kept is touched (touched_at, and its row lock, which a
-- collection racing this waits for), as put_inline does. An ancestor already
-- stamped with the modseq in this transaction is skipped: "<>", not "<",
-- which is the same here (no row has a higher modseq while this transaction
-- holds the home's lock) but is no index condition, so the lookup cannot go
-- through nodes_home_modseq_idx (every node of the home) instead of the
-- (home_id, path) key.
--
-- The plan: the arrays' lengths change from call to call, and with them a
-- custom plan's estimates, so PostgreSQL planned every call again (a fifth
-- of the database's time in a batch of small PUTs). A generic plan
-- (plan_cache_mode) is made once per connection, but from the statistics of
-- that moment: made while files.nodes was nearly empty (a new deployment's
-- first upload), it scanned the whole table for every lookup, and kept
-- doing so as the table grew (a fresh database's first 4,000 small PUTs ran
-- at a third of the speed). So the functions also pin the plan's shape: a
-- nested loop over the arrays (at most a batch: tens of elements) with an
-- index lookup per element, which is the right plan for any table size.
CREATE FUNCTION files.insert_files(p_content_ids text[], p_contents bytea[],
                                   p_anc_homes bigint[], p_anc_paths text[], p_anc_modseqs bigint[],
                                   p_homes bigint[], p_parents bigint[], p_paths text[], p_names text[],
                                   p_blobs text[], p_sizes bigint[], p_types text[], p_etags text[],
                                   p_modseqs bigint[])
RETURNS void
LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
    SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    WITH content AS (
        INSERT INTO files.inline_contents (id, content)
        SELECT c.id, c.content FROM unnest(p_content_ids, p_contents) AS c(id, content)
        ON CONFLICT (id) DO UPDATE SET touched_at = now()),
    touched AS (
        UPDATE files.nodes n SET modseq = a.modseq
          FROM unnest(p_anc_homes, p_anc_paths, p_anc_modseqs) AS a(home_id, path, modseq)
         WHERE n.home_id = a.home_id AND n.path = a.path AND n.modseq <> a.modseq)
    INSERT INTO files.nodes (home_id, parent_id, path, name, is_collection, blob_id, size, content_type, etag,
                             modseq)
    SELECT f.home_id, f.parent_id, f.path, f.name, false, f.blob_id, f.size, f.content_type, f.etag, f.modseq
      FROM unnest(p_homes, p_parents, p_paths, p_names, p_blobs, p_sizes, p_types, p_etags, p_modseqs)
           AS f(home_id, parent_id, path, name, blob_id, size, content_type, etag, modseq);
END
$$;

-- count_usage_rows - the statement-level usage trigger of INSERT and DELETE: both name
-- their transition table "changed"; the sizes count up for an INSERT, down for a DELETE.
CREATE FUNCTION files.count_usage_rows() RETURNS trigger
LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
    SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    UPDATE files.homes h SET used_bytes = greatest(0, h.used_bytes + d.bytes)
      FROM (SELECT c.home_id, sum(c.size) * CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END AS bytes
              FROM changed c GROUP BY c.home_id) d
     WHERE h.id = d.home_id AND d.bytes <> 0;
    RETURN NULL;
END
$$;

DROP TRIGGER nodes_usage ON files.nodes;
CREATE TRIGGER nodes_usage_added AFTER INSERT ON files.nodes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION files.count_usage_rows();
CREATE TRIGGER nodes_usage_removed AFTER DELETE ON files.nodes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION files.count_usage_rows();
CREATE TRIGGER nodes_usage_changed AFTER UPDATE OF size, home_id ON files.nodes
    FOR EACH ROW EXECUTE FUNCTION files.count_usage();

-- begin_puts replaces it (polder-webdavd calls it no more).
DROP FUNCTION files.begin_change_at(bigint, bigint, text, text);
