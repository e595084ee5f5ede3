-- Outside identities linked to existing users (AdminLinkProviderForUser semantics).
CREATE TABLE identity_links (
    pool_id           TEXT NOT NULL,
    provider_name     TEXT NOT NULL,
    provider_subject  TEXT NOT NULL,
    username          TEXT NOT NULL,
    PRIMARY KEY (pool_id, provider_name, provider_subject),
    FOREIGN KEY (pool_id, username) REFERENCES users(pool_id, username) ON DELETE CASCADE
);
CREATE INDEX identity_links_by_user ON identity_links(pool_id, username);
