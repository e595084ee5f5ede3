-- ListUsers pages by username. Each search index now ends with the username, so an equality
-- search (`email = "…"`, `cognito:user_status = "CONFIRMED"`, …) reads its matches in page
-- order: it seeks to the page's first username and stops at the page's end, where reading
-- every match and sorting them cost as much as the matches. The text_pattern_ops column still
-- serves prefix search, and equality (alias look-ups) as well: the plain indexes of 0002 on the
-- alias columns were duplicates of these, and only cost writes.
DROP INDEX users_by_email;
DROP INDEX users_by_phone;
DROP INDEX users_by_preferred_username;
DROP INDEX users_search_email;
DROP INDEX users_search_phone;
DROP INDEX users_search_preferred_username;
DROP INDEX users_search_name;
DROP INDEX users_search_given_name;
DROP INDEX users_search_family_name;
DROP INDEX users_search_status;
CREATE INDEX users_search_email ON users(pool_id, email text_pattern_ops, username);
CREATE INDEX users_search_phone ON users(pool_id, phone_number text_pattern_ops, username);
CREATE INDEX users_search_preferred_username ON users(pool_id, preferred_username text_pattern_ops, username);
CREATE INDEX users_search_name ON users(pool_id, name text_pattern_ops, username);
CREATE INDEX users_search_given_name ON users(pool_id, given_name text_pattern_ops, username);
CREATE INDEX users_search_family_name ON users(pool_id, family_name text_pattern_ops, username);
CREATE INDEX users_search_status ON users(pool_id, status, username);
