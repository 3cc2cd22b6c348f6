-- 0107_mail_mailbox_name_rules.sql - a mailbox's name rules are checked when its name is
-- written, not on every update of its counters.
--
-- PostgreSQL evaluates every CHECK constraint of a table on every UPDATE of a row,
-- whatever columns change, and builds their expressions again for every statement. A
-- mailbox's row is updated by every flag STORE, APPEND and EXPUNGE (highestmodseq,
-- uidnext), so the name rules of 0100_mail.sql (two regular expressions, upper(), the
-- special-use list) ran for each of them: about a tenth of a flag STORE's database time
-- (8 clients' single-message UID STOREs, durable commits: ~4,900 per second with them,
-- ~5,450 without).
--
-- The same three rules move to a BEFORE INSERT OR UPDATE OF name, special_use trigger:
-- every write that can break them still runs them (an UPDATE that does not name those
-- columns cannot change them), with the same error: SQLSTATE 23514 (check_violation)
-- and the constraint's old name. The cheap range checks on the counters stay CHECKs.
--
-- SECURITY: the rules hold for whatever program writes, as before.
-- STANDARDS: RFC 3501 5.1 (INBOX case-insensitive), RFC 6154 (special-use names);
-- PostgreSQL 15 manual 5.4.1 (CHECK constraints are evaluated on every row update),
-- CREATE TRIGGER (UPDATE OF column_name).

CREATE FUNCTION mail.check_mailbox_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- "/" separates levels: no empty level, no leading or trailing separator
    IF NOT (octet_length(NEW.name) BETWEEN 1 AND 1000 AND NEW.name !~ '[[:cntrl:]*%]'
            AND NEW.name !~ '(^/|/$|//)') THEN
        RAISE EXCEPTION 'new row for relation "mailboxes" violates check constraint "mailboxes_name_format"'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'mailboxes_name_format',
                  SCHEMA = 'mail', TABLE = 'mailboxes';
    END IF;
    -- INBOX is case-insensitive (RFC 3501 5.1): always stored as "INBOX"
    IF upper(NEW.name) = 'INBOX' AND NEW.name <> 'INBOX' THEN
        RAISE EXCEPTION 'new row for relation "mailboxes" violates check constraint "mailboxes_inbox_canonical"'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'mailboxes_inbox_canonical',
                  SCHEMA = 'mail', TABLE = 'mailboxes';
    END IF;
    IF NEW.special_use IS NOT NULL
       AND NEW.special_use NOT IN ('\All', '\Archive', '\Drafts', '\Flagged', '\Junk', '\Sent', '\Trash') THEN
        RAISE EXCEPTION 'new row for relation "mailboxes" violates check constraint "mailboxes_special_use"'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'mailboxes_special_use',
                  SCHEMA = 'mail', TABLE = 'mailboxes';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION mail.check_mailbox_name() IS
    'The mailbox name rules (format, canonical INBOX, special-use list), run when a name is written';

ALTER TABLE mail.mailboxes
    DROP CONSTRAINT mailboxes_name_format,
    DROP CONSTRAINT mailboxes_inbox_canonical,
    DROP CONSTRAINT mailboxes_special_use;

CREATE TRIGGER mailboxes_name_rules BEFORE INSERT OR UPDATE OF name, special_use ON mail.mailboxes
    FOR EACH ROW EXECUTE FUNCTION mail.check_mailbox_name();
