-- The audit trail: each user's authentication events (sign-ins and their failures, lockouts,
-- sign-ups, password changes, code requests, administrators' changes), served as
-- AdminListUserAuthEvents and kept until expires_at (the operator's retention).
CREATE TABLE auth_events (
    event_id     TEXT PRIMARY KEY,
    pool_id      TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    username     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    response     TEXT NOT NULL,
    challenges   TEXT NOT NULL,
    detail       TEXT NOT NULL,
    ip_address   TEXT,
    created_ms   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    feedback     TEXT
);
CREATE INDEX auth_events_by_user ON auth_events (pool_id, username, created_ms, event_id);
CREATE INDEX auth_events_by_expiry ON auth_events (expires_at);
