-- concord-hub-db/2, migration 0007: retention, purges and the agreement lifecycle
-- (docs/retention.md, docs/hub-database.md section 10). Never edit it after release.

-- Per extract and agreement it was shared under: the date set at ingest by which that agreement's
-- hold on the rows ends, and when the hold was released (the agreement no longer reads the rows).
CREATE TABLE extract_retention (
    extract_id        bigint NOT NULL REFERENCES extracts (id),
    agreement_id      text NOT NULL,
    agreement_version integer NOT NULL CHECK (agreement_version > 0),
    retain_until      date NOT NULL,
    released_at       timestamptz,
    PRIMARY KEY (extract_id, agreement_id)
);

-- Extracts ingested before this migration: each agreement their manifest names holds them until
-- the date stored then (the longest retention of those agreements; never shorter than allowed).
INSERT INTO extract_retention (extract_id, agreement_id, agreement_version, retain_until)
SELECT e.id, split_part(a, '.v', 1), split_part(a, '.v', 2)::integer, e.retain_until
FROM extracts e JOIN uploads up ON up.id = e.upload_id
CROSS JOIN LATERAL jsonb_array_elements_text(up.manifest::jsonb -> 'agreements') a
WHERE e.retain_until IS NOT NULL AND e.state IN ('staged', 'published') AND a ~ '\.v[0-9]+$'
ON CONFLICT DO NOTHING;

-- A purged extract's rows are deleted, like a superseded one's; the state says why.
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT conname FROM pg_constraint
                WHERE conrelid = 'extracts'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%superseded%' LOOP
        EXECUTE format('ALTER TABLE extracts DROP CONSTRAINT %I', name);
    END LOOP;
END
$$;
ALTER TABLE extracts ADD CONSTRAINT extracts_state_known
    CHECK (state IN ('staged', 'published', 'superseded', 'discarded', 'purged'));
ALTER TABLE extracts ADD CONSTRAINT extracts_ended
    CHECK ((state IN ('superseded', 'discarded', 'purged')) = (ended_at IS NOT NULL));

-- A request's output file deleted when its agreement's retention ended.
ALTER TABLE requests ADD COLUMN purged_at timestamptz;

-- One purge: what it covers is recorded (purge_items) before anything is deleted, so a purge a
-- crash interrupted is finished by the next run. At most one runs at a time.
CREATE TABLE purge_jobs (
    id           bigserial PRIMARY KEY,
    purge_date   date NOT NULL,
    state        text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CHECK ((state = 'done') = (completed_at IS NOT NULL))
);
CREATE UNIQUE INDEX purge_jobs_running ON purge_jobs (state) WHERE state = 'running';

-- What a purge covers: an extract whose rows it deletes (`delete`), an extract an agreement stops
-- reading while another still holds it (`release`), or a request's output file (`output`).
CREATE TABLE purge_items (
    job_id         bigint NOT NULL REFERENCES purge_jobs (id),
    kind           text NOT NULL CHECK (kind IN ('delete', 'release', 'output')),
    agreement_id   text NOT NULL,
    dataset        text,
    agency_id      text,
    extract_id     bigint REFERENCES extracts (id),
    upload_id      uuid,
    receipt_sha256 text,
    request_id     uuid REFERENCES requests (id),
    rows           bigint NOT NULL CHECK (rows >= 0),
    kept_under     text[] NOT NULL DEFAULT '{}',
    CHECK ((kind = 'output') = (request_id IS NOT NULL) AND (kind = 'output') = (extract_id IS NULL))
);
CREATE INDEX purge_items_job ON purge_items (job_id);

-- Suspensions and terminations decided at the hub (the applied YAML is never edited). A
-- suspension holds for the version it names; a termination for the agreement id, every version.
CREATE TABLE agreement_states (
    agreement_id      text NOT NULL,
    agreement_version integer NOT NULL,
    status            text NOT NULL CHECK (status IN ('suspended', 'terminated')),
    reason            text NOT NULL CHECK (reason <> ''),
    decided_by        text NOT NULL,
    decided_on        date NOT NULL,
    decided_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, agreement_version),
    FOREIGN KEY (agreement_id, agreement_version) REFERENCES agreements (id, version)
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN
        GRANT SELECT, INSERT, UPDATE ON extract_retention, purge_jobs, purge_items, agreement_states TO concord_hub;
        GRANT USAGE ON SEQUENCE purge_jobs_id_seq TO concord_hub;
    END IF;
END
$$;
