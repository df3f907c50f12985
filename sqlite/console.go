package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wildwarden/wildwarden"
)

// SetPassword stores a user's password hash and ends the user's console
// sessions.
func (s *Store) SetPassword(ctx context.Context, tenantID, userID, hash string) error {
	if hash == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "password", "is required")
	}
	return s.write(ctx, func(w *wtx) error {
		res, err := w.exec(`UPDATE users SET password_hash = ? WHERE tenant_id = ? AND id = ?`, hash, tenantID, userID)
		if err != nil {
			return fmt.Errorf("sqlite: set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user", userID)
		}
		if _, err := w.exec(`DELETE FROM console_sessions WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
			return fmt.Errorf("sqlite: set password: end sessions: %w", err)
		}
		return w.audit(tenantID, "user.password", userID, "")
	})
}

// SellerListings returns the latest screening of each of a seller's
// listings, newest first.
func (s *Store) SellerListings(ctx context.Context, tenantID, sellerID string, limit int) ([]wildwarden.Screening, error) {
	if sellerID == "" {
		return nil, nil
	}
	rows, err := s.query(ctx, `SELECT `+screeningColumns+` FROM screenings WHERE seq IN (
		SELECT MAX(seq) FROM screenings WHERE tenant_id = ? AND seller_id = ? GROUP BY listing_id)
		ORDER BY seq DESC LIMIT ?`, tenantID, sellerID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: seller listings: %w", err)
	}
	defer rows.Close()
	var out []wildwarden.Screening
	for rows.Next() {
		sc, err := scanScreening(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: seller listings: %w", err)
		}
		out = append(out, *sc)
	}
	return out, rows.Err()
}

// ListingReports returns a listing's reports, newest first.
func (s *Store) ListingReports(ctx context.Context, tenantID, listingID string, limit int) ([]wildwarden.Report, error) {
	rows, err := s.query(ctx, `SELECT id, tenant_id, listing_id, url, reason, reporter_id, note, weight, item_id, created_at
		FROM reports WHERE tenant_id = ? AND listing_id = ? ORDER BY created_at DESC, id LIMIT ?`, tenantID, listingID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: listing reports: %w", err)
	}
	defer rows.Close()
	var out []wildwarden.Report
	for rows.Next() {
		var r wildwarden.Report
		var at string
		if err := rows.Scan(&r.ID, &r.TenantID, &r.ListingID, &r.URL, &r.Reason, &r.ReporterID, &r.Note, &r.Weight, &r.ItemID, &at); err != nil {
			return nil, fmt.Errorf("sqlite: listing reports: %w", err)
		}
		r.CreatedAt = parseTime(at)
		out = append(out, r)
	}
	return out, rows.Err()
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
	return s.write(ctx, func(w *wtx) error {
		a.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO kb_additions (id, tenant_id, kind, text, lang, category, taxon, cue, regex, note, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.TenantID, a.Kind, a.Text, a.Lang, a.Category, a.Taxon, a.Cue, a.Regex, a.Note, a.CreatedBy, formatTime(a.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: add kb addition: %w", err)
		}
		return w.audit(a.TenantID, wildwarden.AuditKBAdd, a.ID, a.Kind+" "+a.Text+" ("+a.Note+")")
	})
}

// KBAdditions lists all knowledge-base additions, oldest first.
func (s *Store) KBAdditions(ctx context.Context) ([]wildwarden.KBAddition, error) {
	rows, err := s.query(ctx, `SELECT id, tenant_id, kind, text, lang, category, taxon, cue, regex, note, created_by, created_at
		FROM kb_additions ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: kb additions: %w", err)
	}
	defer rows.Close()
	var out []wildwarden.KBAddition
	for rows.Next() {
		var a wildwarden.KBAddition
		var at string
		if err := rows.Scan(&a.ID, &a.TenantID, &a.Kind, &a.Text, &a.Lang, &a.Category, &a.Taxon, &a.Cue, &a.Regex, &a.Note, &a.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("sqlite: kb additions: %w", err)
		}
		a.CreatedAt = parseTime(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Activity returns a tenant's daily counts since a time.
func (s *Store) Activity(ctx context.Context, tenantID string, since time.Time) (*wildwarden.Activity, error) {
	from := formatTime(since)
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
	err := s.scanRows(ctx, func(r *sql.Rows) error {
		var day, cat string
		var screened, blocked int64
		if err := r.Scan(&day, &cat, &screened, &blocked); err != nil {
			return err
		}
		c := catDay(day, cat)
		c.Screened, c.Blocked = screened, blocked
		return nil
	}, `SELECT substr(s.created_at, 1, 10) AS day, COALESCE(c.value, '') AS cat, COUNT(*), SUM(s.decision = 'block')
		FROM screenings s LEFT JOIN json_each(s.verdict_json, '$.categories') c ON true
		WHERE s.tenant_id = ? AND s.created_at >= ? GROUP BY day, cat ORDER BY day, cat`, tenantID, from)
	if err != nil {
		return nil, fmt.Errorf("sqlite: activity: screenings: %w", err)
	}
	err = s.scanRows(ctx, func(r *sql.Rows) error {
		var day, cat string
		var removed int64
		if err := r.Scan(&day, &cat, &removed); err != nil {
			return err
		}
		catDay(day, cat).Removed = removed
		return nil
	}, `SELECT substr(d.created_at, 1, 10) AS day, COALESCE(c.value, '') AS cat, COUNT(*)
		FROM decisions d
		LEFT JOIN screenings s ON s.seq = (SELECT MAX(seq) FROM screenings WHERE tenant_id = d.tenant_id AND listing_id = d.listing_id)
		LEFT JOIN json_each(s.verdict_json, '$.categories') c ON true
		WHERE d.tenant_id = ? AND d.created_at >= ? AND d.action = 'remove' AND d.item_kind != 'appeal'
		GROUP BY day, cat ORDER BY day, cat`, tenantID, from)
	if err != nil {
		return nil, fmt.Errorf("sqlite: activity: removals: %w", err)
	}
	for _, k := range catOrder {
		act.ByCategory = append(act.ByCategory, *byCat[k])
	}

	// Per day: the other counts, each from its own query.
	days := map[string]*wildwarden.ActivityDay{}
	day := func(d string) *wildwarden.ActivityDay {
		if a, ok := days[d]; ok {
			return a
		}
		a := &wildwarden.ActivityDay{Day: d}
		days[d] = a
		return a
	}
	perDay := []struct {
		query string
		into  func(a *wildwarden.ActivityDay) []any
	}{
		{`SELECT substr(created_at, 1, 10) AS day, SUM(decision != 'review') FROM screenings WHERE tenant_id = ? AND created_at >= ? GROUP BY day`,
			func(a *wildwarden.ActivityDay) []any { return []any{&a.Automated} }},
		{`SELECT substr(created_at, 1, 10) AS day, COUNT(*) FROM decisions WHERE tenant_id = ? AND created_at >= ? GROUP BY day`,
			func(a *wildwarden.ActivityDay) []any { return []any{&a.Human} }},
		{`SELECT day, COUNT(DISTINCT listing_id) FROM (
			SELECT substr(created_at, 1, 10) AS day, listing_id FROM screenings WHERE tenant_id = ?1 AND created_at >= ?2 AND decision = 'block'
			UNION SELECT substr(created_at, 1, 10), listing_id FROM decisions WHERE tenant_id = ?1 AND created_at >= ?2 AND action = 'remove' AND item_kind != 'appeal'
		) GROUP BY day`,
			func(a *wildwarden.ActivityDay) []any { return []any{&a.Violating} }},
		{`SELECT substr(r.created_at, 1, 10) AS day, COUNT(*),
			SUM(EXISTS (SELECT 1 FROM decisions d WHERE d.tenant_id = r.tenant_id AND d.item_id = r.item_id AND d.action = 'remove'))
			FROM reports r WHERE r.tenant_id = ? AND r.created_at >= ? GROUP BY day`,
			func(a *wildwarden.ActivityDay) []any { return []any{&a.Reports, &a.ReportsUpheld} }},
		{`SELECT substr(at, 1, 10) AS day, SUM(type = 'impression'), SUM(type = 'click') FROM search_events WHERE tenant_id = ? AND at >= ? GROUP BY day`,
			func(a *wildwarden.ActivityDay) []any { return []any{&a.SearchShown, &a.SearchClicked} }},
	}
	for _, p := range perDay {
		err := s.scanRows(ctx, func(r *sql.Rows) error {
			var d string
			// Scan the day first, then the counts into that day's row.
			cols, err := r.Columns()
			if err != nil {
				return err
			}
			holders := make([]any, len(cols))
			holders[0] = &d
			counts := make([]sql.NullInt64, len(cols)-1)
			for i := range counts {
				holders[i+1] = &counts[i]
			}
			if err := r.Scan(holders...); err != nil {
				return err
			}
			for i, dst := range p.into(day(d)) {
				*dst.(*int64) = counts[i].Int64
			}
			return nil
		}, p.query, tenantID, from)
		if err != nil {
			return nil, fmt.Errorf("sqlite: activity: %w", err)
		}
	}
	for _, a := range days {
		act.Days = append(act.Days, *a)
	}
	sortDays(act.Days)

	err = s.scanRows(ctx, func(r *sql.Rows) error {
		var decided, queued string
		if err := r.Scan(&decided, &queued); err != nil {
			return err
		}
		act.DecisionTimes = append(act.DecisionTimes, parseTime(decided).Sub(parseTime(queued)))
		return nil
	}, `SELECT d.created_at, q.created_at FROM decisions d JOIN queue_items q ON q.id = d.item_id
		WHERE d.tenant_id = ? AND d.created_at >= ? AND d.action != 'escalate' ORDER BY d.seq`, tenantID, from)
	if err != nil {
		return nil, fmt.Errorf("sqlite: activity: decision times: %w", err)
	}
	err = s.scanRows(ctx, func(r *sql.Rows) error {
		var id string
		var n int64
		if err := r.Scan(&id, &n); err != nil {
			return err
		}
		act.Reviewers[id] = n
		return nil
	}, `SELECT reviewer_id, COUNT(*) FROM decisions WHERE tenant_id = ? AND created_at >= ? GROUP BY reviewer_id`, tenantID, from)
	if err != nil {
		return nil, fmt.Errorf("sqlite: activity: reviewers: %w", err)
	}
	var violating sql.NullInt64
	if err := s.queryRow(ctx, `SELECT COUNT(*), SUM(action = 'remove') FROM decisions
		WHERE tenant_id = ? AND created_at >= ? AND item_kind = 'audit' AND action != 'escalate'`, tenantID, from).Scan(&act.AuditDecided, &violating); err != nil {
		return nil, fmt.Errorf("sqlite: activity: audits: %w", err)
	}
	act.AuditViolating = violating.Int64
	return act, nil
}

// scanRows runs a read and calls each for every row.
func (s *Store) scanRows(ctx context.Context, each func(*sql.Rows) error, query string, args ...any) error {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func sortDays(days []wildwarden.ActivityDay) {
	slices.SortFunc(days, func(a, b wildwarden.ActivityDay) int { return strings.Compare(a.Day, b.Day) })
}
