-- 0112_mail_collect_messages.sql - a message no mailbox holds any more is deleted.
--
-- mail.messages keeps one row per stored message however many mailboxes hold it
-- (mail.mailbox_messages). Until now nothing ever deleted that row: after EXPUNGE of its
-- last copy, DELETE of its mailbox or of its account, the message's text,
-- headers and octets (raw, or the blob its blob_sha256 names, which `polderctl file gc`
-- therefore never collected) stayed in the database for good, unseen by anyone. Storage
-- grew with every deleted message, and mail a user had deleted was not gone.
--
-- Now every DELETE of mailbox entries (any statement, cascades from a deleted mailbox or
-- account included) records the message ids it touched in mail.unreferenced_messages,
-- and mail.collect_messages, run in the background by polder-imapd and polder-smtpd
-- (mailstore::housekeeper), deletes those messages that no entry refers to any more.
-- The blob of a deleted message is then removed by `polderctl file gc` after its grace
-- period, like any other unreferenced blob.
--
-- Races: a writer that is adding an entry for a candidate message (COPY, MOVE) holds a
-- KEY SHARE lock on the message row (its foreign key check) until it commits.
-- collect_messages first locks the candidates' message rows FOR UPDATE SKIP LOCKED, so
-- it never waits for such a writer and leaves its message for a later round; then, in a
-- statement of its own (READ COMMITTED: a snapshot taken after the locks), it deletes
-- the locked messages that still have no entry. An entry committed before the locks is
-- seen; one added after them waits for the collector and then fails its foreign key
-- check (the message was deleted) instead of pointing at nothing. The foreign key of
-- mailbox_messages keeps a referenced message from ever being deleted whatever happens.
-- Candidates leave the list once their message is deleted or is found referenced again.
-- A DELETE that finds its message already listed updates that row (DO UPDATE, not DO
-- NOTHING): it waits for a collector holding it, which may have judged the message by a
-- snapshot from before this DELETE, and then lists it anew; and it keeps any collector
-- from taking the row until it commits. So the last entry's DELETE always leaves a
-- listing behind that a later round judges.
--
-- The migration lists the messages left unreferenced so far, so they are collected too.
--
-- SECURITY: deletes only rows no mailbox entry refers to; fixed SQL, bounded batches.
-- STANDARDS: RFC 3501 / RFC 9051 6.4.3 (EXPUNGE permanently removes), PostgreSQL 15
-- manual 13.2.1 (a snapshot per statement), 13.3.2 (row locks, SKIP LOCKED).

CREATE TABLE mail.unreferenced_messages (
    message_id  bigint PRIMARY KEY   -- no foreign key: the message is about to go
);

COMMENT ON TABLE mail.unreferenced_messages IS
    'Messages that lost a mailbox entry and may have none left: mail.collect_messages deletes those';

CREATE FUNCTION mail.note_unreferenced() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO mail.unreferenced_messages (message_id)
    SELECT DISTINCT o.message_id FROM old_rows o
    ON CONFLICT (message_id) DO UPDATE SET message_id = excluded.message_id;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER mailbox_messages_note_unreferenced AFTER DELETE ON mail.mailbox_messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mail.note_unreferenced();

-- collect_messages - deletes up to p_limit candidate messages no mailbox entry refers to;
-- returns how many candidates it settled (deleted, found referenced, or already gone).
-- Candidates whose message row another transaction has locked stay for a later call.
CREATE FUNCTION mail.collect_messages(p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    candidates bigint[];
    locked bigint[];
    settled integer;
BEGIN
    SELECT array_agg(u.message_id) INTO candidates
      FROM (SELECT x.message_id FROM mail.unreferenced_messages x
             ORDER BY x.message_id LIMIT greatest(p_limit, 0) FOR UPDATE SKIP LOCKED) u;
    IF candidates IS NULL THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(m.id), '{}') INTO locked
      FROM (SELECT x.id FROM mail.messages x WHERE x.id = ANY (candidates) FOR UPDATE SKIP LOCKED) m;
    -- A new statement: its snapshot sees every entry committed before the locks above.
    DELETE FROM mail.messages m
     WHERE m.id = ANY (locked)
       AND NOT EXISTS (SELECT 1 FROM mail.mailbox_messages mm WHERE mm.message_id = m.id);
    DELETE FROM mail.unreferenced_messages u
     WHERE u.message_id = ANY (candidates)
       AND (u.message_id = ANY (locked) OR NOT EXISTS (SELECT 1 FROM mail.messages m WHERE m.id = u.message_id));
    GET DIAGNOSTICS settled = ROW_COUNT;
    RETURN settled;
END
$fn$;

COMMENT ON FUNCTION mail.collect_messages(integer) IS
    'Deletes up to p_limit messages no mailbox holds any more (candidates from mail.unreferenced_messages)';

INSERT INTO mail.unreferenced_messages (message_id)
SELECT m.id FROM mail.messages m
 WHERE NOT EXISTS (SELECT 1 FROM mail.mailbox_messages mm WHERE mm.message_id = m.id);
