-- Identity providers and groups record their last change (LastModifiedDate) and are updated
-- by compare-and-swap on a version, as pools, clients and users are; existing rows were last
-- changed when they were made.
ALTER TABLE identity_providers ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE identity_providers SET updated_at = created_at;
ALTER TABLE identity_providers ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pool_groups ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE pool_groups SET updated_at = created_at;
ALTER TABLE pool_groups ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
