-- 0103_mail_search.sql - a cheap first test for IMAP SEARCH HEADER.
--
-- SEARCH HEADER <field> <string> is a substring match on the values of the named header
-- fields (RFC 9051 6.4.4), checked on mail.messages.header_fields (a JSON array of
-- [name, value] pairs prepared at delivery). Walking that array for every message of a
-- mailbox was most of the cost of a header search. header_values holds every field
-- value, each lower-cased on its own (exactly as the check does), one per line: a message
-- whose header_values does not contain the lower-cased string cannot match, so the walk
-- runs only for the few that do (common/mailstore search.cpp). It is a generated column,
-- so it can never disagree with header_fields, whoever writes the row; adding it
-- computes it for the messages already stored.
--
-- SECURITY: derived data only; no new input path.
-- STANDARDS: RFC 3501 / RFC 9051 6.4.4 (SEARCH HEADER).

CREATE FUNCTION mail.header_values_lc(h jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT coalesce(string_agg(lower(coalesce(f->>1, '')), E'\n'), '')
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(h) = 'array' THEN h ELSE '[]'::jsonb END) AS f;
$fn$;

ALTER TABLE mail.messages
    ADD COLUMN header_values text GENERATED ALWAYS AS (mail.header_values_lc(header_fields)) STORED;
