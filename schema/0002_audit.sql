-- 0002_audit.sql - the audit trail: security-relevant events (logins, failed and
-- throttled logins, every administrative change).
--
-- SECURITY: the trail is append-only: a trigger refuses UPDATE, so an event, once
-- written, cannot be rewritten by the application. DELETE stays possible for
-- retention purges by the operator. org_id and account_id deliberately have no
-- foreign keys: the trail must outlive the account or organisation it mentions.
-- Passwords and secrets never appear in details (common/auth writes only ids,
-- labels, reasons).
-- STANDARDS: none (remote_ip uses PostgreSQL's inet type for IPv4 and IPv6).
--
-- Applied once by the migration runner inside one transaction; plain CREATE
-- statements fail loudly on a half-prepared database.

CREATE SCHEMA audit;

COMMENT ON SCHEMA audit IS 'Polder audit trail: append-only security events';

CREATE TABLE audit.events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    org_id      bigint,
    account_id  bigint,
    actor       text NOT NULL,
    event       text NOT NULL,
    remote_ip   inet,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT events_actor_format CHECK (octet_length(actor) BETWEEN 1 AND 256),
    -- dotted lower-case names: auth.login.failure, admin.user.add ...
    CONSTRAINT events_event_format CHECK (
        octet_length(event) <= 100 AND event ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    CONSTRAINT events_details_object CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX events_at_idx ON audit.events (at);
CREATE INDEX events_org_at_idx ON audit.events (org_id, at) WHERE org_id IS NOT NULL;
CREATE INDEX events_account_at_idx ON audit.events (account_id, at) WHERE account_id IS NOT NULL;
CREATE INDEX events_event_at_idx ON audit.events (event, at);

-- refuse_update - the trail is append-only.
CREATE FUNCTION audit.refuse_update() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'audit.events is append-only (event id %)', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER events_append_only BEFORE UPDATE ON audit.events
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_update();
