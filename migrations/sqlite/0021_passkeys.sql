-- Users' passkeys (WebAuthn credentials): the credential ID (base64url) unique in its pool, the
-- relying party it was made for, its name, attachment and transports, and the verifier's state
-- (public key, signature counter, flags) as webauthn-rs-core serializes it.
CREATE TABLE passkeys (
    pool_id           TEXT NOT NULL,
    credential_id     TEXT NOT NULL,
    username          TEXT NOT NULL,
    relying_party_id  TEXT NOT NULL,
    name              TEXT NOT NULL,
    attachment        TEXT,
    transports        TEXT NOT NULL,
    credential        TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (pool_id, credential_id),
    FOREIGN KEY (pool_id) REFERENCES pools(id) ON DELETE CASCADE
);
CREATE INDEX passkeys_by_user ON passkeys (pool_id, username, created_at);
