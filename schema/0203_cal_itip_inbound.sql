-- 0203_cal_itip_inbound.sql - iMIP arriving by mail (RFC 6047): the hand-off from
-- polder-smtpd's local delivery to polder-caldavd. When a delivered message carries a
-- text/calendar part with METHOD REPLY, REQUEST or CANCEL, polder-smtpd inserts one row
-- per local recipient account in the SAME transaction as the delivery to the INBOX (and
-- NOTIFYs channel cal_itip_inbound); polder-caldavd takes rows with FOR UPDATE SKIP
-- LOCKED (several caldavd processes are safe), applies them with its scheduling code and
-- deletes them. A row that fails for an unexpected reason is retried later (not_before,
-- attempts) and dropped with a log line after a few attempts.
--
-- cal.itip_reply_stamps remembers, per organizer account, event UID and attendee, the
-- DTSTAMP of the last REPLY applied, so an older reply arriving late (mail can overtake
-- mail) does not undo a newer answer (RFC 5546 2.1.5).
--
-- SECURITY: the row records what the receiving MTA knew about the sender - the envelope
-- sender, the From: address, the listener (mx or authenticated submission) and the SPF
-- and DMARC results of the inbound checks (NULL: not checked) - so polder-caldavd can
-- refuse a reply whose sender is not the attendee it speaks for, or whose SPF/DMARC
-- failed. The iCalendar text is bounded here (1 MiB) as well as by both services; it is
-- untrusted and parsed only by polder-caldavd with the limits of a PUT. Rows belong to
-- an account of their organisation (composite foreign key) and vanish with it.
-- STANDARDS: RFC 6047 (iMIP), RFC 5546 (iTIP methods, 2.1.5 DTSTAMP ordering), RFC 7489
-- and RFC 7208 (the recorded DMARC/SPF results), RFC 8601.

CREATE TABLE cal.itip_inbound (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       bigint NOT NULL,
    org_id           bigint NOT NULL,
    method           text NOT NULL,
    itip             text NOT NULL,
    envelope_sender  text NOT NULL,          -- '' = null reverse-path
    from_address     text NOT NULL,          -- the first From: mailbox, '' when none
    via              text NOT NULL,          -- 'mx' | 'submission'
    spf              text,                   -- result word of the inbound check, NULL = not checked
    dmarc            text,
    message_id       text NOT NULL DEFAULT '',
    received_at      timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    not_before       timestamptz NOT NULL DEFAULT now(),
    last_error       text NOT NULL DEFAULT '',
    FOREIGN KEY (account_id, org_id) REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE,
    CONSTRAINT itip_inbound_method_check CHECK (method IN ('REQUEST', 'REPLY', 'CANCEL')),
    CONSTRAINT itip_inbound_via_check CHECK (via IN ('mx', 'submission')),
    CONSTRAINT itip_inbound_size_check CHECK (octet_length(itip) BETWEEN 1 AND 1048576),
    CONSTRAINT itip_inbound_address_check CHECK (
        octet_length(envelope_sender) <= 320 AND octet_length(from_address) <= 320),
    CONSTRAINT itip_inbound_auth_check CHECK (
        (spf IS NULL OR octet_length(spf) <= 32) AND (dmarc IS NULL OR octet_length(dmarc) <= 32)),
    CONSTRAINT itip_inbound_text_check CHECK (
        octet_length(message_id) <= 998 AND octet_length(last_error) <= 1000 AND attempts >= 0)
);
CREATE INDEX itip_inbound_due_idx ON cal.itip_inbound (not_before, id);
CREATE INDEX itip_inbound_account_idx ON cal.itip_inbound (account_id);

COMMENT ON TABLE cal.itip_inbound IS
    'polder-smtpd -> polder-caldavd: iTIP messages received by mail, waiting to be applied';

CREATE TABLE cal.itip_reply_stamps (
    account_id  bigint NOT NULL REFERENCES directory.accounts (id) ON DELETE CASCADE,
    uid         text NOT NULL,
    attendee    text NOT NULL,               -- lower-case calendar user address
    dtstamp     bigint NOT NULL,             -- UTC seconds
    PRIMARY KEY (account_id, uid, attendee),
    CONSTRAINT itip_reply_stamps_size_check CHECK (octet_length(uid) <= 2048 AND octet_length(attendee) <= 330)
);
