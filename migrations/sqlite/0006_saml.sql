-- SAML service provider state (spec §11, §12, §16.2–§16.3).

-- Our SAML keys: owner 'pool' is the pool's signing key; any other owner is the IdP whose
-- encrypted assertions the key opens. Generations only grow; concurrent creators of the
-- same generation collide on the primary key and one wins.
CREATE TABLE saml_credentials (
    pool_id     TEXT NOT NULL REFERENCES pools(id) ON DELETE CASCADE,
    owner       TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    sealed_key  TEXT NOT NULL,
    cert_pem    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    not_after   INTEGER NOT NULL,
    PRIMARY KEY (pool_id, owner, generation)
);

-- IDs of assertions and logout requests already accepted, on every node, until they expire.
CREATE TABLE saml_replay (
    pool_id     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (pool_id, message_id)
);
CREATE INDEX saml_replay_by_expiry ON saml_replay(expires_at);

-- Sessions that came from a SAML IdP, findable by NameID (and SessionIndex) for logout.
CREATE TABLE saml_sessions (
    session_hash  TEXT PRIMARY KEY REFERENCES sessions(hash) ON DELETE CASCADE,
    pool_id       TEXT NOT NULL,
    subject_key   TEXT NOT NULL,
    session_key   TEXT NOT NULL
);
CREATE INDEX saml_sessions_by_subject ON saml_sessions(pool_id, subject_key);
