-- 0105_mail_fts_deferred.sql - the full-text vector of a message is computed after its
-- delivery, not inside it.
--
-- What it does: messages.fts may be NULL ("not indexed yet"). Delivery and APPEND store
-- the message without it; mailstore's fts indexer (run by polder-smtpd and polder-imapd)
-- fills it in the background in small batches, and a FUZZY search indexes the pending
-- messages of its mailbox first. Why: stemming 20 KB of text in Dutch and English costs
-- ~20 ms of database CPU, more than everything else in a delivery together; inside the
-- delivery transaction it also held the mailbox's UID lock that long. IMAP's BODY and TEXT
-- keys are exact substring searches on body_text and never needed the vector, so only
-- FUZZY (RFC 6203) ranking waits for it.
-- The partial index finds the pending messages without scanning the table.
-- The large per-message columns are TOAST-compressed with lz4 instead of pglz: in a
-- delivery profile pglz_compress was the busiest function of PostgreSQL after stemming,
-- and lz4 compresses several times faster at a similar ratio for text. (Only rows written
-- from now on; a server built without lz4 keeps pglz.)
--
-- SECURITY: none beyond 0100 (no new data).
-- STANDARDS: RFC 6203 (FUZZY), PostgreSQL 15 manual 12 (full-text search), 11.8 (partial indexes).
ALTER TABLE mail.messages ALTER COLUMN fts DROP NOT NULL;
CREATE INDEX messages_fts_pending_idx ON mail.messages (id) WHERE fts IS NULL;
DO $$
BEGIN
    ALTER TABLE mail.messages
        ALTER COLUMN body_text SET COMPRESSION lz4,
        ALTER COLUMN header_fields SET COMPRESSION lz4,
        ALTER COLUMN bodystructure SET COMPRESSION lz4,
        ALTER COLUMN envelope SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available in this PostgreSQL build; mail.messages keeps pglz';
END
$$;
