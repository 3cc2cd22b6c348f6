-- 0100_mail.sql - the mail store: mailboxes, messages (stored once, parsed once),
-- mailbox entries with UIDs, flags and modseqs, expunge tombstones, ACLs, subscriptions
-- and quota accounting. Used by polder-smtpd (local delivery) and polder-imapd.
--
-- SECURITY: every mailbox belongs to one account (ON DELETE CASCADE); an ACL may only
-- name a grantee of the mailbox owner's organisation (trigger mail.check_acl_org), so no
-- configuration can open a mailbox across tenants. Message bytes live in the blob store
-- and are referenced by SHA-256 only. Quota usage (directory.accounts.used_bytes) is
-- kept by a trigger in the same transaction as the rows it counts, so it cannot drift.
-- STANDARDS: RFC 3501 / RFC 9051 (UIDVALIDITY, strictly ascending UIDs, INBOX
-- case-insensitive, \Noselect), RFC 6154 (special-use), RFC 7162 (CONDSTORE/QRESYNC
-- modseqs and VANISHED via tombstones), RFC 4314 (ACL rights letters), RFC 9208 (QUOTA
-- STORAGE in octets), RFC 5256 (sort and thread keys).
--
-- Full-text search: messages.fts = to_tsvector('dutch', text) || to_tsvector('english',
-- text), and queries OR the Dutch and English forms of the search words. Municipal mail is
-- mixed Dutch and English; stemming in both languages finds "vergadering" for
-- "vergaderingen" and "meetings" for "meeting", which the 'simple' configuration cannot.
-- Stop words of one language are kept by the other's vector, so nothing becomes
-- unsearchable. IMAP BODY/TEXT are substring searches, so the store ORs the full-text
-- match with an exact substring check on the stored text (see common/mailstore search).

CREATE SCHEMA mail;

COMMENT ON SCHEMA mail IS 'Polder mail store: mailboxes, messages, flags, modseqs, tombstones, ACLs';

-- UIDVALIDITY values come from one sequence: a mailbox deleted and recreated gets a
-- new, larger value. It starts at the current Unix time so a database restored from an
-- older dump, or rebuilt, does not hand out values clients have cached before.
CREATE SEQUENCE mail.uidvalidity_seq AS bigint MINVALUE 1 MAXVALUE 4294967295;
DO $do$
BEGIN
    EXECUTE format('ALTER SEQUENCE mail.uidvalidity_seq RESTART WITH %s',
                   greatest(1, extract(epoch FROM now())::bigint));
END
$do$;

CREATE TABLE mail.mailboxes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES directory.accounts (id) ON DELETE CASCADE,
    name           text NOT NULL,
    special_use    text,
    uidvalidity    bigint NOT NULL DEFAULT nextval('mail.uidvalidity_seq'),
    uidnext        bigint NOT NULL DEFAULT 1,
    highestmodseq  bigint NOT NULL DEFAULT 1,
    noselect       boolean NOT NULL DEFAULT false,   -- deleted but kept for its children
    recent_uid     bigint NOT NULL DEFAULT 0,        -- UIDs above it are \Recent for the next session (rev1)
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mailboxes_account_name_key UNIQUE (account_id, name),
    -- "/" separates levels: no empty level, no leading or trailing separator
    CONSTRAINT mailboxes_name_format CHECK (
        octet_length(name) BETWEEN 1 AND 1000 AND name !~ '[[:cntrl:]*%]'
        AND name !~ '(^/|/$|//)'),
    -- INBOX is case-insensitive (RFC 3501 5.1): always stored as "INBOX"
    CONSTRAINT mailboxes_inbox_canonical CHECK (upper(name) <> 'INBOX' OR name = 'INBOX'),
    CONSTRAINT mailboxes_special_use CHECK (
        special_use IS NULL OR special_use IN ('\All', '\Archive', '\Drafts', '\Flagged', '\Junk', '\Sent', '\Trash')),
    CONSTRAINT mailboxes_uidvalidity_range CHECK (uidvalidity BETWEEN 1 AND 4294967295),
    -- a UID is a 32-bit number; uidnext may reach 2^32 once the last one is used
    CONSTRAINT mailboxes_uidnext_range CHECK (uidnext BETWEEN 1 AND 4294967296),
    CONSTRAINT mailboxes_modseq_range CHECK (highestmodseq >= 1)
);

-- Each distinct delivered/appended message: one row however many mailboxes hold it.
CREATE TABLE mail.messages (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    blob_sha256    bytea NOT NULL,
    size           bigint NOT NULL,
    sent_date      timestamptz,                 -- Date: header; NULL if absent or invalid
    subject        text NOT NULL DEFAULT '',    -- decoded (RFC 2047), UTF-8
    sort_subject   text NOT NULL DEFAULT '',    -- RFC 5256 base subject
    sort_from      text NOT NULL DEFAULT '',    -- RFC 5256 addr-mailbox of the first address
    sort_to        text NOT NULL DEFAULT '',
    sort_cc        text NOT NULL DEFAULT '',
    from_text      text NOT NULL DEFAULT '',    -- decoded names and addresses, for SEARCH
    to_text        text NOT NULL DEFAULT '',
    cc_text        text NOT NULL DEFAULT '',
    bcc_text       text NOT NULL DEFAULT '',
    message_id_hdr text NOT NULL DEFAULT '',    -- without angle brackets (THREAD)
    in_reply_to    text[] NOT NULL DEFAULT '{}',
    references_ids text[] NOT NULL DEFAULT '{}',
    envelope       jsonb NOT NULL,              -- polder::mime JSON (version 1)
    bodystructure  jsonb NOT NULL,
    header_fields  jsonb NOT NULL,
    body_text      text NOT NULL DEFAULT '',    -- decoded text parts, for SEARCH BODY/TEXT
    fts            tsvector NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_blob_length CHECK (octet_length(blob_sha256) = 32),
    CONSTRAINT messages_size_range CHECK (size >= 0)
);
CREATE INDEX messages_fts_idx ON mail.messages USING gin (fts);
CREATE INDEX messages_message_id_idx ON mail.messages (message_id_hdr);
CREATE INDEX messages_blob_idx ON mail.messages (blob_sha256);

-- A message in a mailbox. flags: system flags in canonical case (\Answered \Deleted
-- \Draft \Flagged \Seen) and keywords as first given, unique ignoring case.
CREATE TABLE mail.mailbox_messages (
    mailbox_id    bigint NOT NULL REFERENCES mail.mailboxes (id) ON DELETE CASCADE,
    uid           bigint NOT NULL,
    message_id    bigint NOT NULL REFERENCES mail.messages (id),
    size          bigint NOT NULL,              -- copy of messages.size: STATUS SIZE, quota
    flags         text[] NOT NULL DEFAULT '{}',
    modseq        bigint NOT NULL,
    internaldate  timestamptz NOT NULL,
    saved_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox_id, uid),
    CONSTRAINT mailbox_messages_uid_range CHECK (uid BETWEEN 1 AND 4294967295),
    CONSTRAINT mailbox_messages_flags_count CHECK (cardinality(flags) <= 100)
);
CREATE INDEX mailbox_messages_modseq_idx ON mail.mailbox_messages (mailbox_id, modseq);
CREATE INDEX mailbox_messages_message_idx ON mail.mailbox_messages (message_id);

-- Expunged UIDs with the modseq of their expunge, for QRESYNC VANISHED (RFC 7162 3.2.10).
CREATE TABLE mail.expunged (
    mailbox_id  bigint NOT NULL REFERENCES mail.mailboxes (id) ON DELETE CASCADE,
    uid         bigint NOT NULL,
    modseq      bigint NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq_idx ON mail.expunged (mailbox_id, modseq);

-- RFC 4314 rights granted on a mailbox to an account or a group (never to its owner,
-- who always has every right).
CREATE TABLE mail.acl (
    mailbox_id          bigint NOT NULL REFERENCES mail.mailboxes (id) ON DELETE CASCADE,
    grantee_account_id  bigint REFERENCES directory.accounts (id) ON DELETE CASCADE,
    grantee_group_id    bigint REFERENCES directory.groups (id) ON DELETE CASCADE,
    rights              text NOT NULL,
    CONSTRAINT acl_one_grantee CHECK ((grantee_account_id IS NULL) <> (grantee_group_id IS NULL)),
    CONSTRAINT acl_rights_format CHECK (rights ~ '^[lrswipkxtea]{1,11}$')
);
CREATE UNIQUE INDEX acl_account_key ON mail.acl (mailbox_id, grantee_account_id) WHERE grantee_account_id IS NOT NULL;
CREATE UNIQUE INDEX acl_group_key ON mail.acl (mailbox_id, grantee_group_id) WHERE grantee_group_id IS NOT NULL;
CREATE INDEX acl_account_idx ON mail.acl (grantee_account_id);
CREATE INDEX acl_group_idx ON mail.acl (grantee_group_id);

-- Subscriptions are by name (RFC 3501 6.3.6: a name may stay subscribed after its
-- mailbox is deleted), per account, for own and shared mailboxes alike.
CREATE TABLE mail.subscriptions (
    account_id  bigint NOT NULL REFERENCES directory.accounts (id) ON DELETE CASCADE,
    name        text NOT NULL,
    PRIMARY KEY (account_id, name),
    CONSTRAINT subscriptions_name_length CHECK (octet_length(name) BETWEEN 1 AND 1400)
);

-- Flag set arithmetic, ignoring case (IMAP flags and keywords are case-insensitive);
-- the result is sorted and keeps the spelling already stored.
CREATE FUNCTION mail.flags_union(a text[], b text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT coalesce(array_agg(f ORDER BY lower(f)), '{}') FROM (
        SELECT DISTINCT ON (lower(f)) f FROM (
            SELECT f, 0 AS o FROM unnest(a) AS f UNION ALL SELECT f, 1 FROM unnest(b) AS f) s
        ORDER BY lower(f), o) t;
$fn$;
CREATE FUNCTION mail.flags_minus(a text[], b text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT coalesce(array_agg(f ORDER BY lower(f)), '{}') FROM unnest(a) AS f
     WHERE NOT EXISTS (SELECT 1 FROM unnest(b) AS x WHERE lower(x) = lower(f));
$fn$;
CREATE FUNCTION mail.has_flag(a text[], f text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT EXISTS (SELECT 1 FROM unnest(a) AS x WHERE lower(x) = lower(f));
$fn$;

-- check_acl_org - a grantee must belong to the mailbox owner's organisation.
CREATE FUNCTION mail.check_acl_org() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    owner_org bigint;
    grantee_org bigint;
BEGIN
    SELECT a.org_id INTO owner_org FROM mail.mailboxes m JOIN directory.accounts a ON a.id = m.account_id
     WHERE m.id = NEW.mailbox_id;
    IF NEW.grantee_account_id IS NOT NULL THEN
        SELECT org_id INTO grantee_org FROM directory.accounts WHERE id = NEW.grantee_account_id;
    ELSE
        SELECT org_id INTO grantee_org FROM directory.groups WHERE id = NEW.grantee_group_id;
    END IF;
    IF owner_org IS NULL OR grantee_org IS NULL OR owner_org <> grantee_org THEN
        RAISE EXCEPTION 'an ACL grantee must belong to the organisation of the mailbox owner'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER acl_check_org BEFORE INSERT OR UPDATE ON mail.acl
    FOR EACH ROW EXECUTE FUNCTION mail.check_acl_org();

-- account_usage - keeps directory.accounts.used_bytes equal to the sum of the sizes of
-- the account's mailbox entries (each copy counts, as in RFC 9208 STORAGE).
CREATE FUNCTION mail.account_usage() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE directory.accounts a SET used_bytes = a.used_bytes + s.total
          FROM (SELECT m.account_id, sum(n.size) AS total FROM new_rows n
                  JOIN mail.mailboxes m ON m.id = n.mailbox_id GROUP BY m.account_id) s
         WHERE a.id = s.account_id;
    ELSE
        -- A cascade from a deleted mailbox or account finds no mailbox row: nothing left to count.
        UPDATE directory.accounts a SET used_bytes = greatest(0, a.used_bytes - s.total)
          FROM (SELECT m.account_id, sum(o.size) AS total FROM old_rows o
                  JOIN mail.mailboxes m ON m.id = o.mailbox_id GROUP BY m.account_id) s
         WHERE a.id = s.account_id;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER mailbox_messages_usage_insert AFTER INSERT ON mail.mailbox_messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mail.account_usage();
CREATE TRIGGER mailbox_messages_usage_delete AFTER DELETE ON mail.mailbox_messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mail.account_usage();

-- create_default_mailboxes - INBOX and the RFC 6154 special-use mailboxes, subscribed.
CREATE FUNCTION mail.create_default_mailboxes(p_account_id bigint) RETURNS void
LANGUAGE sql AS $fn$
    INSERT INTO mail.mailboxes (account_id, name, special_use)
    SELECT p_account_id, d.name, d.special_use
      FROM (VALUES ('INBOX', NULL), ('Drafts', '\Drafts'), ('Sent', '\Sent'), ('Trash', '\Trash'),
                   ('Junk', '\Junk'), ('Archive', '\Archive')) AS d (name, special_use)
    ON CONFLICT (account_id, name) DO NOTHING;
    INSERT INTO mail.subscriptions (account_id, name)
    SELECT p_account_id, n FROM unnest(ARRAY['INBOX', 'Drafts', 'Sent', 'Trash', 'Junk', 'Archive']) AS n
    ON CONFLICT DO NOTHING;
$fn$;

CREATE FUNCTION mail.account_created() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM mail.create_default_mailboxes(NEW.id);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER accounts_default_mailboxes AFTER INSERT ON directory.accounts
    FOR EACH ROW EXECUTE FUNCTION mail.account_created();

SELECT mail.create_default_mailboxes(id) FROM directory.accounts;
