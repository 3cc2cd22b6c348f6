-- 0202_cal_scheduling.sql - CalDAV scheduling (RFC 6638) and bookable resources: the
-- Schedule-Tag of scheduling object resources, and the rooms and equipment created by
-- polderctl resource add (accounts of kind 'resource' with a calendar that answers
-- invitations itself).
--
-- The schedule inbox is an ordinary row of cal.collections named 'inbox' (kind
-- 'calendar'), created with the home; polder-caldavd reserves that name and shows the
-- row as CALDAV:schedule-inbox. The outbox has no rows: POSTs to it are answered at once.
--
-- SECURITY: a resource row belongs to an account of its own organisation (composite
-- foreign key) and disappears with it; its free/busy is visible inside that organisation
-- only (polder-caldavd looks attendees up in the requester's organisation).
-- STANDARDS: RFC 6638 3.2.10 (Schedule-Tag), 2.4.2 (calendar-user-type ROOM/RESOURCE),
-- RFC 5545 3.2.3 (CUTYPE).

ALTER TABLE cal.objects ADD COLUMN schedule_tag text;
ALTER TABLE cal.objects ADD CONSTRAINT objects_schedule_tag_check
    CHECK (schedule_tag IS NULL OR octet_length(schedule_tag) BETWEEN 1 AND 64);

CREATE TABLE cal.resources (
    account_id   bigint PRIMARY KEY,
    org_id       bigint NOT NULL,
    kind         text NOT NULL,                  -- 'room' | 'equipment'
    auto_accept  boolean NOT NULL DEFAULT true,  -- false: invitations wait for a manager
    capacity     integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, org_id) REFERENCES directory.accounts (id, org_id) ON DELETE CASCADE,
    CONSTRAINT resources_kind_check CHECK (kind IN ('room', 'equipment')),
    CONSTRAINT resources_capacity_check CHECK (capacity IS NULL OR capacity BETWEEN 1 AND 100000)
);
CREATE INDEX resources_org_idx ON cal.resources (org_id);
