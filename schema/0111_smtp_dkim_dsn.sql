-- 0111_smtp_dkim_dsn.sql - DKIM signing keys of polder-smtpd, one active key per mail
-- domain (written by `polderctl domain dkim generate`, read by the outbound queue
-- workers), and the DELAY notice flag of queued recipients.
--
-- SECURITY: the private key is stored as PEM (PKCS#8) in this table, not encrypted: it is
-- readable by whoever can read the Polder database (the service role and its superusers),
-- never world-readable on disk, never printed by polderctl (`dkim show` prints the public
-- key only). Key rotation keeps the old row (active = false) so its selector can stay
-- published while mail signed with it is still in transit; the row goes with its domain.
-- STANDARDS: RFC 3461 section 4.1 (NOTIFY=DELAY), RFC 6376 (DKIM), RFC 8301 (RSA at least 1024 bits, rsa-sha256 only; polderctl
-- makes 2048 and more). 'ed25519-sha256' (RFC 8463) is allowed by the table for a later
-- version; polderctl does not create such keys yet.
CREATE TABLE mail.dkim_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id    bigint NOT NULL REFERENCES directory.domains (id) ON DELETE CASCADE,
    selector     text NOT NULL,
    algorithm    text NOT NULL,
    private_key  text NOT NULL,
    public_key   text NOT NULL,   -- base64, as published in p=
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dkim_keys_selector_format CHECK (selector ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT dkim_keys_algorithm CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    CONSTRAINT dkim_keys_domain_selector_key UNIQUE (domain_id, selector)
);

CREATE UNIQUE INDEX dkim_keys_one_active ON mail.dkim_keys (domain_id) WHERE active;

COMMENT ON TABLE mail.dkim_keys IS 'polder-smtpd: DKIM signing keys per domain (RFC 6376)';

-- RFC 3461 NOTIFY=DELAY: the sender is told once that a recipient is still being retried
-- (after smtp.dsn_delay_seconds); this remembers that the notice went out.
ALTER TABLE mail.smtp_queue_rcpt ADD COLUMN delay_notified boolean NOT NULL DEFAULT false;
