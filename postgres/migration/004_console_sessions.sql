-- The PostgreSQL twin of sqlite/migration/004_console_sessions.sql: review
-- console sessions and failed sign-ins, kept in the database so that a
-- restart signs no one out and every replica sees a sign-in, a sign-out
-- and a failure at once. Only the SHA-256 of a session cookie's token is
-- stored.

CREATE TABLE console_sessions (
	token_hash BYTEA PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	user_id    TEXT NOT NULL REFERENCES users(id),
	role       TEXT NOT NULL,
	csrf       TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (tenant_id, user_id); -- ended by a password change
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);      -- pruning

-- The sign-in lockout counts these per tenant and user name as typed
-- (folded to lower case), whether or not they exist.
CREATE TABLE signin_failures (
	seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant    TEXT NOT NULL,
	user_name TEXT NOT NULL,
	at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX signin_failures_user ON signin_failures (tenant, user_name, at);
CREATE INDEX signin_failures_at ON signin_failures (at); -- pruning
