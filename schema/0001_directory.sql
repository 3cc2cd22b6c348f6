-- 0001_directory.sql - the directory: organisations (tenants), their mail domains,
-- accounts, aliases, groups with members, app passwords and login-throttling state.
--
-- SECURITY: the database itself refuses bad data, whatever program writes it:
--   * every address is stored lower-case, in RFC 5321 dot-string form, with its
--     domain as an IDNA A-label (xn--...); CHECK constraints enforce the shape;
--   * an address is unique across accounts, aliases and groups of the WHOLE
--     installation (directory.addresses, kept by triggers, has it as primary key,
--     so two concurrent transactions cannot both claim it);
--   * composite foreign keys (x_id, org_id) make cross-tenant links impossible: an
--     alias, a group member or a domain-bound object always lives in the org of
--     the row it points at;
--   * passwords are only ever stored as Argon2id encoded hashes.
--   Deleting an organisation cascades to everything it owns; polderctl asks for
--   --force before it does that.
-- STANDARDS: RFC 5321 section 4.1.2 (Dot-string local part) and 4.5.3.1 (length
--   limits: local part 64, domain 255, path 256 octets), RFC 5322 section 3.2.3
--   (atext), RFC 5890/5891 (IDNA2008 A-labels), RFC 1035 section 2.3.4 (labels of
--   at most 63 octets).
--
-- The migration runner applies this file once, inside one transaction, and
-- records it. Plain CREATE statements (no IF NOT EXISTS) make a half-prepared
-- database fail loudly instead of silently mixing old and new definitions.

CREATE SCHEMA directory;

COMMENT ON SCHEMA directory IS 'Polder directory: organisations, domains, accounts, aliases, groups, app passwords, login throttling';

-- Organisations are the tenants; no query crosses them. The name is a short
-- lower-case slug used on the command line (polderctl ... --org NAME).
CREATE TABLE directory.orgs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orgs_name_key UNIQUE (name),
    CONSTRAINT orgs_name_format CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$')
);

-- Mail domains, each owned by exactly one organisation. Stored as A-labels so
-- that SMTP (which sees A-labels unless SMTPUTF8 is used) finds them directly.
CREATE TABLE directory.domains (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES directory.orgs (id) ON DELETE CASCADE,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT domains_name_key UNIQUE (name),
    -- target of the composite foreign keys that keep objects inside their org
    CONSTRAINT domains_id_org_key UNIQUE (id, org_id),
    CONSTRAINT domains_name_format CHECK (
        octet_length(name) <= 253
        AND name ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
        -- an all-numeric top label would make "10.0.0.1" look like a domain
        AND name !~ '\.[0-9]+$')
);
CREATE INDEX domains_org_idx ON directory.domains (org_id);

-- address = local_part '@' domain name, checked by directory.check_address().
-- The local part is an RFC 5321 Dot-string of RFC 5322 atext, lower-case.
CREATE TABLE directory.accounts (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id               bigint NOT NULL REFERENCES directory.orgs (id) ON DELETE CASCADE,
    domain_id            bigint NOT NULL,
    local_part           text NOT NULL,
    address              text NOT NULL,
    display_name         text NOT NULL DEFAULT '',
    password_hash        text,                    -- NULL: no password login (e.g. a resource)
    quota_bytes          bigint,                  -- NULL: unlimited
    used_bytes           bigint NOT NULL DEFAULT 0,
    disabled             boolean NOT NULL DEFAULT false,
    kind                 text NOT NULL DEFAULT 'user',
    created_at           timestamptz NOT NULL DEFAULT now(),
    password_changed_at  timestamptz,
    CONSTRAINT accounts_address_key UNIQUE (address),
    CONSTRAINT accounts_id_org_key UNIQUE (id, org_id),
    CONSTRAINT accounts_domain_fk FOREIGN KEY (domain_id, org_id)
        REFERENCES directory.domains (id, org_id) ON DELETE CASCADE,
    CONSTRAINT accounts_local_part_format CHECK (
        octet_length(local_part) BETWEEN 1 AND 64
        AND local_part ~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*$'),
    CONSTRAINT accounts_address_format CHECK (address = lower(address) AND octet_length(address) <= 254),
    CONSTRAINT accounts_display_name_format CHECK (
        char_length(display_name) <= 256 AND display_name !~ '[[:cntrl:]]'),
    CONSTRAINT accounts_password_hash_format CHECK (
        password_hash IS NULL OR (password_hash LIKE '$argon2id$%' AND octet_length(password_hash) <= 512)),
    CONSTRAINT accounts_quota_range CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
    CONSTRAINT accounts_used_range CHECK (used_bytes >= 0),
    CONSTRAINT accounts_kind CHECK (kind IN ('user', 'resource'))
);
CREATE INDEX accounts_org_idx ON directory.accounts (org_id);
CREATE INDEX accounts_domain_idx ON directory.accounts (domain_id);

-- An alias delivers to one account of the same organisation (composite FK).
CREATE TABLE directory.aliases (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id             bigint NOT NULL REFERENCES directory.orgs (id) ON DELETE CASCADE,
    domain_id          bigint NOT NULL,
    local_part         text NOT NULL,
    address            text NOT NULL,
    target_account_id  bigint NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT aliases_address_key UNIQUE (address),
    CONSTRAINT aliases_domain_fk FOREIGN KEY (domain_id, org_id)
        REFERENCES directory.domains (id, org_id) ON DELETE CASCADE,
    CONSTRAINT aliases_target_fk FOREIGN KEY (target_account_id, org_id)
        REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE,
    CONSTRAINT aliases_local_part_format CHECK (
        octet_length(local_part) BETWEEN 1 AND 64
        AND local_part ~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*$'),
    CONSTRAINT aliases_address_format CHECK (address = lower(address) AND octet_length(address) <= 254)
);
CREATE INDEX aliases_org_idx ON directory.aliases (org_id);
CREATE INDEX aliases_target_idx ON directory.aliases (target_account_id);
CREATE INDEX aliases_domain_idx ON directory.aliases (domain_id);

-- Groups: a named set of accounts of one organisation, optionally with an address
-- (a distribution list). Names are unique per organisation, ignoring case.
CREATE TABLE directory.groups (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES directory.orgs (id) ON DELETE CASCADE,
    name        text NOT NULL,
    domain_id   bigint,
    local_part  text,
    address     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT groups_org_name_key UNIQUE (org_id, name),
    CONSTRAINT groups_address_key UNIQUE (address),
    CONSTRAINT groups_id_org_key UNIQUE (id, org_id),
    CONSTRAINT groups_domain_fk FOREIGN KEY (domain_id, org_id)
        REFERENCES directory.domains (id, org_id) ON DELETE CASCADE,
    CONSTRAINT groups_name_format CHECK (
        char_length(name) BETWEEN 1 AND 100 AND name !~ '[[:cntrl:]@]' AND name = btrim(name)),
    CONSTRAINT groups_address_parts CHECK (
        (address IS NULL) = (domain_id IS NULL) AND (address IS NULL) = (local_part IS NULL)),
    CONSTRAINT groups_local_part_format CHECK (
        local_part IS NULL OR (octet_length(local_part) BETWEEN 1 AND 64
        AND local_part ~ '^[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*$')),
    CONSTRAINT groups_address_format CHECK (
        address IS NULL OR (address = lower(address) AND octet_length(address) <= 254))
);
CREATE UNIQUE INDEX groups_org_lower_name_key ON directory.groups (org_id, lower(name));
CREATE INDEX groups_domain_idx ON directory.groups (domain_id);

-- Members come from the group's own organisation: both foreign keys carry org_id.
CREATE TABLE directory.group_members (
    group_id    bigint NOT NULL,
    account_id  bigint NOT NULL,
    org_id      bigint NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, account_id),
    CONSTRAINT group_members_group_fk FOREIGN KEY (group_id, org_id)
        REFERENCES directory.groups (id, org_id) ON DELETE CASCADE,
    CONSTRAINT group_members_account_fk FOREIGN KEY (account_id, org_id)
        REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE
);
CREATE INDEX group_members_account_idx ON directory.group_members (account_id);

-- App passwords: "ap-" + public_id (8 symbols) + 24 secret symbols. Login looks
-- the row up by public_id and verifies only that one hash (see common/auth).
-- Revoked rows are kept (revoked_at set) so the audit trail can name them.
CREATE TABLE directory.app_passwords (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES directory.accounts (id) ON DELETE CASCADE,
    public_id     text NOT NULL,
    label         text NOT NULL,
    hash          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CONSTRAINT app_passwords_public_id_key UNIQUE (public_id),
    CONSTRAINT app_passwords_public_id_format CHECK (public_id ~ '^[a-km-np-z2-9]{8}$'),
    CONSTRAINT app_passwords_label_format CHECK (
        char_length(label) BETWEEN 1 AND 100 AND label !~ '[[:cntrl:]]' AND label = btrim(label)),
    CONSTRAINT app_passwords_hash_format CHECK (hash LIKE '$argon2id$%' AND octet_length(hash) <= 512),
    CONSTRAINT app_passwords_revoked_after_created CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
CREATE INDEX app_passwords_account_idx ON directory.app_passwords (account_id);
-- a label names one active app password of an account
CREATE UNIQUE INDEX app_passwords_active_label_key
    ON directory.app_passwords (account_id, lower(label)) WHERE revoked_at IS NULL;

-- Login throttling, shared by every replica of every service. One row per
-- (scope, key): scope 'account' keyed by the (normalised) address that was tried,
-- whether or not it exists; scope 'ip' keyed by the client address (IPv6 by /64).
-- A fixed window: failures count from window_start; reaching the limit sets
-- locked_until. Rows whose window and lock have both expired are garbage.
CREATE TABLE directory.auth_failures (
    scope         text NOT NULL,
    key           text NOT NULL,
    failures      integer NOT NULL,
    window_start  timestamptz NOT NULL,
    locked_until  timestamptz,
    PRIMARY KEY (scope, key),
    CONSTRAINT auth_failures_scope CHECK (scope IN ('account', 'ip')),
    CONSTRAINT auth_failures_key_length CHECK (octet_length(key) BETWEEN 1 AND 320),
    CONSTRAINT auth_failures_failures_range CHECK (failures >= 0)
);
CREATE INDEX auth_failures_window_idx ON directory.auth_failures (window_start);

-- The installation-wide address registry: one row per address in use, whatever
-- owns it. Its primary key is what makes an address unique across accounts,
-- aliases and groups, race-free under any isolation level. Only the triggers
-- below write it; readers use it to resolve a recipient in one lookup.
CREATE TABLE directory.addresses (
    address   text PRIMARY KEY,
    org_id    bigint NOT NULL REFERENCES directory.orgs (id) ON DELETE CASCADE,
    kind      text NOT NULL,
    owner_id  bigint NOT NULL,
    CONSTRAINT addresses_kind CHECK (kind IN ('account', 'alias', 'group')),
    CONSTRAINT addresses_owner_key UNIQUE (kind, owner_id)
);
CREATE INDEX addresses_org_idx ON directory.addresses (org_id);

-- check_address - refuse a row whose address is not local_part@<its domain>.
CREATE FUNCTION directory.check_address() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
    domain_name text;
BEGIN
    IF NEW.address IS NULL THEN
        RETURN NEW;   -- groups without an address; groups_address_parts covers the rest
    END IF;
    SELECT d.name INTO domain_name FROM directory.domains d WHERE d.id = NEW.domain_id;
    IF domain_name IS NULL OR NEW.address <> NEW.local_part || '@' || domain_name THEN
        RAISE EXCEPTION 'address % does not match local part % and domain %',
            NEW.address, NEW.local_part, coalesce(domain_name, '(none)')
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$fn$;

-- register_address - keep directory.addresses in step with accounts, aliases and
-- groups. TG_ARGV[0] is the kind. A duplicate address raises unique_violation on
-- addresses_pkey, which callers translate to "already in use".
CREATE FUNCTION directory.register_address() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.address IS NOT NULL THEN
        DELETE FROM directory.addresses WHERE kind = TG_ARGV[0] AND owner_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.address IS NOT NULL THEN
        INSERT INTO directory.addresses (address, org_id, kind, owner_id)
        VALUES (NEW.address, NEW.org_id, TG_ARGV[0], NEW.id);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER accounts_check_address BEFORE INSERT OR UPDATE OF address, local_part, domain_id
    ON directory.accounts FOR EACH ROW EXECUTE FUNCTION directory.check_address();
CREATE TRIGGER aliases_check_address BEFORE INSERT OR UPDATE OF address, local_part, domain_id
    ON directory.aliases FOR EACH ROW EXECUTE FUNCTION directory.check_address();
CREATE TRIGGER groups_check_address BEFORE INSERT OR UPDATE OF address, local_part, domain_id
    ON directory.groups FOR EACH ROW EXECUTE FUNCTION directory.check_address();

CREATE TRIGGER accounts_register_address AFTER INSERT OR DELETE OR UPDATE OF address, org_id
    ON directory.accounts FOR EACH ROW EXECUTE FUNCTION directory.register_address('account');
CREATE TRIGGER aliases_register_address AFTER INSERT OR DELETE OR UPDATE OF address, org_id
    ON directory.aliases FOR EACH ROW EXECUTE FUNCTION directory.register_address('alias');
CREATE TRIGGER groups_register_address AFTER INSERT OR DELETE OR UPDATE OF address, org_id
    ON directory.groups FOR EACH ROW EXECUTE FUNCTION directory.register_address('group');
