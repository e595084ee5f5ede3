-- Users are updated by compare-and-swap on a version; temporary passwords expire from when
-- they were set; access tokens from before a password reset or global sign-out are refused.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_set_at BIGINT;
ALTER TABLE users ADD COLUMN tokens_valid_from_ms BIGINT;
UPDATE users SET password_set_at = created_at WHERE password_hash IS NOT NULL;
-- One-time codes are now keyed (HMAC): codes stored as plain hashes can no longer match.
DELETE FROM user_codes;
