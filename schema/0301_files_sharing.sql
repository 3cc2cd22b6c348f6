-- 0301_files_sharing.sql - folders of a personal home shared with a user or a
-- group of the same organisation, read-only or read-write (polderctl folder
-- share). Team folders need no new table: they are files.homes rows with a
-- group_id (0300), created by polderctl folder add.
--
-- SECURITY: a share names its folder by node id, so the share follows the
-- folder through renames and moves and disappears with it (ON DELETE
-- CASCADE: a folder deleted and later restored from the trash is no longer
-- shared, which is the safe direction). Composite foreign keys keep the
-- sharee (account or group) in the organisation of the shared home, so no
-- share can reach across tenants whatever program writes. polder-webdavd
-- resolves a share only for its sharee (or a member of the sharee group).
-- STANDARDS: none (RFC 4918 has no sharing model; this is Polder's).

CREATE TABLE files.shares (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      bigint NOT NULL,
    home_id     bigint NOT NULL REFERENCES files.homes (id) ON DELETE CASCADE,
    node_id     bigint NOT NULL REFERENCES files.nodes (id) ON DELETE CASCADE,
    -- the URL segment sharees see: /dav/shared/<owner address>/<name>/
    name        text NOT NULL,
    account_id  bigint,
    group_id    bigint,
    writable    boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shares_account_fk FOREIGN KEY (account_id, org_id)
        REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE,
    CONSTRAINT shares_group_fk FOREIGN KEY (group_id, org_id)
        REFERENCES directory.groups (id, org_id) ON DELETE CASCADE,
    CONSTRAINT shares_one_sharee CHECK ((account_id IS NULL) <> (group_id IS NULL)),
    CONSTRAINT shares_name_format CHECK (
        octet_length(name) BETWEEN 1 AND 255 AND name !~ '[[:cntrl:]/\\]' AND name NOT IN ('.', '..'))
);
CREATE UNIQUE INDEX shares_node_account_key ON files.shares (node_id, account_id) WHERE account_id IS NOT NULL;
CREATE UNIQUE INDEX shares_node_group_key ON files.shares (node_id, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX shares_account_idx ON files.shares (account_id);
CREATE INDEX shares_group_idx ON files.shares (group_id);
CREATE INDEX shares_home_name_idx ON files.shares (home_id, name);

-- The home's organisation must be the share's (so the composite keys above
-- scope the sharee to the owner's tenant).
CREATE FUNCTION files.share_org_matches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM files.homes h WHERE h.id = NEW.home_id AND h.org_id = NEW.org_id) THEN
        RAISE EXCEPTION 'share % is not in the organisation of its home', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM files.nodes n WHERE n.id = NEW.node_id AND n.home_id = NEW.home_id AND n.is_collection) THEN
        RAISE EXCEPTION 'share % must name a folder of its home', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER shares_org BEFORE INSERT OR UPDATE ON files.shares
    FOR EACH ROW EXECUTE FUNCTION files.share_org_matches();
