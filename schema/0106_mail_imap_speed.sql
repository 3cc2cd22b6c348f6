-- 0106_mail_imap_speed.sql - what polder-imapd's STORE, APPEND and header FETCH cost the
-- database: the flag functions of 0100_mail.sql and header_values_lc of 0103_mail_search.sql
-- without a query per call (below), and the header block stored with each message (at
-- the end).
--
-- mail.flags_union, mail.flags_minus and mail.has_flag were LANGUAGE sql functions whose
-- bodies are queries (unnest, DISTINCT ON, array_agg): PostgreSQL cannot inline those, so
-- every statement that calls one parses, analyses and plans its body again (a SQL
-- function's plan is not kept between statements), and runs a small executor per row.
-- In a flag STORE (UPDATE ... SET flags = mail.flags_union(...) WHERE flags IS DISTINCT
-- FROM mail.flags_union(...)) that was about a third of the database's time. The same
-- functions in PL/pgSQL are compiled once per connection and run as simple expressions
-- over the (short) arrays, with the same results:
--   flags_union(a, b): the elements of a and b, one per lower-cased value (a's spelling
--     wins over b's, the first one within each), ordered by lower(element);
--   flags_minus(a, b): the elements of a whose lower-cased value is not one of b's,
--     ordered by lower(element) (duplicates in a are kept, as before);
--   has_flag(a, f): whether a holds f, compared lower-cased.
-- A NULL array counts as empty. NULL elements, which the mail store never stores or
-- passes (flags are normalized in C++ first), are dropped instead of sorted last.
-- Ordering compares lower() values with the database's default collation, as the
-- ORDER BY of the SQL versions did.
--
-- SECURITY: pure functions of their arguments; no new input path. Arrays are bounded by
-- the callers (mailstore names.hpp: flags per message and per command).
-- STANDARDS: RFC 3501 / RFC 9051 2.3.2 (flags; keywords compared case-insensitively).

CREATE OR REPLACE FUNCTION mail.flags_union(a text[], b text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    r text[] := '{}';   -- result, ordered by lower()
    k text[] := '{}';   -- lower() of each element of r
    n integer := 0;
    i integer;
    f text;
    lf text;
BEGIN
    FOREACH f IN ARRAY coalesce(a, '{}') || coalesce(b, '{}') LOOP
        CONTINUE WHEN f IS NULL;
        lf := lower(f);
        CONTINUE WHEN lf = ANY (k);
        -- Insertion sort: the arrays are a handful of flags.
        i := n;
        WHILE i > 0 AND k[i] > lf LOOP
            r[i + 1] := r[i];
            k[i + 1] := k[i];
            i := i - 1;
        END LOOP;
        r[i + 1] := f;
        k[i + 1] := lf;
        n := n + 1;
    END LOOP;
    RETURN r;
END
$fn$;

CREATE OR REPLACE FUNCTION mail.flags_minus(a text[], b text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    gone text[] := '{}';   -- lower() of each element of b
    r text[] := '{}';
    k text[] := '{}';
    n integer := 0;
    i integer;
    f text;
    lf text;
BEGIN
    FOREACH f IN ARRAY coalesce(b, '{}') LOOP
        IF f IS NOT NULL THEN
            gone := gone || lower(f);
        END IF;
    END LOOP;
    FOREACH f IN ARRAY coalesce(a, '{}') LOOP
        CONTINUE WHEN f IS NULL;
        lf := lower(f);
        CONTINUE WHEN lf = ANY (gone);
        i := n;
        WHILE i > 0 AND k[i] > lf LOOP
            r[i + 1] := r[i];
            k[i + 1] := k[i];
            i := i - 1;
        END LOOP;
        r[i + 1] := f;
        k[i + 1] := lf;
        n := n + 1;
    END LOOP;
    RETURN r;
END
$fn$;

CREATE OR REPLACE FUNCTION mail.has_flag(a text[], f text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    lf text := lower(f);
    x text;
BEGIN
    IF a IS NULL OR lf IS NULL THEN
        RETURN false;
    END IF;
    FOREACH x IN ARRAY a LOOP
        IF lower(x) = lf THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$fn$;

-- header_values_lc (0103_mail_search.sql) computes the generated column
-- mail.messages.header_values on every INSERT of a message (each delivery and APPEND): the
-- same function in PL/pgSQL, for the same reason, with the same result (every field
-- value, lower-cased on its own, one per line; '' for no fields or a non-array). Stored
-- values stay as they are: they are equal to what this version computes.
CREATE OR REPLACE FUNCTION mail.header_values_lc(h jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
    out text := NULL;
    i integer;
BEGIN
    IF jsonb_typeof(h) IS DISTINCT FROM 'array' THEN
        RETURN '';
    END IF;
    FOR i IN 0 .. jsonb_array_length(h) - 1 LOOP
        out := CASE WHEN out IS NULL THEN '' ELSE out || E'\n' END || lower(coalesce(h -> i ->> 1, ''));
    END LOOP;
    RETURN coalesce(out, '');
END
$fn$;

-- header_raw - a message's header block (its first octets up to the blank line), as
-- polder-imapd serves it for FETCH BODY[HEADER] and BODY[HEADER.FIELDS (...)] - the
-- header FETCH every client runs on opening a folder. Reading it with the message's row
-- instead of opening each message's blob file took the largest part of that FETCH.
-- Written at delivery and APPEND for plain-ASCII header blocks of at most 16 KiB
-- (mailstore::max_stored_header); NULL otherwise and for messages stored before this
-- migration, which are read from the blob as before.
ALTER TABLE mail.messages ADD COLUMN header_raw text;
