-- Image hash banks, per tenant. They replace 001's bank_entries, which was
-- never written: entries now belong to a named bank and keep the PDQ
-- quality, species, category and who added them.

DROP TABLE bank_entries;

CREATE TABLE image_banks (
	tenant_id   TEXT NOT NULL REFERENCES tenants(id),
	name        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('deny', 'allow')),
	description TEXT NOT NULL DEFAULT '',
	created_by  TEXT NOT NULL DEFAULT '',
	created_at  TEXT NOT NULL,
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
	added_at  TEXT NOT NULL,
	PRIMARY KEY (tenant_id, bank, id),
	FOREIGN KEY (tenant_id, bank) REFERENCES image_banks (tenant_id, name) ON DELETE CASCADE
);
