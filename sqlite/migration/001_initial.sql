-- Initial schema. Facts (screenings, claims, decisions, reports, appeals,
-- delivery attempts, audit entries) are append-only. queue_items and
-- deliveries carry a few projection columns (priority, lease, state) that
-- are recomputed from facts and kept for fast queue queries.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL
);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL REFERENCES tenants(id),
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '', -- set by the console's password login
	created_at    TEXT NOT NULL,
	UNIQUE (tenant_id, name)
);

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	user_id    TEXT NOT NULL DEFAULT '',
	role       TEXT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	prefix     TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	revoked_at TEXT
);

-- One row per screened version of a listing.
CREATE TABLE screenings (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id    TEXT NOT NULL,
	listing_id   TEXT NOT NULL,
	content_hash TEXT NOT NULL,
	seller_id    TEXT NOT NULL DEFAULT '', -- for seller-network and repost detection
	decision     TEXT NOT NULL,
	score        REAL NOT NULL,
	source       TEXT NOT NULL DEFAULT '',
	listing_json TEXT NOT NULL,
	verdict_json TEXT NOT NULL,
	created_at   TEXT NOT NULL
);
CREATE INDEX screenings_listing ON screenings (tenant_id, listing_id, seq);
CREATE INDEX screenings_seller ON screenings (tenant_id, seller_id) WHERE seller_id != '';

CREATE TABLE queue_items (
	id               TEXT PRIMARY KEY,
	tenant_id        TEXT NOT NULL,
	listing_id       TEXT NOT NULL,
	kind             TEXT NOT NULL,
	score            REAL NOT NULL DEFAULT 0,
	cites            TEXT NOT NULL DEFAULT '',
	reports          INTEGER NOT NULL DEFAULT 0,
	report_weight    REAL NOT NULL DEFAULT 0,
	reach            INTEGER NOT NULL DEFAULT 0,
	priority         REAL NOT NULL,
	exclude_reviewer TEXT NOT NULL DEFAULT '',
	escalated        INTEGER NOT NULL DEFAULT 0,
	open             INTEGER NOT NULL DEFAULT 1,
	claimed_by       TEXT NOT NULL DEFAULT '',
	lease_until      TEXT NOT NULL DEFAULT '',
	created_at       TEXT NOT NULL
);
CREATE INDEX queue_open ON queue_items (tenant_id, open, priority DESC);
CREATE INDEX queue_listing ON queue_items (tenant_id, listing_id, kind, open);

CREATE TABLE claims (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id   TEXT NOT NULL,
	item_id     TEXT NOT NULL,
	reviewer_id TEXT NOT NULL,
	lease_until TEXT NOT NULL,
	created_at  TEXT NOT NULL
);

CREATE TABLE decisions (
	id          TEXT PRIMARY KEY,
	seq         INTEGER NOT NULL UNIQUE,
	tenant_id   TEXT NOT NULL,
	item_id     TEXT NOT NULL,
	item_kind   TEXT NOT NULL,
	listing_id  TEXT NOT NULL,
	reviewer_id TEXT NOT NULL,
	action      TEXT NOT NULL,
	reasons     TEXT NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL
);
CREATE INDEX decisions_listing ON decisions (tenant_id, listing_id, seq);
CREATE INDEX decisions_item ON decisions (tenant_id, item_id);

CREATE TABLE reports (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	listing_id  TEXT NOT NULL,
	url         TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL,
	reporter_id TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT '',
	weight      REAL NOT NULL,
	item_id     TEXT NOT NULL,
	created_at  TEXT NOT NULL
);
CREATE INDEX reports_reporter ON reports (tenant_id, reporter_id);
CREATE INDEX reports_item ON reports (tenant_id, item_id);

CREATE TABLE appeals (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	listing_id   TEXT NOT NULL,
	decision_id  TEXT NOT NULL,
	appellant_id TEXT NOT NULL DEFAULT '',
	note         TEXT NOT NULL DEFAULT '',
	item_id      TEXT NOT NULL,
	created_at   TEXT NOT NULL
);

CREATE TABLE statements (
	id         TEXT PRIMARY KEY,
	seq        INTEGER NOT NULL UNIQUE,
	tenant_id  TEXT NOT NULL,
	listing_id TEXT NOT NULL,
	body       TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX statements_tenant ON statements (tenant_id, created_at, seq);

CREATE TABLE webhooks (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	url        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	events     TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id);

CREATE TABLE deliveries (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	webhook_id  TEXT NOT NULL,
	event_type  TEXT NOT NULL,
	body        BLOB NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     TEXT NOT NULL,
	last_status INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, state);

CREATE TABLE delivery_attempts (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id TEXT NOT NULL,
	tenant_id   TEXT NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	at          TEXT NOT NULL
);

CREATE TABLE search_events (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	tenant_id TEXT NOT NULL,
	type      TEXT NOT NULL,
	lang      TEXT NOT NULL DEFAULT '',
	category  TEXT NOT NULL DEFAULT '',
	at        TEXT NOT NULL
);
CREATE INDEX search_events_tenant ON search_events (tenant_id, type);

-- Room for image hash banks (image/bank persists its entries here later).
CREATE TABLE bank_entries (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL, -- '' for entries shared by all tenants
	kind       TEXT NOT NULL, -- 'pdq', …
	hash       BLOB NOT NULL,
	label      TEXT NOT NULL DEFAULT '',
	source     TEXT NOT NULL DEFAULT '', -- a partner platform for shared signals
	created_at TEXT NOT NULL
);

CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL,
	data      TEXT NOT NULL,
	at        TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant_id, seq);
