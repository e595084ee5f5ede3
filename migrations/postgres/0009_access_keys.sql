-- The operator's access keys for the Cognito API's SigV4. Secrets only sealed under the master
-- key (`kek_id:base64url`), so every node with that key checks signatures.
CREATE TABLE access_keys (
    id             TEXT PRIMARY KEY,
    sealed_secret  TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL
);
