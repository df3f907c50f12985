package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// escalationBoost raises an escalated item above the ordinary queue (as in
// the SQLite store).
const escalationBoost = 100

const itemColumns = `id, tenant_id, listing_id, kind, score, cites, reports, report_weight, reach, priority, exclude_reviewer, escalated, open, claimed_by, lease_until, created_at`

// itemRow is a queue item with its projection columns.
type itemRow struct {
	wildwarden.QueueItem
	open bool
}

func scanItem(r pgx.Row) (*itemRow, error) {
	var it itemRow
	if err := r.Scan(&it.ID, &it.TenantID, &it.ListingID, &it.Kind, &it.Score, &it.CITES, &it.Reports, &it.ReportWeight,
		&it.Reach, &it.Priority, &it.ExcludeReviewer, &it.Escalated, &it.open, &it.ClaimedBy, &it.LeaseUntil, &it.CreatedAt); err != nil {
		return nil, err
	}
	it.CreatedAt, it.LeaseUntil = utc(it.CreatedAt), utcPtr(it.LeaseUntil)
	return &it, nil
}

// Enqueue adds or folds a queue item.
func (s *Store) Enqueue(ctx context.Context, item *wildwarden.QueueItem) error {
	if item.ListingID == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "listing_id", "is required")
	}
	input := *item
	return s.write(ctx, func(w *tx) error {
		*item = input
		return w.enqueue(item)
	})
}

// enqueue folds item into the listing's open item of the same kind, or
// inserts it. A folded item adds its reports and report weight and keeps
// the higher score. The partial unique index on open items makes two
// replicas enqueueing the same listing fold instead of adding two items.
func (w *tx) enqueue(item *wildwarden.QueueItem) error {
	if !validItemKind(item.Kind) {
		return wildwarden.Errorf(wildwarden.EINVALID, "kind", "unknown queue item kind %q", item.Kind)
	}
	for {
		w.prepareItem(item)
		tag, err := w.exec(insertItemSQL, itemInsertArgs(item)...)
		if err != nil {
			return fmt.Errorf("postgres: insert queue item: %w", err)
		}
		if tag.RowsAffected() == 1 {
			w.audit(item.TenantID, "queue.add", item.ID, item.Kind+" "+item.ListingID)
			return nil
		}
		if err := w.fold(item); err != errItemClosed {
			return err
		}
	}
}

// validItemKind reports whether kind is a known queue item kind.
func validItemKind(kind string) bool {
	switch kind {
	case wildwarden.ItemVerdict, wildwarden.ItemReport, wildwarden.ItemAppeal, wildwarden.ItemAudit:
		return true
	}
	return false
}

// insertItemSQL inserts a queue item unless the listing has an open item
// of the same kind.
const insertItemSQL = `INSERT INTO queue_items (id, tenant_id, listing_id, kind, score, cites, reports, report_weight, reach, priority, exclude_reviewer, created_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
	ON CONFLICT (tenant_id, listing_id, kind) WHERE open DO NOTHING`

func itemInsertArgs(item *wildwarden.QueueItem) []any {
	return []any{item.ID, item.TenantID, item.ListingID, item.Kind, item.Score, item.CITES, item.Reports, item.ReportWeight, item.Reach, item.Priority, item.ExcludeReviewer, item.CreatedAt}
}

// prepareItem sets the fields of a new item.
func (w *tx) prepareItem(item *wildwarden.QueueItem) {
	if item.ID == "" {
		item.ID = wildwarden.NewID("item")
	}
	item.CreatedAt = w.now
	item.Priority = wildwarden.QueuePriority(item.Score, item.CITES, item.ReportWeight, item.Reach)
}

// errItemClosed says the open item an insert collided with was decided
// since: the insert must run again.
var errItemClosed = errors.New("postgres: open queue item closed meanwhile")

// fold adds item to the listing's open item of the same kind, locking it.
func (w *tx) fold(item *wildwarden.QueueItem) error {
	open, err := scanItem(w.queryRow(`SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = $1 AND listing_id = $2 AND kind = $3 AND open FOR UPDATE`,
		item.TenantID, item.ListingID, item.Kind))
	if errors.Is(err, pgx.ErrNoRows) {
		return errItemClosed
	}
	if err != nil {
		return fmt.Errorf("postgres: open queue item: %w", err)
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
	if _, err := w.exec(`UPDATE queue_items SET score = $1, cites = $2, reports = $3, report_weight = $4, reach = $5, priority = $6 WHERE tenant_id = $7 AND id = $8`,
		folded.Score, folded.CITES, folded.Reports, folded.ReportWeight, folded.Reach, folded.Priority, folded.TenantID, folded.ID); err != nil {
		return fmt.Errorf("postgres: fold queue item: %w", err)
	}
	*item = folded
	w.audit(item.TenantID, "queue.fold", item.ID, item.Kind+" "+item.ListingID)
	return nil
}

// Queue lists open items, highest priority first.
func (s *Store) Queue(ctx context.Context, tenantID string, limit int) ([]wildwarden.QueueItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = $1 AND open ORDER BY priority DESC, created_at, id LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: queue: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.QueueItem, error) {
		it, err := scanItem(r)
		if err != nil {
			return wildwarden.QueueItem{}, err
		}
		return it.QueueItem, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: queue: %w", err)
	}
	return out, nil
}

// QueueItem returns one item (open or decided).
func (s *Store) QueueItem(ctx context.Context, tenantID, itemID string) (*wildwarden.QueueItem, error) {
	it, err := scanItem(s.pool.QueryRow(ctx, `SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = $1 AND id = $2`, tenantID, itemID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("queue item", itemID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: queue item: %w", err)
	}
	return &it.QueueItem, nil
}

// Claim leases the best item this reviewer may take: one it already holds,
// else the highest-priority unleased one. SKIP LOCKED passes over items
// another replica is claiming at this moment, so no two reviewers lease
// the same item.
func (s *Store) Claim(ctx context.Context, tenantID, reviewerID string, lease time.Duration) (*wildwarden.QueueItem, error) {
	if reviewerID == "" {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "reviewer_id", "is required")
	}
	var claimed *wildwarden.QueueItem
	err := s.write(ctx, func(w *tx) error {
		it, err := scanItem(w.queryRow(`SELECT `+itemColumns+` FROM queue_items
			WHERE tenant_id = $1 AND open AND exclude_reviewer <> $2
			  AND (lease_until IS NULL OR lease_until < $3 OR claimed_by = $2)
			ORDER BY (claimed_by = $2 AND lease_until >= $3) DESC, priority DESC, created_at, id
			LIMIT 1 FOR UPDATE SKIP LOCKED`, tenantID, reviewerID, w.now))
		if errors.Is(err, pgx.ErrNoRows) {
			return wildwarden.Errorf(wildwarden.ENOTFOUND, "", "the queue has no item for this reviewer")
		}
		if err != nil {
			return fmt.Errorf("postgres: claim: %w", err)
		}
		until := w.now.Add(lease).Truncate(time.Microsecond)
		if _, err := w.exec(`INSERT INTO claims (tenant_id, item_id, reviewer_id, lease_until, created_at) VALUES ($1, $2, $3, $4, $5)`,
			tenantID, it.ID, reviewerID, until, w.now); err != nil {
			return fmt.Errorf("postgres: insert claim: %w", err)
		}
		if _, err := w.exec(`UPDATE queue_items SET claimed_by = $1, lease_until = $2 WHERE tenant_id = $3 AND id = $4`,
			reviewerID, until, tenantID, it.ID); err != nil {
			return fmt.Errorf("postgres: claim: %w", err)
		}
		it.ClaimedBy, it.LeaseUntil = reviewerID, &until
		claimed = &it.QueueItem
		w.audit(tenantID, "queue.claim", it.ID, reviewerID)
		return nil
	})
	return claimed, err
}

// Decide records a decision on a leased item. The item's row stays locked
// until the decision commits, so a second decision waits and then finds
// the item decided.
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
	return s.write(ctx, func(w *tx) error {
		it, err := scanItem(w.queryRow(`SELECT `+itemColumns+` FROM queue_items WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, d.TenantID, d.ItemID))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("queue item", d.ItemID)
		}
		if err != nil {
			return fmt.Errorf("postgres: decide: %w", err)
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
		reasons, _ := json.Marshal(d.Reasons) // a []string always marshals
		if _, err := w.exec(`INSERT INTO decisions (id, tenant_id, item_id, item_kind, listing_id, reviewer_id, action, reasons, note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			d.ID, d.TenantID, d.ItemID, d.ItemKind, d.ListingID, d.ReviewerID, d.Action, reasons, d.Note, d.CreatedAt); err != nil {
			return fmt.Errorf("postgres: insert decision: %w", err)
		}
		if d.Action == wildwarden.ActionEscalate {
			_, err = w.exec(`UPDATE queue_items SET escalated = TRUE, priority = priority + $1, claimed_by = '', lease_until = NULL WHERE tenant_id = $2 AND id = $3`, escalationBoost, d.TenantID, it.ID)
		} else {
			_, err = w.exec(`UPDATE queue_items SET open = FALSE, claimed_by = '', lease_until = NULL WHERE tenant_id = $1 AND id = $2`, d.TenantID, it.ID)
		}
		if err != nil {
			return fmt.Errorf("postgres: close queue item: %w", err)
		}
		w.audit(d.TenantID, "review."+d.Action, d.ListingID, d.ID+" "+it.Kind+" "+string(reasons))
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
	rows, err := s.pool.Query(ctx, `SELECT id, tenant_id, item_id, item_kind, listing_id, reviewer_id, action, reasons, note, created_at FROM decisions `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: decisions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.ReviewDecision, error) {
		var d wildwarden.ReviewDecision
		var reasons []byte
		if err := r.Scan(&d.ID, &d.TenantID, &d.ItemID, &d.ItemKind, &d.ListingID, &d.ReviewerID, &d.Action, &reasons, &d.Note, &d.CreatedAt); err != nil {
			return d, err
		}
		d.CreatedAt = utc(d.CreatedAt)
		if err := json.Unmarshal(reasons, &d.Reasons); err != nil {
			return d, fmt.Errorf("decode reasons of %s: %w", d.ID, err)
		}
		return d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: decisions: %w", err)
	}
	return out, nil
}

// LastRemoval returns the latest remove decision on a listing.
func (s *Store) LastRemoval(ctx context.Context, tenantID, listingID string) (*wildwarden.ReviewDecision, error) {
	ds, err := s.decisions(ctx, `WHERE tenant_id = $1 AND listing_id = $2 AND action = 'remove' ORDER BY seq DESC LIMIT 1`, tenantID, listingID)
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
	input := *item
	return s.write(ctx, func(w *tx) error {
		*item = input
		item.TenantID, item.ListingID, item.Kind = r.TenantID, r.ListingID, wildwarden.ItemReport
		if err := w.enqueue(item); err != nil {
			return err
		}
		r.ItemID, r.CreatedAt = item.ID, w.now
		if _, err := w.exec(`INSERT INTO reports (id, tenant_id, listing_id, url, reason, reporter_id, note, weight, item_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			r.ID, r.TenantID, r.ListingID, r.URL, r.Reason, r.ReporterID, r.Note, r.Weight, r.ItemID, r.CreatedAt); err != nil {
			return fmt.Errorf("postgres: insert report: %w", err)
		}
		w.audit(r.TenantID, "report.add", r.ListingID, r.ID+" "+r.Reason)
		return nil
	})
}

// Reputation counts a reporter's decided and upheld reports.
func (s *Store) Reputation(ctx context.Context, tenantID, reporterID string) (upheld, decided int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT COUNT(d.id), COUNT(d.id) FILTER (WHERE d.action = 'remove') FROM reports r
		JOIN decisions d ON d.tenant_id = r.tenant_id AND d.item_id = r.item_id AND d.action IN ('remove', 'allow')
		WHERE r.tenant_id = $1 AND r.reporter_id = $2`, tenantID, reporterID).Scan(&decided, &upheld)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: reputation: %w", err)
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
	input := *item
	return s.write(ctx, func(w *tx) error {
		*item = input
		item.TenantID, item.ListingID, item.Kind = a.TenantID, a.ListingID, wildwarden.ItemAppeal
		if err := w.enqueue(item); err != nil {
			return err
		}
		a.ItemID, a.CreatedAt = item.ID, w.now
		if _, err := w.exec(`INSERT INTO appeals (id, tenant_id, listing_id, decision_id, appellant_id, note, item_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			a.ID, a.TenantID, a.ListingID, a.DecisionID, a.AppellantID, a.Note, a.ItemID, a.CreatedAt); err != nil {
			return fmt.Errorf("postgres: insert appeal: %w", err)
		}
		w.audit(a.TenantID, "appeal.add", a.ListingID, a.ID+" "+a.DecisionID)
		return nil
	})
}
