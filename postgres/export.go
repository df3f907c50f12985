package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/wildwarden/wildwarden"
)

// exportDecisionsQuery selects, for each listing of a tenant, its latest
// decision (by seq) made at or after a time, joined to the latest
// screening stored at or before that decision: the content the reviewer
// judged. decisions_listing and screenings_listing answer the two
// per-listing subqueries (backward index scans, one row each). The server
// may sort the result (on disk beyond work_mem); the process reading it
// keeps constant memory either way.
const exportDecisionsQuery = `SELECT d.id, d.item_kind, d.reviewer_id, d.action, d.reasons, d.created_at,
		s.seq, s.decision, s.score, s.listing_json, s.created_at
	FROM decisions d
	JOIN screenings s ON s.seq = (
		SELECT MAX(x.seq) FROM screenings x
		WHERE x.tenant_id = d.tenant_id AND x.listing_id = d.listing_id AND x.created_at <= d.created_at)
	WHERE d.tenant_id = $1 AND d.created_at >= $2
	  AND d.seq = (SELECT MAX(l.seq) FROM decisions l WHERE l.tenant_id = d.tenant_id AND l.listing_id = d.listing_id)
	ORDER BY d.created_at, d.seq`

// ExportDecisions streams the tenant's decided listings to fn. The rows
// come from one query, so from one snapshot; pgx reads them off the
// connection as fn consumes them, so memory stays constant. The query
// holds one pool connection until the export ends.
func (s *Store) ExportDecisions(ctx context.Context, tenantID string, since time.Time, fn func(*wildwarden.DecidedListing) error) error {
	rows, err := s.pool.Query(ctx, exportDecisionsQuery, tenantID, since.UTC())
	if err != nil {
		return fmt.Errorf("postgres: export decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			dl                   wildwarden.DecidedListing
			reasons, listingJSON []byte
			decision             string
		)
		if err := rows.Scan(&dl.DecisionID, &dl.ItemKind, &dl.ReviewerID, &dl.Action, &reasons, &dl.DecidedAt,
			&dl.Verdict.Seq, &decision, &dl.Verdict.Score, &listingJSON, &dl.Verdict.ScreenedAt); err != nil {
			return fmt.Errorf("postgres: export decisions: %w", err)
		}
		dl.DecidedAt, dl.Verdict.ScreenedAt = utc(dl.DecidedAt), utc(dl.Verdict.ScreenedAt)
		dl.Verdict.Decision = wildwarden.Decision(decision)
		if err := dl.SetStored(reasons, listingJSON); err != nil {
			return fmt.Errorf("postgres: export decisions: %w", err)
		}
		if err := fn(&dl); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: export decisions: %w", err)
	}
	return nil
}
