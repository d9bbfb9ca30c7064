-- concord-hub-db/2, migration 0006: sign-in sessions of the IG dashboard (docs/ig-dashboard.md).
-- Kept in PostgreSQL rather than in one hub's memory so that hubs behind a load balancer share
-- them. Only a session id's SHA-256 is stored: a copy of the table signs nobody in.

CREATE TABLE ig_sessions (
    id_sha256    bytea PRIMARY KEY CHECK (length(id_sha256) = 32),
    user_id      text NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    CHECK (last_seen_at >= created_at)
);
CREATE INDEX ig_sessions_user ON ig_sessions (user_id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON ig_sessions TO concord_hub;
    END IF;
END
$$;
