package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildwarden/wildwarden"
)

// CreateWebhook registers an endpoint.
func (s *Store) CreateWebhook(ctx context.Context, wh *wildwarden.Webhook) error {
	if wh.URL == "" {
		return wildwarden.Errorf(wildwarden.EINVALID, "url", "is required")
	}
	if wh.ID == "" {
		wh.ID = wildwarden.NewID("whk")
	}
	if wh.Events == nil {
		wh.Events = []string{}
	}
	events, _ := json.Marshal(wh.Events) // a []string always marshals
	return s.write(ctx, func(w *tx) error {
		wh.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO webhooks (id, tenant_id, url, secret, events, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			wh.ID, wh.TenantID, wh.URL, wh.Secret, events, wh.CreatedAt); err != nil {
			return fmt.Errorf("postgres: create webhook: %w", err)
		}
		w.audit(wh.TenantID, "webhook.create", wh.ID, wh.URL)
		return nil
	})
}

// Webhooks lists a tenant's endpoints.
func (s *Store) Webhooks(ctx context.Context, tenantID string) ([]wildwarden.Webhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tenant_id, url, secret, events, created_at FROM webhooks WHERE tenant_id = $1 ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhooks: %w", err)
	}
	return collectWebhooks(rows)
}

func collectWebhooks(rows pgx.Rows) ([]wildwarden.Webhook, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.Webhook, error) {
		var wh wildwarden.Webhook
		var events []byte
		if err := r.Scan(&wh.ID, &wh.TenantID, &wh.URL, &wh.Secret, &events, &wh.CreatedAt); err != nil {
			return wh, err
		}
		wh.CreatedAt = utc(wh.CreatedAt)
		if err := json.Unmarshal(events, &wh.Events); err != nil {
			return wh, fmt.Errorf("decode webhook events: %w", err)
		}
		return wh, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: webhooks: %w", err)
	}
	return out, nil
}

// insertEvents queues one delivery per event and subscribed webhook.
func (w *tx) insertEvents(tenantID string, events []wildwarden.Event) error {
	deliveries, err := w.deliveriesOf(tenantID, events)
	if err != nil {
		return err
	}
	if len(deliveries) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, d := range deliveries {
		b.Queue(`INSERT INTO deliveries (id, tenant_id, webhook_id, event_type, body, state, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			d.id, tenantID, d.webhookID, d.eventType, d.body, wildwarden.DeliveryPending, w.now, w.now)
	}
	if err := w.SendBatch(w.ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: insert delivery: %w", err)
	}
	return nil
}

// newDelivery is a webhook delivery to insert, pending from now.
type newDelivery struct {
	id, webhookID, eventType string
	body                     []byte
}

// webhooks returns a tenant's webhooks, read once per transaction.
func (w *tx) webhooks(tenantID string) ([]wildwarden.Webhook, error) {
	if hooks, ok := w.hooks[tenantID]; ok {
		return hooks, nil
	}
	rows, err := w.Query(w.ctx, `SELECT id, tenant_id, url, secret, events, created_at FROM webhooks WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("postgres: webhooks: %w", err)
	}
	hooks, err := collectWebhooks(rows)
	if err != nil {
		return nil, err
	}
	if w.hooks == nil {
		w.hooks = map[string][]wildwarden.Webhook{}
	}
	w.hooks[tenantID] = hooks
	return hooks, nil
}

// deliveriesOf returns one delivery per event and subscribed webhook, and
// audits them. It fills the events' IDs and times.
func (w *tx) deliveriesOf(tenantID string, events []wildwarden.Event) ([]newDelivery, error) {
	if len(events) == 0 {
		return nil, nil
	}
	hooks, err := w.webhooks(tenantID)
	if err != nil {
		return nil, err
	}
	var out []newDelivery
	for i := range events {
		ev := &events[i]
		if ev.ID == "" {
			ev.ID = wildwarden.NewID("evt")
		}
		if ev.At.IsZero() {
			ev.At = w.now
		}
		if len(hooks) == 0 {
			continue
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("postgres: encode event: %w", err)
		}
		for _, hook := range hooks {
			if len(hook.Events) > 0 && !slices.Contains(hook.Events, ev.Type) {
				continue
			}
			d := newDelivery{id: wildwarden.NewID("dlv"), webhookID: hook.ID, eventType: ev.Type, body: body}
			out = append(out, d)
			w.audit(tenantID, "webhook.queue", d.id, ev.Type+" "+ev.ListingID)
		}
	}
	return out, nil
}

const deliveryColumns = `d.id, d.tenant_id, d.webhook_id, w.url, w.secret, d.event_type, d.body, d.state, d.attempts, d.next_at, d.last_status, d.last_error, d.created_at`

func collectDeliveries(rows pgx.Rows) ([]wildwarden.Delivery, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wildwarden.Delivery, error) {
		var d wildwarden.Delivery
		err := r.Scan(&d.ID, &d.TenantID, &d.WebhookID, &d.URL, &d.Secret, &d.EventType, &d.Body, &d.State, &d.Attempts, &d.NextAt, &d.LastStatus, &d.LastError, &d.CreatedAt)
		d.NextAt, d.CreatedAt = utc(d.NextAt), utc(d.CreatedAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: deliveries: %w", err)
	}
	return out, nil
}

// DueDeliveries claims and returns pending deliveries of all tenants that
// are due: those nobody holds, those this replica already holds, and those
// whose holder's claim expired (a replica that died). Another replica
// calling at the same moment skips the rows being claimed, so each
// delivery goes to exactly one dispatcher. RecordAttempt releases it.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]wildwarden.Delivery, error) {
	clock := s.clock()
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM deliveries
			WHERE state = 'pending' AND next_at <= $1
			  AND (claimed_by = '' OR claimed_by = $2 OR claim_until < $3)
			ORDER BY next_at LIMIT $4
			FOR UPDATE SKIP LOCKED)
		UPDATE deliveries d SET claimed_by = $2, claim_until = $5
		FROM due, webhooks w
		WHERE d.id = due.id AND w.id = d.webhook_id AND w.tenant_id = d.tenant_id
		RETURNING `+deliveryColumns,
		now, s.replica, clock, limit, clock.Add(s.deliveryClaim))
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due deliveries: %w", err)
	}
	out, err := collectDeliveries(rows)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NextAt.Before(out[j].NextAt) })
	return out, nil
}

// Deliveries lists a tenant's deliveries in a state ("" for all).
func (s *Store) Deliveries(ctx context.Context, tenantID, state string, limit int) ([]wildwarden.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.tenant_id = d.tenant_id
		WHERE d.tenant_id = $1 AND ($2 = '' OR d.state = $2) ORDER BY d.created_at DESC LIMIT $3`, tenantID, state, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: deliveries: %w", err)
	}
	return collectDeliveries(rows)
}

// RecordAttempt appends an attempt, moves the delivery to its new state
// and releases this replica's claim on it.
func (s *Store) RecordAttempt(ctx context.Context, a *wildwarden.DeliveryAttempt) error {
	return s.write(ctx, func(w *tx) error {
		if _, err := w.exec(`INSERT INTO delivery_attempts (delivery_id, tenant_id, status, error, at) VALUES ($1, $2, $3, $4, $5)`,
			a.DeliveryID, a.TenantID, a.Status, a.Error, w.now); err != nil {
			return fmt.Errorf("postgres: insert attempt: %w", err)
		}
		tag, err := w.exec(`UPDATE deliveries SET state = $1, attempts = attempts + 1, next_at = $2, last_status = $3, last_error = $4, claimed_by = '', claim_until = NULL
			WHERE tenant_id = $5 AND id = $6 AND state = 'pending'`,
			a.State, a.NextAt, a.Status, a.Error, a.TenantID, a.DeliveryID)
		if err != nil {
			return fmt.Errorf("postgres: update delivery: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("pending delivery", a.DeliveryID)
		}
		w.audit(a.TenantID, "webhook."+a.State, a.DeliveryID, fmt.Sprintf("%d %s", a.Status, a.Error))
		return nil
	})
}

// AddSearchEvent counts a search-warning event. It is telemetry, not a
// state change, so it is not audited.
func (s *Store) AddSearchEvent(ctx context.Context, e *wildwarden.SearchEvent) error {
	e.At = s.clock()
	if _, err := s.pool.Exec(ctx, `INSERT INTO search_events (tenant_id, type, lang, category, at) VALUES ($1, $2, $3, $4, $5)`,
		e.TenantID, e.Type, e.Lang, e.Category, e.At); err != nil {
		return fmt.Errorf("postgres: insert search event: %w", err)
	}
	return nil
}

// Stats counts a tenant's rows.
func (s *Store) Stats(ctx context.Context, tenantID string) (*wildwarden.Stats, error) {
	st := &wildwarden.Stats{Verdicts: map[string]int64{}, Decisions: map[string]int64{}, SearchEvents: map[string]int64{}}
	grouped := []struct {
		query string
		into  map[string]int64
	}{
		{`SELECT decision, COUNT(*) FROM screenings WHERE tenant_id = $1 GROUP BY decision`, st.Verdicts},
		{`SELECT action, COUNT(*) FROM decisions WHERE tenant_id = $1 GROUP BY action`, st.Decisions},
		{`SELECT type, COUNT(*) FROM search_events WHERE tenant_id = $1 GROUP BY type`, st.SearchEvents},
	}
	for _, g := range grouped {
		rows, err := s.pool.Query(ctx, g.query, tenantID)
		if err != nil {
			return nil, fmt.Errorf("postgres: stats: %w", err)
		}
		var k string
		var n int64
		_, err = pgx.ForEachRow(rows, []any{&k, &n}, func() error { g.into[k] = n; return nil })
		if err != nil {
			return nil, fmt.Errorf("postgres: stats: %w", err)
		}
	}
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM queue_items WHERE tenant_id = $1 AND open),
		(SELECT COUNT(*) FROM reports WHERE tenant_id = $1),
		(SELECT COUNT(*) FROM appeals WHERE tenant_id = $1),
		(SELECT COUNT(*) FROM statements WHERE tenant_id = $1),
		(SELECT COUNT(*) FROM deliveries WHERE tenant_id = $1 AND state = 'dead')`, tenantID).
		Scan(&st.OpenItems, &st.Reports, &st.Appeals, &st.Statements, &st.DeadLetters)
	if err != nil {
		return nil, fmt.Errorf("postgres: stats: %w", err)
	}
	return st, nil
}
