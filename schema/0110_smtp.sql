-- 0110_smtp.sql - state of polder-smtpd that must be shared by every smtpd process:
-- the per-account submission rate limit and the durable outbound queue.
--
-- SECURITY: the counter lives in PostgreSQL, not in one process, so running several
-- smtpd replicas does not multiply what a stolen password can send. One row per account
-- (bounded), removed with the account (ON DELETE CASCADE).
-- The queue: a message is queued in the same transaction as its local deliveries, so a
-- 250 covers both. Delivery workers in any number of processes claim due recipients with
-- SELECT ... FOR UPDATE SKIP LOCKED and push next_attempt_at forward (a lease) before they
-- connect, so each recipient is attempted by one worker at a time; a crashed worker's
-- lease simply expires and the recipient is tried again.
-- STANDARDS: RFC 6409 section 8 (submission rate limits are local policy), RFC 5321
-- section 4.5.4.1 (retry strategy, give up after 4-5 days), RFC 3461 (RET, ENVID,
-- NOTIFY, ORCPT kept for the DSN), RFC 3464 (the DSN itself).

-- A fixed window per account: window_start is when the current hour began for it,
-- messages how many MAIL transactions it opened since then.
CREATE TABLE mail.smtp_rate (
    account_id    bigint PRIMARY KEY REFERENCES directory.accounts (id) ON DELETE CASCADE,
    window_start  timestamptz NOT NULL DEFAULT now(),
    messages      integer NOT NULL DEFAULT 0,
    CONSTRAINT smtp_rate_messages_range CHECK (messages >= 0)
);

COMMENT ON TABLE mail.smtp_rate IS 'polder-smtpd: messages submitted per account in the current one-hour window';

-- One row per queued message; its octets are the blob (trace fields included).
CREATE TABLE mail.smtp_queue (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    blob_sha256        bytea NOT NULL,
    size               bigint NOT NULL,
    sender             text NOT NULL,               -- '' = null reverse-path (never bounced)
    sender_account_id  bigint REFERENCES directory.accounts (id) ON DELETE SET NULL,
    envid              text,                        -- RFC 3461 ENVID, decoded
    ret                text,                        -- RFC 3461 RET: FULL | HDRS
    smtputf8           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    CONSTRAINT smtp_queue_ret CHECK (ret IS NULL OR ret IN ('FULL', 'HDRS')),
    CONSTRAINT smtp_queue_size CHECK (size >= 0),
    CONSTRAINT smtp_queue_sender_length CHECK (octet_length(sender) <= 256),
    CONSTRAINT smtp_queue_envid_length CHECK (envid IS NULL OR octet_length(envid) <= 100)
);

-- One row per recipient still to deliver; removed once delivered or bounced.
CREATE TABLE mail.smtp_queue_rcpt (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_id         bigint NOT NULL REFERENCES mail.smtp_queue (id) ON DELETE CASCADE,
    recipient        text NOT NULL,
    domain           text NOT NULL,                -- lower case, where the route is looked up
    notify           text,                         -- RFC 3461 NOTIFY as sent: NEVER or SUCCESS,FAILURE,DELAY
    orcpt            text,                         -- RFC 3461 ORCPT "type;address", decoded
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text NOT NULL DEFAULT '',
    CONSTRAINT smtp_queue_rcpt_attempts CHECK (attempts >= 0),
    CONSTRAINT smtp_queue_rcpt_length CHECK (octet_length(recipient) <= 256 AND octet_length(last_error) <= 1000)
);
CREATE INDEX smtp_queue_rcpt_due_idx ON mail.smtp_queue_rcpt (next_attempt_at);
CREATE INDEX smtp_queue_rcpt_queue_idx ON mail.smtp_queue_rcpt (queue_id);

COMMENT ON TABLE mail.smtp_queue IS 'polder-smtpd: outbound messages waiting for delivery';
COMMENT ON TABLE mail.smtp_queue_rcpt IS 'polder-smtpd: outbound recipients still to deliver';
