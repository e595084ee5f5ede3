-- Users' tracked devices (the pool's DeviceConfiguration): the key the client keeps, the SRP
-- verifier of the device's secret (sealed, set by ConfirmDevice), its name and remembered status.
CREATE TABLE devices (
    pool_id                TEXT NOT NULL,
    username               TEXT NOT NULL,
    device_key             TEXT NOT NULL,
    group_key              TEXT NOT NULL,
    verifier               TEXT,
    name                   TEXT,
    remembered             BOOLEAN,
    last_ip                TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    last_authenticated_at  BIGINT NOT NULL,
    PRIMARY KEY (pool_id, username, device_key),
    FOREIGN KEY (pool_id) REFERENCES pools(id) ON DELETE CASCADE
);
