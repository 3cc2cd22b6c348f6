-- 0303_files_begin_change.sql - one modseq per home per transaction.
--
-- Every change to a home takes the home's next modseq (0300: UPDATE ...
-- RETURNING, which also locks the home's row until commit). polder-webdavd
-- runs concurrent PUTs in one shared transaction (db::group_commit), so a
-- batch of eight small files into one folder updated the home's row eight
-- times, and the folder's and the root's rows eight times each, every update
-- of a node row adding an entry to each of its six indexes.
--
-- files.begin_change takes the next modseq on the first change of a home in
-- a transaction and hands the same one to every later change of that home in
-- the same transaction: they become visible together at COMMIT, so no reader
-- can tell them apart, and a sync-collection token (RFC 6578) still names a
-- state that existed. The value is remembered in a transaction-local setting
-- (set_config(..., true)), which PostgreSQL discards at the end of the
-- transaction or when a savepoint holding it rolls back. Writers that stamp
-- ancestors (touch_ancestors) skip rows that already carry the modseq.
--
-- SECURITY: the home is named by id (or by the account's own home) as
-- before; the setting is per session and per transaction, invisible to
-- other sessions. The row lock is taken by the first change, so later ones
-- are as serialised as before.
-- STANDARDS: RFC 6578 (sync tokens), PostgreSQL 15 manual 9.27.1
-- (set_config / current_setting with is_local and missing_ok).

CREATE FUNCTION files.begin_change(p_home bigint,
                                   OUT modseq bigint, OUT used_bytes bigint, OUT quota_bytes bigint)
LANGUAGE plpgsql AS $$
DECLARE
    k text := 'polder.files_modseq_' || p_home;
    v text := current_setting(k, true);
BEGIN
    IF v IS NOT NULL AND v <> '' THEN
        modseq := v::bigint;
        SELECT h.used_bytes,
               coalesce(h.quota_bytes, (SELECT a.quota_bytes FROM directory.accounts a WHERE a.id = h.account_id))
          INTO used_bytes, quota_bytes
          FROM files.homes h WHERE h.id = p_home;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'files.begin_change: no home %', p_home USING ERRCODE = 'no_data_found';
        END IF;
        RETURN;
    END IF;
    UPDATE files.homes h SET modseq = h.modseq + 1 WHERE h.id = p_home
        RETURNING h.modseq, h.used_bytes,
                  coalesce(h.quota_bytes, (SELECT a.quota_bytes FROM directory.accounts a WHERE a.id = h.account_id))
        INTO modseq, used_bytes, quota_bytes;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'files.begin_change: no home %', p_home USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM set_config(k, modseq::text, true);
END
$$;

COMMENT ON FUNCTION files.begin_change(bigint) IS
    'The home''s modseq for a change: the next one on the first change of the transaction, the same one after';

-- files.begin_change_at - begin_change, then the nodes at path and at its
-- parent and whether the home has a live lock, all read after the home's row
-- lock is held: what a PUT checks, in one round trip instead of two. Each
-- statement of a PL/pgSQL function takes a new snapshot (READ COMMITTED), so
-- the nodes are read as of after the lock, as two statements would read
-- them. p_home NULL: the personal home of p_account (no rows when it has
-- none yet). One row per node found; one row with node NULL when neither
-- exists.
CREATE FUNCTION files.begin_change_at(p_home bigint, p_account bigint, p_path text, p_parent text)
RETURNS TABLE (home_id bigint, modseq bigint, used_bytes bigint, quota_bytes bigint, any_lock boolean,
               node files.nodes)
LANGUAGE plpgsql AS $$
DECLARE
    h bigint := p_home;
    c record;
    locked boolean;
BEGIN
    IF h IS NULL THEN
        SELECT ho.id INTO h FROM files.homes ho WHERE ho.account_id = p_account;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    END IF;
    SELECT b.modseq, b.used_bytes, b.quota_bytes INTO c FROM files.begin_change(h) b;
    locked := EXISTS (SELECT 1 FROM files.locks l WHERE l.home_id = h AND l.expires_at > now());
    RETURN QUERY SELECT h, c.modseq, c.used_bytes, c.quota_bytes, locked, n
                   FROM files.nodes n WHERE n.home_id = h AND n.path IN (p_path, p_parent);
    IF NOT FOUND THEN
        RETURN QUERY SELECT h, c.modseq, c.used_bytes, c.quota_bytes, locked, NULL::files.nodes;
    END IF;
END
$$;
