-- ListUsers searches name, given_name and family_name as it searches the alias columns: each
-- gets a column of its own, back-filled from the attributes (a JSON array of {"Name","Value"}).
-- Every searchable column has an index that serves both equality and prefix (GLOB) search.
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN given_name TEXT;
ALTER TABLE users ADD COLUMN family_name TEXT;
UPDATE users SET
    name = (SELECT json_extract(a.value, '$.Value') FROM json_each(users.attributes) AS a
            WHERE json_extract(a.value, '$.Name') = 'name' LIMIT 1),
    given_name = (SELECT json_extract(a.value, '$.Value') FROM json_each(users.attributes) AS a
                  WHERE json_extract(a.value, '$.Name') = 'given_name' LIMIT 1),
    family_name = (SELECT json_extract(a.value, '$.Value') FROM json_each(users.attributes) AS a
                   WHERE json_extract(a.value, '$.Name') = 'family_name' LIMIT 1);
CREATE INDEX users_by_name ON users(pool_id, name);
CREATE INDEX users_by_given_name ON users(pool_id, given_name);
CREATE INDEX users_by_family_name ON users(pool_id, family_name);
CREATE INDEX users_by_status ON users(pool_id, status);
