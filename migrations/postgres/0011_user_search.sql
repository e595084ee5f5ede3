-- ListUsers searches name, given_name and family_name as it searches the alias columns: each
-- gets a column of its own, back-filled from the attributes (a JSON array of {"Name","Value"}).
-- Every searchable column has a text_pattern_ops index, which serves equality and prefix
-- (LIKE 'x%') search whatever the database's collation.
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
UPDATE users SET
    name = (SELECT a->>'Value' FROM jsonb_array_elements(users.attributes::jsonb) AS a
            WHERE a->>'Name' = 'name' LIMIT 1),
    given_name = (SELECT a->>'Value' FROM jsonb_array_elements(users.attributes::jsonb) AS a
                  WHERE a->>'Name' = 'given_name' LIMIT 1),
    family_name = (SELECT a->>'Value' FROM jsonb_array_elements(users.attributes::jsonb) AS a
                   WHERE a->>'Name' = 'family_name' LIMIT 1);
CREATE INDEX users_search_username ON users(pool_id, username text_pattern_ops);
CREATE INDEX users_search_sub ON users(sub text_pattern_ops);
CREATE INDEX users_search_email ON users(pool_id, email text_pattern_ops);
CREATE INDEX users_search_phone ON users(pool_id, phone_number text_pattern_ops);
CREATE INDEX users_search_preferred_username ON users(pool_id, preferred_username text_pattern_ops);
CREATE INDEX users_search_name ON users(pool_id, name text_pattern_ops);
CREATE INDEX users_search_given_name ON users(pool_id, given_name text_pattern_ops);
CREATE INDEX users_search_family_name ON users(pool_id, family_name text_pattern_ops);
CREATE INDEX users_search_status ON users(pool_id, status);
