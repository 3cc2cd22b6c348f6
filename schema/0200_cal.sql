-- 0200_cal.sql - the calendar and contact store of polder-caldavd: per-account homes,
-- calendar and address book collections with their dead properties, calendar object and
-- vCard resources with precomputed query columns, and change tracking for
-- sync-collection (one modseq per collection, tombstones for removed members).
--
-- SECURITY: every collection belongs to one account and that account's organisation;
-- the composite foreign key (account_id, org_id) keeps it inside its tenant, and every
-- query of polder-caldavd filters by the authenticated account. Resource names are URL
-- segments stored decoded: the CHECKs refuse '/', empty names, "." / ".." and control
-- characters whatever program writes. Sizes are bounded by the service before insert and
-- again here (data at most 16 MiB).
-- STANDARDS: RFC 4791 (calendar collections, calendar object resources, one UID per
-- resource and collection: no-uid-conflict), RFC 6352 (address book collections, one
-- vCard per resource), RFC 5689 (extended MKCOL: resourcetype chosen at creation),
-- RFC 6578 (sync tokens: collection modseq; tombstones for 404 members), RFC 4918 (dead
-- properties).
--
-- Time-range queries (RFC 4791 9.9) are answered from `span`: the int8 range (UTC
-- seconds) from the first instance's start to the last instance's end, computed with
-- libical at PUT time. Floating and all-day objects are widened by the largest UTC
-- offsets (-14h/+14h) so the index never misses them; endless recurrences get an
-- unbounded upper end; objects without any time (a VTODO without DTSTART/DUE) get NULL
-- and always go to the exact check. A GiST index on span makes a week query an index
-- range scan; only candidates that are recurring or floating are parsed again.

CREATE SCHEMA cal;

COMMENT ON SCHEMA cal IS 'Polder calendars and contacts: homes, collections, objects, tombstones';

-- One row per account that has been provisioned: default collections are created once,
-- lazily on the first authenticated request, and never re-created after the user deletes them.
CREATE TABLE cal.homes (
    account_id      bigint PRIMARY KEY,
    org_id          bigint NOT NULL,
    provisioned_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, org_id) REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX homes_account_org_key ON cal.homes (account_id, org_id);

CREATE TABLE cal.collections (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL,
    org_id        bigint NOT NULL,
    kind          text NOT NULL,                   -- 'calendar' | 'addressbook'
    name          text NOT NULL,                   -- URL segment, decoded
    displayname   text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    color         text NOT NULL DEFAULT '',
    timezone      text NOT NULL DEFAULT '',        -- CALDAV:calendar-timezone (a VCALENDAR with one VTIMEZONE)
    components    text[] NOT NULL DEFAULT '{}',    -- supported-calendar-component-set
    modseq        bigint NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, org_id) REFERENCES cal.homes (account_id, org_id) ON DELETE CASCADE,
    CONSTRAINT collections_kind_check CHECK (kind IN ('calendar', 'addressbook')),
    CONSTRAINT collections_name_check CHECK (
        octet_length(name) BETWEEN 1 AND 255 AND name NOT IN ('.', '..')
        AND strpos(name, '/') = 0 AND name !~ '[[:cntrl:]]'),
    CONSTRAINT collections_components_check CHECK (
        components <@ ARRAY['VEVENT', 'VTODO', 'VJOURNAL', 'VFREEBUSY']::text[]),
    CONSTRAINT collections_sizes_check CHECK (
        octet_length(displayname) <= 1024 AND octet_length(description) <= 16384
        AND octet_length(color) <= 64 AND octet_length(timezone) <= 262144)
);

CREATE UNIQUE INDEX collections_account_kind_name_key ON cal.collections (account_id, kind, name);
CREATE INDEX collections_org_idx ON cal.collections (org_id);

CREATE TABLE cal.collection_props (
    collection_id  bigint NOT NULL REFERENCES cal.collections (id) ON DELETE CASCADE,
    ns             text NOT NULL,
    local          text NOT NULL,
    value_xml      text NOT NULL,
    PRIMARY KEY (collection_id, ns, local),
    CONSTRAINT collection_props_size_check CHECK (
        octet_length(ns) <= 1024 AND octet_length(local) <= 1024 AND octet_length(value_xml) <= 65536)
);

CREATE TABLE cal.objects (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    collection_id  bigint NOT NULL REFERENCES cal.collections (id) ON DELETE CASCADE,
    name           text NOT NULL,
    uid            text NOT NULL,
    component      text NOT NULL,       -- 'VEVENT', 'VTODO', ... or 'VCARD'
    etag           text NOT NULL,       -- opaque part (without quotes)
    data           text NOT NULL,
    modseq         bigint NOT NULL,
    span           int8range,           -- NULL: no time at all (see the header)
    recurring      boolean NOT NULL DEFAULT false,
    floating       boolean NOT NULL DEFAULT false,
    transparent    boolean NOT NULL DEFAULT false,
    -- exact: a non-floating VEVENT for which span (single events) or cal.instances
    -- (bounded recurring ones) alone answers a plain VEVENT time-range filter, with no
    -- parse at query time.
    exact          boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    modified_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT objects_name_check CHECK (
        octet_length(name) BETWEEN 1 AND 255 AND name NOT IN ('.', '..')
        AND strpos(name, '/') = 0 AND name !~ '[[:cntrl:]]'),
    CONSTRAINT objects_uid_check CHECK (octet_length(uid) BETWEEN 1 AND 1024),
    CONSTRAINT objects_data_check CHECK (octet_length(data) <= 16777216)
);

CREATE UNIQUE INDEX objects_collection_name_key ON cal.objects (collection_id, name);
-- RFC 4791 5.3.2.1 / RFC 6352 6.3.2.1 no-uid-conflict: one resource per UID per collection.
CREATE UNIQUE INDEX objects_collection_uid_key ON cal.objects (collection_id, uid);
CREATE INDEX objects_span_idx ON cal.objects USING gist (span);
CREATE INDEX objects_collection_modseq_idx ON cal.objects (collection_id, modseq);

-- The instances of bounded, non-floating recurring VEVENTs (RRULE with COUNT/UNTIL, RDATE,
-- EXDATE and overrides applied, computed with libical at PUT): a week query over a
-- calendar full of multi-year series then touches only the series with an instance in
-- that week, without parsing any of them. Objects whose expansion was truncated by the
-- instance limit have no rows here and are not marked exact.
CREATE TABLE cal.instances (
    object_id      bigint NOT NULL REFERENCES cal.objects (id) ON DELETE CASCADE,
    span           int8range NOT NULL
);

CREATE INDEX instances_object_idx ON cal.instances (object_id);
CREATE INDEX instances_span_idx ON cal.instances USING gist (span);

CREATE TABLE cal.tombstones (
    collection_id  bigint NOT NULL REFERENCES cal.collections (id) ON DELETE CASCADE,
    name           text NOT NULL,
    modseq         bigint NOT NULL,
    PRIMARY KEY (collection_id, name)
);

CREATE INDEX tombstones_collection_modseq_idx ON cal.tombstones (collection_id, modseq);
