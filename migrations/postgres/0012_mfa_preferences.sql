-- A user's MFA choices (AdminSetUserMFAPreference): the factors turned on and the preferred one,
-- as JSON ({"enabled": [...], "preferred": ...}). NULL until a first choice: then a TOTP set up
-- at sign-in counts as turned on and preferred.
ALTER TABLE users ADD COLUMN mfa_preference TEXT;
