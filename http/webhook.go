package http

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wildwarden/wildwarden"
)

// Headers of a webhook delivery. HeaderSignature carries the signed send
// time and the signature (see Sign); HeaderTimestamp repeats the time, but
// only the signed one may be trusted.
const (
	HeaderSignature = "X-Wildwarden-Signature"
	HeaderTimestamp = "X-Wildwarden-Timestamp"
	HeaderEvent     = "X-Wildwarden-Event"
	HeaderDelivery  = "X-Wildwarden-Delivery"
)

// webhookRequest is the body of POST /v1/webhooks.
type webhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func decodeWebhook(body []byte) (*webhookRequest, error) {
	var req webhookRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, err
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, wildwarden.Errorf(wildwarden.EINVALID, "url", "must be an http or https URL")
	}
	for i, e := range req.Events {
		switch e {
		case wildwarden.EventBlock, wildwarden.EventRemove, wildwarden.EventRestore:
		default:
			return nil, wildwarden.Errorf(wildwarden.EINVALID, fmt.Sprintf("events[%d]", i), "must be block, remove or restore")
		}
	}
	return &req, nil
}

// handleCreateWebhook registers an endpoint and returns its signing secret
// once.
func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, p *principal) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	req, err := decodeWebhook(body)
	if err != nil {
		return err
	}
	hook := &wildwarden.Webhook{TenantID: p.TenantID, URL: req.URL, Events: req.Events, Secret: NewKeySecret()}
	if hook.Events == nil {
		hook.Events = []string{}
	}
	if err := s.store.CreateWebhook(r.Context(), hook); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": hook, "secret": hook.Secret})
	return nil
}

func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request, p *principal) error {
	hooks, err := s.store.Webhooks(r.Context(), p.TenantID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": hooks})
	return nil
}

// handleDeliveries lists deliveries; ?state=dead lists the dead letters.
func (s *Server) handleDeliveries(w http.ResponseWriter, r *http.Request, p *principal) error {
	state := r.URL.Query().Get("state")
	switch state {
	case "", wildwarden.DeliveryPending, wildwarden.DeliveryDelivered, wildwarden.DeliveryDead:
	default:
		return wildwarden.Errorf(wildwarden.EINVALID, "state", "must be pending, delivered or dead")
	}
	limit, err := queryInt(r, "limit", defaultPageLimit, maxPageLimit)
	if err != nil {
		return err
	}
	list, err := s.store.Deliveries(r.Context(), p.TenantID, state, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	return nil
}

// Dispatcher delivers queued webhook events. Delivery state lives in the
// store, so pending deliveries survive a restart; a delivery is retried
// with exponential backoff and parked as dead after MaxAttempts failures.
type Dispatcher struct {
	Store       wildwarden.Store
	Client      *http.Client
	Logger      *slog.Logger
	Poll        time.Duration // how often to look for due deliveries
	BaseBackoff time.Duration // the first retry's delay; doubles each time
	MaxAttempts int
	// Now replaces the clock (tests); nil means time.Now.
	Now func() time.Time
	// metrics counts attempts when the dispatcher belongs to a Server.
	metrics *metrics
}

// NewDispatcher returns a dispatcher with production defaults, counting in
// the server's metrics.
func (s *Server) NewDispatcher() *Dispatcher {
	return &Dispatcher{
		Store: s.store, Logger: s.log, metrics: s.metrics,
		Client: &http.Client{Timeout: 10 * time.Second},
		Poll:   time.Second, BaseBackoff: 2 * time.Second, MaxAttempts: 8,
	}
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.Poll)
	defer t.Stop()
	for {
		if err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.Logger.Error("webhook dispatch", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce attempts every due delivery once.
func (d *Dispatcher) RunOnce(ctx context.Context) error {
	due, err := d.Store.DueDeliveries(ctx, d.now(), 100)
	if err != nil {
		return fmt.Errorf("webhooks: due deliveries: %w", err)
	}
	for _, dl := range due {
		if ctx.Err() != nil {
			return nil
		}
		if err := d.Store.RecordAttempt(ctx, d.attempt(ctx, dl)); err != nil {
			return fmt.Errorf("webhooks: record attempt of %s: %w", dl.ID, err)
		}
	}
	return nil
}

// attempt posts one delivery and decides its next state.
func (d *Dispatcher) attempt(ctx context.Context, dl wildwarden.Delivery) *wildwarden.DeliveryAttempt {
	a := &wildwarden.DeliveryAttempt{DeliveryID: dl.ID, TenantID: dl.TenantID}
	status, err := d.post(ctx, dl)
	a.Status = status
	switch {
	case err == nil && status >= 200 && status < 300:
		a.State = wildwarden.DeliveryDelivered
		a.NextAt = d.now()
	default:
		if err != nil {
			a.Error = err.Error()
		} else {
			a.Error = "HTTP " + strconv.Itoa(status)
		}
		attempts := dl.Attempts + 1
		if attempts >= d.MaxAttempts {
			a.State = wildwarden.DeliveryDead
			a.NextAt = d.now()
		} else {
			a.State = wildwarden.DeliveryPending
			a.NextAt = d.now().Add(d.BaseBackoff << (attempts - 1))
		}
	}
	if d.metrics != nil {
		d.metrics.deliveries.WithLabelValues(a.State).Inc()
	}
	return a
}

// post sends one attempt, signed at send time: a retry carries a fresh
// timestamp, so it stays within the receiver's tolerance.
func (d *Dispatcher) post(ctx context.Context, dl wildwarden.Delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wildwarden-webhooks")
	req.Header.Set(HeaderEvent, dl.EventType)
	req.Header.Set(HeaderDelivery, dl.ID)
	now := d.now()
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, Sign(dl.Secret, dl.Body, now))
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}
