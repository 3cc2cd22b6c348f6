-- 0300_files.sql - the file store of polder-webdavd: homes (a personal home per
-- account, team folders per group), the node tree with stable file ids, dead
-- properties, WebDAV locks, change tracking for sync-collection (modseqs and
-- tombstones), previous versions and the trash.
--
-- SECURITY: every node belongs to one home, and a home to one organisation;
-- composite foreign keys (account_id, org_id) / (group_id, org_id) keep a home
-- inside its owner's tenant. Paths are stored decoded and NFC-normalised
-- (polder-webdavd normalises with ICU before any lookup), relative to the home
-- root, without "." / ".." segments, empty segments or control characters
-- (CHECK constraints refuse them whatever program writes), so no stored path
-- can point outside its home. File bytes live in the blob store, referenced by
-- SHA-256 only. Quota usage (homes.used_bytes) is kept by a trigger in the same
-- transaction as the rows it counts, so it cannot drift.
-- STANDARDS: RFC 4918 (resources, collections, dead properties, locks with
-- depth 0 / infinity, exclusive / shared scope, timeouts), RFC 6578
-- (sync-collection: one modseq per home, tombstones for deletions), RFC 4331
-- (quota-used-bytes), Unicode UAX #15 (NFC).
--
-- Change tracking (DESIGN.md): each home has a monotonically increasing modseq;
-- every change takes the next value (UPDATE ... RETURNING, which also
-- serialises writers of one home) and stamps it on the changed node and on
-- every ancestor collection, so a folder's ETag ("d<id>-<modseq>") changes
-- whenever anything below it changes and sync clients can skip unchanged
-- subtrees. Deletions (and the old paths of moves) leave a tombstone with
-- their modseq.

CREATE SCHEMA files;

COMMENT ON SCHEMA files IS 'Polder files: homes, node tree, dead properties, locks, tombstones, versions, trash';

CREATE TABLE files.homes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       bigint NOT NULL REFERENCES directory.orgs (id) ON DELETE CASCADE,
    account_id   bigint,                        -- a personal home
    group_id     bigint,                        -- a team folder
    name         text NOT NULL DEFAULT '',      -- team folder name (URL segment); '' for personal homes
    modseq       bigint NOT NULL DEFAULT 1,
    used_bytes   bigint NOT NULL DEFAULT 0,
    -- NULL: the owning account's quota_bytes applies (NULL there too: unlimited)
    quota_bytes  bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT homes_account_fk FOREIGN KEY (account_id, org_id)
        REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE,
    CONSTRAINT homes_group_fk FOREIGN KEY (group_id, org_id)
        REFERENCES directory.groups (id, org_id) ON DELETE CASCADE,
    CONSTRAINT homes_one_owner CHECK ((account_id IS NULL) <> (group_id IS NULL)),
    CONSTRAINT homes_account_key UNIQUE (account_id),
    CONSTRAINT homes_name_format CHECK (
        char_length(name) <= 255 AND name !~ '[[:cntrl:]/\\]'
        AND (account_id IS NULL) = (name <> '')),
    CONSTRAINT homes_modseq_range CHECK (modseq >= 1),
    CONSTRAINT homes_used_range CHECK (used_bytes >= 0),
    CONSTRAINT homes_quota_range CHECK (quota_bytes IS NULL OR quota_bytes >= 0)
);
CREATE UNIQUE INDEX homes_team_name_key ON files.homes (org_id, lower(name)) WHERE group_id IS NOT NULL;
CREATE INDEX homes_group_idx ON files.homes (group_id);

CREATE TABLE files.nodes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    home_id        bigint NOT NULL REFERENCES files.homes (id) ON DELETE CASCADE,
    parent_id      bigint REFERENCES files.nodes (id) ON DELETE CASCADE,
    path           text NOT NULL,              -- '' for the root; 'a/b/c' below it
    name           text NOT NULL,              -- the last segment of path
    is_collection  boolean NOT NULL,
    file_id        uuid NOT NULL DEFAULT gen_random_uuid(),   -- stable across renames and moves
    blob_id        text,                       -- SHA-256 hex of the content (files only)
    size           bigint NOT NULL DEFAULT 0,
    content_type   text NOT NULL DEFAULT '',
    -- files: the ETag in wire form, quotes included; collections: '' (their
    -- ETag is derived from id and modseq: "d<id>-<modseq>")
    etag           text NOT NULL,
    modseq         bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    modified_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT nodes_home_path_key UNIQUE (home_id, path),
    CONSTRAINT nodes_file_id_key UNIQUE (file_id),
    CONSTRAINT nodes_root_shape CHECK ((parent_id IS NULL) = (path = '') AND (path = '') = (name = '')),
    CONSTRAINT nodes_path_format CHECK (
        octet_length(path) <= 4096 AND path !~ '[[:cntrl:]\\]' AND path !~ '(^/|/$|//)'
        AND path !~ '(^|/)\.\.?(/|$)'
        AND (path = name OR right(path, char_length(name) + 1) = '/' || name)),
    CONSTRAINT nodes_name_format CHECK (octet_length(name) <= 255 AND position('/' IN name) = 0),
    CONSTRAINT nodes_content CHECK (
        (is_collection AND blob_id IS NULL AND size = 0)
        OR (NOT is_collection AND blob_id ~ '^[0-9a-f]{64}$' AND size >= 0)),
    CONSTRAINT nodes_content_type_format CHECK (octet_length(content_type) <= 255 AND content_type !~ '[[:cntrl:]]')
);
CREATE INDEX nodes_parent_idx ON files.nodes (parent_id);
CREATE INDEX nodes_home_modseq_idx ON files.nodes (home_id, modseq);
CREATE INDEX nodes_blob_idx ON files.nodes (blob_id);

CREATE TABLE files.tombstones (
    home_id        bigint NOT NULL REFERENCES files.homes (id) ON DELETE CASCADE,
    path           text NOT NULL,
    file_id        uuid NOT NULL,
    is_collection  boolean NOT NULL,
    modseq         bigint NOT NULL,
    deleted_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tombstones_home_modseq_idx ON files.tombstones (home_id, modseq);

-- Dead properties (RFC 4918 4.1): the value is the property element's content
-- as self-contained XML (polder::dav::serialize_children).
CREATE TABLE files.properties (
    node_id    bigint NOT NULL REFERENCES files.nodes (id) ON DELETE CASCADE,
    namespace  text NOT NULL,
    name       text NOT NULL,
    value      text NOT NULL,
    PRIMARY KEY (node_id, namespace, name),
    CONSTRAINT properties_size CHECK (
        octet_length(namespace) <= 1024 AND octet_length(name) <= 255 AND octet_length(value) <= 65536)
);

-- Write locks (RFC 4918 6, 7): the lock root is a path in the home (a locked
-- path need not exist for long: LOCK on an unmapped URL creates an empty
-- resource, RFC 4918 7.3). Expired locks are ignored by every query and
-- removed lazily.
CREATE TABLE files.locks (
    token           text PRIMARY KEY,          -- "urn:uuid:..."
    home_id         bigint NOT NULL REFERENCES files.homes (id) ON DELETE CASCADE,
    path            text NOT NULL,
    depth_infinite  boolean NOT NULL,
    exclusive       boolean NOT NULL,
    owner_xml       text NOT NULL DEFAULT '',
    account_id      bigint NOT NULL REFERENCES directory.accounts (id) ON DELETE CASCADE,
    timeout_seconds bigint NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locks_token_format CHECK (token ~ '^urn:uuid:[0-9a-f-]{36}$'),
    CONSTRAINT locks_owner_size CHECK (octet_length(owner_xml) <= 16384),
    CONSTRAINT locks_timeout_range CHECK (timeout_seconds > 0)
);
CREATE INDEX locks_home_path_idx ON files.locks (home_id, path);

-- Previous contents of a file, kept when it is overwritten (count and age
-- limits are configuration).
CREATE TABLE files.versions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id       bigint NOT NULL REFERENCES files.nodes (id) ON DELETE CASCADE,
    blob_id       text NOT NULL,
    size          bigint NOT NULL,
    content_type  text NOT NULL DEFAULT '',
    etag          text NOT NULL,
    modified_at   timestamptz NOT NULL,        -- when this content was written
    replaced_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT versions_blob_format CHECK (blob_id ~ '^[0-9a-f]{64}$'),
    CONSTRAINT versions_size_range CHECK (size >= 0)
);
CREATE INDEX versions_node_idx ON files.versions (node_id, replaced_at);
CREATE INDEX versions_blob_idx ON files.versions (blob_id);

-- Deleted trees kept for a while: the subtree as it was (paths relative to
-- the deleted node, blob ids, sizes, content types) so it can be restored.
CREATE TABLE files.trash (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    home_id        bigint NOT NULL REFERENCES files.homes (id) ON DELETE CASCADE,
    original_path  text NOT NULL,
    is_collection  boolean NOT NULL,
    file_id        uuid NOT NULL,
    manifest       jsonb NOT NULL,
    size           bigint NOT NULL DEFAULT 0,
    deleted_by     bigint REFERENCES directory.accounts (id) ON DELETE SET NULL,
    deleted_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trash_home_idx ON files.trash (home_id, deleted_at);

-- Quota accounting: the bytes of a home's current files.
CREATE FUNCTION files.count_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE files.homes SET used_bytes = greatest(0, used_bytes - OLD.size) WHERE id = OLD.home_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE files.homes SET used_bytes = used_bytes + NEW.size WHERE id = NEW.home_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER nodes_usage AFTER INSERT OR DELETE OR UPDATE OF size, home_id ON files.nodes
    FOR EACH ROW EXECUTE FUNCTION files.count_usage();
