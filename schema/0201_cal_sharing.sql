-- 0201_cal_sharing.sql - calendars and address books shared with a user or a group of
-- the same organisation, read-only or read-write (polderctl calendar share, or the
-- CalendarServer CS:share POST of the owner's client). A sharee sees the collection in
-- its own home as /dav/calendars/<sharee>/shared-<collection id>/ (and the same under
-- /dav/addressbooks/); group shares are resolved against directory.group_members at
-- request time, so membership changes take effect without sharing again.
--
-- SECURITY: composite foreign keys keep the sharee (account or group) in the
-- organisation of the share, and the trigger below keeps the share in the organisation
-- of its collection, so no share can reach across tenants whatever program writes. A
-- share disappears with its collection, its sharee account or its group (ON DELETE
-- CASCADE). polder-caldavd resolves a bound collection only for its sharee (or a current
-- member of the sharee group) and never for the owner.
-- STANDARDS: none normative (RFC 4918 has no sharing model); the DAV view follows
-- CalendarServer's caldav-sharing (CS:invite, CS:shared-url, CS:share).

CREATE TABLE cal.shares (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         bigint NOT NULL,
    collection_id  bigint NOT NULL REFERENCES cal.collections (id) ON DELETE CASCADE,
    account_id     bigint,
    group_id       bigint,
    writable       boolean NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cal_shares_account_fk FOREIGN KEY (account_id, org_id)
        REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE,
    CONSTRAINT cal_shares_group_fk FOREIGN KEY (group_id, org_id)
        REFERENCES directory.groups (id, org_id) ON DELETE CASCADE,
    CONSTRAINT cal_shares_one_sharee CHECK ((account_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX cal_shares_collection_account_key ON cal.shares (collection_id, account_id)
    WHERE account_id IS NOT NULL;
CREATE UNIQUE INDEX cal_shares_collection_group_key ON cal.shares (collection_id, group_id)
    WHERE group_id IS NOT NULL;
CREATE INDEX cal_shares_account_idx ON cal.shares (account_id);
CREATE INDEX cal_shares_group_idx ON cal.shares (group_id);

-- The collection's organisation must be the share's, and a collection is never shared
-- with its own owner.
CREATE FUNCTION cal.share_org_matches() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cal.collections c WHERE c.id = NEW.collection_id AND c.org_id = NEW.org_id
                   AND c.account_id IS DISTINCT FROM NEW.account_id) THEN
        RAISE EXCEPTION 'share % is not in the organisation of its collection, or names its owner', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER cal_shares_org BEFORE INSERT OR UPDATE ON cal.shares
    FOR EACH ROW EXECUTE FUNCTION cal.share_org_matches();
