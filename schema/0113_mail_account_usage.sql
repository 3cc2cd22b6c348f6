-- 0113_mail_account_usage.sql - an account's mail usage in a narrow row of its own.
--
-- Quota usage (the sum of the sizes of an account's mailbox entries, RFC 9208 STORAGE)
-- was the column directory.accounts.used_bytes, kept by a statement trigger on every
-- INSERT and DELETE of mailbox entries. So every APPEND, delivery and COPY updated the
-- account row, and PostgreSQL's UPDATE of that row does more than the counter needs: it
-- evaluates all seven CHECK constraints of directory.accounts (the address and local
-- part ones are regular expressions), reading each again from the catalog for every
-- statement, and queues a check for each of the seventeen foreign keys that point at
-- accounts. Measured with 8 IMAP clients APPENDing (pg_stat_statements): 0.12 ms of the
-- APPEND statement's 0.30 ms. The quota checks also locked the account row FOR UPDATE,
-- which made every insert of a row referencing that account (its foreign key check's KEY
-- SHARE lock) wait for the delivery or COPY to commit.
--
-- Now the counter is mail.account_usage: one row per account (created with the account,
-- deleted with it), nothing else in it, and nothing refers to it. The quota checks lock
-- this row. Entries counted in: a row trigger (an APPEND or a delivery inserts one entry
-- per statement; a row trigger skips the statement trigger's transition table and
-- grouping). Entries counted out: still a statement trigger, as an EXPUNGE or a deleted
-- mailbox removes many rows at once.
--
-- SECURITY: the counter follows every writer of mailbox entries (triggers, not callers);
-- its range CHECK stays. STANDARDS: RFC 9208 (STORAGE usage).

CREATE TABLE mail.account_usage (
    account_id  bigint PRIMARY KEY REFERENCES directory.accounts (id) ON DELETE CASCADE,
    used_bytes  bigint NOT NULL DEFAULT 0,
    CONSTRAINT account_usage_used_range CHECK (used_bytes >= 0)
);
COMMENT ON TABLE mail.account_usage IS
    'Bytes of mail an account holds: the sum of the sizes of its mailbox entries, kept by triggers';

INSERT INTO mail.account_usage (account_id, used_bytes) SELECT id, used_bytes FROM directory.accounts;

-- account_created (0100) also gives the new account its usage row.
CREATE OR REPLACE FUNCTION mail.account_created() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO mail.account_usage (account_id) VALUES (NEW.id);
    PERFORM mail.create_default_mailboxes(NEW.id);
    RETURN NULL;
END
$fn$;

DROP TRIGGER mailbox_messages_usage_insert ON mail.mailbox_messages;
DROP TRIGGER mailbox_messages_usage_delete ON mail.mailbox_messages;
DROP FUNCTION mail.account_usage();

CREATE FUNCTION mail.usage_count_in() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE mail.account_usage u SET used_bytes = u.used_bytes + NEW.size
     WHERE u.account_id = (SELECT m.account_id FROM mail.mailboxes m WHERE m.id = NEW.mailbox_id);
    RETURN NULL;
END
$fn$;

CREATE FUNCTION mail.usage_count_out() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- A cascade from a deleted mailbox or account finds no mailbox row: nothing left to count.
    UPDATE mail.account_usage u SET used_bytes = greatest(0, u.used_bytes - s.total)
      FROM (SELECT m.account_id, sum(o.size) AS total FROM old_rows o
              JOIN mail.mailboxes m ON m.id = o.mailbox_id GROUP BY m.account_id) s
     WHERE u.account_id = s.account_id;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER mailbox_messages_usage_in AFTER INSERT ON mail.mailbox_messages
    FOR EACH ROW EXECUTE FUNCTION mail.usage_count_in();
CREATE TRIGGER mailbox_messages_usage_out AFTER DELETE ON mail.mailbox_messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mail.usage_count_out();

ALTER TABLE directory.accounts DROP COLUMN used_bytes;
