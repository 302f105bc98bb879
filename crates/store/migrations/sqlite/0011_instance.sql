-- Settings of the instance itself, recorded in its database so that every process and
-- command reads the same ones. Expand-only (see migrate.rs): a new table. Keep in step
-- with the other engine's 0011_instance.sql.

-- `public_url`: recorded when the instance first starts (or first creates an account):
-- every id it mints is under it, so it never changes afterwards.
CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
