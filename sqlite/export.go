package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/wildwarden/wildwarden"
)

// exportDecisionsQuery selects, for each listing of a tenant, its latest
// decision (by seq) made at or after a time, joined to the latest
// screening stored at or before that decision: the content the reviewer
// judged. Stored times are fixed-width UTC text, so they compare as text.
// decisions_day narrows the decisions to the time range and gives their
// order (only decisions of the same instant are sorted, so rows stream
// without a sort of the whole result); decisions_listing and
// screenings_listing answer the two per-listing subqueries. The unary +
// keeps the planner off screenings_day there, which would scan every
// earlier screening of the tenant for each row.
const exportDecisionsQuery = `SELECT d.id, d.item_kind, d.reviewer_id, d.action, d.reasons, d.created_at,
		s.seq, s.decision, s.score, s.listing_json, s.created_at
	FROM decisions d
	JOIN screenings s ON s.seq = (
		SELECT MAX(x.seq) FROM screenings x
		WHERE x.tenant_id = d.tenant_id AND x.listing_id = d.listing_id AND +x.created_at <= d.created_at)
	WHERE d.tenant_id = ? AND d.created_at >= ?
	  AND d.seq = (SELECT MAX(l.seq) FROM decisions l WHERE l.tenant_id = d.tenant_id AND l.listing_id = d.listing_id)
	ORDER BY d.created_at, d.seq`

// ExportDecisions streams the tenant's decided listings to fn, one row at
// a time from one read statement (SQLite reads it from one snapshot; WAL
// lets writes go on meanwhile).
func (s *Store) ExportDecisions(ctx context.Context, tenantID string, since time.Time, fn func(*wildwarden.DecidedListing) error) error {
	rows, err := s.query(ctx, exportDecisionsQuery, tenantID, formatTime(since))
	if err != nil {
		return fmt.Errorf("sqlite: export decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			dl                   wildwarden.DecidedListing
			reasons, listingJSON []byte
			decidedAt, screened  string
			decision             string
		)
		if err := rows.Scan(&dl.DecisionID, &dl.ItemKind, &dl.ReviewerID, &dl.Action, &reasons, &decidedAt,
			&dl.Verdict.Seq, &decision, &dl.Verdict.Score, &listingJSON, &screened); err != nil {
			return fmt.Errorf("sqlite: export decisions: %w", err)
		}
		dl.DecidedAt, dl.Verdict.ScreenedAt = parseTime(decidedAt), parseTime(screened)
		dl.Verdict.Decision = wildwarden.Decision(decision)
		if err := dl.SetStored(reasons, listingJSON); err != nil {
			return fmt.Errorf("sqlite: export decisions: %w", err)
		}
		if err := fn(&dl); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: export decisions: %w", err)
	}
	return nil
}
