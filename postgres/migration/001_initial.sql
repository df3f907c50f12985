-- Initial schema, the PostgreSQL twin of sqlite/migration/001_initial.sql.
-- Facts (screenings, claims, decisions, reports, appeals, delivery
-- attempts, audit entries) are append-only. listing_heads, queue_items,
-- deliveries and audit_head carry projection columns (latest screening,
-- priority, lease, state, chain head) that several replicas coordinate on
-- with row locks.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	tenant_id     TEXT NOT NULL REFERENCES tenants(id),
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    TIMESTAMPTZ NOT NULL,
	UNIQUE (tenant_id, name)
);

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants(id),
	user_id    TEXT NOT NULL DEFAULT '',
	role       TEXT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	prefix     TEXT NOT NULL,
	hash       BYTEA NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);

-- One row per screened version of a listing.
CREATE TABLE screenings (
	seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id    TEXT NOT NULL,
	listing_id   TEXT NOT NULL,
	content_hash TEXT NOT NULL,
	seller_id    TEXT NOT NULL DEFAULT '',
	decision     TEXT NOT NULL,
	score        DOUBLE PRECISION NOT NULL,
	source       TEXT NOT NULL DEFAULT '',
	listing_json JSONB NOT NULL,
	verdict_json JSONB NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX screenings_listing ON screenings (tenant_id, listing_id, seq);
CREATE INDEX screenings_seller ON screenings (tenant_id, seller_id) WHERE seller_id <> '';

-- The latest screening of each listing. Its primary key makes screening
-- idempotent across replicas: two replicas saving the same listing
-- serialize on this row, and a save whose content hash equals the head's
-- is a duplicate.
CREATE TABLE listing_heads (
	tenant_id    TEXT NOT NULL,
	listing_id   TEXT NOT NULL,
	seq          BIGINT NOT NULL,
	content_hash TEXT NOT NULL,
	decision     TEXT NOT NULL,
	PRIMARY KEY (tenant_id, listing_id)
);
CREATE INDEX listing_heads_allowed ON listing_heads (tenant_id) WHERE decision = 'allow';

CREATE TABLE queue_items (
	id               TEXT PRIMARY KEY,
	tenant_id        TEXT NOT NULL,
	listing_id       TEXT NOT NULL,
	kind             TEXT NOT NULL,
	score            DOUBLE PRECISION NOT NULL DEFAULT 0,
	cites            TEXT NOT NULL DEFAULT '',
	reports          INTEGER NOT NULL DEFAULT 0,
	report_weight    DOUBLE PRECISION NOT NULL DEFAULT 0,
	reach            BIGINT NOT NULL DEFAULT 0,
	priority         DOUBLE PRECISION NOT NULL,
	exclude_reviewer TEXT NOT NULL DEFAULT '',
	escalated        BOOLEAN NOT NULL DEFAULT FALSE,
	open             BOOLEAN NOT NULL DEFAULT TRUE,
	claimed_by       TEXT NOT NULL DEFAULT '',
	lease_until      TIMESTAMPTZ,
	created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX queue_open ON queue_items (tenant_id, priority DESC, created_at, id) WHERE open;
-- At most one open item per listing and kind: concurrent enqueues fold.
CREATE UNIQUE INDEX queue_listing_open ON queue_items (tenant_id, listing_id, kind) WHERE open;

CREATE TABLE claims (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	item_id     TEXT NOT NULL,
	reviewer_id TEXT NOT NULL,
	lease_until TIMESTAMPTZ NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE decisions (
	id          TEXT PRIMARY KEY,
	seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	tenant_id   TEXT NOT NULL,
	item_id     TEXT NOT NULL,
	item_kind   TEXT NOT NULL,
	listing_id  TEXT NOT NULL,
	reviewer_id TEXT NOT NULL,
	action      TEXT NOT NULL,
	reasons     JSONB NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	created_at  TIMESTAMPTZ NOT NULL
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
	weight      DOUBLE PRECISION NOT NULL,
	item_id     TEXT NOT NULL,
	created_at  TIMESTAMPTZ NOT NULL
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
	created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE statements (
	id         TEXT PRIMARY KEY,
	seq        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	tenant_id  TEXT NOT NULL,
	listing_id TEXT NOT NULL,
	body       JSONB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX statements_tenant ON statements (tenant_id, created_at, seq);

CREATE TABLE webhooks (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	url        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	events     JSONB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id);

-- claimed_by/claim_until: the replica whose dispatcher holds the delivery,
-- so that each delivery is posted by exactly one replica at a time.
CREATE TABLE deliveries (
	id          TEXT PRIMARY KEY,
	tenant_id   TEXT NOT NULL,
	webhook_id  TEXT NOT NULL,
	event_type  TEXT NOT NULL,
	body        BYTEA NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     TIMESTAMPTZ NOT NULL,
	last_status INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	claimed_by  TEXT NOT NULL DEFAULT '',
	claim_until TIMESTAMPTZ,
	created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX deliveries_tenant ON deliveries (tenant_id, state, created_at);

CREATE TABLE delivery_attempts (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id TEXT NOT NULL,
	tenant_id   TEXT NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	at          TIMESTAMPTZ NOT NULL
);

CREATE TABLE search_events (
	seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	type      TEXT NOT NULL,
	lang      TEXT NOT NULL DEFAULT '',
	category  TEXT NOT NULL DEFAULT '',
	at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX search_events_tenant ON search_events (tenant_id, type);

CREATE TABLE audit (
	seq       BIGINT PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL,
	data      TEXT NOT NULL,
	at        TIMESTAMPTZ NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant_id, seq);

-- The head of the audit chain, one row. A transaction appends its entries
-- just before it commits, holding this row's lock: replicas take turns, so
-- the chain never forks and sequence numbers have no gaps.
CREATE TABLE audit_head (
	id   BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
	seq  BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, '');
