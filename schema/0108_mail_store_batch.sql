-- 0108_mail_store_batch.sql - the flag STOREs of a group-committed batch in one statement.
--
-- polder-imapd commits the writes of concurrent sessions together (db::batch_commit).
-- A flag STORE was one statement per STORE (bump the mailbox's modseq, update the
-- messages, NOTIFY), so a batch of eight STOREs paid eight round trips and eight
-- executor start-ups. mail.store_flags_batch does the same for many STOREs at once, one
-- per mailbox (the caller sends a second STORE of a mailbox on its own: two STOREs of
-- one mailbox in one UPDATE would share a row and lose one): for each item whose
-- mailbox is the actor's own and still has that UIDVALIDITY it takes the mailbox's next
-- modseq, sets the flags of the messages in [lo, hi] that change (mode 0 adds, 1
-- removes, 2 replaces; the same flag functions as the single statement), and NOTIFYs
-- "<mailbox>:<modseq>" on the item's channel when something changed. Rows: one per
-- mailbox that was bumped (uid NULL when no message changed) and one per changed
-- message; an item with no row at all was not the fast case (another's mailbox, or gone).
-- pgbench, eight STOREs of four mailboxes per transaction: ~1.8x the statements' rate.
--
-- The plan is generic and of a fixed shape (as files.insert_files, 0304): a nested loop
-- over the items with index lookups, made once per connection whatever the tables'
-- statistics were at that moment.
--
-- SECURITY: the ownership and UIDVALIDITY checks are in the UPDATE of the mailbox, as in
-- the single statement (mail_store.cpp, store_flags_own); fixed SQL, parameters only.
-- STANDARDS: RFC 3501 6.4.6 / RFC 9051 6.4.6 (STORE), RFC 7162 (modseq per change).

CREATE FUNCTION mail.store_flags_batch(p_mailboxes bigint[], p_accounts bigint[], p_uidvalidities bigint[],
                                       p_lo bigint[], p_hi bigint[], p_modes integer[], p_flags text[],
                                       p_channels text[])
RETURNS TABLE (mailbox_id bigint, highestmodseq bigint, uid bigint, flags text[], modseq bigint)
LANGUAGE plpgsql
    SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_bitmapscan = off
    SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    RETURN QUERY
    WITH i AS MATERIALIZED (
        SELECT t.mailbox, t.account, t.uidvalidity, t.lo, t.hi, t.mode, t.flags::text[] AS flags, t.channel
          FROM unnest(p_mailboxes, p_accounts, p_uidvalidities, p_lo, p_hi, p_modes, p_flags, p_channels)
               AS t(mailbox, account, uidvalidity, lo, hi, mode, flags, channel)),
    b AS (
        UPDATE mail.mailboxes m SET highestmodseq = m.highestmodseq + 1
          FROM i
         WHERE m.id = i.mailbox AND m.account_id = i.account AND m.uidvalidity = i.uidvalidity
        RETURNING m.id, m.highestmodseq),
    u AS (
        UPDATE mail.mailbox_messages mm
           SET flags = CASE i.mode WHEN 0 THEN mail.flags_union(mm.flags, i.flags)
                                   WHEN 1 THEN mail.flags_minus(mm.flags, i.flags)
                                   ELSE mail.flags_union('{}'::text[], i.flags) END,
               modseq = b.highestmodseq
          FROM i JOIN b ON b.id = i.mailbox
         WHERE mm.mailbox_id = i.mailbox AND mm.uid BETWEEN i.lo AND i.hi
           AND mm.flags IS DISTINCT FROM CASE i.mode WHEN 0 THEN mail.flags_union(mm.flags, i.flags)
                                                     WHEN 1 THEN mail.flags_minus(mm.flags, i.flags)
                                                     ELSE mail.flags_union('{}'::text[], i.flags) END
        RETURNING mm.mailbox_id, mm.uid, mm.flags, mm.modseq),
    n AS (
        SELECT pg_notify(i.channel, b.id::text || ':' || b.highestmodseq::text)
          FROM b JOIN i ON i.mailbox = b.id
         WHERE EXISTS (SELECT 1 FROM u WHERE u.mailbox_id = b.id))
    SELECT b.id, b.highestmodseq, u.uid, u.flags, u.modseq
      FROM b LEFT JOIN u ON u.mailbox_id = b.id
      CROSS JOIN (SELECT count(*) FROM n) AS notified;
END
$$;

COMMENT ON FUNCTION mail.store_flags_batch(bigint[], bigint[], bigint[], bigint[], bigint[], integer[], text[], text[]) IS
    'Flag STOREs of several mailboxes (one each) in one statement: modseq, flags, NOTIFY';
