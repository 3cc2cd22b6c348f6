-- 0116_mail_append_batch.sql - the APPENDs of a group-committed batch in one statement.
--
-- polder-imapd commits the writes of concurrent sessions together (db::batch_commit).
-- An APPEND to one's own mailbox took two statements (resolve the mailbox with the
-- account's usage row locked, then message row + UID + mailbox entry + NOTIFY) inside
-- BEGIN ... COMMIT, all on a database thread: a batch of eight APPENDs paid eighteen round
-- trips. mail.append_batch does the same for every APPEND of the batch in ONE statement,
-- sent outside a transaction block (it commits by itself), one item after the other in
-- ascending account order (one lock order for every batch); p_items numbers the items
-- for the caller (its rows name them):
--   - the actor's own mailbox by its normalised name, with the account's usage row locked
--     (FOR UPDATE OF u, as ops::append's resolve_own); none: status 404;
--   - a \Noselect mailbox: 400; a message that does not fit the quota: 507 (the usage
--     includes the batch's earlier items: the quota trigger has counted them);
--   - the mailbox's next UID and modseq (and, for an IMAP4rev1 session whose view is the
--     mailbox's latest, recent_uid: the session claims the message as \Recent); UIDs
--     exhausted (uidnext would pass the limit): 409, and nothing was inserted;
--   - the mail.messages row (the octets of a small message cut from p_raw: offset, -1 for
--     none), the mailbox entry with the flags, NOTIFY "<mailbox>:<modseq>";
--   - 201 with the new UID, modseq, UIDVALIDITY, flags, whether it was claimed and the
--     message row's id.
-- Any other error fails the whole statement (nothing of it stays); the caller then runs
-- each APPEND alone in a transaction of its own.
--
-- SECURITY: only the actor's own mailboxes (m.account_id = the item's account); shared
-- mailboxes, with their rights checks, go through ops::append. Fixed SQL, parameters only.
-- STANDARDS: RFC 3501 / RFC 9051 6.3.12 (APPEND), RFC 4315 (APPENDUID), RFC 7162 (modseq),
-- RFC 9208 (quota: refused before anything is stored).

CREATE FUNCTION mail.append_batch(
    p_items integer[], p_accounts bigint[], p_names text[], p_blobs text[], p_sizes bigint[], p_sent_dates text[], p_subjects text[],
    p_sort_subjects text[], p_sort_froms text[], p_sort_tos text[], p_sort_ccs text[], p_from_texts text[],
    p_to_texts text[], p_cc_texts text[], p_bcc_texts text[], p_message_ids text[], p_in_reply_tos text[],
    p_references text[], p_envelopes text[], p_bodystructures text[], p_header_fields text[], p_body_texts text[],
    p_header_raws text[], p_raw bytea, p_raw_at bigint[], p_flags text[], p_internaldates bigint[],
    p_channels text[], p_claim_modseqs bigint[], p_claims boolean[], p_uid_limit bigint)
RETURNS TABLE (item integer, status integer, mailbox_id bigint, uid bigint, highestmodseq bigint,
               uidvalidity bigint, flags text[], claimed boolean, message_id bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    r record;
    mb record;
    a record;
    new_id bigint;
BEGIN
    FOR r IN
        SELECT t.*
          FROM unnest(p_items, p_accounts, p_names, p_blobs, p_sizes, p_sent_dates, p_subjects, p_sort_subjects, p_sort_froms,
                      p_sort_tos, p_sort_ccs, p_from_texts, p_to_texts, p_cc_texts, p_bcc_texts, p_message_ids,
                      p_in_reply_tos, p_references, p_envelopes, p_bodystructures, p_header_fields, p_body_texts,
                      p_header_raws, p_raw_at, p_flags, p_internaldates, p_channels, p_claim_modseqs, p_claims)
               AS t(k, account, name, blob, size, sent_date, subject, sort_subject, sort_from, sort_to,
                                    sort_cc, from_text, to_text, cc_text, bcc_text, message_id_hdr, in_reply_to,
                                    refs, envelope, bodystructure, header_fields, body_text, header_raw, raw_at,
                                    flag_list, internaldate, channel, claim_modseq, claim)
         ORDER BY t.account, t.k
    LOOP
        item := r.k;
        mailbox_id := NULL; uid := NULL; highestmodseq := NULL; uidvalidity := NULL;
        flags := NULL; claimed := NULL; message_id := NULL;
        SELECT m.id, m.noselect, ac.quota_bytes, u.used_bytes INTO mb
          FROM mail.mailboxes m
          JOIN directory.accounts ac ON ac.id = m.account_id
          JOIN mail.account_usage u ON u.account_id = m.account_id
         WHERE m.account_id = r.account AND m.name = r.name
           FOR UPDATE OF u;
        IF NOT FOUND THEN
            status := 404; RETURN NEXT; CONTINUE;
        END IF;
        IF mb.noselect THEN
            status := 400; RETURN NEXT; CONTINUE;
        END IF;
        IF mb.quota_bytes IS NOT NULL AND mb.used_bytes + r.size > mb.quota_bytes THEN
            status := 507; RETURN NEXT; CONTINUE;
        END IF;
        UPDATE mail.mailboxes m
           SET uidnext = m.uidnext + 1, highestmodseq = m.highestmodseq + 1,
               recent_uid = CASE WHEN r.claim AND m.highestmodseq = r.claim_modseq THEN m.uidnext
                                 ELSE m.recent_uid END
         WHERE m.id = mb.id AND m.uidnext + 1 <= p_uid_limit
        RETURNING m.uidnext - 1 AS new_uid, m.highestmodseq AS modseq, m.uidvalidity AS validity,
                  m.recent_uid = m.uidnext - 1 AS is_claimed INTO a;
        IF NOT FOUND THEN
            status := 409; RETURN NEXT; CONTINUE;
        END IF;
        INSERT INTO mail.messages (blob_sha256, size, sent_date, subject, sort_subject, sort_from, sort_to, sort_cc,
                                   from_text, to_text, cc_text, bcc_text, message_id_hdr, in_reply_to,
                                   references_ids, envelope, bodystructure, header_fields, body_text, header_raw, raw)
        VALUES (decode(r.blob, 'hex'), r.size, to_timestamp(NULLIF(r.sent_date, '')::bigint), r.subject,
                r.sort_subject, r.sort_from, r.sort_to, r.sort_cc, r.from_text, r.to_text, r.cc_text, r.bcc_text,
                r.message_id_hdr, r.in_reply_to::text[], r.refs::text[], r.envelope::jsonb, r.bodystructure::jsonb,
                r.header_fields::jsonb, r.body_text, NULLIF(r.header_raw, ''),
                CASE WHEN r.raw_at >= 0 THEN substring(p_raw FROM (r.raw_at + 1)::integer FOR r.size::integer) END)
        RETURNING id INTO new_id;
        INSERT INTO mail.mailbox_messages AS mm (mailbox_id, uid, message_id, size, flags, modseq, internaldate)
        VALUES (mb.id, a.new_uid, new_id, r.size, mail.flags_union('{}', r.flag_list::text[]), a.modseq,
                to_timestamp(r.internaldate))
        RETURNING mm.flags INTO flags;
        PERFORM pg_notify(r.channel, mb.id::text || ':' || a.modseq::text);
        status := 201;
        mailbox_id := mb.id;
        uid := a.new_uid;
        highestmodseq := a.modseq;
        uidvalidity := a.validity;
        claimed := a.is_claimed;
        message_id := new_id;
        RETURN NEXT;
    END LOOP;
END
$$;

COMMENT ON FUNCTION mail.append_batch(integer[], bigint[], text[], text[], bigint[], text[], text[], text[], text[], text[],
                                      text[], text[], text[], text[], text[], text[], text[], text[], text[],
                                      text[], text[], text[], text[], bytea, bigint[], text[], bigint[], text[],
                                      bigint[], boolean[], bigint) IS
    'APPENDs to the actors'' own mailboxes in one statement: quota, UID, message row, entry, NOTIFY';
