-- Cognito's user import jobs (CreateUserImportJob): the job, its counts, and the CSV uploaded to
-- its pre-signed URL (whose token is kept as a SHA-256 hash).
CREATE TABLE import_jobs (
    job_id              TEXT PRIMARY KEY,
    pool_id             TEXT NOT NULL,
    job_name            TEXT NOT NULL,
    status              TEXT NOT NULL,
    role_arn            TEXT NOT NULL,
    hash_algorithm      TEXT,
    upload_token_hash   TEXT NOT NULL,
    upload_expires_at   INTEGER NOT NULL,
    csv                 TEXT,
    created_at          INTEGER NOT NULL,
    started_at          INTEGER,
    completed_at        INTEGER,
    imported            INTEGER NOT NULL,
    skipped             INTEGER NOT NULL,
    failed              INTEGER NOT NULL,
    completion_message  TEXT,
    version             INTEGER NOT NULL,
    FOREIGN KEY (pool_id) REFERENCES pools(id) ON DELETE CASCADE
);
CREATE INDEX import_jobs_by_pool ON import_jobs (pool_id, created_at, job_id);
CREATE INDEX import_jobs_by_status ON import_jobs (status);
