-- GridPulse live source, schema 1: the tables of DESIGN §3 (docs/data-format.md), with the
-- bookkeeping the live reader needs (docs/live-source.md).
--
-- Columns and order match data_layer/domain/schema.py (tests/test_pg_schema.py checks it).
-- Times are timestamp WITHOUT time zone: naive local time (Asia/Shanghai), as in Parquet.
-- Geometry is PostGIS geometry in EPSG:4326; readers get it back as WKB (ST_AsBinary).
-- No foreign keys: a data directory with problems still loads, and `check --db` lists them.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE gridpulse.streets (
    street_code text PRIMARY KEY,
    name text,
    district text,
    geometry geometry(Geometry, 4326)
);

CREATE TABLE gridpulse.communities (
    community_code text PRIMARY KEY,
    street_code text,
    name text,
    households integer,
    population integer,
    community_workers integer,
    service_center_m2 double precision,
    geometry geometry(Geometry, 4326)
);

CREATE TABLE gridpulse.grids (
    grid_code text PRIMARY KEY,
    community_code text,
    name text,
    kind text,
    households integer,
    population integer,
    full_time_workers integer,
    part_time_workers integer,
    party_org text,
    geometry geometry(Geometry, 4326)
);

CREATE TABLE gridpulse.compounds (
    compound_id text PRIMARY KEY,
    grid_code text,
    name text,
    households integer,
    property_mode text
);

CREATE TABLE gridpulse.cases (
    case_id text PRIMARY KEY,
    grid_code text,
    category text,
    source text,
    reported_at timestamp,
    registered_at timestamp,
    rejected boolean,
    dispatched_at timestamp,
    handling_unit text,
    handled_at timestamp,
    verified_at timestamp,
    closed_at timestamp,
    due_at timestamp,
    postponed boolean,
    rework_count integer,
    satisfaction text,
    lon double precision,
    lat double precision,
    reporter_name text,
    reporter_phone text,
    description text,
    updated_at timestamp
);
-- The live reader's watermark: cases changed since the last pull (docs/live-source.md).
CREATE INDEX cases_updated_at ON gridpulse.cases (updated_at);

CREATE TABLE gridpulse.volunteer_teams (
    team_id text PRIMARY KEY,
    community_code text,
    name text,
    kind text,
    members integer
);

CREATE TABLE gridpulse.activities (
    activity_id text PRIMARY KEY,
    team_id text,
    community_code text,
    grid_code text,
    date date,
    hours double precision,
    participants integer,
    kind text
);

CREATE TABLE gridpulse.party_reports (
    member_id text PRIMARY KEY,
    unit text,
    community_code text,
    reported_on date,
    posts_claimed integer
);

CREATE TABLE gridpulse.wishes (
    wish_id text PRIMARY KEY,
    community_code text,
    created_at timestamp,
    claimed_at timestamp,
    fulfilled_at timestamp,
    claimer_kind text
);

-- Deleted cases, so the live reader can drop them from its working set. Kept up by the
-- triggers below; a platform database maps its "deleted" flag onto a view of this name.
CREATE TABLE gridpulse.case_tombstones (
    case_id text PRIMARY KEY,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_tombstones_deleted_at ON gridpulse.case_tombstones (deleted_at);

CREATE FUNCTION gridpulse.tombstone_deleted_cases() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gridpulse.case_tombstones (case_id, deleted_at)
    SELECT o.case_id, now() FROM old_rows o
    ON CONFLICT (case_id) DO UPDATE SET deleted_at = excluded.deleted_at;
    RETURN NULL;
END $$;

CREATE FUNCTION gridpulse.tombstone_renamed_cases() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- An UPDATE that changes a case_id deletes the old id.
    INSERT INTO gridpulse.case_tombstones (case_id, deleted_at)
    SELECT o.case_id, now() FROM old_rows o
    WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.case_id = o.case_id)
    ON CONFLICT (case_id) DO UPDATE SET deleted_at = excluded.deleted_at;
    DELETE FROM gridpulse.case_tombstones t USING new_rows n WHERE t.case_id = n.case_id;
    RETURN NULL;
END $$;

CREATE FUNCTION gridpulse.revive_inserted_cases() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- A case inserted again after a delete is alive: its tombstone goes.
    DELETE FROM gridpulse.case_tombstones t USING new_rows n WHERE t.case_id = n.case_id;
    RETURN NULL;
END $$;

-- Statement-level with transition tables: one statement per COPY or upsert, not one per row.
CREATE TRIGGER cases_tombstone_delete AFTER DELETE ON gridpulse.cases
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.tombstone_deleted_cases();
CREATE TRIGGER cases_tombstone_update AFTER UPDATE ON gridpulse.cases
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.tombstone_renamed_cases();
CREATE TRIGGER cases_tombstone_insert AFTER INSERT ON gridpulse.cases
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.revive_inserted_cases();

-- One change counter per table. The live reader re-reads a table when its counter moves.
-- Writes to the eight tables other than cases bump it by trigger; cases are pulled by
-- updated_at instead, and a bulk write of cases (db load, import) bumps "cases" itself, which
-- makes every reader reload the table whole.
CREATE TABLE gridpulse.table_changes (
    table_name text PRIMARY KEY,
    counter bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO gridpulse.table_changes (table_name)
VALUES ('streets'), ('communities'), ('grids'), ('compounds'), ('cases'),
       ('volunteer_teams'), ('activities'), ('party_reports'), ('wishes');

CREATE FUNCTION gridpulse.note_change(table_name text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO gridpulse.table_changes AS c (table_name, counter, changed_at)
    VALUES (table_name, 1, now())
    ON CONFLICT (table_name) DO UPDATE SET counter = c.counter + 1, changed_at = now();
$$;

-- Trigger form of note_change; the argument names the GridPulse table. A platform database
-- whose tables back GridPulse views attaches it to those tables (docs/live-source.md).
CREATE FUNCTION gridpulse.note_change_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridpulse.note_change(TG_ARGV[0]);
    RETURN NULL;
END $$;

CREATE TRIGGER streets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.streets FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('streets');
CREATE TRIGGER communities_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.communities FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('communities');
CREATE TRIGGER grids_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.grids FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('grids');
CREATE TRIGGER compounds_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.compounds FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('compounds');
CREATE TRIGGER volunteer_teams_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.volunteer_teams FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('volunteer_teams');
CREATE TRIGGER activities_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.activities FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('activities');
CREATE TRIGGER party_reports_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.party_reports FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('party_reports');
CREATE TRIGGER wishes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON gridpulse.wishes FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('wishes');

-- The last write of each kind (db load, import, simulate), for `db status`.
CREATE TABLE gridpulse.writes (
    kind text PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    detail text NOT NULL DEFAULT ''
);
