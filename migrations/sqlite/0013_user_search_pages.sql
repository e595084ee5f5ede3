-- ListUsers pages by username. Each search index now ends with the username, so an equality
-- search (`email = "…"`, `cognito:user_status = "CONFIRMED"`, …) reads its matches in page
-- order: it seeks to the page's first username and stops at the page's end. With the attribute
-- alone, SQLite walked the whole pool by username instead (the primary key gives the order),
-- filtering row by row: one email search read every user of the pool.
DROP INDEX users_by_email;
DROP INDEX users_by_phone;
DROP INDEX users_by_preferred_username;
DROP INDEX users_by_name;
DROP INDEX users_by_given_name;
DROP INDEX users_by_family_name;
DROP INDEX users_by_status;
CREATE INDEX users_by_email ON users(pool_id, email, username);
CREATE INDEX users_by_phone ON users(pool_id, phone_number, username);
CREATE INDEX users_by_preferred_username ON users(pool_id, preferred_username, username);
CREATE INDEX users_by_name ON users(pool_id, name, username);
CREATE INDEX users_by_given_name ON users(pool_id, given_name, username);
CREATE INDEX users_by_family_name ON users(pool_id, family_name, username);
CREATE INDEX users_by_status ON users(pool_id, status, username);
