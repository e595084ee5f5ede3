-- Sign-up, confirmation, password reset and MFA: one-time codes, pending sign-in steps, and
-- each user's TOTP secret (sealed under the master key).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE user_codes (
    pool_id     TEXT NOT NULL,
    username    TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (pool_id, username, purpose)
);

CREATE TABLE auth_challenges (
    hash        TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL,
    username    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX auth_challenges_by_expiry ON auth_challenges(expires_at);
