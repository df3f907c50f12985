-- Replicas follow each other's knowledge-base additions and image-bank
-- changes through the audit log (Store.SyncLog), polling every few seconds.
-- This partial index holds only those entries, so a poll that finds nothing
-- new is one probe however many screenings the log holds. Its WHERE must
-- stay word for word the one in audit.go's queries: SQLite uses a partial
-- index only for a query that repeats its condition.
CREATE INDEX audit_sync ON audit (seq) WHERE action IN ('kb.add', 'bank.create', 'bank.delete', 'bank.add', 'bank.remove');
