-- 0115_mail_recoverable.sql - deleted mail can be recovered for a time.
--
-- Until now EXPUNGE (and DELETE of a mailbox) removed a message's entry for good: once
-- the last copy went, the housekeeper deleted the message (0112) and `file gc` its blob,
-- so mail a user deleted by mistake - or a whole folder, one click in a mail client -
-- came back only from last night's backup, restored for everyone. Now every entry that an
-- EXPUNGE or a mailbox deletion removes leaves a row in mail.recoverable: which account
-- and mailbox held it, its flags (without \Deleted) and internal date, and the message it
-- refers to. `polderctl mailbox deleted list|restore|purge` shows, puts back and drops
-- them; polder-imapd's housekeeper deletes the rows older than imap.recoverable_days
-- (mail.prune_recoverable). A MOVE, which also removes the source entry, leaves none: the
-- message is still in its destination.
--
-- The row refers to the message (foreign key), so the message and its blob stay while it
-- is recoverable: mail.collect_messages now also keeps a message a recoverable row refers
-- to, and deleting such a row lists its message as a candidate (the same trigger as the
-- mailbox entries'), so the message goes once neither refers to it. The race argument of
-- 0112 holds for these rows as for entries: a writer inserting one holds a KEY SHARE lock
-- on the message row (its foreign key check) until it commits.
--
-- Recoverable mail does not count against the quota (it is not in any mailbox); it is
-- the owner's (the account whose mailbox held it), also when another account expunged it
-- from a shared mailbox. It goes with the account.
--
-- SECURITY: rows name their account; polderctl restores a row only into its own
-- account's mailboxes. Fixed SQL, bounded batches.
-- STANDARDS: RFC 3501 / RFC 9051 6.4.3 (to IMAP, EXPUNGE still removes the message from
-- the mailbox at once: recovery is an operator's action that appends it anew, with a new
-- UID).

CREATE TABLE mail.recoverable (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES directory.accounts (id) ON DELETE CASCADE,
    mailbox_name  text NOT NULL,                 -- the owner's name of the mailbox that held it
    message_id    bigint NOT NULL REFERENCES mail.messages (id),
    size          bigint NOT NULL,
    flags         text[] NOT NULL DEFAULT '{}',  -- as it had them, without \Deleted
    internaldate  timestamptz NOT NULL,
    deleted_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT recoverable_name_length CHECK (octet_length(mailbox_name) BETWEEN 1 AND 1024)
);
CREATE INDEX recoverable_account_idx ON mail.recoverable (account_id, deleted_at);
CREATE INDEX recoverable_deleted_at_idx ON mail.recoverable (deleted_at);
CREATE INDEX recoverable_message_idx ON mail.recoverable (message_id);

COMMENT ON TABLE mail.recoverable IS
    'Messages expunged or deleted with their mailbox, kept for imap.recoverable_days for polderctl mailbox deleted restore';

CREATE TRIGGER recoverable_note_unreferenced AFTER DELETE ON mail.recoverable
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mail.note_unreferenced();

-- collect_messages - as in 0112, but a message a recoverable row refers to also stays.
CREATE OR REPLACE FUNCTION mail.collect_messages(p_limit integer) RETURNS integer
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
       AND NOT EXISTS (SELECT 1 FROM mail.mailbox_messages mm WHERE mm.message_id = m.id)
       AND NOT EXISTS (SELECT 1 FROM mail.recoverable r WHERE r.message_id = m.id);
    DELETE FROM mail.unreferenced_messages u
     WHERE u.message_id = ANY (candidates)
       AND (u.message_id = ANY (locked) OR NOT EXISTS (SELECT 1 FROM mail.messages m WHERE m.id = u.message_id));
    GET DIAGNOSTICS settled = ROW_COUNT;
    RETURN settled;
END
$fn$;

-- prune_recoverable - deletes up to n recoverable rows older than cutoff, oldest first
-- (their messages become candidates for collect_messages); returns how many.
CREATE FUNCTION mail.prune_recoverable(cutoff timestamptz, n integer) RETURNS integer
LANGUAGE sql AS $fn$
    WITH old AS (
        SELECT r.id FROM mail.recoverable r WHERE r.deleted_at < cutoff
         ORDER BY r.deleted_at LIMIT greatest(n, 0) FOR UPDATE SKIP LOCKED),
    gone AS (DELETE FROM mail.recoverable r USING old WHERE r.id = old.id RETURNING 1)
    SELECT count(*)::integer FROM gone
$fn$;

COMMENT ON FUNCTION mail.prune_recoverable(timestamptz, integer) IS
    'Deletes up to n recoverable messages deleted before cutoff';
