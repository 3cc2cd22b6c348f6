-- 0109_mail_append_speed.sql - what storing a message costs: the octets of small
-- APPENDed messages kept with their row in PostgreSQL instead of in the blob store (first
-- part), and no planner statistics for the columns no query filters on (second part).
--
-- Why: a message in the blob store is durable only after its file's fsync (and its
-- folder's, the first time), and only then can the transaction that records it start,
-- which waits for its own WAL flush. For an APPEND of a few KiB those two flushes in a
-- row, and the trips to the blob threads around the first, were most of the command's
-- time. A message of at most mailstore::max_inline_message octets that arrives by APPEND
-- is therefore stored in `raw`, by the transaction that inserts its row: durable with
-- that transaction's one WAL flush, which polder-imapd's group commit shares between
-- concurrent sessions (as polder-webdavd does for small files, 0302_files_inline.sql).
-- Larger messages, every delivered message (polder-smtpd streams DATA into a blob before
-- it knows the size) and every message stored before this migration keep raw NULL and
-- live in the blob store as before.
--
-- blob_sha256 stays the SHA-256 of the message's octets wherever they are: readers (IMAP
-- FETCH, polderctl export) take raw when it is not NULL, else the blob of that id. The
-- blob collector sees the id as a reference to a blob that does not exist, which is
-- harmless (it only ever deletes files that nothing references).
--
-- SECURITY: the CHECKs make raw exactly `size` octets whose SHA-256 is blob_sha256,
-- whatever program writes the row, so a message is never served under another content's
-- id; raw is bounded (the mail store writes at most 64 KiB; the CHECK allows 1 MiB).
-- STANDARDS: FIPS 180-4 (SHA-256), PostgreSQL 15 manual 9.5 (sha256()).

ALTER TABLE mail.messages ADD COLUMN raw bytea;
ALTER TABLE mail.messages ADD CONSTRAINT messages_raw_content CHECK (
    raw IS NULL OR (octet_length(raw) = size AND octet_length(raw) <= 1048576 AND sha256(raw) = blob_sha256));

COMMENT ON COLUMN mail.messages.raw IS
    'The message''s octets when kept in the database (small APPENDs), else NULL: read the blob blob_sha256';

-- Planner statistics. autovacuum ANALYZEs mail.messages again and again while a mailbox
-- fills (every 10% of growth), and for the JSON columns that means sorting a sample of
-- up to 30,000 structures with jsonb's comparison: a tenth of the database's time while
-- eight sessions APPENDed. No query filters or sorts on these columns by their value
-- (SEARCH HEADER reads header_fields through jsonb_array_elements, BODY/TEXT read
-- body_text through strpos and the fts vector, FETCH only returns them), so their
-- statistics were never used: a target of 0 makes ANALYZE skip them (PostgreSQL 15
-- manual, ALTER TABLE ... SET STATISTICS). fts, the ids and the sort columns keep theirs.
ALTER TABLE mail.messages
    ALTER COLUMN envelope SET STATISTICS 0,
    ALTER COLUMN bodystructure SET STATISTICS 0,
    ALTER COLUMN header_fields SET STATISTICS 0,
    ALTER COLUMN header_values SET STATISTICS 0,
    ALTER COLUMN header_raw SET STATISTICS 0,
    ALTER COLUMN body_text SET STATISTICS 0,
    ALTER COLUMN raw SET STATISTICS 0;
