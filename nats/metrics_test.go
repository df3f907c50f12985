package nats_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildwarden/wildwarden"
	wwnats "github.com/wildwarden/wildwarden/nats"
	"github.com/wildwarden/wildwarden/nats/natstest"
)

// flakyTenants fails its first read of the tenant list, as a store that
// blinks would: the message being prepared is given back to the stream.
type flakyTenants struct {
	wildwarden.Store
	failed atomic.Bool
}

func (s *flakyTenants) Tenants(ctx context.Context) ([]wildwarden.Tenant, error) {
	if s.failed.CompareAndSwap(false, true) {
		return nil, errors.New("connection reset (simulated)")
	}
	return s.Store.Tenants(ctx)
}

// metric returns the value of the series name{labels} in reg: a counter's
// or a gauge's value, a histogram's sample count (its sum with
// sum=true). labels are name, value pairs; the series must exist.
func metric(t *testing.T, reg prometheus.Gatherer, name string, sum bool, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil && sum:
				return m.GetHistogram().GetSampleSum()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// TestWorkerMetrics: the worker's counts and timings reach its metrics:
// verdicts by decision as the store has them, a listing stored already, a
// message given back and delivered again, poison messages by cause, and
// failed store writes; every fetched message is in one batch and no
// batch is left in flight.
func TestWorkerMetrics(t *testing.T) {
	f := newFixture(t)
	js := connect(t, natstest.Start(t).ClientURL())
	ctx := context.Background()
	if err := wwnats.EnsureStreams(ctx, js, wwnats.Topology{}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics, err := wwnats.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	store := &slowStore{Store: &flakyTenants{Store: f.store}}
	store.failures.Store(2)
	w := &wwnats.Worker{JS: js, Store: store, Screener: panicScreener{realEngine(t), "L-panic"}, Batch: 4, Concurrency: 1, Metrics: metrics}
	send := func(data string) {
		t.Helper()
		msg := natsgo.NewMsg("wildwarden.listings") // no message ID: the stream keeps every copy
		msg.Data = []byte(data)
		msg.Header.Set(wwnats.HeaderTenant, f.tenant.ID)
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	good := exampleListings(t, 8)
	publish(t, js, f.tenant.ID, good)
	send(`{"id": "L-bad", "title": `)
	send(`{"id": "L-panic", "title": "carved bangle"}`)
	runWorker(t, w, 30*time.Second, func() bool {
		st := w.Stats()
		return st.Screened == 8 && st.DeadLettered == 2 && streamMsgs(t, js, "WILDWARDEN_LISTINGS") == 0
	})
	send(string(good[0])) // stored already
	runWorker(t, w, 30*time.Second, func() bool { return w.Stats().Duplicates == 1 })

	stats, err := f.store.Stats(ctx, f.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []wildwarden.Decision{wildwarden.Allow, wildwarden.Review, wildwarden.Block} {
		if got, want := metric(t, reg, "wildwarden_verdicts_total", false, "decision", string(d)), float64(stats.Verdicts[string(d)]); got != want {
			t.Errorf("wildwarden_verdicts_total{decision=%q} = %v, the store holds %v", d, got, want)
		}
	}
	// Deliveries: 8 listings, 2 poison, the listing given back when the
	// tenant list could not be read, and the repeat.
	const deliveries = 8 + 2 + 1 + 1
	for _, c := range []struct {
		name   string
		sum    bool
		labels []string
		want   float64
	}{
		{"wildwarden_screen_duplicates_total", false, nil, 1},
		{"wildwarden_worker_redeliveries_total", false, nil, 1},
		{"wildwarden_worker_dead_letters_total", false, []string{"cause", "invalid"}, 1},
		{"wildwarden_worker_dead_letters_total", false, []string{"cause", "screening_failed"}, 1},
		{"wildwarden_worker_dead_letters_total", false, []string{"cause", "unknown_tenant"}, 0},
		{"wildwarden_worker_dead_letters_total", false, []string{"cause", "too_many_deliveries"}, 0},
		{"wildwarden_worker_dead_letters_total", false, []string{"cause", "store_refused"}, 0},
		{"wildwarden_worker_store_errors_total", false, nil, 2},
		{"wildwarden_worker_batch_size", true, nil, deliveries},
		{"wildwarden_worker_batch_duration_seconds", false, nil, metric(t, reg, "wildwarden_worker_batch_size", false)},
		// The 8 listings, the one that panics and the repeat (text alone
		// is screened again, faster than a lookup).
		{"wildwarden_worker_screen_duration_seconds", false, nil, 10},
		{"wildwarden_worker_messages_in_flight", false, nil, 0},
	} {
		if got := metric(t, reg, c.name, c.sum, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// unready is a store that does not answer.
type unready struct{ wildwarden.Store }

func (unready) Ready(context.Context) error { return errors.New("connection refused (simulated)") }

// TestWorkerReady: a worker is ready while its NATS connection is up and
// its store answers.
func TestWorkerReady(t *testing.T) {
	f := newFixture(t)
	ns := natstest.Start(t)
	js := connect(t, ns.ClientURL())
	ctx := context.Background()
	w := &wwnats.Worker{JS: js, Store: f.store}
	if err := w.Ready(ctx); err != nil {
		t.Fatalf("Ready = %v with NATS and the store up", err)
	}
	if err := (&wwnats.Worker{JS: js, Store: unready{f.store}}).Ready(ctx); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ready = %v with the store down, want its error", err)
	}
	ns.Shutdown()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := w.Ready(ctx)
		if err != nil {
			if !strings.Contains(err.Error(), "nats: connection") {
				t.Errorf("Ready = %v with NATS down, want it to name the connection", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Ready = nil 10s after the NATS server stopped")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
