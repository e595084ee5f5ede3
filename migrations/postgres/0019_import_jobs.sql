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
    upload_expires_at   BIGINT NOT NULL,
    csv                 TEXT,
    created_at          BIGINT NOT NULL,
    started_at          BIGINT,
    completed_at        BIGINT,
    imported            BIGINT NOT NULL,
    skipped             BIGINT NOT NULL,
    failed              BIGINT NOT NULL,
    completion_message  TEXT,
    version             BIGINT NOT NULL,
    FOREIGN KEY (pool_id) REFERENCES pools(id) ON DELETE CASCADE
);
CREATE INDEX import_jobs_by_pool ON import_jobs (pool_id, created_at, job_id);
CREATE INDEX import_jobs_by_status ON import_jobs (status);
