-- 0114_mail_expunged_retention.sql - QRESYNC's expunge records are kept for a time, not
-- for ever.
--
-- mail.expunged (0100) holds, for each expunged message, its UID and the mod-sequence of
-- the EXPUNGE, so that a client resynchronising (RFC 7162 SELECT/EXAMINE QRESYNC, UID
-- FETCH ... VANISHED) is told exactly which of its messages went since its last
-- HIGHESTMODSEQ. Until now nothing deleted these rows: a mailbox kept one for every message
-- ever expunged from it, and the table grew with all the mail users ever deleted.
--
-- Now each record carries the time of its EXPUNGE, and mail.prune_expunged deletes the
-- records older than a cutoff (polder-imapd's housekeeper: imap.expunged_days). A mailbox
-- remembers the highest mod-sequence of the records pruned from it (vanished_floor): a
-- client that asks for the changes since a mod-sequence below it may have missed an
-- expunge whose record is gone, so polder-imapd answers it with every UID of the range it
-- asked about that is not in the mailbox (RFC 7162 section 3.2.6 allows this: a server
-- that does not remember the mod-sequences of expunged messages may report all of them).
-- A client that resynchronises within the retention time still gets the exact list.
--
-- SECURITY: deletes only expunge records (never a message or a mailbox entry) and only
-- raises vanished_floor; the rows of a mailbox another transaction is changing are
-- skipped (SKIP LOCKED), never waited for, so the pruning neither blocks an EXPUNGE nor
-- deadlocks with one. STANDARDS: RFC 7162 sections 3.2.5.2, 3.2.6 and 3.2.10.

-- Existing records get the time of this migration (a constant default: no table rewrite).
ALTER TABLE mail.expunged ADD COLUMN expunged_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX expunged_at_idx ON mail.expunged (expunged_at);

ALTER TABLE mail.mailboxes ADD COLUMN vanished_floor bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN mail.mailboxes.vanished_floor IS
    'Highest mod-sequence of the expunge records pruned from this mailbox: changes since an '
    'older mod-sequence may include expunges no longer recorded';

-- prune_expunged - deletes up to n expunge records older than cutoff, oldest first, and
-- raises their mailboxes' vanished_floor; returns how many it deleted. The mailbox rows
-- are locked first (an EXPUNGE locks its mailbox row before it writes records), each
-- skipped if another transaction holds it.
CREATE FUNCTION mail.prune_expunged(cutoff timestamptz, n integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    boxes bigint[];
    pruned integer;
BEGIN
    SELECT array_agg(DISTINCT o.mailbox_id) INTO boxes
    FROM (SELECT e.mailbox_id FROM mail.expunged e WHERE e.expunged_at < cutoff
          ORDER BY e.expunged_at LIMIT n) o;
    IF boxes IS NULL THEN
        RETURN 0;
    END IF;
    SELECT array_agg(l.id) INTO boxes
    FROM (SELECT mb.id FROM mail.mailboxes mb WHERE mb.id = ANY (boxes)
          FOR NO KEY UPDATE SKIP LOCKED) l;
    IF boxes IS NULL THEN
        RETURN 0;
    END IF;
    WITH old AS (
        SELECT e.mailbox_id, e.uid FROM mail.expunged e
        WHERE e.mailbox_id = ANY (boxes) AND e.expunged_at < cutoff
        ORDER BY e.expunged_at LIMIT n
        FOR UPDATE SKIP LOCKED),
    gone AS (
        DELETE FROM mail.expunged e USING old
        WHERE e.mailbox_id = old.mailbox_id AND e.uid = old.uid
        RETURNING e.mailbox_id, e.modseq),
    floors AS (
        SELECT g.mailbox_id, max(g.modseq) AS top, count(*) AS records FROM gone g GROUP BY g.mailbox_id),
    raised AS (
        UPDATE mail.mailboxes mb SET vanished_floor = greatest(mb.vanished_floor, f.top)
        FROM floors f WHERE mb.id = f.mailbox_id)
    SELECT coalesce(sum(f.records), 0)::integer INTO pruned FROM floors f;
    RETURN pruned;
END
$fn$;
COMMENT ON FUNCTION mail.prune_expunged(timestamptz, integer) IS
    'Deletes up to n expunge records older than cutoff and raises their mailboxes'' vanished_floor';
