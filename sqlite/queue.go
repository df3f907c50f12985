package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wildwarden/wildwarden"
)

// escalationBoost raises an escalated item above the ordinary queue.
const escalationBoost = 100

const itemColumns = `id, tenant_id, listing_id, kind, score, cites, reports, report_weight, reach, priority, exclude_reviewer, escalated, open, claimed_by, lease_until, created_at`

// itemRow is a queue item with its projection columns.
type itemRow struct {
	wildwarden.QueueItem
	open bool
}

func scanItem(sc interface{ Scan(...any) error }) (*itemRow, error) {
	var it itemRow
	var lease, at string
	if err := sc.Scan(&it.ID, &it.TenantID, &it.ListingID, &it.Kind, &it.Score, &it.CITES, &it.Reports, &it.ReportWeight,
		&it.Reach, &it.Priority, &it.ExcludeReviewer, &it.Escalated, &it.open, &it.ClaimedBy, &lease, &at); err != nil {
		return nil, err
	}
	it.CreatedAt = parseTime(at)
	if lease != "" {
		t := parseTime(lease)
		it.LeaseUntil = &t
	}
	return &it, nil
}

// Enqueue adds or folds a queue item.
func (s *Store) Enqueue(ctx context.Context, item *wildwarden.QueueItem) error {
	if item.ListingID == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "listing_id", "is required")
	}
	return s.write(ctx, func(w *wtx) error { return w.enqueue(item) })
}

// enqueue folds item into the listing's open item of the same kind, or
// inserts it. A folded item adds its reports and report weight and keeps
// the higher score.
func (w *wtx) enqueue(item *wildwarden.QueueItem) error {
	switch item.Kind {
	case wildwarden.ItemVerdict, wildwarden.ItemReport, wildwarden.ItemAppeal, wildwarden.ItemAudit:
	default:
		return wildwarden.Errorf(wildwarden.EINVALID, "kind", "unknown queue item kind %q", item.Kind)
	}
	open, err := scanItem(w.queryRow(`SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = ? AND listing_id = ? AND kind = ? AND open = 1 LIMIT 1`,
		item.TenantID, item.ListingID, item.Kind))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if item.ID == "" {
			item.ID = wildwarden.NewID("item")
		}
		item.CreatedAt = w.now
		item.Priority = wildwarden.QueuePriority(item.Score, item.CITES, item.ReportWeight, item.Reach)
		if _, err := w.exec(`INSERT INTO queue_items (id, tenant_id, listing_id, kind, score, cites, reports, report_weight, reach, priority, exclude_reviewer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			item.ID, item.TenantID, item.ListingID, item.Kind, item.Score, item.CITES, item.Reports, item.ReportWeight, item.Reach, item.Priority, item.ExcludeReviewer, formatTime(item.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: insert queue item: %w", err)
		}
		return w.audit(item.TenantID, "queue.add", item.ID, item.Kind+" "+item.ListingID)
	case err != nil:
		return fmt.Errorf("sqlite: open queue item: %w", err)
	}
	folded := open.QueueItem
	folded.Reports += item.Reports
	folded.ReportWeight += item.ReportWeight
	folded.Score = max(folded.Score, item.Score)
	if wildwarden.CITESRank(item.CITES) > wildwarden.CITESRank(folded.CITES) {
		folded.CITES = item.CITES
	}
	folded.Reach = max(folded.Reach, item.Reach)
	folded.Priority = wildwarden.QueuePriority(folded.Score, folded.CITES, folded.ReportWeight, folded.Reach)
	if folded.Escalated {
		folded.Priority += escalationBoost
	}
	if _, err := w.exec(`UPDATE queue_items SET score = ?, cites = ?, reports = ?, report_weight = ?, reach = ?, priority = ? WHERE tenant_id = ? AND id = ?`,
		folded.Score, folded.CITES, folded.Reports, folded.ReportWeight, folded.Reach, folded.Priority, folded.TenantID, folded.ID); err != nil {
		return fmt.Errorf("sqlite: fold queue item: %w", err)
	}
	*item = folded
	return w.audit(item.TenantID, "queue.fold", item.ID, item.Kind+" "+item.ListingID)
}

// Queue lists open items, highest priority first.
func (s *Store) Queue(ctx context.Context, tenantID string, limit int) ([]wildwarden.QueueItem, error) {
	rows, err := s.query(ctx, `SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = ? AND open = 1 ORDER BY priority DESC, created_at, id LIMIT ?`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: queue: %w", err)
	}
	defer rows.Close()
	out := []wildwarden.QueueItem{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: queue: %w", err)
		}
		out = append(out, it.QueueItem)
	}
	return out, rows.Err()
}

// QueueItem returns one item (open or decided).
func (s *Store) QueueItem(ctx context.Context, tenantID, itemID string) (*wildwarden.QueueItem, error) {
	it, err := scanItem(s.queryRow(ctx, `SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = ? AND id = ?`, tenantID, itemID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("queue item", itemID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: queue item: %w", err)
	}
	return &it.QueueItem, nil
}

// Claim leases the best item this reviewer may take: one it already holds,
// else the highest-priority unleased one.
func (s *Store) Claim(ctx context.Context, tenantID, reviewerID string, lease time.Duration) (*wildwarden.QueueItem, error) {
	if reviewerID == "" {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "reviewer_id", "is required")
	}
	var claimed *wildwarden.QueueItem
	err := s.write(ctx, func(w *wtx) error {
		now := formatTime(w.now)
		it, err := scanItem(w.queryRow(`SELECT `+itemColumns+` FROM queue_items
			WHERE tenant_id = ? AND open = 1 AND exclude_reviewer != ?
			  AND (lease_until = '' OR lease_until < ? OR claimed_by = ?)
			ORDER BY (claimed_by = ? AND lease_until >= ?) DESC, priority DESC, created_at, id LIMIT 1`,
			tenantID, reviewerID, now, reviewerID, reviewerID, now))
		if errors.Is(err, sql.ErrNoRows) {
			return wildwarden.Errorf(wildwarden.ENOTFOUND, "", "the queue has no item for this reviewer")
		}
		if err != nil {
			return fmt.Errorf("sqlite: claim: %w", err)
		}
		until := w.now.Add(lease)
		if _, err := w.exec(`INSERT INTO claims (tenant_id, item_id, reviewer_id, lease_until, created_at) VALUES (?, ?, ?, ?, ?)`,
			tenantID, it.ID, reviewerID, formatTime(until), now); err != nil {
			return fmt.Errorf("sqlite: insert claim: %w", err)
		}
		if _, err := w.exec(`UPDATE queue_items SET claimed_by = ?, lease_until = ? WHERE tenant_id = ? AND id = ?`,
			reviewerID, formatTime(until), tenantID, it.ID); err != nil {
			return fmt.Errorf("sqlite: claim: %w", err)
		}
		it.ClaimedBy, it.LeaseUntil = reviewerID, &until
		claimed = &it.QueueItem
		return w.audit(tenantID, "queue.claim", it.ID, reviewerID)
	})
	return claimed, err
}

// Decide records a decision on a leased item.
func (s *Store) Decide(ctx context.Context, d *wildwarden.ReviewDecision, fx *wildwarden.Effects) error {
	switch d.Action {
	case wildwarden.ActionRemove, wildwarden.ActionAllow, wildwarden.ActionEscalate:
	default:
		return wildwarden.Errorf(wildwarden.EINVALID, "action", "must be remove, allow or escalate")
	}
	if d.ID == "" {
		d.ID = wildwarden.NewID("dec")
	}
	if d.Reasons == nil {
		d.Reasons = []string{}
	}
	return s.write(ctx, func(w *wtx) error {
		it, err := scanItem(w.queryRow(`SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = ? AND id = ?`, d.TenantID, d.ItemID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("queue item", d.ItemID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: decide: %w", err)
		}
		switch {
		case !it.open:
			return wildwarden.Errorf(wildwarden.ECONFLICT, "item_id", "item %s is already decided", it.ID)
		case it.ExcludeReviewer == d.ReviewerID:
			return wildwarden.Errorf(wildwarden.EFORBIDDEN, "reviewer_id", "a different reviewer must decide this item")
		case it.ClaimedBy != d.ReviewerID || it.LeaseUntil == nil || it.LeaseUntil.Before(w.now):
			return wildwarden.Errorf(wildwarden.ECONFLICT, "item_id", "claim item %s before deciding (or the lease expired)", it.ID)
		}
		d.ItemKind, d.ListingID, d.CreatedAt = it.Kind, it.ListingID, w.now
		reasons, _ := json.Marshal(d.Reasons)
		if _, err := w.exec(`INSERT INTO decisions (id, seq, tenant_id, item_id, item_kind, listing_id, reviewer_id, action, reasons, note, created_at) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM decisions), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.TenantID, d.ItemID, d.ItemKind, d.ListingID, d.ReviewerID, d.Action, string(reasons), d.Note, formatTime(d.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: insert decision: %w", err)
		}
		if d.Action == wildwarden.ActionEscalate {
			_, err = w.exec(`UPDATE queue_items SET escalated = 1, priority = priority + ?, claimed_by = '', lease_until = '' WHERE tenant_id = ? AND id = ?`, escalationBoost, d.TenantID, it.ID)
		} else {
			_, err = w.exec(`UPDATE queue_items SET open = 0, claimed_by = '', lease_until = '' WHERE tenant_id = ? AND id = ?`, d.TenantID, it.ID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: close queue item: %w", err)
		}
		if err := w.audit(d.TenantID, "review."+d.Action, d.ListingID, d.ID+" "+it.Kind+" "+string(reasons)); err != nil {
			return err
		}
		if fx == nil {
			return nil
		}
		if fx.Statement != nil {
			fx.Statement.ListingID = d.ListingID
			if err := w.insertStatement(d.TenantID, fx.Statement); err != nil {
				return err
			}
		}
		return w.insertEvents(d.TenantID, fx.Events)
	})
}

// decisions reads decisions with a WHERE/ORDER clause.
func (s *Store) decisions(ctx context.Context, where string, args ...any) ([]wildwarden.ReviewDecision, error) {
	rows, err := s.query(ctx, `SELECT id, tenant_id, item_id, item_kind, listing_id, reviewer_id, action, reasons, note, created_at FROM decisions `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: decisions: %w", err)
	}
	defer rows.Close()
	out := []wildwarden.ReviewDecision{}
	for rows.Next() {
		var d wildwarden.ReviewDecision
		var reasons, at string
		if err := rows.Scan(&d.ID, &d.TenantID, &d.ItemID, &d.ItemKind, &d.ListingID, &d.ReviewerID, &d.Action, &reasons, &d.Note, &at); err != nil {
			return nil, fmt.Errorf("sqlite: decisions: %w", err)
		}
		d.CreatedAt = parseTime(at)
		if err := json.Unmarshal([]byte(reasons), &d.Reasons); err != nil {
			return nil, fmt.Errorf("sqlite: decode reasons of %s: %w", d.ID, err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// LastRemoval returns the latest remove decision on a listing.
func (s *Store) LastRemoval(ctx context.Context, tenantID, listingID string) (*wildwarden.ReviewDecision, error) {
	ds, err := s.decisions(ctx, `WHERE tenant_id = ? AND listing_id = ? AND action = 'remove' ORDER BY seq DESC LIMIT 1`, tenantID, listingID)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, wildwarden.Errorf(wildwarden.ENOTFOUND, "listing_id", "listing %q has no removal to appeal", listingID)
	}
	return &ds[0], nil
}

// AddReport stores a report and folds it into the listing's report item.
func (s *Store) AddReport(ctx context.Context, r *wildwarden.Report, item *wildwarden.QueueItem) error {
	if r.ListingID == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "listing_id", "is required")
	}
	if r.ID == "" {
		r.ID = wildwarden.NewID("rep")
	}
	return s.write(ctx, func(w *wtx) error {
		item.TenantID, item.ListingID, item.Kind = r.TenantID, r.ListingID, wildwarden.ItemReport
		if err := w.enqueue(item); err != nil {
			return err
		}
		r.ItemID, r.CreatedAt = item.ID, w.now
		if _, err := w.exec(`INSERT INTO reports (id, tenant_id, listing_id, url, reason, reporter_id, note, weight, item_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.TenantID, r.ListingID, r.URL, r.Reason, r.ReporterID, r.Note, r.Weight, r.ItemID, formatTime(r.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: insert report: %w", err)
		}
		return w.audit(r.TenantID, "report.add", r.ListingID, r.ID+" "+r.Reason)
	})
}

// Reputation counts a reporter's decided and upheld reports.
func (s *Store) Reputation(ctx context.Context, tenantID, reporterID string) (upheld, decided int, err error) {
	err = s.queryRow(ctx, `SELECT COUNT(d.id), COALESCE(SUM(d.action = 'remove'), 0) FROM reports r
		JOIN decisions d ON d.tenant_id = r.tenant_id AND d.item_id = r.item_id AND d.action IN ('remove', 'allow')
		WHERE r.tenant_id = ? AND r.reporter_id = ?`, tenantID, reporterID).Scan(&decided, &upheld)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: reputation: %w", err)
	}
	return upheld, decided, nil
}

// AddAppeal stores an appeal and its queue item.
func (s *Store) AddAppeal(ctx context.Context, a *wildwarden.Appeal, item *wildwarden.QueueItem) error {
	if a.ListingID == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "listing_id", "is required")
	}
	if a.ID == "" {
		a.ID = wildwarden.NewID("apl")
	}
	return s.write(ctx, func(w *wtx) error {
		item.TenantID, item.ListingID, item.Kind = a.TenantID, a.ListingID, wildwarden.ItemAppeal
		if err := w.enqueue(item); err != nil {
			return err
		}
		a.ItemID, a.CreatedAt = item.ID, w.now
		if _, err := w.exec(`INSERT INTO appeals (id, tenant_id, listing_id, decision_id, appellant_id, note, item_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.TenantID, a.ListingID, a.DecisionID, a.AppellantID, a.Note, a.ItemID, formatTime(a.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: insert appeal: %w", err)
		}
		return w.audit(a.TenantID, "appeal.add", a.ListingID, a.ID+" "+a.DecisionID)
	})
}
