-- 0302_files_inline.sql - the bytes of small files, kept in PostgreSQL.
--
-- Why: a file in the blob store is durable only after three flushes in a row
-- (the file's fsync, its folder's fsync after the rename, then the WAL flush
-- of the row naming it). For a file of a few KiB those flushes are the whole
-- cost of a PUT. A small file's bytes therefore go into this table, inside the
-- transaction that points the node at them (polder-webdavd groups concurrent
-- PUTs into one transaction, so one WAL flush makes many small files durable).
-- The limit is webdav.inline_max_bytes (0 turns it off); larger files, and
-- every file written while the limit was lower, stay in the blob store.
--
-- A row is named by the SHA-256 of its content, like a blob: files.nodes,
-- files.versions and the trash manifests reference it by the same blob_id,
-- whichever of the two places holds the bytes, and identical small files are
-- stored once. Readers (GET, export) look here first, then in the blob store.
--
-- SECURITY: the CHECK makes every row's name the SHA-256 of its bytes whatever
-- program writes, so a row can never be served under another content's id.
-- Collection (polder-webdavd's expiry task, `polderctl file gc`) deletes a row
-- only when no column anywhere references its id and touched_at is older than
-- the grace period; every writer that reuses a row sets touched_at in the
-- transaction that inserts its reference (INSERT ... ON CONFLICT DO UPDATE,
-- which also locks the row), so a collection racing that writer skips it.
-- The column is deliberately not called blob_id: the collector treats every
-- blob_id column as a reference (webdav::store::unreferenced_blobs).
-- STANDARDS: FIPS 180-4 (SHA-256), PostgreSQL 15 manual 9.5 (sha256()),
-- INSERT ... ON CONFLICT (row locking of DO UPDATE).

CREATE TABLE files.inline_contents (
    id          text PRIMARY KEY,
    content     bytea NOT NULL,
    touched_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inline_contents_id_format CHECK (id ~ '^[0-9a-f]{64}$'),
    CONSTRAINT inline_contents_size CHECK (octet_length(content) <= 1048576),
    CONSTRAINT inline_contents_named_by_content CHECK (id = encode(sha256(content), 'hex'))
);

COMMENT ON TABLE files.inline_contents IS
    'Bytes of small files (webdav.inline_max_bytes), named by SHA-256 like blobs';
