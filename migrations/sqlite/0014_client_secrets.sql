-- Client secrets are sealed under the master key (DescribeUserPoolClient shows them, and
-- SECRET_HASH needs their value), each with an ID and a creation date. Existing entries are
-- bare SHA-256 hashes: they keep authenticating, read as secrets whose value is not kept.
ALTER TABLE clients RENAME COLUMN secret_hashes TO secrets;
