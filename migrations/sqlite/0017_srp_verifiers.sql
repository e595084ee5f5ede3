-- A user's SRP-6a verifier for USER_SRP_AUTH (salt and verifier, sealed under the master key),
-- written with every new password. NULL for passwords set before this migration: such users get
-- one at their next password sign-in.
ALTER TABLE users ADD COLUMN srp_verifier TEXT;
