-- Failed sign-in attempts per typed username (known or not), shared by every node.
CREATE TABLE sign_in_failures (
    pool_id          TEXT NOT NULL,
    name             TEXT NOT NULL,
    failures         INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    PRIMARY KEY (pool_id, name)
);
