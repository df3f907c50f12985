-- The PostgreSQL twin of sqlite/migration/002_console.sql and
-- 002_image_banks.sql: knowledge-base additions made by admins, image hash
-- banks per tenant, and indexes for the review console's pages and
-- dashboard.

CREATE TABLE kb_additions (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	kind       TEXT NOT NULL, -- 'term' or 'cue'
	text       TEXT NOT NULL,
	lang       TEXT NOT NULL,
	category   TEXT NOT NULL DEFAULT '',
	taxon      TEXT NOT NULL DEFAULT '',
	cue        TEXT NOT NULL DEFAULT '',
	regex      BOOLEAN NOT NULL DEFAULT FALSE,
	note       TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX screenings_day ON screenings (tenant_id, created_at);
CREATE INDEX decisions_day ON decisions (tenant_id, created_at);
CREATE INDEX reports_listing ON reports (tenant_id, listing_id);

CREATE TABLE image_banks (
	tenant_id   TEXT NOT NULL REFERENCES tenants(id),
	name        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('deny', 'allow')),
	description TEXT NOT NULL DEFAULT '',
	created_by  TEXT NOT NULL DEFAULT '',
	created_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (tenant_id, name)
);

CREATE TABLE image_bank_entries (
	tenant_id TEXT NOT NULL,
	bank      TEXT NOT NULL,
	id        TEXT NOT NULL,
	hash      TEXT NOT NULL, -- PDQ, 64 hex digits
	quality   INTEGER NOT NULL,
	species   TEXT NOT NULL DEFAULT '',
	category  TEXT NOT NULL DEFAULT '',
	source    TEXT NOT NULL DEFAULT '',
	added_by  TEXT NOT NULL DEFAULT '',
	note      TEXT NOT NULL DEFAULT '',
	added_at  TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (tenant_id, bank, id),
	FOREIGN KEY (tenant_id, bank) REFERENCES image_banks (tenant_id, name) ON DELETE CASCADE
);
