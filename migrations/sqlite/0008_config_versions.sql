-- Pools and clients are updated by compare-and-swap on a version, as users are.
ALTER TABLE pools ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
