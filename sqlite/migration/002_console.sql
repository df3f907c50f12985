-- Review console: knowledge-base additions made by admins (code words and
-- cues applied over the embedded knowledge base at every start), and
-- indexes for the console's pages and dashboard.

CREATE TABLE kb_additions (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	kind       TEXT NOT NULL, -- 'term' or 'cue'
	text       TEXT NOT NULL,
	lang       TEXT NOT NULL,
	category   TEXT NOT NULL DEFAULT '',
	taxon      TEXT NOT NULL DEFAULT '',
	cue        TEXT NOT NULL DEFAULT '',
	regex      INTEGER NOT NULL DEFAULT 0,
	note       TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL
);

CREATE INDEX screenings_day ON screenings (tenant_id, created_at);
CREATE INDEX decisions_day ON decisions (tenant_id, created_at);
CREATE INDEX reports_listing ON reports (tenant_id, listing_id);
