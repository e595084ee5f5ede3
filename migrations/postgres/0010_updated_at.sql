-- Pools and clients record their last change (LastModifiedDate); existing rows were last
-- changed when they were made.
ALTER TABLE pools ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE pools SET updated_at = created_at;
ALTER TABLE clients ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE clients SET updated_at = created_at;
