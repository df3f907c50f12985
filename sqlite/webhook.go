package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

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
	events, _ := json.Marshal(wh.Events)
	return s.write(ctx, func(w *wtx) error {
		wh.CreatedAt = w.now
		if _, err := w.exec(`INSERT INTO webhooks (id, tenant_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			wh.ID, wh.TenantID, wh.URL, wh.Secret, string(events), formatTime(wh.CreatedAt)); err != nil {
			return fmt.Errorf("sqlite: create webhook: %w", err)
		}
		return w.audit(wh.TenantID, "webhook.create", wh.ID, wh.URL)
	})
}

// Webhooks lists a tenant's endpoints.
func (s *Store) Webhooks(ctx context.Context, tenantID string) ([]wildwarden.Webhook, error) {
	rows, err := s.query(ctx, `SELECT id, tenant_id, url, secret, events, created_at FROM webhooks WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: webhooks: %w", err)
	}
	defer rows.Close()
	return scanWebhooks(rows)
}

func scanWebhooks(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]wildwarden.Webhook, error) {
	out := []wildwarden.Webhook{}
	for rows.Next() {
		var wh wildwarden.Webhook
		var events, at string
		if err := rows.Scan(&wh.ID, &wh.TenantID, &wh.URL, &wh.Secret, &events, &at); err != nil {
			return nil, fmt.Errorf("sqlite: webhooks: %w", err)
		}
		wh.CreatedAt = parseTime(at)
		if err := json.Unmarshal([]byte(events), &wh.Events); err != nil {
			return nil, fmt.Errorf("sqlite: decode webhook events: %w", err)
		}
		out = append(out, wh)
	}
	return out, rows.Err()
}

// insertEvents queues one delivery per event and subscribed webhook.
func (w *wtx) insertEvents(tenantID string, events []wildwarden.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows, err := w.queryRows(`SELECT id, tenant_id, url, secret, events, created_at FROM webhooks WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return fmt.Errorf("sqlite: webhooks: %w", err)
	}
	hooks, err := scanWebhooks(rows)
	rows.Close()
	if err != nil {
		return err
	}
	for i := range events {
		ev := &events[i]
		if ev.ID == "" {
			ev.ID = wildwarden.NewID("evt")
		}
		if ev.At.IsZero() {
			ev.At = w.now
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("sqlite: encode event: %w", err)
		}
		for _, hook := range hooks {
			if len(hook.Events) > 0 && !slices.Contains(hook.Events, ev.Type) {
				continue
			}
			id := wildwarden.NewID("dlv")
			if _, err := w.exec(`INSERT INTO deliveries (id, tenant_id, webhook_id, event_type, body, state, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				id, tenantID, hook.ID, ev.Type, body, wildwarden.DeliveryPending, formatTime(w.now), formatTime(w.now)); err != nil {
				return fmt.Errorf("sqlite: insert delivery: %w", err)
			}
			if err := w.audit(tenantID, "webhook.queue", id, ev.Type+" "+ev.ListingID); err != nil {
				return err
			}
		}
	}
	return nil
}

const deliveryColumns = `d.id, d.tenant_id, d.webhook_id, w.url, w.secret, d.event_type, d.body, d.state, d.attempts, d.next_at, d.last_status, d.last_error, d.created_at`

func (s *Store) deliveries(ctx context.Context, where string, args ...any) ([]wildwarden.Delivery, error) {
	rows, err := s.query(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.tenant_id = d.tenant_id `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: deliveries: %w", err)
	}
	defer rows.Close()
	out := []wildwarden.Delivery{}
	for rows.Next() {
		var d wildwarden.Delivery
		var next, at string
		if err := rows.Scan(&d.ID, &d.TenantID, &d.WebhookID, &d.URL, &d.Secret, &d.EventType, &d.Body, &d.State, &d.Attempts, &next, &d.LastStatus, &d.LastError, &at); err != nil {
			return nil, fmt.Errorf("sqlite: deliveries: %w", err)
		}
		d.NextAt, d.CreatedAt = parseTime(next), parseTime(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DueDeliveries returns pending deliveries of all tenants that are due.
// Only the dispatcher calls it; each delivery carries its tenant.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]wildwarden.Delivery, error) {
	return s.deliveries(ctx, `WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY d.next_at LIMIT ?`, formatTime(now), limit)
}

// Deliveries lists a tenant's deliveries in a state ("" for all).
func (s *Store) Deliveries(ctx context.Context, tenantID, state string, limit int) ([]wildwarden.Delivery, error) {
	return s.deliveries(ctx, `WHERE d.tenant_id = ? AND (? = '' OR d.state = ?) ORDER BY d.created_at DESC LIMIT ?`, tenantID, state, state, limit)
}

// RecordAttempt appends an attempt and moves the delivery to its new state.
func (s *Store) RecordAttempt(ctx context.Context, a *wildwarden.DeliveryAttempt) error {
	return s.write(ctx, func(w *wtx) error {
		if _, err := w.exec(`INSERT INTO delivery_attempts (delivery_id, tenant_id, status, error, at) VALUES (?, ?, ?, ?, ?)`,
			a.DeliveryID, a.TenantID, a.Status, a.Error, formatTime(w.now)); err != nil {
			return fmt.Errorf("sqlite: insert attempt: %w", err)
		}
		res, err := w.exec(`UPDATE deliveries SET state = ?, attempts = attempts + 1, next_at = ?, last_status = ?, last_error = ? WHERE tenant_id = ? AND id = ? AND state = 'pending'`,
			a.State, formatTime(a.NextAt), a.Status, a.Error, a.TenantID, a.DeliveryID)
		if err != nil {
			return fmt.Errorf("sqlite: update delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("pending delivery", a.DeliveryID)
		}
		return w.audit(a.TenantID, "webhook."+a.State, a.DeliveryID, fmt.Sprintf("%d %s", a.Status, a.Error))
	})
}

// AddSearchEvent counts a search-warning event. It is telemetry, not a
// state change, so it is not audited.
func (s *Store) AddSearchEvent(ctx context.Context, e *wildwarden.SearchEvent) error {
	return s.write(ctx, func(w *wtx) error {
		e.At = w.now
		if _, err := w.exec(`INSERT INTO search_events (tenant_id, type, lang, category, at) VALUES (?, ?, ?, ?, ?)`,
			e.TenantID, e.Type, e.Lang, e.Category, formatTime(e.At)); err != nil {
			return fmt.Errorf("sqlite: insert search event: %w", err)
		}
		return nil
	})
}

// Stats counts a tenant's rows.
func (s *Store) Stats(ctx context.Context, tenantID string) (*wildwarden.Stats, error) {
	st := &wildwarden.Stats{Verdicts: map[string]int64{}, Decisions: map[string]int64{}, SearchEvents: map[string]int64{}}
	grouped := []struct {
		query string
		into  map[string]int64
	}{
		{`SELECT decision, COUNT(*) FROM screenings WHERE tenant_id = ? GROUP BY decision`, st.Verdicts},
		{`SELECT action, COUNT(*) FROM decisions WHERE tenant_id = ? GROUP BY action`, st.Decisions},
		{`SELECT type, COUNT(*) FROM search_events WHERE tenant_id = ? GROUP BY type`, st.SearchEvents},
	}
	for _, g := range grouped {
		rows, err := s.query(ctx, g.query, tenantID)
		if err != nil {
			return nil, fmt.Errorf("sqlite: stats: %w", err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: stats: %w", err)
			}
			g.into[k] = n
		}
		rows.Close()
	}
	counts := []struct {
		query string
		into  *int64
	}{
		{`SELECT COUNT(*) FROM queue_items WHERE tenant_id = ? AND open = 1`, &st.OpenItems},
		{`SELECT COUNT(*) FROM reports WHERE tenant_id = ?`, &st.Reports},
		{`SELECT COUNT(*) FROM appeals WHERE tenant_id = ?`, &st.Appeals},
		{`SELECT COUNT(*) FROM statements WHERE tenant_id = ?`, &st.Statements},
		{`SELECT COUNT(*) FROM deliveries WHERE tenant_id = ? AND state = 'dead'`, &st.DeadLetters},
	}
	for _, c := range counts {
		if err := s.queryRow(ctx, c.query, tenantID).Scan(c.into); err != nil {
			return nil, fmt.Errorf("sqlite: stats: %w", err)
		}
	}
	return st, nil
}
