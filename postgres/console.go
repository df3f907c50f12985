package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// SetPassword stores a user's password hash and ends the user's console
// sessions.
func (s *Store) SetPassword(ctx context.Context, tenantID, userID, hash string) error {
	if hash == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "password", "is required")
	}
	return s.write(ctx, func(w *tx) error {
		tag, err := w.exec(`UPDATE users SET password_hash = $1 WHERE tenant_id = $2 AND id = $3`, hash, tenantID, userID)
		if err != nil {
			return fmt.Errorf("postgres: set password: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("user", userID)
		}
		if _, err := w.exec(`DELETE FROM console_sessions WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return fmt.Errorf("postgres: set password: end sessions: %w", err)
		}
		w.audit(tenantID, "user.password", userID, "")
		return nil
	})
}

// SellerListings returns the latest screening of each of a seller's
// listings, newest first.
func (s *Store) SellerListings(ctx context.Context, tenantID, sellerID string, limit int) ([]wildwarden.Screening, error) {
	if sellerID == "" {
		return nil, nil
	}
	// The seller index finds the seller's screenings; the head of each
	// listing keeps only its latest.
	rows, err := s.pool.Query(ctx, `SELECT `+screeningColumns+` FROM screenings s
		WHERE tenant_id = $1 AND seller_id = $2
		  AND seq = (SELECT h.seq FROM listing_heads h WHERE h.tenant_id = s.tenant_id AND h.listing_id = s.listing_id)
		ORDER BY seq DESC LIMIT $3`, tenantID, sellerID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: seller listings: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.Screening, error) {
		sc, err := scanScreening(r)
		if err != nil {
			return wildwarden.Screening{}, err
		}
		return *sc, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: seller listings: %w", err)
	}
	return out, nil
}

// ListingReports returns a listing's reports, newest first.
func (s *Store) ListingReports(ctx context.Context, tenantID, listingID string, limit int) ([]wildwarden.Report, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tenant_id, listing_id, url, reason, reporter_id, note, weight, item_id, created_at
		FROM reports WHERE tenant_id = $1 AND listing_id = $2 ORDER BY created_at DESC, id LIMIT $3`, tenantID, listingID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: listing reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.Report, error) {
		var rep wildwarden.Report
		err := r.Scan(&rep.ID, &rep.TenantID, &rep.ListingID, &rep.URL, &rep.Reason, &rep.ReporterID, &rep.Note, &rep.Weight, &rep.ItemID, &rep.CreatedAt)
		rep.CreatedAt = utc(rep.CreatedAt)
		return rep, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: listing reports: %w", err)
	}
	return out, nil
}

// AddKBAddition stores a knowledge-base addition and audits it.
func (s *Store) AddKBAddition(ctx context.Context, a *wildwarden.KBAddition) error {
	switch {
	case a.Kind != wildwarden.KBAddTerm && a.Kind != wildwarden.KBAddCue:
		return wildwarden.Errorf(wildwarden.EINVALID, "kind", "must be term or cue")
	case a.Text == "":
		return wildwarden.Errorf(wildwarden.EINVALID, "text", "is required")
	case a.Note == "":
		return wildwarden.Errorf(wildwarden.EINVALID, "note", "is required (its source, or why it is there)")
	}
	if a.ID == "" {
		a.ID = wildwarden.NewID("kba")
	}
	return s.write(ctx, func(w *tx) error {
		a.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO kb_additions (id, tenant_id, kind, text, lang, category, taxon, cue, regex, note, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			a.ID, a.TenantID, a.Kind, a.Text, a.Lang, a.Category, a.Taxon, a.Cue, a.Regex, a.Note, a.CreatedBy, a.CreatedAt); err != nil {
			return fmt.Errorf("postgres: add kb addition: %w", err)
		}
		w.audit(a.TenantID, wildwarden.AuditKBAdd, a.ID, a.Kind+" "+a.Text+" ("+a.Note+")")
		return nil
	})
}

// KBAdditions lists all knowledge-base additions, oldest first.
func (s *Store) KBAdditions(ctx context.Context) ([]wildwarden.KBAddition, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tenant_id, kind, text, lang, category, taxon, cue, regex, note, created_by, created_at
		FROM kb_additions ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: kb additions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.KBAddition, error) {
		var a wildwarden.KBAddition
		err := r.Scan(&a.ID, &a.TenantID, &a.Kind, &a.Text, &a.Lang, &a.Category, &a.Taxon, &a.Cue, &a.Regex, &a.Note, &a.CreatedBy, &a.CreatedAt)
		a.CreatedAt = utc(a.CreatedAt)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: kb additions: %w", err)
	}
	return out, nil
}

// utcDay is the SQL of a timestamp's UTC day as "2006-01-02".
func utcDay(column string) string {
	return `to_char(` + column + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD')`
}

// Activity returns a tenant's daily counts since a time, with the same
// meaning as the SQLite store's.
func (s *Store) Activity(ctx context.Context, tenantID string, since time.Time) (*wildwarden.Activity, error) {
	act := &wildwarden.Activity{Reviewers: map[string]int64{}}

	// Per day and category: screened, blocked, removed.
	byCat := map[[2]string]*wildwarden.CategoryDay{}
	var catOrder [][2]string
	catDay := func(day, cat string) *wildwarden.CategoryDay {
		k := [2]string{day, cat}
		if c, ok := byCat[k]; ok {
			return c
		}
		c := &wildwarden.CategoryDay{Day: day, Category: cat}
		byCat[k] = c
		catOrder = append(catOrder, k)
		return c
	}
	var day, cat string
	var n1, n2 int64
	err := s.forEach(ctx, []any{&day, &cat, &n1, &n2}, func() {
		c := catDay(day, cat)
		c.Screened, c.Blocked = n1, n2
	}, `SELECT `+utcDay("s.created_at")+` AS day, COALESCE(c.value, '') AS cat, COUNT(*), COUNT(*) FILTER (WHERE s.decision = 'block')
		FROM screenings s LEFT JOIN LATERAL jsonb_array_elements_text(
			CASE WHEN jsonb_typeof(s.verdict_json->'categories') = 'array' THEN s.verdict_json->'categories' ELSE '[]' END) c(value) ON true
		WHERE s.tenant_id = $1 AND s.created_at >= $2 GROUP BY day, cat ORDER BY day, cat`, tenantID, since)
	if err != nil {
		return nil, fmt.Errorf("postgres: activity: screenings: %w", err)
	}
	err = s.forEach(ctx, []any{&day, &cat, &n1}, func() { catDay(day, cat).Removed = n1 },
		`SELECT `+utcDay("d.created_at")+` AS day, COALESCE(c.value, '') AS cat, COUNT(*)
		FROM decisions d
		LEFT JOIN listing_heads h ON h.tenant_id = d.tenant_id AND h.listing_id = d.listing_id
		LEFT JOIN screenings s ON s.seq = h.seq
		LEFT JOIN LATERAL jsonb_array_elements_text(
			CASE WHEN jsonb_typeof(s.verdict_json->'categories') = 'array' THEN s.verdict_json->'categories' ELSE '[]' END) c(value) ON true
		WHERE d.tenant_id = $1 AND d.created_at >= $2 AND d.action = 'remove' AND d.item_kind <> 'appeal'
		GROUP BY day, cat ORDER BY day, cat`, tenantID, since)
	if err != nil {
		return nil, fmt.Errorf("postgres: activity: removals: %w", err)
	}
	for _, k := range catOrder {
		act.ByCategory = append(act.ByCategory, *byCat[k])
	}

	// Per day: the other counts, each from its own query.
	days := map[string]*wildwarden.ActivityDay{}
	dayOf := func(d string) *wildwarden.ActivityDay {
		if a, ok := days[d]; ok {
			return a
		}
		a := &wildwarden.ActivityDay{Day: d}
		days[d] = a
		return a
	}
	perDay := []struct {
		query string
		into  func(a *wildwarden.ActivityDay, n1, n2 int64)
	}{
		{`SELECT ` + utcDay("created_at") + ` AS day, COUNT(*) FILTER (WHERE decision <> 'review'), 0 FROM screenings WHERE tenant_id = $1 AND created_at >= $2 GROUP BY day`,
			func(a *wildwarden.ActivityDay, n1, _ int64) { a.Automated = n1 }},
		{`SELECT ` + utcDay("created_at") + ` AS day, COUNT(*), 0 FROM decisions WHERE tenant_id = $1 AND created_at >= $2 GROUP BY day`,
			func(a *wildwarden.ActivityDay, n1, _ int64) { a.Human = n1 }},
		{`SELECT day, COUNT(DISTINCT listing_id), 0 FROM (
			SELECT ` + utcDay("created_at") + ` AS day, listing_id FROM screenings WHERE tenant_id = $1 AND created_at >= $2 AND decision = 'block'
			UNION SELECT ` + utcDay("created_at") + `, listing_id FROM decisions WHERE tenant_id = $1 AND created_at >= $2 AND action = 'remove' AND item_kind <> 'appeal'
		) v GROUP BY day`,
			func(a *wildwarden.ActivityDay, n1, _ int64) { a.Violating = n1 }},
		{`SELECT ` + utcDay("r.created_at") + ` AS day, COUNT(*),
			COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM decisions d WHERE d.tenant_id = r.tenant_id AND d.item_id = r.item_id AND d.action = 'remove'))
			FROM reports r WHERE r.tenant_id = $1 AND r.created_at >= $2 GROUP BY day`,
			func(a *wildwarden.ActivityDay, n1, n2 int64) { a.Reports, a.ReportsUpheld = n1, n2 }},
		{`SELECT ` + utcDay("at") + ` AS day, COUNT(*) FILTER (WHERE type = 'impression'), COUNT(*) FILTER (WHERE type = 'click') FROM search_events WHERE tenant_id = $1 AND at >= $2 GROUP BY day`,
			func(a *wildwarden.ActivityDay, n1, n2 int64) { a.SearchShown, a.SearchClicked = n1, n2 }},
	}
	for _, p := range perDay {
		if err := s.forEach(ctx, []any{&day, &n1, &n2}, func() { p.into(dayOf(day), n1, n2) }, p.query, tenantID, since); err != nil {
			return nil, fmt.Errorf("postgres: activity: %w", err)
		}
	}
	for _, a := range days {
		act.Days = append(act.Days, *a)
	}
	slices.SortFunc(act.Days, func(a, b wildwarden.ActivityDay) int { return strings.Compare(a.Day, b.Day) })

	var decided, queued time.Time
	err = s.forEach(ctx, []any{&decided, &queued}, func() { act.DecisionTimes = append(act.DecisionTimes, decided.Sub(queued)) },
		`SELECT d.created_at, q.created_at FROM decisions d JOIN queue_items q ON q.id = d.item_id
		WHERE d.tenant_id = $1 AND d.created_at >= $2 AND d.action <> 'escalate' ORDER BY d.seq`, tenantID, since)
	if err != nil {
		return nil, fmt.Errorf("postgres: activity: decision times: %w", err)
	}
	var reviewer string
	err = s.forEach(ctx, []any{&reviewer, &n1}, func() { act.Reviewers[reviewer] = n1 },
		`SELECT reviewer_id, COUNT(*) FROM decisions WHERE tenant_id = $1 AND created_at >= $2 GROUP BY reviewer_id`, tenantID, since)
	if err != nil {
		return nil, fmt.Errorf("postgres: activity: reviewers: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE action = 'remove') FROM decisions
		WHERE tenant_id = $1 AND created_at >= $2 AND item_kind = 'audit' AND action <> 'escalate'`, tenantID, since).Scan(&act.AuditDecided, &act.AuditViolating); err != nil {
		return nil, fmt.Errorf("postgres: activity: audits: %w", err)
	}
	return act, nil
}

// forEach runs a read, scanning each row into dest and calling each.
func (s *Store) forEach(ctx context.Context, dest []any, each func(), query string, args ...any) error {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, dest, func() error { each(); return nil })
	return err
}
